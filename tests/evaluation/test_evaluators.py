from __future__ import annotations

import gzip
import re
import sys
import time

import pytest

from nas_search.catalog import load_space
from nas_search.config import load_space_file
from nas_search.errors import EvaluatorError
from nas_search.evaluation import build_evaluator, measure
from tests.conftest import TOY

# the toy space without its constraints (which need the toy's exact metrics)
PLAIN_TOY = (
    TOY.split("constraints:")[0]
    + "objectives:"
    + TOY.split("objectives:")[1].split("evaluator:")[0]
)
CONFIG = {"depth": 2, "embed": 24, "act": "gelu", "heads": [2, 4], "patch": 4}


def _space(write_space, evaluator_yaml, extra=""):
    text = TOY.split("evaluator:")[0] + "evaluator:\n" + evaluator_yaml + extra
    return load_space_file(write_space(text), "space.yaml")


# python -------------------------------------------------------------------------------------
def test_python_function_from_file_and_module(write_space):
    definition = load_space_file(write_space(), "space.yaml")
    evaluator = build_evaluator(definition)
    assert evaluator.metrics == ("score", "cost", "params_k")
    result = measure(evaluator, CONFIG, ["score", "cost"])
    assert result.ok and result.metrics["params_k"] == 36.0
    assert evaluator.exact(CONFIG) == {"params_k": 36.0}
    module = _space(
        write_space,
        "  type: python\n  function: spacelib:evaluate\n  exact: [params_k]\n"
        "  exact_function: spacelib:exact\n",
    )
    assert measure(build_evaluator(module), CONFIG, ["score"]).ok


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        (
            "  type: python\n  function: nomodule_xyz:f\n",
            "evaluator.function: cannot import module 'nomodule_xyz'",
        ),
        (
            "  type: python\n  function: spacelib.py:nope\n",
            "evaluator.function: 'spacelib.py' has no function 'nope'",
        ),
        ("  type: python\n  function: missing.py:f\n", "evaluator.function: no such file"),
        ("  type: python\n  function: justaname\n", "must be 'module:function'"),
        (
            "  type: python\n  function: spacelib.py:evaluate\n  exact: [params_k]\n",
            "evaluator.exact: needs evaluator.exact_function",
        ),
        (
            "  type: python\n  function: spacelib.py:evaluate\n  colour: red\n",
            "evaluator.colour: unknown field",
        ),
        (
            "  type: magic\n",
            "evaluator.type: must be one of python, command, table, vit, transformer, cnn, "
            "got 'magic'",
        ),
        (
            "  type: python\n  function: spacelib.py:evaluate\n  metrics: [score]\n",
            "objectives[1].name: 'cost' is not a metric of the python evaluator",
        ),
    ],
)
def test_python_setup_errors(write_space, yaml_text, message):
    text = (
        TOY.split("evaluator:")[0].replace('  - "params_k <= 50"\n', "")
        + "evaluator:\n"
        + yaml_text
    )
    definition = load_space_file(write_space(text), "space.yaml")
    with pytest.raises(EvaluatorError, match=re.escape(message)) as info:
        evaluator = build_evaluator(definition)
        evaluator.load()  # the python evaluator imports its module where it measures
    assert str(info.value).startswith("space.yaml: ")


@pytest.mark.parametrize(
    "returned, reason",
    [
        ("{'score': float('nan'), 'cost': 1}", "metric 'score' is nan"),
        ("{'score': 1}", "metric 'cost' missing"),
        ("{'score': 'high', 'cost': 1}", "metric 'score' must be a real number, got str 'high'"),
        ("[1, 2]", "returned list"),
        ("1 / 0", "ZeroDivisionError: division by zero"),
    ],
)
def test_failures_are_measurements_not_crashes(write_space, tmp_path, returned, reason):
    (tmp_path / "bad.py").write_text(f"def f(config):\n    return {returned}\n")
    text = PLAIN_TOY + "evaluator:\n  type: python\n  function: bad.py:f\n"
    evaluator = build_evaluator(load_space_file(write_space(text), "space.yaml"))
    result = measure(evaluator, CONFIG, ["score", "cost"])
    assert result.status == "failed" and reason in result.error


