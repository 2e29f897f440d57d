"""``nas-search pareto``: the non-dominated rows of any results table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from nas_search.candidate import Candidate
from nas_search.catalog import load_space
from nas_search.cli.app import app
from nas_search.cli.output import frame_table, stdout
from nas_search.config import ObjectiveSpec, SpaceDefinition
from nas_search.csvfile import read_csv
from nas_search.errors import ExpressionError, ResultsError, UsageError
from nas_search.expr import compile_expression
from nas_search.results.rundir import find_run_dir, load_run, read_reference
from nas_search.results.tables import (
    FORMATS,
    RESULTS,
    configs_from_frame,
    describe,
    front_columns,
    pareto_report,
    render,
)

_SUFFIX_FORMATS = {".csv": "csv", ".md": "md", ".json": "json", ".tex": "latex"}


def parse_objectives(text: str) -> list[ObjectiveSpec]:
    """``accuracy:max,latency_ms:min`` (also ``maximize`` / ``minimize``)."""
    out = []
    for item in [t.strip() for t in text.split(",") if t.strip()]:
        name, _, direction = item.rpartition(":")
        direction = {"max": "maximize", "min": "minimize"}.get(direction, direction)
        if not name or direction not in ("maximize", "minimize"):
            raise UsageError(f"--objectives: each item must be name:max or name:min, got {item!r}")
        out.append(ObjectiveSpec.model_validate({"name": name, "direction": direction}))
    if not out:
        raise UsageError(f"--objectives: names no objective, got {text!r}")
    return out


def read_table(path: Path) -> pd.DataFrame:
    return read_csv(path, str(path), ResultsError)


def apply_where(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    try:
        expression = compile_expression(where, scalars={str(c) for c in frame.columns})
    except ExpressionError as exc:
        raise UsageError(f"--where: {exc}") from None
    namespace: dict[str, Any] = {}
    for column in expression.names:
        values = frame[column]
        numeric = pd.api.types.is_numeric_dtype(values)
        namespace[column] = values.to_numpy(dtype=float if numeric else object)
    try:
        keep = expression.evaluate(namespace, len(frame))
    except ExpressionError as exc:
        raise UsageError(f"--where: {exc}") from None
    return frame[keep]


def export_candidates(
    front: pd.DataFrame,
    definition: SpaceDefinition,
    objectives: list[ObjectiveSpec],
    directory: Path,
    run_dir: Path | None,
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    predicted_cols = [c for c in front.columns if str(c).startswith("predicted_")]
    configs = configs_from_frame(front, definition)
    for rank, (_, row) in enumerate(front.iterrows()):
        measured = {o.name: float(row[o.name]) for o in objectives}
        predicted = {
            c.removeprefix("predicted_"): float(row[c]) for c in predicted_cols if pd.notna(row[c])
        }
        source: dict[str, Any] = {"rank": rank}
        if run_dir is not None:
            source["run"] = str(run_dir)
        if "id" in row.index:
            source["id"] = int(row["id"])
        candidate = Candidate.of(
            definition,
            configs[rank],
            measured=measured,
            predicted=predicted or None,
            source=source,
        )
        path = directory / f"candidate-{rank:03d}-{candidate.hash}.json"
        candidate.write(path)
        paths.append(path)
    return paths


@dataclass(frozen=True)
class _Table:
    path: Path  # the results CSV
    run_dir: Path | None
    frame: pd.DataFrame
    definition: SpaceDefinition | None
    objectives: list[ObjectiveSpec]


def _load(path: Path, objectives: str | None, where: str | None, space: str | None) -> _Table:
    """A results table (a CSV, or a run directory's), filtered, with its objectives."""
    run_dir = find_run_dir(path)
    table_path = path / RESULTS if path.is_dir() else path
    if path.is_dir() and run_dir is None:
        raise UsageError(f"{path}: a directory, but not a nas-search run (no run.yaml)")
    frame = read_table(table_path)
    definition = load_space(space) if space else (load_run(run_dir) if run_dir else None)
    if objectives:
        chosen = parse_objectives(objectives)
    elif definition is not None:
        chosen = list(definition.objectives)
    else:
        raise UsageError(
            f"{table_path}: not from a nas-search run; say --objectives name:max,name:min"
        )
    if where:
        frame = apply_where(frame, where)
    return _Table(table_path, run_dir, frame, definition, chosen)


def _reference(ref: str | None) -> list[float] | None:
    if not ref:
        return None
    try:
        reference = [float(v) for v in ref.split(",")]
    except ValueError:
        reference = []
    if not reference or not all(math.isfinite(v) for v in reference):
        raise UsageError(f"--ref: must be comma-separated finite numbers, got {ref!r}")
    return reference


def compare(tables: list[_Table], reference: list[float] | None) -> None:
    """Several runs' fronts on one reference point and one ideal point, side by side."""
    first = tables[0]
    key = [(o.name, o.direction) for o in first.objectives]
    for table in tables[1:]:
        if [(o.name, o.direction) for o in table.objectives] != key:
            raise UsageError(
                f"{table.path}: its objectives differ from those of {first.path}; "
                "say --objectives name:max,name:min"
            )
    every = pd.concat([t.frame for t in tables], ignore_index=True)
    common = pareto_report(every, first.objectives, reference, source="the runs")
    rows = []
    for table in tables:
        report = pareto_report(
            table.frame,
            first.objectives,
            list(common.reference),
            str(table.path),
            ideal=list(common.ideal),
        )
        row: dict[str, Any] = {"run": str(table.run_dir or table.path)}
        row |= {"rows": len(report.rows), "front": len(report.front)}
        row |= {"hypervolume": report.hypervolume, "normalized": report.normalized_hypervolume}
        rows.append(row)
    stdout.print(frame_table(pd.DataFrame(rows), "Runs on one reference point"))
    names = [o.name for o in first.objectives]
    point = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, common.reference, strict=True))
    ideal = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, common.ideal, strict=True))
    stdout.print(
        f"reference point {point}; ideal point {ideal} (the best of all runs): normalized is "
        "the share of the box between them that a front dominates"
    )


