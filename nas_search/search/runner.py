"""The run loop: propose a batch, journal it, measure its members, journal each measurement.

Every batch is on disk before its first evaluation starts and every evaluation as soon as it
ends (before the next one starts or, with parallel workers, before more work is handed out),
so a run killed at any point resumes from its journal and ends exactly as an uninterrupted run
with the same seed: nothing measured is lost or measured again.

With several workers, batches are asynchronous: batch ``k + 1`` is chosen (from the results of
batches up to ``k - 1``) as soon as those are in, and queued behind batch ``k``, so workers do
not idle while the search fits its predictors. Each batch depends only on which batches came
before it, never on which worker finished first, so a run with a fixed seed and N workers
measures the same sub-networks every time (and the same with any N > 1).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluationFailed, SearchStopped
from nas_search.evaluation import Evaluator, Measurement
from nas_search.evaluation.executor import Executor, InProcess, make_executor
from nas_search.results.journal import JOURNAL, Journal, write_atomic
from nas_search.results.tables import ParetoReport, write_run_tables
from nas_search.search.history import Evaluation, History
from nas_search.search.tactic import iteration_rng, make_tactic


@dataclass
class RunOutcome:
    run_dir: Path
    history: History
    exhausted: bool  # the space had no more feasible sub-networks before the budget was spent
    report: ParetoReport


Callback = Callable[[Evaluation, History], None]
PREDICTED_CSV = "predicted_pareto.csv"


def run_search(
    definition: SpaceDefinition,
    evaluator: Evaluator,
    run_dir: Path,
    *,
    on_evaluation: Callback | None = None,
    executor: Executor | None = None,
) -> RunOutcome:
    """Run (or resume) the search whose journal lives in ``run_dir`` until its budget is spent.

    ``executor`` runs the real evaluations (default: what the space's settings ask for, see
    :func:`~nas_search.evaluation.executor.make_executor`; closed at the end);
    ``evaluator`` also gives the exact metrics the search computes. SIGINT and SIGTERM stop
    the run with ``KeyboardInterrupt``, once every measurement already finished is journaled.
    """
    settings = definition.settings
    required = [o.name for o in definition.objectives]
    owned = None
    if executor is None:
        owned = make_executor(definition, evaluator)
        executor = owned or InProcess(evaluator, required, settings.retries)
    try:
        with _Interrupts() as interrupts:
            return _run(definition, evaluator, run_dir, executor, on_evaluation, interrupts)
    finally:
        if owned is not None:
            owned.close()


def _run(
    definition: SpaceDefinition,
    evaluator: Evaluator,
    run_dir: Path,
    executor: Executor,
    on_evaluation: Callback | None,
    interrupts: _Interrupts,
) -> RunOutcome:
    settings = definition.settings
    journal = Journal(run_dir / JOURNAL)
    history = History.from_records(definition.space, journal.records)
    tactic = make_tactic(definition, _ExactGuard(evaluator, settings.max_failures))
    states = [r["state"] for r in journal.records if r.get("type") == "batch" and "state" in r]
    if states and hasattr(tactic, "restore"):
        tactic.restore(states[-1])
    failures_in_row = 0
    exhausted = False

    def on_retry(ident: int, failed: Measurement, attempt: int) -> None:
        """A failed attempt that will be retried: journaled, not counted as an evaluation."""
        journal.append(
            {
                "type": "attempt",
                "id": ident,
                "attempt": attempt,
                "error": failed.error,
                "seconds": round(failed.seconds, 6),
                "timestamp": _now(),
            }
        )

    # With several workers the next batch is chosen while the current one is measured, from
    # the batches before it (``lag`` 1): workers never wait for the search between batches,
    # and what is proposed depends on which batches are finished, never on timing.
    lookahead = 1 if settings.workers > 1 else 0
    lag = lookahead

    def propose() -> None:
        """Journal and submit every batch that may be chosen now."""
        nonlocal lag, exhausted
        while not exhausted:
            iteration = history.next_iteration
            through = iteration - 1 - lag
            if not history.finished_through(through):
                return
            view = history.visible(through)
            remaining = settings.budget - view.successes - len(view.pending)
            proposals = None
            if remaining > 0:
                rng = iteration_rng(settings.seed, iteration)
                proposals = tactic.propose(view, remaining, rng)
            if proposals is None:  # budget spent unless pending ones fail; or results needed
                if lag == 0:
                    if remaining > 0:
                        raise RuntimeError("the tactic waits with every result in")
                    return
                lag = 0
                continue
            proposals = proposals[:remaining]
            if not proposals:
                exhausted = True
                return
            record = history.add_batch(iteration, proposals)
            if hasattr(tactic, "state"):
                record["state"] = tactic.state()
            info = getattr(tactic, "info", None)
            if info:
                record["info"] = info
            journal.append(record)
            executor.submit([(c["id"], c["config"]) for c in record["candidates"]])
            lag = lookahead

    def record(ident: int, measurement: Measurement) -> Evaluation:
        """Journal a finished measurement; a stop signal waits until it is on disk."""
        iteration, proposal = next((it, p) for i, it, p in history.pending if i == ident)
        evaluation = Evaluation(
            id=ident,
            iteration=iteration,
            proposal=proposal,
            status=measurement.status,
            metrics=measurement.metrics,
            error=measurement.error,
            seconds=measurement.seconds,
            timestamp=_now(),
        )
        with interrupts.held():
            journal.append(evaluation.record())
            history.add_evaluation(evaluation)
        return evaluation

    try:
        executor.submit([(ident, proposal.config) for ident, _, proposal in history.pending])
        propose()
        while executor.pending:
            ident, measurement = executor.next(on_retry)
            evaluation = record(ident, measurement)
            iteration = evaluation.iteration
            if on_evaluation is not None:
                on_evaluation(evaluation, history)
            failures_in_row = 0 if evaluation.ok else failures_in_row + 1
            if failures_in_row >= settings.max_failures:
                raise SearchStopped(
                    f"{failures_in_row} evaluations in a row failed; the last: {evaluation.error}"
                )
            if all(it != iteration for _, it, _ in history.pending):  # a batch is complete
                write_run_tables(run_dir, definition, journal.records)
            propose()
        if hasattr(tactic, "predicted_front") and not exhausted:
            rng = iteration_rng(settings.seed, history.next_iteration)
            front = tactic.predicted_front(history, rng)
            write_atomic(run_dir / PREDICTED_CSV, front.to_csv(index=False))
            if hasattr(tactic, "save_predictors"):
                tactic.save_predictors(run_dir / "predictors")
    except KeyboardInterrupt:
        with interrupts.held():  # what finished while we were elsewhere is kept
            for ident, measurement in executor.drain():
                record(ident, measurement)
        _tables_on_the_way_out(run_dir, definition, journal.records)
        raise
    except BaseException:
        _tables_on_the_way_out(run_dir, definition, journal.records)
        raise
    finally:
        journal.close()
    report = write_run_tables(run_dir, definition, journal.records)
    return RunOutcome(run_dir, history, exhausted, report)


def _tables_on_the_way_out(
    run_dir: Path, definition: SpaceDefinition, records: list[dict[str, Any]]
) -> None:
    """Current tables for a run that stops; where even that fails (a full disk), the journal
    holds everything and the reason the run stopped is the error to report."""
    try:
        write_run_tables(run_dir, definition, records)
    except Exception:
        pass


class _Interrupts:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` (in the main thread), except while a
    finished measurement is being journaled: the signal then waits until it is on disk."""

    def __init__(self) -> None:
        self._holding = False
        self._pending = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._holding:
            self._pending = True
            return
        raise KeyboardInterrupt

    @contextmanager
    def held(self) -> Iterator[None]:
        outer = self._holding
        self._holding = True
        try:
            yield
        finally:
            self._holding = outer
        if self._pending and not outer:
            self._pending = False
            raise KeyboardInterrupt


class _ExactGuard:
    """The evaluator as tactics see it. A sub-network whose exact metrics cannot be computed
    is ruled out (its constraints cannot be checked); an exact function that has never
    worked stops the run after ``limit`` failures, naming the last error."""

    def __init__(self, evaluator: Evaluator, limit: int) -> None:
        self._evaluator, self._limit = evaluator, limit
        self._failures = self._successes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._evaluator, name)

    def exact(self, config: dict[str, Any]) -> Mapping[str, float]:
        try:
            values = self._evaluator.exact(config)
        except EvaluationFailed as exc:
            self._failures += 1
            if not self._successes and self._failures >= self._limit:
                raise SearchStopped(
                    f"the exact metrics of {self._failures} sub-networks could not be computed "
                    f"and none could; the last: {exc}"
                ) from None
            raise
        self._successes += 1
        return values


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
