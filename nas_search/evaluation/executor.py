"""Executors: where real evaluations run. In this process (the default), or in a pool of worker
processes that each load the evaluator once, measure several candidates at once, survive a
worker that dies or hangs, and retry a failed candidate on another worker.

Both yield ``(id, measurement)`` as measurements finish; a failed attempt that will be retried
is reported through ``on_retry`` first, so the run can journal it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluatorError
from nas_search.evaluation.base import Evaluator, Measurement, measure

Task = tuple[int, dict[str, Any]]  # evaluation id, config
OnRetry = Callable[[int, Measurement, int], None]  # id, failed attempt, attempt number


class Executor(Protocol):
    def run(
        self, tasks: Sequence[Task], on_retry: OnRetry | None = None
    ) -> Iterator[tuple[int, Measurement]]: ...

    def close(self) -> None: ...


@dataclass
class InProcess:
    """Measure one candidate at a time with the given evaluator (no extra process)."""

    evaluator: Evaluator
    required: Sequence[str]
    retries: int = 0

    def run(
        self, tasks: Sequence[Task], on_retry: OnRetry | None = None
    ) -> Iterator[tuple[int, Measurement]]:
        for ident, config in tasks:
            for attempt in range(self.retries + 1):
                measurement = measure(self.evaluator, config, self.required)
                if measurement.ok or attempt == self.retries:
                    break
                if on_retry is not None:
                    on_retry(ident, measurement, attempt)
            yield ident, measurement

    def close(self) -> None:
        self.evaluator.close()


@dataclass(frozen=True)
class SpacePayload:
    """What a worker needs to rebuild the space definition (and so its evaluator)."""

    data: dict[str, Any]
    source: str
    base_dir: str
    path: str | None


def _worker(conn: Connection, payload: SpacePayload, required: list[str]) -> None:
    """A worker process: build and prepare the evaluator once, then measure what it is sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    from nas_search.config import load_space_dict
    from nas_search.evaluation import build_evaluator

    try:
        definition = load_space_dict(
            payload.data,
            source=payload.source,
            base_dir=Path(payload.base_dir),
            path=Path(payload.path) if payload.path else None,
        )
        evaluator = build_evaluator(definition)
        ready = getattr(evaluator, "prepare", None)
        if ready is not None:
            ready()
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}".splitlines()[0]))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            break
        if message is None:
            break
        ident, config = message
        conn.send(("done", ident, asdict(measure(evaluator, config, required))))
    evaluator.close()


@dataclass
class _Slot:
    """One worker process and what it is measuring."""

    index: int
    process: Any
    conn: Connection
    task: Task | None = None
    started: float = 0.0
    last_failed: int | None = None  # the task id that last failed here


