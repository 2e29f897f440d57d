"""The evaluator protocol and one real measurement of one sub-network."""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from nas_search.errors import EvaluationFailed, EvaluatorError
from nas_search.records import Status

ExactFunction = Callable[[dict[str, Any]], Mapping[str, float]]


@runtime_checkable
class Evaluator(Protocol):
    """Takes a config, returns metric name -> float, or raises.

    ``metrics`` are what :meth:`evaluate` returns; ``exact_metrics`` are those it can also
    compute exactly without measuring, with :meth:`exact` (the search computes them instead
    of predicting them, and constraints may name them).

    ``prepare`` gets it ready to measure (a super-network trained on first use, weights
    loaded; ``on_epoch(epoch, epochs, loss)``, called with epoch 0 and a NaN loss when training
    starts, and ``notice(text)`` report progress) and
    ``load`` imports the user's code it runs, in the process that measures; ``computes_exact``
    says it computes its exact metrics itself (no ``exact_function``), ``runs_user_code``
    that :meth:`evaluate` runs the user's code in this process.
    """

    metrics: tuple[str, ...]
    exact_metrics: tuple[str, ...]
    computes_exact: bool
    runs_user_code: bool

    def evaluate(self, config: dict[str, Any]) -> Mapping[str, float]: ...

    def exact(self, config: dict[str, Any]) -> Mapping[str, float]: ...

    def prepare(
        self,
        on_epoch: Callable[[int, int, float], None] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None: ...

    def load(self) -> Any: ...

    def close(self) -> None: ...


class BaseEvaluator:
    """Shared plumbing: declared metrics, an optional exact-metrics function, no-op hooks."""

    #: True where the evaluator computes its exact metrics without an ``exact_function``
    computes_exact = False
    #: True where :meth:`evaluate` runs the user's code in this process (``isolation: auto``
    #: then measures in a worker process, so that the code cannot end the run)
    runs_user_code = False
    #: configs every run measures first, after ``search.enqueue`` (say, the full model)
    baselines: Sequence[dict[str, Any]] = ()

    def __init__(
        self,
        metrics: Sequence[str],
        exact_metrics: Sequence[str] = (),
        exact_function: ExactFunction | None = None,
    ) -> None:
        self.metrics = tuple(metrics)
        self.exact_metrics = tuple(exact_metrics)
        self._exact_function = exact_function

    def evaluate(self, config: dict[str, Any]) -> Mapping[str, float]:
        raise NotImplementedError

    def exact(self, config: dict[str, Any]) -> Mapping[str, float]:
        if not self.exact_metrics:
            return {}
        if self._exact_function is None:
            raise EvaluatorError("no exact_function is configured for the exact metrics")
        try:
            raw = self._exact_function(dict(config))
        except EvaluationFailed:
            raise
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the user's function: an error of one candidate
            raise EvaluationFailed(f"exact_function: {error_line(exc)}") from exc
        values = checked_metrics(raw, self.exact_metrics)
        return {m: values[m] for m in self.exact_metrics}

    def prepare(
        self,
        on_epoch: Callable[[int, int, float], None] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        return None

    def load(self) -> Any:
        return None

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class Measurement:
    """The outcome of one real evaluation."""

    status: Status
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    traceback: str | None = None  # the evaluator's own, last frames, when it raised

    @property
    def ok(self) -> bool:
        return self.status == Status.OK


def checked_metrics(values: Any, required: Sequence[str]) -> dict[str, float]:
    """Metrics as floats. A required metric that is missing, not a real number (a bool or a
    string is not one, whatever it spells) or not finite raises :class:`EvaluationFailed`;
    other entries are kept where they are real numbers and left out otherwise."""
    if not isinstance(values, Mapping):
        raise EvaluationFailed(
            f"returned {type(values).__name__} {values!r:.80}, "
            "expected a mapping of metric to number"
        )
    out: dict[str, float] = {}
    for key, value in values.items():
        number = _real(value)
        if number is None:
            if key in required:
                raise EvaluationFailed(
                    f"metric {key!r} must be a real number, got {type(value).__name__} "
                    f"{value!r:.80}"
                )
            continue
        out[str(key)] = number
    for name in required:
        if name not in out:
            raise EvaluationFailed(f"metric {name!r} missing from {sorted(out)}")
        if not math.isfinite(out[name]):
            raise EvaluationFailed(f"metric {name!r} is {out[name]}")
    return out


def _real(value: Any) -> float | None:
    """``value`` as a float where it is a real number (numpy scalars and 0-d tensors too)."""
    if isinstance(value, (bool, str, bytes)) or type(value).__name__ == "bool_":
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def measure(evaluator: Evaluator, config: dict[str, Any], required: Sequence[str]) -> Measurement:
    """Run one real evaluation; any failure is caught and returned with its reason."""
    start = time.perf_counter()
    try:
        metrics = checked_metrics(evaluator.evaluate(dict(config)), required)
    except KeyboardInterrupt:
        raise
    except EvaluationFailed as exc:
        return Measurement(Status.FAILED, error=str(exc), seconds=time.perf_counter() - start)
    except BaseException as exc:  # an evaluator's own bug (sys.exit too) fails the candidate
        return Measurement(
            Status.FAILED,
            error=error_line(exc),
            seconds=time.perf_counter() - start,
            traceback=last_frames(exc),
        )
    return Measurement(Status.OK, metrics=metrics, seconds=time.perf_counter() - start)


def last_frames(exc: BaseException, frames: int = 8, limit: int = 4000) -> str:
    """The end of an exception's traceback (where the evaluator raised), at most ``limit``
    characters."""
    text = "".join(traceback.format_exception(exc, limit=-frames))
    return text[-limit:]


def error_line(exc: BaseException) -> str:
    """An exception as one line of at most 500 characters (``SystemExit`` said plainly)."""
    if isinstance(exc, SystemExit):
        return f"the evaluator called sys.exit({exc.code!r})"
    message = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return " | ".join(message)[:500]
