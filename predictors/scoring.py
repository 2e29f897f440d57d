"""How well a predictor ranks: cross-validated Kendall tau and RMSE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from predictors.base import Predictor


@dataclass(frozen=True)
class Score:
    tau: float  # Kendall rank correlation of held-out predictions with the truth
    rmse: float

    def as_dict(self) -> dict[str, float]:
        return {"tau": round(self.tau, 6), "rmse": float(f"{self.rmse:.6g}")}


def kendall_tau(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from scipy.stats import kendalltau

    if len(y_true) < 2 or np.ptp(y_true) == 0 or np.ptp(y_pred) == 0:
        return 0.0
    tau = kendalltau(y_true, y_pred).statistic
    return 0.0 if np.isnan(tau) else float(tau)


def score(y_true: np.ndarray, y_pred: np.ndarray) -> Score:
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    return Score(kendall_tau(y_true, y_pred), float(np.sqrt(np.mean((y_true - y_pred) ** 2))))


def cross_val_score(
    make: Callable[[], Predictor], X: np.ndarray, y: np.ndarray, folds: int, seed: int
) -> Score:
    """Out-of-fold predictions of ``folds``-fold cross-validation, scored together."""
    from sklearn.model_selection import KFold

    folds = max(2, min(folds, len(y) // 2))
    oof = np.empty(len(y))
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(X):
        oof[test] = np.asarray(make().fit(X[train], y[train]).predict(X[test]))
    return score(y, oof)
