"""pymoo algorithms over integer genomes, driven by ask/tell.

Operators follow pymoo's documented discrete set-up (integer random sampling, SBX with rounding
repair, duplicate elimination) except for mutation. In pymoo's PM, ``prob`` is the chance that
an individual is mutated and ``prob_var`` the chance per gene; but PM perturbs a gene by a small
polynomial step that rounding then undoes: measured on NAS-Bench-201 genomes, PM with rounding
changes 6% of the individuals it "mutates" at its default ``eta=20`` and 50% at ``eta=3``
(``tests/search/test_algorithms.py``). :class:`IntegerMutation` resets each chosen gene (at least
one per mutated individual) to another value drawn uniformly, so every mutation is real, and an
unordered categorical gene is treated as one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nas_search.errors import UsageError
from nas_search.settings import ALGORITHMS
from nas_search.space import SearchSpace

#: algorithms that handle constraints themselves; the others get a penalty on F
_CONSTRAINED = {"nsga2", "agemoea", "nsga3", "unsga3", "ctaea"}
PENALTY = 1e9


def _repair_class() -> type:
    from pymoo.core.repair import Repair

    class CanonicalRepair(Repair):
        """Round, clip to the bounds and zero inactive layers: one genome per sub-network."""

        def __init__(self, space: SearchSpace) -> None:
            super().__init__()
            self.space = space

        def _do(self, problem: Any, X: np.ndarray, **kwargs: Any) -> np.ndarray:
            X = np.clip(np.round(np.asarray(X, dtype=float)), 0, self.space.upper)
            return self.space.canonical(X.astype(np.int64)).astype(float)

    return CanonicalRepair


def _mutation_class() -> type:
    from pymoo.core.mutation import Mutation

    class IntegerMutation(Mutation):
        """Reset chosen genes to a different value, uniformly; at least one gene each."""

        def _do(
            self, problem: Any, X: np.ndarray, random_state: Any = None, **kwargs: Any
        ) -> np.ndarray:
            rng = random_state
            X = np.round(np.asarray(X, dtype=float)).astype(np.int64)
            n, n_var = X.shape
            sizes = np.asarray(problem.xu, dtype=np.int64) + 1
            prob_var = np.asarray(self.get_prob_var(problem, size=n), dtype=float).reshape(-1, 1)
            chosen = rng.random((n, n_var)) < prob_var
            chosen[np.arange(n), rng.integers(0, n_var, size=n)] = True
            chosen &= sizes[None, :] > 1  # a one-value gene cannot change
            shift = rng.integers(1, np.maximum(sizes, 2)[None, :], size=(n, n_var))
            X = np.where(chosen, (X + shift) % sizes[None, :], X)
            return X.astype(float)

    return IntegerMutation


def make_problem(space: SearchSpace, n_obj: int, algorithm: str) -> Any:
    from pymoo.core.problem import Problem

    return Problem(
        n_var=space.n_genes,
        n_obj=n_obj,
        n_ieq_constr=1 if algorithm in _CONSTRAINED else 0,
        xl=np.zeros(space.n_genes),
        xu=space.upper.astype(float),
        vtype=int,
    )


def make_algorithm(
    name: str, space: SearchSpace, n_obj: int, pop_size: int, sampling: np.ndarray | None
) -> Any:
    """A set-up-ready pymoo algorithm; ``sampling`` rows (if given) are its first population."""
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling

    if name not in ALGORITHMS:
        raise UsageError(f"search.algorithm: must be one of {', '.join(ALGORITHMS)}, got {name!r}")
    initial: Any = IntegerRandomSampling() if sampling is None else sampling.astype(float)
    operators: dict[str, Any] = {
        "sampling": initial,
        "crossover": SBX(prob=0.9, eta=5.0, vtype=float, repair=RoundingRepair()),
        "mutation": _mutation_class()(prob=1.0),
        "repair": _repair_class()(space),
    }
    if name in ("nsga3", "unsga3", "ctaea", "moead") and n_obj < 2:
        raise UsageError(f"search.algorithm: {name} needs 2 or more objectives")
    if name == "nsga2":
        from pymoo.algorithms.moo.nsga2 import NSGA2

        return NSGA2(pop_size=pop_size, eliminate_duplicates=True, **operators)
    if name == "agemoea":
        from pymoo.algorithms.moo.age import AGEMOEA

        return AGEMOEA(pop_size=pop_size, eliminate_duplicates=True, **operators)
    ref_dirs = reference_directions(n_obj, pop_size)
    if name == "nsga3":
        from pymoo.algorithms.moo.nsga3 import NSGA3

        return NSGA3(ref_dirs=ref_dirs, pop_size=pop_size, eliminate_duplicates=True, **operators)
    if name == "unsga3":
        from pymoo.algorithms.moo.unsga3 import UNSGA3

        return UNSGA3(ref_dirs=ref_dirs, pop_size=pop_size, eliminate_duplicates=True, **operators)
    if name == "ctaea":
        from pymoo.algorithms.moo.ctaea import CTAEA

        return CTAEA(ref_dirs=ref_dirs, eliminate_duplicates=True, **operators)
    from pymoo.algorithms.moo.moead import MOEAD

    return MOEAD(ref_dirs=ref_dirs, n_neighbors=max(2, min(15, len(ref_dirs) - 1)), **operators)


def reference_directions(n_obj: int, n_points: int) -> np.ndarray:
    from pymoo.util.ref_dirs import get_reference_directions

    if n_obj == 2:
        return np.asarray(get_reference_directions("uniform", 2, n_partitions=max(1, n_points - 1)))
    return np.asarray(get_reference_directions("energy", n_obj, n_points, seed=1))


def set_scores(algorithm_name: str, pop: Any, F: np.ndarray, violations: np.ndarray) -> None:
    """Give a population its objectives: G for algorithms that take constraints, else a penalty
    that puts every infeasible genome behind every feasible one."""
    if algorithm_name in _CONSTRAINED:
        pop.set("F", F, "G", violations[:, None].astype(float))
    else:
        pop.set("F", np.where(violations[:, None] > 0, PENALTY * (1 + violations[:, None]), F))


def asked_population(asked: Any) -> Any:
    """What ``ask()`` returned, as a population: MOEA/D asks for one individual at a time.
    The population shares the individuals, so scores set on it reach the algorithm."""
    from pymoo.core.individual import Individual
    from pymoo.core.population import Population

    return Population.create(asked) if isinstance(asked, Individual) else asked


def population_size(name: str, pop_size: int, n_obj: int) -> int:
    """How many individuals an algorithm asks for at each generation."""
    if name in ("ctaea", "moead"):
        return len(reference_directions(n_obj, pop_size))
    return pop_size
