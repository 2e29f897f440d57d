"""Issue 12, as a hostile user tries it from the command line: every bad input is one line
naming the file, field and value (or flag), a non-zero exit and no traceback; nothing is
measured first; evaluators that exit, crash or return non-numbers fail their candidate only."""

from __future__ import annotations

import errno
import json
import time

import pandas as pd
import pytest

from nas_search.results import journal as journal_module
from nas_search.results.journal import JOURNAL, read_journal
from tests.conftest import TOY


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("nas-search: error: ")
    return result.stderr


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--predictor", "bogus"], "--predictor: must be one of auto, ensemble"),
        (["--tactic", "x"], "--tactic: 'x' is not one of 'linas'"),
        (["--algorithm", "x"], "--algorithm: 'x' is not one of 'nsga2'"),
        (["--executor", "x"], "--executor: 'x' is not one of 'local', 'ray'"),
        (["--budget", "abc"], "--budget: must be a valid integer"),
        (["--evaluation-timeout", "inf"], "--evaluation-timeout: must be a finite number"),
        (["--initial", "1", "--budget", "3", "--batch", "1"], "initial: LINAS fits its pre"),
        (["--budget", str(10**30)], "--budget"),
    ],
)
def test_flags_are_checked_before_anything_is_measured(cli, write_space, tmp_path, flags, message):
    """Issue 12.10: no evaluation is spent and no run directory is made."""
    space = write_space(TOY.replace("tactic: random", "tactic: linas"))
    error = one_line_error(cli("run", "--space", space, "--out", tmp_path / "r", *flags))
    assert message in error
    assert not (tmp_path / "r").exists()


def test_help_lists_the_choices(cli):
    text = cli("run", "--help").output
    for choice in ("linas|evolutionary|random", "xgboost", "ray", "moead", "process"):
        assert choice in text


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("seed: 3}", "seed: 3, predictor: bogus}", "search.predictor: must be"),
        ("high: 3}", "high: 1000000000000000000000000000000}", "parameters.depth.high: must be"),
        (
            '"embed % heads[i] == 0"',
            "\"embed < 'x'\"",
            "constraints[0]: \"embed < 'x'\": cannot be evaluated: values of types",
        ),
        ('"embed % heads[i] == 0"', '"depth < 1/0"', "constraints[0]: 'depth < 1/0': cannot be"),
        ('"embed % heads[i] == 0"', '"depth < 9**9**9"', "too costly to evaluate"),
        ('"embed % heads[i] == 0"', "\"'a' * 10000000000 != depth\"", "too costly"),
        ('"embed % heads[i] == 0"', '"' + "-" * 3000 + 'depth < 1"', "nested too deeply"),
        ('"embed % heads[i] == 0"', '"' + "+".join(["depth"] * 100_000) + '> 1"', "too long"),
        ("name: toy", "name: toy\nname: again", "line 3, column 1: invalid YAML (key 'name' is"),
    ],
)
def test_space_files_fail_when_loaded(cli, write_space, tmp_path, old, new, message):
    """Issues 12.11 to 12.14: one line, in seconds, nothing spent."""
    assert old in TOY
    space = write_space(TOY.replace(old, new))
    start = time.perf_counter()
    error = one_line_error(cli("run", "--space", space, "--out", tmp_path / "r"))
    assert message in error and error.startswith("nas-search: error: ")
    assert time.perf_counter() - start < 5 and not (tmp_path / "r").exists()


