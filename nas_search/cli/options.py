"""Command-line flags made from the settings model: one ``--flag`` per ``search:`` field, with
its type (choices listed by ``--help``) and description, so the file and the flags cannot
drift apart."""

from __future__ import annotations

import functools
import inspect
import operator
from collections.abc import Callable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import typer

from nas_search.settings import SearchSettings

#: fields given another way on the command line (``--enqueue FILE``)
NOT_FLAGS = frozenset({"enqueue"})
#: fields that name a file: a path on the command line
PATHS = frozenset({"warm_start"})


def settings_flags() -> list[inspect.Parameter]:
    """A keyword-only parameter per settings field, defaulting to None (not given)."""
    params = []
    for name, field in SearchSettings.model_fields.items():
        if name in NOT_FLAGS:
            continue
        annotation: Any = Path if name in PATHS else _plain(field.annotation)
        help_text = f"search.{name}" + (f": {field.description}" if field.description else "")
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(None, help=help_text),
                annotation=annotation | None,
            )
        )
    return params


def _plain(annotation: Any) -> Any:
    """A type without pydantic's ``Annotated`` markers (``StrictStr`` -> ``str``), for typer."""
    if get_origin(annotation) is Annotated:
        return _plain(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        plain = [_plain(a) for a in get_args(annotation)]
        return functools.reduce(operator.or_, plain)
    return annotation


def with_settings_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command(..., settings)`` as a typer command with every settings flag; ``settings``
    receives the flags given (None where not), file paths made absolute."""
    base = inspect.signature(command, eval_str=True)
    kept = [p for p in base.parameters.values() if p.name != "settings"]
    flags = settings_flags()
    names = [p.name for p in flags]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        settings = {name: kwargs.pop(name) for name in names}
        for name in PATHS:
            if settings.get(name) is not None:
                settings[name] = str(Path(settings[name]).resolve())
        return command(**kwargs, settings=settings)

    wrapper.__signature__ = base.replace(parameters=kept + flags)  # type: ignore[attr-defined]
    del wrapper.__wrapped__  # typer must read the signature above, not the command's
    return wrapper
