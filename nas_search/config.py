"""The search-space file: YAML -> validated settings -> :class:`SearchSpace`.

One file describes a search: ``parameters``, ``constraints``, ``objectives``, ``evaluator``,
``search``. Structure and types are checked by pydantic; every error is reported as
``file: field.path: rule, got value``. The evaluator's own options are checked by the
evaluator that owns them (see :mod:`nas_search.evaluation`), with the same format.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from nas_search.domains import Choices, IntRange, same_value
from nas_search.encoding import config_problems, digest
from nas_search.errors import SpaceError, UsageError
from nas_search.identity import CanonicalHook
from nas_search.settings import (
    SearchSettings,
)
from nas_search.space import Parameter, SearchSpace
from nas_search.yamlfile import read_yaml

PARAMETER_KINDS = ("categorical", "ordinal", "integer", "fixed")
#: integers in a space file stay within what numpy's int64 genes and arithmetic can hold
INT_LIMIT = 2**53
#: a space name is an identifier: it names run directories, so it can hold no path
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if isinstance(value, int) and abs(value) > INT_LIMIT:
        raise ValueError(f"must be within -2**53 and 2**53, got {value:.3g}")
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)):
        return _number(value)
    raise ValueError("must be a string, a number or a boolean")


# one validator per type, not a union: errors then name the item (choices[2]), not a branch
Number = Annotated[int | float, PlainValidator(_number), WithJsonSchema({"type": "number"})]
Scalar = Annotated[
    str | bool | int | float,
    PlainValidator(_scalar),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(values: list[Any]) -> list[Any]:
    for k, v in enumerate(values):
        for j in range(k):
            if same_value(values[j], v):
                raise ValueError(f"choices[{k}] repeats choices[{j}] ({v!r})")
    return values


class _Varying(_Model):
    per_layer: str | None = Field(
        None, description="name of the parameter that gives this list's active length"
    )
    description: str = ""


class CategoricalSpec(_Varying):
    type: Literal["categorical"]
    choices: Annotated[list[Scalar], Field(min_length=1), AfterValidator(_unique)]


class OrdinalSpec(_Varying):
    type: Literal["ordinal"]
    choices: Annotated[list[Number], Field(min_length=1), AfterValidator(_unique)]


BoundedInt = Annotated[StrictInt, Field(ge=-INT_LIMIT, le=INT_LIMIT)]


class IntegerSpec(_Varying):
    type: Literal["integer"]
    low: BoundedInt
    high: BoundedInt
    step: Annotated[StrictInt, Field(gt=0, le=INT_LIMIT)] = 1

    @model_validator(mode="after")
    def _ordered(self) -> IntegerSpec:
        if self.high < self.low:
            raise ValueError(f"high must be >= low ({self.low}), got {self.high}")
        return self


class FixedSpec(_Model):
    type: Literal["fixed"]
    value: Scalar | list[Scalar]
    description: str = ""


ParameterSpec = Annotated[
    CategoricalSpec | OrdinalSpec | IntegerSpec | FixedSpec, Field(discriminator="type")
]


class ObjectiveSpec(_Model):
    name: StrictStr
    direction: Literal["maximize", "minimize"]
    bound: Number | None = Field(
        None,
        description="limit on the measured value: at most this when minimizing, at least "
        "this when maximizing; out-of-bound candidates stay in the results but not on the front",
    )
    description: str = ""

    @property
    def sign(self) -> float:
        """+1 for minimize, -1 for maximize: ``sign * value`` is always minimized."""
        return 1.0 if self.direction == "minimize" else -1.0

    @property
    def minimized_bound(self) -> float:
        """The bound in minimization form (``sign * bound``; inf where there is none)."""
        return math.inf if self.bound is None else self.bound * self.sign


class EvaluatorSection(BaseModel):
    """Fields every evaluator shares; the rest is checked by the evaluator named in ``type``."""

    model_config = ConfigDict(extra="allow")
    type: StrictStr
    metrics: list[StrictStr] | None = Field(
        None, description="metrics the evaluator returns (default: as the evaluator declares)"
    )
    exact: list[StrictStr] = Field(
        default_factory=list,
        description="metrics computed exactly without measuring (usable in constraints)",
    )


def _identifier(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name) or name.strip(".") == "":
        raise ValueError(
            "must be letters, digits, '_', '-' and '.' (at most 100, no path separators), "
            f"got {name!r}"
        )
    return name


class SpaceFile(_Model):
    name: Annotated[StrictStr, AfterValidator(_identifier)] | None = Field(
        None, description="identifier of the space (names run directories; default: file name)"
    )
    description: str = ""
    parameters: Annotated[dict[str, ParameterSpec], Field(min_length=1)]
    constraints: list[StrictStr] = Field(default_factory=list)
    canonical: StrictStr | None = Field(
        None,
        description="'module:function' or 'file.py:function': config -> its network's one config",
    )
    objectives: Annotated[list[ObjectiveSpec], Field(min_length=1)]
    evaluator: EvaluatorSection | None = Field(
        None, description="what measures a sub-network (not needed to ask and tell yourself)"
    )
    search: SearchSettings = Field(default_factory=SearchSettings)  # type: ignore[arg-type]

    @field_validator("objectives")
    @classmethod
    def _distinct(cls, objectives: list[ObjectiveSpec]) -> list[ObjectiveSpec]:
        names = [o.name for o in objectives]
        for k, name in enumerate(names):
            if name in names[:k]:
                raise ValueError(f"objective {name!r} is listed twice")
        return objectives


@dataclass
class SpaceDefinition:
    """A loaded space file: its settings, its :class:`SearchSpace` and where it came from."""

    file: SpaceFile
    space: SearchSpace
    source: str  # name used in messages
    base_dir: Path  # relative paths in the file are relative to this
    path: Path | None = None
    #: objects given through the Python API that no file can hold (``predictor``: an estimator)
    objects: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.space.name

    @property
    def objectives(self) -> list[ObjectiveSpec]:
        return self.file.objectives

    @property
    def settings(self) -> SearchSettings:
        return self.file.search

    @property
    def fingerprint(self) -> str:
        """Hash of what defines the sub-networks (parameters and constraints)."""
        return space_fingerprint(self.file)

    def with_settings(self, settings: SearchSettings) -> SpaceDefinition:
        check_enqueued(self.space, settings.enqueue, "--enqueue")
        file = self.file.model_copy(update={"search": settings})
        return SpaceDefinition(
            file, self.space, self.source, self.base_dir, self.path, dict(self.objects)
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = self.file.model_dump(mode="json", exclude_none=True)
        data["name"] = self.name
        return data


def check_enqueued(space: SearchSpace, configs: list[dict[str, Any]], where: str) -> None:
    """Every config to measure first must be a legal sub-network of ``space`` that meets its
    constraints (those on exact metrics are checked when it is proposed)."""
    for k, config in enumerate(configs):
        vector, problems = config_problems(space, config)
        if not problems:
            violated = space.violations(space.canonical(vector), check_metrics=False)[0]
            problems = [f"violates constraint {c!r}" for c in violated]
        if problems:
            raise SpaceError(f"{where}[{k}]: {problems[0]}")


def space_fingerprint(file: SpaceFile) -> str:
    data = file.model_dump(mode="json", include={"parameters", "constraints"})
    if file.canonical is not None:  # a hook changes what is one sub-network
        data["canonical"] = file.canonical
    return digest(data)


# loading ------------------------------------------------------------------------------------
def _as_identifier(stem: str) -> str:
    """A file name made into a space name (what :data:`NAME_PATTERN` allows)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", stem).lstrip(".-")[:100] or "space"


