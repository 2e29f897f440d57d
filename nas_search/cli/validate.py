"""``nas-search validate``: check candidates against their space, then measure them.

A candidate file is data from elsewhere: it names its space only by name and fingerprint,
never which file (and so which code) is loaded. The space is the one given with ``--space``;
otherwise the run directory that holds the candidate file, or the shipped space of that name,
and its fingerprint must match. ``--no-measure`` never builds an evaluator that runs code
the space names.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nas_search.candidate import Candidate, read_candidate
from nas_search.catalog import load_space, shipped_dir
from nas_search.cli.app import app
from nas_search.cli.monitor import setup_logging, view_mode
from nas_search.cli.output import fmt, stderr, stdout
from nas_search.cli.prepare import prepare
from nas_search.config import NAME_PATTERN, SpaceDefinition
from nas_search.encoding import digest, validate_config
from nas_search.errors import CandidateError, EvaluationFailed
from nas_search.evaluation import Evaluator, build_evaluator, measure, runs_user_code
from nas_search.results.rundir import RUN_FILE, find_run_dir, load_run


def given_space(override: str) -> SpaceDefinition:
    """``--space``: a space file, a shipped space's name, or a run directory."""
    run_dir = find_run_dir(Path(override)) if Path(override).is_dir() else None
    return load_run(run_dir) if run_dir is not None else load_space(override)


def candidate_space(path: Path, cand: Candidate) -> tuple[SpaceDefinition, str]:
    """The space of a candidate without ``--space``: the run directory holding the file
    (where ``pareto --export`` put it inside its run), else the shipped space of its name;
    the fingerprint must match. Returns the space and where it came from."""
    if not NAME_PATTERN.fullmatch(cand.space):
        raise CandidateError(
            f"{path}: space: must be the name of a space, got {cand.space!r}; "
            "pass --space FILE to say which space file to use"
        )
    found: list[tuple[SpaceDefinition, str]] = []
    for folder in list(path.resolve().parents)[:2]:
        if (folder / RUN_FILE).is_file():
            definition = load_run(folder)
            if definition.name == cand.space:
                found.append((definition, str(folder / RUN_FILE)))
                break
    shipped = shipped_dir() / f"{cand.space}.yaml"
    if not found and shipped.is_file():
        found.append((load_space(shipped), str(shipped)))
    if not found:
        raise CandidateError(
            f"{path}: space {cand.space!r} is not a shipped space and the file is not inside "
            "its run directory; pass --space with its space file or run directory"
        )
    definition, source = found[0]
    if cand.space_hash and cand.space_hash != definition.fingerprint:
        raise CandidateError(
            f"{path}: space_hash: made for another version of space {cand.space!r} "
            f"({cand.space_hash}; {source} has {definition.fingerprint}); pass --space "
            "with the space file it was made for"
        )
    return definition, source


def space_of(
    path: Path, cand: Candidate, override: SpaceDefinition | None
) -> tuple[SpaceDefinition, str]:
    """The space a candidate is checked against (``--space`` first), and where it came from;
    says so on stderr."""
    if override is None:
        definition, source = candidate_space(path, cand)
    else:
        definition, source = override, override.source
        if cand.space_hash and cand.space_hash != definition.fingerprint:
            stderr.print(
                f"warning: {path} was made for another version of space "
                f"{cand.space!r} (space hash {cand.space_hash} != {definition.fingerprint})"
            )
    stderr.print(f"{path}: space {definition.name!r} from {source}")
    return definition, source


def exact_or_invalid(evaluator: Evaluator) -> Any:
    def exact(config: dict[str, Any]) -> Any:
        try:
            return evaluator.exact(config)
        except EvaluationFailed as exc:
            raise CandidateError(f"exact metrics cannot be computed: {exc}") from None

    return exact


def _check(path: Path, cand: Candidate, definition: SpaceDefinition, evaluator: Any) -> Any:
    """The canonical config of a valid candidate; None (its problems printed) otherwise."""
    exact = exact_or_invalid(evaluator) if evaluator is not None else None
    try:
        vector, problems = validate_config(definition.space, cand.config, exact)
    except CandidateError as exc:
        vector, problems = None, [str(exc)]
    if problems or vector is None:
        stdout.print(f"{path}: invalid for space {definition.name!r} ({len(problems)} problems):")
        for problem in problems:
            stdout.print(f"  - {problem}")
        return None
    config = definition.space.decode(vector)
    stdout.print(f"{path}: valid for space {definition.name!r} (sub-network {digest(config)})")
    if evaluator is None and definition.space.needs_metrics:
        unchecked = [c.source for c in definition.space.compiled if c.uses_metrics]
        stdout.print(
            f"  not checked (they need the evaluator's exact metrics): {'; '.join(unchecked)}"
        )
    return config


def _report(cand: Candidate, evaluator: Evaluator, config: Any, required: list[str]) -> bool:
    measurement = measure(evaluator, config, required)
    if not measurement.ok:
        stdout.print(f"measurement failed: {measurement.error}")
        return False
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
    return True


@app.command()
def validate(
    candidates: list[Path] = typer.Argument(..., help="candidate.json files."),
    space: str | None = typer.Option(
        None,
        help="Space file, shipped name or run directory (default: the run directory holding "
        "the candidate, else the shipped space of its name).",
    ),
    no_measure: bool = typer.Option(
        False, "--no-measure", help="Only check; build no evaluator that runs code."
    ),
) -> None:
    """Check every value, per-layer length and constraint; then measure each for real.

    Exit status: 0 all valid (and measured), 1 one invalid or failed measurement, 2 usage error.
    """
    override = given_space(space) if space else None
    ok = True
    for path in candidates:
        cand = read_candidate(path)
        definition, _ = space_of(path, cand, override)
        safe = not runs_user_code(definition)
        evaluator = build_evaluator(definition) if safe or not no_measure else None
        try:
            config = _check(path, cand, definition, evaluator)
            if config is None:
                ok = False
            elif not no_measure and evaluator is not None:
                mode = view_mode()
                setup_logging(mode)
                prepare(evaluator, mode)
                ok = (
                    _report(cand, evaluator, config, [o.name for o in definition.objectives]) and ok
                )
        finally:
            if evaluator is not None:
                evaluator.close()
    if not ok:
        raise typer.Exit(1)
