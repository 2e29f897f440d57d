"""What a command shows while it works, on stderr: in a terminal a live view that refreshes on
its own; elsewhere (a pipe, a file, nohup, SLURM, CI) or with ``--log``, one plain log line per
batch (and per training epoch) through :mod:`logging`; with ``--quiet``, errors only.

A log line is ``logfmt``: a timestamp, the space's name, then ``key=value`` pairs that a script
can split on spaces and ``=``::

    2026-11-30 08:41:07 nb201 batch=4 evaluations=50/250 failed=0 hypervolume=412.8 \
best.test_acc=93.37 best.latency=3.614 tau.test_acc=0.644 elapsed=6s eta=24s
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from nas_search.cli.output import fmt, stderr
from nas_search.config import SpaceDefinition
from nas_search.records import ProgressRecord
from nas_search.search import Evaluation, History, Monitor

Mode = Literal["live", "log", "quiet"]
#: the live view redraws once a second: often enough for the clock and the ETA, rarely
#: enough not to disturb latency measurements running meanwhile (ten a second flagged most
#: of them as unstable on a 2-core machine)
REFRESH_PER_SECOND = 1.0

log = logging.getLogger("nas_search")


def view_mode(quiet: bool = False, plain: bool = False) -> Mode:
    """``quiet`` wins; a live view only where stderr is a terminal and ``plain`` is not asked."""
    if quiet:
        return "quiet"
    return "log" if plain or not stderr.is_terminal else "live"


def setup_logging(mode: Mode) -> None:
    """Log lines to stderr (``nas_search`` logger): INFO in log mode, WARNING otherwise."""
    for handler in list(log.handlers):
        log.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO if mode == "log" else logging.WARNING)
    log.propagate = False


def duration(seconds: float | None) -> str:
    """``95`` -> ``1m35s``; ``None`` or not finite -> ``?``."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def figures(progress: ProgressRecord) -> list[tuple[str, str]]:
    """The figures of a progress record, as ``(key, value)`` pairs in display order."""
    pairs = [
        ("hypervolume", fmt(progress.hypervolume) if progress.hypervolume is not None else "?")
    ]
    pairs += [(f"best.{name}", fmt(value)) for name, value in progress.best.items()]
    pairs += [
        (f"tau.{name}", "?" if value is None else f"{value:.3f}")
        for name, value in progress.tau.items()
    ]
    return pairs


class RunView(Monitor):
    """The view of one ``run``: a :class:`~nas_search.search.Monitor` fed by the session."""

    def __init__(self, definition: SpaceDefinition, history_successes: int, mode: Mode) -> None:
        self.name = definition.name
        self.budget = definition.settings.budget
        self.mode = mode
        self.phase_name = "starting"
        self.done = self._start_done = history_successes
        self.failed = 0
        self.last: ProgressRecord | None = None
        self._start = time.monotonic()
        self._live: Live | None = None
        if mode == "live":
            self._live = Live(
                get_renderable=self._render,
                console=stderr,
                refresh_per_second=REFRESH_PER_SECOND,
                transient=True,
            )

    # the monitor's hooks -------------------------------------------------------------------
    def phase(self, name: str) -> None:
        self.phase_name = name

    def evaluation(self, evaluation: Evaluation, history: History) -> None:
        self.done, self.failed = history.successes, history.failures

    def batch(self, progress: ProgressRecord, history: History) -> None:
        self.last = progress
        self.done, self.failed = progress.evaluations, progress.failures
        if self.mode == "log":
            log.info(self.line(progress))

    # what is shown -------------------------------------------------------------------------
    def eta(self) -> float | None:
        """Seconds left at this process's pace so far; None before its first success."""
        here = self.done - self._start_done
        if here <= 0:
            return None
        return (time.monotonic() - self._start) / here * max(self.budget - self.done, 0)

    def line(self, progress: ProgressRecord) -> str:
        pairs = [
            ("batch", str(progress.iteration)),
            ("evaluations", f"{progress.evaluations}/{self.budget}"),
            ("failed", str(progress.failures)),
            *figures(progress),
            ("elapsed", duration(time.monotonic() - self._start)),
            ("eta", duration(self.eta())),
        ]
        return f"{self.name} " + " ".join(f"{k}={v}" for k, v in pairs)

    def _render(self) -> Any:
        head = Table.grid(padding=(0, 1))
        for _ in range(5):
            head.add_column()
        bar = ProgressBar(
            total=max(self.budget, 1), completed=min(self.done, self.budget), width=30
        )
        count = f"{self.done}/{self.budget}" + (f" ({self.failed} failed)" if self.failed else "")
        clock = f"{duration(time.monotonic() - self._start)} elapsed, eta {duration(self.eta())}"
        head.add_row(Text(self.name, style="bold"), bar, count, clock, Text(self.phase_name))
        if self.last is None:
            return head
        groups: dict[str, list[str]] = {}
        for key, value in figures(self.last):
            kind, _, name = key.partition(".")
            groups.setdefault(kind, []).append(f"{name} {value}" if name else value)
        lines = [f"after batch {self.last.iteration}: hypervolume {groups['hypervolume'][0]}"]
        lines += [
            f"  {kind}: " + ", ".join(groups[kind]) for kind in ("best", "tau") if kind in groups
        ]
        return Group(head, Text("\n".join(lines), style="dim"))

    def __enter__(self) -> RunView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()


OnEpoch = Callable[[int, int, float], None]


@contextmanager
def epoch_view(title: str, mode: Mode) -> Iterator[OnEpoch]:
    """``on_epoch(epoch, epochs, loss)`` for training: a live bar whose clock moves on its own,
    or one log line per epoch."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    start = time.monotonic()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=stderr,
        disable=mode != "live",
        transient=True,
        refresh_per_second=REFRESH_PER_SECOND,
    )
    task = progress.add_task(title, total=None, note="")
    started = False

    def on_epoch(epoch: int, epochs: int, loss: float) -> None:
        nonlocal started
        if not started:  # shown once training starts: an evaluator may have nothing to train
            progress.start()
            started = True
        note = "" if math.isnan(loss) else f"loss {loss:.3f}"
        progress.update(task, completed=epoch, total=epochs, note=note)
        if mode == "log" and epoch:
            elapsed = time.monotonic() - start
            eta = elapsed / epoch * (epochs - epoch)
            log.info(
                f"{title} epoch={epoch}/{epochs} loss={loss:.4f} "
                f"elapsed={duration(elapsed)} eta={duration(eta)}"
            )

    try:
        yield on_epoch
    finally:
        progress.stop()


def notice_of(mode: Mode, prefix: str = "") -> Callable[[str], None] | None:
    """Where one-off notices go: the terminal, the log, or nowhere."""
    if mode == "quiet":
        return None
    if mode == "log":
        return lambda message: log.info(f"{prefix}{message}")
    return stderr.print
