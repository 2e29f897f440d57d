"""``nas-search export``: a candidate as a standalone torch module with its sliced weights."""

from __future__ import annotations

from pathlib import Path

import typer

from nas_search.candidate import read_candidate
from nas_search.cli.app import app
from nas_search.cli.output import stdout
from nas_search.cli.supernet import vit_evaluator
from nas_search.cli.validate import exact_or_invalid, given_space, space_of
from nas_search.encoding import validate_config
from nas_search.errors import CandidateError, EvaluatorError


@app.command()
def export(
    candidate: Path = typer.Argument(..., help="A candidate.json file."),
    out: Path = typer.Option(..., "--out", "-o", help="The .pt file to write."),
    space: str | None = typer.Option(
        None,
        help="Space file, shipped name or run directory (default: the run directory holding "
        "the candidate, else the shipped space of its name).",
    ),
) -> None:
    """Write ``{format, shape, subnet, state_dict}`` for ``torch.load(weights_only=True)``;
    ``nas_search.supernet.vit.ViT.from_export`` rebuilds the module."""
    import torch

    from nas_search.supernet.vit import extract

    cand = read_candidate(candidate)
    definition, _ = space_of(candidate, cand, given_space(space) if space else None)
    evaluator = vit_evaluator(definition)
    vector, problems = validate_config(definition.space, cand.config, exact_or_invalid(evaluator))
    if problems or vector is None:
        raise CandidateError(f"{candidate}: invalid for space {definition.name!r}: {problems[0]}")
    weights = evaluator.weights_path()
    if weights is None or not weights.is_file():
        hint = (
            f"nas-search supernet train --space {definition.path or definition.name}"
            if evaluator.spec.train is not None
            else "set evaluator.checkpoint"
        )
        raise EvaluatorError(
            f"{definition.source}: evaluator.checkpoint: no trained super-network yet ({hint})"
        )
    evaluator.prepare()
    config = definition.space.decode(vector)
    model = extract(evaluator.model, evaluator.subnet(config))
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**model.export(), "candidate": cand.model_dump(exclude_none=True)}, out)
    n = sum(p.numel() for p in model.parameters())
    stdout.print(f"Wrote {out}: {n:,} parameters, from {weights}")
