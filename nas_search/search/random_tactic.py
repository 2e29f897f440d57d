"""The ``random`` tactic: uniform samples over distinct feasible sub-networks, no repeats.

Small spaces are enumerated and walked in a random order; large ones are sampled uniformly
(per-layer lengths weighted by how many sub-networks each length holds) and filtered.
"""

from __future__ import annotations

import numpy as np

from nas_search.config import SpaceDefinition
from nas_search.encoding import vector_key
from nas_search.errors import SearchStopped
from nas_search.evaluation import Evaluator
from nas_search.search.history import History, Proposal
from nas_search.search.tactic import Tactic, register_tactic
from nas_search.space import ENUMERATION_LIMIT

MAX_DRAWS = 200  # rounds of rejection sampling before a large space is declared too constrained


class RandomTactic(Tactic):
    def __init__(self, definition: SpaceDefinition, evaluator: Evaluator) -> None:
        self.space = definition.space
        self.batch = definition.settings.batch
        self.exact = evaluator.exact if self.space.needs_metrics else None
        self._all: np.ndarray | None = None
        self._feasible: np.ndarray | None = None  # -1 unknown, 0 no, 1 yes

    def propose(self, history: History, limit: int, rng: np.random.Generator) -> list[Proposal]:
        vectors = self.feasible_unseen(history, min(self.batch, limit), rng)
        return [Proposal.of(self.space, v) for v in vectors]

    def feasible_unseen(
        self, history: History, n: int, rng: np.random.Generator, by_gene: bool = False
    ) -> np.ndarray:
        """Up to ``n`` distinct feasible sub-networks never proposed, uniformly at random
        (``by_gene``: drawn gene by gene, see :meth:`SearchSpace.sample`, in spaces too large
        to enumerate)."""
        if self.space.cardinality() <= ENUMERATION_LIMIT:
            vectors = self._walk(history, n, rng)
        else:
            vectors = self._draw(history, n, rng, by_gene)
        return np.array(vectors, dtype=np.int64).reshape(-1, self.space.n_genes)

    def _walk(self, history: History, n: int, rng: np.random.Generator) -> list[np.ndarray]:
        if self._all is None:
            self._all = self.space.enumerate()
            self._feasible = np.full(len(self._all), -1, dtype=np.int8)
        assert self._feasible is not None
        chosen: list[np.ndarray] = []
        order = rng.permutation(len(self._all))
        order = order[[not history.is_seen(self._all[k]) for k in order]]
        for start in range(0, len(order), max(4 * n, 256)):
            chunk = order[start : start + max(4 * n, 256)]
            unknown = chunk[self._feasible[chunk] < 0]
            if len(unknown):
                ok = self.space.feasible(self._all[unknown], self.exact)
                self._feasible[unknown] = ok.astype(np.int8)
            for k in chunk[self._feasible[chunk] == 1][: n - len(chosen)]:
                chosen.append(self._all[k])
            if len(chosen) == n:
                break
        return chosen

    def _draw(
        self, history: History, n: int, rng: np.random.Generator, by_gene: bool = False
    ) -> list[np.ndarray]:
        chosen: list[np.ndarray] = []
        keys: set[bytes] = set()
        for _ in range(MAX_DRAWS):
            batch = self.space.sample(rng, max(4 * n, 64), by_gene)
            fresh = []
            for v in batch:
                key = vector_key(v)
                if key not in keys and not history.is_seen(v):
                    keys.add(key)
                    fresh.append(v)
            if fresh:
                ok = self.space.feasible(np.array(fresh), self.exact)
                chosen += [v for v, good in zip(fresh, ok, strict=True) if good][: n - len(chosen)]
            if len(chosen) == n:
                return chosen
        if not chosen:
            raise SearchStopped(
                f"no new feasible sub-network in {MAX_DRAWS} rounds of sampling: the constraints "
                f"of {self.space.name!r} reject (almost) everything"
            )
        return chosen


@register_tactic("random", "uniform samples over distinct feasible sub-networks")
def _random(definition: SpaceDefinition, evaluator: Evaluator) -> RandomTactic:
    return RandomTactic(definition, evaluator)
