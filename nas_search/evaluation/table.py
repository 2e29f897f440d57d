"""The ``table`` evaluator: look a config up in a CSV (plain or gzipped) keyed by parameters.

A per-layer parameter's column holds the active layers' values as a JSON list (``[3, 4, 4]``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, StrictStr

from nas_search.csvfile import read_csv
from nas_search.errors import EvaluationFailed, EvaluatorError
from nas_search.evaluation.base import BaseEvaluator, ExactFunction
from nas_search.evaluation.spec import EvaluatorSpec
from nas_search.space import SearchSpace


class TableSpec(EvaluatorSpec):
    type: Literal["table"]
    path: StrictStr = Field(description="CSV file, plain or .gz, relative to the space file")
    key: dict[StrictStr, StrictStr] | None = Field(
        None, description="parameter -> column (default: every varying parameter, same name)"
    )


def _normal(value: Any) -> Any:
    """One comparable form for config values and table cells."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_normal(v) for v in value)
    return str(value)


class TableEvaluator(BaseEvaluator):
    computes_exact = True  # exact metrics are looked up like the others

    def __init__(
        self,
        spec: TableSpec,
        base_dir: Path,
        where: str,
        metrics: list[str] | None,
        exact_function: ExactFunction | None,
        space: SearchSpace,
    ) -> None:
        import pandas as pd

        path = Path(spec.path)
        self.path = path if path.is_absolute() else base_dir / path
        frame = read_csv(self.path, f"{where}evaluator.path: {spec.path}", EvaluatorError)
        key = spec.key or {p.name: p.name for p in space.parameters if not p.is_fixed}
        for param, column in key.items():
            if param not in space.params:
                raise EvaluatorError(f"{where}evaluator.key: {param!r} is not a parameter")
            if column not in frame.columns:
                raise EvaluatorError(  # its columns are the file's content: not shown
                    f"{where}evaluator.key.{param}: no column {column!r} in {self.path.name} "
                    f"({len(frame.columns)} columns)"
                )
        numeric = [
            c
            for c in frame.columns
            if c not in key.values()
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]
        chosen = list(metrics) if metrics is not None else numeric
        for k, m in enumerate(chosen + [m for m in spec.exact if m not in chosen]):
            if m not in numeric:
                field = "metrics" if k < len(chosen) else "exact"
                raise EvaluatorError(
                    f"{where}evaluator.{field}: {m!r} is not a numeric column of {self.path.name}"
                )
        super().__init__(chosen, spec.exact, exact_function)
        self.key = key
        self.layered = {p.name for p in space.parameters if p.per_layer is not None}
        columns = [self._column(frame, p, c) for p, c in key.items()]
        self._index: dict[tuple[Any, ...], int] = {}
        for row, values in enumerate(zip(*columns, strict=True)):
            previous = self._index.setdefault(values, row)
            if previous != row:
                raise EvaluatorError(
                    f"{where}evaluator.path: {self.path.name} has two rows (lines "
                    f"{previous + 2} and {row + 2}) for one sub-network"
                )
        wanted = list(dict.fromkeys(list(self.metrics) + list(self.exact_metrics)))
        self._names = wanted
        self._values = frame[wanted].to_numpy(dtype=float)

    def _column(self, frame: Any, param: str, column: str) -> list[Any]:
        cells = frame[column].tolist()
        if param not in self.layered:
            return [_normal(c) for c in cells]
        try:
            return [_normal(json.loads(c)) for c in cells]
        except (TypeError, ValueError):
            raise EvaluatorError(
                f"evaluator.key.{param}: column {column!r} must hold JSON lists like [3, 4]"
            ) from None

    def _row(self, config: dict[str, Any]) -> int:
        values = tuple(_normal(config.get(p)) for p in self.key)
        row = self._index.get(values)
        if row is None:
            shown = ", ".join(f"{p}={config.get(p)!r}" for p in self.key)
            raise EvaluationFailed(f"not in table {self.path.name}: {shown}")
        return row

    def _lookup(self, config: dict[str, Any], names: tuple[str, ...]) -> dict[str, float]:
        row = self._values[self._row(config)]
        return {m: float(row[self._names.index(m)]) for m in names}

    def evaluate(self, config: dict[str, Any]) -> Mapping[str, float]:
        return self._lookup(config, self.metrics)

    def exact(self, config: dict[str, Any]) -> Mapping[str, float]:
        if self._exact_function is not None:
            return super().exact(config)
        return self._lookup(config, self.exact_metrics)
