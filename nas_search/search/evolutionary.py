"""The ``evolutionary`` tactic: the pymoo algorithm on real evaluations only.

Each generation the algorithm asks for is measured for real, then told. Genomes already
measured are answered from the history (never measured twice); infeasible ones are never
measured and go back as constraint violations; failed ones as infinitely bad. The
algorithm's state is a function of the seed and the history alone: a resumed run replays the
journal's answers through ask/tell and reaches exactly the generation it was in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nas_search.config import SpaceDefinition
from nas_search.encoding import vector_key
from nas_search.evaluation import Evaluator
from nas_search.search.algorithms import (
    PENALTY,
    asked_population,
    make_algorithm,
    make_problem,
    population_size,
    set_scores,
)
from nas_search.search.history import Evaluation, History, Proposal
from nas_search.search.random_tactic import RandomTactic
from nas_search.search.tactic import Tactic, iteration_rng, register_tactic

#: spawn key of the first population's generator, apart from every iteration's
FIRST_POPULATION = 2**32 - 1


class EvolutionaryTactic(Tactic):
    def __init__(self, definition: SpaceDefinition, evaluator: Evaluator) -> None:
        self.space = definition.space
        self.settings = definition.settings
        self.objectives = definition.objectives
        self.signs = np.array([o.sign for o in self.objectives])
        self.sampler = RandomTactic(definition, evaluator)
        self.exact = evaluator.exact if self.space.needs_metrics else None
        self.algorithm: Any = None
        self.asked: Any = None  # the generation being measured

    def _setup(self, history: History) -> None:
        from pymoo.core.termination import NoTermination

        name, n_obj = self.settings.algorithm, len(self.objectives)
        size = population_size(name, self.settings.population, n_obj)
        # the first population: feasible samples drawn from the run seed alone
        start = self.sampler.feasible_unseen(
            History(self.space), size, iteration_rng(self.settings.seed, FIRST_POPULATION)
        )
        if len(start) < size:
            start = start[np.resize(np.arange(len(start)), size)]
        self.algorithm = make_algorithm(name, self.space, n_obj, self.settings.population, start)
        self.algorithm.setup(
            make_problem(self.space, n_obj, name),
            termination=NoTermination(),
            seed=self.settings.seed,
            verbose=False,
        )

    def propose(
        self, history: History, limit: int, rng: np.random.Generator
    ) -> list[Proposal] | None:
        if self.algorithm is None:
            self._setup(history)
        done: dict[bytes, Evaluation] = {
            vector_key(e.proposal.vector): e for e in history.evaluations
        }
        for _ in range(10_000):  # generations replayed or answered; a bound, not a budget
            if self.asked is None:
                self.asked = self.algorithm.ask()
            pop = asked_population(self.asked)
            if pop is None or len(pop) == 0:  # no new offspring (a tiny space): go on at random
                self.asked = None
                unseen = self.sampler.feasible_unseen(history, min(self.settings.batch, limit), rng)
                return [Proposal.of(self.space, x) for x in unseen]
            X = self.space.canonical(np.round(pop.get("X")).astype(np.int64))
            violations = np.array([len(v) for v in self.space.violations(X, self.exact)])
            todo: dict[bytes, np.ndarray] = {}
            for x, bad in zip(X, violations, strict=True):
                key = vector_key(x)
                if not bad and key not in done and not history.is_seen(x):
                    todo.setdefault(key, x)
            if todo:
                picked = list(todo.values())[: min(self.settings.batch, limit)]
                return [Proposal.of(self.space, x) for x in picked]
            # members still being measured: the generation is told after them
            pairs = zip(X, violations, strict=True)
            if any(not bad and vector_key(x) not in done for x, bad in pairs):
                return None
            F = np.array([self._scores(done.get(vector_key(x))) for x in X])
            set_scores(self.settings.algorithm, pop, F, violations)
            self.algorithm.tell(infills=self.asked)
            self.asked = None
        return []

    def _scores(self, evaluation: Evaluation | None) -> np.ndarray:
        if evaluation is None or not evaluation.ok:  # infeasible (scored by G) or failed
            return np.full(len(self.objectives), PENALTY)
        return np.array([evaluation.metrics[o.name] for o in self.objectives]) * self.signs


@register_tactic("evolutionary", "the algorithm on real evaluations only")
def _evolutionary(definition: SpaceDefinition, evaluator: Evaluator) -> EvolutionaryTactic:
    return EvolutionaryTactic(definition, evaluator)
