"""Throughput of parallel evaluation: 1, 2 and 4 local worker processes on an evaluator that
sleeps a fixed time (so even a 2-core machine shows how well waiting work overlaps).

For each worker count: wall time of a run (random tactic, so the search's own time is tiny),
speed-up against 1 worker in this process and against 1 worker process, and the executor's
overhead per evaluation (wall time minus the ideal ``budget * sleep / workers``, over the
budget). Worker start-up (spawning, importing, loading the evaluator) is timed apart, since a
real run pays it once. Medians over ``--repeats``.

    python benchmarks/throughput.py [--sleep 0.2] [--budget 40] [--repeats 3]

Writes ``benchmarks/results/throughput.md``. The Ray executor is not built yet (issue 6).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

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


def one_run(folder: Path, workers: int | None, budget: int) -> tuple[float, float]:
    """Wall seconds of the search and of starting its workers (0 in process)."""
    from nas_search.config import load_space_file
    from nas_search.evaluation import build_evaluator
    from nas_search.evaluation.executor import WorkerPool, payload_of
    from nas_search.results.rundir import create_run
    from nas_search.search import run_search

    definition = load_space_file(folder / "space.yaml")
    evaluator = build_evaluator(definition)
    start = time.perf_counter()
    pool = None
    if workers is not None:
        pool = WorkerPool(payload_of(definition), ["score", "cost"], workers)
    started = time.perf_counter() - start
    run_dir = create_run(definition, None, root=Path(tempfile.mkdtemp()))
    begin = time.perf_counter()
    try:
        outcome = run_search(definition, evaluator, run_dir, executor=pool)
    finally:
        if pool is not None:
            pool.close()
    assert outcome.history.successes == budget
    return time.perf_counter() - begin, started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    import os

    os.environ["SLEEP"] = str(args.sleep)
    folder = Path(tempfile.mkdtemp())
    (folder / "sleepy.py").write_text(textwrap.dedent(EVALUATOR))
    batch = 8  # a multiple of every worker count: no worker idles inside a batch
    text = SPACE.replace("BUDGET", str(args.budget)).replace("BATCH", str(batch))
    (folder / "space.yaml").write_text(textwrap.dedent(text))
    settings = [("in process", None), ("1 worker", 1), ("2 workers", 2), ("4 workers", 4)]
    rows = []
    for name, workers in settings:
        runs = [one_run(folder, workers, args.budget) for _ in range(args.repeats)]
        wall = statistics.median(r[0] for r in runs)
        start = statistics.median(r[1] for r in runs)
        ideal = args.budget * args.sleep / (workers or 1)
        rows.append((name, workers or 1, wall, start, (wall - ideal) / args.budget * 1e3))
        print(f"{name}: {wall:.2f} s (start {start:.2f} s)", flush=True)
    base, one = rows[0][2], rows[1][2]
    lines = [
        "# Throughput of local worker processes",
        "",
        f"Evaluator: sleeps {args.sleep} s; budget {args.budget} real evaluations, batches of "
        f"{batch}, random tactic; medians of {args.repeats} runs; `python "
        "benchmarks/throughput.py`.",
        "",
        "| executor | run wall s | speed-up vs in process | speed-up vs 1 worker "
        "| overhead ms/eval | worker start s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, _, wall, start, overhead in rows:
        lines.append(
            f"| {name} | {wall:.2f} | {base / wall:.2f}x | {one / wall:.2f}x | {overhead:.1f} "
            f"| {start:.2f} |"
        )
    lines += ["", "Targets: at least 1.8x at 2 workers and 3.5x at 4. Ray: not built yet."]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "throughput.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
