"""The ``vit`` evaluator: sub-networks of an elastic ViT super-network, measured for real.

Accuracy (top-1 on the validation split, inherited weights), latency on the configured device
(median and IQR, flagged when unstable), and the exact metrics ``params_m``, ``macs_m`` and
``size_mb`` computed from the config. Construction is cheap and checks the space against the
super-network's maxima; the weights (trained on first use and cached, or a checkpoint) are
loaded by :meth:`VitEvaluator.prepare`, which the first evaluation calls if nobody did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluatorError
from nas_search.evaluation.elastic import (
    ACCURACY,
    EXACT,
    LATENCY,
    ElasticEvaluator,
    check_dimensions,
    check_runtime,
    config_sampler,
    extreme_configs,
)
from nas_search.evaluation.spec import EvaluatorSpec
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
from nas_search.supernet.settings import LatencySettings, TrainSettings

Positive = Annotated[StrictInt, Field(gt=0)]
OnEpoch = Callable[[int, int, float], None]
Notice = Callable[[str], None]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SupernetSection(_Closed):
    """The super-network: its frame and the maxima of every elastic dimension."""

    image_size: Positive
    patch_size: Positive
    channels: Positive
    classes: Positive
    head_dim: Positive = Field(description="channels per attention head (fixed)")
    embed_dim: Positive = Field(description="largest embedding width")
    depth: Positive = Field(description="most blocks")
    num_heads: Positive = Field(description="most heads per block")
    mlp_ratio: Annotated[float, Field(gt=0)] = Field(description="largest MLP ratio")


class DataSection(_Closed):
    source: StrictStr = Field("digits", description="'digits' (bundled) or an .npz with x, y")
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    validation: Annotated[float, Field(gt=0, lt=0.5)] = 0.2
    test: Annotated[float, Field(gt=0, lt=0.5)] = 0.2


class VitSpec(EvaluatorSpec):
    type: Literal["vit"]
    supernet: SupernetSection
    data: DataSection | None = Field(
        None,
        description="images to train on and measure accuracy with; without: latency and "
        "exact metrics only",
    )
    train: TrainSettings | None = Field(
        None, description="train the super-network on first use and cache it"
    )
    checkpoint: StrictStr | None = Field(
        None, description="a super-network checkpoint (nas-search supernet train writes one)"
    )
    latency: LatencySettings = Field(default_factory=LatencySettings)


def shape_of(spec: VitSpec) -> SupernetShape:
    return SupernetShape(**spec.supernet.model_dump())


def space_extremes(definition: SpaceDefinition, shape: SupernetShape) -> tuple[Subnet, Subnet]:
    """The largest and the smallest sub-network of the space (the sandwich rule's ends)."""
    largest, smallest = extreme_configs(definition, "depth", shape.depth)
    return subnet_of(largest, shape), subnet_of(smallest, shape)


def space_sampler(definition: SpaceDefinition, shape: SupernetShape) -> Callable[[Any], Subnet]:
    """Uniform over each dimension's values (and over each block's), for training."""
    sample = config_sampler(definition, "depth", shape.depth)
    return lambda rng: subnet_of(sample(rng), shape)


class VitEvaluator(ElasticEvaluator):
    kind = "vit"

    def __init__(self, spec: VitSpec, definition: SpaceDefinition, where: str) -> None:
        self.spec, self.definition, self.where = spec, definition, where
        self.shape = shape_of(spec)
        limits = {n: (getattr(self.shape, n), f"evaluator.supernet.{n}") for n in ELASTIC}
        check_dimensions(definition, limits, "depth", where, "vit", fractional=("mlp_ratio",))
        check_runtime(definition, "depth", spec.latency, where)
        trained = spec.checkpoint is not None or spec.train is not None
        reasons = {}
        if spec.data is None:
            reasons[ACCURACY] = (
                f"{where}evaluator.data: accuracy needs images to measure it on: add "
                "evaluator.data (source: digits, or an .npz with x and y)"
            )
        elif not trained:
            reasons[ACCURACY] = (
                f"{where}evaluator.checkpoint: accuracy needs a trained super-network: set "
                "evaluator.checkpoint (nas-search supernet train writes one) or add an "
                "evaluator.train section"
            )
        available = ([] if reasons else [ACCURACY]) + list(LATENCY) + list(EXACT)
        self._choose_metrics(spec, definition, where, available, reasons)
        self.checkpoint_path: Path | None = None

    # weights ------------------------------------------------------------------------------
    @cached_property
    def splits(self) -> Any:
        """The data, loaded once and checked against the super-network's input."""
        from nas_search.supernet.data import load_splits

        data = self.spec.data
        if data is None:
            raise EvaluatorError(f"{self.where}evaluator.data: needed here, got none")
        field = f"{self.where}evaluator.data.source"
        splits = load_splits(
            data.source,
            self.definition.base_dir,
            seed=data.seed,
            validation=data.validation,
            test=data.test,
            field=field,
        )
        s = self.shape
        channels, height, width = splits.image_shape
        if (channels, height, width) != (s.channels, s.image_size, s.image_size):
            raise EvaluatorError(
                f"{field}: images are {channels}x{height}x{width}, the super-network takes "
                f"{s.channels}x{s.image_size}x{s.image_size} (evaluator.supernet)"
            )
        if splits.classes > s.classes:
            raise EvaluatorError(
                f"{field}: labels go up to {splits.classes - 1}, the super-network has "
                f"{s.classes} classes (evaluator.supernet.classes)"
            )
        return splits

    def _training(self) -> TrainSettings | None:
        return self.spec.train

    def _identity(self) -> dict[str, Any]:
        return self.shape.to_dict()

    def _data_digest(self) -> str:
        return str(self.splits.digest)

    def train(
        self, out: Path, on_epoch: OnEpoch | None = None, epochs: int | None = None
    ) -> dict[str, Any]:
        """Train the super-network on the space (sandwich rule) and save it to ``out``."""
        import numpy as np
        import torch

        from nas_search.supernet.store import save_checkpoint
        from nas_search.supernet.train import (
            accuracy,
            seeded,
            torch_threads,
            train_device,
            train_supernet,
        )
        from nas_search.supernet.vit import ElasticViT

        if self.spec.data is None:
            raise EvaluatorError(f"{self.where}evaluator.data: training needs data, got null")
        settings = self.spec.train or TrainSettings()
        if epochs is not None:
            settings = settings.model_copy(update={"epochs": epochs})
        splits = self.splits
        device = train_device(settings.device, f"{self.where}evaluator.train.device")
        with seeded(settings.seed):
            model = ElasticViT(self.shape)
        largest, smallest = space_extremes(self.definition, self.shape)
        start = time.perf_counter()
        with torch_threads(settings.threads), seeded(settings.seed, device):
            train_supernet(
                model,
                splits,
                largest,
                smallest,
                space_sampler(self.definition, self.shape),
                settings,
                on_epoch,
                device,
            )
        seconds = time.perf_counter() - start
        report = {
            "seconds": round(seconds, 1),
            "largest": largest.to_dict(),
            "smallest": smallest.to_dict(),
            "largest_val_acc": accuracy(model, largest, splits.x_val, splits.y_val),
            "smallest_val_acc": accuracy(model, smallest, splits.x_val, splits.y_val),
            "largest_test_acc": accuracy(model, largest, splits.x_test, splits.y_test),
            "data": splits.digest,
            "train": settings.model_dump(),
            "device": device,
            "threads": settings.threads,
        }
        save_checkpoint(
            out,
            {
                "shape": self.shape.to_dict(),
                "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
                "report": report,
                "space": self.definition.name,
                "torch": str(torch.__version__),
                "numpy": str(np.__version__),
            },
        )
        self._model = model
        self.checkpoint_path = out
        return report

    def prepare(self, on_epoch: OnEpoch | None = None, notice: Notice | None = None) -> None:
        """Load the weights (training and caching them first if needed) and the data."""
        if self._inputs is not None:
            return
        import torch

        from nas_search.supernet.store import load_checkpoint
        from nas_search.supernet.train import seeded
        from nas_search.supernet.vit import ElasticViT

        device = self._device()
        if ACCURACY in self.metrics:
            self.splits  # noqa: B018  (load and check the data before any training)
        path = self.weights_path()
        if path is not None and not path.is_file() and self.spec.checkpoint is None:
            if notice is not None:
                notice(
                    f"Training the {self.definition.name} super-network (first use; cached "
                    f"as {path})"
                )
            report = self.train(path, on_epoch)
            model = self._model
            if notice is not None:
                notice(
                    f"Trained in {report['seconds']} s: validation accuracy "
                    f"{report['largest_val_acc']:.1f}% (largest), "
                    f"{report['smallest_val_acc']:.1f}% (smallest)"
                )
        elif path is not None:
            field = f"{self.where}evaluator.checkpoint"
            payload = load_checkpoint(path, self.shape.to_dict(), field)
            model = ElasticViT(self.shape)
            model.load_state_dict(payload["state_dict"])
            self.checkpoint_path = path
        else:
            with seeded(0):  # no weights: latency and exact metrics only
                model = ElasticViT(self.shape)
        generator = torch.Generator().manual_seed(0)
        s = self.shape
        size = (self.spec.latency.batch_size, s.channels, s.image_size, s.image_size)
        self._ready(model, torch.randn(size, generator=generator).to(device))

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

    def onnx_model(self, config: Mapping[str, Any]) -> Any:
        """The candidate as the ONNX model onnxruntime measures (``export`` writes it): the
        sub-network with the super-network's weights, its int8 layers quantized."""
        from nas_search.supernet.onnx_model import quantize, to_onnx
        from nas_search.supernet.vit import extract

        sub = self.subnet(config)
        dynamic = {"pixel_values": {0: ("batch", 1 << 16)}}
        inputs = [self._inputs.cpu()]
        proto = to_onnx(extract(self.model, sub), inputs, ["pixel_values"], dynamic)
        return quantize(proto, self.int8_layers(config), prefix="body.")

    def _accuracy(self, model: Any, sub: Subnet) -> float:
        from nas_search.supernet.train import accuracy

        x, y = self.splits.x_val, self.splits.y_val
        return accuracy(model, sub, x, y, self.spec.latency.device)

    def _validation(self) -> tuple[Mapping[str, Any], Any]:
        return {"pixel_values": self.splits.x_val}, self.splits.y_val
