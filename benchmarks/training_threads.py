"""Super-network training time by torch thread count, on an idle and on a busy machine.

Trains the default ``vit`` super-network for a few epochs in a fresh process per run, with
``train.threads`` 1 and 2, first on an idle machine, then while ``--load`` processes spin on
the CPUs (a shared 2-core machine running other jobs). Prints medians and the ratio of 2 to 1
thread in each case: the default ``train.threads`` is chosen from it.

    python benchmarks/training_threads.py [--epochs 4] [--repeats 3] [--load 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time
from pathlib import Path
from nas_search.catalog import load_space
from nas_search.config import load_space_dict
from nas_search.evaluation import build_evaluator

threads, epochs, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
base = load_space("vit")
data = base.to_dict()
data["evaluator"]["train"] = {**data["evaluator"].get("train", {}), "threads": threads}
definition = load_space_dict(data, source="vit", base_dir=base.base_dir)
evaluator = build_evaluator(definition)
evaluator.splits
start = time.perf_counter()
evaluator.train(out, epochs=epochs)
print(time.perf_counter() - start)
"""


def spin() -> None:
    while True:
        pass


def train_seconds(threads: int, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "w.pt"
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(threads), str(epochs), str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", type=int, default=3, help="busy processes for the busy case")
    args = parser.parse_args()
    rows = []
    for label, load in (("idle", 0), (f"busy ({args.load} spinning processes)", args.load)):
        spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(load)]
        for p in spinners:
            p.start()
        time.sleep(0.5 if load else 0)
        try:
            times: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(args.repeats):  # interleaved, so drift hits both alike
                for threads in (1, 2):
                    times[threads].append(train_seconds(threads, args.epochs))
        finally:
            for p in spinners:
                p.terminate()
        one, two = statistics.median(times[1]), statistics.median(times[2])
        rows.append((label, one, two, two / one))
    print(
        f"training {args.epochs} epochs of the default vit super-network, "
        f"median of {args.repeats} (seconds)"
    )
    print(f"{'machine':<32} {'1 thread':>9} {'2 threads':>10} {'2 / 1':>7}")
    for label, one, two, ratio in rows:
        print(f"{label:<32} {one:>9.2f} {two:>10.2f} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
