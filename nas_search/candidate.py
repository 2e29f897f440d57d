"""``candidate.json``: one sub-network with the space it belongs to and, optionally, what was
predicted and measured for it. ``nas-search pareto --export`` writes them; ``validate`` reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from nas_search.config import SpaceDefinition, format_validation_error
from nas_search.encoding import canonical_config, digest
from nas_search.errors import CandidateError

FORMAT = "nas-search/candidate-1"


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: StrictStr = FORMAT
    space: StrictStr = Field(description="name of the space")
    space_hash: StrictStr | None = Field(None, description="fingerprint of the space's parameters")
    space_file: StrictStr | None = Field(
        None, description="where the space file was (for a reader; never used to load it)"
    )
    hash: StrictStr | None = Field(None, description="the sub-network's stable hash")
    config: dict[str, Any]
    predicted: dict[str, float] | None = None
    uncertainty: dict[str, float] | None = None
    measured: dict[str, float] | None = None
    source: dict[str, Any] | None = Field(None, description="where it came from (run, id)")

    @classmethod
    def of(cls, definition: SpaceDefinition, config: Mapping[str, Any], **fields: Any) -> Candidate:
        canonical = canonical_config(definition.space, config)
        return cls(
            space=definition.name,
            space_hash=definition.fingerprint,
            space_file=str(definition.path.resolve()) if definition.path else None,
            hash=digest(canonical),
            config=canonical,
            **fields,
        )

    def to_json(self) -> str:
        return json.dumps(self.model_dump(exclude_none=True), indent=2) + "\n"

    def write(self, path: Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


def read_candidate(path: Path) -> Candidate:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CandidateError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CandidateError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CandidateError(
            f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise CandidateError(f"{path}: must be a JSON object with 'space' and 'config'")
    try:
        return Candidate.model_validate(data)
    except ValidationError as exc:
        raise CandidateError(format_validation_error(str(path), exc)) from None
