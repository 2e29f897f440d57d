"""What ``run`` shows while it works: piped, one plain log line per batch with the figures the
journal records and nothing else on stderr; ``--quiet``, nothing; in a terminal, a live view."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from nas_search.catalog import load_space
from nas_search.cli.monitor import RunView, duration, view_mode
from nas_search.records import ProgressRecord
from nas_search.results.journal import JOURNAL, read_journal

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d nb201 batch=(?P<batch>\d+) "
    r"evaluations=(?P<done>\d+)/40 failed=0 hypervolume=(?P<hv>[0-9.e+-]+) "
    r"best\.test_acc=[0-9.]+ best\.lat_pixel3_ms=[0-9.e-]+"
    r"(?P<tau>( tau\.test_acc=(-?[0-9.]+|\?) tau\.lat_pixel3_ms=(-?[0-9.]+|\?))?) "
    r"elapsed=\d+s eta=(\d+s|\?)$"
)


def _run(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "nas_search", "run", "--space", "nb201", "--budget", "40",
         "--out", "run", *flags],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_piped_run_logs_one_line_per_batch(tmp_path):
    done = _run(tmp_path)
    lines = done.stderr.splitlines()
    records, _ = read_journal(tmp_path / "run" / JOURNAL)
    progress = [r for r in records if r["type"] == "progress"]
    assert len(lines) == len(progress) == 4
    for line, record in zip(lines, progress, strict=True):
        match = LINE.match(line)
        assert match, line
        assert int(match["batch"]) == record["iteration"]
        assert int(match["done"]) == record["evaluations"]
        assert float(match["hv"]) == pytest.approx(record["hypervolume"], rel=1e-5)
    assert "tau.test_acc" not in lines[0] and "tau.test_acc" in lines[-1]
    # stdout holds the results only: nothing a script would have to filter out
    assert "batch=" not in done.stdout and done.stdout.startswith("Run: run")


def test_quiet_keeps_errors_only(tmp_path):
    done = _run(tmp_path, "--quiet")
    assert done.stderr == ""
    assert "Pareto front" in done.stdout


def test_the_live_view_shows_phase_count_eta_and_the_figures():
    definition = load_space("nb201")
    view = RunView(definition, 0, "live")
    view.phase("searching the predictors")
    view.done = 30
    record = ProgressRecord(2, 30, 1, 1862.42, {"test_acc": 93.1, "lat_pixel3_ms": 0.4},
                            {"test_acc": 0.61, "lat_pixel3_ms": None})  # fmt: skip
    view.last = record
    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(view._render())
    text = console.export_text()
    for expected in ("nb201", "30/", "searching the predictors", "eta", "hypervolume 1862.42",
                     "test_acc 93.1", "test_acc 0.610", "lat_pixel3_ms ?"):  # fmt: skip
        assert expected in text, (expected, text)
    assert "batch=2 evaluations=30/" in view.line(record)


def test_modes_and_durations():
    assert view_mode(quiet=True, plain=False) == "quiet"
    assert view_mode(quiet=False, plain=True) == "log"
    assert [duration(s) for s in (5, 95, 3725, None)] == ["5s", "1m35s", "1h02m05s", "?"]
