"""The ``python`` evaluator: a function of the config dict, imported once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import StrictStr

from nas_search.evaluation.base import BaseEvaluator, ExactFunction
from nas_search.evaluation.spec import EvaluatorSpec
from nas_search.loading import check_function, load_function


class PythonSpec(EvaluatorSpec):
    """``function``: ``module:function`` or ``file.py:function`` (relative to the space file)."""

    type: Literal["python"]
    function: StrictStr


class PythonEvaluator(BaseEvaluator):
    """Imports its function only in :meth:`load`, called by the process that measures (a
    worker, under ``isolation: auto``), so the main process never runs the module's code."""

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
        self._target, self._base_dir = spec.function, base_dir
        self._where = f"{where}evaluator.function: "
        check_function(spec.function, base_dir, self._where)  # exists; imported on loading
        self._function: Callable[..., Any] | None = None

    def load(self) -> Callable[..., Any]:
        """Import the function (its module's top-level code runs now, in this process)."""
        if self._function is None:
            self._function = load_function(self._target, self._base_dir, self._where)
        return self._function

    def evaluate(self, config: dict[str, Any]) -> Mapping[str, float]:
        result: Mapping[str, float] = self.load()(config)
        return result
