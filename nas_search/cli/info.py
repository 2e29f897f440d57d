"""``nas-search spaces`` and ``nas-search schema``: what ships, and the file's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from nas_search.catalog import load_space, shipped_spaces
from nas_search.cli.app import app
from nas_search.cli.output import stdout
from nas_search.config import space_schema
from nas_search.evaluation import evaluator_schemas


@app.command()
def spaces() -> None:
    """List the shipped spaces with their exact number of distinct sub-networks."""
    table = Table(title="Shipped search spaces", title_justify="left")
    for column in ("name", "parameters", "objectives", "evaluator", "sub-networks"):
        table.add_column(
            column, justify="right" if column == "sub-networks" else "left", overflow="fold"
        )
    for path in shipped_spaces():
        definition = load_space(path)
        params = ", ".join(
            p.name + ("[]" if p.per_layer else "")
            for p in definition.space.parameters
            if not p.is_fixed
        )
        objectives = ", ".join(f"{o.name} ({o.direction[:3]})" for o in definition.objectives)
        count = str(definition.space.cardinality())
        if definition.file.constraints:
            count += " before constraints"
        section = definition.file.evaluator
        kind = section.type if section is not None else "-"
        table.add_row(definition.name, params, objectives, kind, count)
    stdout.print(table)


@app.command()
def schema(out: Path | None = typer.Option(None, "--out", "-o", help="Write it here.")) -> None:
    """Print the JSON Schema of space files (for editor completion and checks)."""
    text = json.dumps(space_schema(evaluator_schemas()), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        stdout.print(f"Wrote {out}")
