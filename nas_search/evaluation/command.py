"""The ``command`` evaluator: an argv (no shell), candidate JSON on stdin, metrics JSON on stdout.

Lets users measure on a phone or a remote board: the command can be a script that ships the
config anywhere. ``{python}`` in the argv stands for this interpreter; the command runs in the
space file's folder; its whole process group is killed on timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictFloat, StrictInt, StrictStr

from nas_search.errors import EvaluationFailed
from nas_search.evaluation.base import BaseEvaluator, ExactFunction
from nas_search.evaluation.spec import EvaluatorSpec

TAIL = 400  # characters of stderr kept in a failure message


class CommandSpec(EvaluatorSpec):
    type: Literal["command"]
    argv: Annotated[list[StrictStr], Field(min_length=1)]
    timeout: Annotated[
        StrictInt | StrictFloat, Field(gt=0, description="seconds per evaluation")
    ] = 600
    env: dict[str, StrictStr] = Field(default_factory=dict)


class CommandEvaluator(BaseEvaluator):
    def __init__(
        self,
        spec: CommandSpec,
        base_dir: Path,
        where: str,
        metrics: list[str],
        exact_function: ExactFunction | None,
        space_name: str,
    ) -> None:
        super().__init__(metrics, spec.exact, exact_function)
        self.argv = [a.replace("{python}", sys.executable) for a in spec.argv]
        self.timeout = float(spec.timeout)
        self.cwd = base_dir
        self.env = {**os.environ, **spec.env}
        self.space_name = space_name

    def evaluate(self, config: dict[str, Any]) -> Mapping[str, float]:
        payload = json.dumps({"space": self.space_name, "config": config})
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.cwd,
                env=self.env,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise EvaluationFailed(
                f"command {self.argv[0]!r} cannot start: {exc.strerror}"
            ) from None
        try:
            stdout, stderr = process.communicate(payload, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            raise EvaluationFailed(f"timed out after {self.timeout:g} s") from None
        except BaseException:
            _kill_group(process)
            raise
        if process.returncode != 0:
            raise EvaluationFailed(
                f"command exited with status {process.returncode}: {_tail(stderr)}"
            )
        return _parse(stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _tail(text: str) -> str:
    text = " | ".join(line for line in text.strip().splitlines() if line.strip())
    return ("..." + text[-TAIL:]) if len(text) > TAIL else (text or "(no stderr)")


def _parse(stdout: str, stderr: str) -> Mapping[str, float]:
    lines = [line for line in stdout.strip().splitlines() if line.strip()]
    for text in (stdout.strip(), lines[-1] if lines else ""):
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    shown = stdout.strip()[-120:] or "(empty)"
    raise EvaluationFailed(f"stdout is not a JSON object: {shown!r}; stderr: {_tail(stderr)}")
