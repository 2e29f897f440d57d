"""Arithmetic whose cost is bounded: the grammar's ``**`` and ``*`` refuse results that would
take minutes or gigabytes (huge powers, products of huge integers, strings repeated billions
of times) instead of computing them."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

MAX_EXPONENT = 1024  # |b| in a ** b
MAX_INT_BITS = 1 << 16  # Python integers (constants) beyond this many bits
MAX_STRING = 10_000  # characters of a repeated string


class TooCostly(ArithmeticError):
    """An operation whose result would take minutes or gigabytes to compute."""


def _python_ints(value: Any) -> list[int]:
    """The unbounded (Python) integers in a value: numpy's fixed-width ones cannot blow up."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [v for v in value.ravel() if isinstance(v, int) and not isinstance(v, bool)]
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "OU":
        return [v for v in value.ravel() if isinstance(v, str)]
    return []


def _largest(value: Any) -> float:
    """The largest magnitude among the numbers of a value (0 where there is none)."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int):
        return abs(value)
    if isinstance(value, (float, np.number)):
        return float(np.abs(value))
    if isinstance(value, np.ndarray) and value.size:
        if value.dtype.kind in "iuf":
            return float(np.max(np.abs(value)))
        if value.dtype == object:
            return max((abs(v) for v in value.ravel() if isinstance(v, (int, float))), default=0)
    return 0.0


def bounded_pow(base: Any, exponent: Any) -> Any:
    if _largest(exponent) > MAX_EXPONENT:
        raise TooCostly(f"an exponent above {MAX_EXPONENT}")
    bits = max((b.bit_length() for b in _python_ints(base)), default=0)
    if bits * _largest(exponent) > MAX_INT_BITS:
        raise TooCostly(f"a power of more than {MAX_INT_BITS} bits")
    return operator.pow(base, exponent)


def bounded_mul(left: Any, right: Any) -> Any:
    for text, count in ((left, right), (right, left)):
        longest = max((len(t) for t in _strings(text)), default=-1)
        if longest >= 0 and longest * _largest(count) > MAX_STRING:
            raise TooCostly(f"a repeated string of more than {MAX_STRING} characters")
    bits = [max((v.bit_length() for v in _python_ints(x)), default=0) for x in (left, right)]
    if sum(bits) > MAX_INT_BITS:
        raise TooCostly(f"a product of more than {MAX_INT_BITS} bits")
    return operator.mul(left, right)
