"""What the weight-sharing evaluators (``vit``, ``transformer``) share: their space's
parameters checked against the super-network's maxima (and its precision genes), its largest
and smallest configs (the sandwich rule's ends), uniform random configs for training, and
:class:`ElasticEvaluator`, their common base."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluationFailed, EvaluatorError
from nas_search.evaluation.base import BaseEvaluator
from nas_search.supernet.precision import GENES, PRECISIONS, Groups, int8_layers, serialized_bytes
from nas_search.supernet.settings import RUNTIME_FIELDS


def check_dimensions(
    definition: SpaceDefinition,
    limits: Mapping[str, tuple[float, str]],
    depth: str,
    where: str,
    evaluator: str,
    fractional: tuple[str, ...] = (),
) -> None:
    """Every value the space can take must be a positive number within ``limits`` (name ->
    maximum and the field that sets it; whole unless named in ``fractional``); per-layer
    parameters follow ``depth``."""
    for p in definition.space.parameters:
        at = f"{where}parameters.{p.name}: "
        if p.name in GENES:
            continue  # checked by check_precisions
        if p.name not in limits:
            raise EvaluatorError(
                f"{at}the {evaluator} evaluator has no such dimension (it reads "
                f"{', '.join(limits)})"
            )
        if p.per_layer is not None and p.per_layer != depth:
            raise EvaluatorError(f"{at}per_layer must be {depth!r}, got {p.per_layer!r}")
        limit, source = limits[p.name]
        for v in p.values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise EvaluatorError(f"{at}must be positive numbers, got {v!r}")
            if v > limit:
                raise EvaluatorError(
                    f"{at}{v!r} exceeds the super-network's maximum ({source}: {limit!r})"
                )
            if p.name not in fractional and not float(v).is_integer():
                raise EvaluatorError(f"{at}must be whole numbers, got {v!r}")


def check_runtime(definition: SpaceDefinition, depth: str, latency: Any, where: str) -> bool:
    """The runtime settings and the precision genes; True where some config quantizes."""
    if latency.runtime == "onnxruntime" and latency.device != "cpu":
        raise EvaluatorError(
            f"{where}evaluator.latency.device: onnxruntime measures on the cpu here, "
            f"got {latency.device!r}"
        )
    return check_precisions(definition, depth, latency.runtime, where)


def check_precisions(definition: SpaceDefinition, depth: str, runtime: str, where: str) -> bool:
    """The precision genes of the space: values onnxruntime's quantizer can apply, per layer
    where they should be, int8 only where the model runs in onnxruntime. True where any
    config of the space quantizes a layer."""
    quantized = False
    for p in definition.space.parameters:
        if p.name in GENES:
            layered = depth if GENES[p.name] else None
            at = f"{where}parameters.{p.name}: "
            quantized = check_precisions_of(p, layered, runtime, at) or quantized
    return quantized


def check_precisions_of(p: Any, per_layer: str | None, runtime: str, at: str) -> bool:
    """One precision gene: ``per_layer`` as it must be, values onnxruntime's quantizer can
    apply, int8 only in onnxruntime. True where it can put a layer in int8."""
    if per_layer is not None and p.per_layer != per_layer:
        raise EvaluatorError(f"{at}per_layer must be {per_layer!r}, got {p.per_layer!r}")
    if per_layer is None and p.per_layer is not None:
        raise EvaluatorError(f"{at}one gene for the classifier: no per_layer, got {p.per_layer!r}")
    for v in p.values:
        if v not in PRECISIONS:
            raise EvaluatorError(
                f"{at}{v!r} is not a precision onnxruntime's quantizer can apply "
                f"(it does {', '.join(PRECISIONS)})"
            )
        if v == "int8" and runtime != "onnxruntime":
            raise EvaluatorError(
                f"{at}int8 runs in onnxruntime only: set evaluator.latency.runtime: "
                f"onnxruntime, got {runtime!r}"
            )
    return "int8" in p.values


def extreme_configs(definition: SpaceDefinition) -> tuple[dict[str, Any], dict[str, Any]]:
    """The largest and the smallest config of the space (every parameter at its maximum, or
    its minimum; per-layer ones as one value per layer their length parameter then gives)."""
    params = definition.space.params

    def pick(choose: Callable[[list[Any]], Any]) -> dict[str, Any]:
        config = {n: pick_value(p, choose) for n, p in params.items() if p.per_layer is None}
        for name, p in params.items():
            if p.per_layer is not None:
                config[name] = [pick_value(p, choose)] * int(config[p.per_layer])
        return {name: config[name] for name in params}

    return pick(max), pick(min)


def pick_value(p: Any, choose: Callable[[list[Any]], Any]) -> Any:
    """The parameter's extreme value; a precision gene's is fp32 (the unquantized model)."""
    if is_precision(p.name):
        return "fp32" if "fp32" in p.values else p.values[0]
    return choose(p.values)


def config_sampler(definition: SpaceDefinition) -> Callable[[Any], dict[str, Any]]:
    """Configs uniform over each parameter's values (and over each layer's), for training:
    the length parameters first, then the others in the space's order; no precision genes
    (training is in float32)."""
    params = definition.space.params
    lengths = [n for n in params if n in definition.space.max_layers]

    def sample(rng: Any) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for name in lengths:
            values = params[name].values
            config[name] = int(values[rng.integers(len(values))])
        for name, p in params.items():
            if name in config or is_precision(name):
                continue
            values = p.values
            count = int(config[p.per_layer]) if p.per_layer else 1
            picked = [values[int(k)] for k in rng.integers(len(values), size=count)]
            config[name] = picked if p.per_layer else picked[0]
        return config

    return sample


def trained_space(definition: SpaceDefinition) -> list[list[Any]]:
    """What training samples from the space: each parameter but the precision genes, with its
    values and layering (two spaces alike in these train the same weights, whatever their
    names, objectives or precision genes)."""
    return [
        [p.name, [str(v) for v in p.values], p.per_layer]
        for p in definition.space.parameters
        if not is_precision(p.name)
    ]


def is_precision(name: str) -> bool:
    """Whether a parameter is a precision gene (of the ViT, the transformer or the CNN)."""
    return name in GENES or name.startswith("precision_")


EXACT = ("params_m", "macs_m", "size_mb")
LATENCY = ("latency_ms", "latency_iqr_ms", "latency_unstable", "threads")
ACCURACY = "accuracy"


class ElasticEvaluator(BaseEvaluator):
    """What the weight-sharing evaluators share: their metrics, the model they measure, the
    checks of a sub-network, and one measurement in torch or in onnxruntime.

    A subclass sets ``kind`` and ``whole`` (its name and what its model is called), and gives
    the hooks: ``_subnet``/``_beyond`` (a config's sub-network, what of it is beyond the
    model), ``arch_metrics``/``weights``/``groups`` (the pure arithmetic of a sub-network),
    ``prepare``, ``onnx_model``, ``_accuracy`` and ``validation_set``.
    """

    computes_exact = True
    kind = ""
    whole = "super-network"
    spec: Any  # the evaluator's section of the space file; its ``latency`` is read here
    definition: SpaceDefinition
    where: str

    def _choose_metrics(
        self,
        spec: Any,
        definition: SpaceDefinition,
        where: str,
        available: list[str],
        reasons: Mapping[str, str],
    ) -> None:
        """Metrics as the spec asks (default: all ``available``) plus the objectives; a
        metric in ``reasons`` cannot be had, for that reason."""
        wanted = list(spec.metrics if spec.metrics is not None else available)
        wanted += [o.name for o in definition.objectives if o.name not in wanted]
        for name in wanted:
            if name in reasons:
                raise EvaluatorError(reasons[name])
            if name not in available:
                raise EvaluatorError(
                    f"{where}evaluator.metrics: {name!r} is not a metric of the {self.kind} "
                    f"evaluator (it gives: {', '.join(available)})"
                )
        exact = list(spec.exact) or list(EXACT)
        for name in exact:
            if name not in EXACT:
                raise EvaluatorError(
                    f"{where}evaluator.exact: {name!r} is not an exact metric of the {self.kind} "
                    f"evaluator (it computes: {', '.join(EXACT)})"
                )
        BaseEvaluator.__init__(self, [m for m in wanted if m not in exact], exact)
        self._model: Any = None
        self._inputs: Any = None

    # hooks --------------------------------------------------------------------------------
    def _subnet(self, config: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def _beyond(self, sub: Any) -> list[str]:
        raise NotImplementedError

    def arch_metrics(self, sub: Any) -> dict[str, float]:
        """``params_m``, ``macs_m`` and ``size_mb`` (float32) of a sub-network."""
        raise NotImplementedError

    def weights(self, sub: Any) -> tuple[int, Mapping[str, tuple[int, int]]]:
        """A sub-network's parameter count and its linear layers' shapes."""
        raise NotImplementedError

    def groups(self, sub: Any) -> Groups:
        """The linear layers each precision gene governs."""
        raise NotImplementedError

    def onnx_model(self, config: Mapping[str, Any]) -> Any:
        """The candidate as the ONNX model onnxruntime measures, int8 layers quantized."""
        raise NotImplementedError

    def _accuracy(self, model: Any, sub: Any) -> float:
        raise NotImplementedError

    def validation_set(self, config: Mapping[str, Any]) -> tuple[Mapping[str, Any], Any]:
        """The validation split's inputs (named and shaped as the candidate's model takes
        them) and labels."""
        raise NotImplementedError

    def _training(self) -> Any:
        """The settings the weights are trained with (None: they are not trained here)."""
        raise NotImplementedError

    def _identity(self) -> dict[str, Any]:
        """What the weights are of, for their cache key (the data and settings aside)."""
        raise NotImplementedError

    def _data_digest(self) -> str:
        raise NotImplementedError

    # shared -------------------------------------------------------------------------------
    def weights_path(self) -> Path | None:
        """Where the trained weights are, or will be once trained (the cache, keyed by what
        they are of, the data's digest, the training settings and the sub-networks training
        samples, or ``evaluator.checkpoint``); None where nothing is trained."""
        from nas_search.supernet.store import cached_checkpoint, checkpoint_key

        if self.spec.checkpoint is not None:
            return self._path(self.spec.checkpoint)
        settings = self._training()
        if settings is None or self.spec.data is None:
            return None
        how = settings.model_dump(exclude=set(RUNTIME_FIELDS))
        how["space"] = trained_space(self.definition)
        key = checkpoint_key(self._identity(), self._data_digest(), how)
        return cached_checkpoint(self.definition.name, key)

    def _path(self, value: str) -> Path:
        """A path of the space file's, relative to its folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.definition.base_dir / path

    def _device(self) -> str:
        """The measuring device, checked to be there."""
        import torch

        device: str = self.spec.latency.device
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EvaluatorError(
                f"{self.where}evaluator.latency.device: CUDA is not available here, got {device!r}"
            )
        return device

    def _ready(self, model: Any, inputs: Any) -> None:
        """Measure ``model`` (in inference mode, on the device) on ``inputs`` from now on."""
        import torch

        self._model = model.eval().to(self.spec.latency.device)
        # process-wide on purpose: latency is measured at this thread count (recorded per row)
        torch.set_num_threads(self.spec.latency.threads)
        self._inputs = inputs

    @property
    def model(self) -> Any:
        """The model, ready to measure (:meth:`prepare` runs first if needed)."""
        self.prepare()
        return self._model

    def subnet(self, config: Mapping[str, Any]) -> Any:
        try:
            sub = self._subnet(config)
        except (TypeError, ValueError) as exc:
            raise EvaluationFailed(f"not a sub-network of the {self.whole}: {exc}") from None
        problems = self._beyond(sub)
        if problems:
            raise EvaluationFailed(f"beyond the {self.whole}: {'; '.join(problems)}")
        return sub

    def int8_layers(self, config: Mapping[str, Any]) -> list[str]:
        """The linear layers the config's precision genes put in int8."""
        return int8_layers(config, self.groups(self.subnet(config)))

    def exact(self, config: dict[str, Any]) -> Mapping[str, float]:
        sub = self.subnet(config)
        values = self.arch_metrics(sub)
        int8 = self.int8_layers(config)
        if int8:  # the weights as serialized: int8 matrices with their scale and zero point
            values["size_mb"] = serialized_bytes(*self.weights(sub), int8) / 1e6
        return {m: values[m] for m in self.exact_metrics}

    def evaluate(self, config: dict[str, Any]) -> Mapping[str, float]:
        from nas_search.supernet.latency import latency_metrics, measure_latency

        sub = self.subnet(config)
        model, settings = self.model, self.spec.latency
        out: dict[str, float] = {}
        if settings.runtime == "onnxruntime":
            from nas_search.supernet.onnx_model import measure_onnx

            inputs = {k: v.cpu().numpy() for k, v in self._named_inputs(config).items()}
            validation = self.validation_set(config) if ACCURACY in self.metrics else None
            out = measure_onnx(self.onnx_model(config), inputs, settings, validation)
            return {**out, **self.exact(config)}
        if ACCURACY in self.metrics:
            out[ACCURACY] = self._accuracy(model, sub)
        if "latency_ms" in self.metrics:
            run = self._runner(model, sub, self._inputs)
            out.update(latency_metrics(measure_latency(run, settings), settings))
        return {**out, **self.exact(config)}

    def _runner(self, model: Any, sub: Any, inputs: Any) -> Callable[[], Any]:
        """What latency times: the sub-network's forward pass on the timing inputs."""
        return lambda: model(inputs, sub)

    def _named_inputs(self, config: Mapping[str, Any]) -> Mapping[str, Any]:
        """The timing inputs by the model's input names, as the candidate takes them."""
        inputs = self._inputs
        return inputs if isinstance(inputs, Mapping) else {"pixel_values": inputs}
