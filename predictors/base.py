"""The predictor protocol: scikit-learn's regressor contract plus a standard deviation."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Predictor(Protocol):
    """``fit(X, y)`` returns ``self``; ``predict(X)`` returns the mean and, with
    ``return_std=True``, also a standard deviation (0 where a model has no notion of one)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> Predictor: ...

    def predict(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]: ...


def as_generator_seed(random_state: int | np.random.Generator | None) -> int | None:
    """An int seed for libraries that take one, from None, an int or a Generator."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return None if random_state is None else int(random_state)
    return int(random_state.integers(0, 2**31 - 1))