def load_space_file(path: Path, source: str | None = None) -> SpaceDefinition:
    """Read and validate a space file."""
    path = Path(path)
    source = source or str(path)
    data = read_yaml(path, source)
    return load_space_dict(
        data, source=source, base_dir=path.resolve().parent, default_name=path.stem, path=path
    )


def load_space_dict(
    data: Any,
    *,
    source: str,
    base_dir: Path,
    default_name: str = "space",
    path: Path | None = None,
) -> SpaceDefinition:
    if not isinstance(data, Mapping):
        raise SpaceError(f"{source}: must be a YAML mapping with parameters, objectives, evaluator")
    try:
        file = SpaceFile.model_validate(data)
    except ValidationError as exc:
        raise SpaceError(format_validation_error(source, exc)) from None
    name = file.name or _as_identifier(default_name)
    parameters = [_parameter(name_, spec) for name_, spec in file.parameters.items()]
    space = SearchSpace(
        name=name,
        parameters=parameters,
        constraints=file.constraints,
        exact_metrics=file.evaluator.exact if file.evaluator is not None else (),
        source=source,
    )
    if file.canonical is not None:
        space.identity = CanonicalHook(space, file.canonical, base_dir, source)
    for k, objective in enumerate(file.objectives):
        if objective.name in file.parameters:
            raise SpaceError(
                f"{source}: objectives[{k}].name: must be a metric, not a parameter, "
                f"got {objective.name!r}"
            )
    check_enqueued(space, file.search.enqueue, f"{source}: search.enqueue")
    file = file.model_copy(update={"name": name})
    return SpaceDefinition(file=file, space=space, source=source, base_dir=base_dir, path=path)


