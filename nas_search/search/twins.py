"""Twins: configurations that are the same network under another encoding, learned from the
measurements themselves (no help from the user).

In many spaces several encodings are one network (an operation on an edge that carries
nothing, a gene of a layer that is skipped): they measure identically, and a search that does
not know pays for each of them. Nothing says so up front, but every time two measured
configurations come out exactly equal in every objective, the run has seen a pair of twins
and which genes they differ in. :class:`TwinDetector` learns from all measured pairs a few
genes apart (twins or not) when such a difference changes nothing: a decision tree on the
pair's genes and the positions where they differ, so it can learn that a gene does not matter
*given* others (an edge whose source receives nothing). A candidate it judges the twin of a
measured configuration is not worth measuring: its result is already known; and of two
candidates it judges twins of each other, measuring one tells the other (the pair judges any
two configurations, measured or not).

Until a run has measured one pair of twins it learns nothing and judges nothing a twin;
measured values that only look equal by noise (latency) are never exactly equal, so a space
without twins sees no judgments. In any space, two candidates one gene apart are not measured
in one batch (:data:`NEIGHBOURS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

#: pairs this many genes apart or fewer are learned from and judged (twins a search meets are
#: mostly one to three genes apart: it moves in small steps around what it measured; 2 left
#: twins at 3 unjudged, measured on NAS-Bench-201's canonical problem)
RADIUS = 4
#: judged a twin at this probability or more
THRESHOLD = 0.5
#: pairs that are not twins a fit learns from, at most (drawn with the seed beyond): the
#: twins' contrast; every pair up to 250 measurements of a 6-gene space
MAX_PAIRS = 100_000
#: and never more than these bytes of their features (a wide space: many one-hot columns):
#: 37,000 pairs of NAS-Bench-201's 66 columns, above the 28,000 to 33,000 pairs 250
#: measurements of its canonical problem reach; 7,400 of the synthetic ViT-like space's 338
#: (9,000 to 25,000 at 1000 measurements; bound at 40 MB, they were the peak memory there)
FEATURE_BYTES = 10_000_000
#: pairs judged in one call of the tree: their one-hot features stay a few MB in a wide space
JUDGED_AT_ONCE = 4096
#: bytes of the gene comparisons :func:`changed_genes` makes at once
BLOCK_BYTES = 16_000_000
#: candidates this many genes apart are not measured in one batch: waiting costs little (the
#: second can come in the next batch, when the first's measurement says whether that gene
#: matters there), and a batch spread wider teaches the predictors more. Once twins had been
#: seen only, on NAS-Bench-201 (seeds 0-9): canonical distinct of 250 213 -> 222, gap at 100
#: 0.266 -> 0.235, FPGA 0.174 -> 0.121; from the first batch on (summed median gap of the five
#: problems at 50 / 100 / 250): 2.43 / 1.68 / 0.58 -> 2.20 / 1.27 / 0.55, seeds 20-59 at
#: 50 / 100: 2.34 / 1.38 -> 2.24 / 1.40; 2 genes apart was worse on FPGA (0.221 at 100)
NEIGHBOURS = 1


def changed_genes(A: np.ndarray, B: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, changed)`` per block of rows of ``A``: ``changed[r, j]`` is how many genes row
    ``start + r`` of ``A`` and row ``j`` of ``B`` differ in. In blocks of at most
    ``BLOCK_BYTES`` of comparisons: memory stays flat as the run (and ``B``) grows."""
    rows = max(1, min(256, BLOCK_BYTES // max(1, B.size)))
    for start in range(0, len(A), rows):
        yield start, (A[start : start + rows, None, :] != B[None, :, :]).sum(axis=2)


def close_pairs(A: np.ndarray, B: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` of the rows of ``A`` and ``B`` that differ in 1 to ``radius`` genes."""
    found_i, found_j = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    for start, changed in changed_genes(A, B):
        i, j = np.nonzero((changed >= 1) & (changed <= radius))
        found_i.append(i + start)
        found_j.append(j)
    return np.concatenate(found_i), np.concatenate(found_j)


def same_values(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to 12 significant digits: equal rows are measured twins."""
    return np.array([[float(f"{v:.12g}") for v in row] for row in values])


class TwinDetector:
    """Learns which small differences between configurations change nothing, from measured
    pairs; judges candidates against the measured ones."""

    def __init__(self, upper: np.ndarray, radius: int = RADIUS, seed: int = 0) -> None:
        self.sizes = np.asarray(upper, dtype=np.int64) + 1  # values per gene
        self.radius, self.seed = radius, seed
        self.tree: Any = None  # a fitted DecisionTreeClassifier once twins were seen
        self.measured = np.empty((0, len(self.sizes)), dtype=np.int64)

    def _features(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """One-hot genes of both, and where they differ."""
        offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        width = int(self.sizes.sum())
        out = np.zeros((len(a), 2 * width + a.shape[1]), dtype=np.float32)
        rows = np.arange(len(a))[:, None]
        out[rows, offsets + a] = 1.0
        out[rows, width + offsets + b] = 1.0
        out[:, 2 * width :] = a != b
        return out

    def fit(self, vectors: np.ndarray, values: np.ndarray) -> int:
        """Learn from the measured pairs within the radius (all twin pairs; other pairs up to
        ``MAX_PAIRS``, fewer in a wide space whose pairs' features would pass
        ``FEATURE_BYTES``, drawn with the seed beyond that); the number of twin pairs seen (0:
        nothing learned, and :meth:`twins` judges nothing a twin)."""
        from sklearn.tree import DecisionTreeClassifier

        vectors = np.asarray(vectors, dtype=np.int64)
        self.measured, self.tree = vectors, None
        rounded = same_values(values)
        if len({tuple(row) for row in rounded}) == len(rounded):
            return 0  # no two measurements alike: nothing to learn, nothing paired
        i, j = close_pairs(vectors, vectors, self.radius)
        label = (rounded[i] == rounded[j]).all(axis=1)
        twins = int(label.sum()) // 2  # each pair appears both ways
        if twins == 0:
            return 0
        others = np.nonzero(~label)[0]
        width = 2 * int(self.sizes.sum()) + len(self.sizes)  # features of a pair
        most = min(MAX_PAIRS, FEATURE_BYTES // (4 * width))
        if len(others) > most:  # memory and time stay bounded as the run grows
            rng = np.random.default_rng(self.seed)
            others = np.sort(rng.choice(others, most, replace=False))
        keep = np.sort(np.concatenate([np.nonzero(label)[0], others]))
        i, j, label = i[keep], j[keep], label[keep]
        tree = DecisionTreeClassifier(random_state=self.seed, min_samples_leaf=1)
        self.tree = tree.fit(self._features(vectors[i], vectors[j]), label)
        return twins

    def twins(self, candidates: np.ndarray, others: np.ndarray | None = None) -> np.ndarray:
        """Whether each candidate is judged the twin of a measured configuration (or of one of
        ``others``: configurations proposed and still being measured)."""
        candidates = np.asarray(candidates, dtype=np.int64)
        judged = np.zeros(len(candidates), dtype=bool)
        if self.tree is None or len(candidates) == 0:
            return judged
        known = self.measured
        if others is not None and len(others):
            known = np.vstack([known, np.asarray(others, dtype=np.int64)])
        i, j = close_pairs(candidates, known, self.radius)  # both compare in bounded blocks
        judged[np.unique(i[self._judge(candidates[i], known[j])])] = True
        return judged

    def among(self, candidates: np.ndarray) -> np.ndarray:
        """Which pairs of ``candidates`` are ``NEIGHBOURS`` genes apart or judged twins of each
        other (once twins were seen): a symmetric boolean matrix. A batch takes at most one of
        each pair, since measuring one tells the other, or tells whether the genes they differ
        in matter there."""
        candidates = np.asarray(candidates, dtype=np.int64)
        pairs = np.zeros((len(candidates), len(candidates)), dtype=bool)
        if len(candidates) < 2:
            return pairs
        i, j = close_pairs(candidates, candidates, NEIGHBOURS if self.tree is None else self.radius)
        judged = (candidates[i] != candidates[j]).sum(axis=1) <= NEIGHBOURS
        if self.tree is not None:
            judged |= self._judge(candidates[i], candidates[j])
        pairs[i[judged], j[judged]] = True
        return pairs | pairs.T

    def _judge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether each pair ``(a[k], b[k])`` is judged twins (a fitted tree)."""
        judged = np.zeros(len(a), dtype=bool)
        column = list(self.tree.classes_).index(True)
        for start in range(0, len(a), JUDGED_AT_ONCE):  # the features' memory stays bounded
            end = start + JUDGED_AT_ONCE
            proba = self.tree.predict_proba(self._features(a[start:end], b[start:end]))
            judged[start:end] = proba[:, column] >= THRESHOLD
        return judged
