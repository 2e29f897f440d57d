"""Super-network checkpoints: where the cache keeps them, their key, atomic writes, loading.

A checkpoint is a ``torch.save`` of plain tensors and builtins, so ``torch.load`` reads it with
``weights_only=True``. The cache key covers everything the weights depend on: the
super-network's shape, the data (a digest of its arrays and split) and the training settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from nas_search.errors import EvaluatorError, first_line

FORMAT = "nas-search/supernet-1"


def cache_dir() -> Path:
    """``$NAS_SEARCH_CACHE``, else ``$XDG_CACHE_HOME/nas-search``, else ``~/.cache/nas-search``."""
    if os.environ.get("NAS_SEARCH_CACHE"):
        return Path(os.environ["NAS_SEARCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nas-search"


def checkpoint_key(shape: dict[str, Any], data_digest: str, train: dict[str, Any]) -> str:
    text = json.dumps(
        {"format": FORMAT, "shape": shape, "data": data_digest, "train": train}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_checkpoint(name: str, key: str) -> Path:
    """The cached weights of ``key``: whichever space trained them first (the key, not the
    space's name, says what they are), else ``<name>-<key>.pt`` to be written."""
    folder = cache_dir() / "supernets"
    found = sorted(p for p in folder.glob(f"*-{key}.pt") if p.is_file()) if folder.is_dir() else []
    return found[0] if found else folder / f"{name}-{key}.pt"


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write whole or not at all: a temporary file beside ``path``, fsynced, then renamed."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save({"format": FORMAT, **payload}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, shape: dict[str, Any], field: str) -> dict[str, Any]:
    """A checkpoint's payload, checked to belong to a super-network of ``shape``."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise EvaluatorError(f"{field}: no such file, got {str(path)!r}") from None
    except Exception as exc:
        reason = first_line(exc)
        raise EvaluatorError(f"{field}: {path} is not a readable checkpoint ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise EvaluatorError(
            f"{field}: {path} is not a nas-search super-network checkpoint "
            "(nas-search supernet train writes them)"
        )
    for key, value in shape.items():
        saved = payload.get("shape", {}).get(key)
        if saved != value:
            raise EvaluatorError(
                f"{field}: {path} holds a super-network with {key} {saved!r}, "
                f"the space's evaluator.supernet.{key} is {value!r}"
            )
    return dict(payload)
