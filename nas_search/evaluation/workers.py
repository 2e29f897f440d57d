"""Worker processes: each loads the evaluator once and measures what it is sent; one that
dies (even by SIGKILL) or hangs is replaced and its candidate retried on another worker.
Workers die with the process that started them, however it ends."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from nas_search._worker import main as worker_main
from nas_search.errors import EvaluatorError
from nas_search.evaluation.base import Measurement, measure
from nas_search.evaluation.executor import Dispatcher, SpacePayload, Task, load_evaluator, one_line
from nas_search.records import Status


def _worker(conn: Connection, payload: SpacePayload, required: list[str]) -> None:
    """A worker process (started through :mod:`nas_search._worker`, which ties its life to
    the parent's): build and prepare the evaluator once, then measure what it is sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        evaluator = load_evaluator(payload)
    except BaseException as exc:  # sys.exit while importing the user's module, too
        conn.send(("error", one_line(exc)))
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
class _Process:
    """One worker process and its pipe."""

    index: int
    process: Any
    conn: Connection


class WorkerPool(Dispatcher):
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
        super().__init__(workers, retries, timeout)
        self.payload, self.required = payload, list(required)
        self.devices, self.start_timeout = list(devices), start_timeout
        self._context = multiprocessing.get_context("spawn")
        self.slots = [self._start(k) for k in range(workers)]
        for worker in self.slots:
            self._await_ready(worker)

    # workers -------------------------------------------------------------------------------
    def _start(self, index: int) -> _Process:
        parent, child = self._context.Pipe()
        previous = os.environ.get("CUDA_VISIBLE_DEVICES")
        if self.devices:  # spawn copies the environment at start: set it around start()
            os.environ["CUDA_VISIBLE_DEVICES"] = self.devices[index % len(self.devices)]
        try:
            job = pickle.dumps((_worker, (self.payload, self.required)))
            process = self._context.Process(
                target=worker_main,
                args=(child, os.getpid(), job),
                name=f"nas-search-worker-{index}",
                daemon=True,
            )
            with _main_script_hidden():
                process.start()
        finally:
            if self.devices:
                if previous is None:
                    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
                else:
                    os.environ["CUDA_VISIBLE_DEVICES"] = previous
        child.close()
        return _Process(index, process, parent)

    def _await_ready(self, worker: _Process) -> None:
        if not worker.conn.poll(self.start_timeout):
            self._kill(worker)
            raise EvaluatorError(f"worker {worker.index}: not ready in {self.start_timeout:g} s")
        try:
            message = worker.conn.recv()
        except EOFError:
            raise EvaluatorError(
                f"worker {worker.index}: died while loading the evaluator "
                f"(exit code {worker.process.exitcode})"
            ) from None
        if message[0] == "error":
            raise EvaluatorError(f"worker {worker.index}: {message[1]}")

    def _kill(self, worker: _Process) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()

    def _restart(self, slot: int) -> None:
        self._kill(self.slots[slot])
        self.slots[slot] = self._start(slot)
        self._await_ready(self.slots[slot])

    # measuring -----------------------------------------------------------------------------
    def _send(self, slot: int, task: Task) -> None:
        self.slots[slot].conn.send(task)

    def _wait(self, wait_for: float | None) -> list[tuple[int, Measurement]]:
        """Results and dead workers (replaced; their attempt failed with the reason)."""
        handles: dict[Any, int] = {}
        for slot in self._running:
            handles[self.slots[slot].conn] = slot
            handles[self.slots[slot].process.sentinel] = slot
        done: dict[int, Measurement] = {}
        for handle in wait(list(handles), wait_for):
            slot = handles[handle]
            if slot in done:
                continue
            worker = self.slots[slot]
            if handle is worker.conn or worker.conn.poll():
                try:
                    _, _, fields = worker.conn.recv()
                except (EOFError, OSError):
                    pass
                else:
                    done[slot] = Measurement(**fields)
                    continue
            seconds = self._elapsed(slot)
            worker.process.join(1)
            reason = f"worker process died ({_exit_reason(worker.process.exitcode)})"
            self._restart(slot)
            self.restarts += 1
            done[slot] = Measurement(Status.FAILED, error=reason, seconds=seconds)
        return list(done.items())

    def _poll(self) -> list[tuple[int, Measurement]]:
        done = []
        for slot in list(self._running):
            conn = self.slots[slot].conn
            try:
                if conn.poll(0):
                    _, _, fields = conn.recv()
                    done.append((slot, Measurement(**fields)))
            except (EOFError, OSError):
                continue
        return done

    def close(self) -> None:
        """Idle workers are told to stop (and get 2 s to); busy ones are killed at once: what
        they measure now would be thrown away."""
        for slot, worker in enumerate(self.slots):
            if slot in self._running:
                self._kill(worker)
            elif worker.process.is_alive():
                try:
                    worker.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
        for worker in self.slots:
            worker.process.join(2)
            self._kill(worker)


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Start a spawned process without re-running the main script in it: spawn imports the
    parent's ``__main__`` from its path (for ``nas-search``, the whole command line: a second
    of imports per worker), which a worker never needs; its target is found by module name."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def gpu_devices() -> list[str]:
    """The GPUs workers are pinned to: ``CUDA_VISIBLE_DEVICES`` if set, else every CUDA device
    torch sees (none on a CPU-only machine)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    import torch

    return [str(k) for k in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
