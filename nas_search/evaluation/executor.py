"""Executors: where real evaluations run. In this process (the default), in a pool of worker
processes, or on Ray actors (:mod:`nas_search.evaluation.ray_executor`); each worker loads the
evaluator once, several candidates are measured at once, a worker that dies or hangs is
replaced, and a failed candidate is retried on another worker.

Tasks are submitted as they are chosen (the run may submit the next batch while the current
one is still being measured) and come back one at a time, in the order they finish, through
``next``; a failed attempt that will be retried is reported through ``on_retry`` first, so the
run can journal it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nas_search.config import SpaceDefinition
from nas_search.evaluation.base import Evaluator, Measurement, measure
from nas_search.records import Status

Task = tuple[int, dict[str, Any]]  # evaluation id, config
OnRetry = Callable[[int, Measurement, int], None]  # id, failed attempt, attempt number


class Executor(Protocol):
    """Runs submitted tasks; ``next`` blocks until one of them is finished for good (measured,
    or failed with every retry spent). ``pending``: submitted tasks not yet returned."""

    def submit(self, tasks: Sequence[Task]) -> None: ...

    def next(self, on_retry: OnRetry | None = None) -> tuple[int, Measurement]: ...

    @property
    def pending(self) -> int: ...

    def drain(self) -> list[tuple[int, Measurement]]: ...

    def close(self) -> None: ...


class Dispatcher:
    """What every executor shares: the queue, the attempts, retries preferring another worker
    than the one that failed, and the evaluation timeout. A subclass has ``workers`` slots and
    says how to send a task to one (``_send``), how to wait for finished ones (``_wait``) and
    how to replace a worker that hangs (``_restart``)."""

    def __init__(self, workers: int, retries: int, timeout: float | None) -> None:
        self.workers, self.retries, self.timeout = workers, retries, timeout
        self.restarts = 0  # workers replaced: died or timed out
        self._queue: list[tuple[Task, int]] = []  # task, attempt
        self._running: dict[int, tuple[Task, int, float]] = {}  # slot -> task, attempt, start
        self._finished: deque[tuple[int, Measurement]] = deque()
        self._last_failed: dict[int, int] = {}  # slot -> the task id that last failed there

    # the executor protocol ---------------------------------------------------------------------
    def submit(self, tasks: Sequence[Task]) -> None:
        self._queue += [(task, 0) for task in tasks]

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._running) + len(self._finished)

    def next(self, on_retry: OnRetry | None = None) -> tuple[int, Measurement]:
        while not self._finished:
            if not self._queue and not self._running:
                raise LookupError("no task submitted")
            self._dispatch()
            for slot, measurement in self._collect():
                task, attempt, _ = self._running.pop(slot)
                if measurement.ok or attempt >= self.retries:
                    self._finished.append((task[0], measurement))
                    continue
                self._last_failed[slot] = task[0]
                if on_retry is not None:
                    on_retry(task[0], measurement, attempt)
                self._queue.insert(0, (task, attempt + 1))
        return self._finished.popleft()

    def drain(self) -> list[tuple[int, Measurement]]:
        """Tasks finished for good but not yet returned by :meth:`next`, collected without
        waiting: a run that is stopping journals them, so no finished measurement is lost."""
        done = list(self._finished)
        self._finished.clear()
        if self._running:
            for slot, measurement in self._poll():
                task, attempt, _ = self._running.pop(slot)
                if measurement.ok or attempt >= self.retries:
                    done.append((task[0], measurement))
        return done

    def run(
        self, tasks: Sequence[Task], on_retry: OnRetry | None = None
    ) -> Iterator[tuple[int, Measurement]]:
        """Submit ``tasks`` and yield every result as it finishes."""
        self.submit(tasks)
        while self.pending:
            yield self.next(on_retry)

    def close(self) -> None:
        raise NotImplementedError

    # scheduling --------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        for slot in range(self.workers):
            if slot in self._running or not self._queue:
                continue
            k = self._pick(slot)
            (task, attempt), self._queue = self._queue[k], self._queue[:k] + self._queue[k + 1 :]
            self._send(slot, task)  # may first wait for the worker to be back
            self._running[slot] = (task, attempt, time.perf_counter())

    def _pick(self, slot: int) -> int:
        """The first queued task for ``slot``, preferring not to give a retry to the worker it
        failed on (when another worker could take it)."""
        for k, (task, _) in enumerate(self._queue):
            if task[0] != self._last_failed.get(slot) or self.workers == 1:
                return k
        return 0

    def _collect(self) -> list[tuple[int, Measurement]]:
        """Finished attempts (at least one): results, dead workers, timeouts."""
        wait_for = None
        if self.timeout is not None:
            first = min(start for _, _, start in self._running.values())
            wait_for = max(0.0, first + self.timeout - time.perf_counter())
        done = self._wait(wait_for)
        if self.timeout is None:
            return done
        now, finished = time.perf_counter(), {slot for slot, _ in done}
        for slot, (_, _, start) in list(self._running.items()):
            if slot not in finished and now - start >= self.timeout:
                self._restart(slot)
                self.restarts += 1
                error = f"timed out after {self.timeout:g} s (worker killed)"
                done.append((slot, Measurement(Status.FAILED, error=error, seconds=now - start)))
        return done

    def _elapsed(self, slot: int) -> float:
        return time.perf_counter() - self._running[slot][2]

    # what a subclass provides ------------------------------------------------------------------
    def _send(self, slot: int, task: Task) -> None:
        raise NotImplementedError

    def _wait(self, wait_for: float | None) -> list[tuple[int, Measurement]]:
        """Block up to ``wait_for`` seconds (None: until one finishes) for running slots."""
        raise NotImplementedError

    def _restart(self, slot: int) -> None:
        raise NotImplementedError

    def _poll(self) -> list[tuple[int, Measurement]]:
        """Results already back from running slots, without waiting (default: none)."""
        return []


class InProcess(Dispatcher):
    """Measure one candidate at a time with the given evaluator (no extra process)."""

    def __init__(self, evaluator: Evaluator, required: Sequence[str], retries: int = 0) -> None:
        super().__init__(1, retries, None)
        self.evaluator, self.required = evaluator, list(required)
        evaluator.load()  # the user's code, here, so that an import error comes before measuring
        self._config: dict[str, Any] = {}

    def _send(self, slot: int, task: Task) -> None:
        self._config = task[1]

    def _wait(self, wait_for: float | None) -> list[tuple[int, Measurement]]:
        return [(0, measure(self.evaluator, self._config, self.required))]

    def close(self) -> None:
        self.evaluator.close()


@dataclass(frozen=True)
class SpacePayload:
    """What a worker needs to rebuild the space definition (and so its evaluator)."""

    data: dict[str, Any]
    source: str
    base_dir: str
    path: str | None


def load_evaluator(payload: SpacePayload) -> Evaluator:
    """A worker's evaluator: the space rebuilt from ``payload``, the evaluator built and
    prepared (e.g. its super-network loaded) once."""
    from nas_search.config import load_space_dict
    from nas_search.evaluation import build_evaluator

    definition = load_space_dict(
        payload.data,
        source=payload.source,
        base_dir=Path(payload.base_dir),
        path=Path(payload.path) if payload.path else None,
    )
    evaluator = build_evaluator(definition)
    evaluator.prepare()
    evaluator.load()  # the user's code, here, so that an import error comes before measuring
    return evaluator


def one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()
    return text[0] if text else type(exc).__name__


def make_executor(
    definition: SpaceDefinition,
    evaluator: Evaluator,
    announce: Callable[[str], None] | None = None,
) -> Executor | None:
    """The executor a space's settings ask for: Ray actors, worker processes (several
    workers, a timeout to enforce, or an evaluator isolated from this process), or None: in
    this process. ``announce`` is told, in a sentence, what is being started."""
    settings = definition.settings
    required = [o.name for o in definition.objectives]
    if settings.executor == "ray":
        from nas_search.evaluation.ray_executor import RayPool

        if announce is not None:
            where = settings.address or "a local Ray instance"
            announce(
                f"Starting {settings.workers} Ray workers on {where} "
                f"({settings.num_cpus:g} CPU, {settings.num_gpus:g} GPU each)"
            )
        return RayPool(
            payload_of(definition),
            required,
            settings.workers,
            retries=settings.retries,
            timeout=settings.evaluation_timeout,
            address=settings.address,
            num_cpus=settings.num_cpus,
            num_gpus=settings.num_gpus,
        )
    isolate = settings.isolation == "process" or (
        settings.isolation == "auto" and evaluator.runs_user_code
    )
    if settings.workers == 1 and settings.evaluation_timeout is None and not isolate:
        return None
    from nas_search.evaluation.workers import WorkerPool, gpu_devices

    devices = gpu_devices() if settings.workers > 1 else []  # one worker sees what we see
    if announce is not None and settings.workers > 1:
        pinned = f", pinned to GPUs {', '.join(devices)}" if devices else ""
        announce(f"Starting {settings.workers} evaluation workers{pinned}")
    return WorkerPool(
        payload_of(definition),
        required,
        settings.workers,
        retries=settings.retries,
        timeout=settings.evaluation_timeout,
        devices=devices,
    )


def payload_of(definition: SpaceDefinition) -> SpacePayload:
    """The picklable description of a space a worker rebuilds its evaluator from."""
    return SpacePayload(
        definition.to_dict(),
        definition.source,
        str(definition.base_dir),
        str(definition.path) if definition.path else None,
    )
