"""The Ray executor on a local Ray instance (``ray.init(num_cpus=2)``) whose temporary files
and auth token stay in a temporary folder: actors measure what the process measures; an actor
killed (SIGKILL) or hung mid-evaluation is restarted by Ray and its candidate retried on the
other one; resources the cluster lacks are a one-line error; a CLI run on Ray keeps its budget."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from nas_search.config import load_space_file
from nas_search.errors import UsageError
from nas_search.evaluation.executor import payload_of
from tests.evaluation.conftest import CONFIGS, PLAIN_TASKS, drain, in_process, run_journal

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
from nas_search.evaluation.ray_executor import RayPool  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # a short folder: Ray's socket paths under it must stay within 107 bytes
    base = Path(tempfile.mkdtemp(prefix="nsray"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(base / "home"))  # Ray writes its auth token to ~/.ray
        ray.init(
            num_cpus=2,
            _temp_dir=str(base / "ray"),
            include_dashboard=False,
            logging_level="WARNING",
        )
        try:
            yield base
        finally:
            ray.shutdown()
    assert (base / "home" / ".ray").exists()  # the token was written here, not in ~
    shutil.rmtree(base, ignore_errors=True)


def test_actors_measure_what_the_process_measures(write_space):
    definition = load_space_file(write_space())
    here = in_process(definition, PLAIN_TASKS)
    there, _ = drain(RayPool(payload_of(definition), ["score", "cost"], 2), PLAIN_TASKS)
    assert {k: m.metrics for k, m in there.items()} == {k: m.metrics for k, m in here.items()}
    assert ray.is_initialized()  # a Ray this process started itself is left running


def test_killed_hung_and_broken_evaluations_on_ray(trouble):
    pool = RayPool(payload_of(trouble), ["score", "cost"], 2, retries=1, timeout=3)
    start = time.perf_counter()
    done, retried = drain(pool, list(enumerate(CONFIGS)))
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert done[0].ok  # its actor was killed once; Ray restarted it; measured on the retry
    assert done[1].status == "failed" and done[1].error == "timed out after 3 s (worker killed)"
    assert done[2].status == "failed" and "RuntimeError: always broken" in done[2].error
    assert done[3].ok and done[4].ok
    reasons = {i: m.error for i, m in retried}
    assert reasons[0].startswith("worker process died (Ray ")
    assert sorted(i for i, _ in retried) == [0, 1, 2]
    assert pool.restarts == 3  # the killed actor, and the hung one twice
    assert time.perf_counter() - start < 60


def test_resources_the_cluster_lacks(write_space):
    definition = load_space_file(write_space())
    with pytest.raises(UsageError, match=r"search.num_gpus: 2 workers x 1 GPU need 2; the Ray "):
        RayPool(payload_of(definition), ["score", "cost"], 2, num_gpus=1)
    with pytest.raises(UsageError, match=r"search.num_cpus: 3 workers x 1 CPU need 3; .* has 2"):
        RayPool(payload_of(definition), ["score", "cost"], 3)


def test_a_run_on_ray_survives_and_journals_the_attempts(cli, trouble, tmp_path):
    result = cli(
        "run", "--space", trouble.path, "--out", tmp_path / "r", "--executor", "ray",
        "--workers", 2, "--evaluation-timeout", 3, "--budget", 10, "--batch", 5, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame, attempts, evaluations = run_journal(tmp_path / "r")
    assert (frame["status"] == "ok").sum() == 10
    assert attempts and all(a["id"] in evaluations and a["error"] for a in attempts)
