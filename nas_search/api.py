"""The Python API: everything the command line does, for notebooks and training scripts.

``run`` makes the same run as ``nas-search run`` (journal, tables, resume) and returns a
:class:`Result`; :class:`Search` lets you measure in your own loop (ask, measure, tell),
journaled exactly like a run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas_search import catalog
from nas_search.config import SpaceDefinition, load_space_dict, override_settings
from nas_search.errors import UsageError
from nas_search.evaluation import BaseEvaluator, Evaluator, Measurement, build_evaluator
from nas_search.evaluation.base import checked_metrics, error_line
from nas_search.records import Status
from nas_search.results.journal import JOURNAL, read_journal
from nas_search.results.rundir import create_run, load_run, rewrite_settings, update_settings
from nas_search.results.tables import RESULTS, pareto_report
from nas_search.search.runner import run_search
from nas_search.search.session import Session
from nas_search.settings import PREDICTOR_OBJECT

if TYPE_CHECKING:
    import pandas as pd

SpaceLike = str | Path | Mapping[str, Any] | SpaceDefinition


def load_space(space: SpaceLike, *, base_dir: str | Path | None = None) -> SpaceDefinition:
    """A space from a file path, the name of a shipped space (``"nb201"``), or a dict in the
    space file's form (relative paths in it are relative to ``base_dir``, default ``.``)."""
    if isinstance(space, SpaceDefinition):
        return space
    if isinstance(space, Mapping):
        return load_space_dict(
            dict(space), source="<dict>", base_dir=Path(base_dir or ".").resolve()
        )
    return catalog.load_space(space)


def _with(definition: SpaceDefinition, overrides: Mapping[str, Any]) -> SpaceDefinition:
    """Settings overridden; ``predictor`` may be a scikit-learn regressor object."""
    overrides = dict(overrides)
    predictor = overrides.get("predictor")
    if predictor is not None and not isinstance(predictor, str):
        overrides["predictor"] = PREDICTOR_OBJECT
    if not overrides:
        return definition
    definition = definition.with_settings(override_settings(definition.settings, overrides))
    if predictor is not None and not isinstance(predictor, str):
        definition.objects["predictor"] = predictor
    return definition


@dataclass(frozen=True)
class Result:
    """A run's tables: every real evaluation and the measured Pareto front."""

    run_dir: Path
    results: pd.DataFrame
    front: pd.DataFrame
    hypervolume: float  # of the front, on the run's reference point (see ``nas-search pareto``)

    @classmethod
    def of(cls, run_dir: str | Path) -> Result:
        """The tables of the run in ``run_dir``, as they are now."""
        import pandas as pd

        run_dir = Path(run_dir)
        definition = load_run(run_dir)
        path = run_dir / RESULTS
        results = pd.read_csv(path) if path.exists() else pd.DataFrame()
        if results.empty:
            return cls(run_dir, results, results, float("nan"))
        report = pareto_report(results, definition.objectives, source=str(path))
        return cls(run_dir, results, report.front, report.hypervolume)


def run(space: SpaceLike, *, out: str | Path | None = None, **settings: Any) -> Result:
    """Search ``space`` until its budget is spent, as ``nas-search run`` does; ``settings``
    override its ``search:`` section (``budget=50, seed=1, workers=2``). The run directory
    is ``out``, or a fresh ``results/<space>-<time>/``."""
    definition = _with(load_space(space), settings)
    evaluator = build_evaluator(definition)
    try:
        evaluator.prepare()
        run_dir = create_run(definition, Path(out) if out is not None else None)
        run_search(definition, evaluator, run_dir)
    finally:
        evaluator.close()
    return Result.of(run_dir)


def resume(run_dir: str | Path, *, budget: int | None = None, predictor: Any = None) -> Result:
    """Continue the run in ``run_dir`` (stopped any way at all) to its budget, or to a larger
    ``budget``; ``predictor``: the estimator object a run started with one needs again."""
    run_dir = Path(run_dir)
    definition = (
        update_settings(run_dir, {"budget": budget}) if budget is not None else load_run(run_dir)
    )
    if predictor is not None:
        definition.objects["predictor"] = predictor
    evaluator = build_evaluator(definition)
    try:
        evaluator.prepare()
        run_search(definition, evaluator, run_dir)
    finally:
        evaluator.close()
    return Result.of(run_dir)


def report(*run_dirs: str | Path, out: str | Path | None = None, importance: bool = True) -> Path:
    """Write the HTML report of one run or several, as ``nas-search report`` does; returns
    its path (default: ``RUN/report.html`` for one run, ``report.html`` for several)."""
    from nas_search.results.report import write_report

    if not run_dirs:
        raise UsageError("report: give at least one run directory")
    dirs = [Path(d) for d in run_dirs]
    target = (
        Path(out)
        if out is not None
        else (dirs[0] / "report.html" if len(dirs) == 1 else Path("report.html"))
    )
    return write_report(dirs, target, importance)


@dataclass(frozen=True)
class Trial:
    """A sub-network to measure: its id in the run, config, hash and what was predicted."""

    id: int
    config: dict[str, Any]
    hash: str
    predicted: dict[str, float] | None = None
    uncertainty: dict[str, float] | None = None


class _NoEvaluator(BaseEvaluator):
    """Stands for the evaluator of a space that has none: nothing is computed exactly."""

    def __init__(self) -> None:
        super().__init__(())

    def evaluate(self, config: dict[str, Any]) -> Mapping[str, float]:
        raise UsageError("this space has no evaluator: measure it yourself and tell()")


