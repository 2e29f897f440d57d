"""The Ray executor: one Ray actor per worker, each holding the loaded evaluator, on a local Ray
instance or a cluster (``address``: ``auto``, ``ray://host:port``).

Ray does the placement: every actor asks for ``num_cpus`` and ``num_gpus`` and Ray puts it on a
node that has them (and sets ``CUDA_VISIBLE_DEVICES`` for it). Ray restarts an actor whose
process dies (``max_restarts``), rebuilding its evaluator; the attempt that was running fails
with the reason, and the candidate is retried on another actor through the same journaled path
as the local pool (Ray's own task retries would re-run it on the same actor, unseen by the
journal). An attempt past the timeout is ended with ``ray.kill(..., no_restart=False)``: Ray
restarts the actor.

``ray`` is imported here only, and only when this executor is chosen (the ``ray`` extra).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from nas_search.errors import EvaluatorError, UsageError
from nas_search.evaluation.base import Measurement, measure
from nas_search.evaluation.executor import Dispatcher, SpacePayload, Task, load_evaluator, one_line
from nas_search.records import Status


class EvaluatorActor:
    """The code of one Ray actor: the evaluator is loaded when the actor starts (and again when
    Ray restarts it); a loading error is kept and reported, not raised, so it reads as one line."""

    def __init__(self, payload: SpacePayload, required: list[str]) -> None:
        self.required = required
        self.error: str | None = None
        try:
            self.evaluator = load_evaluator(payload)
        except Exception as exc:
            self.error = one_line(exc)

    def ready(self) -> tuple[str, Any]:
        return ("error", self.error) if self.error else ("ready", os.getpid())

    def measure(self, config: dict[str, Any]) -> dict[str, Any]:
        if self.error:
            return asdict(Measurement(Status.FAILED, error=f"evaluator not loaded: {self.error}"))
        return asdict(measure(self.evaluator, config, self.required))


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("search.executor: ray needs Ray: pip install 'nas-search[ray]'") from None
    return ray


class RayPool(Dispatcher):
    """``workers`` Ray actors. Connects to ``address`` (None: Ray's default, which starts a
    local instance unless ``RAY_ADDRESS`` names one); a Ray already initialized in this process
    is used as it is, and left running on ``close``."""

    def __init__(
        self,
        payload: SpacePayload,
        required: Sequence[str],
        workers: int,
        *,
        retries: int = 0,
        timeout: float | None = None,
        address: str | None = None,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        start_timeout: float = 600.0,
    ) -> None:
        super().__init__(workers, retries, timeout)
        ray = self.ray = import_ray()
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            try:
                ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UsageError(f"search.address: {address!r}: {one_line(exc)}") from None
        try:
            self._check_resources(workers, num_cpus, num_gpus)
            actor = ray.remote(EvaluatorActor).options(
                num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=-1, max_task_retries=0
            )
            self.actors = [actor.remote(payload, list(required)) for _ in range(workers)]
            self._await_ready(start_timeout)
        except BaseException:
            self.close()
            raise
        self.start_timeout = start_timeout
        self._refs: dict[int, Any] = {}
        self._restarting: set[int] = set()  # slots whose actor Ray is bringing back

    def _check_resources(self, workers: int, num_cpus: float, num_gpus: float) -> None:
        total = self.ray.cluster_resources()
        for field, name, each in (("num_cpus", "CPU", num_cpus), ("num_gpus", "GPU", num_gpus)):
            if each * workers > total.get(name, 0.0):
                raise UsageError(
                    f"search.{field}: {workers} workers x {each:g} {name} need "
                    f"{workers * each:g}; the Ray cluster has {total.get(name, 0.0):g}"
                )

    def _await_ready(self, start_timeout: float) -> None:
        ray = self.ray
        refs = [a.ready.remote() for a in self.actors]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=start_timeout)
        if len(ready) < len(refs):
            raise EvaluatorError(f"Ray workers: not ready in {start_timeout:g} s")
        for k, ref in enumerate(refs):
            try:
                state, detail = ray.get(ref)
            except ray.exceptions.RayError as exc:
                raise EvaluatorError(f"Ray worker {k}: {_reason(exc)}") from None
            if state == "error":
                raise EvaluatorError(f"Ray worker {k}: {detail}")

    # measuring -----------------------------------------------------------------------------
    def _send(self, slot: int, task: Task) -> None:
        if slot in self._restarting:
            self._await_back(slot)
        self._refs[slot] = self.actors[slot].measure.remote(task[1])

    def _await_back(self, slot: int) -> None:
        """Wait until Ray has restarted the actor of ``slot`` (its process died or was killed):
        an attempt sent while it restarts fails without running (``ActorUnavailableError``),
        and on a loaded machine a restart takes seconds."""
        ray = self.ray
        deadline = time.monotonic() + self.start_timeout
        while True:
            left = max(0.1, deadline - time.monotonic())
            try:
                ray.get(self.actors[slot].ready.remote(), timeout=left)
                break
            except ray.exceptions.RayActorError as exc:  # unavailable while it restarts
                if time.monotonic() >= deadline:
                    raise EvaluatorError(f"Ray worker {slot}: {_reason(exc)}") from None
                time.sleep(0.1)
            except ray.exceptions.GetTimeoutError:
                raise EvaluatorError(
                    f"Ray worker {slot}: not back in {self.start_timeout:g} s"
                ) from None
        self._restarting.discard(slot)

    def _wait(self, wait_for: float | None) -> list[tuple[int, Measurement]]:
        ray = self.ray
        slots = {self._refs[slot]: slot for slot in self._running}
        ready, _ = ray.wait(list(slots), num_returns=1, timeout=wait_for)
        if ready:  # whatever else has finished meanwhile, too
            ready, _ = ray.wait(list(slots), num_returns=len(slots), timeout=0)
        done = []
        for ref in ready:
            slot = slots[ref]
            try:
                measurement = Measurement(**ray.get(ref))
            except ray.exceptions.RayActorError as exc:  # Ray restarts the actor by itself
                self.restarts += 1
                self._restarting.add(slot)
                error = f"worker process died ({_reason(exc)})"
                measurement = Measurement(Status.FAILED, error=error, seconds=self._elapsed(slot))
            done.append((slot, measurement))
        return done

    def _restart(self, slot: int) -> None:
        self.ray.kill(self.actors[slot], no_restart=False)
        self._restarting.add(slot)

    def _poll(self) -> list[tuple[int, Measurement]]:
        return self._wait(0.0) if self._running else []

    def close(self) -> None:
        for actor in getattr(self, "actors", []):
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:  # already gone, or Ray itself is shutting down
                pass
        if self._owns_ray and self.ray.is_initialized():
            self.ray.shutdown()


def _reason(exc: BaseException) -> str:
    """The gist of a Ray error, one line: its kind, and the worker's exit detail if Ray gave one."""
    for line in str(exc).splitlines():
        if "exit detail:" in line:
            detail = line.split("exit detail:", 1)[1].split(".")[0].strip()
            return f"Ray {type(exc).__name__}: {detail}"
    return f"Ray {type(exc).__name__}"
