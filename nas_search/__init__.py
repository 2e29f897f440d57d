"""nas-search: hardware-aware, multi-objective sub-network search.

``import nas_search`` stays light: heavy libraries (pandas, pymoo, torch, xgboost) load only
in the modules that use them.
"""

from typing import Any

from nas_search._version import __version__

__all__ = [
    "Result",
    "Search",
    "Trial",
    "__version__",
    "load_space",
    "report",
    "resume",
    "run",
]


def __getattr__(name: str) -> Any:
    """The public API (:mod:`nas_search.api`), imported on first use."""
    if name in __all__ and name != "__version__":
        from nas_search import api

        return getattr(api, name)
    raise AttributeError(f"module 'nas_search' has no attribute {name!r}")
