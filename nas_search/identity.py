"""A space's ``canonical`` hook: the user's function that maps a config to the one encoding of
its network (in a cell space, an edge whose source receives nothing computes nothing: set it
to ``none``). Wired into :meth:`SearchSpace.canonical`, it makes identity, and so hashes, the
seen-set, resume and warm start, follow the network rather than the encoding."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nas_search.encoding import config_problems
from nas_search.errors import SpaceError
from nas_search.loading import check_function, load_function
from nas_search.space import SearchSpace

#: vectors whose canonical form is remembered (about 40 MB for a 30-gene space); beyond, the
#: memory starts afresh: the hook is then called again for what is asked again
CACHE_LIMIT = 200_000


class CanonicalHook:
    """Vectors to the canonical vectors of their networks, through ``spec`` (``module:function``
    or ``file.py:function``: config in, canonical config out). The function is imported on
    first use and called once per distinct vector; what it returns must fit the space and be
    its own canonical form."""

    def __init__(self, space: SearchSpace, spec: str, base_dir: Path, source: str) -> None:
        self.space, self.spec, self.base_dir = space, spec, base_dir
        self.where = f"{source}: canonical: "
        check_function(spec, base_dir, self.where, SpaceError)  # imported only when first used
        self._function: Callable[[dict[str, Any]], Any] | None = None
        self._cache: dict[bytes, np.ndarray] = {}

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        out = np.array(vectors, dtype=np.int64, copy=True)
        for k, row in enumerate(out):
            key = row.tobytes()
            found = self._cache.get(key)
            if found is None:
                if len(self._cache) >= CACHE_LIMIT:  # memory stays flat over a long run
                    self._cache.clear()
                found = self._canonical(row)
                self._cache[key] = self._cache[found.tobytes()] = found
            out[k] = found
        return out

    def _call(self, config: dict[str, Any]) -> np.ndarray:
        if self._function is None:
            self._function = load_function(self.spec, self.base_dir, self.where, SpaceError)
        try:
            result = self._function(dict(config))
        except Exception as exc:
            raise SpaceError(
                f"{self.where}{self.spec} raised {type(exc).__name__}: {exc} (config {config})"
            ) from exc
        vector, problems = config_problems(self.space, result)
        if problems:
            raise SpaceError(
                f"{self.where}{self.spec} returned a config that does not fit the space: "
                f"{problems[0]} (given {config})"
            )
        mask = self.space.active_mask(vector[None, :])[0]
        return np.where(mask, vector, 0)

    def _canonical(self, row: np.ndarray) -> np.ndarray:
        first = self._call(self.space.decode(row))
        if not np.array_equal(first, row) and not np.array_equal(
            self._call(self.space.decode(first)), first
        ):
            raise SpaceError(
                f"{self.where}{self.spec} is not idempotent: the canonical form of "
                f"{self.space.decode(first)} is not itself"
            )
        return first
