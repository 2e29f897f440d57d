"""The spaces shipped with the package, found by bare name (``vit`` or ``vit.yaml``)."""

from __future__ import annotations

from pathlib import Path

from nas_search.config import SpaceDefinition, load_space_file
from nas_search.errors import SpaceError

DEFAULT_SPACE = "vit"


def shipped_dir() -> Path:
    """``search_spaces/`` of a source checkout, or its copy inside an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "search_spaces", here / "_spaces"):
        if candidate.is_dir():
            return candidate
    raise SpaceError("the shipped search_spaces folder is missing from this installation")


def shipped_spaces() -> list[Path]:
    return sorted(shipped_dir().glob("*.yaml"))


def resolve_space(name_or_path: str | Path) -> tuple[Path, str]:
    """Path of a space file and the name to show in messages.

    An existing path wins; otherwise a bare name (with or without ``.yaml``) is looked up
    among the shipped spaces, from any directory.
    """
    given = Path(name_or_path)
    if given.exists():
        return given, str(name_or_path)
    bare = given.name if given.parent == Path(".") else None
    if bare:
        stem = bare.removesuffix(".yaml").removesuffix(".yml")
        shipped = shipped_dir() / f"{stem}.yaml"
        if shipped.is_file():
            return shipped, shipped.name
    names = ", ".join(p.stem for p in shipped_spaces())
    raise SpaceError(f"{name_or_path}: no such file, nor a shipped space (shipped: {names})")


def load_space(name_or_path: str | Path) -> SpaceDefinition:
    path, source = resolve_space(name_or_path)
    return load_space_file(path, source)
