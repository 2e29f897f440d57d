"""Plots of a front: every point in grey, the front highlighted (matplotlib, no display)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from nas_search.results.tables import ParetoReport


def plot_front(report: ParetoReport, path: Path, title: str = "") -> None:
    """Two objectives: one scatter with the front as a step line; more: every pair."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [o.name for o in report.objectives]
    pairs = list(combinations(range(len(names)), 2)) if len(names) > 1 else [(0, 0)]
    cols = min(3, len(pairs))
    rows = int(np.ceil(len(pairs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False)
    for ax, (a, b) in zip(axes.ravel(), pairs, strict=False):
        x_all, y_all = report.rows[names[a]].astype(float), report.rows[names[b]].astype(float)
        ax.scatter(x_all, y_all, s=12, c="0.7", label=f"evaluated ({len(report.rows)})")
        front = report.front
        x, y = front[names[a]].astype(float).to_numpy(), front[names[b]].astype(float).to_numpy()
        ax.scatter(x, y, s=28, c="tab:red", zorder=3, label=f"Pareto front ({len(front)})")
        if len(names) == 2 and len(x):
            order = np.argsort(x)
            ax.plot(x[order], y[order], c="tab:red", lw=1, ls="--", zorder=2)
        ax.set_xlabel(f"{names[a]} ({report.objectives[a].direction})")
        ax.set_ylabel(f"{names[b]} ({report.objectives[b].direction})")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    for ax in axes.ravel()[len(pairs) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
