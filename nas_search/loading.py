"""Import a user's Python function from ``module:function`` or ``path/to/file.py:function``:
an evaluator's function, its exact metrics, a space's ``canonical`` hook."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nas_search.errors import EvaluatorError, NasSearchError


def check_function(
    spec: str, base_dir: Path, where: str, error: type[NasSearchError] = EvaluatorError
) -> None:
    """Check that ``spec`` names a file or module that exists, without importing it (its
    top-level code runs only where the function is loaded: in the process that measures)."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise error(f"{where}must be 'module:function' or 'file.py:function', got {spec!r}")
    if target.endswith(".py") or "/" in target:
        path = Path(target)
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise error(f"{where}no such file {str(path)!r}, got {spec!r}")
        return
    if "." in target or target in sys.modules:
        return  # a package's module: finding it would import the package; checked on loading
    added = str(base_dir) not in sys.path
    if added:
        sys.path.insert(0, str(base_dir))
    try:
        found = importlib.util.find_spec(target)
    except (ImportError, ValueError):
        found = None
    finally:
        if added:
            sys.path.remove(str(base_dir))
    if found is None:
        raise error(f"{where}cannot import module {target!r} (no module named {target!r})")


def load_function(
    spec: str, base_dir: Path, where: str, error: type[NasSearchError] = EvaluatorError
) -> Callable[..., Any]:
    """The callable named by ``spec``; files and modules beside the space file are found (and,
    for a file, the modules beside it). Problems raise ``error`` naming ``where``."""
    check_function(spec, base_dir, where, error)
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py") or "/" in target:
        path = Path(target)
        path = path if path.is_absolute() else base_dir / path
        module_name = f"nas_search_user_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(module_name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise error(f"{where}cannot load {str(path)!r}")
            module = importlib.util.module_from_spec(loader_spec)
            folder = str(path.resolve().parent)
            added = folder not in sys.path
            if added:
                sys.path.insert(0, folder)
            try:
                loader_spec.loader.exec_module(module)
            except (Exception, SystemExit) as exc:
                raise error(f"{where}importing {str(path)!r} failed: {_reason(exc)}") from exc
            finally:
                if added and folder in sys.path:
                    sys.path.remove(folder)
            sys.modules[module_name] = module
    else:
        added = str(base_dir) not in sys.path
        if added:
            sys.path.insert(0, str(base_dir))
        try:
            module = importlib.import_module(target)
        except (Exception, SystemExit) as exc:
            raise error(f"{where}cannot import module {target!r} ({_reason(exc)})") from exc
        finally:
            if added:
                sys.path.remove(str(base_dir))
    function = getattr(module, attr, None)
    if not callable(function):
        raise error(f"{where}{target!r} has no function {attr!r}, got {spec!r}")
    return function


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    lines = f"{type(exc).__name__}: {exc}".splitlines()
    return lines[0] if lines else type(exc).__name__
