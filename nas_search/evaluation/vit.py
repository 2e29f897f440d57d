"""The ``vit`` evaluator: sub-networks of an elastic ViT super-network, measured for real.

Accuracy (top-1 on the validation split, inherited weights), latency on the configured device
(median and IQR, flagged when unstable), and the exact metrics ``params_m``, ``macs_m`` and
``size_mb`` computed from the config. Construction is cheap and checks the space against the
super-network's maxima; the weights (trained on first use and cached, or a checkpoint) are
loaded by :meth:`VitEvaluator.prepare`, which the first evaluation calls if nobody did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from nas_search.config import SpaceDefinition
from nas_search.evaluation.elastic import (
    ACCURACY,
    EXACT,
    LATENCY,
    check_dimensions,
    check_runtime,
)
from nas_search.evaluation.image_supernet import (
    ImageSupernetEvaluator,
    ImageSupernetSpec,
    accuracy_reasons,
)
from nas_search.supernet.arch import (
    ELASTIC,
    Subnet,
    SupernetShape,
    beyond_maxima,
    exact_metrics,
    linears,
    params,
    subnet_of,
)
from nas_search.supernet.precision import Groups, groups_of

Positive = Annotated[StrictInt, Field(gt=0)]


class SupernetSection(BaseModel):
    """The super-network: its frame and the maxima of every elastic dimension."""

    model_config = ConfigDict(extra="forbid")

    image_size: Positive
    patch_size: Positive
    channels: Positive
    classes: Positive
    head_dim: Positive = Field(description="channels per attention head (fixed)")
    embed_dim: Positive = Field(description="largest embedding width")
    depth: Positive = Field(description="most blocks")
    num_heads: Positive = Field(description="most heads per block")
    mlp_ratio: Annotated[float, Field(gt=0)] = Field(description="largest MLP ratio")


class VitSpec(ImageSupernetSpec):
    type: Literal["vit"]
    supernet: SupernetSection


def shape_of(spec: VitSpec) -> SupernetShape:
    return SupernetShape(**spec.supernet.model_dump())


class VitEvaluator(ImageSupernetEvaluator):
    kind = "vit"

    def __init__(self, spec: VitSpec, definition: SpaceDefinition, where: str) -> None:
        self.spec, self.definition, self.where = spec, definition, where
        self.shape = shape_of(spec)
        limits = {n: (getattr(self.shape, n), f"evaluator.supernet.{n}") for n in ELASTIC}
        check_dimensions(definition, limits, "depth", where, "vit", fractional=("mlp_ratio",))
        check_runtime(definition, "depth", spec.latency, where)
        reasons = accuracy_reasons(spec, where)
        available = ([] if reasons else [ACCURACY]) + list(LATENCY) + list(EXACT)
        self._choose_metrics(spec, definition, where, available, reasons)

    def _new_model(self) -> Any:
        from nas_search.supernet.vit import ElasticViT

        return ElasticViT(self.shape)

    # hooks of ElasticEvaluator ----------------------------------------------------------
    def _subnet(self, config: Mapping[str, Any]) -> Subnet:
        return subnet_of(config, self.shape)

    def _beyond(self, sub: Subnet) -> list[str]:
        return beyond_maxima(sub, self.shape)

    def arch_metrics(self, sub: Subnet) -> dict[str, float]:
        return exact_metrics(self.shape, sub)

    def weights(self, sub: Subnet) -> tuple[int, Mapping[str, tuple[int, int]]]:
        return params(self.shape, sub), linears(self.shape, sub)

    def groups(self, sub: Subnet) -> Groups:
        return groups_of(sub.depth, "blocks", ("q", "k", "v", "proj"), ("fc1", "fc2"), ("head",))

    def standalone(self, config: Mapping[str, Any]) -> Any:
        """The candidate as a plain torch module on the CPU
        (:class:`~nas_search.supernet.vit.ViT`) with the super-network's weights: what
        ``export`` writes."""
        from nas_search.supernet.vit import extract

        return extract(self.model, self.subnet(config))
