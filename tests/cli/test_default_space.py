"""The built-in default end to end, as a new user runs it: ``nas-search run`` trains the
default super-network (first use), searches it, and a second run reuses the cached weights."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

BIN = Path(sys.executable).parent / "nas-search"


def nas_search(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN), *args], cwd=cwd, capture_output=True, text=True, timeout=900, env=os.environ
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done, time.perf_counter() - start


@pytest.mark.slow
def test_the_default_trains_searches_and_reuses_its_supernet(tmp_path):
    first, first_seconds = nas_search("run", cwd=tmp_path)  # the README's command
    assert "Training the vit super-network (first use" in first.stderr
    assert "Pareto front" in first.stdout and "hypervolume" in first.stdout
    (run,) = (tmp_path / "results").iterdir()
    assert run.name.startswith("vit-")
    results = pd.read_csv(run / "results.csv")
    assert len(results) == 100 and (results["status"] == "ok").all()
    front = pd.read_csv(run / "pareto.csv").sort_values("latency_ms")
    # a real trade-off: faster sub-networks are less accurate, and the front spans it
    assert len(front) >= 3
    assert front["accuracy"].is_monotonic_increasing
    assert front["accuracy"].max() >= 95 and front["accuracy"].max() - front["accuracy"].min() >= 3
    assert front["latency_ms"].max() >= 1.5 * front["latency_ms"].min()

    second, second_seconds = nas_search("run", "--out", "second", "--budget", "10", cwd=tmp_path)
    assert "Training" not in second.stderr
    assert second_seconds < first_seconds / 3
