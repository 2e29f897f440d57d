"""Run directories: ``run.yaml`` (resolved settings, seed, versions, machine), a copy of the
space file, the journal and the tables; and reading one back to resume or report."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from nas_search import __version__
from nas_search.config import SpaceDefinition, load_space_dict
from nas_search.errors import ResultsError
from nas_search.results.journal import JOURNAL, write_atomic

RUN_FILE = "run.yaml"
SPACE_COPY = "space.yaml"
_PACKAGES = ("numpy", "pandas", "pymoo", "pydantic", "PyYAML", "scikit-learn", "xgboost", "torch")


def create_run(definition: SpaceDefinition, out: Path | None, root: Path = Path("results")) -> Path:
    """Make the run directory: ``out`` (which must not hold a run yet) or a fresh
    ``results/<space>-<time>/``. ``run.yaml`` is written last, so a directory either holds a
    whole run or no run at all, whenever the process is killed."""
    if out is not None:
        out = Path(out)
        if (out / JOURNAL).exists() or (out / RUN_FILE).exists():
            raise ResultsError(f"--out: {out} already holds a run; resume it with --resume {out}")
        if out.exists():
            _write_run_files(out, definition)
            return out
        final = out
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        final, k = root / f"{definition.name}-{stamp}", 1
        while final.exists():
            k += 1
            final = root / f"{definition.name}-{stamp}-{k}"
    staging = final.with_name(f".{final.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _write_run_files(staging, definition)
    os.rename(staging, final)
    return final


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "nas-search": __version__}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "node": platform.node(),
    }


def _write_run_files(run_dir: Path, definition: SpaceDefinition) -> None:
    info = {
        "nas_search": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "command": " ".join(sys.argv),
        "space_file": str(definition.path.resolve()) if definition.path else None,
        "base_dir": str(definition.base_dir),
        "space_hash": definition.fingerprint,
        "seed": definition.settings.seed,
        "space": definition.to_dict(),
        "versions": versions(),
        "machine": machine(),
    }
    if definition.path is not None and definition.path.is_file():
        write_atomic(run_dir / SPACE_COPY, definition.path.read_text(encoding="utf-8"))
    write_atomic(run_dir / RUN_FILE, yaml.safe_dump(info, sort_keys=False, allow_unicode=True))


def read_run_file(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise ResultsError(f"{run_dir}: not a nas-search run directory (no {RUN_FILE})")
    try:
        info = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ResultsError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(info, dict) or not isinstance(info.get("space"), dict):
        raise ResultsError(f"{path}: has no 'space' section")
    return info


def load_run(run_dir: Path) -> SpaceDefinition:
    """The space and settings a run was started with, exactly as resolved then."""
    info = read_run_file(run_dir)
    source = str(Path(run_dir) / RUN_FILE)
    space_file = info.get("space_file")
    definition = load_space_dict(
        info["space"],
        source=source,
        base_dir=Path(info.get("base_dir") or run_dir),
        path=Path(space_file) if space_file else None,
    )
    if definition.fingerprint != info.get("space_hash"):
        raise ResultsError(f"{source}: space_hash does not match its space section")
    return definition


def find_run_dir(path: Path) -> Path | None:
    """The run directory of a results file (or of the directory itself), if it is one."""
    path = Path(path)
    for candidate in (path, path.parent):
        if candidate.is_dir() and (candidate / RUN_FILE).is_file():
            return candidate
    return None
