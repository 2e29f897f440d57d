"""The typer application, its global options and the one place errors are converted."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import typer
from typer._click import exceptions as click_errors  # typer vendors click
from typer.core import TyperGroup

from nas_search._version import __version__
from nas_search.errors import NasSearchError


def one_line(message: str) -> str:
    """A message on one line: a user's value (a file's content, a path) may hold newlines."""
    return " ".join(str(message).split("\n")).strip()


def _fail(message: str, code: int) -> None:
    typer.echo(f"nas-search: error: {one_line(message)}", err=True)
    sys.exit(code)


def _os_error(exc: OSError) -> str:
    """``file: reason`` of an operating-system error (disk full, no such directory, ...)."""
    name = exc.filename if exc.filename is not None else ""
    return f"{name}: {exc.strerror or type(exc).__name__}" if name else str(exc.strerror or exc)


def _usage_message(exc: Exception) -> str:
    """click's message for a bad flag, in this tool's words and with the value given."""
    message = str(exc.format_message())  # type: ignore[attr-defined]
    message = message.replace("Input should be", "must be").replace("Value error, ", "")
    message = re.sub(r"^Invalid value for '([^']+)': ", r"\1: ", message)
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors) and "got " not in message:
        found = errors()
        if found and "input" in found[0] and repr(found[0]["input"]) not in message:
            message = message.rstrip(".") + f", got {found[0]['input']!r}"
    return message


class _Group(TyperGroup):
    """Every error the user can cause becomes one line on stderr and an exit status: the
    library's typed errors, click's usage errors (a bad flag value) and the operating
    system's (a full disk, a missing directory). ``--debug`` shows the traceback instead."""

    def invoke(self, ctx: Any) -> Any:  # typer.Context; its base class is private to typer
        try:
            return super().invoke(ctx)
        except (NasSearchError, OSError) as exc:
            if (ctx.obj or {}).get("debug") or os.environ.get("NAS_SEARCH_DEBUG"):
                detail = getattr(exc, "detail", None)
                if detail:  # the user's own code raised: its traceback first
                    typer.echo(f"The evaluator's traceback:\n{detail}", err=True)
                raise
            if isinstance(exc, OSError):
                _fail(_os_error(exc), 1)
            else:
                _fail(str(exc), exc.exit_code)

    def main(  # type: ignore[override]
        self, args: Any = None, prog_name: Any = None, *, standalone_mode: bool = True, **kw: Any
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, standalone_mode=False, **kw)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **kw)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click_errors.UsageError as exc:
            _fail(_usage_message(exc), exc.exit_code)
        except click_errors.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except typer.Abort:
            _fail("aborted", 1)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="nas-search",
    cls=_Group,
    help="Hardware-aware, multi-objective sub-network search.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nas-search {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks instead of one-line errors."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = {"debug": debug}


def main() -> None:
    app()
