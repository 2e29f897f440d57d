"""Config dict <-> canonical integer vector <-> stable hash.

A config maps every parameter to its value (a list of the active layers' values for a
per-layer parameter). Its canonical form is the decode of its canonical vector: same
sub-network, same canonical config, same hash, in every process and on every machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nas_search.domains import same_value
from nas_search.errors import CandidateError
from nas_search.space import SearchSpace


def config_problems(space: SearchSpace, config: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
    """The vector of ``config`` and every problem found with its values (not constraints)."""
    problems: list[str] = []
    if not isinstance(config, Mapping):
        return np.zeros(space.n_genes, dtype=np.int64), [
            f"config must be a mapping of parameter to value, got {config!r}"
        ]
    for key in config:
        if key not in space.params:
            problems.append(f"{key}: not a parameter of space {space.name!r}")
    vector = np.zeros(space.n_genes, dtype=np.int64)
    for p in space.parameters:
        if p.name not in config:
            if not p.is_fixed:
                problems.append(f"{p.name}: missing")
            continue
        value = config[p.name]
        if p.domain is None:
            if not _same(value, p.value):
                problems.append(f"{p.name}: is fixed at {p.value!r}, got {value!r}")
            continue
        s = space.slots[p.name]
        if p.per_layer is None:
            index = p.domain.index_of(value)
            if index is None:
                problems.append(f"{p.name}: must be {p.domain.describe()}, got {value!r}")
            else:
                vector[s.start] = index
            continue
        if not isinstance(value, (list, tuple)):
            problems.append(f"{p.name}: must be a list (one value per layer), got {value!r}")
            continue
        length = _active_length(space, config, p.per_layer)
        if length is not None and len(value) != length:
            problems.append(
                f"{p.name}: needs {length} values ({p.per_layer} = {length}), got {len(value)}"
            )
        for k, item in enumerate(value[: s.stop - s.start]):
            index = p.domain.index_of(item)
            if index is None:
                problems.append(f"{p.name}[{k}]: must be {p.domain.describe()}, got {item!r}")
            else:
                vector[s.start + k] = index
    return vector, problems


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return same_value(a, b)


def _active_length(space: SearchSpace, config: Mapping[str, Any], length_name: str) -> int | None:
    length = space.params[length_name]
    if length.domain is None:
        return int(length.value)
    value: Any = config.get(length_name)
    return None if length.domain.index_of(value) is None else int(value)


def validate_config(
    space: SearchSpace,
    config: Mapping[str, Any],
    exact: Callable[[dict[str, Any]], Mapping[str, float]] | None = None,
) -> tuple[np.ndarray | None, list[str]]:
    """Every problem with ``config``: illegal values, per-layer lengths, then constraints
    (those naming exact metrics only where ``exact`` computes them)."""
    vector, problems = config_problems(space, config)
    if problems:
        return None, problems
    vector = space.canonical(vector)[0]
    for source in space.violations(vector[None, :], exact, check_metrics=exact is not None)[0]:
        problems.append(f"violates constraint {source!r}")
    return (None if problems else vector), problems


def encode(space: SearchSpace, config: Mapping[str, Any]) -> np.ndarray:
    """Canonical vector of a config; :class:`CandidateError` lists every problem otherwise."""
    vector, problems = config_problems(space, config)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CandidateError(
            f"config does not fit space {space.name!r}: {problems[0]}{more}", problems
        )
    return space.canonical(vector)[0]


def canonical_config(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    return space.decode(encode(space, config))


def canonical_json(value: Any) -> str:
    """The one serialization used for hashing: sorted keys, no spaces, shortest floats."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(value: Any, length: int = 16) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:length]


def vector_hash(space: SearchSpace, vector: np.ndarray) -> str:
    """Stable hash of the sub-network a vector stands for."""
    return digest(space.decode(space.canonical(vector)[0]))


def config_hash(space: SearchSpace, config: Mapping[str, Any]) -> str:
    return digest(canonical_config(space, config))


def vector_key(vector: np.ndarray) -> bytes:
    """Cheap in-process identity of a canonical vector (for seen-sets)."""
    return np.ascontiguousarray(vector, dtype=np.int64).tobytes()
