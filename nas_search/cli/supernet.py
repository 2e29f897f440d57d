"""``nas-search supernet train``: weight-sharing training of a space's super-network."""

from __future__ import annotations

from pathlib import Path

import typer

from nas_search.catalog import DEFAULT_SPACE, load_space
from nas_search.cli.app import app
from nas_search.cli.output import stdout
from nas_search.cli.prepare import epoch_progress
from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluatorError, UsageError
from nas_search.evaluation import build_evaluator
from nas_search.evaluation.vit import VitEvaluator

supernet_app = typer.Typer(help="Train the super-network of a space.", no_args_is_help=True)
app.add_typer(supernet_app, name="supernet")


def vit_evaluator(definition: SpaceDefinition) -> VitEvaluator:
    evaluator = build_evaluator(definition)
    if not isinstance(evaluator, VitEvaluator):
        raise EvaluatorError(
            f"{definition.source}: evaluator.type: has no super-network, "
            f"got {getattr(definition.file.evaluator, 'type', None)!r} (needs 'vit')"
        )
    return evaluator


@supernet_app.command("train")
def train(
    space: str = typer.Option(DEFAULT_SPACE, "--space", "-s", help="Space file or shipped name."),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Checkpoint to write (default: evaluator.checkpoint or the cache).",
    ),
    epochs: int | None = typer.Option(None, min=1, help="Override evaluator.train.epochs."),
    force: bool = typer.Option(False, "--force", help="Train even if the checkpoint exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train with the sandwich rule (largest, smallest and random sub-networks each step) and
    write the checkpoint atomically. ``run`` uses it without training again."""
    definition = load_space(space)
    evaluator = vit_evaluator(definition)
    if epochs is not None and out is None:
        raise UsageError("--epochs: changes the weights, so it needs --out (a checkpoint path)")
    target = out or evaluator.weights_path()
    if evaluator.spec.data is None:
        raise EvaluatorError(f"{definition.source}: evaluator.data: training needs data, got null")
    if target is None:
        raise UsageError(
            "--out: the space has neither evaluator.train nor evaluator.checkpoint; "
            "say where to write the checkpoint"
        )
    if target.exists() and not force:
        stdout.print(f"{target} exists; --force trains again")
        return
    with epoch_progress("training super-network", quiet) as on_epoch:
        report = evaluator.train(target, on_epoch, epochs)
    stdout.print(
        f"Trained in {report['seconds']} s; validation accuracy "
        f"{report['largest_val_acc']:.2f}% (largest), {report['smallest_val_acc']:.2f}% "
        f"(smallest); test accuracy {report['largest_test_acc']:.2f}% (largest)"
    )
    stdout.print(f"Checkpoint: {target}")