@app.command()
def pareto(
    paths: list[Path] = typer.Argument(
        ...,
        help="A results CSV, or a run directory; several: their fronts compared on one "
        "reference point.",
    ),
    objectives: str | None = typer.Option(
        None, help="name:max,name:min ... (default: the run's objectives)"
    ),
    where: str | None = typer.Option(None, help='Filter rows first, e.g. "latency_ms <= 10".'),
    format: str = typer.Option("table", "--format", "-f", help=f"One of {', '.join(FORMATS)}."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the front here."),
    plot: Path | None = typer.Option(None, help="Draw all points and the front to this PNG."),
    export: Path | None = typer.Option(None, help="Write one candidate.json per front row here."),
    space: str | None = typer.Option(None, help="Space of the table (default: the run's)."),
    ref: str | None = typer.Option(None, help="Hypervolume reference point, comma-separated."),
) -> None:
    """Print the non-dominated rows of a results table, with their hypervolume; or compare
    several runs' fronts on one reference point."""
    if format not in FORMATS:
        raise UsageError(f"--format: must be one of {', '.join(FORMATS)}, got {format!r}")
    reference = _reference(ref)
    if len(paths) > 1:
        for flag, value in (("--out", out), ("--plot", plot), ("--export", export)):
            if value is not None:
                raise UsageError(f"{flag}: takes one run, got {len(paths)}")
        if format != "table":
            raise UsageError(f"--format: several runs are compared as a table, got {format!r}")
        compare([_load(p, objectives, where, space) for p in paths], reference)
        return
    table = _load(paths[0], objectives, where, space)
    frame, definition, chosen = table.frame, table.definition, table.objectives
    table_path, run_dir = table.path, table.run_dir
    if reference is None and run_dir is not None:  # the run's own, as its journal uses
        reference = read_reference(run_dir, [o.name for o in chosen])
    report = pareto_report(frame, chosen, reference, source=str(table_path))
    params = [p.name for p in definition.space.parameters] if definition else []
    front = report.front[front_columns(report, params)]
    fmt = format
    if out is not None and fmt == "table":
        fmt = _SUFFIX_FORMATS.get(out.suffix.lower(), "")
        if not fmt:
            raise UsageError(f"--out: say --format for {out.name} ({', '.join(FORMATS[1:])})")
    if fmt == "table":  # in a terminal the hash matters least: last, the first to go
        order = [c for c in front.columns if c != "hash"] + [
            c for c in front.columns if c == "hash"
        ]
        stdout.print(frame_table(front[order], "Pareto front"))
        stdout.print(describe(report))
    elif out is None:
        typer.echo(render(front, fmt), nl=False)
    else:
        out.write_text(render(front, fmt), encoding="utf-8")
        stdout.print(f"{describe(report)}\nWrote {out}")
    if plot is not None:
        from nas_search.results.plot import plot_front

        plot_front(report, plot, title=definition.name if definition else table_path.name)
        stdout.print(f"Plot: {plot}")
    if export is not None:
        if definition is None:
            raise UsageError("--export: needs the space; say --space")
        paths = export_candidates(report.front, definition, chosen, export, run_dir)
        stdout.print(f"Exported {len(paths)} candidates to {export}")
