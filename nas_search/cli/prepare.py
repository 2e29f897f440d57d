"""Getting an evaluator ready before measuring, with progress for slow set-ups (training)."""

from __future__ import annotations

from nas_search.cli.monitor import Mode, epoch_view, notice_of
from nas_search.evaluation import Evaluator


def prepare(evaluator: Evaluator, mode: Mode) -> None:
    """Call the evaluator's ``prepare`` with a progress view and notices."""
    with epoch_view("training super-network", mode) as on_epoch:
        evaluator.prepare(on_epoch=on_epoch, notice=notice_of(mode))
