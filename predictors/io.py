"""Save and load fitted predictors without pickle.

A predictor is written as ``predictor.json`` (its class, settings and what it chose) and
``data.npz`` (the rows it was fitted on); loading rebuilds it and refits on those rows, which
gives the same predictions bit for bit (every model is seeded). An XGBoost model is also
written in XGBoost's own JSON format (``xgboost.json``) for use outside nas-search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from predictors.auto import AutoPredictor
from predictors.ensemble import Ensemble
from predictors.models import KINDS, Regressor

FORMAT = "nas-search/predictor-1"


def _describe(predictor: Any) -> dict[str, Any]:
    if isinstance(predictor, Regressor):
        return {"class": "Regressor", "kind": predictor.kind, "target": predictor.target}
    if isinstance(predictor, Ensemble):
        return {"class": "Ensemble", "kinds": list(predictor.kinds)}
    if isinstance(predictor, AutoPredictor):
        return {
            "class": "AutoPredictor",
            "candidates": list(predictor.candidates),
            "folds": predictor.folds,
            "min_rows": predictor.min_rows,
            "growth": predictor.growth,
            "spread_margin": predictor.spread_margin,
            "choice": predictor.choice_,
            "scores": {k: s.as_dict() for k, s in predictor.scores_.items()},
        }
    raise TypeError(f"cannot save a {type(predictor).__name__}")


def save(predictor: Any, X: np.ndarray, y: np.ndarray, directory: Path) -> None:
    """Write a predictor fitted on ``X``, ``y`` to ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    seed = predictor.random_state
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError("only predictors seeded with an int (or None) can be saved")
    info = {
        "format": FORMAT,
        **_describe(predictor),
        "random_state": None if seed is None else int(seed),
    }
    (directory / "predictor.json").write_text(json.dumps(info, indent=2) + "\n")
    np.savez(directory / "data.npz", X=np.asarray(X, float), y=np.asarray(y, float))
    model = getattr(predictor, "model_", predictor)
    if isinstance(model, Regressor) and model.kind == "xgboost":
        model.estimator_.get_booster().save_model(str(directory / "xgboost.json"))


def load(path: Path) -> Any:
    """Fitted predictors saved by :func:`save`: from a folder holding ``predictor.json``, that
    predictor; from the folder a run writes (``predictors/``, one subfolder per objective) or
    from the run directory itself, a dict of objective -> predictor."""
    path = Path(path)
    if not (path / "predictor.json").exists() and (path / "predictors").is_dir():
        path = path / "predictors"
    if (path / "predictor.json").exists():
        return _load_one(path)
    found = {}
    if path.is_dir():
        found = {
            d.name: _load_one(d)
            for d in sorted(path.iterdir())
            if d.is_dir() and (d / "predictor.json").is_file()
        }
    if not found:
        raise FileNotFoundError(f"{path}: no saved predictor (predictor.json) in it or below")
    return found


def _load_one(directory: Path) -> Any:
    """One predictor. The file only names built-in models: a data file never chooses which
    code is imported (a run's ``sklearn:`` predictor is not rebuilt from it)."""
    info = json.loads((directory / "predictor.json").read_text())
    if info.get("format") != FORMAT:
        raise ValueError(f"{directory}: not a saved predictor (format {info.get('format')!r})")
    with np.load(directory / "data.npz", allow_pickle=False) as data:
        X, y = data["X"], data["y"]
    seed = info["random_state"]
    kind = info["class"]
    named = [info.get("kind")] if kind == "Regressor" else list(info.get("kinds") or [])
    named += [c for c in info.get("candidates") or [] if c != "ensemble"]
    unknown = [k for k in named if k not in KINDS]
    if unknown:
        raise ValueError(f"{directory}: names a model that is not built in ({unknown[0]!r})")
    if kind == "Regressor":
        predictor: Any = Regressor(info["kind"], seed, target=info["target"])
    elif kind == "Ensemble":
        predictor = Ensemble(info["kinds"], seed)
    elif kind == "AutoPredictor":
        predictor = AutoPredictor(
            info["candidates"],
            info["folds"],
            info["min_rows"],
            info["growth"],
            spread_margin=info.get("spread_margin", 0.0),  # saved before it existed: none
            random_state=seed,
        )
    else:
        raise ValueError(f"{directory}: unknown predictor class {kind!r}")
    return predictor.fit(X, y)
