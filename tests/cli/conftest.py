from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nas_search.cli import app


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=True)

    return invoke


@pytest.fixture
def nb201_run(cli, tmp_path):
    out = tmp_path / "nb"
    result = cli("run", "--space", "nb201", "--out", out, "--budget", 40, "-q")
    assert result.exit_code == 0, result.output
    return out
