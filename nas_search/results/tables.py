"""Tables of a run: every real evaluation (``results.csv``) and its Pareto front
(``pareto.csv``, ``pareto.md``), plus the formats ``nas-search pareto`` writes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nas_search.config import ObjectiveSpec, SpaceDefinition
from nas_search.errors import ResultsError
from nas_search.records import EvaluationRecord, parse_record
from nas_search.results.journal import write_atomic
from nas_search.results.pareto import (
    hypervolume,
    non_dominated,
    normalized_hypervolume,
    reference_point,
    to_minimization,
)

RESULTS, PARETO_CSV, PARETO_MD = "results.csv", "pareto.csv", "pareto.md"
WALL_CLOCK = ("seconds", "timestamp")
FORMATS = ("table", "csv", "md", "json", "latex")


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, tuple)) else value


def configs_from_frame(frame: pd.DataFrame, definition: SpaceDefinition) -> list[dict[str, Any]]:
    """The config of each row of a results table (per-layer columns hold JSON lists)."""
    configs = []
    for _, row in frame.iterrows():
        config: dict[str, Any] = {}
        for p in definition.space.parameters:
            if p.name not in row.index:
                continue
            value = row[p.name]
            if p.per_layer is not None and isinstance(value, str):
                value = json.loads(value)
            config[p.name] = value.item() if isinstance(value, np.generic) else value
        configs.append(config)
    return configs


def results_frame(
    definition: SpaceDefinition, records: Iterable[Mapping[str, Any]]
) -> pd.DataFrame:
    """One row per real evaluation, by id (the order proposed; parallel workers may finish
    them in another order)."""
    parsed = (parse_record(r) for r in records)
    evaluations = sorted((r for r in parsed if isinstance(r, EvaluationRecord)), key=lambda r: r.id)
    params = [p.name for p in definition.space.parameters]
    metrics = list(
        dict.fromkeys(
            [o.name for o in definition.objectives] + [m for r in evaluations for m in r.metrics]
        )
    )
    predicted = list(dict.fromkeys(m for r in evaluations for m in (r.predicted or {})))
    columns = (
        ["id", "iteration", "hash"]
        + params
        + metrics
        + [f"{kind}_{m}" for m in predicted for kind in ("predicted", "uncertainty")]
        + ["status", "error", "seconds", "timestamp"]
    )
    rows = []
    for r in evaluations:
        row: dict[str, Any] = {"id": r.id, "iteration": r.iteration, "hash": r.hash}
        row.update({p: _cell(r.config.get(p)) for p in params})
        row.update({m: r.metrics.get(m, np.nan) for m in metrics})
        for m in predicted:
            row[f"predicted_{m}"] = (r.predicted or {}).get(m, np.nan)
            row[f"uncertainty_{m}"] = (r.uncertainty or {}).get(m, np.nan)
        row.update(
            status=str(r.status), error=r.error or "", seconds=r.seconds, timestamp=r.timestamp
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


@dataclass
class ParetoReport:
    """The non-dominated rows of a table and the hypervolume they reach."""

    objectives: list[ObjectiveSpec]
    rows: pd.DataFrame  # rows considered: measured, objectives present
    front: pd.DataFrame  # non-dominated rows within the bounds, best first
    out_of_bounds: int
    reference: np.ndarray  # in the objectives' own units
    ideal: np.ndarray
    hypervolume: float
    normalized_hypervolume: float


def minimized_bounds(objectives: Sequence[ObjectiveSpec]) -> np.ndarray:
    """Each objective's bound in minimization form (:attr:`ObjectiveSpec.minimized_bound`)."""
    return np.array([o.minimized_bound for o in objectives])


