"""The run journal's records, typed: a batch chosen, an evaluation finished, a failed attempt
that will be retried, the progress after a batch. Each has one serializer (``to_json``, key
order fixed: journals stay byte-identical) and :func:`parse_record` reads any of them back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class Status(StrEnum):
    """How a real evaluation ended (equal to the strings journals and tables hold)."""

    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True)
class BatchRecord:
    """Candidates chosen together (each a dict: id, hash, config, predicted, uncertainty),
    with the tactic's state and info at that point."""

    kind: ClassVar[str] = "batch"
    iteration: int
    candidates: list[dict[str, Any]]
    state: dict[str, Any] | None = None
    info: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.kind,
            "iteration": self.iteration,
            "candidates": self.candidates,
        }
        if self.state is not None:
            data["state"] = self.state
        if self.info:
            data["info"] = self.info
        return data


@dataclass(frozen=True)
class EvaluationRecord:
    """One real evaluation as journaled."""

    kind: ClassVar[str] = "evaluation"
    id: int
    iteration: int
    hash: str
    config: dict[str, Any]
    status: Status
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    predicted: dict[str, float] | None = None
    uncertainty: dict[str, float] | None = None
    seconds: float = 0.0
    timestamp: str = ""
    traceback: str | None = None  # the evaluator's own, when it raised

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.kind,
            "id": self.id,
            "iteration": self.iteration,
            "hash": self.hash,
            "config": self.config,
            "status": str(self.status),
            "metrics": self.metrics,
            "error": self.error,
            "predicted": self.predicted,
            "uncertainty": self.uncertainty,
            "seconds": round(self.seconds, 6),
            "timestamp": self.timestamp,
        }
        if self.traceback:
            data["traceback"] = self.traceback
        return data


@dataclass(frozen=True)
class AttemptRecord:
    """A failed attempt that will be retried: journaled, not counted as an evaluation."""

    kind: ClassVar[str] = "attempt"
    id: int
    attempt: int
    error: str | None
    seconds: float
    timestamp: str

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "id": self.id,
            "attempt": self.attempt,
            "error": self.error,
            "seconds": round(self.seconds, 6),
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True)
class ProgressRecord:
    """Where the run stands once every member of batch ``iteration`` is measured: successes and
    failures so far, the hypervolume of the measured front on the run's fixed reference point
    (``hypervolume_reference`` in ``run.yaml``; None until it is set), the best measured value
    of each objective, and per predicted objective the Kendall tau between what was predicted
    for this batch's members and what they measured (held out: none was in the training rows;
    None with fewer than three pairs)."""

    kind: ClassVar[str] = "progress"
    iteration: int
    evaluations: int
    failures: int
    hypervolume: float | None
    best: dict[str, float]
    tau: dict[str, float | None]
    timestamp: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "iteration": self.iteration,
            "evaluations": self.evaluations,
            "failures": self.failures,
            "hypervolume": self.hypervolume,
            "best": self.best,
            "tau": self.tau,
            "timestamp": self.timestamp,
        }


Record = BatchRecord | EvaluationRecord | AttemptRecord | ProgressRecord


def parse_record(data: Mapping[str, Any]) -> Record | None:
    """The typed record of a journal line (None for a kind this version does not know);
    KeyError, TypeError or ValueError when a field is missing or malformed."""
    kind = data.get("type")
    if kind == "batch":
        return BatchRecord(
            int(data["iteration"]), list(data["candidates"]), data.get("state"), data.get("info")
        )
    if kind == "evaluation":
        return EvaluationRecord(
            id=int(data["id"]),
            iteration=int(data["iteration"]),
            hash=str(data["hash"]),
            config=dict(data["config"]),
            status=Status(data["status"]),
            metrics=dict(data.get("metrics") or {}),
            error=data.get("error"),
            predicted=data.get("predicted"),
            uncertainty=data.get("uncertainty"),
            seconds=float(data.get("seconds", 0.0)),
            timestamp=str(data.get("timestamp", "")),
            traceback=data.get("traceback"),
        )
    if kind == "attempt":
        return AttemptRecord(
            int(data["id"]),
            int(data["attempt"]),
            data.get("error"),
            float(data.get("seconds", 0.0)),
            str(data.get("timestamp", "")),
        )
    if kind == "progress":
        hv = data.get("hypervolume")
        return ProgressRecord(
            int(data["iteration"]),
            int(data["evaluations"]),
            int(data["failures"]),
            None if hv is None else float(hv),
            {str(k): float(v) for k, v in dict(data.get("best") or {}).items()},
            {
                str(k): None if v is None else float(v)
                for k, v in dict(data.get("tau") or {}).items()
            },
            str(data.get("timestamp", "")),
        )
    return None