# command ------------------------------------------------------------------------------------
SCRIPT = """
import json, sys, time
payload = json.load(sys.stdin)
c = payload["config"]
mode = c["act"]
if mode == "relu" and c["embed"] == 16:
    print("oh no, the board is unplugged", file=sys.stderr); sys.exit(3)
if mode == "relu" and c["embed"] == 32:
    time.sleep(30)
if mode == "relu" and c["embed"] == 24:
    print("not json at all"); sys.exit(0)
print("log line before the result")
same = payload["space"] == "toy"
print(json.dumps({"score": c["embed"] / 8, "cost": len(c["heads"]), "space": int(same)}))
"""


def _command_space(write_space, tmp_path, timeout=1.0):
    (tmp_path / "board.py").write_text(SCRIPT)
    text = (
        PLAIN_TOY
        + f"evaluator:\n  type: command\n  argv: ['{{python}}', board.py]\n  timeout: {timeout}\n"
    )
    return build_evaluator(load_space_file(write_space(text), "space.yaml"))


def test_command_reads_json_from_stdout(write_space, tmp_path):
    evaluator = _command_space(write_space, tmp_path)
    result = measure(evaluator, CONFIG, ["score", "cost"])
    assert result.ok, result.error
    assert result.metrics == {"score": 3.0, "cost": 2.0, "space": 1.0}


@pytest.mark.parametrize(
    "embed, reason",
    [
        (16, "command exited with status 3: oh no, the board is unplugged"),
        (24, "stdout is not a JSON object: 'not json at all'"),
        (32, "timed out after 1 s"),
    ],
)
def test_command_failures(write_space, tmp_path, embed, reason):
    evaluator = _command_space(write_space, tmp_path)
    start = time.perf_counter()
    result = measure(evaluator, {**CONFIG, "act": "relu", "embed": embed}, ["score", "cost"])
    assert result.status == "failed" and reason in result.error
    # a hanging command (it sleeps 30 s) is killed at its timeout of 1 s
    assert time.perf_counter() - start < 20


def test_command_that_cannot_start(write_space):
    text = PLAIN_TOY + "evaluator:\n  type: command\n  argv: [/no/such/binary]\n"
    evaluator = build_evaluator(load_space_file(write_space(text), "space.yaml"))
    result = measure(evaluator, CONFIG, ["score"])
    assert result.status == "failed" and "cannot start" in result.error


# table --------------------------------------------------------------------------------------
def test_nb201_table_gives_the_published_values():
    definition = load_space("nb201")
    evaluator = build_evaluator(definition)
    best = {
        "op0": "nor_conv_3x3",
        "op1": "nor_conv_3x3",
        "op2": "nor_conv_3x3",
        "op3": "skip_connect",
        "op4": "nor_conv_3x3",
        "op5": "skip_connect",
    }
    arch0 = {
        "op0": "avg_pool_3x3",
        "op1": "nor_conv_1x1",
        "op2": "skip_connect",
        "op3": "nor_conv_1x1",
        "op4": "skip_connect",
        "op5": "skip_connect",
    }
    metrics = evaluator.evaluate(arch0)
    assert metrics["lat_raspi4_ms"] == pytest.approx(10.48197682)
    assert metrics["lat_pixel3_ms"] == pytest.approx(3.60585)
    assert evaluator.exact(arch0) == {
        "flops": pytest.approx(15.64737),
        "params": pytest.approx(0.129306),
    }
    assert evaluator.evaluate(best)["test_acc"] <= 94.37333 + 1e-9


