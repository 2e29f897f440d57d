"""``nas-search validate``: check one candidate against its space, then measure it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nas_search.candidate import read_candidate
from nas_search.catalog import load_space
from nas_search.cli.app import app
from nas_search.cli.output import fmt, stderr, stdout
from nas_search.cli.prepare import prepare
from nas_search.config import SpaceDefinition
from nas_search.encoding import digest, validate_config
from nas_search.errors import CandidateError, EvaluationFailed
from nas_search.evaluation import Evaluator, build_evaluator, measure


def space_of(candidate_space: str, space_file: str | None, override: str | None) -> SpaceDefinition:
    if override:
        return load_space(override)
    if space_file and Path(space_file).is_file():
        return load_space(space_file)
    return load_space(candidate_space)


def exact_or_invalid(evaluator: Evaluator) -> Any:
    def exact(config: dict[str, Any]) -> Any:
        try:
            return evaluator.exact(config)
        except EvaluationFailed as exc:
            raise CandidateError(f"exact metrics cannot be computed: {exc}") from None

    return exact


@app.command()
def validate(
    candidate: Path = typer.Argument(..., help="A candidate.json file."),
    space: str | None = typer.Option(
        None, help="Space file or shipped name (default: the candidate's)."
    ),
    no_measure: bool = typer.Option(False, "--no-measure", help="Only check; do not measure."),
) -> None:
    """Check every value, per-layer length and constraint; then measure it for real.

    Exit status: 0 valid (and measured), 1 invalid or failed measurement, 2 usage error.
    """
    cand = read_candidate(candidate)
    definition = space_of(cand.space, cand.space_file, space)
    if cand.space_hash and cand.space_hash != definition.fingerprint:
        stderr.print(
            f"warning: {candidate} was made for another version of space "
            f"{cand.space!r} (space hash {cand.space_hash} != {definition.fingerprint})"
        )
    evaluator = build_evaluator(definition)  # cheap: it checks the space against its limits
    exact = exact_or_invalid(evaluator)
    try:
        vector, problems = validate_config(definition.space, cand.config, exact)
    except CandidateError as exc:
        vector, problems = None, [str(exc)]
    if problems or vector is None:
        stdout.print(
            f"{candidate}: invalid for space {definition.name!r} ({len(problems)} problems):"
        )
        for problem in problems:
            stdout.print(f"  - {problem}")
        raise typer.Exit(1)
    config = definition.space.decode(vector)
    stdout.print(f"{candidate}: valid for space {definition.name!r} (sub-network {digest(config)})")
    if no_measure:
        return
    required = [o.name for o in definition.objectives]
    try:
        prepare(evaluator)
        measurement = measure(evaluator, config, required)
    finally:
        evaluator.close()
    if not measurement.ok:
        stdout.print(f"measurement failed: {measurement.error}")
        raise typer.Exit(1)
    table = Table(title=f"measured in {measurement.seconds:.3g} s", title_justify="left")
    for column in ("metric", "measured", "predicted", "relative error", "recorded"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, value in measurement.metrics.items():
        predicted = (cand.predicted or {}).get(name)
        recorded = (cand.measured or {}).get(name)
        error = abs(value - predicted) / abs(value) if predicted is not None and value else math.nan
        table.add_row(
            name,
            fmt(value),
            fmt(predicted) if predicted is not None else "",
            f"{error:.2%}" if not math.isnan(error) else "",
            fmt(recorded) if recorded is not None else "",
        )
    stdout.print(table)
