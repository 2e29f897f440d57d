"""Local worker processes beyond the executor contract (test_executor_contract.py): a worker
killed from outside is replaced; workers die with their parent."""

from __future__ import annotations

import os
import signal
import time

from nas_search.config import load_space_file
from nas_search.evaluation.executor import payload_of
from nas_search.evaluation.workers import WorkerPool
from tests.evaluation.conftest import CONFIGS


def test_a_worker_killed_from_outside_is_replaced(write_space, monkeypatch):
    monkeypatch.setenv("TOY_DELAY", "30")  # killed after 1 s, however loaded the machine
    definition = load_space_file(write_space())
    pool = WorkerPool(payload_of(definition), ["score", "cost"], 1, retries=0)
    try:
        results = pool.run([(0, CONFIGS[3])])
        victim = pool.slots[0].process.pid
        killer = __import__("threading").Timer(1.0, os.kill, (victim, signal.SIGKILL))
        killer.start()
        ident, measurement = next(results)
        assert (ident, measurement.status) == (0, "failed")
        assert measurement.error == "worker process died (killed by SIGKILL)"
        assert pool.slots[0].process.pid != victim and pool.slots[0].process.is_alive()
    finally:
        pool.close()


PARENT = """
import os, sys, time
from pathlib import Path
from nas_search.config import load_space_file
from nas_search.evaluation.executor import payload_of
from nas_search.evaluation.workers import WorkerPool

os.environ["TOY_DELAY"] = "30"
definition = load_space_file(Path(sys.argv[1]))
pool = WorkerPool(payload_of(definition), ["score", "cost"], 2)
pool.submit([(0, %r), (1, %r)])
pool._dispatch()
print(" ".join(str(w.process.pid) for w in pool.slots), flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie has ended
        return handle.read().split(")")[-1].split()[0] != "Z"


def test_workers_die_with_their_parent_killed_mid_evaluation(write_space, tmp_path):
    """Issue 12.8: SIGKILL of the main process leaves no worker measuring for nothing."""
    import subprocess
    import sys

    space = write_space()
    script = PARENT % (CONFIGS[3], CONFIGS[4])
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(space)], stdout=subprocess.PIPE, text=True
    )
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        parent.kill()
        parent.wait()
        deadline = time.perf_counter() + 10.0  # they die at once; a loaded machine may lag
        while any(_alive(p) for p in pids) and time.perf_counter() < deadline:
            time.sleep(0.02)
        assert not [p for p in pids if _alive(p)]
    finally:
        parent.kill()
