"""Torture test of crash recovery (issue 12): runs killed with SIGKILL or SIGTERM at random
moments, with 1 and 2 workers, the random and LINAS tactics, and an evaluator that ends its own
process for some sub-networks; each run is resumed after every kill until it finishes, and
compared with an uninterrupted run of the same settings.

Prints, over all trials: kills; journaled evaluations lost (in the journal right after a kill,
missing at the end); sub-networks journaled twice; final results that differ from the
uninterrupted run (wall-clock columns aside); evaluations that finished before a SIGTERM but
were not journaled; processes of the run still alive 1 s after it ended. All should be 0.
Also, for information: evaluations measured again after a SIGKILL because the killed process
had not read or journaled them yet (unavoidable: that work never reached the disk).

    python benchmarks/torture.py [--trials 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd

NAS_SEARCH = [str(Path(sys.executable).parent / "nas-search")]
WALL_CLOCK = ["seconds", "timestamp"]

EVALUATOR = """
import hashlib, json, os, time
from pathlib import Path

def evaluate(config):
    key = json.dumps(config, sort_keys=True)
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    if os.environ.get("TORTURE_EXITS") and config["x"] % 11 == 0:
        os._exit(0)                               # the evaluator ends its own process
    time.sleep(0.03 + (h % 50) / 1000)
    f1 = (config["x"] - 120) ** 2 / 100 + {"a": 0, "b": 3, "c": 7}[config["z"]]
    f2 = config["y"] / 10 + (h % 7)
    with open(Path(os.environ["TORTURE_LOG"]), "a") as log:  # finished, at this time
        log.write(json.dumps({"key": key, "t": time.time()}) + "\\n")
    return {"f1": -f1, "f2": f2}
"""

SPACE = """
name: torture
parameters:
  x: {type: integer, low: 0, high: 200}
  y: {type: integer, low: 0, high: 200}
  z: {type: categorical, choices: [a, b, c]}
objectives:
  - {name: f1, direction: maximize}
  - {name: f2, direction: minimize}
evaluator: {type: python, function: torture_eval.py:evaluate}
search: {budget: 30, batch: 5, initial: 10, seed: 7, max_failures: 30}
"""


def run_cmd(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        NAS_SEARCH + args,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers share its process group
    )


def group_alive(pgid: int) -> int:
    """Processes of process group ``pgid`` that are alive (zombies excluded)."""
    alive = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive += 1
    return alive


def journal(run_dir: Path) -> list[dict]:
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")[:-1]
    return [json.loads(line) for line in lines]


def evaluated(records: list[dict]) -> list[str]:
    """Sub-networks of the journal's evaluation records (by config)."""
    configs = {}
    for record in records:
        if record.get("type") == "batch":
            for c in record["candidates"]:
                configs[c["id"]] = json.dumps(c["config"], sort_keys=True)
    return [configs[r["id"]] for r in records if r.get("type") == "evaluation"]


