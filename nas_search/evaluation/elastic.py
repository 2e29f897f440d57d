"""What the weight-sharing evaluators (``vit``, ``transformer``) share about their space: its
parameters checked against the super-network's maxima, its largest and smallest configs (the
sandwich rule's ends) and uniform random configs for training."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nas_search.config import SpaceDefinition
from nas_search.errors import EvaluatorError


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


def extreme_configs(
    definition: SpaceDefinition, depth: str, default_depth: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The largest and the smallest config of the space (every parameter at its maximum, or
    its minimum; per-layer ones as one value per layer)."""
    params = definition.space.params

    def pick(choose: Callable[[list[Any]], Any]) -> dict[str, Any]:
        layers = int(choose(params[depth].values)) if depth in params else default_depth
        return {
            name: [choose(p.values)] * layers if p.per_layer else choose(p.values)
            for name, p in params.items()
        }

    return pick(max), pick(min)


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
            if name == depth:
                continue
            values = p.values
            count = layers if p.per_layer else 1
            picked = [values[int(k)] for k in rng.integers(len(values), size=count)]
            config[name] = picked if p.per_layer else picked[0]
        return config

    return sample
