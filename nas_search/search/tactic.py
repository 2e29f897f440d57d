"""The tactic protocol (how the next batch is chosen) and the registry of tactics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nas_search.config import SpaceDefinition
from nas_search.errors import UsageError
from nas_search.evaluation import Evaluator
from nas_search.search.history import History, Proposal
from nas_search.search.monitor import Monitor


class Tactic:
    """Chooses the next batch: never-proposed, feasible sub-networks, at most ``limit`` (the
    budget left); an empty list means the space has no more to give, ``None`` that the batch
    needs the results of proposals still pending in ``history`` (the run asks again when every
    earlier batch is measured). All randomness comes from ``rng``.

    ``propose`` is the one method to write; the hooks are no-ops by default: ``state()``
    (JSON-able, journaled with each batch) and ``restore(state)`` (called with the last
    journaled state when a run resumes), ``info`` (journaled with the batch: predictor choices
    and scores) and ``finish(history, run_dir, rng)`` (what a tactic writes when a run ends).
    A tactic may tell ``monitor.phase(name)`` what it is doing (the session sets ``monitor``).
    """

    info: dict[str, Any] = {}
    monitor: Monitor = Monitor()

    def propose(
        self, history: History, limit: int, rng: np.random.Generator
    ) -> list[Proposal] | None:
        raise NotImplementedError

    def state(self) -> dict[str, Any] | None:
        return None

    def restore(self, state: dict[str, Any]) -> None:
        return None

    def finish(self, history: History, run_dir: Path, rng: np.random.Generator) -> None:
        return None


TacticFactory = Callable[[SpaceDefinition, Evaluator], Tactic]
_TACTICS: dict[str, tuple[TacticFactory, str]] = {}


def register_tactic(name: str, summary: str) -> Callable[[TacticFactory], TacticFactory]:
    def decorate(factory: TacticFactory) -> TacticFactory:
        _TACTICS[name] = (factory, summary)
        return factory

    return decorate


def list_tactics() -> dict[str, str]:
    return {name: _TACTICS[name][1] for name in sorted(_TACTICS)}


def require_tactic(name: str, where: str) -> TacticFactory:
    """The factory of tactic ``name``; ``where`` prefixes the error (a file field or a flag)."""
    entry = _TACTICS.get(name)
    if entry is None:
        choices = ", ".join(sorted(_TACTICS))
        raise UsageError(f"{where}: must be one of {choices}, got {name!r}")
    return entry[0]


def make_tactic(definition: SpaceDefinition, evaluator: Evaluator) -> Tactic:
    factory = require_tactic(definition.settings.tactic, f"{definition.source}: search.tactic")
    return factory(definition, evaluator)


def iteration_rng(seed: int, iteration: int) -> np.random.Generator:
    """The generator of one iteration, derived from the run seed alone: a resumed run draws
    exactly what an uninterrupted one would."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(iteration,)))
