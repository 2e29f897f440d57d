"""The README's commands run as written (docs cannot drift from the code)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_usage_block_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Using it\n\n```console\n(.*?)```", text, re.S)
    assert block, "README lost its usage block"
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert all(c.startswith("nas-search ") for c in commands)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert (tmp_path / "front.png").exists() and (tmp_path / "space.schema.json").exists()


def test_readme_names_the_ci_test_command():
    text = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "bash .ci/setup && .venv/bin/python -m pytest -q"
    assert command in text and command in ci


def test_python_api_blocks_run(tmp_path, monkeypatch):
    """The README's "Python API" section runs as written, block after block."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "runs" / "api" / "results.csv").exists()
    assert (tmp_path / "runs" / "asktell" / "results.csv").exists()
