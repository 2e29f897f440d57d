"""What a run has proposed and measured so far, rebuilt exactly from its journal."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nas_search.encoding import digest, encode, vector_key
from nas_search.errors import ResultsError
from nas_search.records import BatchRecord, EvaluationRecord, Status, parse_record
from nas_search.space import SearchSpace


@dataclass(frozen=True)
class Proposal:
    """A candidate chosen for a real evaluation, with what was predicted for it, if anything."""

    vector: np.ndarray
    config: dict[str, Any]
    hash: str
    predicted: dict[str, float] | None = None
    uncertainty: dict[str, float] | None = None

    @classmethod
    def of(cls, space: SearchSpace, vector: np.ndarray, **predictions: Any) -> Proposal:
        """The proposal of ``vector``'s sub-network, in its canonical encoding."""
        vector = space.canonical(vector)[0]
        config = space.decode(vector)
        return cls(vector, config, digest(config), **predictions)


@dataclass(frozen=True)
class Evaluation:
    """One real evaluation as journaled."""

    id: int
    iteration: int
    proposal: Proposal
    status: Status
    metrics: dict[str, float]
    error: str | None
    seconds: float
    timestamp: str
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    def record(self) -> EvaluationRecord:
        p = self.proposal
        return EvaluationRecord(
            id=self.id,
            iteration=self.iteration,
            hash=p.hash,
            config=p.config,
            status=Status(self.status),
            metrics=self.metrics,
            error=self.error,
            predicted=p.predicted,
            uncertainty=p.uncertainty,
            seconds=self.seconds,
            timestamp=self.timestamp,
            traceback=self.traceback,
        )


@dataclass
class History:
    """Evaluations in id order, the proposals still being measured (the batch in flight, or
    two with several workers), and every sub-network seen."""

    space: SearchSpace
    evaluations: list[Evaluation] = field(default_factory=list)
    pending: list[tuple[int, int, Proposal]] = field(default_factory=list)
    seen: set[bytes] = field(default_factory=set)
    next_id: int = 0
    next_iteration: int = 0
    successes: int = 0

    @property
    def failures(self) -> int:
        return len(self.evaluations) - self.successes

    def is_seen(self, vector: np.ndarray) -> bool:
        return vector_key(vector) in self.seen

    def add_batch(self, iteration: int, proposals: Iterable[Proposal]) -> BatchRecord:
        """Register a batch; returns its journal record."""
        candidates = []
        for proposal in proposals:
            key = vector_key(proposal.vector)
            if key in self.seen:
                raise ValueError(f"sub-network {proposal.hash} proposed twice")
            self.seen.add(key)
            self.pending.append((self.next_id, iteration, proposal))
            candidates.append(
                {
                    "id": self.next_id,
                    "hash": proposal.hash,
                    "config": proposal.config,
                    "predicted": proposal.predicted,
                    "uncertainty": proposal.uncertainty,
                }
            )
            self.next_id += 1
        self.next_iteration = iteration + 1
        return BatchRecord(iteration, candidates)

    def add_evaluation(self, evaluation: Evaluation) -> None:
        """Evaluations stay in id order, whatever order parallel workers finish them in."""
        self.pending = [p for p in self.pending if p[0] != evaluation.id]
        bisect.insort(self.evaluations, evaluation, key=lambda e: e.id)
        self.successes += evaluation.ok

    def finished_through(self, iteration: int) -> bool:
        """Whether every batch up to ``iteration`` is measured."""
        return all(it > iteration for _, it, _ in self.pending)

    def visible(self, through: int) -> History:
        """What a batch chosen now may depend on, whatever order workers finish in: the
        evaluations of the iterations up to ``through`` (all finished); every later proposal
        is pending, measured or not, and every proposal is seen."""
        if not self.pending and all(e.iteration <= through for e in self.evaluations):
            return self
        shown = [e for e in self.evaluations if e.iteration <= through]
        hidden = [(e.id, e.iteration, e.proposal) for e in self.evaluations]
        hidden = [p for p in hidden if p[1] > through]
        return History(
            self.space,
            shown,
            sorted(self.pending + hidden, key=lambda p: p[0]),
            self.seen,
            self.next_id,
            self.next_iteration,
            sum(e.ok for e in shown),
        )

    @classmethod
    def from_records(cls, space: SearchSpace, records: Iterable[Mapping[str, Any]]) -> History:
        history = cls(space)
        for number, data in enumerate(records, start=1):
            try:
                record = parse_record(data)
            except (KeyError, TypeError, ValueError) as exc:
                raise ResultsError(f"journal: record {number}: malformed ({exc!r})") from None
            if isinstance(record, BatchRecord):
                proposals = [_proposal(space, c) for c in record.candidates]
                history.add_batch(record.iteration, proposals)
            elif isinstance(record, EvaluationRecord):
                evaluation = Evaluation(
                    id=record.id,
                    iteration=record.iteration,
                    proposal=_proposal(space, data),
                    status=record.status,
                    metrics=record.metrics,
                    error=record.error,
                    seconds=record.seconds,
                    timestamp=record.timestamp,
                    traceback=record.traceback,
                )
                if all(p[0] != evaluation.id for p in history.pending):
                    raise ResultsError(f"journal: evaluation {evaluation.id} was never proposed")
                history.add_evaluation(evaluation)
        return history


def _proposal(space: SearchSpace, record: Mapping[str, Any]) -> Proposal:
    try:
        vector = encode(space, record["config"])
    except Exception as exc:
        raise ResultsError(
            f"journal: candidate {record.get('id')} does not fit the space: {exc}"
        ) from None
    return Proposal(
        vector,
        space.decode(vector),
        record["hash"],
        record.get("predicted"),
        record.get("uncertainty"),
    )
