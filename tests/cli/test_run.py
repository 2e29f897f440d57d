from __future__ import annotations

import json

import pandas as pd
import yaml

from nas_search import __version__


def test_version_and_help(cli):
    assert cli("--version").stdout.strip() == f"nas-search {__version__}"
    assert "run" in cli("--help").stdout


def test_run_writes_the_run_directory(cli, nb201_run):
    names = {p.name for p in nb201_run.iterdir()}
    assert {
        "run.yaml",
        "space.yaml",
        "journal.jsonl",
        "results.csv",
        "pareto.csv",
        "pareto.md",
    } <= names
    info = yaml.safe_load((nb201_run / "run.yaml").read_text())
    assert info["seed"] == 0 and info["space"]["search"]["budget"] == 40
    assert {"python", "numpy", "pandas", "pymoo"} <= set(info["versions"])
    assert info["machine"]["cpus"] >= 1
    assert len((nb201_run / "results.csv").read_text().splitlines()) == 41


def test_resume_takes_only_a_budget_and_more_to_measure(cli, nb201_run):
    result = cli("run", "--resume", nb201_run, "--seed", 5, "--tactic", "random")
    assert result.exit_code == 2
    assert result.stderr == (
        "nas-search: error: --resume: continues a run with its own settings (only --budget "
        "and --enqueue may change); drop --tactic, --seed\n"
    )
    assert cli("run", "--resume", nb201_run, "-q").exit_code == 0
    assert cli("run", "--resume", nb201_run, "--budget", 45, "-q").exit_code == 0
    assert len(pd.read_csv(nb201_run / "results.csv")) == 45


def test_out_refuses_an_existing_run(cli, nb201_run):
    result = cli("run", "--space", "nb201", "--out", nb201_run)
    assert result.exit_code == 2 and "already holds a run" in result.stderr


def test_bad_inputs_are_one_line_without_traceback(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "parameters: {x: {type: ordinal, choices: [1, -2, y]}}\nobjectives: []\n"
        "evaluator: {type: table, path: t.csv}\n"
    )
    cases = [
        (("run", "--space", bad), "bad.yaml: parameters.x.choices[2]: must be a number, got 'y'"),
        (("run", "--budget", "-5"), "--budget: must be greater than or equal to 1, got -5"),
        (
            ("run", "--tactic", "genius"),
            "--tactic: 'genius' is not one of 'linas', 'evolutionary', 'random'",
        ),
        (("run", "--space", "nothing-here"), "nothing-here: no such file, nor a shipped space"),
        (("run", "--resume", tmp_path), "not a nas-search run directory"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.output


def test_debug_shows_the_traceback(cli):
    result = cli("--debug", "run", "--space", "nothing-here")
    assert result.exit_code != 0 and result.exception is not None
    assert type(result.exception).__name__ == "SpaceError"


def test_spaces_lists_exact_counts(cli):
    result = cli("spaces")
    assert result.exit_code == 0
    assert "nb201" in result.stdout and "15625" in result.stdout and "table" in result.stdout
    cnn = next(line for line in result.stdout.splitlines() if "│ cnn " in line)
    assert str(3 * (9**2 + 9**3 + 9**4) ** 3) in cnn  # resolution x three stages of 2-4 blocks


def test_schema_is_json(cli, tmp_path):
    import json

    result = cli("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "nas-search space file" and "evaluator" in schema["properties"]
    assert cli("schema", "--out", tmp_path / "s.json").exit_code == 0
    assert json.loads((tmp_path / "s.json").read_text()) == schema


def test_linas_run_saves_predictors_and_predicted_front(cli, nb201_run):
    from predictors import load

    model = load(nb201_run / "predictors" / "test_acc")
    assert model.choice_ in ("ridge", "gp", "extra_trees", "xgboost")
    for path in (nb201_run, nb201_run / "predictors"):  # what the README says works
        models = load(path)
        assert sorted(models) == ["lat_pixel3_ms", "test_acc"]
        assert models["test_acc"].choice_ == model.choice_
    assert (nb201_run / "predicted_pareto.csv").read_text().startswith("op0,op1")


BROKEN = """
def helper(config):
    raise ValueError("boom in " + str(config["depth"]))

def evaluate(config):
    return helper(config)
"""


def test_a_failing_evaluator_keeps_its_traceback_and_the_advice_fits(cli, write_space, tmp_path):
    """Issue 13: the user's traceback is journaled and shown by --debug; when the space file
    changed since the run started, the advice says resume would not use it."""
    from tests.conftest import TOY

    (tmp_path / "broken.py").write_text(BROKEN)
    space = write_space(
        TOY.replace("spacelib.py:evaluate", "broken.py:evaluate").replace(
            "seed: 3}", "seed: 3, max_failures: 2, retries: 0}"
        )
    )
    result = cli("run", "--space", space, "--out", tmp_path / "r", "-q")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert "2 evaluations in a row failed; the last: ValueError: boom in" in result.stderr
    assert f"Fix the evaluator, then: nas-search run --resume {tmp_path / 'r'}" in result.stderr
    assert "--debug shows the evaluator's traceback" in result.stderr
    records = [json.loads(line) for line in (tmp_path / "r" / "journal.jsonl").open()]
    failed = [r for r in records if r["type"] == "evaluation"]
    assert all("in helper" in r["traceback"] and "ValueError" in r["traceback"] for r in failed)
    assert "error" in pd.read_csv(tmp_path / "r" / "results.csv")  # results.csv unchanged
    assert "traceback" not in pd.read_csv(tmp_path / "r" / "results.csv")

    space.write_text(space.read_text().replace("max_failures: 2", "max_failures: 3"))
    result = cli("--debug", "run", "--resume", tmp_path / "r", "-q")
    assert "The evaluator's traceback:" in result.stderr and "in helper" in result.stderr
    result = cli("run", "--resume", tmp_path / "r", "-q")
    assert f"{space} differs from the copy this run uses" in result.stderr
    assert f"start afresh (nas-search run --space {space})" in result.stderr
