"""Run directories: ``run.yaml`` (resolved settings, seed, versions, machine), a copy of the
space file, the journal and the tables; and reading one back to resume or report."""

from __future__ import annotations

import fcntl
import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from nas_search._version import __version__
from nas_search.config import SpaceDefinition, load_space_dict
from nas_search.csvfile import read_text
from nas_search.errors import ResultsError
from nas_search.results.journal import JOURNAL, Journal, fsync_dir, write_atomic
from nas_search.yamlfile import NoAliasDumper, parse_yaml

RUN_FILE = "run.yaml"
SPACE_COPY = "space.yaml"
#: every file nas-search writes into a run directory
RUN_FILES = (
    RUN_FILE,
    SPACE_COPY,
    JOURNAL,
    "results.csv",
    "pareto.csv",
    "pareto.md",
    "predicted_pareto.csv",
    "predictors",
    "report.html",
)
_PACKAGES = ("numpy", "pandas", "pymoo", "pydantic", "PyYAML", "scikit-learn", "xgboost", "torch")


def create_run(definition: SpaceDefinition, out: Path | None, root: Path = Path("results")) -> Path:
    """Claim and fill a run directory: ``out`` (which must not hold a run yet) or a fresh
    ``results/<space>-<time>/``.

    The claim is atomic (see :func:`_claim`): of two runs started into one directory at once,
    one gets it and the other a one-line error, having written nothing. ``run.yaml`` is written
    last: a directory without it holds no run, whenever the process is killed."""
    if out is None:
        final = _fresh_dir(root, definition.name)
    else:
        final = Path(out)
        if final.exists() and not final.is_dir():
            raise ResultsError(f"--out: {final} is a file, not a directory")
        if (final / RUN_FILE).exists() or (final / RUN_FILE).is_symlink():
            raise ResultsError(
                f"--out: {final} already holds a run; resume it with --resume {final}"
            )
        try:
            final.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsError(f"--out: {final}: cannot be created ({exc.strerror})") from None
    _claim(final, definition)
    return final


def _claim(final: Path, definition: SpaceDefinition) -> None:
    """Create the journal exclusively and write the run files, holding a lock on the
    directory meanwhile (the kernel drops it however the process ends): of runs started
    together, one writes, the others find its ``run.yaml``; a journal left empty without one
    by a run killed while starting is taken over."""
    dir_fd = os.open(final, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        if (final / RUN_FILE).exists() or (final / RUN_FILE).is_symlink():
            raise ResultsError(
                f"--out: {final} already holds a run; resume it with --resume {final}"
            )
        for name in RUN_FILES:  # another run's files, or links planted where ours will go
            if name not in (RUN_FILE, JOURNAL) and (
                (final / name).exists() or (final / name).is_symlink()
            ):
                raise ResultsError(
                    f"--out: {final} already holds {name}; choose a directory without "
                    "another run's files"
                )
        journal = final / JOURNAL
        if journal.is_symlink() or (journal.exists() and journal.stat().st_size):
            raise ResultsError(
                f"--out: {final} holds a {JOURNAL} but no {RUN_FILE}; choose another --out"
            )
        journal.unlink(missing_ok=True)  # left empty by a run killed while starting
        os.close(os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
        _write_run_files(final, definition)
        fsync_dir(final)
    finally:
        os.close(dir_fd)


def _fresh_dir(root: Path, name: str) -> Path:
    """A new directory ``root/<name>-<time>[-k]``, made with ``mkdir`` (atomic: two runs
    started in the same second get two directories)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    for k in range(1, 10_000):
        final = root / (f"{name}-{stamp}" + (f"-{k}" if k > 1 else ""))
        try:
            final.mkdir()
        except FileExistsError:
            continue
        return final
    raise ResultsError(f"{root}: no free run directory name for {name}-{stamp}")


def refuse_links(run_dir: Path) -> None:
    """A run directory whose files are symbolic links is refused: writing through one would
    change a file outside the run."""
    for name in RUN_FILES:
        if (Path(run_dir) / name).is_symlink():
            raise ResultsError(
                f"{Path(run_dir) / name}: is a symbolic link; a run directory's files must be "
                "plain files (nas-search never writes through links)"
            )


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
    text = yaml.dump(info, Dumper=NoAliasDumper, sort_keys=False, allow_unicode=True)
    write_atomic(run_dir / RUN_FILE, text)


def read_run_file(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_FILE
    refuse_links(run_dir)
    if not path.is_file():
        raise ResultsError(f"{run_dir}: not a nas-search run directory (no {RUN_FILE})")
    text = read_text(path, str(path), ResultsError, "run file")
    info = parse_yaml(text, str(path), ResultsError)
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


def update_settings(run_dir: Path, changes: dict[str, Any]) -> SpaceDefinition:
    """Change a run's ``search`` settings (a larger budget, more configs to measure first) in
    its ``run.yaml``, while no other process writes the run; returns the run's space."""
    from nas_search.config import override_settings

    run_dir = Path(run_dir)
    with Journal(run_dir / JOURNAL):  # the run's lock: nobody resumes it meanwhile
        definition = load_run(run_dir)
        definition = definition.with_settings(override_settings(definition.settings, changes))
        rewrite_settings(run_dir, definition)
    return definition


def rewrite_settings(run_dir: Path, definition: SpaceDefinition) -> None:
    """Store ``definition``'s settings in ``run.yaml`` (by the process that holds the run)."""
    info = read_run_file(run_dir)
    info["space"] = definition.to_dict()
    info["seed"] = definition.settings.seed
    text = yaml.dump(info, Dumper=NoAliasDumper, sort_keys=False, allow_unicode=True)
    write_atomic(Path(run_dir) / RUN_FILE, text)


def find_run_dir(path: Path) -> Path | None:
    """The run directory of a results file (or of the directory itself), if it is one."""
    path = Path(path)
    for candidate in (path, path.parent):
        if candidate.is_dir() and (candidate / RUN_FILE).is_file():
            return candidate
    return None


#: ``run.yaml``'s key for the reference point of the hypervolume the journal records per batch
REFERENCE = "hypervolume_reference"


def read_reference(run_dir: Path, names: list[str]) -> list[float] | None:
    """The run's fixed hypervolume reference point (objectives ``names``), if set yet (a
    journal without ``run.yaml``, as a test may make, has none)."""
    if not (Path(run_dir) / RUN_FILE).exists():
        return None
    stored = read_run_file(run_dir).get(REFERENCE)
    if not isinstance(stored, dict) or any(n not in stored for n in names):
        return None
    try:
        return [float(stored[n]) for n in names]
    except (TypeError, ValueError):
        raise ResultsError(f"{Path(run_dir) / RUN_FILE}: {REFERENCE}: must be numbers") from None


def store_reference(run_dir: Path, names: list[str], reference: list[float]) -> None:
    """Write the run's hypervolume reference point into ``run.yaml`` (by the process that
    holds the run, once; nowhere without a ``run.yaml``)."""
    if not (Path(run_dir) / RUN_FILE).exists():
        return
    info = read_run_file(run_dir)
    info[REFERENCE] = {n: float(v) for n, v in zip(names, reference, strict=True)}
    text = yaml.dump(info, Dumper=NoAliasDumper, sort_keys=False, allow_unicode=True)
    write_atomic(Path(run_dir) / RUN_FILE, text)
