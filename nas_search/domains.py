"""Domains of parameter values: a list of choices or an integer range, and value equality."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np


def same_value(a: Any, b: Any) -> bool:
    """Equality that keeps booleans, numbers and strings apart (``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Choices:
    """A finite list of legal values, in the order given."""

    values: tuple[Any, ...]

    @property
    def size(self) -> int:
        return len(self.values)

    def index_of(self, value: Any) -> int | None:
        for k, choice in enumerate(self.values):
            if same_value(choice, value):
                return k
        return None

    def value_at(self, index: int) -> Any:
        return self.values[index]

    @cached_property
    def _table(self) -> np.ndarray:
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)
        return np.asarray(self.values) if numeric else np.asarray(self.values, dtype=object)

    def lookup(self, indices: np.ndarray) -> np.ndarray:
        return self._table[indices]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class IntRange:
    """Integers ``low, low + step, ..., high``."""

    low: int
    high: int
    step: int = 1

    @property
    def size(self) -> int:
        return (self.high - self.low) // self.step + 1

    def index_of(self, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if isinstance(value, float) and not value.is_integer():
            return None
        offset = int(value) - self.low
        if offset < 0 or int(value) > self.high or offset % self.step:
            return None
        return offset // self.step

    def value_at(self, index: int) -> int:
        return self.low + int(index) * self.step

    def lookup(self, indices: np.ndarray) -> np.ndarray:
        return self.low + np.asarray(indices, dtype=np.int64) * self.step

    @property
    def values(self) -> range:
        return range(self.low, self.high + 1, self.step)

    def describe(self) -> str:
        step = f" in steps of {self.step}" if self.step != 1 else ""
        return f"an integer from {self.low} to {self.high}{step}"


Domain = Choices | IntRange
