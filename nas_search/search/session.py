"""One run's state on disk and in memory: its journal, its history and its tactic.

A session journals each batch as it is chosen and each measurement as it ends, so that a run
killed at any point resumes from its journal. The run loop (:mod:`nas_search.search.runner`)
drives one with an executor; ask/tell (:class:`nas_search.api.Search`) lets the user drive it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np

from nas_search.config import SpaceDefinition
from nas_search.encoding import encode, vector_key
from nas_search.errors import EvaluationFailed, SearchStopped
from nas_search.evaluation import Evaluator, Measurement
from nas_search.records import (
    AttemptRecord,
    BatchRecord,
    EvaluationRecord,
    ProgressRecord,
    Status,
    parse_record,
)
from nas_search.results.journal import JOURNAL, Journal
from nas_search.results.progress import (
    best_values,
    fixed_reference,
    front_hypervolume,
    rank_correlation,
)
from nas_search.results.rundir import read_reference, store_reference
from nas_search.results.tables import ParetoReport, write_run_tables
from nas_search.search.history import Evaluation, History, Proposal
from nas_search.search.monitor import Monitor
from nas_search.search.tactic import iteration_rng, make_tactic

Critical = Callable[[], AbstractContextManager[Any]]


class Session:
    """Journal, history and tactic of the run in ``run_dir`` (created with
    :func:`~nas_search.results.rundir.create_run`), rebuilt from its journal.

    ``lookahead`` 1 lets the next batch be chosen while the current one is measured (from the
    batches before it): what is proposed then depends on which batches are finished, never on
    timing. ``critical`` guards each journal write (the run loop defers stop signals there).
    ``monitor`` hears of phases, evaluations and finished batches.

    When a batch's last member is measured, a :class:`~nas_search.records.ProgressRecord` is
    journaled: the hypervolume of the measured front on the run's fixed reference point
    (written into ``run.yaml`` when the first batch with a success ends), the best value of
    each objective, and how well that batch's predictions ranked its measurements.
    """

    def __init__(
        self,
        definition: SpaceDefinition,
        evaluator: Evaluator,
        run_dir: Path,
        *,
        lookahead: int = 0,
        critical: Critical = nullcontext,
        monitor: Monitor | None = None,
    ) -> None:
        self.definition, self.run_dir = definition, Path(run_dir)
        self.monitor = monitor or Monitor()
        self.settings = definition.settings
        #: measured first: the run's ``search.enqueue``, then the evaluator's own baselines
        #: (the ``transformer`` evaluator's full model)
        self.first = [*self.settings.enqueue, *getattr(evaluator, "baselines", ())]
        self.critical = critical
        self.journal = Journal(self.run_dir / JOURNAL)
        try:
            self.history = History.from_records(definition.space, self.journal.records)
            guarded = cast(Evaluator, _ExactGuard(evaluator, self.settings.max_failures))
            self.tactic = make_tactic(definition, guarded)
            self._exact = guarded.exact if definition.space.needs_metrics else None
        except BaseException:
            self.journal.close()
            raise
        batches = [parse_record(r) for r in self.journal.records]
        states = [b.state for b in batches if isinstance(b, BatchRecord) and b.state]
        if states:
            self.tactic.restore(states[-1])
        self.tactic.monitor = self.monitor
        self.lookahead = self._lag = lookahead
        self.exhausted = False  # the space had no more feasible sub-networks to give
        self._names = [o.name for o in definition.objectives]
        #: objectives the search predicts (an exact one is computed: its tau says nothing)
        exact = set(getattr(evaluator, "exact_metrics", ()))
        self._predicted = [n for n in self._names if n not in exact]
        self.reference = read_reference(self.run_dir, self._names)
        self._measured: list[EvaluationRecord] = []  # in journal order
        self._catch_up_progress()

    # choosing ------------------------------------------------------------------------------
    @property
    def remaining(self) -> int:
        """Evaluations still to be asked for: the budget less successes and pending ones."""
        return self.settings.budget - self.history.successes - len(self.history.pending)

    def propose(self) -> list[BatchRecord]:
        """Journal every batch that may be chosen now; returns their records (empty when the
        budget is spent, the space exhausted, or results are needed first)."""
        batches = []
        while not self.exhausted:
            iteration = self.history.next_iteration
            through = iteration - 1 - self._lag
            if not self.history.finished_through(through):
                break
            view = self.history.visible(through)
            remaining = self.settings.budget - view.successes - len(view.pending)
            proposals = None
            if remaining > 0:
                proposals = self._enqueued(view) or self.tactic.propose(
                    view, remaining, iteration_rng(self.settings.seed, iteration)
                )
            if proposals is None:  # budget spent unless pending ones fail; or results needed
                if self._lag == 0:
                    if remaining > 0 and not self.history.pending:
                        raise RuntimeError("the tactic waits with every result in")
                    break
                self._lag = 0
                continue
            proposals = _distinct(proposals, self.history)[:remaining]
            if not proposals:
                self.exhausted = True
                break
            record = self.history.add_batch(iteration, proposals)
            record = replace(record, state=self.tactic.state(), info=self.tactic.info or None)
            with self.critical():
                self.journal.append(record.to_json())
            batches.append(record)
            self._lag = self.lookahead
            guided = any(p.predicted for p in proposals)
            self.monitor.phase(f"measuring batch {iteration}" if guided else "initial design")
        return batches

    def _enqueued(self, history: History) -> list[Proposal] | None:
        """The configs of ``search.enqueue`` and the evaluator's baselines not yet proposed,
        as one batch (before the tactic's own; one that violates a constraint on exact metrics
        is left out, like any infeasible sub-network); None when there are none."""
        space, fresh, keys = self.definition.space, [], set()
        for config in self.first:
            vector = encode(space, config)
            key = vector.tobytes()
            if not history.is_seen(vector) and key not in keys:
                keys.add(key)
                fresh.append(vector)
        if fresh and self._exact is not None:
            feasible = space.feasible(np.array(fresh), self._exact)
            fresh = [v for v, ok in zip(fresh, feasible, strict=True) if ok]
        return [Proposal.of(space, v) for v in fresh] or None

    def pending_tasks(self) -> list[tuple[int, dict[str, Any]]]:
        """Proposals journaled but not measured yet (a resumed run measures them first)."""
        return [(ident, proposal.config) for ident, _, proposal in self.history.pending]

    # measuring -----------------------------------------------------------------------------
    def record(self, ident: int, measurement: Measurement) -> Evaluation:
        """Journal a finished measurement of pending proposal ``ident``."""
        found = [(it, p) for i, it, p in self.history.pending if i == ident]
        if not found:
            raise KeyError(ident)
        iteration, proposal = found[0]
        evaluation = Evaluation(
            id=ident,
            iteration=iteration,
            proposal=proposal,
            status=Status(measurement.status),
            metrics=measurement.metrics,
            error=measurement.error,
            seconds=measurement.seconds,
            timestamp=now(),
            traceback=measurement.traceback,
        )
        record = evaluation.record()
        with self.critical():
            self.journal.append(record.to_json())
            self.history.add_evaluation(evaluation)
        self._measured.append(record)
        self.monitor.evaluation(evaluation, self.history)
        if self.batch_done(iteration):
            self._journal_progress(iteration, self._measured)
        return evaluation

    def record_attempt(self, ident: int, failed: Measurement, attempt: int) -> None:
        """A failed attempt that will be retried: journaled, not counted as an evaluation."""
        record = AttemptRecord(ident, attempt, failed.error, failed.seconds, now())
        with self.critical():
            self.journal.append(record.to_json())

    def batch_done(self, iteration: int) -> bool:
        return all(it != iteration for _, it, _ in self.history.pending)

    # progress ------------------------------------------------------------------------------
    def _journal_progress(self, iteration: int, measured: list[EvaluationRecord]) -> None:
        """Journal the progress after batch ``iteration`` from the ``measured`` records up to
        its last one (in journal order), and tell the monitor."""
        objectives = self.definition.objectives
        ok = [r.status == Status.OK for r in measured]
        values = self._values(measured)
        self._fix_reference(values)
        hv = None
        if self.reference is not None:
            hv = float(f"{front_hypervolume(values, objectives, self.reference):.10g}")
        progress = ProgressRecord(
            iteration=iteration,
            evaluations=sum(ok),
            failures=len(ok) - sum(ok),
            hypervolume=hv,
            best=best_values(values, objectives),
            tau=_held_out_tau([r for r in measured if r.iteration == iteration], self._predicted),
            timestamp=now(),
        )
        with self.critical():
            self.journal.append(progress.to_json())
        self.monitor.batch(progress, self.history)

    def _fix_reference(self, values: np.ndarray) -> None:
        """Set the run's reference point, once, when the first batch with a success ends:
        from ``values``, everything measured by then (in ``run.yaml`` for readers)."""
        if self.reference is not None:
            return
        found = fixed_reference(self.definition.objectives, values)
        if found is not None:
            self.reference = [float(v) for v in found]
            with self.critical():
                store_reference(self.run_dir, self._names, self.reference)

    def _values(self, measured: list[EvaluationRecord]) -> np.ndarray:
        """The objectives of ``measured`` (NaN where failed or missing), one row each."""
        names = self._names
        return np.array(
            [
                [r.metrics.get(n, np.nan) if r.status == Status.OK else np.nan for n in names]
                for r in measured
            ]
        ).reshape(-1, len(names))

    def _catch_up_progress(self) -> None:
        """A run killed between a batch's last measurement and its progress record gets the
        record when it resumes, computed from the journal as it stood then."""
        sizes: dict[int, int] = {}
        done: dict[int, int] = {}
        summarized: set[int] = set()
        missing: list[tuple[int, int]] = []  # (iteration, measurements up to its end)
        for record in map(parse_record, list(self.journal.records)):
            if isinstance(record, BatchRecord):
                sizes[record.iteration] = len(record.candidates)
            elif isinstance(record, ProgressRecord):
                summarized.add(record.iteration)
            elif isinstance(record, EvaluationRecord):
                self._measured.append(record)
                done[record.iteration] = done.get(record.iteration, 0) + 1
                if done[record.iteration] == sizes.get(record.iteration):
                    missing.append((record.iteration, len(self._measured)))
                    self._fix_reference(self._values(self._measured))
        for iteration, end in missing:
            if iteration not in summarized:
                self._journal_progress(iteration, self._measured[:end])

    # the end -------------------------------------------------------------------------------
    def write_tables(self) -> ParetoReport:
        records = self.journal.records
        return write_run_tables(self.run_dir, self.definition, records, self.reference)

    def write_tables_quietly(self) -> None:
        """Current tables for a run that stops; where even that fails (a full disk), the
        journal holds everything and the reason the run stopped is the error to report."""
        try:
            self.write_tables()
        except Exception:
            pass

    def finish(self) -> ParetoReport:
        """What the tactic writes at the end (LINAS: the predicted front and predictors),
        then the tables."""
        self.monitor.phase("writing the predicted front and the tables")
        if not self.exhausted:
            rng = iteration_rng(self.settings.seed, self.history.next_iteration)
            self.tactic.finish(self.history, self.run_dir, rng)
        return self.write_tables()

    def close(self) -> None:
        self.journal.close()


class _ExactGuard:
    """The evaluator as tactics see it. A sub-network whose exact metrics cannot be computed
    is ruled out (its constraints cannot be checked); an exact function that has never
    worked stops the run after ``limit`` failures, naming the last error."""

    def __init__(self, evaluator: Evaluator, limit: int) -> None:
        self._evaluator, self._limit = evaluator, limit
        self._failures = self._successes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._evaluator, name)

    def exact(self, config: dict[str, Any]) -> Any:
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


def _distinct(proposals: list[Proposal], history: History) -> list[Proposal]:
    """A batch without a network twice or one already proposed (two encodings of one network
    are one proposal, whatever the tactic knew)."""
    keys: set[bytes] = set()
    kept = []
    for proposal in proposals:
        key = vector_key(proposal.vector)
        if key not in keys and not history.is_seen(proposal.vector):
            keys.add(key)
            kept.append(proposal)
    return kept


def _held_out_tau(batch: list[EvaluationRecord], names: list[str]) -> dict[str, float | None]:
    """Per predicted objective, the rank correlation of a batch's predictions (made before any
    of its members was measured) with its successful measurements."""
    tau: dict[str, float | None] = {}
    for n in names:
        pairs = [
            (r.predicted[n], r.metrics[n])
            for r in batch
            if r.status == Status.OK and r.predicted and n in r.predicted and n in r.metrics
        ]
        if any(r.predicted and n in r.predicted for r in batch):
            tau[n] = rank_correlation([p for p, _ in pairs], [m for _, m in pairs])
    return tau


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
