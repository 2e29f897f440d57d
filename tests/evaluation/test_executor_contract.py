"""The contract every executor keeps, local worker processes and Ray actors alike: they
measure what the process measures; a worker killed (SIGKILL) or hung mid-evaluation is
replaced and its candidate retried on another; an evaluator's error fails the candidate;
finished results are handed over without waiting when a run stops; a run on it survives."""

from __future__ import annotations

import time

import pytest

from nas_search.config import load_space_file
from nas_search.evaluation.executor import payload_of
from tests.evaluation.conftest import CONFIGS, PLAIN_TASKS, drain, in_process, run_journal

KINDS = ["process", "ray"]
TIMEOUT = {"process": 1.5, "ray": 3.0}  # a Ray actor takes longer to restart


def make_pool(kind, request, definition, workers=2, **options):
    if kind == "ray":
        request.getfixturevalue("local_ray")
        from nas_search.evaluation.ray_executor import RayPool

        return RayPool(payload_of(definition), ["score", "cost"], workers, **options)
    from nas_search.evaluation.workers import WorkerPool

    return WorkerPool(payload_of(definition), ["score", "cost"], workers, **options)


@pytest.mark.parametrize("kind", KINDS)
def test_measures_what_the_process_measures(request, write_space, kind):
    definition = load_space_file(write_space())
    here = in_process(definition, PLAIN_TASKS)
    there, _ = drain(make_pool(kind, request, definition), PLAIN_TASKS)
    assert {k: m.metrics for k, m in there.items()} == {k: m.metrics for k, m in here.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_killed_hung_and_broken_evaluations(request, trouble, kind):
    timeout = TIMEOUT[kind]
    pool = make_pool(kind, request, trouble, retries=1, timeout=timeout)
    start = time.perf_counter()
    done, retried = drain(pool, list(enumerate(CONFIGS)))
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert done[0].ok  # killed once, then measured on the retry
    assert done[1].status == "failed"
    assert done[1].error == f"timed out after {timeout:g} s (worker killed)"
    assert done[2].status == "failed" and "RuntimeError: always broken" in done[2].error
    assert done[3].ok and done[4].ok
    reasons = {i: m.error for i, m in retried}
    assert reasons[0].startswith("worker process died (")
    assert sorted(i for i, _ in retried) == [0, 1, 2]  # one retry each, then given up
    assert pool.restarts == 3  # the killed worker, and the hung one twice
    assert time.perf_counter() - start < 60


@pytest.mark.parametrize("kind", KINDS)
def test_drain_hands_over_what_finished(request, write_space, kind):
    definition = load_space_file(write_space())
    pool = make_pool(kind, request, definition)
    try:
        pool.submit(PLAIN_TASKS[:2])
        pool._dispatch()
        drained: dict = {}
        deadline = time.perf_counter() + 60  # both finish in milliseconds; drain never waits
        while len(drained) < 2 and time.perf_counter() < deadline:
            drained.update(pool.drain())
            time.sleep(0.05)
        assert sorted(drained) == [0, 1] and all(m.ok for m in drained.values())
        assert pool.pending == 0 and pool.drain() == []
    finally:
        pool.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_run_survives_and_journals_the_attempts(request, cli, trouble, tmp_path, kind):
    if kind == "ray":
        request.getfixturevalue("local_ray")
    result = cli(
        "run", "--space", trouble.path, "--out", tmp_path / "r", "--executor",
        "ray" if kind == "ray" else "local", "--workers", 2, "--evaluation-timeout",
        TIMEOUT[kind], "--budget", 10, "--batch", 5, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame, attempts, evaluations = run_journal(tmp_path / "r")
    assert (frame["status"] == "ok").sum() == 10  # the budget counts successes only
    assert list(frame["id"]) == sorted(frame["id"])
    assert attempts and all(a["id"] in evaluations and a["error"] for a in attempts)
