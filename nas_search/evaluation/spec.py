"""Options every evaluator section shares (the rest belongs to each evaluator)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr


class EvaluatorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: StrictStr
    metrics: list[StrictStr] | None = Field(
        None, description="metrics it returns (default: the objectives and exact metrics)"
    )
    exact: list[StrictStr] = Field(
        default_factory=list,
        description="metrics computed exactly without measuring (usable in constraints)",
    )
    exact_function: StrictStr | None = Field(
        None, description="'module:function' returning the exact metrics of a config"
    )
