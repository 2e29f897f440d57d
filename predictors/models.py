"""Single regressors behind one wrapper: standardized targets, mean and standard deviation.

``ridge`` is Bayesian ridge, ``ard`` a sparse linear model (automatic relevance determination)
and ``gp`` a Gaussian process (all three with their own predictive std); ``rf`` and
``extra_trees`` give the spread of their trees; ``svr``, ``mlp`` and ``xgboost`` give 0 (use
them inside an :class:`~predictors.ensemble.Ensemble` for a spread).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from predictors.base import as_generator_seed

KINDS = ("ridge", "ard", "gp", "svr", "rf", "extra_trees", "mlp", "xgboost")
#: the kinds whose models give a predictive spread of their own (the others give 0: none)
WITH_SPREAD = ("ridge", "ard", "gp", "rf", "extra_trees")
#: each kind's target transform where it is not ``rank``: ``ard`` models costs that add up
#: over layers (latency, MACs, parameters), linear in the measured units, which ranks would bend
TARGETS = {"ard": "standard"}
#: a Gaussian process costs cubic time and quadratic memory in its rows: above this many, it
#: is fitted on this many drawn with its seed (1,000 rows would take 85 MB and 2 s per fit).
#: 300, not 400: a LINAS run of 1,000 evaluations spent most of its own time in GP fits
#: (59,040-configuration table: 65 s in all with 400, 39 s with 300); runs of up to 300
#: measurements, all the sample-efficiency benchmark's, fit exactly as before
GP_MAX_ROWS = 300


def _ridge(seed: int | None) -> Any:
    from sklearn.linear_model import BayesianRidge

    return BayesianRidge()


def _ard(seed: int | None) -> Any:
    """Linear with a prior of its own on each feature's weight, most driven to 0: a cost that
    adds up over layers (FPGA latency, MACs, parameters of NAS-Bench-201 are exactly linear in
    the cell's operation counts) is learned from a few rows, where a shared prior (ridge)
    spreads it over every feature. Measured on NAS-Bench-201 (random cells, 8 draws each),
    Kendall tau at 10 / 40 rows: FPGA latency 0.99 / 0.99 (ridge 0.57 / 0.91), Pixel 3
    latency 0.63 / 0.72 (0.47 / 0.66); test accuracy 0.24 / 0.31, worse than ridge (0.36 /
    0.52). Not among ``auto``'s candidates: with it there, LINAS's median gap on
    NAS-Bench-201 (seeds 0-9, 50 / 100 / 250 evaluations, five problems summed) went from
    2.43 / 1.68 / 0.58 to 2.63 / 1.52 / 0.63 (better costs steered batches to the cheap arm
    the median-of-the-design reference point still counts); name it for such a cost."""
    from sklearn.linear_model import ARDRegression

    return ARDRegression()


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

    return RandomForestRegressor(n_estimators=40, max_features=0.5, random_state=seed, n_jobs=None)


def _extra_trees(seed: int | None) -> Any:
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(n_estimators=40, max_features=0.5, random_state=seed, n_jobs=None)


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
    "ard": _ard,
    "gp": _gp,
    "svr": _svr,
    "rf": _rf,
    "extra_trees": _extra_trees,
    "mlp": _mlp,
    "xgboost": _xgboost,
}


#: ``sklearn:package.module.Class``: any regressor with scikit-learn's contract
EXTERNAL = "sklearn:"


def _external(kind: str, seed: int | None) -> Any:
    """An instance of the regressor class ``kind`` names (``sklearn:module.Class``), seeded
    through ``random_state`` where it takes one."""
    module, _, name = kind.removeprefix(EXTERNAL).rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot import regressor {kind!r} ({type(exc).__name__})") from None
    estimator = cls()
    if not hasattr(estimator, "fit") or not hasattr(estimator, "predict"):
        raise ValueError(f"{kind!r} is not a regressor (it has no fit and predict)")
    if seed is not None and "random_state" in getattr(estimator, "get_params", dict)():
        estimator.set_params(random_state=seed)
    return estimator


def build(kind: Any, seed: int | None) -> Any:
    """The unfitted model of ``kind``: one of :data:`KINDS`, ``sklearn:module.Class``, or a
    scikit-learn regressor object (a clone of it is fitted)."""
    if not isinstance(kind, str):
        from sklearn.base import clone

        estimator = clone(kind)
        if seed is not None and "random_state" in estimator.get_params():
            estimator.set_params(random_state=seed)
        return estimator
    if kind.startswith(EXTERNAL):
        return _external(kind, seed)
    if kind not in BUILDERS:
        raise ValueError(
            f"kind must be one of {', '.join(KINDS)} or sklearn:module.Class, got {kind!r}"
        )
    return BUILDERS[kind](seed)


EXTRAPOLATION = 0.1


class RankTarget:
    """Targets as normal scores of their ranks, and back (linear beyond the observed range).

    Search cares about order; a few outliers (NAS-Bench-201's 10%-accuracy cells) would
    otherwise squash the top of the range that the front lives in. Measured on NAS-Bench-201
    test accuracy with 100 random cells, Kendall tau of Bayesian ridge rises from 0.47 to 0.62
    and of a GP from 0.50 to 0.63.
    """

    def fit(self, y: np.ndarray) -> RankTarget:
        from scipy.stats import norm, rankdata

        z = norm.ppf((rankdata(y) - 0.5) / len(y))
        order = np.argsort(z, kind="stable")
        self.z_, self.y_ = z[order], np.asarray(y, dtype=float)[order]
        k = min(5, len(y) - 1)
        low_dz, high_dz = self.z_[k] - self.z_[0], self.z_[-1] - self.z_[-1 - k]
        self.low_slope_ = (self.y_[k] - self.y_[0]) / low_dz if k and low_dz > 0 else 0.0
        self.high_slope_ = (self.y_[-1] - self.y_[-1 - k]) / high_dz if k and high_dz > 0 else 0.0
        self.z_train_ = z
        return self

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Back to target units; beyond the observed range the line of the last few points
        goes on, but for at most ``EXTRAPOLATION`` of the observed span."""
        z = np.asarray(z, dtype=float)
        y = np.interp(z, self.z_, self.y_)
        reach = EXTRAPOLATION * (self.y_[-1] - self.y_[0])
        below = self.y_[0] + np.maximum(self.low_slope_ * (z - self.z_[0]), -reach)
        above = self.y_[-1] + np.minimum(self.high_slope_ * (z - self.z_[-1]), reach)
        return np.where(z < self.z_[0], below, np.where(z > self.z_[-1], above, y))


class Regressor(RegressorMixin, BaseEstimator):
    """One model of :data:`KINDS` (or ``sklearn:module.Class``) fitted on features
    standardized by a :class:`~sklearn.preprocessing.StandardScaler` and on targets
    transformed by ``target``: ``rank`` (normal scores of ranks) or ``standard``; by default
    (None) the kind's own (:data:`TARGETS`, else ``rank``). A scikit-learn estimator:
    ``clone`` and ``set_params(random_state=...)`` work, and it plugs into scikit-learn's
    tools."""

    def __init__(
        self,
        kind: str = "ridge",
        random_state: int | np.random.Generator | None = None,
        target: str | None = None,
    ):
        self.kind = kind
        self.random_state = random_state
        self.target = target

    def fit(self, X: np.ndarray, y: np.ndarray) -> Regressor:
        from sklearn.preprocessing import StandardScaler

        target = self.target or TARGETS.get(str(self.kind), "rank")
        if target not in ("rank", "standard"):
            raise ValueError(f"target must be 'rank' or 'standard', got {self.target!r}")
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        scaler = StandardScaler().fit(X)
        self.x_mean_, self.x_scale_ = scaler.mean_, scaler.scale_
        self.rank_ = RankTarget().fit(y) if target == "rank" else None
        if self.rank_ is not None:
            y = self.rank_.z_train_
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        self.estimator_ = build(self.kind, as_generator_seed(self.random_state))
        with warnings.catch_warnings():  # GP bounds and MLP iterations: noise, not news
            warnings.simplefilter("ignore", category=UserWarning)
            warnings.simplefilter("ignore", category=RuntimeWarning)
            Xs, ys = (X - self.x_mean_) / self.x_scale_, (y - self.y_mean_) / self.y_scale_
            if self.kind == "gp" and len(ys) > GP_MAX_ROWS:
                rng = np.random.default_rng(as_generator_seed(self.random_state))
                keep = np.sort(rng.choice(len(ys), GP_MAX_ROWS, replace=False))
                Xs, ys = Xs[keep], ys[keep]
            self.estimator_.fit(Xs, ys)
        self.n_features_in_ = X.shape[1]
        return self

    @property
    def gives_std(self) -> bool:
        """Whether ``predict(X, return_std=True)`` gives a real spread (not zeros)."""
        return isinstance(self.kind, str) and self.kind in WITH_SPREAD

    def predict(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        X = (np.asarray(X, dtype=float) - self.x_mean_) / self.x_scale_
        est = self.estimator_
        if self.kind in ("ridge", "ard", "gp"):
            mean, std = est.predict(X, return_std=True)
        elif self.kind in ("rf", "extra_trees") and not return_std:
            mean, std = est.predict(X), np.zeros(len(X))
        elif self.kind in ("rf", "extra_trees"):
            per_tree = np.stack([tree.predict(X) for tree in est.estimators_])
            mean, std = per_tree.mean(axis=0), per_tree.std(axis=0)
        else:
            mean, std = est.predict(X), np.zeros(len(X))
        mean = np.asarray(mean) * self.y_scale_ + self.y_mean_
        std = np.asarray(std) * self.y_scale_
        if self.rank_ is not None:
            low, high = self.rank_.inverse(mean - std), self.rank_.inverse(mean + std)
            mean, std = self.rank_.inverse(mean), (high - low) / 2
        return (mean, std) if return_std else mean
