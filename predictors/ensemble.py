"""An ensemble of regressors: mean of the members' means; std from their spread and their own."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from predictors.base import as_generator_seed
from predictors.models import Regressor


class Ensemble(RegressorMixin, BaseEstimator):
    #: the members' disagreement is a spread, whatever the members
    gives_std = True

    def __init__(
        self,
        kinds: Sequence[str] = ("ridge", "extra_trees", "xgboost"),
        random_state: int | np.random.Generator | None = None,
    ):
        self.kinds = tuple(kinds)
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> Ensemble:
        seed = as_generator_seed(self.random_state)
        self.members_ = [
            Regressor(kind, None if seed is None else seed + k).fit(X, y)
            for k, kind in enumerate(self.kinds)
        ]
        return self

    def predict(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        outputs = [m.predict(X, return_std=True) for m in self.members_]
        means = np.stack([o[0] for o in outputs])
        variances = np.stack([o[1] ** 2 for o in outputs])
        mean = means.mean(axis=0)
        std = np.sqrt(variances.mean(axis=0) + means.var(axis=0))
        return (mean, std) if return_std else mean