def test_an_alias_bomb_is_refused_at_once(cli, write_space, tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[k]
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    space = write_space("\n".join(lines) + "\n" + TOY)
    start = time.perf_counter()
    error = one_line_error(cli("run", "--space", space))
    assert "aliases expand to more than" in error and time.perf_counter() - start < 5


def test_where_expressions_that_would_hang_or_crash(cli, nb201_run):
    """Issue 12.11/12.12: ``--where`` is bounded like constraints."""
    for where in ("10**10**8 > test_acc", "1/0 > 0", "-" * 3000 + "test_acc > 0"):
        start = time.perf_counter()
        error = one_line_error(cli("pareto", nb201_run, "--where", where))
        assert "--where: " in error and time.perf_counter() - start < 5


def test_output_paths_that_cannot_be_written(cli, nb201_run, tmp_path):
    error = one_line_error(cli("pareto", nb201_run, "-o", tmp_path / "missing/dir/x.csv"), 1)
    assert "missing/dir/x.csv: No such file or directory" in error
    (tmp_path / "afile").write_text("x")
    error = one_line_error(cli("run", "--space", "nb201", "--out", tmp_path / "afile"))
    assert "afile is a file, not a directory" in error


def test_results_tables_with_inf_ragged_rows_or_binary_content(cli, tmp_path):
    """Issue 12.13/12.14: pareto refuses what it would misreport."""
    (tmp_path / "inf.csv").write_text("acc,lat\n90,1\ninf,2\n")
    (tmp_path / "ragged.csv").write_text("acc,lat\n90,1\n91\n")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "good.csv").write_text("acc,lat\n90,1\n91,2\n")
    objectives = ["--objectives", "acc:max,lat:min"]
    assert "inf.csv: line 3: acc: must be a finite number, got inf" in one_line_error(
        cli("pareto", tmp_path / "inf.csv", *objectives)
    )
    assert "ragged.csv: line 3: 1 fields where the header has 2" in one_line_error(
        cli("pareto", tmp_path / "ragged.csv", *objectives)
    )
    assert "binary.csv: not a CSV text file" in one_line_error(
        cli("pareto", tmp_path / "binary.csv", *objectives)
    )
    assert "--ref: must be comma-separated finite numbers" in one_line_error(
        cli("pareto", tmp_path / "good.csv", *objectives, "--ref", "inf,1")
    )


def test_a_table_path_error_never_shows_the_files_content(cli, write_space, tmp_path):
    """Issue 12.4: a table path outside the project names the file, not its first line."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the-password-is-swordfish\n")
    space = write_space(
        TOY.split("evaluator:")[0].replace('  - "params_k <= 50"\n', "")
        + "evaluator:\n  type: table\n  path: ../"
        + tmp_path.name
        + "/secret.txt\n"
    )
    for path in (secret, tmp_path / "binary"):
        (tmp_path / "binary").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00swordfish")
        text = space.read_text().replace("secret.txt", path.name)
        space.write_text(text)
        error = one_line_error(cli("run", "--space", space))
        assert "swordfish" not in error and path.name in error


def test_a_corrupt_run_file_is_one_line(cli, nb201_run):
    (nb201_run / "run.yaml").write_text("space: [unclosed\n  nested: {\n")
    error = one_line_error(cli("run", "--resume", nb201_run))
    assert "run.yaml: line" in error and "invalid YAML" in error


MISBEHAVING = """
import ctypes, os, sys

def evaluate(config):
    kind = config["act"]
    if kind == "exit":
        sys.exit(3)
    if kind == "hardexit":
        os._exit(0)
    if kind == "segfault":
        ctypes.string_at(0)
    if kind == "bool":
        return {"score": True, "cost": 1.0}
    if kind == "text":
        return {"score": "12.5", "cost": 1.0}
    return {"score": float(config["embed"]), "cost": float(len(config["heads"]))}
