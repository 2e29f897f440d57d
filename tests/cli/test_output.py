"""Tables fit the terminal without cutting a value: at 80 and 120 columns, every shown id and
number is whole, lists fold, and the columns left out are named."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from rich.console import Console

from nas_search.cli.output import _cell, frame_table
from nas_search.results.rundir import load_run
from nas_search.results.tables import front_columns, pareto_report


def render(frame: pd.DataFrame, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(frame_table(frame, "Pareto front", width=width))
    return console.export_text()


@pytest.fixture
def nb201_front(nb201_run):
    definition = load_run(nb201_run)
    frame = pd.read_csv(nb201_run / "results.csv")
    report = pareto_report(frame, definition.objectives, None, source="results.csv")
    params = [p.name for p in definition.space.parameters]
    return report.front[front_columns(report, params)]


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_and_keep_every_value_whole(nb201_front, width):
    text = render(nb201_front, width)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    header = next(line for line in lines if "┃ id" in line)
    shown = [h.strip() for h in header.strip("┃").split("┃")]
    assert shown[0] == "id" and "test_acc" in shown and "lat_pixel3_ms" in shown
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == len(nb201_front)
    for row, (_, record) in zip(body, nb201_front.iterrows(), strict=True):
        cells = [c.strip() for c in row.strip("│").split("│")]
        for name, cell in zip(shown, cells, strict=True):
            assert cell == _cell(record[name]), (name, cell)  # whole, never cut
    left_out = [c for c in nb201_front.columns if c not in shown]
    assert left_out  # 18 columns do not fit in 120
    caption = " ".join(lines[len(lines) - 4 :])
    assert all(name in caption for name in left_out[:3])


def test_list_columns_fold_instead_of_being_cut():
    frame = pd.DataFrame(
        {"id": [7], "accuracy": [95.123456], "num_heads": [[4, 3, 2, 1, 4, 3, 2, 1, 4, 3, 2, 1]]}
    )
    text = render(frame, 40)
    assert "95.1235" in text and "│  7 │" in text
    body = [line for line in text.splitlines() if line.startswith("│")]
    assert len(body) > 1  # the list folded onto more lines
    assert "".join(line.split("│")[3].strip() for line in body) == "[4,3,2,1,4,3,2,1,4,3,2,1]"
