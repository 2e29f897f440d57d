"""Reading YAML given by the user strictly: PyYAML's safe loader, aliases capped, keys given
twice refused, errors one line naming the source, line and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nas_search.csvfile import read_text
from nas_search.errors import SpaceError, UsageError

#: nodes a YAML document may expand to, aliases counted as the copies they stand for
MAX_YAML_NODES = 100_000


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that caps what aliases expand to (a few hundred bytes of nested
    aliases stand for gigabytes) and refuses a key given twice in one mapping (the second
    would silently win)."""

    def compose_document(self) -> Any:
        node = super().compose_document()
        sizes: dict[int, int] = {}

        def size(item: Any) -> int:
            known = sizes.get(id(item))
            if known is None:
                children = item.value if isinstance(item.value, list) else []
                parts = [
                    c for pair in children for c in (pair if isinstance(pair, tuple) else (pair,))
                ]
                known = sizes[id(item)] = 1 + sum(size(c) for c in parts)
            return known

        if node is not None and size(node) > MAX_YAML_NODES:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"its aliases expand to more than {MAX_YAML_NODES} values",
                node.start_mark,
            )
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base class says so
                break
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class NoAliasDumper(yaml.SafeDumper):
    """Writes a repeated object out again instead of as an alias, so that what nas-search
    writes is read back by :class:`StrictLoader`."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def parse_yaml(text: str, source: str, error: type[UsageError] = SpaceError) -> Any:
    """YAML text to Python data (:class:`StrictLoader`); errors are one line naming
    ``source`` and the line and column."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{source}: {at}invalid YAML ({problem})") from None
    except RecursionError:
        raise error(f"{source}: invalid YAML (nested too deeply)") from None


def read_yaml(path: Path, source: str | None = None) -> Any:
    source = source or str(path)
    return parse_yaml(read_text(path, source, SpaceError, "space file"), source)
