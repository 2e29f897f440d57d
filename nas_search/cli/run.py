"""``nas-search run``: start or resume a search."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from nas_search.catalog import DEFAULT_SPACE, load_space
from nas_search.cli.app import app
from nas_search.cli.monitor import RunView, notice_of, setup_logging, view_mode
from nas_search.cli.options import with_settings_flags
from nas_search.cli.output import frame_table, stderr, stdout
from nas_search.cli.prepare import prepare
from nas_search.config import SpaceDefinition, override_settings
from nas_search.csvfile import read_csv
from nas_search.errors import SearchStopped, UsageError
from nas_search.evaluation import build_evaluator
from nas_search.evaluation.executor import make_executor
from nas_search.results.rundir import SPACE_COPY, create_run, load_run, update_settings
from nas_search.results.tables import configs_from_frame, describe
from nas_search.search import run_search


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _advice(definition: SpaceDefinition, run_dir: Path, exc: SearchStopped) -> str:
    """What to do after a run stopped: resume uses the space stored in the run, so a fault in
    the space file on disk is fixed by starting afresh."""
    debug = " (nas-search --debug shows the evaluator's traceback)" if exc.detail else ""
    stored = Path(run_dir) / SPACE_COPY
    source = definition.path
    if source is not None and source.is_file() and stored.is_file():
        if source.read_bytes() != stored.read_bytes():
            return (
                f"{source} differs from the copy this run uses ({stored}): to run the file as "
                f"it is now, start afresh (nas-search run --space {source}); to go on with "
                f"the copy: nas-search run --resume {run_dir}{debug}"
            )
    return f"Fix the evaluator, then: nas-search run --resume {run_dir}{debug}"


def _successes(run_dir: Path) -> int:
    """Successful evaluations already in a run's journal (a resumed run's starting count)."""
    from nas_search.records import EvaluationRecord, Status, parse_record
    from nas_search.results.journal import JOURNAL, read_journal

    records, _ = read_journal(Path(run_dir) / JOURNAL)
    parsed = [parse_record(r) for r in records]
    return sum(isinstance(r, EvaluationRecord) and r.status == Status.OK for r in parsed)


def read_configs(paths: list[Path], definition: SpaceDefinition) -> list[dict[str, Any]]:
    """The configs in ``--enqueue`` files: a candidate.json, a JSON list of configs (or of
    candidates), or a results CSV (its measured rows, if it has a status column)."""
    configs: list[dict[str, Any]] = []
    for path in paths:
        if path.suffix.lower() in (".csv", ".gz"):
            frame = read_csv(path, f"--enqueue: {path}", UsageError)
            if "status" in frame.columns:
                frame = frame[frame["status"].astype(str) == "ok"]
            missing = [p.name for p in definition.space.parameters if p.name not in frame]
            if missing:
                raise UsageError(f"--enqueue: {path}: no column {missing[0]!r}")
            configs += configs_from_frame(frame, definition)
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"--enqueue: {path}: no such file") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise UsageError(f"--enqueue: {path}: not a JSON file ({type(exc).__name__})") from None
        items = data if isinstance(data, list) else [data]
        for k, item in enumerate(items):
            config = item.get("config", item) if isinstance(item, dict) else item
            if not isinstance(config, dict):
                raise UsageError(f"--enqueue: {path}: item {k}: must be a config object")
            configs.append(config)
    return configs


@app.command()
@with_settings_flags
def run(
    space: str | None = typer.Option(
        None,
        "--space",
        "-s",
        help=f"Space file, or the name of a shipped space (default: {DEFAULT_SPACE}).",
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory to create."),
    resume: Path | None = typer.Option(
        None, "--resume", help="Continue the run in this directory."
    ),
    enqueue: list[Path] | None = typer.Option(
        None,
        metavar="FILE",
        help="search.enqueue: measure these first (candidate.json, a JSON list of configs, or "
        "a results CSV); repeat for several files",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Errors only on stderr (the results still on stdout)."
    ),
    log: bool = typer.Option(
        False,
        "--log",
        help="A plain log line per batch on stderr, even in a terminal (the default where "
        "stderr is not one).",
    ),
    settings: dict[str, Any] | None = None,  # every search: field's flag (cli/options.py)
) -> None:
    """Search a space; every real evaluation is journaled before the next one starts."""
    overrides = dict(settings or {})
    budget = overrides.get("budget")
    if resume is not None:
        growing = {"budget"}  # what a resumed run may change: more evaluations, more to measure
        given = [
            f"--{k.replace('_', '-')}"
            for k, v in overrides.items()
            if v is not None and k not in growing
        ]
        given += ["--space"] * (space is not None) + ["--out"] * (out is not None)
        if given:
            raise UsageError(
                f"--resume: continues a run with its own settings (only --budget and --enqueue "
                f"may change); drop {', '.join(given)}"
            )
        definition = load_run(resume)
        changes: dict[str, Any] = {}
        if budget is not None:
            changes["budget"] = budget
        if enqueue:
            changes["enqueue"] = definition.settings.enqueue + read_configs(enqueue, definition)
        if changes:
            definition = update_settings(resume, changes)
        run_dir = resume
    else:
        definition = load_space(space or DEFAULT_SPACE)
        if enqueue:
            overrides["enqueue"] = definition.settings.enqueue + read_configs(enqueue, definition)
        definition = definition.with_settings(override_settings(definition.settings, overrides))
    mode = view_mode(quiet, log)
    setup_logging(mode)
    evaluator = build_evaluator(definition)
    prepare(evaluator, mode)
    if resume is None:
        run_dir = create_run(definition, out)
    previous = signal.signal(signal.SIGTERM, _sigterm)
    pool = None
    try:
        pool = make_executor(definition, evaluator, notice_of(mode, f"{definition.name} "))
        view = RunView(definition, _successes(run_dir), mode)
        with view:
            outcome = run_search(definition, evaluator, run_dir, executor=pool, monitor=view)
    except KeyboardInterrupt:
        stderr.print(f"Interrupted. Every finished evaluation is saved in {run_dir}.")
        stderr.print(f"Resume with: nas-search run --resume {run_dir}")
        raise typer.Exit(130) from None
    except SearchStopped as exc:
        raise SearchStopped(f"{exc}. {_advice(definition, run_dir, exc)}", exc.detail) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if pool is not None:
            pool.close()
        evaluator.close()
    history = outcome.history
    report = outcome.report
    stdout.print(f"Run: {run_dir}")
    stdout.print(
        f"{len(history.evaluations)} real evaluations, {history.failures} failed"
        + ("; the space has no more feasible sub-networks" if outcome.exhausted else "")
    )
    stdout.print(describe(report))
    columns = (
        ["id"]
        + [o.name for o in definition.objectives]
        + [p.name for p in definition.space.parameters if not p.is_fixed]
    )
    stdout.print(frame_table(report.front[columns], "Pareto front", limit=20))
    stdout.print(f"Files: {run_dir}/results.csv, pareto.csv, pareto.md, journal.jsonl")