class WorkerPool:
    """``workers`` processes (spawned, so torch and CUDA start clean), each holding a loaded
    evaluator. On GPUs pass ``devices``: worker ``k`` sees only ``devices[k % len]`` through
    ``CUDA_VISIBLE_DEVICES``. ``timeout`` (seconds) bounds one evaluation: the worker is killed
    and replaced, and the attempt fails."""

    def __init__(
        self,
        payload: SpacePayload,
        required: Sequence[str],
        workers: int,
        *,
        retries: int = 0,
        timeout: float | None = None,
        devices: Sequence[str] = (),
        start_timeout: float = 600.0,
    ) -> None:
        self.payload, self.required = payload, list(required)
        self.retries, self.timeout, self.devices = retries, timeout, list(devices)
        self.start_timeout = start_timeout
        self._context = multiprocessing.get_context("spawn")
        self.slots = [self._start(k) for k in range(workers)]
        for slot in self.slots:
            self._await_ready(slot)
        self.restarts = 0

    # workers ------------------------------------------------------------------------------
    def _start(self, index: int) -> _Slot:
        parent, child = self._context.Pipe()
        previous = os.environ.get("CUDA_VISIBLE_DEVICES")
        if self.devices:  # spawn copies the environment at start: set it around start()
            os.environ["CUDA_VISIBLE_DEVICES"] = self.devices[index % len(self.devices)]
        try:
            process = self._context.Process(
                target=_worker,
                args=(child, self.payload, self.required),
                name=f"nas-search-worker-{index}",
                daemon=True,
            )
            process.start()
        finally:
            if self.devices:
                if previous is None:
                    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
                else:
                    os.environ["CUDA_VISIBLE_DEVICES"] = previous
        child.close()
        return _Slot(index, process, parent)

    def _await_ready(self, slot: _Slot) -> None:
        if not slot.conn.poll(self.start_timeout):
            self._kill(slot)
            raise EvaluatorError(f"worker {slot.index}: not ready in {self.start_timeout:g} s")
        try:
            message = slot.conn.recv()
        except EOFError:
            raise EvaluatorError(
                f"worker {slot.index}: died while loading the evaluator "
                f"(exit code {slot.process.exitcode})"
            ) from None
        if message[0] == "error":
            raise EvaluatorError(f"worker {slot.index}: {message[1]}")

    def _kill(self, slot: _Slot) -> None:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(5)
        slot.conn.close()

    def _replace(self, slot: _Slot) -> _Slot:
        self._kill(slot)
        fresh = self._start(slot.index)
        self._await_ready(fresh)
        fresh.last_failed = slot.last_failed
        self.slots[slot.index] = fresh
        self.restarts += 1
        return fresh

    # measuring ----------------------------------------------------------------------------
    def run(
        self, tasks: Sequence[Task], on_retry: OnRetry | None = None
    ) -> Iterator[tuple[int, Measurement]]:
        queue: list[tuple[Task, int]] = [(t, 0) for t in tasks]  # task, attempt
        attempts: dict[int, int] = {}
        busy: dict[int, _Slot] = {}  # task id -> slot
        while queue or busy:
            for slot in self.slots:
                if slot.task is None and queue:
                    k = self._pick(queue, slot)
                    (task, attempt), queue = queue[k], queue[:k] + queue[k + 1 :]
                    slot.task, slot.started = task, time.perf_counter()
                    attempts[task[0]] = attempt
                    slot.conn.send(task)
                    busy[task[0]] = slot
            for slot, measurement in self._wait(list(busy.values())):
                assert slot.task is not None
                task, slot.task = slot.task, None
                del busy[task[0]]
                attempt = attempts[task[0]]
                if measurement.ok or attempt >= self.retries:
                    yield task[0], measurement
                    continue
                slot.last_failed = task[0]
                if on_retry is not None:
                    on_retry(task[0], measurement, attempt)
                queue.insert(0, (task, attempt + 1))

    def _pick(self, queue: list[tuple[Task, int]], slot: _Slot) -> int:
        """The first task for ``slot``, preferring not to give a retry to the worker it
        failed on (when another worker could take it)."""
        for k, (task, _) in enumerate(queue):
            if task[0] != slot.last_failed or len(self.slots) == 1:
                return k
        return 0

    def _wait(self, busy: list[_Slot]) -> Iterator[tuple[_Slot, Measurement]]:
        """Finished attempts: results, dead workers, timeouts (replacing the worker)."""
        if not busy:
            return
        deadline = None
        if self.timeout is not None:
            deadline = min(s.started for s in busy) + self.timeout
            wait_for = max(0.0, deadline - time.perf_counter())
        else:
            wait_for = None
        handles: dict[Any, _Slot] = {}
        for slot in busy:
            handles[slot.conn] = slot
            handles[slot.process.sentinel] = slot
        ready = wait(list(handles), wait_for)
        done: set[int] = set()
        for handle in ready:
            slot = handles[handle]
            if slot.index in done:
                continue
            seconds = time.perf_counter() - slot.started
            if handle is slot.conn or slot.conn.poll():
                try:
                    _, _, fields = slot.conn.recv()
                except (EOFError, OSError):
                    pass
                else:
                    done.add(slot.index)
                    yield slot, Measurement(**fields)
                    continue
            done.add(slot.index)
            code = slot.process.exitcode if not slot.process.is_alive() else None
            slot.process.join(1)
            code = slot.process.exitcode if code is None else code
            reason = f"worker process died ({_exit_reason(code)})"
            fresh = self._replace(slot)
            fresh.task, fresh.started = slot.task, slot.started
            yield fresh, Measurement("failed", error=reason, seconds=seconds)
        now = time.perf_counter()
        for slot in busy:
            if slot.index in done or self.timeout is None:
                continue
            if now - slot.started >= self.timeout:
                fresh = self._replace(slot)
                fresh.task, fresh.started = slot.task, slot.started
                yield (
                    fresh,
                    Measurement(
                        "failed",
                        error=f"timed out after {self.timeout:g} s (worker killed)",
                        seconds=now - slot.started,
                    ),
                )

    def close(self) -> None:
        for slot in self.slots:
            if slot.process.is_alive() and slot.task is None:
                try:
                    slot.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
        for slot in self.slots:
            slot.process.join(2)
            self._kill(slot)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def payload_of(definition: SpaceDefinition) -> SpacePayload:
    """The picklable description of a space a worker rebuilds its evaluator from."""
    return SpacePayload(
        definition.to_dict(),
        definition.source,
        str(definition.base_dir),
        str(definition.path) if definition.path else None,
    )


def gpu_devices() -> list[str]:
    """The GPUs workers are pinned to: ``CUDA_VISIBLE_DEVICES`` if set, else every CUDA device
    torch sees (none on a CPU-only machine)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    import torch

    return [str(k) for k in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