def test_table_matches_the_shared_copy():
    from tests.conftest import SHARED_TABLE, SHIPPED_TABLE

    if not SHARED_TABLE.exists():
        pytest.skip("../shared is not beside this checkout")
    assert gzip.decompress(SHARED_TABLE.read_bytes()) == gzip.decompress(SHIPPED_TABLE.read_bytes())


TABLE_SPACE = """
name: tab
parameters:
  depth: {type: integer, low: 1, high: 2}
  width: {type: ordinal, choices: [8, 16]}
  heads: {type: ordinal, choices: [1, 2], per_layer: depth}
objectives:
  - {name: acc, direction: maximize}
  - {name: ms, direction: minimize}
evaluator:
  type: table
  path: TABLE
"""


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_table_with_per_layer_json_columns(write_space, tmp_path, suffix):
    rows = 'depth,width,heads,acc,ms,note\n1,8,[1],50.5,1.5,a\n2,16,"[2, 1]",70,3,b\n'
    path = tmp_path / f"t{suffix}"
    path.write_bytes(gzip.compress(rows.encode()) if suffix.endswith(".gz") else rows.encode())
    evaluator = build_evaluator(
        load_space_file(write_space(TABLE_SPACE.replace("TABLE", path.name)))
    )
    assert evaluator.metrics == ("acc", "ms")  # numeric columns that are not keys
    assert evaluator.evaluate({"depth": 2, "width": 16, "heads": [2, 1]}) == {
        "acc": 70.0,
        "ms": 3.0,
    }
    result = measure(evaluator, {"depth": 2, "width": 8, "heads": [2, 1]}, ["acc", "ms"])
    assert result.status == "failed"
    assert result.error == "not in table " + path.name + ": depth=2, width=8, heads=[2, 1]"


@pytest.mark.parametrize(
    "rows, extra, message",
    [
        (
            "depth,width,heads,acc,ms\n1,8,[1],1,1\n1,8,[1],2,2\n",
            "",
            "has two rows (lines 2 and 3)",
        ),
        ("depth,width,acc,ms\n1,8,1,1\n", "", "evaluator.key.heads: no column 'heads' in"),
        (
            "depth,width,heads,acc,ms\n1,8,[1],1,1\n",
            "  metrics: [acc, ms, nope]\n",
            "evaluator.metrics: 'nope' is not a numeric column",
        ),
        ("depth,width,heads,acc,ms\n1,8,1,1,1\n", "", "must hold JSON lists"),
    ],
)
def test_table_setup_errors(write_space, tmp_path, rows, extra, message):
    (tmp_path / "t.csv").write_text(rows)
    definition = load_space_file(write_space(TABLE_SPACE.replace("TABLE", "t.csv") + extra))
    with pytest.raises(EvaluatorError, match=re.escape(message)):
        build_evaluator(definition)


def test_missing_table_file(write_space):
    definition = load_space_file(write_space(TABLE_SPACE.replace("TABLE", "absent.csv")), "s.yaml")
    with pytest.raises(EvaluatorError, match="s.yaml: evaluator.path: absent.csv: no such file"):
        build_evaluator(definition)


def test_interpreter_placeholder_is_this_python(write_space, tmp_path):
    evaluator = _command_space(write_space, tmp_path)
    assert evaluator.argv[0] == sys.executable


def test_a_function_file_imports_its_sibling_modules(write_space, tmp_path):
    """Issue 13: ``file.py:function`` loads with its folder on the path."""
    (tmp_path / "helpers_xyz.py").write_text("def score(c):\n    return float(c['embed'])\n")
    (tmp_path / "uses.py").write_text(
        "from helpers_xyz import score\n"
        "def evaluate(c):\n    return {'score': score(c), 'cost': 1.0}\n"
    )
    text = PLAIN_TOY + "evaluator:\n  type: python\n  function: uses.py:evaluate\n"
    evaluator = build_evaluator(load_space_file(write_space(text), "space.yaml"))
    assert measure(evaluator, CONFIG, ["score", "cost"]).metrics["score"] == CONFIG["embed"]
