"""What a run reports as it goes: hooks the run loop calls, each a no-op by default (the
command line's live view and log lines override them)."""

from __future__ import annotations

from nas_search.records import ProgressRecord
from nas_search.search.history import Evaluation, History


class Monitor:
    """``phase(name)`` when the run starts something that takes time (fitting the
    predictors, searching them, measuring a batch); ``evaluation`` after each real evaluation
    is journaled; ``batch`` after a batch's last one, with the run's progress record."""

    def phase(self, name: str) -> None:
        return None

    def evaluation(self, evaluation: Evaluation, history: History) -> None:
        return None

    def batch(self, progress: ProgressRecord, history: History) -> None:
        return None
