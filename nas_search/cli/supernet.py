"""``nas-search supernet train``: weight-sharing training of a space's super-network."""

from __future__ import annotations

from pathlib import Path

import typer

from nas_search.catalog import DEFAULT_SPACE, load_space
from nas_search.cli.app import app
from nas_search.cli.monitor import epoch_view, notice_of, setup_logging, view_mode
from nas_search.cli.output import stdout
from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluatorError, UsageError
from nas_search.evaluation import build_evaluator
from nas_search.evaluation.image_supernet import ImageSupernetEvaluator
from nas_search.evaluation.transformer import TransformerEvaluator

supernet_app = typer.Typer(
    help="Train (vit, cnn) or fine-tune (transformer) the super-network of a space.",
    no_args_is_help=True,
)
app.add_typer(supernet_app, name="supernet")
Elastic = ImageSupernetEvaluator | TransformerEvaluator


def supernet_evaluator(definition: SpaceDefinition, *kinds: type[Elastic]) -> Elastic:
    """The space's evaluator, where it is one of ``kinds`` (default: any with a super-network)."""
    kinds = kinds or (ImageSupernetEvaluator, TransformerEvaluator)
    evaluator = build_evaluator(definition)
    if not isinstance(evaluator, kinds):
        names = {ImageSupernetEvaluator: "'vit' or 'cnn'", TransformerEvaluator: "'transformer'"}
        wanted = " or ".join(names[k] for k in kinds)
        hint = " (it has no super-network)"
        if isinstance(evaluator, ImageSupernetEvaluator):
            hint = " (nas-search supernet train is for it)"
        elif isinstance(evaluator, TransformerEvaluator):
            hint = " (nas-search supernet finetune is for it)"
        raise EvaluatorError(
            f"{definition.source}: evaluator.type: needs {wanted}, got "
            f"{getattr(definition.file.evaluator, 'type', None)!r}{hint}"
        )
    return evaluator


def image_evaluator(definition: SpaceDefinition) -> ImageSupernetEvaluator:
    evaluator = supernet_evaluator(definition, ImageSupernetEvaluator)
    assert isinstance(evaluator, ImageSupernetEvaluator)
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
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Errors only on stderr."),
    log: bool = typer.Option(
        False, "--log", help="A plain log line per epoch, even in a terminal."
    ),
) -> None:
    """Train with the sandwich rule (largest, smallest and random sub-networks each step) and
    write the checkpoint atomically. ``run`` uses it without training again."""
    definition = load_space(space)
    evaluator = image_evaluator(definition)
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
    mode = view_mode(quiet, log)
    setup_logging(mode)
    with epoch_view("training super-network", mode) as on_epoch:
        report = evaluator.train(target, on_epoch, epochs)
    stdout.print(
        f"Trained in {report['seconds']} s; validation accuracy "
        f"{report['largest_val_acc']:.2f}% (largest), {report['smallest_val_acc']:.2f}% "
        f"(smallest); test accuracy {report['largest_test_acc']:.2f}% (largest)"
    )
    stdout.print(f"Checkpoint: {target}")


@supernet_app.command("finetune")
def finetune(
    space: str = typer.Option(
        ..., "--space", "-s", help="Space file (evaluator.type: transformer)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Checkpoint to write (default: evaluator.checkpoint or the cache).",
    ),
    force: bool = typer.Option(False, "--force", help="Fine-tune even if the checkpoint exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Errors only on stderr."),
    log: bool = typer.Option(
        False, "--log", help="A plain log line per epoch, even in a terminal."
    ),
) -> None:
    """Make a pretrained model elastic while fine-tuning it on the space's task (InstaTune:
    the full model and random sub-networks each step, distilled from the full model) and
    write the checkpoint atomically. ``run`` uses it without fine-tuning again."""
    definition = load_space(space)
    evaluator = supernet_evaluator(definition, TransformerEvaluator)
    assert isinstance(evaluator, TransformerEvaluator)
    if evaluator.spec.data is None:
        raise EvaluatorError(
            f"{definition.source}: evaluator.data: fine-tuning needs data, got null"
        )
    target = out or evaluator.weights_path()
    if target is None:
        raise UsageError(
            "--out: the space has neither evaluator.finetune nor evaluator.checkpoint; "
            "say where to write the checkpoint"
        )
    if target.exists() and not force:
        stdout.print(f"{target} exists; --force fine-tunes again")
        return
    mode = view_mode(quiet, log)
    setup_logging(mode)
    with epoch_view("fine-tuning", mode) as on_epoch:
        report = evaluator.finetune(target, on_epoch, notice_of(mode))
    stdout.print(
        f"Fine-tuned in {report['seconds']} s; validation accuracy "
        f"{report['largest_val_acc']:.2f}% (full model), {report['smallest_val_acc']:.2f}% "
        f"(smallest); test accuracy {report['largest_test_acc']:.2f}% (full model)"
    )
    stdout.print(f"Checkpoint: {target}")
