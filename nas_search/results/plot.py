"""Plots of a front (matplotlib, no display): every point in grey, the front as the staircase
it dominates, the bounds and the reference point, and axes fitted to the region that matters
(one degenerate sub-network far away does not squeeze the front into a corner).

The geometry is pure functions (:func:`staircase`, :func:`fitted_limits`), tested on their own;
:func:`draw_front` draws one pair of objectives on a matplotlib axis, with ``gid`` set on the
point collections so that an SVG can be given hover titles (see
:mod:`nas_search.results.report`)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from nas_search.config import ObjectiveSpec
from nas_search.results.tables import ParetoReport

#: how far the axes reach beyond the front, toward worse values, as a share of its span
MARGIN = 0.35


def staircase(
    front: np.ndarray, objectives: Sequence[ObjectiveSpec], reference: Sequence[float] | None
) -> np.ndarray:
    """The boundary of what a 2-objective ``front`` dominates (own units), as points to join
    with straight lines: from the reference's level in the second objective through every
    front point (a horizontal run, then a vertical one) to the reference's level in the first;
    without a reference, from the first point to the last."""
    signs = np.array([o.sign for o in objectives])
    F = np.asarray(front, dtype=float).reshape(-1, 2) * signs
    if not len(F):
        return np.empty((0, 2))
    F = F[np.lexsort((-F[:, 1], F[:, 0]))]  # better first objective first
    points = [F[0]]
    for previous, point in zip(F[:-1], F[1:], strict=True):
        points += [np.array([point[0], previous[1]]), point]
    if reference is not None:
        ref = np.asarray(reference, dtype=float) * signs
        points = [np.array([F[0][0], max(ref[1], F[0][1])]), *points]
        points.append(np.array([max(ref[0], F[-1][0]), F[-1][1]]))
    return np.array(points) * signs


def fitted_limits(
    front: np.ndarray,
    objective: ObjectiveSpec,
    extra: Sequence[float] = (),
    every: np.ndarray | None = None,
) -> tuple[float, float]:
    """Axis limits for one objective: the front's range, reaching ``MARGIN`` of its span
    further toward worse values (and a little toward better), widened to take in ``extra``
    values (a bound, the reference point) that lie within two spans of the front. Front
    members that are outliers on the worse side among ``every`` measured value (more than
    three interquartile ranges beyond the quartile: the 10%-accuracy cell of a cell space) are
    left outside; an outlier on the better side (a very fast network) is what a front is for."""
    values = np.asarray(front, dtype=float)
    values = values[np.isfinite(values)]
    if every is not None and len(values) > 2 and np.isfinite(np.asarray(every, float)).any():
        q1, q3 = np.nanpercentile(np.asarray(every, dtype=float), [25, 75])
        if objective.direction == "maximize":
            inside = values[values >= q1 - 3 * (q3 - q1)]
        else:
            inside = values[values <= q3 + 3 * (q3 - q1)]
        values = inside if len(inside) >= 2 else values
    if not len(values):
        return (0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo or abs(hi) * 0.1 or 1.0
    worse_hi = objective.direction == "minimize"
    lo -= span * (0.05 if worse_hi else MARGIN)
    hi += span * (MARGIN if worse_hi else 0.05)
    for value in extra:
        if np.isfinite(value) and lo - 2 * span <= value <= hi + 2 * span:
            lo, hi = min(lo, value - 0.02 * span), max(hi, value + 0.02 * span)
    return (lo, hi)


def draw_front(
    ax: Any,
    report: ParetoReport,
    a: int,
    b: int,
    reference: Sequence[float] | None = None,
    label: str = "",
    color: str = "tab:red",
    gid: str = "",
) -> int:
    """Objectives ``a`` (x) and ``b`` (y) of ``report`` on ``ax``; returns how many measured
    points fall outside the fitted axes."""
    objectives = report.objectives
    names = [o.name for o in objectives]
    every = report.rows[[names[a], names[b]]].astype(float).to_numpy()
    front = report.front[[names[a], names[b]]].astype(float).to_numpy()
    ref = None if reference is None else [float(reference[a]), float(reference[b])]
    points = ax.scatter(
        every[:, 0], every[:, 1], s=12, c="0.72", label=f"{label}measured ({len(every)})"
    )
    points.set_gid(f"{gid}all-{a}-{b}")
    shown = ax.scatter(front[:, 0], front[:, 1], s=30, c=color, zorder=3,
                       label=f"{label}Pareto front ({len(front)})")  # fmt: skip
    shown.set_gid(f"{gid}front-{a}-{b}")
    if len(objectives) == 2 and len(front):
        line = staircase(front, [objectives[a], objectives[b]], ref)
        ax.plot(line[:, 0], line[:, 1], c=color, lw=1.2, zorder=2)
    limits = []
    bounds = [o.bound for o in objectives]
    for k, axis in ((a, 0), (b, 1)):
        extra = [] if ref is None else [ref[axis]]
        bound = bounds[k]
        if bound is not None:
            extra.append(float(bound))
        values = front[:, axis] if len(front) else every[:, axis]
        limits.append(fitted_limits(values, objectives[k], extra, every[:, axis]))
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    for k, axis in ((a, 0), (b, 1)):
        bound = bounds[k]
        if bound is not None:
            draw = ax.axvline if axis == 0 else ax.axhline
            draw(float(bound), c="0.3", ls="--", lw=1, label=f"bound on {names[k]}")
    if ref is not None and _inside(ref, limits):
        ax.scatter([ref[0]], [ref[1]], marker="x", s=60, c="0.2", zorder=4,
                   label="reference point")  # fmt: skip
    ax.set_xlabel(f"{names[a]} ({objectives[a].direction})")
    ax.set_ylabel(f"{names[b]} ({objectives[b].direction})")
    ax.grid(alpha=0.3)
    return int(sum(not _inside(list(p), limits) for p in every))


def _inside(point: Sequence[float], limits: list[tuple[float, float]]) -> bool:
    return all(lo <= v <= hi for v, (lo, hi) in zip(point, limits, strict=True))


def pair_panels(n: int, size: tuple[float, float]) -> tuple[Any, list[tuple[Any, tuple[int, int]]]]:
    """A figure with one panel per pair of ``n`` objectives (one panel for two), three to a
    row, each ``size`` inches; the axes paired with their objectives' indices."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(combinations(range(n), 2)) or [(0, 0)]
    cols = min(3, len(pairs))
    rows = int(np.ceil(len(pairs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax in axes.ravel()[len(pairs) :]:
        ax.set_visible(False)
    return fig, list(zip(axes.ravel(), pairs, strict=False))


def front_figure(
    report: ParetoReport, title: str = "", reference: Sequence[float] | None = None
) -> Any:
    """A matplotlib figure of the front: two objectives on one panel, more on every pair;
    front members labelled with their ids."""
    fig, panels = pair_panels(len(report.objectives), (5.5, 4.2))
    names = [o.name for o in report.objectives]
    for ax, (a, b) in panels:
        outside = draw_front(ax, report, a, b, reference)
        if "id" in report.front.columns and len(report.front) <= 40:  # a picture has no hover
            for _, row in report.front.iterrows():
                ax.annotate(str(row["id"]), (float(row[names[a]]), float(row[names[b]])),
                            xytext=(3, 3), textcoords="offset points", fontsize=6,
                            annotation_clip=True)  # fmt: skip
        ax.legend(loc="best", fontsize=7)
        if outside:
            ax.set_title(f"{outside} measured points lie beyond these axes", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_front(
    report: ParetoReport, path: Path, title: str = "", reference: Sequence[float] | None = None
) -> None:
    """Write the front's figure to ``path`` (PNG, or SVG by its suffix); the reference point
    drawn is ``reference``, else the report's."""
    import matplotlib.pyplot as plt

    if reference is None:
        reference = [float(v) for v in report.reference]
    fig = front_figure(report, title, reference)
    fig.savefig(path, dpi=120)
    plt.close(fig)
