"""The ``transformer`` evaluator: sub-networks of the user's own pretrained Hugging Face model
(BERT, RoBERTa or ViT), made elastic while fine-tuned on their task (InstaTune).

``evaluator.model`` names a local ``save_pretrained`` folder. Construction reads only its
``config.json`` and checks the space against it; :meth:`TransformerEvaluator.prepare` loads
the fine-tuned weights (fine-tuning and caching them first if needed). Each evaluation
measures a sub-network's validation accuracy with the inherited weights, its latency, and the
exact ``params_m``, ``macs_m`` and ``size_mb``. Every run also measures the full model
(:attr:`~TransformerEvaluator.baselines`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

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
from nas_search.evaluation.transformer_spec import LIMITS, TransformerSpec
from nas_search.supernet.encoder_arch import (
    EncoderShape,
    EncoderSubnet,
    beyond_maxima,
    exact_metrics,
    linears,
    params,
    subnet_of,
)
from nas_search.supernet.precision import Groups, groups_of
from nas_search.supernet.pretrained import model_dir, read_config, shape_of, weights_digest
from nas_search.supernet.settings import FinetuneSettings

Notice = Callable[[str], None]


class TransformerEvaluator(ElasticEvaluator):
    kind = "transformer"
    whole = "model"

    def __init__(self, spec: TransformerSpec, definition: SpaceDefinition, where: str) -> None:
        self.spec, self.definition, self.where = spec, definition, where
        self.model_dir = model_dir(spec.model, definition.base_dir, f"{where}evaluator.model")
        self.config = read_config(self.model_dir, f"{where}evaluator.model")
        self.shape: EncoderShape = shape_of(self.config, spec.num_labels, f"{where}evaluator.model")
        limits = {
            name: (getattr(self.shape, attr), f"{self.model_dir.name}/config.json {key}")
            for name, (attr, key) in LIMITS.items()
        }
        check_dimensions(definition, limits, "num_layers", where, "transformer")
        check_runtime(definition, "num_layers", spec.latency, where)
        if self.shape.text:
            room = self.shape.positions - self.shape.position_offset
            for field, length in (
                ("latency.sequence_length", spec.latency.sequence_length),
                ("data.max_length", spec.data.max_length if spec.data else 0),
            ):
                if length > room:
                    raise EvaluatorError(
                        f"{where}evaluator.{field}: the model takes at most {room} tokens "
                        f"(max_position_embeddings), got {length}"
                    )
        reasons = {}
        if spec.data is None:
            reasons[ACCURACY] = (
                f"{where}evaluator.data: accuracy needs the task's labelled data: add "
                "evaluator.data (a .csv or .jsonl of text and label, or an .npz of images)"
            )
        available = ([] if reasons else [ACCURACY]) + list(LATENCY) + list(EXACT)
        self._choose_metrics(spec, definition, where, available, reasons)
        largest, _ = extreme_configs(definition)
        #: configs every run measures first: the full fine-tuned model, as a baseline
        self.baselines = [largest]
        self.checkpoint_path: Path | None = None

    # data and weights ---------------------------------------------------------------------
    @cached_property
    def data(self) -> Any:
        """The task's splits, loaded once and checked against the model."""
        from nas_search.supernet.task_data import TextColumns, load_images, load_text

        data = self.spec.data
        field = f"{self.where}evaluator.data.source"
        if data is None:
            raise EvaluatorError(f"{field}: needed here, got none")
        s = self.shape
        if s.text:
            names = self.config.get("label2id") or {
                str(v): int(k) for k, v in (self.config.get("id2label") or {}).items()
            }
            return load_text(
                self._path(data.source),
                self.model_dir,
                columns=TextColumns(data.text, data.text_pair, data.label),
                max_length=data.max_length,
                classes=s.classes,
                label_names=names if len(names) == s.classes else {},
                seed=data.seed,
                validation=data.validation,
                test=data.test,
                field=field,
            )
        task = load_images(
            data.source,
            self.definition.base_dir,
            seed=data.seed,
            validation=data.validation,
            test=data.test,
            field=field,
        )
        x = task.train.inputs["pixel_values"]
        if x.shape[1:] != (s.channels, s.image_size, s.image_size):
            c, h, w = x.shape[1:]
            raise EvaluatorError(
                f"{field}: images are {c}x{h}x{w}, the model takes "
                f"{s.channels}x{s.image_size}x{s.image_size} (config.json)"
            )
        top = max(int(p.labels.max()) for p in (task.train, task.validation, task.test))
        if top >= s.classes:
            raise EvaluatorError(
                f"{field}: label {top} is outside the model's {s.classes} labels "
                f"(num_labels {s.classes}: 0..{s.classes - 1})"
            )
        return task

    @cached_property
    def model_digest(self) -> str:
        """Of the model folder's config.json and safetensors files (read once: they are big)."""
        return weights_digest(self.model_dir)

    def _training(self) -> FinetuneSettings | None:
        return self.spec.finetune

    def _identity(self) -> dict[str, Any]:
        return {**self.shape.to_dict(), "weights": self.model_digest}

    def _data_digest(self) -> str:
        return str(self.data.digest)

    def pretrained(self) -> Any:
        """The model's own weights in an :class:`ElasticEncoder` (seeded classifier if new)."""
        from nas_search.supernet.encoder import ElasticEncoder
        from nas_search.supernet.pretrained import load_weights
        from nas_search.supernet.train import seeded

        seed = self.spec.finetune.seed if self.spec.finetune else 0
        with seeded(seed):
            weights = load_weights(self.model_dir, self.shape, f"{self.where}evaluator.model")
            model = ElasticEncoder(self.shape)
        model.body.load_state_dict(weights)
        return model

    def finetune(
        self,
        out: Path,
        on_epoch: Callable[[int, int, float], None] | None = None,
        notice: Notice | None = None,
    ) -> dict[str, Any]:
        """Fine-tune elastically (InstaTune) and save the weights to ``out`` atomically."""
        import torch

        from nas_search.supernet.finetune import accuracy, finetune
        from nas_search.supernet.importance import importance, reorder
        from nas_search.supernet.store import save_checkpoint
        from nas_search.supernet.train import seeded, torch_threads, train_device

        settings = self.spec.finetune or FinetuneSettings()
        task = self.data
        device = train_device(settings.device, f"{self.where}evaluator.finetune.device")
        model = self.pretrained()
        ends = extreme_configs(self.definition)
        big, small = (subnet_of(c, self.shape) for c in ends)
        sample = config_sampler(self.definition)

        def epoch_done(epoch: int, epochs: int, loss: float, acc: float) -> None:
            if on_epoch is not None:
                on_epoch(epoch, epochs, loss)
            if notice is not None and epoch:
                notice(
                    f"epoch {epoch}/{epochs}: loss {loss:.4f}, validation accuracy "
                    f"{acc:.2f}% (full model)"
                )

        start = time.perf_counter()
        with torch_threads(settings.threads), seeded(settings.seed, device):
            if settings.importance and settings.elastic:
                reorder(
                    model,
                    *importance(
                        model, task.train, settings.importance_batches, settings.batch_size, device
                    ),
                )
            history = finetune(
                model,
                task.train,
                task.validation,
                big,
                small,
                lambda rng: subnet_of(sample(rng), self.shape),
                settings,
                epoch_done,
                device,
            )
        report = {
            "seconds": round(time.perf_counter() - start, 1),
            "steps": len(history),
            "history": history,
            "largest": big.to_dict(),
            "smallest": small.to_dict(),
            "largest_val_acc": accuracy(model, big, task.validation),
            "smallest_val_acc": accuracy(model, small, task.validation),
            "largest_test_acc": accuracy(model, big, task.test),
            "data": task.digest,
            "weights": self.model_digest,
            "finetune": settings.model_dump(),
            "device": device,
        }
        save_checkpoint(
            out,
            {
                "shape": self.shape.to_dict(),
                "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
                "report": report,
                "space": self.definition.name,
                "torch": str(torch.__version__),
            },
        )
        self._model, self.checkpoint_path = model, out
        return report

    def prepare(
        self,
        on_epoch: Callable[[int, int, float], None] | None = None,
        notice: Notice | None = None,
    ) -> None:
        """Load the weights (fine-tuning and caching them first if needed) and the data."""
        if self._inputs is not None:
            return

        from nas_search.supernet.encoder import ElasticEncoder
        from nas_search.supernet.store import load_checkpoint

        device = self._device()
        if ACCURACY in self.metrics:
            self.data  # noqa: B018  (load and check the data before any fine-tuning)
        path = self.weights_path()
        if path is not None and not path.is_file() and self.spec.checkpoint is None:
            if notice is not None:
                notice(
                    f"Fine-tuning {self.model_dir.name} elastically (first use; cached as {path})"
                )
            report = self.finetune(path, on_epoch, notice)
            model = self._model
            if notice is not None:
                notice(
                    f"Fine-tuned in {report['seconds']} s: validation accuracy "
                    f"{report['largest_val_acc']:.1f}% (full), "
                    f"{report['smallest_val_acc']:.1f}% (smallest)"
                )
        elif path is not None:
            payload = load_checkpoint(
                path, self.shape.to_dict(), f"{self.where}evaluator.checkpoint"
            )
            model = ElasticEncoder(self.shape)
            model.load_state_dict(payload["state_dict"])
            self.checkpoint_path = path
        else:
            model = self.pretrained()
        self._ready(model, {k: v.to(device) for k, v in self.example_inputs().items()})

    def example_inputs(self, batch_size: int | None = None) -> dict[str, Any]:
        """Fixed random inputs of the configured batch size and sequence length."""
        import torch

        generator = torch.Generator().manual_seed(0)
        s, settings = self.shape, self.spec.latency
        batch = batch_size or settings.batch_size
        if not s.text:
            size = (batch, s.channels, s.image_size, s.image_size)
            return {"pixel_values": torch.randn(size, generator=generator)}
        n = settings.sequence_length
        return {
            "input_ids": torch.randint(0, s.vocab, (batch, n), generator=generator),
            "attention_mask": torch.ones(batch, n, dtype=torch.int64),
            "token_type_ids": torch.zeros(batch, n, dtype=torch.int64),
        }

    # hooks of ElasticEvaluator ----------------------------------------------------------
    def _subnet(self, config: Mapping[str, Any]) -> EncoderSubnet:
        return subnet_of(config, self.shape)

    def _beyond(self, sub: EncoderSubnet) -> list[str]:
        return beyond_maxima(sub, self.shape)

    def arch_metrics(self, sub: EncoderSubnet) -> dict[str, float]:
        return exact_metrics(self.shape, sub, self.spec.latency.sequence_length)

    def weights(self, sub: EncoderSubnet) -> tuple[int, Mapping[str, tuple[int, int]]]:
        return params(self.shape, sub), linears(self.shape, sub)

    def groups(self, sub: EncoderSubnet) -> Groups:
        head = ("pooler", "classifier") if self.shape.text else ("classifier",)
        return groups_of(sub.num_layers, "layers", ("q", "k", "v", "o"), ("fc1", "fc2"), head)

    def onnx_model(self, config: Mapping[str, Any]) -> Any:
        """The candidate as the ONNX model onnxruntime measures: the sub-network with the
        fine-tuned weights, its int8 layers quantized."""
        from nas_search.supernet.deploy import dynamic_axes, wrapped
        from nas_search.supernet.encoder import extract, input_names
        from nas_search.supernet.onnx_model import quantize, to_onnx

        model = extract(self.model, self.subnet(config))
        names = input_names(self.shape)
        inputs = [self._inputs[n].cpu() for n in names]
        proto = to_onnx(wrapped(model), inputs, names, dynamic_axes(model))
        return quantize(proto, self.int8_layers(config), prefix="encoder.body.")

    def _accuracy(self, model: Any, sub: EncoderSubnet) -> float:
        from nas_search.supernet.finetune import accuracy

        return accuracy(model, sub, self.data.validation, self.spec.latency.device)

    def validation_set(self, config: Mapping[str, Any]) -> tuple[Mapping[str, Any], Any]:
        return self.data.validation.inputs, self.data.validation.labels
