from __future__ import annotations

import re
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nas_search.errors import ExpressionError
from nas_search.expr import compile_expression, mask_key

SCALARS = {"a", "b", "op"}
LAYERED = {"h": "depth", "m": "depth"}


def ns(a, b, op, h, depth):
    """Namespace of a batch: h is (n, 3) with `depth` active layers."""
    n = len(a)
    return {
        "a": np.asarray(a),
        "b": np.asarray(b),
        "op": np.asarray(op, dtype=object),
        "h": np.asarray(h),
        "m": np.asarray(h) * 2,
        mask_key("depth"): np.arange(3)[None, :] < np.asarray(depth)[:, None],
    } | ({} if n else {})


def check(source, namespace, n):
    expr = compile_expression(source, scalars=SCALARS, layered=LAYERED, min_layers={"depth": 1})
    return expr.evaluate(namespace, n).tolist()


def test_scalar_arithmetic_and_logic():
    space = ns([1, 4, 6], [2, 2, 3], ["x", "y", "z"], [[1, 1, 1]] * 3, [1, 1, 1])
    assert check("a % b == 0", space, 3) == [False, True, True]
    assert check("a > 1 and not b == 3", space, 3) == [False, True, False]
    assert check("1 < a <= 4 or op == 'z'", space, 3) == [False, True, True]
    assert check("op in ['x', 'z']", space, 3) == [True, False, True]
    assert check("op not in ('x',)", space, 3) == [False, True, True]
    assert check("a ** 2 - b // 2 >= 15", space, 3) == [False, True, True]
    assert check("abs(-a) == a and min(a, b) <= max(a, b)", space, 3) == [True, True, True]


def test_layer_index_holds_for_every_active_layer_only():
    # layer 2 of the first candidate is inactive (depth 2): its 5 must not count
    space = ns([4, 4], [0, 0], ["x", "x"], [[2, 4, 5], [2, 4, 5]], [2, 3])
    assert check("a % h[i] == 0", space, 2) == [True, False]
    assert check("sum(h) <= 6", space, 2) == [True, False]
    assert check("max(h) == 4", space, 2) == [True, False]
    assert check("min(h) == 2 and len(h) == 2", space, 2) == [True, False]
    assert check("sum(h[i] * a) == 24", space, 2) == [True, False]
    assert check("h[0] == 2", space, 2) == [True, True]
    assert check("all(h) and any(h)", space, 2) == [True, True]
    assert check("h[i] < m[i]", space, 2) == [True, True]


@pytest.mark.parametrize(
    "source, message",
    [
        ("__import__('os').system('x')", "not allowed"),
        ("a.real > 0", "attribute access"),
        ("open('f')", "function 'open' is not allowed"),
        ("[x for x in h]", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("c > 1", "unknown name 'c'"),
        ("i > 1", "'i' may only index"),
        ("h[3] > 1", "index 3 of h must be below"),
        ("h[-1] > 1", "must be .i. or a whole number"),
        ("a[0] > 1", "only per-layer parameters can be indexed"),
        ("h > 1", "whole per-layer list"),
        ("sum(a) > 1", "takes one per-layer list"),
        ("a in b", "literal list"),
        ("a >", "invalid syntax"),
        ("", "non-empty"),
        ("max(a, key=b)", "positional"),
    ],
)
def test_rejected(source, message):
    with pytest.raises(ExpressionError, match=message):
        compile_expression(source, scalars=SCALARS, layered=LAYERED, min_layers={"depth": 1})


def test_names_are_reported():
    expr = compile_expression("a % h[i] == 0", scalars=SCALARS, layered=LAYERED)
    assert expr.names == {"a", "h"}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 40),
            st.integers(1, 9),
            st.integers(1, 3),
            st.lists(st.integers(1, 8), min_size=3, max_size=3),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_vectorized_matches_python_oracle(rows):
    a, b, depth, h = (list(col) for col in zip(*rows, strict=True))
    space = ns(a, b, ["x"] * len(a), h, depth)
    got = check("a % h[i] == 0 and sum(h) + b <= 3 * a or max(h) < b", space, len(a))
    want = []
    for a_, b_, d, hs in rows:
        active = hs[:d]
        want.append(
            (all(a_ % x == 0 for x in active) and sum(active) + b_ <= 3 * a_) or max(active) < b_
        )
    assert got == want


@pytest.mark.parametrize(
    "source, message",
    [
        ("depth < 9**9**9", "too costly to evaluate (an exponent above 1024)"),
        ("10**10**8 > depth", "too costly to evaluate"),
        ("(10**1024)**1024 > depth", "a power of more than"),
        ("depth < 1/0", "division by zero"),
        ("'a' * 10000000000 != depth", "a repeated string of more than"),
        ("depth < 'x'", "values of types that do not combine"),
        ("-" * 3000 + "depth < 1", "nested too deeply"),
        ("abs(" * 80 + "depth" + ")" * 80 + " < 1", "nested too deeply"),
        (" + ".join(["depth"] * 2000) + " > 0", "too long"),
        ("depth" + "+depth" * 100 + " > 0", "nested too deeply"),
    ],
)
def test_expressions_cannot_hang_or_exhaust_anything(source, message):
    """Issue 12.11/12.12: every costly expression is refused in milliseconds."""
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match=re.escape(message)):
        compile_expression(source, scalars={"depth"}).evaluate({"depth": np.arange(3)}, 3)
    assert time.perf_counter() - start < 1


def test_bounded_arithmetic_still_computes():
    e = compile_expression("2 ** 10 * 'ab' != 'x' and depth ** 2 < 5", scalars={"depth"})
    assert e.evaluate({"depth": np.arange(4)}, 4).tolist() == [True, True, True, False]