def _parameter(
    name: str, spec: CategoricalSpec | OrdinalSpec | IntegerSpec | FixedSpec
) -> Parameter:
    if isinstance(spec, FixedSpec):
        return Parameter(name, "fixed", value=spec.value)
    if isinstance(spec, IntegerSpec):
        return Parameter(
            name, "integer", IntRange(spec.low, spec.high, spec.step), per_layer=spec.per_layer
        )
    return Parameter(name, spec.type, Choices(tuple(spec.choices)), per_layer=spec.per_layer)


def override_settings(settings: SearchSettings, overrides: Mapping[str, Any]) -> SearchSettings:
    """Settings with CLI flags applied; errors name the flag (``--budget: ...``)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return SearchSettings.model_validate({**settings.model_dump(), **given})
    except ValidationError as exc:
        error = exc.errors()[0]
        flag = "--" + str(error["loc"][0]).replace("_", "-") if error["loc"] else "search"
        raise UsageError(f"{flag}: {_message(error)}") from None


# error formatting ---------------------------------------------------------------------------
_TAGGED = {"parameters": 2}  # loc position of a discriminator tag under these sections


def format_location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for k, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
            continue
        if loc and loc[0] in _TAGGED and k == _TAGGED[str(loc[0])] and item in PARAMETER_KINDS:
            continue  # the discriminator tag pydantic inserts into the location
        if item.startswith(("function-", "union[")) or item in (
            "constrained-int",
            "constrained-float",
        ):
            continue
        parts.append(("." if parts else "") + item)
    return "".join(parts)


def _message(error: Mapping[str, Any]) -> str:
    kind, msg = error["type"], str(error["msg"])
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"unknown field (value {error['input']!r})"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        got = error["input"].get("type") if isinstance(error["input"], Mapping) else error["input"]
        return f"type: must be one of {', '.join(PARAMETER_KINDS)}, got {got!r}"
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    msg = msg.replace("Input should be", "must be").replace("input should be", "must be")
    if "input" in error and kind not in ("model_type", "dict_type") and "got" not in msg:
        msg += f", got {error['input']!r}"
    elif kind in ("model_type", "dict_type"):
        msg += f", got {type(error['input']).__name__}"
    return msg


def format_validation_error(source: str, exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    path = format_location(tuple(first["loc"]))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{source}: {path + ': ' if path else ''}{_message(first)}{more}"


def space_schema(evaluator_schemas: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """JSON Schema of the file, with one branch per evaluator ``type``."""
    schema = SpaceFile.model_json_schema()
    schema["title"] = "nas-search space file"
    defs = schema.setdefault("$defs", {})
    branches = []
    for name, sub in evaluator_schemas.items():
        sub = dict(sub)
        defs.update(sub.pop("$defs", {}))
        defs[f"Evaluator_{name}"] = sub
        branches.append({"$ref": f"#/$defs/Evaluator_{name}"})
    schema["properties"]["evaluator"] = {"oneOf": branches}
    defs.pop("EvaluatorSection", None)
    return schema
