"""``nas-search report``: one self-contained HTML file of a run, or of several side by side."""

from __future__ import annotations

from pathlib import Path

import typer

from nas_search.cli.app import app
from nas_search.cli.output import stdout
from nas_search.errors import UsageError


@app.command()
def report(
    runs: list[Path] = typer.Argument(
        ..., help="Run directories; several (seeds, tactics) are drawn on one scale."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="HTML file to write (default: RUN/report.html for one run, report.html here "
        "for several).",
    ),
    importance: bool = typer.Option(
        True, help="Parameter importance from the fitted predictors (refits them: seconds)."
    ),
) -> None:
    """Write an HTML report: the front table, the measured front (ids on hover, bounds and
    reference drawn), hypervolume after each evaluation, predicted against measured with
    per-batch rank correlation, parameter importance, and the settings, versions and machine.
    One file, no network: open it anywhere."""
    from nas_search.api import report as write_report

    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--out: must end in .html, got {out.name!r}")
    written = write_report(*runs, out=out, importance=importance)
    stdout.print(f"Report: {written}")
