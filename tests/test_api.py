"""The Python API (issue 13): ``run`` is the CLI's run, ask/tell is journaled like a run and
survives a kill between ask and tell, budgets grow, configurations can be enqueued."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import nas_search
from nas_search.errors import EvaluatorError, SpaceError, UsageError
from nas_search.results.tables import WALL_CLOCK

SPACE = {
    "name": "mine",
    "parameters": {
        "width": {"type": "ordinal", "choices": [16, 32, 64, 128]},
        "depth": {"type": "integer", "low": 1, "high": 8},
        "act": {"type": "categorical", "choices": ["relu", "gelu"]},
    },
    "objectives": [
        {"name": "accuracy", "direction": "maximize"},
        {"name": "latency_ms", "direction": "minimize"},
    ],
    "search": {"budget": 20, "batch": 5, "initial": 10, "seed": 0, "tactic": "random"},
}


def measure(config):
    size = config["width"] * config["depth"]
    bonus = 0.5 if config["act"] == "gelu" else 0.0
    return {"accuracy": 100 - 50 / size**0.5 + bonus, "latency_ms": 0.01 * size}


def _stable(run_dir):
    frame = pd.read_csv(run_dir / "results.csv")
    return frame.drop(columns=[c for c in WALL_CLOCK if c in frame.columns])


def test_run_from_python_equals_the_cli(cli, tmp_path):
    result = nas_search.run("nb201", out=tmp_path / "py", budget=30, workers=2, seed=4)
    done = cli("run", "--space", "nb201", "--out", tmp_path / "cli", "--budget", 30,
               "--workers", 2, "--seed", 4, "-q")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert _stable(tmp_path / "py").equals(_stable(tmp_path / "cli"))
    assert len(result.results) == 30 and set(result.front["id"]) <= set(result.results["id"])
    assert result.hypervolume > 0 and result.run_dir == tmp_path / "py"
    grown = nas_search.resume(tmp_path / "py", budget=40)
    assert len(grown.results) == 40


def test_ask_tell_needs_no_evaluator_and_equals_optimize(tmp_path):
    search = nas_search.Search(SPACE, out=tmp_path / "a", tactic="linas")
    trials = search.ask()
    assert len(trials) == 10 and search.ask() == []  # the design: results needed first
    for trial in trials:
        search.tell(trial, measure(trial.config))
    assert all(t.predicted and t.uncertainty for t in search.ask())  # LINAS predicts now
    search.close()
    search = nas_search.Search(SPACE, out=tmp_path / "a2")
    while not search.done:
        for trial in search.ask():
            search.tell(trial, measure(trial.config))
    search.close()
    other = nas_search.Search(SPACE, out=tmp_path / "b")
    other.optimize(measure)
    other.close()
    assert _stable(tmp_path / "a2").equals(_stable(tmp_path / "b"))
    assert len(_stable(tmp_path / "a2")) == 20
    with pytest.raises(EvaluatorError, match="evaluator: is required to measure"):
        nas_search.run(SPACE, out=tmp_path / "c")


KILLER = """
import json, os, sys
sys.path.insert(0, {tests!r})
import nas_search
from tests.test_api import SPACE, measure

search = nas_search.Search(SPACE, out={out!r})
for trial in search.ask()[:3]:
    search.tell(trial, measure(trial.config))
