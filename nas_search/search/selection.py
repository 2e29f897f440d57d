"""Which predicted candidates to measure next: greedy hypervolume gain, optimistic in the
uncertainty, with the chosen ones believed (their predicted means join the front) so that a
batch spreads along the front's gaps instead of piling onto one spot."""

from __future__ import annotations

import numpy as np

from nas_search.results.pareto import hypervolume_gains, non_dominated


def select_batch(
    measured: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    n: int,
    beta: float = 1.0,
    pending: np.ndarray | None = None,
    reference: np.ndarray | None = None,
    exclusive: np.ndarray | None = None,
) -> list[int]:
    """Indices of up to ``n`` candidates; all arrays in minimization form.

    ``measured``: objective values measured so far; ``mean`` / ``std``: predictions for the
    candidates; ``pending``: predicted values of candidates chosen before and still being
    measured, which join the front as if measured. Each pick maximizes the hypervolume the
    front gains from the candidate's optimistic value (``mean - beta * std``); where no
    candidate gains, the one closest to gaining (:func:`shortfall`) is taken: late in a run
    the predictions rarely beat the measured front, and the best bet is then the candidate
    that needs the smallest surprise to improve it, not one far away from everything.

    ``reference``: the hypervolume's reference point (default: the median of ``measured``).
    Gains count only what is better than it in every objective, so a front's extreme arm of
    tiny, useless networks gains nothing.

    ``exclusive``: a symmetric boolean matrix over the candidates; once one is chosen, those
    it marks are not (other encodings of one network, whose measurement one tells the others;
    neighbours, of which the second can wait for the first's measurement).
    """
    if len(mean) == 0 or n <= 0:
        return []
    everything = np.vstack([measured, mean]) if len(measured) else mean
    lo = everything.min(axis=0)
    span = np.where(np.ptp(everything, axis=0) > 0, np.ptp(everything, axis=0), 1.0)
    if reference is None and len(measured):
        reference = np.median(measured, axis=0)
    ref = (reference - lo) / span if reference is not None else np.full(mean.shape[1], 1.1)
    believed = (mean - lo) / span
    # optimism of at most the typical uncertainty: a candidate the predictors are lost on (a
    # huge spread) is not worth more than a typical one
    optimistic = (mean - beta * np.minimum(std, np.median(std, axis=0)) - lo) / span
    if len(measured):  # uncertainty may buy up to the best measured value, not beyond it
        best = (measured.min(axis=0) - lo) / span
        optimistic = np.maximum(optimistic, np.minimum(believed, best))
    front = (measured - lo) / span if len(measured) else np.empty((0, mean.shape[1]))
    if pending is not None and len(pending):
        front = np.vstack([front, (pending - lo) / span])
    front = front[non_dominated(front)] if len(front) else front
    chosen: list[int] = []
    remaining = list(range(len(mean)))
    while len(chosen) < n and remaining:
        gains = hypervolume_gains(front, optimistic[remaining], ref)
        if gains.max() > 1e-12:
            pick = remaining[int(np.argmax(gains))]
        else:  # nobody gains even optimistically: the one closest to gaining
            pick = remaining[int(np.argmin(shortfall(front, optimistic[remaining], ref)))]
        chosen.append(pick)
        remaining.remove(pick)
        if exclusive is not None:
            remaining = [r for r in remaining if not exclusive[pick, r]]
        front = np.vstack([front, believed[pick]])
        front = front[non_dominated(front)]
    return chosen


def shortfall(front: np.ndarray, points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """For each row of ``points`` (minimization), the smallest ``t >= 0`` such that the point
    moved by ``t`` in every objective is better than ``ref`` and not dominated by ``front``:
    how far it is from adding any hypervolume (the additive epsilon indicator)."""
    need = np.max(points - ref, axis=1)
    if len(front):
        behind = np.min(points[:, None, :] - front[None, :, :], axis=2).max(axis=1)
        need = np.maximum(need, behind)
    return np.maximum(need, 0.0)


def maximin(features: np.ndarray, n: int, first: int) -> list[int]:
    """``n`` rows spread out: start at ``first``, then always the row farthest from those taken."""
    if len(features) == 0:
        return []
    taken = [first]
    distance = np.linalg.norm(features - features[first], axis=1)
    while len(taken) < min(n, len(features)):
        pick = int(np.argmax(distance))
        taken.append(pick)
        distance = np.minimum(distance, np.linalg.norm(features - features[pick], axis=1))
    return taken
