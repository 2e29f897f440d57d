"""Predictor features of sub-networks, derived from the space.

One-hot for categoricals, values scaled to [0, 1] for ordinals and integers, per-layer genes of
active layers only (inactive ones are 0), per-layer aggregates (sum and mean over the active
layers, category counts) that generalize across depths, and the evaluator's exact metrics.
"""

from __future__ import annotations

import numpy as np

from nas_search.domains import Choices
from nas_search.space import Parameter, SearchSpace


def _numeric(p: Parameter) -> bool:
    if isinstance(p.domain, Choices):
        return p.kind != "categorical" and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in p.domain.values
        )
    return p.domain is not None


class FeatureMap:
    """``transform(vectors, exact_values)`` -> features; ``names`` says what each column is."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        # [low, high] of each numeric parameter, for scaling: computed once, not per transform
        self.ranges = {p.name: values_range(p) for p in space.parameters if _numeric(p)}
        # scalar categoricals sharing one list of choices (the edges of a cell, say): how many
        # of them take each value generalizes across positions
        groups: dict[tuple[object, ...], list[str]] = {}
        for p in space.parameters:
            if (
                p.domain is not None
                and p.per_layer is None
                and not _numeric(p)
                and p.domain.size > 1
            ):
                groups.setdefault(tuple(p.domain.values), []).append(p.name)
        self.groups = {g: m for g, m in groups.items() if len(m) > 1}
        self.names: list[str] = []
        for p in space.parameters:
            if p.domain is None:
                continue
            layers = p.per_layer is not None
            width = space.slots[p.name].stop - space.slots[p.name].start
            if _numeric(p):
                self.names += [f"{p.name}[{k}]" for k in range(width)] if layers else [p.name]
                if layers:
                    self.names += [f"sum({p.name})", f"mean({p.name})"]
            else:
                values = list(p.domain.values)
                for k in range(width):
                    prefix = f"{p.name}[{k}]" if layers else p.name
                    self.names += [f"{prefix}={v}" for v in values]
                if layers:
                    self.names += [f"count({p.name}={v})" for v in values]
        for group, members in self.groups.items():
            self.names += [f"count({','.join(members)}={v})" for v in group]

    def transform(self, vectors: np.ndarray, exact_values: np.ndarray | None = None) -> np.ndarray:
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.int64))
        mask = self.space.active_mask(vectors)
        columns: list[np.ndarray] = []
        for p in self.space.parameters:
            if p.domain is None:
                continue
            s = self.space.slots[p.name]
            genes, active = vectors[:, s], mask[:, s]
            if p.name in self.ranges:
                values = np.asarray(p.domain.lookup(genes), dtype=float)
                lo, hi = self.ranges[p.name]
                scaled = np.where(active, (values - lo) / (hi - lo) if hi > lo else 0.0, 0.0)
                columns.append(scaled)
                if p.per_layer is not None:
                    count = np.maximum(active.sum(axis=1, keepdims=True), 1)
                    total = scaled.sum(axis=1, keepdims=True)
                    columns += [total / scaled.shape[1], total / count]
            else:
                size = p.domain.size
                onehot = (genes[:, :, None] == np.arange(size)) & active[:, :, None]
                columns.append(onehot.reshape(len(vectors), -1).astype(float))
                if p.per_layer is not None:
                    columns.append(onehot.sum(axis=1) / genes.shape[1])
        for members in self.groups.values():
            genes = np.stack([vectors[:, self.space.slots[m].start] for m in members], axis=1)
            size = self.space.params[members[0]].domain.size  # type: ignore[union-attr]
            columns.append((genes[:, :, None] == np.arange(size)).sum(axis=1) / len(members))
        if exact_values is not None and exact_values.size:
            columns.append(np.asarray(exact_values, dtype=float))
        return np.hstack(columns)


def values_range(p: Parameter) -> tuple[float, float]:
    assert p.domain is not None
    values = np.asarray(list(p.domain.values), dtype=float)
    return float(values.min()), float(values.max())
