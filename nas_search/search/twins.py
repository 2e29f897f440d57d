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
measured configuration is not worth measuring: its result is already known.

Until a run has measured one pair of twins it learns nothing and judges nothing a twin;
measured values that only look equal by noise (latency) are never exactly equal, so a space
without twins is left alone.
"""

from __future__ import annotations

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


def close_pairs(A: np.ndarray, B: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` of the rows of ``A`` and ``B`` that differ in 1 to ``radius`` genes."""
    found_i, found_j = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    for start in range(0, len(A), 256):  # in blocks: memory stays flat as the run grows
        changed = (A[start : start + 256, None, :] != B[None, :, :]).sum(axis=2)
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
        self.tree = None
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
        ``MAX_PAIRS``, drawn with the seed beyond that); the number of twin pairs seen (0:
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
        if len(others) > MAX_PAIRS:  # memory and time stay bounded as the run grows
            rng = np.random.default_rng(self.seed)
            others = np.sort(rng.choice(others, MAX_PAIRS, replace=False))
        keep = np.sort(np.concatenate([np.nonzero(label)[0], others]))
        i, j, label = i[keep], j[keep], label[keep]
        tree = DecisionTreeClassifier(random_state=self.seed, min_samples_leaf=1)
        self.tree = tree.fit(self._features(vectors[i], vectors[j]), label)
        return twins

    def twins(self, candidates: np.ndarray) -> np.ndarray:
        """Whether each candidate is judged the twin of a measured configuration."""
        candidates = np.asarray(candidates, dtype=np.int64)
        judged = np.zeros(len(candidates), dtype=bool)
        if self.tree is None or len(candidates) == 0:
            return judged
        column = list(self.tree.classes_).index(True)
        for start in range(0, len(candidates), 64):  # in blocks: memory stays flat
            block = candidates[start : start + 64]
            i, j = close_pairs(block, self.measured, self.radius)
            if len(i) == 0:
                continue
            proba = self.tree.predict_proba(self._features(block[i], self.measured[j]))
            judged[start + np.unique(i[proba[:, column] >= THRESHOLD])] = True
        return judged
