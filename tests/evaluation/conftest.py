"""What the executor tests share (local and Ray): the evaluator that misbehaves on purpose,
and running tasks on a pool or reading the journal of a run."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from nas_search.config import load_space_file
from nas_search.evaluation import build_evaluator
from nas_search.evaluation.executor import InProcess
from nas_search.results.journal import JOURNAL, read_journal
from tests.conftest import TOY

# an evaluator that misbehaves on purpose, once per marker file, for the configs named below
TROUBLE = """
import os, signal, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from spacelib import evaluate as toy

def evaluate(config):
    marker = Path(__file__).parent / "markers" / f"{config['embed']}-{config['depth']}"
    first = not marker.exists()
    marker.touch()
    if config["embed"] == 16 and config["depth"] == 1 and first:
        os.kill(os.getpid(), signal.SIGKILL)        # the worker dies mid-evaluation, once
    if config["embed"] == 24 and config["depth"] == 1:
        time.sleep(60)                               # hangs, every time
    if config["embed"] == 32 and config["depth"] == 1:
        raise RuntimeError("always broken")
    return toy(config)
"""

CONFIGS = [
    {"depth": 1, "embed": 16, "act": "relu", "heads": [1]},  # killed once
    {"depth": 1, "embed": 24, "act": "relu", "heads": [2]},  # hangs
    {"depth": 1, "embed": 32, "act": "gelu", "heads": [4]},  # raises
    {"depth": 2, "embed": 16, "act": "gelu", "heads": [1, 2]},
    {"depth": 3, "embed": 24, "act": "relu", "heads": [1, 2, 4]},
]


@pytest.fixture
def trouble(write_space, tmp_path):
    space = write_space(TOY.replace("spacelib.py:evaluate", "trouble.py:evaluate"))
    (tmp_path / "trouble.py").write_text(TROUBLE)
    (tmp_path / "markers").mkdir()
    return load_space_file(space)


# well-behaved configs, for comparing a pool's measurements with the process's own
PLAIN_TASKS = list(enumerate(CONFIGS[3:] + [{**CONFIGS[0], "act": "gelu"}]))


def in_process(definition, tasks):
    """Measurements of ``tasks`` in this process, by id."""
    return dict(InProcess(build_evaluator(definition), ["score", "cost"]).run(tasks))


def drain(pool, tasks):
    """Every final measurement of ``tasks`` on ``pool`` (closed after), by id, and the failed
    attempts that were retried, as (id, measurement) in order."""
    retried = []
    try:
        done = dict(pool.run(tasks, lambda i, m, a: retried.append((i, m))))
    finally:
        pool.close()
    return done, retried


def run_journal(run_dir):
    """A finished run's results table, its retried attempts and its evaluations by id."""
    records, _ = read_journal(run_dir / JOURNAL)
    attempts = [r for r in records if r["type"] == "attempt"]
    evaluations = {r["id"]: r for r in records if r["type"] == "evaluation"}
    return pd.read_csv(run_dir / "results.csv"), attempts, evaluations


@pytest.fixture(scope="session")
def local_ray():
    """A local Ray instance for the tests that ask for it, shut down at the end."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
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
