"""Search tactics and the run loop."""

from nas_search.search import evolutionary as _evolutionary  # noqa: F401  (registers it)
from nas_search.search import linas as _linas  # noqa: F401  (registers "linas")
from nas_search.search import random_tactic as _random_tactic  # noqa: F401  (registers "random")
from nas_search.search.history import Evaluation, History, Proposal
from nas_search.search.monitor import Monitor
from nas_search.search.runner import RunOutcome, run_search
from nas_search.search.tactic import Tactic, list_tactics, make_tactic, register_tactic

__all__ = [
    "Evaluation",
    "History",
    "Monitor",
    "Proposal",
    "RunOutcome",
    "Tactic",
    "list_tactics",
    "make_tactic",
    "register_tactic",
    "run_search",
]