def pareto_report(
    frame: pd.DataFrame,
    objectives: Sequence[ObjectiveSpec],
    reference: Sequence[float] | None = None,
    source: str = "table",
    ideal: Sequence[float] | None = None,
) -> ParetoReport:
    """Front of ``frame``: failed rows and rows missing an objective are left out; rows beyond
    an objective's bound stay in ``rows`` but not on the front; duplicates show once.
    ``reference`` and ``ideal`` (the objectives' own units; default: from ``frame``) bound the
    box the normalized hypervolume is a share of: give both to compare several tables."""
    objectives = list(objectives)
    names = [o.name for o in objectives]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ResultsError(f"{source}: no column {missing[0]!r} ({len(frame.columns)} columns)")
    rows = frame
    if "status" in rows.columns:
        rows = rows[rows["status"].astype(str) == "ok"]
    values = rows[names].apply(pd.to_numeric, errors="coerce")
    infinite = np.isinf(values.to_numpy(dtype=float))
    if infinite.any():
        row, column = np.argwhere(infinite)[0]
        line = (
            f"line {rows.index[row] + 2}: "
            if isinstance(rows.index[row], (int, np.integer))
            else ""
        )
        raise ResultsError(
            f"{source}: {line}{names[column]}: must be a finite number, "
            f"got {values.iat[row, column]}"
        )
    rows = rows[values.notna().all(axis=1).to_numpy()]
    rows = rows.drop_duplicates(subset=["hash"] if "hash" in rows.columns else None)
    maximize = [o.direction == "maximize" for o in objectives]
    F = to_minimization(rows[names].to_numpy(dtype=float), maximize)
    signs = np.where(maximize, -1.0, 1.0)
    bounds = minimized_bounds(objectives)
    inside = np.all(F <= bounds, axis=1)
    if reference is not None:
        if len(reference) != len(objectives):
            raise ResultsError(
                f"reference point needs {len(objectives)} values, got {len(reference)}"
            )
        ref = np.asarray(reference, dtype=float) * signs
    elif len(F):
        ref = np.where(np.isfinite(bounds), bounds, reference_point(F))
    else:
        ref = np.full(len(objectives), np.nan)
    mask = np.zeros(len(rows), dtype=bool)
    mask[np.flatnonzero(inside)[non_dominated(F[inside])]] = True
    front = rows[mask]
    order = np.lexsort(F[mask].T[::-1]) if mask.any() else np.array([], dtype=int)
    front = front.iloc[order]
    if ideal is not None:
        best = np.asarray(ideal, dtype=float) * signs
    else:
        best = F.min(axis=0) if len(F) else np.full(len(objectives), np.nan)
    hv = hypervolume(F[mask], ref) if mask.any() else 0.0
    nhv = normalized_hypervolume(F[mask], ref, best) if mask.any() else 0.0
    return ParetoReport(
        objectives, rows, front, int((~inside).sum()), ref * signs, best * signs, hv, nhv
    )


def describe(report: ParetoReport) -> str:
    """One line: front size, hypervolume and its reference point."""
    ref = ", ".join(
        f"{o.name}={v:.6g}" for o, v in zip(report.objectives, report.reference, strict=True)
    )
    bounds = (
        f"; {report.out_of_bounds} outside the objective bounds" if report.out_of_bounds else ""
    )
    return (
        f"{len(report.front)} non-dominated of {len(report.rows)} rows{bounds}; "
        f"hypervolume {report.hypervolume:.6g} (normalized {report.normalized_hypervolume:.4f}) "
        f"at reference point {ref}"
    )


def front_columns(report: ParetoReport, params: Sequence[str] = ()) -> list[str]:
    """Columns to show: identity, objectives, then parameters and the rest."""
    names = [o.name for o in report.objectives]
    head = [c for c in ("id", "hash") if c in report.front.columns]
    hidden = {"status", "error", *WALL_CLOCK, "iteration"}
    rest = [c for c in report.front.columns if c not in head + names and c not in hidden]
    ordered = [c for c in params if c in rest] + [c for c in rest if c not in params]
    return head + names + ordered


def render(frame: pd.DataFrame, fmt: str) -> str:
    """``frame`` as csv, md, json or latex text."""
    if fmt == "csv":
        return str(frame.to_csv(index=False))
    if fmt == "md":
        shown = frame.astype(object).where(frame.notna(), None)  # empty, as in csv
        return str(shown.to_markdown(index=False, missingval="")) + "\n"
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records")), indent=2) + "\n"
    if fmt == "latex":
        return str(frame.to_latex(index=False, escape=True))
    raise ResultsError(f"--format: must be one of {', '.join(FORMATS)}, got {fmt!r}")


def write_run_tables(
    run_dir: Path,
    definition: SpaceDefinition,
    records: Iterable[Mapping[str, Any]],
    reference: Sequence[float] | None = None,
) -> ParetoReport:
    """Rewrite ``results.csv``, ``pareto.csv`` and ``pareto.md`` of a run from its journal;
    the hypervolume on ``reference`` (the run's fixed one, as its progress records use)."""
    frame = results_frame(definition, records)
    write_atomic(run_dir / RESULTS, frame.to_csv(index=False))
    report = pareto_report(frame, definition.objectives, reference, str(run_dir / RESULTS))
    params = [p.name for p in definition.space.parameters]
    front = report.front[front_columns(report, params)]
    write_atomic(run_dir / PARETO_CSV, front.to_csv(index=False))
    failed = int((frame["status"] != "ok").sum()) if len(frame) else 0
    objectives = ", ".join(f"{o.name} ({o.direction})" for o in definition.objectives)
    text = (
        f"# Pareto front of {definition.name}\n\n"
        f"{len(frame)} real evaluations ({failed} failed). Objectives: {objectives}.\n\n"
        f"{describe(report)}.\n\n" + render(front, "md")
    )
    write_atomic(run_dir / PARETO_MD, text)
    return report
