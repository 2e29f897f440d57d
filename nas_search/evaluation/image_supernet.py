"""What the image super-networks trained here (``vit``, ``cnn``) share: their ``data`` section,
the splits checked against the network's input, sandwich-rule training on first use into the
cache, loading a checkpoint, and accuracy on the validation split.

A family gives its model and its sub-networks through a few hooks: ``_new_model`` (the
super-network, untrained), ``_subnet``, ``_calibrate`` (called before a sub-network's accuracy
is measured; batch-norm networks recompute their statistics there) and the search space's
ends and sampler, from :func:`~nas_search.evaluation.elastic.extreme_configs` and
:func:`~nas_search.evaluation.elastic.config_sampler`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from nas_search.errors import EvaluatorError
from nas_search.evaluation.elastic import (
    ACCURACY,
    ElasticEvaluator,
    config_sampler,
    extreme_configs,
)
from nas_search.evaluation.spec import EvaluatorSpec
from nas_search.supernet.settings import LatencySettings, TrainSettings

OnEpoch = Callable[[int, int, float], None]
Notice = Callable[[str], None]


class DataSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: StrictStr = Field("digits", description="'digits' (bundled) or an .npz with x, y")
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    validation: Annotated[float, Field(gt=0, lt=0.5)] = 0.2
    test: Annotated[float, Field(gt=0, lt=0.5)] = 0.2


class ImageSupernetSpec(EvaluatorSpec):
    """The sections every image super-network's evaluator has (each adds its ``type`` and
    ``supernet``)."""

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


def accuracy_reasons(spec: Any, where: str) -> dict[str, str]:
    """Why accuracy cannot be measured (no data, nothing trained), if it cannot."""
    if spec.data is None:
        return {
            ACCURACY: f"{where}evaluator.data: accuracy needs images to measure it on: add "
            "evaluator.data (source: digits, or an .npz with x and y)"
        }
    if spec.checkpoint is None and spec.train is None:
        return {
            ACCURACY: f"{where}evaluator.checkpoint: accuracy needs a trained super-network: "
            "set evaluator.checkpoint (nas-search supernet train writes one) or add an "
            "evaluator.train section"
        }
    return {}


class ImageSupernetEvaluator(ElasticEvaluator):
    """An image super-network trained here; ``shape`` has ``channels``, ``image_size`` and
    ``classes``."""

    shape: Any
    checkpoint_path: Path | None = None

    # hooks --------------------------------------------------------------------------------
    def _new_model(self) -> Any:
        """The super-network, freshly initialised (inside a seeded block)."""
        raise NotImplementedError

    def _calibrate(self, model: Any, sub: Any) -> None:
        """Make ``model`` ready to measure ``sub``'s accuracy (nothing by default)."""

    def standalone(self, config: Mapping[str, Any]) -> Any:
        """The candidate as a plain torch module on the CPU, with the super-network's
        weights: what ``export`` writes."""
        raise NotImplementedError

    def deployable(self, config: Mapping[str, Any]) -> Any:
        """The module ONNX is exported from (the standalone one by default)."""
        return self.standalone(config)

    def onnx_model(self, config: Mapping[str, Any]) -> Any:
        """The candidate as the ONNX model onnxruntime measures (``export`` writes it): the
        deployable module, its int8 layers quantized."""
        from nas_search.supernet.onnx_model import quantize, to_onnx

        dynamic = {"pixel_values": {0: ("batch", 1 << 16)}}
        inputs = [self.images(self._inputs, config).cpu()]
        proto = to_onnx(self.deployable(config), inputs, ["pixel_values"], dynamic)
        return quantize(proto, self.int8_layers(config), prefix="body.")

    # data and training --------------------------------------------------------------------
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
        return dict(self.shape.to_dict())

    def _data_digest(self) -> str:
        return str(self.splits.digest)

    def space_extremes(self) -> tuple[Any, Any]:
        """The largest and the smallest sub-network of the space (the sandwich rule's ends)."""
        largest, smallest = extreme_configs(self.definition)
        return self._subnet(largest), self._subnet(smallest)

    def space_sampler(self) -> Callable[[Any], Any]:
        """Uniform over each dimension's values (and over each block's), for training."""
        sample = config_sampler(self.definition)
        return lambda rng: self._subnet(sample(rng))

    def accuracy_of(
        self, model: Any, sub: Any, split: str = "val", device: str | None = None
    ) -> float:
        """Top-1 accuracy (%) of ``sub`` on a split (``val`` or ``test``), calibrated first,
        on ``device`` (default: the measuring one)."""
        from nas_search.supernet.train import accuracy

        device = device or self.spec.latency.device
        self._calibrate(model, sub)
        x, y = getattr(self.splits, f"x_{split}"), getattr(self.splits, f"y_{split}")
        return accuracy(model, sub, x, y, device)

    def train(
        self, out: Path, on_epoch: OnEpoch | None = None, epochs: int | None = None
    ) -> dict[str, Any]:
        """Train the super-network on the space (sandwich rule) and save it to ``out``."""
        import numpy as np
        import torch

        from nas_search.supernet.store import save_checkpoint
        from nas_search.supernet.train import seeded, torch_threads, train_device, train_supernet

        if self.spec.data is None:
            raise EvaluatorError(f"{self.where}evaluator.data: training needs data, got null")
        settings = self.spec.train or TrainSettings()
        if epochs is not None:
            settings = settings.model_copy(update={"epochs": epochs})
        splits = self.splits
        device = train_device(settings.device, f"{self.where}evaluator.train.device")
        with seeded(settings.seed):
            model = self._new_model()
        largest, smallest = self.space_extremes()
        start = time.perf_counter()
        with torch_threads(settings.threads), seeded(settings.seed, device):
            train_supernet(
                model,
                splits,
                largest,
                smallest,
                self.space_sampler(),
                settings,
                on_epoch,
                device,
            )
        seconds = time.perf_counter() - start
        with torch_threads(settings.threads):
            report = {
                "seconds": round(seconds, 1),
                "largest": largest.to_dict(),
                "smallest": smallest.to_dict(),
                "largest_val_acc": self.accuracy_of(model, largest, "val", "cpu"),
                "smallest_val_acc": self.accuracy_of(model, smallest, "val", "cpu"),
                "largest_test_acc": self.accuracy_of(model, largest, "test", "cpu"),
                "data": splits.digest,
                "train": settings.model_dump(),
                "device": device,
                "threads": settings.threads,
            }
        save_checkpoint(
            out,
            {
                "shape": self._identity(),
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
            payload = load_checkpoint(path, self._identity(), field)
            model = self._new_model()
            model.load_state_dict(payload["state_dict"])
            self.checkpoint_path = path
        else:
            with seeded(0):  # no weights: latency and exact metrics only
                model = self._new_model()
        generator = torch.Generator().manual_seed(0)
        s = self.shape
        size = (self.spec.latency.batch_size, s.channels, s.image_size, s.image_size)
        self._ready(model, torch.randn(size, generator=generator).to(device))

    def _accuracy(self, model: Any, sub: Any) -> float:
        return self.accuracy_of(model, sub)

    def images(self, x: Any, config: Mapping[str, Any]) -> Any:
        """Images (an array or a tensor) as the candidate's model takes them (as they are,
        unless a family's sub-networks take another size)."""
        return x

    def _named_inputs(self, config: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"pixel_values": self.images(self._inputs, config)}

    def validation_set(self, config: Mapping[str, Any]) -> tuple[Mapping[str, Any], Any]:
        return {"pixel_values": self.images(self.splits.x_val, config)}, self.splits.y_val
