"""Evaluators: the protocol, the built-in ones, and the registry that builds them by ``type``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nas_search.config import SpaceDefinition, format_validation_error
from nas_search.errors import EvaluatorError
from nas_search.evaluation.base import (
    BaseEvaluator,
    Evaluator,
    ExactFunction,
    Measurement,
    measure,
)
from nas_search.evaluation.callable import PythonEvaluator, PythonSpec
from nas_search.evaluation.cnn import CnnEvaluator, CnnSpec
from nas_search.evaluation.command import CommandEvaluator, CommandSpec
from nas_search.evaluation.spec import EvaluatorSpec
from nas_search.evaluation.table import TableEvaluator, TableSpec
from nas_search.evaluation.transformer import TransformerEvaluator, TransformerSpec
from nas_search.evaluation.vit import VitEvaluator, VitSpec
from nas_search.loading import load_function

__all__ = [
    "BaseEvaluator",
    "Evaluator",
    "EvaluatorSpec",
    "Measurement",
    "build_evaluator",
    "evaluator_schemas",
    "list_evaluators",
    "measure",
    "register_evaluator",
    "runs_user_code",
]

Factory = Callable[[Any, SpaceDefinition], Evaluator]


@dataclass(frozen=True)
class _Entry:
    spec: type[EvaluatorSpec]
    factory: Factory
    summary: str
    user_code: bool  # building or running it runs code the space file names


_REGISTRY: dict[str, _Entry] = {}


def register_evaluator(
    name: str, spec: type[EvaluatorSpec], summary: str, *, user_code: bool = True
) -> Callable[[Factory], Factory]:
    """Register a factory ``(spec, definition) -> Evaluator`` of evaluator ``type: name``
    (``spec``: the ``evaluator:`` section validated by ``spec``). ``user_code``: whether
    building or running it runs code that the space file names."""

    def decorate(factory: Factory) -> Factory:
        _REGISTRY[name] = _Entry(spec, factory, summary, user_code)
        return factory

    return decorate


def runs_user_code(definition: SpaceDefinition) -> bool:
    """Whether building this space's evaluator would run code the space file names (its
    ``python`` function or ``command``, an ``exact_function``): checked before building."""
    section = definition.file.evaluator
    if section is None:
        return False
    entry = _REGISTRY.get(section.type)
    extra = section.model_extra or {}
    return entry is None or entry.user_code or extra.get("exact_function") is not None


def list_evaluators() -> dict[str, str]:
    return {name: entry.summary for name, entry in _REGISTRY.items()}


def evaluator_schemas() -> dict[str, dict[str, Any]]:
    return {name: entry.spec.model_json_schema() for name, entry in _REGISTRY.items()}


def build_evaluator(definition: SpaceDefinition) -> Evaluator:
    """The evaluator a space file asks for, checked against the file's objectives."""
    src = definition.source
    if definition.file.evaluator is None:
        raise EvaluatorError(
            f"{src}: evaluator: is required to measure sub-networks (only asking and telling "
            "with nas_search.Search needs none)"
        )
    section = definition.file.evaluator.model_dump(exclude_none=True)
    entry = _REGISTRY.get(section["type"])
    if entry is None:
        raise EvaluatorError(
            f"{src}: evaluator.type: must be one of {', '.join(_REGISTRY)}, got {section['type']!r}"
        )
    try:
        spec = entry.spec.model_validate(section)
    except ValidationError as exc:
        message = format_validation_error(src, exc)
        raise EvaluatorError(message.replace(f"{src}: ", f"{src}: evaluator.", 1)) from None
    where = f"{src}: "
    evaluator = entry.factory(spec, definition)
    if evaluator.exact_metrics and spec.exact_function is None and not evaluator.computes_exact:
        raise EvaluatorError(
            f"{where}evaluator.exact: needs evaluator.exact_function to compute "
            f"{', '.join(evaluator.exact_metrics)}"
        )
    known = set(evaluator.metrics) | set(evaluator.exact_metrics)
    for k, objective in enumerate(definition.objectives):
        if objective.name not in known:
            raise EvaluatorError(
                f"{where}objectives[{k}].name: {objective.name!r} is not a metric of the "
                f"{spec.type} evaluator (it gives: {', '.join(sorted(known))})"
            )
    return evaluator


def exact_function_of(spec: Any, definition: SpaceDefinition) -> ExactFunction | None:
    """The ``exact_function`` a spec names, imported (it runs in the search's process)."""
    if spec.exact_function is None:
        return None
    where = f"{definition.source}: evaluator.exact_function: "
    function: ExactFunction = load_function(spec.exact_function, definition.base_dir, where)
    return function


def _declared(spec: Any, definition: SpaceDefinition) -> list[str]:
    """Metrics of an evaluator that cannot list them itself: as given, else the objectives and
    exact metrics."""
    if spec.metrics is not None:
        return list(spec.metrics)
    return list(dict.fromkeys([o.name for o in definition.objectives] + list(spec.exact)))


@register_evaluator("python", PythonSpec, "a Python function of the config dict")
def _python(spec: Any, definition: SpaceDefinition) -> Evaluator:
    return PythonEvaluator(
        spec,
        definition.base_dir,
        f"{definition.source}: ",
        _declared(spec, definition),
        exact_function_of(spec, definition),
    )


@register_evaluator(
    "command", CommandSpec, "a command: candidate JSON on stdin, metrics JSON on stdout"
)
def _command(spec: Any, definition: SpaceDefinition) -> Evaluator:
    return CommandEvaluator(
        spec,
        definition.base_dir,
        f"{definition.source}: ",
        _declared(spec, definition),
        exact_function_of(spec, definition),
        definition.name,
    )


@register_evaluator(
    "table", TableSpec, "a lookup table (CSV or CSV.gz) keyed by parameters", user_code=False
)
def _table(spec: Any, definition: SpaceDefinition) -> Evaluator:
    return TableEvaluator(
        spec,
        definition.base_dir,
        f"{definition.source}: ",
        spec.metrics,
        exact_function_of(spec, definition),
        definition.space,
    )


@register_evaluator(
    "vit", VitSpec, "sub-networks of an elastic ViT super-network (torch)", user_code=False
)
def _vit(spec: Any, definition: SpaceDefinition) -> Evaluator:
    return VitEvaluator(spec, definition, f"{definition.source}: ")


@register_evaluator(
    "transformer",
    TransformerSpec,
    "sub-networks of your pretrained Hugging Face BERT, RoBERTa or ViT (InstaTune)",
    user_code=False,
)
def _transformer(spec: Any, definition: SpaceDefinition) -> Evaluator:
    return TransformerEvaluator(spec, definition, f"{definition.source}: ")


@register_evaluator(
    "cnn",
    CnnSpec,
    "sub-networks of an elastic MobileNetV3-style CNN super-network (Once-for-All; torch)",
    user_code=False,
)
def _cnn(spec: Any, definition: SpaceDefinition) -> Evaluator:
    return CnnEvaluator(spec, definition, f"{definition.source}: ")
