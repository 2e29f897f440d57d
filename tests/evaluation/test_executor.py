"""Worker processes: parallel measurements equal in-process ones; a worker killed (SIGKILL) or
hung mid-evaluation is recorded with its reason, replaced, and its candidate retried on
another worker; retries run out into a failed measurement; the run goes on."""

from __future__ import annotations

import os
import signal
import time

from nas_search.config import load_space_file
from nas_search.evaluation.executor import WorkerPool, payload_of
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
