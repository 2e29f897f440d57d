from __future__ import annotations

import json

from nas_search.candidate import Candidate
from nas_search.catalog import load_space
from nas_search.config import load_space_file
from tests.conftest import TOY

GOOD = {
    "op0": "nor_conv_3x3",
    "op1": "skip_connect",
    "op2": "none",
    "op3": "avg_pool_3x3",
    "op4": "nor_conv_1x1",
    "op5": "nor_conv_3x3",
}


def _write(path, **data):
    path.write_text(json.dumps(data))
    return path


def test_valid_candidate_is_measured_against_its_prediction(cli, tmp_path):
    definition = load_space("nb201")
    candidate = Candidate.of(definition, GOOD, predicted={"test_acc": 80.0})
    candidate.write(tmp_path / "c.json")
    result = cli("validate", tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    assert "valid for space 'nb201'" in result.stdout
    assert "relative error" in result.stdout and "%" in result.stdout


def test_invalid_candidate_lists_every_problem(cli, tmp_path):
    bad = {**GOOD, "op0": "conv_7x7", "op9": "none"}
    del bad["op5"]
    result = cli("validate", _write(tmp_path / "c.json", space="nb201", config=bad))
    assert result.exit_code == 1
    for text in ("op9: not a parameter", "op0: must be one of", "op5: missing", "3 problems"):
        assert text in result.stdout, result.stdout


def test_constraints_and_per_layer_lengths(cli, write_space, tmp_path):
    space = write_space()
    config = {"depth": 2, "embed": 24, "act": "relu", "heads": [4, 2, 1]}
    result = cli(
        "validate", _write(tmp_path / "c.json", space="toy", config=config), "--space", space
    )
    assert result.exit_code == 1 and "heads: needs 2 values (depth = 2), got 3" in result.stdout
    config = {"depth": 3, "embed": 32, "act": "relu", "heads": [4, 4, 4]}
    result = cli(
        "validate", _write(tmp_path / "c.json", space="toy", config=config), "--space", space
    )
    assert result.exit_code == 1 and "violates constraint 'params_k <= 50'" in result.stdout
    config = {"depth": 1, "embed": 16, "act": "relu", "heads": [4]}
    result = cli(
        "validate",
        _write(tmp_path / "c.json", space="toy", config=config),
        "--space",
        space,
        "--no-measure",
    )
    assert result.exit_code == 0 and "valid" in result.stdout and "measured" not in result.stdout


def test_failed_measurement_exits_1(cli, write_space, tmp_path):
    space = write_space(TOY.replace("choices: [relu, gelu]", "choices: [relu, gelu, fail]"))
    config = {"depth": 1, "embed": 16, "act": "fail", "heads": [4]}
    result = cli(
        "validate", _write(tmp_path / "c.json", space="toy", config=config), "--space", space
    )
    assert result.exit_code == 1 and "measurement failed: RuntimeError: boom" in result.stdout


def test_space_given_with_space_or_its_run_directory(cli, write_space, tmp_path):
    path = write_space()
    definition = load_space_file(path)
    Candidate.of(definition, {"depth": 1, "embed": 16, "act": "relu", "heads": [4]}).write(
        tmp_path / "c.json"
    )
    result = cli("validate", tmp_path / "c.json")  # the file it names is never loaded
    assert result.exit_code == 2 and "pass --space" in result.stderr, result.output
    result = cli("validate", tmp_path / "c.json", "--space", path)
    assert result.exit_code == 0, result.output
    assert f"space 'toy' from {path}" in result.stderr


def test_a_candidate_never_chooses_the_code_that_runs(cli, write_space, tmp_path):
    """Issue 12.1: a candidate whose space_file names a space with an evil evaluator."""
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "evil.py").write_text(
        "open(__file__ + '.ran', 'w').write('x')\ndef evaluate(c):\n    return {}\n"
    )
    text = TOY.replace("spacelib.py:evaluate", "evil.py:evaluate").replace(
        "  exact: [params_k]\n  exact_function: spacelib.py:exact\n", ""
    )
    text = text.replace('  - "params_k <= 50"\n', "").replace("name: toy", "name: nb201")
    (evil / "space.yaml").write_text(text)
    data = {"space": "nb201", "space_file": str(evil / "space.yaml"), "config": GOOD}
    for name in ("space", "space_file"):
        _write(tmp_path / "c.json", **{**data, name: str(evil / "space.yaml")})
        for extra in ([], ["--no-measure"]):
            cli("validate", tmp_path / "c.json", *extra)
            assert not (evil / "evil.py.ran").exists(), (name, extra)
    # --no-measure builds no evaluator that runs code, even for the space the user names
    _write(tmp_path / "d.json", space="nb201", config={"depth": 1})
    result = cli("validate", tmp_path / "d.json", "--space", evil / "space.yaml", "--no-measure")
    assert result.exit_code == 1 and not (evil / "evil.py.ran").exists(), result.output


def test_no_measure_leaves_metric_constraints_unchecked(cli, write_space, tmp_path):
    path = write_space()
    (tmp_path / "spacelib.py").write_text("raise SystemExit('spacelib imported')\n")
    _write(
        tmp_path / "c.json",
        space="toy",
        config={"depth": 1, "embed": 16, "act": "relu", "heads": [4]},
    )
    result = cli("validate", tmp_path / "c.json", "--space", path, "--no-measure")
    assert result.exit_code == 0, result.output
    assert "not checked" in result.stdout and "params_k <= 50" in result.stdout


def test_space_from_the_run_directory_holding_the_candidate(cli, nb201_run):
    front = nb201_run / "front"
    result = cli("pareto", nb201_run, "--export", front)
    assert result.exit_code == 0, result.output
    first = sorted(front.glob("*.json"))
    result = cli("validate", *first[:2], "--no-measure")
    assert result.exit_code == 0, result.output
    assert f"from {nb201_run / 'run.yaml'}" in result.stderr
    assert result.stdout.count("valid for space 'nb201'") == 2


def test_bad_candidate_files_are_usage_errors(cli, tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    cases = [
        (tmp_path / "broken.json", "broken.json: line 1, column 2: invalid JSON"),
        (_write(tmp_path / "nospace.json", config={}), "nospace.json: space: is required"),
        (
            _write(tmp_path / "typo.json", space="nb201", config={}, confg={}),
            "typo.json: confg: unknown field",
        ),
        (tmp_path / "absent.json", "absent.json: no such file"),
        (
            _write(tmp_path / "other.json", space="vit9", config={}),
            "space 'vit9' is not a shipped space",
        ),
        (
            _write(tmp_path / "path.json", space="../x/space.yaml", config={}),
            "space: must be the name of a space, got '../x/space.yaml'",
        ),
    ]
    for path, message in cases:
        result = cli("validate", path)
        assert result.exit_code == 2, result.output
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_stale_space_hash_is_an_error_unless_the_space_is_given(cli, tmp_path):
    _write(tmp_path / "c.json", space="nb201", space_hash="0000000000000000", config=GOOD)
    result = cli("validate", tmp_path / "c.json", "--no-measure")
    assert result.exit_code == 2 and "another version of space 'nb201'" in result.stderr
    result = cli("validate", tmp_path / "c.json", "--no-measure", "--space", "nb201")
    assert result.exit_code == 0 and "another version of space" in result.stderr
