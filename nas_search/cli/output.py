"""Rich rendering shared by the commands."""

from __future__ import annotations

import math
import sys
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
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


def frame_table(frame: pd.DataFrame, title: str | None = None, limit: int | None = None) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left", no_wrap=True)
    rows = frame if limit is None else frame.head(limit)
    for _, row in rows.iterrows():
        table.add_row(*(fmt(v) for v in row.tolist()))
    if limit is not None and len(frame) > limit:
        table.caption = f"... {len(frame) - limit} more rows"
    return table


def progress_bar(quiet: bool = False) -> Progress:
    """A bar on stderr, redrawn only when updated: a refresh thread waking ten times a second
    would disturb the latency measurements running meanwhile (it flagged most of them as
    unstable on a 2-core machine)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=stderr,
        disable=quiet or not stderr.is_terminal,  # a pipe or a log file gets no bar
        transient=True,
        auto_refresh=False,
    )