def table(run_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(run_dir / "results.csv")
    return frame.drop(columns=[c for c in WALL_CLOCK if c in frame.columns])


def settings_args(workers: int, tactic: str) -> list[str]:
    return ["--workers", str(workers), "--tactic", tactic, "-q"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="nas-search-torture-"))
    (root / "torture_eval.py").write_text(EVALUATOR)
    (root / "space.yaml").write_text(SPACE)
    base_env = {**os.environ, "PYTHONHASHSEED": "0"}
    references: dict[tuple, tuple[pd.DataFrame, float]] = {}
    totals: Counter[str] = Counter()
    start_all = time.perf_counter()

    for trial in range(args.trials):
        workers, tactic = rng.choice([1, 2]), rng.choice(["random", "linas"])
        exits = rng.random() < 0.5
        kind = (workers, tactic, exits)
        env = {**base_env, "TORTURE_LOG": str(root / f"log-{trial}.jsonl")}
        if exits:
            env["TORTURE_EXITS"] = "1"
        if kind not in references:
            ref_dir = root / f"reference-{workers}-{tactic}-{int(exits)}"
            ref_env = {**env, "TORTURE_LOG": str(root / f"reflog-{len(references)}.jsonl")}
            started = time.perf_counter()
            proc = run_cmd(["run", "--space", str(root / "space.yaml"), "--out", str(ref_dir),
                            *settings_args(workers, tactic)], ref_env)  # fmt: skip
            assert proc.wait() == 0, f"reference run {kind} failed"
            references[kind] = (table(ref_dir), time.perf_counter() - started)
        reference, wall = references[kind]
        run_dir = root / f"trial-{trial}"
        kills = rng.randint(1, 3)
        first = True
        for _ in range(kills):
            args_ = (
                ["run", "--space", str(root / "space.yaml"), "--out", str(run_dir),
                 *settings_args(workers, tactic)]
                if first else ["run", "--resume", str(run_dir), "-q"]
            )  # fmt: skip
            segment_start = time.time()
            proc = run_cmd(args_, env)
            time.sleep(rng.uniform(0.15, 0.9) * wall)
            how = rng.choice([signal.SIGKILL, signal.SIGTERM])
            stop_time = time.time()
            if proc.poll() is None:
                os.kill(proc.pid, how)
                totals["kills"] += 1
                totals["SIGKILL" if how == signal.SIGKILL else "SIGTERM"] += 1
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                totals["runs that ignored SIGTERM for 30 s"] += 1
            time.sleep(1.0)
            totals["orphans alive 1 s after the run ended"] += group_alive(proc.pid)
            if not (run_dir / "run.yaml").exists():  # killed before the run existed
                shutil.rmtree(run_dir, ignore_errors=True)
                continue
            first = False
            after_kill = Counter(evaluated(journal(run_dir)))
            if how == signal.SIGTERM:
                finished = [
                    json.loads(line)
                    for line in Path(env["TORTURE_LOG"]).read_text().splitlines()
                ] if Path(env["TORTURE_LOG"]).exists() else []  # fmt: skip
                before = Counter(f["key"] for f in finished if segment_start <= f["t"] < stop_time)
                missing = before - after_kill
                totals["finished before SIGTERM, not journaled"] += sum(missing.values())
            # what the journal holds after this kill must survive into the final one
            run_dir.joinpath(".snapshot").write_text(json.dumps(dict(after_kill)))
        resume = ["run", "--resume", str(run_dir), "-q"] if not first else [
            "run", "--space", str(root / "space.yaml"), "--out", str(run_dir),
            *settings_args(workers, tactic)]  # fmt: skip
        proc = run_cmd(resume, env)
        code = proc.wait()
        totals["trials"] += 1
        if code != 0:
            totals["resumes that failed"] += 1
            continue
        final = Counter(evaluated(journal(run_dir)))
        snapshot = Counter(json.loads(run_dir.joinpath(".snapshot").read_text())) if (
            run_dir / ".snapshot"
        ).exists() else Counter()  # fmt: skip
        totals["journaled evaluations lost"] += sum((snapshot - final).values())
        totals["sub-networks journaled twice"] += sum(v - 1 for v in final.values() if v > 1)
        if not table(run_dir).equals(reference):
            totals["final results differing from the uninterrupted run"] += 1
        log = Path(env["TORTURE_LOG"])
        measured = Counter(json.loads(line)["key"] for line in log.read_text().splitlines())
        totals["re-measured after a kill (unread when killed)"] += sum(
            v - 1 for v in measured.values() if v > 1
        )
        print(
            f"trial {trial}: workers {workers}, {tactic}, exits {exits}, {kills} stops", flush=True
        )

    minutes = (time.perf_counter() - start_all) / 60
    print(f"\n{totals['trials']} trials, {totals['kills']} kills ({totals['SIGKILL']} SIGKILL, "
          f"{totals['SIGTERM']} SIGTERM), {minutes:.1f} min")  # fmt: skip
    for name in (
        "journaled evaluations lost",
        "sub-networks journaled twice",
        "final results differing from the uninterrupted run",
        "finished before SIGTERM, not journaled",
        "orphans alive 1 s after the run ended",
        "resumes that failed",
        "runs that ignored SIGTERM for 30 s",
    ):
        print(f"{name:<55} {totals[name]}")
    print(f"{'(information) re-measured after a kill (unread when killed)':<55} "
          f"{totals['re-measured after a kill (unread when killed)']}")  # fmt: skip


if __name__ == "__main__":
    main()