class Search:
    """Ask for sub-networks, measure them your way, tell the results.

    >>> search = Search("nb201", out="runs/mine", budget=20)
    >>> while not search.done:
    ...     for trial in search.ask():
    ...         search.tell(trial, measure(trial.config))   # or tell(trial, failed="why")

    Every ask and tell is journaled as in a run: kill the process at any point and continue
    with ``Search.resume("runs/mine")``; asked trials not told yet are handed out again by
    :attr:`pending`. The space needs no evaluator section (one that it has computes the exact
    metrics the search uses). ``ask`` may be called again while a batch is out: the next one
    is chosen from the batches before it, as with several workers.
    """

    def __init__(self, space: SpaceLike, *, out: str | Path | None = None, **settings: Any) -> None:
        definition = _with(load_space(space), settings)
        run_dir = create_run(definition, Path(out) if out is not None else None)
        self._open(definition, run_dir)

    @classmethod
    def resume(cls, run_dir: str | Path, *, predictor: Any = None) -> Search:
        """The search journaled in ``run_dir``, as it was left (``predictor``: the estimator
        object it was started with, if any)."""
        search = cls.__new__(cls)
        definition = load_run(Path(run_dir))
        if predictor is not None:
            definition.objects["predictor"] = predictor
        search._open(definition, Path(run_dir))
        return search

    def _open(self, definition: SpaceDefinition, run_dir: Path) -> None:
        evaluator: Evaluator
        if definition.file.evaluator is not None:
            evaluator = build_evaluator(definition)
        else:
            evaluator = _NoEvaluator()
        self._evaluator = evaluator
        self._required = [o.name for o in definition.objectives]
        try:
            self._session = Session(definition, evaluator, run_dir, lookahead=1)
        except BaseException:
            evaluator.close()
            raise

    # the loop ------------------------------------------------------------------------------
    def ask(self) -> list[Trial]:
        """The next batch to measure: empty when the budget is spent (or the space has no
        more), or when results of earlier batches are needed first."""
        trials = []
        for record in self._session.propose():
            trials += [Trial(**c) for c in record.candidates]
        return trials

    @property
    def pending(self) -> list[Trial]:
        """Asked for and not told yet (after :meth:`resume` too)."""
        return [
            Trial(i, p.config, p.hash, p.predicted, p.uncertainty)
            for i, _, p in self._session.history.pending
        ]

    def tell(
        self,
        trial: Trial | int,
        metrics: Mapping[str, Any] | None = None,
        *,
        failed: str | None = None,
        seconds: float = 0.0,
    ) -> None:
        """Record what was measured for ``trial`` (its objectives at least), or that
        measuring it failed (``failed``: the reason). Journaled at once."""
        ident = trial.id if isinstance(trial, Trial) else int(trial)
        if not any(i == ident for i, _, _ in self._session.history.pending):
            raise UsageError(f"tell: trial {ident} is not pending (never asked, or told)")
        if (metrics is None) == (failed is None):
            raise UsageError("tell: give the metrics measured, or failed='the reason'")
        if failed is not None:
            measurement = Measurement(Status.FAILED, error=str(failed), seconds=seconds)
        else:
            try:
                values = checked_metrics(metrics, self._required)
            except Exception as exc:
                raise UsageError(f"tell: trial {ident}: {exc}") from None
            measurement = Measurement(Status.OK, metrics=values, seconds=seconds)
        evaluation = self._session.record(ident, measurement)
        if self._session.batch_done(evaluation.iteration):
            self._session.write_tables()

    def optimize(self, function: Callable[[dict[str, Any]], Mapping[str, Any]]) -> Result:
        """Measure with ``function(config) -> metrics`` in this process until the budget is
        spent; an exception, or metrics that are not real numbers, fail that trial."""
        while not self.done:
            trials = self.pending or self.ask()
            if not trials:  # a tactic that waits with every result in: a bug, not a loop
                raise RuntimeError("the search proposed nothing with nothing pending")
            for trial in trials:
                start = time.perf_counter()
                try:
                    values = function(dict(trial.config))
                    self.tell(trial, values, seconds=time.perf_counter() - start)
                except (Exception, SystemExit) as exc:
                    if not any(i == trial.id for i, _, _ in self._session.history.pending):
                        raise
                    reason = exc.args[0] if isinstance(exc, UsageError) else error_line(exc)
                    self.tell(trial, failed=reason, seconds=time.perf_counter() - start)
        return self.result()

    # budget and results --------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """The budget is spent (or the space has no more) and nothing is pending."""
        if self._session.history.pending:
            return False
        return self._session.exhausted or self._session.remaining <= 0

    def extend(self, evaluations: int) -> None:
        """Add ``evaluations`` to the budget (also of a finished search)."""
        if evaluations < 1:
            raise UsageError(f"extend: must add at least 1 evaluation, got {evaluations}")
        session = self._session
        budget = session.settings.budget + evaluations
        definition = _with(session.definition, {"budget": budget})
        rewrite_settings(session.run_dir, definition)
        session.definition, session.settings = definition, definition.settings
        session.exhausted = False

    @property
    def run_dir(self) -> Path:
        return self._session.run_dir

    def result(self) -> Result:
        """The tables as they are now (written when each batch is complete)."""
        self._session.write_tables()
        return Result.of(self.run_dir)

    def close(self) -> None:
        """Write the tables and release the run (another process may resume it then)."""
        try:
            if not read_journal(self.run_dir / JOURNAL)[0]:
                pass  # nothing asked yet: no tables
            elif self.done:
                self._session.finish()
            else:
                self._session.write_tables()
        finally:
            self._session.close()
            self._evaluator.close()

    def __enter__(self) -> Search:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
