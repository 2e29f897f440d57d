"""The ``nas-search`` command line: a thin typer layer over the library.

This package is the only place that prints or exits. Library errors
(:class:`~nas_search.errors.NasSearchError`) become one line on stderr and an exit status;
``nas-search --debug ...`` (or ``NAS_SEARCH_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

from nas_search.cli import (  # noqa: F401  (each registers its command)
    export,
    info,
    pareto,
    report,
    run,
    supernet,
    validate,
)
from nas_search.cli.app import app, main

__all__ = ["app", "main"]