"""


def test_the_default_survives_evaluators_that_exit_crash_or_return_non_numbers(
    cli, write_space, tmp_path
):
    """Issue 12.6/12.13: in the default mode (no workers asked for) each of these fails its
    candidate with the reason, and the run goes on to its budget."""
    (tmp_path / "bad.py").write_text(MISBEHAVING)
    kinds = ["relu", "exit", "hardexit", "segfault", "bool", "text"]
    text = (
        TOY.replace("spacelib.py:evaluate", "bad.py:evaluate")
        .replace("choices: [relu, gelu]", f"choices: {json.dumps(kinds)}")
        .replace("  exact: [params_k]\n  exact_function: spacelib.py:exact\n", "")
        .replace('  - "params_k <= 50"\n', "")
        .replace("budget: 12, batch: 4", "budget: 20, batch: 10, max_failures: 200, retries: 0")
    )
    result = cli("run", "--space", write_space(text), "--out", tmp_path / "r", "-q")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "r" / "results.csv")
    assert (frame["status"] == "ok").sum() == 20
    errors = dict(zip(frame["act"], frame["error"].fillna(""), strict=True))
    expected = {
        "exit": "the evaluator called sys.exit(3)",
        "hardexit": "worker process died (exit code 0)",
        "segfault": "worker process died (killed by SIGSEGV)",
        "bool": "metric 'score' must be a real number, got bool True",
        "text": "metric 'score' must be a real number, got str '12.5'",
    }
    for kind, reason in expected.items():
        assert reason in errors[kind], (kind, errors[kind])
    assert set(frame.loc[frame["status"] == "ok", "act"]) == {"relu"}


def test_an_evaluator_module_that_exits_at_import(cli, write_space, tmp_path):
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(7)\n")
    space = write_space(TOY.replace("spacelib.py:evaluate", "quits.py:evaluate"))
    for isolation in ("none", "process"):
        error = one_line_error(cli("run", "--space", space, "--isolation", isolation))
        assert "evaluator.function: importing" in error and "sys.exit(7)" in error


def test_an_exact_function_that_raises_stops_the_run_with_its_reason(cli, write_space, tmp_path):
    (tmp_path / "spacelib.py").write_text("")
    space = write_space(TOY)
    (tmp_path / "spacelib.py").write_text(
        "def exact(config):\n    raise ValueError('boom')\n"
        "def evaluate(config):\n    return {'score': 1.0, 'cost': 1.0, 'params_k': 1.0}\n"
    )
    error = one_line_error(cli("run", "--space", space, "--out", tmp_path / "r", "-q"), 1)
    assert "exact metrics" in error and "ValueError: boom" in error


def test_a_full_disk_is_one_line_and_the_run_resumes(cli, write_space, tmp_path, monkeypatch):
    """Issue 12.11: the journal stays consistent, no stray .tmp file, and resume finishes."""
    space = write_space()
    original = journal_module.Journal.append
    calls = {"n": 0}

    def append(self, record):
        calls["n"] += 1
        if calls["n"] == 6:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return original(self, record)

    monkeypatch.setattr(journal_module.Journal, "append", append)
    error = one_line_error(cli("run", "--space", space, "--out", tmp_path / "r", "-q"), 1)
    assert "journal.jsonl: No space left on device" in error
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(journal_module.Journal, "append", original)
    result = cli("run", "--resume", tmp_path / "r", "-q")
    assert result.exit_code == 0, result.output
    records, _ = read_journal(tmp_path / "r" / JOURNAL)
    evaluations = [r for r in records if r["type"] == "evaluation"]
    assert len(evaluations) == 12 and len({r["id"] for r in evaluations}) == 12


def test_a_scikit_learn_predictor_by_name(cli, tmp_path):
    """Issue 13: ``predictor: sklearn:module.Class``; a name that imports nothing is refused
    before anything is measured."""
    result = cli("run", "--space", "nb201", "--out", tmp_path / "r", "--budget", 14, "-q",
                 "--predictor", "sklearn:sklearn.neighbors.KNeighborsRegressor")  # fmt: skip
    assert result.exit_code == 0, result.output
    error = one_line_error(
        cli("run", "--space", "nb201", "--out", tmp_path / "x", "--predictor", "sklearn:os.path")
    )
    assert "--predictor: names no regressor class" in error and not (tmp_path / "x").exists()
