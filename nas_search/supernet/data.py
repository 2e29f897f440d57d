"""Image classification data for a super-network: scikit-learn's bundled digits, or the user's
own arrays (``.npz`` with ``x`` and ``y``), split once by seed into train / validation / test.

The validation split is what real evaluations measure; training never sees it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nas_search.errors import EvaluatorError

DIGITS = "digits"


@dataclass(frozen=True)
class Splits:
    """Normalized images (N, C, H, W) float32 and labels int64; ``digest`` names the data."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    digest: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32)[:, None], bunch.target.astype(np.int64)


def _arrays(path: Path, field: str) -> tuple[np.ndarray, np.ndarray]:
    at = f"{field}: {path}"
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("x", "y") if k not in npz.files]
            if missing:
                raise EvaluatorError(f"{at}: needs arrays 'x' and 'y', has {sorted(npz.files)}")
            x, y = npz["x"], npz["y"]
    except FileNotFoundError:
        raise EvaluatorError(f"{field}: no such file, got {str(path)!r}") from None
    except (OSError, ValueError) as exc:
        raise EvaluatorError(f"{at}: not a readable .npz ({exc})") from None
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or not np.issubdtype(x.dtype, np.number):
        raise EvaluatorError(
            f"{at}: x must be numbers shaped (N, H, W) or (N, C, H, W), got {x.dtype} {x.shape}"
        )
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise EvaluatorError(
            f"{at}: y must be {len(x)} non-negative integer labels, got {y.dtype} {y.shape}"
        )
    if not np.isfinite(x).all():
        raise EvaluatorError(f"{at}: x holds NaN or infinite values")
    return x.astype(np.float32), y.astype(np.int64)


def split_indices(
    y: np.ndarray, *, seed: int, validation: float, test: float, field: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of train / validation / test, split once by ``seed`` (stratified by label
    where every label has 3 samples or more)."""
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 3 else None
    rows = np.arange(len(y))
    try:
        rest, held_out = train_test_split(
            rows, test_size=test, random_state=seed, stratify=stratify
        )
        train, val = train_test_split(
            rest,
            test_size=validation / (1 - test),
            random_state=seed,
            stratify=y[rest] if stratify is not None else None,
        )
    except ValueError as exc:
        raise EvaluatorError(f"{field}: {len(y)} samples cannot be split ({exc})") from None
    return train, val, held_out


def load_splits(
    source: str, base_dir: Path, *, seed: int, validation: float, test: float, field: str
) -> Splits:
    """Load ``digits`` or an ``.npz`` (relative to ``base_dir``) and split it, stratified.

    Images are standardized per channel with the training split's mean and deviation.
    """
    if source == DIGITS:
        x, y = _digits()
    else:
        path = Path(source)
        x, y = _arrays(path if path.is_absolute() else base_dir / path, field)
    train, val, held_out = split_indices(
        y, seed=seed, validation=validation, test=test, field=field
    )
    x_train, y_train, x_val, y_val = x[train], y[train], x[val], y[val]
    x_test, y_test = x[held_out], y[held_out]
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    h = hashlib.sha256()
    for array in (x, y):
        h.update(str(array.shape).encode())
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(f"{seed}/{validation}/{test}".encode())

    def norm(a: np.ndarray) -> np.ndarray:
        return ((a - mean) / std).astype(np.float32)

    return Splits(
        norm(x_train), y_train, norm(x_val), y_val, norm(x_test), y_test, h.hexdigest()[:16]
    )
