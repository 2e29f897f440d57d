"""Predicted objectives of sub-networks: one predictor per measured objective, exact
objectives computed (never predicted), everything in minimization form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nas_search.config import SpaceDefinition
from nas_search.encoding import vector_key
from nas_search.errors import EvaluationFailed
from nas_search.evaluation import Evaluator
from nas_search.search.features import FeatureMap


class ExactCache:
    """The evaluator's exact metrics of vectors, computed once per sub-network (NaN: failed)."""

    def __init__(self, definition: SpaceDefinition, evaluator: Evaluator) -> None:
        self.space = definition.space
        self.evaluator = evaluator
        self.names = list(evaluator.exact_metrics)
        self._cache: dict[bytes, np.ndarray] = {}

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        out = np.empty((len(vectors), len(self.names)))
        for k, v in enumerate(vectors):
            key = vector_key(v)
            row = self._cache.get(key)
            if row is None:
                try:
                    values = self.evaluator.exact(self.space.decode(v))
                    row = np.array([float(values[m]) for m in self.names])
                except EvaluationFailed:
                    row = np.full(len(self.names), np.nan)
                self._cache[key] = row
            out[k] = row
        return out


class Surrogate:
    def __init__(self, definition: SpaceDefinition, evaluator: Evaluator, predictor: Any) -> None:
        self.objectives = list(definition.objectives)
        self.signs = np.array([o.sign for o in self.objectives])
        self.exact = ExactCache(definition, evaluator)
        self.features = FeatureMap(definition.space)
        self.predictor = predictor  # a name, or an estimator object given through the API
        self.name = predictor if isinstance(predictor, str) else type(predictor).__name__
        self.predicted = [
            k for k, o in enumerate(self.objectives) if o.name not in self.exact.names
        ]
        self.exact_columns = {
            k: self.exact.names.index(o.name)
            for k, o in enumerate(self.objectives)
            if o.name in self.exact.names
        }
        self.models: dict[int, Any] = {}
        #: predicted objectives whose model gives no spread (its std is 0, not a measure)
        self.without_spread: set[int] = set()
        #: predicted objectives measured non-negative on every row: predictions stop at 0
        self.non_negative: set[int] = set()

    def _X(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        exact = self.exact(vectors) if self.exact.names else np.zeros((len(vectors), 0))
        filled = np.nan_to_num(exact, nan=0.0)
        if exact.size:
            filled = np.sign(filled) * np.log1p(np.abs(filled))  # exact metrics span decades
        return self.features.transform(vectors, filled), exact

    def fit(self, vectors: np.ndarray, measured: np.ndarray, seed: int) -> dict[str, Any]:
        """Fit on measured objective values (rows: vectors; columns: objectives, own units)."""
        from predictors import gives_std, make_predictor

        X, _ = self._X(vectors)
        info: dict[str, Any] = {}
        self.without_spread, self.non_negative = set(), set()
        for k in self.predicted:
            # auto keeps its object: its model choice is cached per training prefix
            model = self.models.get(k) if self.predictor == "auto" else None
            if model is None:
                model = make_predictor(self.predictor, seed + k)
            model.set_params(random_state=seed + k)
            model.fit(X, self.signs[k] * measured[:, k])
            self.models[k] = model
            if not gives_std(model):
                self.without_spread.add(k)
            if len(measured) and np.all(measured[:, k] >= 0):  # latency, MACs, size, ...
                self.non_negative.add(k)
            entry: dict[str, Any] = {"model": getattr(model, "choice_", self.name)}
            scores = getattr(model, "scores_", None)
            if scores:
                entry["cv"] = {kind: s.as_dict() for kind, s in scores.items()}
            info[self.objectives[k].name] = entry
        return info

    def save(self, vectors: np.ndarray, measured: np.ndarray, directory: Path) -> None:
        """Write each predictor with its training rows (no pickle: JSON and numpy arrays),
        and ``features.json`` naming the columns."""
        import json

        from predictors import save

        X, _ = self._X(vectors)
        directory.mkdir(parents=True, exist_ok=True)
        names = self.features.names + [f"log|{m}|" for m in self.exact.names]
        (directory / "features.json").write_text(json.dumps(names, indent=1) + "\n")
        for k in self.predicted:
            target = self.signs[k] * measured[:, k]
            save(self.models[k], X, target, directory / self.objectives[k].name)

    def shown(self, k: int, value: float) -> float:
        """A predicted value of objective ``k`` (own units) as written out: an objective
        measured non-negative on every row (latency, MACs, size) is not shown below 0, where
        extrapolating predictors can reach."""
        return max(value, 0.0) if k in self.non_negative else value

    def predict(
        self, vectors: np.ndarray, return_std: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean and std (minimization form; std 0 unless ``return_std``, and where the model
        gives none) of every objective, and the rows whose exact metrics could not be computed.
        The search ranks with these as they are; :meth:`shown` is what a person is shown."""
        X, exact = self._X(vectors)
        n, m = len(vectors), len(self.objectives)
        mean, std = np.zeros((n, m)), np.zeros((n, m))
        for k in self.predicted:
            if return_std:
                mean[:, k], std[:, k] = self.models[k].predict(X, return_std=True)
            else:
                mean[:, k] = self.models[k].predict(X)
        for k, column in self.exact_columns.items():
            mean[:, k] = self.signs[k] * exact[:, column]
        broken = np.isnan(exact).any(axis=1) if exact.size else np.zeros(n, dtype=bool)
        return mean, std, broken
