"""Typed errors raised by the library.

The CLI alone turns them into one line on stderr and an exit status; the library never prints
or exits. Every message states the rule and the value received, prefixed by where it comes
from (``file: field.path: ...``) whenever there is a file or a field to name.
"""

from __future__ import annotations

from collections.abc import Sequence


class NasSearchError(Exception):
    """Base class of every error the library raises on purpose."""

    exit_code = 1


class UsageError(NasSearchError):
    """Bad input given by the user: a file, a field, a CLI flag (exit status 2)."""

    exit_code = 2


class SpaceError(UsageError):
    """A search-space file that cannot be read or does not validate."""


class ExpressionError(UsageError):
    """An expression outside the constraint grammar, or naming something unknown."""


class CandidateError(UsageError):
    """A candidate file that cannot be read, or a config that does not fit its space."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class ResultsError(UsageError):
    """A results file or run directory that cannot be read or resumed."""


class EvaluatorError(UsageError):
    """An evaluator that cannot be set up (bad options, missing table, unknown function)."""


class EvaluationFailed(NasSearchError):
    """One real evaluation failed: recorded with its reason, never fatal to a run."""


class SearchStopped(NasSearchError):
    """A run stopped before its budget was spent (e.g. too many failures in a row);
    ``detail``: the last failure's own traceback, if the evaluator raised."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


def where(source: str | None, path: str | None = None) -> str:
    """Format the ``file: field.path: `` prefix of a message."""
    parts = [p for p in (source, path) if p]
    return "".join(f"{p}: " for p in parts)


def first_line(exc: BaseException) -> str:
    """An exception's message, first line only (its type's name where it has none): what a
    one-line error says of a library's failure."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
