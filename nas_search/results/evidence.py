"""What a report shows, as data: runs read back from their directories, hypervolume curves on
one reference point, predictions against measurements with their rank correlation per batch,
and which parameters the fitted predictors lean on. Pure where it can be; no plotting here
(:mod:`nas_search.results.report` draws it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nas_search.config import ObjectiveSpec, SpaceDefinition
from nas_search.errors import ResultsError
from nas_search.records import EvaluationRecord, Status, parse_record
from nas_search.results.journal import JOURNAL, read_journal
from nas_search.results.progress import hypervolume_history, rank_correlation
from nas_search.results.rundir import REFERENCE, load_run, read_run_file
from nas_search.results.tables import ParetoReport, pareto_report, results_frame


@dataclass
class RunData:
    """One run directory, read back: its space, ``run.yaml``, journal and results table."""

    run_dir: Path
    definition: SpaceDefinition
    info: dict[str, Any]
    records: list[dict[str, Any]]
    frame: pd.DataFrame

    @classmethod
    def load(cls, run_dir: Path) -> RunData:
        run_dir = Path(run_dir)
        definition = load_run(run_dir)
        records, _ = read_journal(run_dir / JOURNAL)
        frame = results_frame(definition, records)
        return cls(run_dir, definition, read_run_file(run_dir), records, frame)

    @property
    def label(self) -> str:
        return self.run_dir.name

    def measured_in_order(self, names: Sequence[str]) -> np.ndarray:
        """Objective values of every evaluation in the order they were journaled (NaN where
        it failed)."""
        rows = []
        for record in map(parse_record, self.records):
            if isinstance(record, EvaluationRecord):
                ok = record.status == Status.OK
                rows.append([record.metrics.get(n, np.nan) if ok else np.nan for n in names])
        return np.array(rows, dtype=float).reshape(-1, len(names))


def same_objectives(runs: Sequence[RunData]) -> list[ObjectiveSpec]:
    """The objectives every run shares (same names, directions and bounds), or a one-line
    error naming the run that differs."""
    first = list(runs[0].definition.objectives)
    key = [(o.name, o.direction, o.bound) for o in first]
    for run in runs[1:]:
        theirs = [(o.name, o.direction, o.bound) for o in run.definition.objectives]
        if theirs != key:
            raise ResultsError(
                f"{run.run_dir}: its objectives {theirs} differ from {runs[0].run_dir}'s {key}; "
                "a report compares runs of the same objectives"
            )
    return first


def common_report(runs: Sequence[RunData], objectives: Sequence[ObjectiveSpec]) -> ParetoReport:
    """Every run's measurements together: the reference point (a run's own fixed one when
    there is one run, else each objective's bound or the worst value of all runs) and the
    ideal point (the best of all) that make the runs' hypervolumes comparable."""
    names = [o.name for o in objectives]
    every = pd.concat([r.frame.assign(run=r.label) for r in runs], ignore_index=True)
    every = every.assign(hash=every["run"] + ":" + every["hash"].astype(str))
    stored = runs[0].info.get(REFERENCE) if len(runs) == 1 else None
    reference = [stored[n] for n in names] if isinstance(stored, dict) else None
    return pareto_report(every, objectives, reference, source="the runs")


def hypervolume_curve(
    run: RunData, objectives: Sequence[ObjectiveSpec], common: ParetoReport
) -> np.ndarray:
    """The run's normalized hypervolume (a share of the box between the common ideal and
    reference points) after each evaluation."""
    names = [o.name for o in objectives]
    values = run.measured_in_order(names)
    absolute = hypervolume_history(values, objectives, list(common.reference))
    signs = np.array([o.sign for o in objectives])
    span = (common.reference - common.ideal) * signs
    box = float(np.prod(np.where(span > 0, span, 1.0)))
    return absolute / box


