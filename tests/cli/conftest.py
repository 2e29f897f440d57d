from __future__ import annotations

import pytest


@pytest.fixture
def nb201_run(cli, tmp_path):
    out = tmp_path / "nb"
    result = cli("run", "--space", "nb201", "--out", out, "--budget", 40, "-q")
    assert result.exit_code == 0, result.output
    return out
