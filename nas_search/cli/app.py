"""The typer application, its global options and the one place errors are converted."""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from nas_search import __version__
from nas_search.errors import NasSearchError


class _Group(TyperGroup):
    def invoke(self, ctx: Any) -> Any:  # typer.Context; its base class is private to typer
        try:
            return super().invoke(ctx)
        except NasSearchError as exc:
            if (ctx.obj or {}).get("debug") or os.environ.get("NAS_SEARCH_DEBUG"):
                raise
            typer.echo(f"nas-search: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


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
