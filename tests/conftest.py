from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

# The suite runs one worker per core (pytest -n auto): each worker, and every process it
# starts, computes on one thread, so that the workers do not contend for the cores. Set before
# numpy and torch are imported (they read it once); the processes a test starts inherit it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from nas_search.cli import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_TABLE = ROOT.parent / "shared" / "benchmarks" / "nb201_cifar10.csv.gz"
SHIPPED_TABLE = ROOT / "search_spaces" / "nb201_cifar10.csv.gz"

# A small space with every parameter kind, a per-layer list and constraints; its evaluator is
# a cheap analytic function (tests/spacelib.py) with exact metrics.
TOY = """
name: toy
parameters:
  depth: {type: integer, low: 1, high: 3}
  embed: {type: ordinal, choices: [16, 24, 32]}
  act: {type: categorical, choices: [relu, gelu]}
  heads: {type: ordinal, choices: [1, 2, 4], per_layer: depth}
  patch: {type: fixed, value: 4}
constraints:
  - "embed % heads[i] == 0"
  - "params_k <= 50"
objectives:
  - {name: score, direction: maximize}
  - {name: cost, direction: minimize}
evaluator:
  type: python
  function: spacelib.py:evaluate
  exact: [params_k]
  exact_function: spacelib.py:exact
search: {tactic: random, budget: 12, batch: 4, seed: 3}
"""

SPACELIB = """
import math, os, time

def exact(config):
    return {"params_k": config["embed"] * sum(config["heads"]) / 4.0}

def evaluate(config):
    delay = float(os.environ.get("TOY_DELAY", "0"))
    if delay:
        time.sleep(delay)
    if config.get("act") == "fail":
        raise RuntimeError("boom")
    heads = config["heads"]
    score = math.log(config["embed"]) + 0.3 * len(heads) + 0.1 * sum(heads)
    score += 0.05 if config["act"] == "gelu" else 0
    cost = config["embed"] * len(heads) * (1 + 0.2 * max(heads))
    return {"score": score, "cost": cost, **exact(config)}
"""


# A tiny elastic ViT (40 sub-networks) on digits: trains in a few seconds.
TINY_VIT = """
name: tinyvit
parameters:
  embed_dim: {type: ordinal, choices: [8, 16]}
  depth: {type: integer, low: 1, high: 2}
  num_heads: {type: ordinal, choices: [1, 2], per_layer: depth}
  mlp_ratio: {type: ordinal, choices: [1, 2], per_layer: depth}
objectives:
  - {name: accuracy, direction: maximize}
  - {name: latency_ms, direction: minimize}
evaluator:
  type: vit
  supernet: {image_size: 8, patch_size: 4, channels: 1, classes: 10, head_dim: 4,
             embed_dim: 16, depth: 2, num_heads: 2, mlp_ratio: 2}
  data: {source: digits}
  train: {epochs: 3}
  latency: {batch_size: 4, max_seconds: 0.05, min_sample_ms: 0.5}
  exact: [params_m, macs_m, size_mb]
search: {budget: 8, initial: 4, batch: 2, seed: 0}
"""

TINY_CNN = """
name: tinycnn
parameters:
  depth_1: {type: ordinal, choices: [1, 2]}
  kernel_size_1: {type: ordinal, choices: [3, 5], per_layer: depth_1}
  expand_ratio_1: {type: ordinal, choices: [2, 3], per_layer: depth_1}
  depth_2: {type: ordinal, choices: [1, 2]}
  kernel_size_2: {type: ordinal, choices: [3, 5]}
  resolution: {type: ordinal, choices: [6, 8]}
objectives:
  - {name: accuracy, direction: maximize}
  - {name: latency_ms, direction: minimize}
evaluator:
  type: cnn
  supernet:
    image_size: 8
    channels: 1
    classes: 10
    stem_channels: 4
    stages:
      - {width: 4, depth: 2}
      - {width: 8, depth: 2, stride: 2, se: true, activation: hswish}
    kernel_size: 5
    expand_ratio: 3
    head: 16
  data: {source: digits}
  train: {epochs: 2}
  calibration: {batches: 2, batch_size: 32}
  latency: {batch_size: 4, max_seconds: 0.05, min_sample_ms: 0.5}
  exact: [params_m, macs_m, size_mb]
search: {budget: 8, initial: 4, batch: 2, seed: 0}
"""


@pytest.fixture
def write_space(tmp_path: Path) -> Callable[..., Path]:
    """Write a space file (and the toy evaluator beside it) into a temporary folder."""

    def write(text: str = TOY, name: str = "space.yaml") -> Path:
        (tmp_path / "spacelib.py").write_text(SPACELIB)
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=True)

    return invoke


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default run directories (results/...) and the super-network cache land in the test's
    temporary folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NAS_SEARCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def nb201_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two short LINAS runs of nb201 (seeds 0 and 1, budget 30), made once per session."""
    from nas_search.catalog import load_space
    from nas_search.config import override_settings
    from nas_search.evaluation import build_evaluator
    from nas_search.results.rundir import create_run
    from nas_search.search import run_search

    root = tmp_path_factory.mktemp("nb201-runs")
    runs = []
    for name, seed in (("a", 0), ("b", 1)):
        definition = load_space("nb201")
        settings = override_settings(definition.settings, {"budget": 30, "seed": seed})
        definition = definition.with_settings(settings)
        run_dir = create_run(definition, root / name)
        run_search(definition, build_evaluator(definition), run_dir)
        runs.append(run_dir)
    return runs
