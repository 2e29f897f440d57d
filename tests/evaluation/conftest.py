"""The evaluator that misbehaves on purpose, shared by the executor tests (local and Ray)."""

from __future__ import annotations

import pytest

from nas_search.config import load_space_file
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
