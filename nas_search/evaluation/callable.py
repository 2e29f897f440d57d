"""The ``python`` evaluator: a function of the config dict, imported once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import StrictStr

from nas_search.evaluation.base import BaseEvaluator, ExactFunction
from nas_search.evaluation.loading import load_function
from nas_search.evaluation.spec import EvaluatorSpec


class PythonSpec(EvaluatorSpec):
    """``function``: ``module:function`` or ``file.py:function`` (relative to the space file)."""

    type: Literal["python"]
    function: StrictStr


class PythonEvaluator(BaseEvaluator):
    runs_user_code = True

    def __init__(
        self,
        spec: PythonSpec,
        base_dir: Path,
        where: str,
        metrics: list[str],
        exact_function: ExactFunction | None,
    ) -> None:
        super().__init__(metrics, spec.exact, exact_function)
        self.function = load_function(spec.function, base_dir, f"{where}evaluator.function: ")

    def evaluate(self, config: dict[str, Any]) -> Mapping[str, float]:
        result: Mapping[str, float] = self.function(config)
        return result
