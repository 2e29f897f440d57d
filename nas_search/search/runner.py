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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from nas_search.config import SpaceDefinition
from nas_search.errors import SearchStopped
from nas_search.evaluation import Evaluator
from nas_search.evaluation.executor import Executor, InProcess, make_executor
from nas_search.records import BatchRecord
from nas_search.results.tables import ParetoReport
from nas_search.search.history import Evaluation, History
from nas_search.search.monitor import Monitor
from nas_search.search.session import Session


@dataclass
class RunOutcome:
    run_dir: Path
    history: History
    exhausted: bool  # the space had no more feasible sub-networks before the budget was spent
    report: ParetoReport


Callback = Callable[[Evaluation, History], None]


def run_search(
    definition: SpaceDefinition,
    evaluator: Evaluator,
    run_dir: Path,
    *,
    on_evaluation: Callback | None = None,
    executor: Executor | None = None,
    monitor: Monitor | None = None,
) -> RunOutcome:
    """Run (or resume) the search whose journal lives in ``run_dir`` until its budget is spent.

    ``executor`` runs the real evaluations (default: what the space's settings ask for, see
    :func:`~nas_search.evaluation.executor.make_executor`; closed at the end);
    ``evaluator`` also gives the exact metrics the search computes. SIGINT and SIGTERM stop
    the run with ``KeyboardInterrupt``, once every measurement already finished is journaled.
    ``monitor`` hears what the run is doing (:class:`~nas_search.search.monitor.Monitor`).
    """
    settings = definition.settings
    owned = None
    if executor is None:
        owned = make_executor(definition, evaluator)
        required = [o.name for o in definition.objectives]
        executor = owned or InProcess(evaluator, required, settings.retries)
    try:
        with _Interrupts() as interrupts:
            # with several workers the next batch is chosen while this one is measured
            lookahead = 1 if settings.workers > 1 else 0
            session = Session(
                definition,
                evaluator,
                run_dir,
                lookahead=lookahead,
                critical=interrupts.held,
                monitor=monitor,
            )
            try:
                return _drive(session, executor, on_evaluation, interrupts)
            finally:
                session.close()
    finally:
        if owned is not None:
            owned.close()


def _drive(
    session: Session,
    executor: Executor,
    on_evaluation: Callback | None,
    interrupts: _Interrupts,
) -> RunOutcome:
    """Schedule: hand each batch to the executor as it is chosen, journal each result as it
    comes back, stop after ``max_failures`` failures in a row, finish at the budget."""
    limit = session.settings.max_failures
    failures_in_row = 0

    def submit(batches: list[BatchRecord]) -> None:
        for record in batches:
            executor.submit([(c["id"], c["config"]) for c in record.candidates])

    try:
        executor.submit(session.pending_tasks())
        submit(session.propose())
        while executor.pending:
            ident, measurement = executor.next(session.record_attempt)
            evaluation = session.record(ident, measurement)
            if on_evaluation is not None:
                on_evaluation(evaluation, session.history)
            failures_in_row = 0 if evaluation.ok else failures_in_row + 1
            if failures_in_row >= limit:
                raise SearchStopped(
                    f"{failures_in_row} evaluations in a row failed; the last: {evaluation.error}",
                    evaluation.traceback,
                )
            if session.batch_done(evaluation.iteration):
                session.write_tables()
            submit(session.propose())
        report = session.finish()
    except KeyboardInterrupt:
        with interrupts.held():  # what finished while we were elsewhere is kept
            for ident, measurement in executor.drain():
                session.record(ident, measurement)
        session.write_tables_quietly()
        raise
    except BaseException:
        session.write_tables_quietly()
        raise
    return RunOutcome(session.run_dir, session.history, session.exhausted, report)


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
