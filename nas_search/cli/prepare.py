"""Getting an evaluator ready before measuring, with progress for slow set-ups (training)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nas_search.cli.output import progress_bar, stderr
from nas_search.evaluation import Evaluator

OnEpoch = Callable[[int, int, float], None]


@contextmanager
def epoch_progress(title: str, quiet: bool = False) -> Iterator[OnEpoch]:
    """A progress bar fed by ``on_epoch(epoch, epochs, loss)``."""
    progress = progress_bar(quiet)
    task = progress.add_task(title, total=None, note="")

    def on_epoch(epoch: int, epochs: int, loss: float) -> None:
        progress.update(task, completed=epoch, total=epochs, note=f"loss {loss:.3f}", refresh=True)

    with progress:
        yield on_epoch


def prepare(evaluator: Evaluator, quiet: bool = False) -> None:
    """Call the evaluator's ``prepare`` with a progress bar and notices."""
    with epoch_progress("training super-network", quiet) as on_epoch:
        evaluator.prepare(on_epoch=on_epoch, notice=None if quiet else stderr.print)
