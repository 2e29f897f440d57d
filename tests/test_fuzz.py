"""Property-based fuzzing of what a user hands nas-search (issue 12): space YAML, candidate
JSON, results CSV, constraint and ``--where`` expressions. Whatever the input: exit status 0,
1 or 2; an error is one line (``nas-search: error: ...``) and no traceback; it ends in seconds;
nothing is written anywhere (these commands only read)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TOY

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every CI run; widen locally with a profile
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NASTY = [
    "10**30", "1e400", "inf", "-inf", ".nan", "-1", "0", "''", "'../../escaped'", "/tmp/x",
    "&a [1]", "*a", "!!python/object:os.system", "{", "[", "]", "}", ":", "- ", "\t", "\x00",
    "'a' * 10000000000", "9**9**9", "1/0", "x[i]", "sum(x)", "\u2028", "~", "null", "true",
]  # fmt: skip
TOKENS = [
    "depth", "embed", "act", "heads", "heads[i]", "heads[0]", "heads[9]", "params_k", "i",
    "sum(heads)", "len(heads)", "max(", "min(", "abs(", "(", ")", "[", "]", "+", "-", "*",
    "/", "//", "%", "**", "<", "<=", "==", "!=", ">", "and", "or", "not", "in", "'relu'",
    "1", "0", "10**10**8", "9**9**9", "1e308", "'x' * 99999999", "lambda", "__import__",
    "open", ".", ",", "if", "else", "x" * 50,
]  # fmt: skip


def _snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*") if p.is_file()}


def _check(result, started: float, before: dict[str, float], root: Path) -> None:
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("nas-search: error:")]
    if result.exit_code == 2:
        assert len(errors) == 1 and result.stderr.rstrip("\n").endswith(errors[0]), result.stderr
    assert len(errors) <= 1, result.stderr
    assert time.perf_counter() - started < 10
    assert _snapshot(root) == before


def _mutated(data: st.DataObject, text: str) -> str:
    for _ in range(data.draw(st.integers(1, 4))):
        k = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = data.draw(st.sampled_from(NASTY) | st.text(max_size=8))
        if action == "insert":
            text = text[:k] + piece + text[k:]
        elif action == "delete":
            text = text[:k] + text[k + data.draw(st.integers(1, 40)) :]
        else:
            end = text.find("\n", k)
            text = text[:k] + piece + (text[end:] if end >= 0 else "")
    return text


@FUZZ
@given(data=st.data())
def test_space_files(cli, write_space, tmp_path, data):
    space = write_space(_mutated(data, TOY), "fuzz.yaml")
    (tmp_path / "c.json").write_text(json.dumps({"space": "toy", "config": {"depth": 1}}))
    before, started = _snapshot(tmp_path), time.perf_counter()
    result = cli("validate", tmp_path / "c.json", "--space", space, "--no-measure")
    _check(result, started, before, tmp_path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@FUZZ
@given(
    space=st.sampled_from(["nb201", "toy", "../nb201", "", "nb201.yaml"]) | st.text(max_size=10),
    config=st.dictionaries(
        st.sampled_from(["op0", "op1", "op2", "op3", "op4", "op5", "depth"]) | st.text(max_size=5),
        json_values | st.sampled_from(["none", "skip_connect", "nor_conv_3x3"]),
        max_size=7,
    ),
    extra=st.dictionaries(st.sampled_from(["space_hash", "hash", "format", "x"]), json_values),
)
def test_candidate_files(cli, tmp_path, space, config, extra):
    (tmp_path / "c.json").write_text(json.dumps({"space": space, "config": config, **extra}))
    before, started = _snapshot(tmp_path), time.perf_counter()
    result = cli("validate", tmp_path / "c.json", "--no-measure")
    _check(result, started, before, tmp_path)


cells = st.sampled_from(["1", "2.5", "-3", "inf", "nan", "", "x", '"a,b"', "1e400", "ok"])


@FUZZ
@given(
    header=st.lists(st.sampled_from(["acc", "lat", "status", "id", "x", ""]), max_size=5),
    rows=st.lists(st.lists(cells, max_size=6), max_size=6),
    raw=st.binary(max_size=40),
)
def test_results_tables(cli, tmp_path, header, rows, raw):
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    (tmp_path / "r.csv").write_bytes(text.encode() + (raw if len(rows) % 2 else b""))
    before, started = _snapshot(tmp_path), time.perf_counter()
    result = cli("pareto", tmp_path / "r.csv", "--objectives", "acc:max,lat:min")
    _check(result, started, before, tmp_path)


expressions = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map(" ".join)


@FUZZ
@given(expression=expressions)
def test_where_expressions(cli, tmp_path, expression):
    (tmp_path / "r.csv").write_text("depth,embed,params_k\n1,16,2.5\n2,32,7\n")
    before, started = _snapshot(tmp_path), time.perf_counter()
    result = cli(
        "pareto",
        tmp_path / "r.csv",
        "--objectives",
        "embed:max,params_k:min",
        "--where",
        expression,
    )
    _check(result, started, before, tmp_path)


@FUZZ
@given(expression=expressions)
def test_constraints(cli, write_space, tmp_path, expression):
    space = write_space(TOY.replace('"embed % heads[i] == 0"', json.dumps(expression)), "c.yaml")
    (tmp_path / "c.json").write_text(json.dumps({"space": "toy", "config": {"depth": 1}}))
    before, started = _snapshot(tmp_path), time.perf_counter()
    result = cli("validate", tmp_path / "c.json", "--space", space, "--no-measure")
    _check(result, started, before, tmp_path)
    assert os.getcwd() == str(tmp_path)
