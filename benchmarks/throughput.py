"""Throughput of parallel evaluation: 1, 2 and 4 local worker processes on an evaluator that
sleeps a fixed time (so even a 2-core machine shows how well waiting work overlaps).

For each worker count and executor: wall time of a run (random tactic, so the search's own time
is tiny), speed-up against 1 worker in this process and against 1 worker, and the executor's
overhead per evaluation (wall time minus the ideal ``budget * sleep / workers``, over the
budget). Worker start-up (spawning, importing, loading the evaluator) is timed apart, since a
real run pays it once. Medians over ``--repeats``.

    python benchmarks/throughput.py [--sleep 0.2] [--budget 40] [--repeats 3]

The same for Ray actors on a local Ray instance, and for LINAS (whose predictor fits overlap
with measurements through asynchronous batches). Needs the ``ray`` extra.

Writes ``benchmarks/results/throughput.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPACE = """
name: sleepy
parameters:
  depth: {type: integer, low: 1, high: 8}
  width: {type: ordinal, choices: [16, 32, 48, 64, 96, 128]}
  act: {type: categorical, choices: [relu, gelu, silu]}
objectives:
  - {name: score, direction: maximize}
  - {name: cost, direction: minimize}
evaluator: {type: python, function: "sleepy.py:evaluate"}
search: {tactic: random, budget: BUDGET, batch: BATCH, seed: 0}
"""

EVALUATOR = """
import os, time

def evaluate(config):
    time.sleep(float(os.environ["SLEEP"]))
    return {"score": config["depth"] * config["width"], "cost": config["depth"] + config["width"]}
"""


def one_run(folder: Path, kind: str, workers: int | None, space: str) -> tuple[float, float]:
    """Wall seconds of the search and of starting its workers (0 in process)."""
    from nas_search.config import load_space_file
    from nas_search.evaluation import build_evaluator
    from nas_search.evaluation.executor import payload_of
    from nas_search.evaluation.ray_executor import RayPool
    from nas_search.evaluation.workers import WorkerPool
    from nas_search.results.rundir import create_run
    from nas_search.search import run_search

    definition = load_space_file(folder / space)
    if workers is not None:  # the setting that makes batches asynchronous beyond 1 worker
        update = {"workers": workers}
        definition = definition.with_settings(definition.settings.model_copy(update=update))
    evaluator = build_evaluator(definition)
    start = time.perf_counter()
    pool: Any = None
    required = ["score", "cost"]
    if kind == "local" and workers is not None:
        pool = WorkerPool(payload_of(definition), required, workers)
    elif kind == "ray":  # half a (logical) CPU each: 4 sleeping actors fit on 2 cores
        pool = RayPool(payload_of(definition), required, workers or 1, num_cpus=0.5)
    started = time.perf_counter() - start
    run_dir = create_run(definition, None, root=Path(tempfile.mkdtemp()))
    begin = time.perf_counter()
    try:
        outcome = run_search(definition, evaluator, run_dir, executor=pool)
    finally:
        if pool is not None:
            pool.close()
    assert outcome.history.successes == definition.settings.budget
    return time.perf_counter() - begin, started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    import os

    import ray

    os.environ["SLEEP"] = str(args.sleep)  # before Ray starts: its workers inherit it
    folder = Path(tempfile.mkdtemp())
    (folder / "sleepy.py").write_text(textwrap.dedent(EVALUATOR))
    batch = 8  # a multiple of every worker count: no worker idles inside a batch
    for tactic, size in (("random", batch), ("linas", 10)):
        text = SPACE.replace("BUDGET", str(args.budget)).replace("BATCH", str(size))
        text = text.replace("tactic: random", f"tactic: {tactic}, initial: 8")
        (folder / f"{tactic}.yaml").write_text(textwrap.dedent(text))
    ray.init(
        num_cpus=2,
        _temp_dir=str(Path(tempfile.mkdtemp(prefix="nsray"))),
        include_dashboard=False,
        logging_level="WARNING",
    )
    settings = [
        ("in process", "local", None, "random"),
        ("1 worker", "local", 1, "random"),
        ("2 workers", "local", 2, "random"),
        ("4 workers", "local", 4, "random"),
        ("Ray, 1 actor", "ray", 1, "random"),
        ("Ray, 2 actors", "ray", 2, "random"),
        ("Ray, 4 actors", "ray", 4, "random"),
        ("LINAS, in process", "local", None, "linas"),
        ("LINAS, 4 workers", "local", 4, "linas"),
        ("LINAS, Ray, 4 actors", "ray", 4, "linas"),
    ]
    rows = []
    for name, kind, workers, tactic in settings:
        runs = [one_run(folder, kind, workers, f"{tactic}.yaml") for _ in range(args.repeats)]
        wall = statistics.median(r[0] for r in runs)
        start = statistics.median(r[1] for r in runs)
        ideal = args.budget * args.sleep / (workers or 1)
        rows.append((name, wall, start, (wall - ideal) / args.budget * 1e3))
        print(f"{name}: {wall:.2f} s (start {start:.2f} s)", flush=True)
    ray.shutdown()
    wall_of = {row[0]: row[1] for row in rows}
    lines = [
        "# Throughput of parallel evaluation",
        "",
        f"Evaluator: sleeps {args.sleep} s; budget {args.budget} real evaluations; random tactic "
        f"in batches of {batch} (a multiple of every worker count), LINAS in batches of 10; "
        f"medians of {args.repeats} runs, local and Ray (a local instance, "
        "`ray.init(num_cpus=2)`, actors of 0.5 CPU) in one process; "
        "`python benchmarks/throughput.py`.",
        "",
        "| executor | run wall s | speed-up vs in process | speed-up vs 1 worker "
        "| overhead ms/eval | worker start s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, wall, start, overhead in rows:
        linas = name.startswith("LINAS")
        base = wall_of["LINAS, in process" if linas else "in process"]
        one = wall_of["Ray, 1 actor" if name.startswith("Ray") else "1 worker"]
        versus_one = "" if linas else f"{one / wall:.2f}x"
        lines.append(
            f"| {name} | {wall:.2f} | {base / wall:.2f}x | {versus_one} | {overhead:.1f} "
            f"| {start:.2f} |"
        )
    lines += [
        "",
        "Targets: at least 1.8x at 2 workers and 3.5x at 4, locally and on Ray. Overhead: wall "
        "time beyond the ideal `budget x sleep / workers`, per evaluation (for LINAS it includes "
        "fitting the predictors and searching them, done while the workers measure the batch "
        "before: asynchronous batches). Speed-ups of Ray rows are against Ray with 1 actor.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "throughput.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
