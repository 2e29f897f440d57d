"""Worker processes: parallel measurements equal in-process ones; a worker killed (SIGKILL) or
hung mid-evaluation is recorded with its reason, replaced, and its candidate retried on
another worker; retries run out into a failed measurement; the run goes on."""

from __future__ import annotations

import os
import signal
import time

from nas_search.config import load_space_file
from nas_search.evaluation.executor import payload_of
from nas_search.evaluation.workers import WorkerPool
from tests.evaluation.conftest import CONFIGS, PLAIN_TASKS, drain, in_process, run_journal


def test_workers_measure_what_the_process_measures(write_space):
    definition = load_space_file(write_space())
    here = in_process(definition, PLAIN_TASKS)
    there, _ = drain(WorkerPool(payload_of(definition), ["score", "cost"], 2), PLAIN_TASKS)
    assert {k: m.metrics for k, m in there.items()} == {k: m.metrics for k, m in here.items()}


def test_killed_hung_and_broken_evaluations(trouble):
    pool = WorkerPool(payload_of(trouble), ["score", "cost"], 2, retries=1, timeout=1.5)
    start = time.perf_counter()
    done, retried = drain(pool, list(enumerate(CONFIGS)))
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert done[0].ok  # killed once, then measured on the retry
    assert done[1].status == "failed" and done[1].error == "timed out after 1.5 s (worker killed)"
    assert done[2].status == "failed" and "RuntimeError: always broken" in done[2].error
    assert done[3].ok and done[4].ok
    reasons = {i: m.error for i, m in retried}
    assert reasons[0] == "worker process died (killed by SIGKILL)"
    assert sorted(i for i, _ in retried) == [0, 1, 2]  # one retry each, then given up
    assert pool.restarts == 3  # the killed worker, and the hung one twice
    assert time.perf_counter() - start < 30


def test_a_worker_killed_from_outside_is_replaced(write_space, monkeypatch):
    monkeypatch.setenv("TOY_DELAY", "3")
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


def test_a_run_with_workers_survives_and_journals_the_attempts(cli, trouble, tmp_path):
    result = cli(
        "run", "--space", trouble.path, "--out", tmp_path / "r", "--workers", 2,
        "--evaluation-timeout", 1.5, "--budget", 10, "--batch", 5, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame, attempts, evaluations = run_journal(tmp_path / "r")
    assert (frame["status"] == "ok").sum() == 10  # the budget counts successes only
    assert list(frame["id"]) == sorted(frame["id"])
    for attempt in attempts:  # every retried candidate ends in exactly one evaluation record
        assert attempt["id"] in evaluations and attempt["error"]


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
        deadline = time.perf_counter() + 1.0
        while any(_alive(p) for p in pids) and time.perf_counter() < deadline:
            time.sleep(0.02)
        assert not [p for p in pids if _alive(p)]
    finally:
        parent.kill()


def test_drain_returns_what_finished_without_waiting(write_space):
    """Issue 12.7: results already back from the workers are handed over when a run stops."""
    definition = load_space_file(write_space())
    pool = WorkerPool(payload_of(definition), ["score", "cost"], 2)
    try:
        pool.submit(PLAIN_TASKS[:2])
        pool._dispatch()
        deadline = time.perf_counter() + 10
        while not all(w.conn.poll(0) for w in pool.slots) and time.perf_counter() < deadline:
            time.sleep(0.01)
        drained = dict(pool.drain())
        assert sorted(drained) == [0, 1] and all(m.ok for m in drained.values())
        assert pool.pending == 0 and pool.drain() == []
    finally:
        pool.close()
