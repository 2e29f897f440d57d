"""Single regressors behind one wrapper: standardized targets, mean and standard deviation.

``ridge`` is Bayesian ridge and ``gp`` a Gaussian process (both with their own predictive
std); ``rf`` and ``extra_trees`` give the spread of their trees; ``svr``, ``mlp`` and
``xgboost`` give 0 (use them inside an :class:`~predictors.ensemble.Ensemble` for a spread).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from predictors.base import as_generator_seed

KINDS = ("ridge", "gp", "svr", "rf", "extra_trees", "mlp", "xgboost")


def _ridge(seed: int | None) -> Any:
    from sklearn.linear_model import BayesianRidge

    return BayesianRidge()


def _gp(seed: int | None) -> Any:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(1.0, (1e-2, 1e2), nu=2.5) + WhiteKernel(
        0.1, (1e-6, 1.0)
    )
    return GaussianProcessRegressor(kernel=kernel, normalize_y=False, random_state=seed)


def _svr(seed: int | None) -> Any:
    from sklearn.svm import SVR

    return SVR(C=3.0, epsilon=0.05, gamma="scale")


def _rf(seed: int | None) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=60, max_features=0.5, random_state=seed, n_jobs=1)


def _extra_trees(seed: int | None) -> Any:
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(n_estimators=60, max_features=0.5, random_state=seed, n_jobs=1)


def _mlp(seed: int | None) -> Any:
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(
        hidden_layer_sizes=(48, 48), alpha=1e-3, max_iter=600, random_state=seed, tol=1e-5
    )


def _xgboost(seed: int | None) -> Any:
    from xgboost import XGBRegressor

    return XGBRegressor(
        n_estimators=150,
        max_depth=4,
        learning_rate=0.08,
        subsample=0.9,
        colsample_bytree=0.8,
        min_child_weight=1.0,
        n_jobs=1,
        random_state=seed or 0,
        verbosity=0,
    )


BUILDERS: dict[str, Callable[[int | None], Any]] = {
    "ridge": _ridge,
    "gp": _gp,
    "svr": _svr,
    "rf": _rf,
    "extra_trees": _extra_trees,
    "mlp": _mlp,
    "xgboost": _xgboost,
}


class Regressor:
    """One model of :data:`KINDS` fitted on standardized features and targets."""

    def __init__(self, kind: str = "ridge", random_state: int | np.random.Generator | None = None):
        self.kind = kind
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> Regressor:
        if self.kind not in BUILDERS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        self.x_mean_ = X.mean(axis=0)
        self.x_scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        self.estimator_ = BUILDERS[self.kind](as_generator_seed(self.random_state))
        with warnings.catch_warnings():  # GP bounds and MLP iterations: noise, not news
            warnings.simplefilter("ignore", category=UserWarning)
            warnings.simplefilter("ignore", category=RuntimeWarning)
            Xs, ys = (X - self.x_mean_) / self.x_scale_, (y - self.y_mean_) / self.y_scale_
            self.estimator_.fit(Xs, ys)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        X = (np.asarray(X, dtype=float) - self.x_mean_) / self.x_scale_
        est = self.estimator_
        if self.kind in ("ridge", "gp"):
            mean, std = est.predict(X, return_std=True)
        elif self.kind in ("rf", "extra_trees"):
            per_tree = np.stack([tree.predict(X) for tree in est.estimators_])
            mean, std = per_tree.mean(axis=0), per_tree.std(axis=0)
        else:
            mean, std = est.predict(X), np.zeros(len(X))
        mean = np.asarray(mean) * self.y_scale_ + self.y_mean_
        std = np.asarray(std) * self.y_scale_
        return (mean, std) if return_std else mean