asked = search.ask() + search.pending
print(json.dumps(sorted({{t.id for t in asked}})), flush=True)
os.kill(os.getpid(), 9)  # between ask and tell
"""


def test_a_kill_between_ask_and_tell_loses_nothing(tmp_path):
    root = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    script = KILLER.format(tests=root, out=str(tmp_path / "killed"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    asked = json.loads(done.stdout)
    search = nas_search.Search.resume(tmp_path / "killed")
    assert sorted(t.id for t in search.pending) == asked  # handed out again
    for trial in search.pending:
        search.tell(trial, measure(trial.config))
    search.optimize(measure)
    search.close()
    reference = nas_search.Search(SPACE, out=tmp_path / "reference")
    reference.optimize(measure)
    reference.close()
    assert _stable(tmp_path / "killed").equals(_stable(tmp_path / "reference"))


def test_tell_checks_what_it_is_told(tmp_path):
    search = nas_search.Search(SPACE, out=tmp_path / "s")
    trial = search.ask()[0]
    with pytest.raises(UsageError, match="give the metrics measured, or failed="):
        search.tell(trial)
    with pytest.raises(UsageError, match="metric 'accuracy' must be a real number, got str"):
        search.tell(trial, {"accuracy": "high", "latency_ms": 1.0})
    with pytest.raises(UsageError, match="metric 'latency_ms' missing"):
        search.tell(trial, {"accuracy": 1.0})
    with pytest.raises(UsageError, match="trial 999 is not pending"):
        search.tell(999, {"accuracy": 1.0, "latency_ms": 1.0})
    search.tell(trial, failed="the board was unplugged")
    with pytest.raises(UsageError, match=f"trial {trial.id} is not pending"):
        search.tell(trial, failed="twice")
    search.close()
    records = [json.loads(line) for line in (tmp_path / "s" / "journal.jsonl").open()]
    evaluations = [r for r in records if r["type"] == "evaluation"]
    assert [(r["id"], r["status"], r["error"]) for r in evaluations] == [
        (trial.id, "failed", "the board was unplugged")
    ]


def test_extend_grows_a_finished_search(tmp_path):
    search = nas_search.Search(SPACE, out=tmp_path / "s", budget=10)
    search.optimize(measure)
    assert search.done and search.ask() == []
    search.extend(5)
    assert not search.done
    result = search.optimize(measure)
    search.close()
    assert (result.results["status"] == "ok").sum() == 15
    again = nas_search.Search.resume(tmp_path / "s")  # the larger budget is the run's now
    assert again.done
    again.close()


def test_enqueued_configs_are_measured_first_and_counted(cli, tmp_path):
    first = [
        {"op0": "nor_conv_3x3", "op1": "skip_connect", "op2": "none", "op3": "avg_pool_3x3",
         "op4": "nor_conv_1x1", "op5": "nor_conv_3x3"},
        {"op0": "none", "op1": "none", "op2": "none", "op3": "none", "op4": "none",
         "op5": "skip_connect"},
    ]  # fmt: skip
    (tmp_path / "first.json").write_text(json.dumps(first))
    done = cli("run", "--space", "nb201", "--out", tmp_path / "r", "--budget", 12,
               "--enqueue", tmp_path / "first.json", "-q")  # fmt: skip
    assert done.exit_code == 0, done.output
    frame = pd.read_csv(tmp_path / "r" / "results.csv")
    assert len(frame) == 12
    ops = [f"op{k}" for k in range(6)]
    assert frame.loc[:1, ops].to_dict("records") == first
    # a resumed run takes more configs and a larger budget
    more = [{**first[1], "op5": "nor_conv_3x3"}]
    (tmp_path / "more.json").write_text(json.dumps(more))
    done = cli("run", "--resume", tmp_path / "r", "--budget", 14,
               "--enqueue", tmp_path / "more.json", "-q")  # fmt: skip
    assert done.exit_code == 0, done.output
    frame = pd.read_csv(tmp_path / "r" / "results.csv")
    assert len(frame) == 14 and frame.loc[12, ops].to_dict() == more[0]
    bad = [{**first[0], "op0": "conv_9x9"}]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    done = cli(
        "run", "--space", "nb201", "--out", tmp_path / "b", "--enqueue", tmp_path / "bad.json"
    )
    assert done.exit_code == 2 and "--enqueue[0]: op0: must be one of" in done.stderr
    assert not (tmp_path / "b").exists()


def test_load_space_takes_a_dict_a_name_or_a_path(write_space):
    assert nas_search.load_space(SPACE).name == "mine"
    assert nas_search.load_space("nb201").name == "nb201"
    assert nas_search.load_space(write_space()).name == "toy"
    with pytest.raises(SpaceError, match=r"<dict>: parameters: is required"):
        nas_search.load_space({"objectives": []})


def test_a_regressor_object_as_the_predictor(cli, tmp_path):
    """Issue 13: any scikit-learn regressor plugs in, as an object through the API."""
    from sklearn.neighbors import KNeighborsRegressor

    model = KNeighborsRegressor(n_neighbors=3)
    result = nas_search.run("nb201", out=tmp_path / "r", budget=14, seed=1, predictor=model)
    assert len(result.results) == 14
    records = [json.loads(line) for line in (tmp_path / "r" / "journal.jsonl").open()]
    infos = [r["info"] for r in records if r.get("type") == "batch" and "info" in r]
    assert infos and all(
        entry["model"] == "KNeighborsRegressor" for info in infos
        for entry in info["predictors"].values()
    )  # fmt: skip
    done = cli("run", "--resume", tmp_path / "r", "--budget", 16)
    assert done.exit_code == 2 and "is an estimator object given through the Python API" in (
        done.stderr
    )
    assert len(nas_search.resume(tmp_path / "r", budget=16, predictor=model).results) == 16
