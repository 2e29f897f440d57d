"""What the weight-sharing evaluators (``vit``, ``transformer``) share about their space: its
parameters checked against the super-network's maxima, its largest and smallest configs (the
sandwich rule's ends) and uniform random configs for training."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluatorError
from nas_search.supernet.precision import GENES, PRECISIONS


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
        if p.name not in GENES:
            continue
        at = f"{where}parameters.{p.name}: "
        if GENES[p.name] and p.per_layer != depth:
            raise EvaluatorError(f"{at}per_layer must be {depth!r}, got {p.per_layer!r}")
        if not GENES[p.name] and p.per_layer is not None:
            raise EvaluatorError(
                f"{at}one gene for the classifier: no per_layer, got {p.per_layer!r}"
            )
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
            quantized = quantized or v == "int8"
    return quantized


def extreme_configs(
    definition: SpaceDefinition, depth: str, default_depth: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The largest and the smallest config of the space (every parameter at its maximum, or
    its minimum; per-layer ones as one value per layer)."""
    params = definition.space.params

    def pick(choose: Callable[[list[Any]], Any]) -> dict[str, Any]:
        layers = int(choose(params[depth].values)) if depth in params else default_depth
        return {
            name: [pick_value(p, choose)] * layers if p.per_layer else pick_value(p, choose)
            for name, p in params.items()
        }

    return pick(max), pick(min)


def pick_value(p: Any, choose: Callable[[list[Any]], Any]) -> Any:
    """The parameter's extreme value; a precision gene's is fp32 (the unquantized model)."""
    if p.name in GENES:
        return "fp32" if "fp32" in p.values else p.values[0]
    return choose(p.values)


def config_sampler(
    definition: SpaceDefinition, depth: str, default_depth: int
) -> Callable[[Any], dict[str, Any]]:
    """Configs uniform over each parameter's values (and over each layer's), for training."""
    params = definition.space.params

    def sample(rng: Any) -> dict[str, Any]:
        depth_values = params[depth].values if depth in params else [default_depth]
        layers = int(depth_values[rng.integers(len(depth_values))])
        config: dict[str, Any] = {depth: layers}
        for name, p in params.items():
            if name == depth or name in GENES:  # training is in float32: no precision
                continue
            values = p.values
            count = layers if p.per_layer else 1
            picked = [values[int(k)] for k in rng.integers(len(values), size=count)]
            config[name] = picked if p.per_layer else picked[0]
        return config

    return sample
