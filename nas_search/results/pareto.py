"""Pareto math as pure functions of numpy arrays, on pymoo's non-dominated sorting and
hypervolume. Every function works in minimization form: multiply a maximized objective by -1
(:func:`to_minimization`) before calling the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_minimization(values: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Objective values with maximized columns negated."""
    values = np.asarray(values, dtype=float).reshape(-1, len(maximize))
    signs = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    return values * signs


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows no other row dominates; equal rows (ties) are all kept."""
    from pymoo.util.nds.non_dominated_sorting import find_non_dominated

    F = np.asarray(F, dtype=float)
    mask = np.zeros(len(F), dtype=bool)
    if len(F):
        mask[find_non_dominated(F)] = True
    return mask


def reference_point(F: np.ndarray) -> np.ndarray:
    """The worst value of each objective: the nadir of all rows, not only the front."""
    return np.asarray(F, dtype=float).max(axis=0)


def hypervolume(F: np.ndarray, ref: np.ndarray) -> float:
    """Volume dominated by ``F`` and bounded by ``ref``; rows not better than ``ref`` add 0."""
    from pymoo.indicators.hv import HV

    F = np.asarray(F, dtype=float)
    ref = np.asarray(ref, dtype=float)
    inside = F[np.all(F < ref, axis=1)]
    if not len(inside):
        return 0.0
    return float(HV(ref_point=ref)(inside))


def hypervolume_gains(front: np.ndarray, points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """For each row of ``points``, the hypervolume ``front`` gains by adding it (alone).

    Two objectives: exact and vectorized (each point's box less the front's staircase clipped
    to it); more: one hypervolume per point."""
    front = np.asarray(front, dtype=float).reshape(-1, len(ref))
    points, ref = np.asarray(points, dtype=float), np.asarray(ref, dtype=float)
    if points.shape[1] != 2:
        base = hypervolume(front, ref) if len(front) else 0.0
        return np.array([hypervolume(np.vstack([front, p]), ref) - base for p in points])
    box = np.prod(np.clip(ref - points, 0.0, None), axis=1)
    if not len(front):
        return box
    # the front clipped to each point's box: (points, front, 2), then a 2-D staircase area
    clipped = np.minimum(np.maximum(front[None, :, :], points[:, None, :]), ref)
    order = np.argsort(clipped[:, :, 0], axis=1, kind="stable")
    x = np.take_along_axis(clipped[:, :, 0], order, axis=1)
    y = np.minimum.accumulate(np.take_along_axis(clipped[:, :, 1], order, axis=1), axis=1)
    widths = np.diff(np.concatenate([x, np.full((len(x), 1), ref[0])], axis=1), axis=1)
    covered = np.sum(widths * (ref[1] - y), axis=1)
    return np.maximum(box - covered, 0.0)


def normalized_hypervolume(F: np.ndarray, ref: np.ndarray, ideal: np.ndarray) -> float:
    """Hypervolume as a fraction of the box between ``ideal`` and ``ref`` (0 to 1)."""
    ref, ideal = np.asarray(ref, dtype=float), np.asarray(ideal, dtype=float)
    span = np.where(ref - ideal > 0, ref - ideal, 1.0)
    return hypervolume((np.asarray(F, dtype=float) - ideal) / span, (ref - ideal) / span)
