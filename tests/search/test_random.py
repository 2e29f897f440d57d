from __future__ import annotations

import numpy as np
import pytest

from nas_search.catalog import load_space
from nas_search.config import load_space_file
from nas_search.encoding import vector_key
from nas_search.errors import SearchStopped
from nas_search.evaluation import build_evaluator
from nas_search.search import History, make_tactic
from nas_search.search.tactic import iteration_rng
from nas_search.space import ENUMERATION_LIMIT


def _batch(definition, n):
    update = {"batch": n, "tactic": "random"}
    return definition.with_settings(definition.settings.model_copy(update=update))


def _propose_all(definition, n, rounds):
    definition = _batch(definition, n)
    evaluator = build_evaluator(definition)
    tactic = make_tactic(definition, evaluator)
    history = History(definition.space)
    batches = []
    for iteration in range(rounds):
        proposals = tactic.propose(history, n, iteration_rng(0, iteration))
        if not proposals:
            break
        history.add_batch(iteration, proposals)
        batches.append(proposals)
    return [p for batch in batches for p in batch], evaluator


def test_small_space_is_walked_without_repeats_until_exhausted(write_space):
    definition = load_space_file(write_space())
    proposals, evaluator = _propose_all(definition, 7, 100)
    keys = [vector_key(p.vector) for p in proposals]
    assert len(keys) == len(set(keys))
    vectors = definition.space.enumerate()
    feasible = definition.space.feasible(vectors, evaluator.exact)
    assert len(proposals) == feasible.sum()  # every feasible sub-network, then nothing
    for p in proposals:
        assert not definition.space.violations(p.vector[None], evaluator.exact)[0]


def test_large_space_draws_feasible_distinct_samples(write_space):
    text = """
name: big
parameters:
  depth: {type: integer, low: 8, high: 12}
  embed: {type: ordinal, choices: [192, 216, 240]}
  heads: {type: ordinal, choices: [3, 4, 5], per_layer: depth}
  mlp: {type: ordinal, choices: [3.0, 3.5, 4.0], per_layer: depth}
constraints: ["embed % heads[i] == 0", "sum(mlp) <= 3.6 * depth"]
objectives: [{name: score, direction: maximize}]
evaluator: {type: python, function: spacelib.py:evaluate}
"""
    definition = load_space_file(write_space(text))
    assert definition.space.cardinality() > ENUMERATION_LIMIT
    proposals, _ = _propose_all(definition, 50, 4)
    assert len(proposals) == 200
    assert len({p.hash for p in proposals}) == 200
    for p in proposals:
        c = p.config
        assert all(c["embed"] % h == 0 for h in c["heads"]) and sum(c["mlp"]) <= 3.6 * c["depth"]


def test_impossible_constraints_stop_with_a_reason(write_space):
    text = """
name: none
parameters:
  depth: {type: integer, low: 8, high: 12}
  heads: {type: ordinal, choices: [3, 4, 5], per_layer: depth}
constraints: ["sum(heads) < 0"]
objectives: [{name: score, direction: maximize}]
evaluator: {type: python, function: spacelib.py:evaluate}
"""
    definition = _batch(load_space_file(write_space(text)), 5)
    with pytest.raises(SearchStopped, match="reject"):
        _propose_all(definition, 5, 1)


def test_same_seed_same_proposals_other_seed_differs():
    definition = _batch(load_space("nb201"), 10)
    evaluator = build_evaluator(definition)

    def first(seed):
        tactic = make_tactic(definition, evaluator)
        return [
            p.hash for p in tactic.propose(History(definition.space), 10, iteration_rng(seed, 0))
        ]

    assert first(0) == first(0)
    assert first(0) != first(1)


def test_random_walk_is_uniform():
    definition = _batch(load_space("nb201"), 25)
    evaluator = build_evaluator(definition)
    tactic = make_tactic(definition, evaluator)
    counts = np.zeros(5)
    for seed in range(40):
        for p in tactic.propose(History(definition.space), 25, iteration_rng(seed, 0)):
            counts[p.vector[0]] += 1
    assert counts.min() > 140 and counts.max() < 260  # 200 expected for each op of edge 0
