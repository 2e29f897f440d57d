"""Options every evaluator section shares (the rest belongs to each evaluator)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, StrictStr

from nas_search.config import EvaluatorSection


class EvaluatorSpec(EvaluatorSection):
    """The shared fields, closed: each evaluator's spec adds its own and nothing else passes."""

    model_config = ConfigDict(extra="forbid")
    exact_function: StrictStr | None = Field(
        None, description="'module:function' returning the exact metrics of a config"
    )
