"""The ``search:`` section of a space file: how a run searches, measures and stops; every
choice is one of a fixed set, checked when the file and flags are read."""

from __future__ import annotations

import importlib
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
)

ALGORITHMS = ("nsga2", "agemoea", "nsga3", "unsga3", "ctaea", "moead")
TACTICS = ("linas", "evolutionary", "random")  # the search registry's names (tested equal)
PREDICTORS = (
    "auto",
    "ensemble",
    "ridge",
    "ard",
    "gp",
    "svr",
    "rf",
    "extra_trees",
    "mlp",
    "xgboost",
)
EXECUTORS = ("local", "ray")
ISOLATIONS = ("auto", "process", "none")


#: ``sklearn:package.module.Class``: a scikit-learn regressor named by its import path
EXTERNAL_PREDICTOR = re.compile(r"sklearn:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")


#: the predictor is a Python estimator object given through the API (``predictor=...``)
PREDICTOR_OBJECT = "object"


def _predictor(name: str) -> str:
    if name in PREDICTORS or name == PREDICTOR_OBJECT:
        return name
    if not EXTERNAL_PREDICTOR.fullmatch(name):
        raise ValueError(
            f"must be one of {', '.join(PREDICTORS)} or sklearn:module.Class, got {name!r}"
        )
    module, _, attr = name.removeprefix("sklearn:").rpartition(".")
    try:  # the user named it: importing it here says at once whether it exists
        found = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        found = None
    if not isinstance(found, type) or not hasattr(found, "fit") or not hasattr(found, "predict"):
        raise ValueError(f"names no regressor class that can be imported, got {name!r}")
    return name


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


Count = Annotated[StrictInt, Field(le=10**9)]


class SearchSettings(_Model):
    tactic: Literal[TACTICS] = Field(  # type: ignore[valid-type]
        "linas", description="linas, evolutionary or random"
    )
    algorithm: Literal[ALGORITHMS] = "nsga2"  # type: ignore[valid-type]
    population: Annotated[Count, Field(ge=2)] = 50
    budget: Annotated[Count, Field(ge=1, description="real evaluations to spend")] = 100
    initial: Annotated[Count, Field(ge=1)] = 10
    batch: Annotated[Count, Field(ge=1)] = 10
    predictor: Annotated[str, AfterValidator(_predictor)] = Field(
        "auto",
        description=f"{', '.join(PREDICTORS)}, or any scikit-learn regressor as "
        "sklearn:module.Class (from Python, also an estimator object)",
    )
    seed: Annotated[StrictInt, Field(ge=0, lt=2**63)] = 0
    enqueue: list[dict[StrictStr, Any]] = Field(
        default_factory=list,
        description="configs to measure first (checked against the space), counted in the budget",
    )
    warm_start: StrictStr | None = Field(
        None,
        description="results.csv of an earlier run on this space: its measurements train the "
        "predictors from the start (they are not measured again nor counted)",
    )
    max_failures: Annotated[
        Count, Field(ge=1, description="stop after this many failed evaluations in a row")
    ] = 10
    workers: Annotated[
        StrictInt,
        Field(
            ge=1, le=1024, description="evaluation processes (1: in this process; on GPUs one each)"
        ),
    ] = 1
    retries: Annotated[
        Count, Field(ge=0, description="attempts more for a failed evaluation, then skip it")
    ] = 1
    evaluation_timeout: Annotated[
        float | None,
        Field(
            gt=0,
            le=10**7,
            allow_inf_nan=False,
            description="seconds one evaluation may take (runs it in a worker process)",
        ),
    ] = None
    executor: Literal[EXECUTORS] = Field(  # type: ignore[valid-type]
        "local", description="local: this process or worker processes; ray: Ray actors"
    )
    isolation: Literal[ISOLATIONS] = Field(  # type: ignore[valid-type]
        "auto",
        description="auto: evaluators that run user code in this process (python) run in a "
        "worker process, so that sys.exit, os._exit or a crash fails the candidate, not the "
        "run; process: always a worker; none: in this process",
    )
    address: StrictStr | None = Field(
        None, description="the Ray cluster (auto, ray://host:port; default: a local Ray)"
    )
    num_cpus: Annotated[
        float,
        Field(ge=0, le=10**6, allow_inf_nan=False, description="CPUs each Ray worker asks for"),
    ] = 1.0
    num_gpus: Annotated[
        float,
        Field(ge=0, le=10**6, allow_inf_nan=False, description="GPUs each Ray worker asks for"),
    ] = 0.0

    @model_validator(mode="after")
    def _design(self) -> SearchSettings:
        if self.tactic == "linas" and self.initial < 2 and self.budget > 1:
            raise ValueError(
                f"initial: LINAS fits its predictors on the initial design and needs at least "
                f"2 sub-networks in it, got {self.initial}"
            )
        return self

    @model_validator(mode="after")
    def _ray_only(self) -> SearchSettings:
        defaults = {"address": None, "num_cpus": 1.0, "num_gpus": 0.0}
        for name, default in defaults.items():
            if self.executor != "ray" and getattr(self, name) != default:
                raise ValueError(
                    f"{name}: {getattr(self, name)!r} is for the Ray executor "
                    f"(executor: ray), got executor: {self.executor!r}"
                )
        return self
