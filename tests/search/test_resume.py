"""SIGKILL a run at random points, over and over; resume must lose and repeat nothing and end
exactly as an uninterrupted run with the same seed (wall-clock columns aside)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nas_search.results.journal import JOURNAL, read_journal
from nas_search.results.tables import WALL_CLOCK
from tests.conftest import TOY

SPACE = TOY.replace("budget: 12, batch: 4, seed: 3", "budget: 40, batch: 6, seed: 11")
assert SPACE != TOY


def _cli(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TOY_DELAY": "0.05", "RUN_MARK": str(cwd)}
    return subprocess.Popen(
        [sys.executable, "-m", "nas_search", *args, "-q"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stable(records):
    drop = set(WALL_CLOCK)
    return [
        json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True) for r in records
    ]


def _records(run: Path) -> list[dict]:
    return read_journal(run / JOURNAL)[0]


def test_sigkill_at_random_points_then_resume(write_space, tmp_path):
    write_space(SPACE)
    reference = _cli("run", "--space", "space.yaml", "--out", "ref", cwd=tmp_path)
    assert reference.wait(timeout=120) == 0, reference.stderr.read().decode()

    rng = random.Random(2026)
    killed = tmp_path / "killed"
    kills, mid_run_kills, finished = 0, 0, False
    args = ["run", "--space", "space.yaml", "--out", "killed"]
    seen: list[str] = []
    for _ in range(80):
        process = _cli(*args, cwd=tmp_path)
        if rng.random() < 0.2:  # during start-up
            time.sleep(rng.uniform(0.05, 0.6))
        else:  # after a random number of new journal records, plus a random sliver of time
            target = len(seen) + rng.randint(1, 6)
            while process.poll() is None and len(_records(killed)) < target:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.06))
        if process.poll() is not None:
            assert process.returncode == 0, process.stderr.read().decode()
            finished = True
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        if (killed / "run.yaml").exists():
            args = ["run", "--resume", "killed"]
        else:  # it died before the run existed: nothing to resume, start it again
            left = list(killed.iterdir()) if killed.exists() else []
            assert all(p.name == JOURNAL and not p.stat().st_size or p.name.endswith(".tmp")
                       for p in left), left  # fmt: skip
        now = _stable(_records(killed))
        assert now[: len(seen)] == seen  # nothing on disk is ever lost or rewritten
        mid_run_kills += 0 < len(now) and len(now) > len(seen)
        seen = now
    assert finished and mid_run_kills >= 5, (finished, kills, mid_run_kills)

    ref_records, _ = read_journal(tmp_path / "ref" / JOURNAL)
    got_records, _ = read_journal(tmp_path / "killed" / JOURNAL)
    assert _stable(got_records) == _stable(ref_records)
    evaluations = [r for r in got_records if r["type"] == "evaluation"]
    assert len(evaluations) == 40 and len({r["id"] for r in evaluations}) == 40
    assert len({r["hash"] for r in evaluations}) == 40

    ref = pd.read_csv(tmp_path / "ref" / "results.csv").drop(columns=list(WALL_CLOCK))
    got = pd.read_csv(tmp_path / "killed" / "results.csv").drop(columns=list(WALL_CLOCK))
    assert got.equals(ref)
    for name in ("pareto.csv", "pareto.md"):
        assert (tmp_path / "killed" / name).read_text() == (tmp_path / "ref" / name).read_text()


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(write_space, tmp_path, workers):
    write_space(SPACE)
    process = _cli(
        "run", "--space", "space.yaml", "--out", "run", "--workers", str(workers), cwd=tmp_path
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        records, _ = read_journal(tmp_path / "run" / JOURNAL)
        if sum(r["type"] == "evaluation" for r in records) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    err = process.stderr.read().decode()
    assert "Resume with: nas-search run --resume run" in err and "Traceback" not in err
    if workers > 1:
        time.sleep(0.5)
        assert not _processes_with(str(tmp_path)), "workers outlived the run"
    resumed = _cli("run", "--resume", "run", cwd=tmp_path)
    assert resumed.wait(timeout=120) == 0
    frame = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(frame) == 40 and frame["hash"].is_unique


def _processes_with(mark: str) -> list[int]:
    """Live processes whose environment holds ``RUN_MARK=mark`` (the run and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and f"RUN_MARK={mark}".encode() in (
                entry / "environ"
            ).read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
