from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from nas_search.cli import app


@pytest.fixture(scope="session")
def _nb201_template(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("nb201-template") / "nb"
    args = ["run", "--space", "nb201", "--out", str(out), "--budget", "40", "-q"]
    result = CliRunner().invoke(app, args, catch_exceptions=True)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def nb201_run(_nb201_template, tmp_path):
    """A 40-evaluation LINAS run of nb201 in the test's own folder: a copy of one made once a
    session (a table's run is deterministic, so the copy is what a run here would write)."""
    out = tmp_path / "nb"
    shutil.copytree(_nb201_template, out)
    return out
