"""Rich rendering shared by the commands."""

from __future__ import annotations

import math
import sys
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table


def _console(stream_is_tty: bool, **kwargs: Any) -> Console:
    # a pipe or a log file gets whole rows rather than 80-column wrapping
    return Console(highlight=False, soft_wrap=True, width=None if stream_is_tty else 250, **kwargs)


stdout = _console(sys.stdout.isatty())
stderr = _console(sys.stderr.isatty(), stderr=True)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


#: a list column narrower than its longest cell folds its cells onto more lines, down to this
FOLDED_LIST = 12


def _cell(value: Any) -> str:
    """A value as shown in a table: lists without the spaces after their commas."""
    text = fmt(value)
    return text.replace(", ", ",") if text.startswith("[") else text


def frame_table(
    frame: pd.DataFrame,
    title: str | None = None,
    limit: int | None = None,
    width: int | None = None,
) -> Table:
    """``frame`` as a table that fits ``width`` columns (default: the terminal's) without
    cutting a value: the first column (the id) and numbers are never shortened, lists fold
    onto more lines, and the columns that do not fit are left out from the right (the
    caller orders them by importance) and named in the caption."""
    rows = frame if limit is None else frame.head(limit)
    cells = {c: [_cell(v) for v in rows[c].tolist()] for c in frame.columns}
    room = (width or stdout.width) - 1  # the table's left edge
    shown: list[Any] = []
    for k, column in enumerate(frame.columns):
        natural = max([len(str(column)), *map(len, cells[column])])
        listed = any(c.startswith("[") for c in cells[column])
        need = (min(natural, max(FOLDED_LIST, len(str(column)))) if listed else natural) + 3
        if k and need > room:
            break  # in order of importance: nothing after a column left out
        room -= need
        shown.append(column)
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in shown:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        listed = any(c.startswith("[") for c in cells[column])
        table.add_column(
            str(column),
            justify="right" if numeric else "left",
            no_wrap=not listed,
            overflow="fold",
            min_width=len(str(column)),
        )
    for k in range(len(rows)):
        table.add_row(*(cells[c][k] for c in shown))
    notes = []
    if limit is not None and len(frame) > limit:
        notes.append(f"... {len(frame) - limit} more rows")
    left_out = [str(c) for c in frame.columns if c not in shown]
    if left_out:
        notes.append(f"not shown for width: {', '.join(left_out)} (--format csv shows all)")
    table.caption = "; ".join(notes) or None
    return table