@dataclass
class Predictions:
    """One objective's predictions and what was then measured, per evaluation."""

    name: str
    predicted: np.ndarray
    measured: np.ndarray
    iteration: np.ndarray
    tau_per_batch: list[tuple[int, float]]  # (iteration, Kendall tau) where it is defined
    tau: float | None  # over every predicted evaluation


def predictions(
    frame: pd.DataFrame, objectives: Sequence[ObjectiveSpec], exact: Sequence[str] = ()
) -> list[Predictions]:
    """Per objective that was predicted (not one of the ``exact`` metrics, which are
    computed): predicted against measured, from a results table."""
    found = []
    ok = frame[frame["status"].astype(str) == "ok"] if len(frame) else frame
    for o in objectives:
        column = f"predicted_{o.name}"
        if column not in ok.columns or o.name in exact:
            continue
        rows = ok[ok[column].notna() & ok[o.name].notna()]
        if not len(rows):
            continue
        per_batch = []
        for iteration, batch in rows.groupby("iteration", sort=True):
            tau = rank_correlation(batch[column].tolist(), batch[o.name].tolist())
            if tau is not None:
                per_batch.append((int(str(iteration)), tau))
        found.append(
            Predictions(
                o.name,
                rows[column].to_numpy(dtype=float),
                rows[o.name].to_numpy(dtype=float),
                rows["iteration"].to_numpy(dtype=int),
                per_batch,
                rank_correlation(rows[column].tolist(), rows[o.name].tolist()),
            )
        )
    return found


def feature_group(name: str) -> str:
    """The parameter (or exact metric) a predictor feature is made from, by the names
    :class:`~nas_search.search.features.FeatureMap` gives: ``embed=32``, ``heads[2]``,
    ``sum(mlp_ratio)``, ``count(heads=4)`` -> the parameter; ``count(op0,op1=conv)`` -> the
    shared choice counts; ``log|params_m|`` -> ``exact params_m``."""
    if name.startswith("log|") and name.endswith("|"):
        return f"exact {name[4:-1]}"
    for prefix in ("count(", "sum(", "mean("):
        if name.startswith(prefix) and name.endswith(")"):
            inner = name[len(prefix) : -1].split("=")[0]
            return f"counts over {inner}" if "," in inner else inner
    return name.split("=")[0].split("[")[0]


def permutation_importance(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    repeats: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """How much the model's rank correlation with ``y`` drops when the columns of one group
    are shuffled together (rows permuted as a block), averaged over ``repeats``; groups in
    descending importance. scikit-learn's ``permutation_importance`` shuffles one column at a
    time, which splits a one-hot parameter into pieces that each look unimportant."""
    from predictors import kendall_tau

    rng = np.random.default_rng(seed)
    base = kendall_tau(y, model.predict(X))
    out: dict[str, float] = {}
    for group in dict.fromkeys(groups):
        columns = [k for k, g in enumerate(groups) if g == group]
        drops = []
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[:, columns] = X[rng.permutation(len(X))][:, columns]
            drops.append(base - kendall_tau(y, model.predict(shuffled)))
        out[group] = float(np.mean(drops))
    return dict(sorted(out.items(), key=lambda item: -item[1]))


def parameter_importance(run_dir: Path, repeats: int = 5) -> dict[str, dict[str, float]]:
    """Per predicted objective, the importance of each parameter to the run's fitted
    predictors (``predictors/`` of the run), on their training rows; empty when the run saved
    none (a random run, or a predictor given as an object)."""
    import json

    from predictors import load

    folder = Path(run_dir) / "predictors"
    if not (folder / "features.json").is_file():
        return {}
    names = json.loads((folder / "features.json").read_text())
    groups = [feature_group(n) for n in names]
    found = {}
    for objective, model in load(folder).items():
        with np.load(folder / objective / "data.npz", allow_pickle=False) as data:
            X, y = data["X"], data["y"]
        if X.shape[1] != len(groups) or len(X) < 3:
            continue
        found[objective] = permutation_importance(model, X, y, groups, repeats)
    return found
