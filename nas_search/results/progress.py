"""How a run progresses, as pure functions: the hypervolume of its measured front on a fixed
reference point after each measurement, the run's reference point, and how well predictions
ranked what was then measured. Values are in the objectives' own units; rows in the order
they were measured, NaN where a measurement failed or lacks an objective."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nas_search.config import ObjectiveSpec
from nas_search.results.pareto import hypervolume, non_dominated, to_minimization


def _minimized(values: np.ndarray, objectives: Sequence[ObjectiveSpec]) -> np.ndarray:
    return to_minimization(values, [o.direction == "maximize" for o in objectives])


def fixed_reference(objectives: Sequence[ObjectiveSpec], values: np.ndarray) -> np.ndarray | None:
    """A run's reference point, fixed once: each objective's ``bound``, else the worst value
    of ``values`` (the first measurements, usually the initial design). None when an objective
    has no bound and no row measured it."""
    values = np.asarray(values, dtype=float).reshape(-1, len(objectives))
    rows = values[~np.isnan(values).any(axis=1)]
    reference = []
    for k, o in enumerate(objectives):
        if o.bound is not None:
            reference.append(float(o.bound))
        elif len(rows):
            column = rows[:, k]
            reference.append(float(column.min() if o.direction == "maximize" else column.max()))
        else:
            return None
    return np.array(reference)


def _useful(
    values: np.ndarray, objectives: Sequence[ObjectiveSpec], reference: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimization form of ``values`` and ``reference``, and which rows can add volume:
    measured, within every bound, better than the reference in every objective."""
    values = np.asarray(values, dtype=float).reshape(-1, len(objectives))
    F = _minimized(values, objectives)
    ref = _minimized(np.asarray(reference, dtype=float), objectives)[0]
    bounds = np.array([o.minimized_bound for o in objectives])
    useful = ~np.isnan(F).any(axis=1)
    useful[useful] = np.all(F[useful] <= bounds, axis=1) & np.all(F[useful] < ref, axis=1)
    return F, ref, useful


def hypervolume_history(
    values: np.ndarray, objectives: Sequence[ObjectiveSpec], reference: Sequence[float]
) -> np.ndarray:
    """The hypervolume of the measured front after each row (a failed row adds nothing; rows
    beyond an objective's bound or not better than ``reference`` in every objective add
    nothing either)."""
    F, ref, useful = _useful(values, objectives, reference)
    out = np.zeros(len(F))
    front = np.empty((0, len(ref)))
    current = 0.0
    for k in range(len(F)):
        if useful[k] and not np.any(np.all(front <= F[k], axis=1)):  # not weakly dominated
            front = np.vstack([front, F[k]])
            front = front[non_dominated(front)]
            current = hypervolume(front, ref)
        out[k] = current
    return out


def front_hypervolume(
    values: np.ndarray, objectives: Sequence[ObjectiveSpec], reference: Sequence[float]
) -> float:
    """The hypervolume of the measured front of ``values`` (the last value of
    :func:`hypervolume_history`, in one computation)."""
    F, ref, useful = _useful(values, objectives, reference)
    inside = F[useful]
    return hypervolume(inside[non_dominated(inside)], ref) if len(inside) else 0.0


def best_values(values: np.ndarray, objectives: Sequence[ObjectiveSpec]) -> dict[str, float]:
    """The best measured value of each objective (objectives nothing measured are left out)."""
    values = np.asarray(values, dtype=float).reshape(-1, len(objectives))
    best = {}
    for k, o in enumerate(objectives):
        column = values[:, k][~np.isnan(values[:, k])]
        if len(column):
            best[o.name] = float(column.max() if o.direction == "maximize" else column.min())
    return best


def rank_correlation(predicted: Sequence[float], measured: Sequence[float]) -> float | None:
    """Kendall tau between predictions and the measurements that followed them; None with
    fewer than three pairs or when either side is constant."""
    from scipy.stats import kendalltau

    pairs = np.array([predicted, measured], dtype=float).reshape(2, -1)
    pairs = pairs[:, ~np.isnan(pairs).any(axis=0)]
    if pairs.shape[1] < 3 or np.ptp(pairs[0]) == 0 or np.ptp(pairs[1]) == 0:
        return None
    return round(float(kendalltau(pairs[0], pairs[1]).statistic), 6)
