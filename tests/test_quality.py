"""Static checks run with the tests: ruff, mypy, the import-layer contract, a light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [sys.executable, "-m", "mypy"],
        [str(BIN / "lint-imports")],
    ],
    ids=["ruff", "ruff-format", "mypy", "import-layers"],
)
def test_static_check(command):
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_import_stays_light():
    code = (
        "import sys, nas_search, nas_search.space, nas_search.encoding, nas_search.config;"
        "heavy = {'pandas', 'torch', 'xgboost', 'sklearn', 'pymoo', 'matplotlib', 'typer',"
        " 'transformers', 'safetensors', 'onnx', 'onnxruntime'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_building_an_evaluator_stays_light():
    """Building the evaluators (what validate and a run's start do) loads no model library."""
    code = (
        "import sys, nas_search.evaluation;"
        "heavy = {'torch', 'transformers', 'safetensors', 'onnx', 'onnxruntime', 'xgboost'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
