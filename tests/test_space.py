from __future__ import annotations

import itertools

import numpy as np
import pytest

from nas_search.domains import Choices, IntRange
from nas_search.encoding import vector_key
from nas_search.errors import SpaceError
from nas_search.space import Parameter, SearchSpace


def make(constraints=(), depth=IntRange(1, 3), heads=(1, 2, 4)):
    return SearchSpace(
        "t",
        [
            Parameter("depth", "integer", depth),
            Parameter("embed", "ordinal", Choices((16, 24))),
            Parameter("heads", "ordinal", Choices(heads), per_layer="depth"),
            Parameter("mlp", "categorical", Choices(("a", "b")), per_layer="depth"),
            Parameter("patch", "fixed", value=4),
        ],
        constraints,
    )


def brute_force_subnetworks(space):
    """Every distinct config, by listing values (not genes)."""
    out = set()
    for depth in space.params["depth"].domain.values:
        for embed in (16, 24):
            for heads in itertools.product((1, 2, 4), repeat=depth):
                for mlp in itertools.product("ab", repeat=depth):
                    out.add((depth, embed, heads, mlp))
    return out


def test_cardinality_counts_inactive_layers_once():
    space = make()
    assert space.cardinality() == len(brute_force_subnetworks(space)) == 2 * (6 + 36 + 216)


def test_enumerate_is_every_distinct_canonical_vector():
    space = make()
    vectors = space.enumerate()
    assert len(vectors) == space.cardinality()
    assert len({vector_key(v) for v in vectors}) == len(vectors)
    assert (space.canonical(vectors) == vectors).all()
    configs = {
        (c["depth"], c["embed"], tuple(c["heads"]), tuple(c["mlp"]))
        for c in map(space.decode, vectors)
    }
    assert configs == brute_force_subnetworks(space)


def test_fixed_length_group_enumerates():
    space = SearchSpace(
        "f",
        [
            Parameter("n", "fixed", value=2),
            Parameter("w", "ordinal", Choices((1, 2, 3)), per_layer="n"),
        ],
    )
    assert space.cardinality() == 9 == len(space.enumerate())


def test_canonical_zeroes_inactive_genes_only():
    space = make()
    v = np.array([[0, 1, 2, 2, 2, 1, 1, 1]])  # depth index 0 -> 1 layer
    assert space.canonical(v).tolist() == [[0, 1, 2, 0, 0, 1, 0, 0]]
    assert space.decode(v[0]) == {"depth": 1, "embed": 24, "heads": [4], "mlp": ["b"], "patch": 4}


def test_sample_is_uniform_over_distinct_subnetworks():
    space = make(depth=IntRange(1, 2))  # 2 * (6 + 36) = 84 sub-networks
    rng = np.random.default_rng(0)
    draws = space.sample(rng, 84 * 400)
    counts = {}
    for v in draws:
        counts[vector_key(v)] = counts.get(vector_key(v), 0) + 1
    assert len(counts) == 84
    values = np.array(list(counts.values()))
    # every sub-network about 400 times: depth 1 ones are not 6x over-represented
    assert values.min() > 300 and values.max() < 500
    chi2 = ((values - 400) ** 2 / 400).sum()
    assert chi2 < 140  # 83 degrees of freedom: p < 1e-4 beyond this


def test_sample_by_gene_draws_every_depth_equally_often():
    space = make(depth=IntRange(1, 3))  # 6, 36 and 216 sub-networks of depth 1, 2 and 3
    depth = space.slots["depth"].start
    uniform = space.sample(np.random.default_rng(0), 6000)[:, depth]
    by_gene = space.sample(np.random.default_rng(0), 6000, by_gene=True)[:, depth]
    assert np.bincount(uniform, minlength=3)[0] < 6000 * 6 / 258 * 1.5  # shallow ones rare
    counts = np.bincount(by_gene, minlength=3)
    assert counts.min() > 1850 and counts.max() < 2150  # about 2000 each


def test_sample_is_deterministic_per_seed():
    space = make()
    a = space.sample(np.random.default_rng(5), 50)
    b = space.sample(np.random.default_rng(5), 50)
    c = space.sample(np.random.default_rng(6), 50)
    assert (a == b).all() and not (a == c).all()


def test_constraints_checked_on_active_layers():
    space = make(["embed % heads[i] == 0", "sum(heads) <= 5"], heads=(1, 3, 4))
    vectors = space.enumerate()
    ok = space.feasible(vectors)
    for v, good in zip(vectors, ok, strict=True):
        c = space.decode(v)
        assert good == (all(c["embed"] % h == 0 for h in c["heads"]) and sum(c["heads"]) <= 5)


def test_metric_constraints_call_exact_only_for_survivors():
    space = SearchSpace(
        "m",
        [Parameter("w", "integer", IntRange(1, 6))],
        ["w > 2", "cost <= 8"],
        exact_metrics=["cost"],
    )
    calls = []

    def exact(config):
        calls.append(config["w"])
        return {"cost": 2.0 * config["w"]}

    assert space.feasible(space.enumerate(), exact).tolist() == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert calls == [3, 4, 5, 6]
    with pytest.raises(SpaceError, match="no evaluator computes them"):
        space.feasible(space.enumerate())


@pytest.mark.parametrize(
    "params, message",
    [
        ([Parameter("h", "ordinal", Choices((1,)), per_layer="nope")], "names no parameter"),
        (
            [
                Parameter("d", "ordinal", Choices((0, 2))),
                Parameter("h", "ordinal", Choices((1,)), per_layer="d"),
            ],
            "positive integer values, got 0",
        ),
        (
            [
                Parameter("d", "ordinal", Choices((1, 2)), per_layer="h"),
                Parameter("h", "ordinal", Choices((1, 2)), per_layer="d"),
            ],
            "not per-layer",
        ),
        ([Parameter("p", "fixed", value=1)], "at least one parameter that varies"),
    ],
)
def test_bad_structure(params, message):
    with pytest.raises(SpaceError, match=message):
        SearchSpace("bad", params)


def test_huge_space_counts_exactly():
    space = SearchSpace(
        "big",
        [
            Parameter("depth", "integer", IntRange(12, 14)),
            Parameter("heads", "ordinal", Choices((3, 4)), per_layer="depth"),
            Parameter("mlp", "ordinal", Choices((3.0, 3.5, 4.0)), per_layer="depth"),
        ],
    )
    assert space.cardinality() == 6**12 + 6**13 + 6**14
    with pytest.raises(SpaceError, match="too large"):
        space.enumerate()
    assert space.sample(np.random.default_rng(0), 3).shape == (3, 1 + 14 + 14)
