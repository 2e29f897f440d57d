from __future__ import annotations

import itertools

import numpy as np
import pytest

from nas_search.results.pareto import (
    hypervolume,
    hypervolume_gains,
    non_dominated,
    normalized_hypervolume,
    reference_point,
    to_minimization,
)


def dominates(a, b):
    return bool(np.all(a <= b) and np.any(a < b))


def oracle_front(F):
    return np.array([not any(dominates(F[j], F[i]) for j in range(len(F))) for i in range(len(F))])


def oracle_hypervolume(F, ref):
    """Inclusion-exclusion over every subset: exact in any dimension, for small sets."""
    F = [f for f in F if np.all(f < ref)]
    total = 0.0
    for k in range(1, len(F) + 1):
        for subset in itertools.combinations(F, k):
            corner = np.max(subset, axis=0)
            total += (-1) ** (k + 1) * np.prod(ref - corner)
    return total


@pytest.mark.parametrize("m", [2, 3, 5])
@pytest.mark.parametrize("seed", range(6))
def test_front_and_hypervolume_match_brute_force(m, seed):
    rng = np.random.default_rng(seed)
    n = 9 if m == 5 else 11
    F = rng.integers(0, 5, size=(n, m)).astype(float)  # small integers: many ties
    F[1] = F[0]  # an exact duplicate
    mask = non_dominated(F)
    assert (mask == oracle_front(F)).all()
    assert mask[0] == mask[1]  # duplicates share their fate
    ref = reference_point(F) + 1
    assert hypervolume(F, ref) == pytest.approx(oracle_hypervolume(F, ref))
    assert hypervolume(F[mask], ref) == pytest.approx(hypervolume(F, ref))


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_hypervolume_gains_match_brute_force(m, seed):
    rng = np.random.default_rng(seed)
    front = rng.integers(0, 6, size=(7, m)).astype(float)
    front = front[non_dominated(front)]
    points = np.vstack([rng.uniform(-1, 7, size=(20, m)), front[:1]])  # some beyond ref
    ref = np.full(m, 5.5)
    gains = hypervolume_gains(front, points, ref)
    base = oracle_hypervolume(front, ref)
    expected = [oracle_hypervolume(np.vstack([front, p]), ref) - base for p in points]
    assert gains == pytest.approx(expected, abs=1e-9)
    assert gains[-1] == pytest.approx(0.0)  # a member of the front adds nothing
    assert hypervolume_gains(front[:0], points, ref) == pytest.approx(
        [oracle_hypervolume(p[None], ref) for p in points]
    )


def test_points_beyond_the_reference_add_nothing():
    F = np.array([[1.0, 2.0], [2.0, 1.0], [5.0, 0.0], [3.0, 3.0]])
    assert hypervolume(F, np.array([3.0, 3.0])) == pytest.approx(3.0)
    assert hypervolume(np.empty((0, 2)), np.array([1.0, 1.0])) == 0.0


def test_maximized_objectives_are_negated():
    values = np.array([[90.0, 5.0], [80.0, 2.0], [70.0, 6.0]])
    F = to_minimization(values, [True, False])
    assert F.tolist() == [[-90.0, 5.0], [-80.0, 2.0], [-70.0, 6.0]]
    assert non_dominated(F).tolist() == [True, True, False]
    ideal = F.min(axis=0)
    assert normalized_hypervolume(F, reference_point(F), ideal) == pytest.approx(
        (10 * 1 + 10 * 4) / (20 * 4)
    )
