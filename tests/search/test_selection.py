from __future__ import annotations

import numpy as np
from pymoo.core.population import Population
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair

from nas_search.catalog import load_space
from nas_search.results.pareto import hypervolume_gains
from nas_search.search.algorithms import _mutation_class, make_problem
from nas_search.search.selection import maximin, select_batch, shortfall


def test_first_pick_has_the_largest_hypervolume_gain():
    measured = np.array([[0.0, 10.0], [10.0, 0.0], [6.0, 6.0]])
    mean = np.array([[5.0, 5.0], [2.0, 2.0], [9.0, 9.0]])
    picks = select_batch(measured, mean, np.zeros_like(mean), 2, beta=0.0)
    assert picks[0] == 1 and len(set(picks)) == 2


def test_batch_spreads_instead_of_piling_up():
    measured = np.array([[0.0, 10.0], [10.0, 0.0], [8.0, 8.0]])
    # three near-identical candidates at one spot, one elsewhere
    mean = np.array([[2.0, 6.0], [2.01, 6.0], [2.0, 6.01], [6.0, 2.0]])
    picks = select_batch(measured, mean, np.zeros_like(mean), 2, beta=0.0)
    assert 3 in picks


def test_uncertainty_buys_a_candidate_but_only_a_little():
    measured = np.array([[0.0, 10.0], [10.0, 0.0], [6.0, 6.0]])
    mean = np.array([[5.5, 5.5], [5.8, 5.8]])
    std = np.array([[0.0, 0.0], [50.0, 50.0]])
    assert select_batch(measured, mean, std, 1, beta=1.0) == [1]
    assert select_batch(measured, mean, std, 1, beta=0.0) == [0]


def test_a_batch_takes_one_of_candidates_marked_exclusive():
    measured = np.array([[0.0, 10.0], [10.0, 0.0], [8.0, 8.0]])
    # 0 and 1 are one network under two encodings (the best two); 2 is elsewhere, worse
    mean = np.array([[2.0, 2.0], [2.0, 2.0], [6.0, 3.0], [3.0, 6.0]])
    zeros = np.zeros_like(mean)
    exclusive = np.zeros((4, 4), dtype=bool)
    exclusive[0, 1] = exclusive[1, 0] = True
    free = select_batch(measured, mean, zeros, 3, beta=0.0)
    picks = select_batch(measured, mean, zeros, 3, beta=0.0, exclusive=exclusive)
    assert {0, 1} <= set(free)  # without the mark both would be measured
    assert len({0, 1} & set(picks)) == 1 and {2, 3} <= set(picks)
    # when every other candidate is excluded the batch is smaller, never a repeat
    everything = ~np.eye(4, dtype=bool)
    assert len(select_batch(measured, mean, zeros, 3, beta=0.0, exclusive=everything)) == 1


def test_maximin_spreads():
    points = np.array([[0.0], [0.1], [0.2], [1.0], [0.5]])
    assert maximin(points, 3, 0) == [0, 3, 4]


def test_mutation_really_mutates_where_rounded_pm_does_not():
    space = load_space("nb201").space
    problem = make_problem(space, 2, "nsga2")
    X = space.sample(np.random.default_rng(0), 2000).astype(float)
    pm = PM(prob=1.0, eta=20, vtype=float, repair=RoundingRepair())
    pm_out = np.round(
        pm.do(problem, Population.new(X=X.copy()), random_state=np.random.default_rng(1)).get("X")
    )
    ours = (
        _mutation_class()(prob=1.0)
        .do(problem, Population.new(X=X.copy()), random_state=np.random.default_rng(1))
        .get("X")
    )
    assert np.mean((pm_out != X).any(axis=1)) < 0.2  # rounding undoes most of PM's steps
    assert np.all((ours != X).any(axis=1))  # every individual changes
    assert ours.min() >= 0 and np.all(ours <= space.upper)


def test_shortfall_is_the_additive_epsilon_a_point_needs_to_gain():
    front = np.array([[0.0, 4.0], [2.0, 2.0], [4.0, 0.0]])
    ref = np.array([5.0, 5.0])
    points = np.array([[2.5, 2.5], [1.0, 4.5], [3.0, 3.0], [6.0, 1.0], [1.0, 1.0], [3.0, 1.0]])
    got = shortfall(front, points, ref)
    # brute force: the smallest grid step t at which the moved point gains hypervolume
    steps = np.arange(0.0, 3.0, 0.01)
    for p, need in zip(points, got, strict=True):
        gains = [hypervolume_gains(front, (p - t)[None, :], ref)[0] for t in steps]
        first = steps[np.argmax(np.array(gains) > 1e-12)]
        assert need <= first <= need + 0.011
    assert got[4] == 0.0 and got[5] == 0.0  # not dominated: nothing needed


def test_without_any_gain_the_closest_to_gaining_is_picked():
    measured = np.array([[0.0, 4.0], [2.0, 2.0], [4.0, 0.0]])
    # all dominated: a far corner, one just behind the front, one in between
    mean = np.array([[9.0, 9.0], [2.2, 2.1], [3.0, 3.5]])
    picks = select_batch(measured, mean, np.zeros_like(mean), 3, reference=np.array([5.0, 5.0]))
    assert picks == [1, 2, 0]
