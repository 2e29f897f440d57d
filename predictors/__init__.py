"""Surrogate models for nas-search: a leaf package (it imports nothing from nas_search).

Every predictor follows scikit-learn's regressor contract (``fit(X, y)`` returns ``self``)
and ``predict(X, return_std=True)`` returns a mean and a standard deviation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predictors.auto import AutoPredictor
from predictors.base import Predictor
from predictors.ensemble import Ensemble
from predictors.io import load, save
from predictors.models import EXTERNAL, KINDS, Regressor
from predictors.scoring import Score, cross_val_score, kendall_tau, score

NAMES = ("auto", "ensemble", *KINDS)

__all__ = [
    "NAMES",
    "AutoPredictor",
    "Ensemble",
    "Predictor",
    "Regressor",
    "Score",
    "cross_val_score",
    "gives_std",
    "kendall_tau",
    "load",
    "make_predictor",
    "save",
    "score",
]


def make_predictor(name: Any, random_state: int | np.random.Generator | None = None) -> Any:
    """``auto``, ``ensemble``, one of :data:`~predictors.models.KINDS`, or any scikit-learn
    regressor as ``sklearn:module.Class`` or as an object."""
    if not isinstance(name, str):
        return Regressor(name, random_state)
    if name == "auto":
        return AutoPredictor(random_state=random_state)
    if name == "ensemble":
        return Ensemble(random_state=random_state)
    if name in KINDS or name.startswith(EXTERNAL):
        return Regressor(name, random_state)
    raise ValueError(f"predictor must be one of {', '.join(NAMES)}, got {name!r}")


def gives_std(model: Any) -> bool:
    """Whether a fitted predictor's ``predict(X, return_std=True)`` gives a real spread: a
    model without one (XGBoost, SVR, an MLP, a plain scikit-learn regressor) gives zeros."""
    return bool(getattr(model, "gives_std", False))
