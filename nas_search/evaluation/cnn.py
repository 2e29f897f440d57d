"""The ``cnn`` evaluator: sub-networks of an elastic MobileNetV3-style super-network
(Once-for-All), measured for real.

The same measurements as the ``vit`` evaluator (validation accuracy with inherited weights,
latency in torch or onnxruntime, exact ``params_m``, ``macs_m`` and ``size_mb``), the same
``data``, ``train``, ``checkpoint`` and ``latency`` sections, training and cache. Elastic per
sub-network: each stage's depth, each block's kernel size and expand ratio (see
:mod:`nas_search.supernet.cnn_arch` for the parameter names); per block a precision gene
``precision_<s>`` (fp32 or int8, in onnxruntime) and ``head_precision``. Before its accuracy is
measured, a sub-network's batch-norm statistics are recomputed on a few training batches
(``calibration``).

A family of its own (``type: cnn``) rather than a ``family:`` of one super-network evaluator:
its ``supernet`` section (stages of blocks) shares no field with the ViT's but the image's,
and each spec stays closed, so a misspelt field is an error naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluatorError
from nas_search.evaluation.elastic import ACCURACY, EXACT, LATENCY, check_precisions_of
from nas_search.evaluation.image_supernet import (
    ImageSupernetEvaluator,
    ImageSupernetSpec,
    accuracy_reasons,
)
from nas_search.supernet.cnn_arch import (
    HEAD_LAYERS,
    CnnShape,
    CnnSubnet,
    Stage,
    beyond_maxima,
    block_layers,
    deployed_params,
    exact_metrics,
    staged_name,
    subnet_of,
    weight_shapes,
)

Positive = Annotated[StrictInt, Field(gt=0)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageSection(_Closed):
    width: Positive = Field(description="output channels of the stage's blocks")
    depth: Positive = Field(description="most blocks")
    stride: Annotated[StrictInt, Field(ge=1, le=2)] = Field(
        default=1, description="its first block's"
    )
    se: StrictBool = Field(default=False, description="squeeze-excitation in each block")
    activation: Literal["relu", "hswish"] = "relu"


class CnnSupernetSection(_Closed):
    """The super-network: its frame and the maxima of every elastic dimension."""

    image_size: Positive
    channels: Positive
    classes: Positive
    stem_channels: Positive
    stem_stride: Annotated[StrictInt, Field(ge=1, le=2)] = Field(
        default=1, description="2 for large images; 1 keeps small ones (8x8 digits) whole"
    )
    stages: list[StageSection] = Field(min_length=1)
    kernel_size: Annotated[StrictInt, Field(ge=3)] = Field(
        default=7,
        description="largest depthwise kernel (odd); the others are 2, 4, ... smaller, to 3",
    )
    expand_ratio: Annotated[float, Field(gt=0)] = Field(
        default=6, description="largest expand ratio"
    )
    head: Positive = Field(description="channels of the final 1x1 convolution")

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"must be odd (a depthwise kernel has a centre), got {value}")
        return value


class CalibrationSettings(_Closed):
    batches: Annotated[StrictInt, Field(ge=0)] = Field(
        default=4,
        description="training batches a sub-network's batch-norm statistics are recomputed "
        "on before its accuracy is measured (0: the super-network's running statistics)",
    )
    batch_size: Positive = 64


class CnnSpec(ImageSupernetSpec):
    type: Literal["cnn"]
    supernet: CnnSupernetSection
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)


def shape_of(spec: CnnSpec) -> CnnShape:
    s = spec.supernet
    stages = tuple(Stage(**stage.model_dump()) for stage in s.stages)
    values = {**s.model_dump(), "stages": stages, "expand_ratio": float(s.expand_ratio)}
    return CnnShape(**values)


def check_space(definition: SpaceDefinition, shape: CnnShape, runtime: str, where: str) -> None:
    """Every parameter of the space is a dimension of this super-network, within its maxima."""
    stages = len(shape.stages)
    for p in definition.space.parameters:
        at = f"{where}parameters.{p.name}: "
        if p.name == "head_precision":
            check_precisions_of(p, None, runtime, at)
            continue
        staged = staged_name(p.name)
        dimension, stage = staged if staged else (p.name, None)
        if stage is not None and stage >= stages:
            raise EvaluatorError(
                f"{at}the super-network has {stages} stages, got stage {stage + 1}"
            )
        if dimension not in ("kernel_size", "expand_ratio", "resolution") and stage is None:
            raise EvaluatorError(
                f"{at}the cnn evaluator has no such dimension (it reads depth_<s>, "
                "kernel_size[_<s>], expand_ratio[_<s>], precision_<s>, head_precision and "
                f"resolution, s = 1..{stages})"
            )
        layered = f"depth_{stage + 1}" if stage is not None else None
        if p.per_layer is not None and (
            dimension in ("depth", "resolution") or p.per_layer != layered
        ):
            wanted = f"{layered!r} or none" if layered and dimension != "depth" else "none"
            raise EvaluatorError(f"{at}per_layer must be {wanted}, got {p.per_layer!r}")
        if dimension == "precision":
            check_precisions_of(p, p.per_layer, runtime, at)
            continue
        limit = {
            "depth": shape.stages[stage].depth if stage is not None else 0,
            "kernel_size": shape.kernel_size,
            "expand_ratio": shape.expand_ratio,
            "resolution": shape.image_size,
        }[dimension]
        for v in p.values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise EvaluatorError(f"{at}must be positive numbers, got {v!r}")
            if v > limit:
                raise EvaluatorError(f"{at}{v!r} exceeds the super-network's maximum ({limit!r})")
            if dimension != "expand_ratio" and not float(v).is_integer():
                raise EvaluatorError(f"{at}must be whole numbers, got {v!r}")
            if dimension == "kernel_size" and v not in shape.kernel_sizes:
                raise EvaluatorError(
                    f"{at}{v!r} is not a kernel the super-network runs (it runs "
                    f"{', '.join(map(str, shape.kernel_sizes))})"
                )


class CnnEvaluator(ImageSupernetEvaluator):
    kind = "cnn"

    def __init__(self, spec: CnnSpec, definition: SpaceDefinition, where: str) -> None:
        self.spec, self.definition, self.where = spec, definition, where
        self.shape = shape_of(spec)
        if spec.latency.runtime == "onnxruntime" and spec.latency.device != "cpu":
            raise EvaluatorError(
                f"{where}evaluator.latency.device: onnxruntime measures on the cpu here, "
                f"got {spec.latency.device!r}"
            )
        check_space(definition, self.shape, spec.latency.runtime, where)
        reasons = accuracy_reasons(spec, where)
        available = ([] if reasons else [ACCURACY]) + list(LATENCY) + list(EXACT)
        self._choose_metrics(spec, definition, where, available, reasons)

    def _new_model(self) -> Any:
        from nas_search.supernet.cnn import ElasticCNN

        return ElasticCNN(self.shape)

    def _calibrate(self, model: Any, sub: CnnSubnet) -> None:
        """Batch-norm statistics of ``sub`` on the first training batches (none: skipped)."""
        import torch

        settings = self.spec.calibration
        if settings.batches == 0 or self.spec.data is None:
            return
        x = self.splits.x_train[: settings.batches * settings.batch_size]
        device = next(model.parameters()).device
        batches = [
            torch.from_numpy(x[start : start + settings.batch_size]).to(device)
            for start in range(0, len(x), settings.batch_size)
        ]
        model.calibrate(sub, batches)

    # hooks of ElasticEvaluator ------------------------------------------------------------
    def _subnet(self, config: Mapping[str, Any]) -> CnnSubnet:
        return subnet_of(config, self.shape)

    def _beyond(self, sub: CnnSubnet) -> list[str]:
        return beyond_maxima(sub, self.shape)

    def arch_metrics(self, sub: CnnSubnet) -> dict[str, float]:
        return exact_metrics(self.shape, sub)

    def weights(self, sub: CnnSubnet) -> tuple[int, Mapping[str, tuple[int, int]]]:
        return deployed_params(self.shape, sub), weight_shapes(self.shape, sub)

    def int8_layers(self, config: Mapping[str, Any]) -> list[str]:
        """The layers the config's precision genes put in int8: a block's convolutions (and
        squeeze-excitation) by ``precision_<s>``, the final convolution and the classifier by
        ``head_precision``."""
        sub = self.subnet(config)
        out: list[str] = []
        for s, k in sub.active():
            value = config.get(f"precision_{s + 1}", "fp32")
            if isinstance(value, (list, tuple)):
                value = value[k] if k < len(value) else "fp32"
            if value == "int8":
                out += block_layers(self.shape, s, k)
        if config.get("head_precision", "fp32") == "int8":
            out += HEAD_LAYERS
        return out

    def _runner(self, model: Any, sub: CnnSubnet, inputs: Any) -> Callable[[], Any]:
        """The sub-network's forward pass on its weights and its resolution's images, both
        computed once (the kernel transformation and the resizing are not the sub-network's
        latency)."""
        from nas_search.supernet.cnn import forward, resize

        weights = {k: v.detach() for k, v in model.weights(sub).items()}
        images = resize(inputs, sub.resolution)
        return lambda: forward(images, weights, sub, self.shape)

    def images(self, x: Any, config: Mapping[str, Any]) -> Any:
        """Images at the candidate's resolution."""
        import numpy as np
        import torch

        from nas_search.supernet.cnn import resize

        resolution = self.subnet(config).resolution
        if isinstance(x, np.ndarray):
            with torch.no_grad():
                return resize(torch.from_numpy(x), resolution).numpy()
        return resize(x, resolution)

    def standalone(self, config: Mapping[str, Any]) -> Any:
        """The candidate as a plain torch module on the CPU
        (:class:`~nas_search.supernet.cnn.CNN`), its batch-norm statistics calibrated: what
        ``export`` writes."""
        from nas_search.supernet.cnn import extract

        sub = self.subnet(config)
        model = self.model
        self._calibrate(model, sub)
        return extract(model, sub)

    def deployable(self, config: Mapping[str, Any]) -> Any:
        """The standalone module with its batch norms folded into the convolutions."""
        return self.standalone(config).fuse()
