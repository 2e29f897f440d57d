"""Joint architecture + precision search (SimQ-NAS) against architecture-only search.

On ``vit-quant`` (the default ViT super-network; accuracy, onnxruntime CPU latency and the
serialized size of the weights), same budget and seed for each arm:

- (a) **joint**: architecture and per-layer fp32/int8 genes searched together;
- (b) **arch, then all-int8**: the front of (c), each member re-measured with every layer int8;
- (c) **arch only, fp32**: the precision genes removed (every layer fp32).

Prints each arm's hypervolume on one reference point common to all arms and seeds
(accuracy 90%: the space's bound; latency and size: the worst measured anywhere), its median
over seeds, and SimQ-NAS's headline: the largest latency and size reductions, among front
members at least as accurate as the all-int8 version of the largest sub-network, relative to
that version.

    python benchmarks/quantization.py [--seeds 0 1 2 3 4] [--budget 60]

Writes the table to benchmarks/results/quantization.txt (committed). The super-network is
the default's (cached).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GENES = ("attention_precision", "mlp_precision", "head_precision")
OBJECTIVES = ("accuracy", "latency_ms", "size_mb")


def spaces() -> tuple[Any, Any]:
    from nas_search.catalog import load_space
    from nas_search.config import load_space_dict

    joint = load_space("vit-quant")
    data = joint.to_dict()
    data["name"] = "vit-quant-arch"
    data["parameters"] = {k: v for k, v in data["parameters"].items() if k not in GENES}
    arch = load_space_dict(data, source="vit-quant-arch", base_dir=joint.base_dir)
    return joint, arch


def all_int8(config: dict[str, Any]) -> dict[str, Any]:
    depth = config["depth"]
    return {
        **config,
        "attention_precision": ["int8"] * depth,
        "mlp_precision": ["int8"] * depth,
        "head_precision": "int8",
    }


def points(frame: Any) -> np.ndarray:
    return frame[list(OBJECTIVES)].to_numpy(dtype=float)


def minimized(values: np.ndarray) -> np.ndarray:
    return values * np.array([-1.0, 1.0, 1.0])


def front_of(values: np.ndarray) -> np.ndarray:
    from nas_search.results.pareto import non_dominated

    return values[non_dominated(minimized(values))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--work", type=Path, default=ROOT / "results" / "quantization")
    args = parser.parse_args()
    from nas_search.api import run
    from nas_search.evaluation import build_evaluator
    from nas_search.results.pareto import hypervolume

    joint, arch = spaces()
    evaluator = build_evaluator(joint)
    evaluator.prepare()
    largest = {"embed_dim": 64, "depth": 4, "num_heads": [4] * 4, "mlp_ratio": [4] * 4}
    base = evaluator.evaluate(all_int8(largest))
    fp32 = evaluator.evaluate(
        {
            **largest,
            "attention_precision": ["fp32"] * 4,
            "mlp_precision": ["fp32"] * 4,
            "head_precision": "fp32",
        }
    )
    print(
        f"largest sub-network: fp32 {fp32['accuracy']:.2f}% {fp32['latency_ms']:.3f} ms "
        f"{fp32['size_mb'] * 1e3:.1f} kB; all-int8 {base['accuracy']:.2f}% "
        f"{base['latency_ms']:.3f} ms {base['size_mb'] * 1e3:.1f} kB",
        flush=True,
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    arms: dict[str, dict[int, np.ndarray]] = {
        "joint": {},
        "arch, then all-int8": {},
        "arch only, fp32": {},
    }
    for seed in args.seeds:
        start = time.perf_counter()
        a = run(joint, out=args.work / f"{stamp}-joint-{seed}", budget=args.budget, seed=seed)
        c = run(arch, out=args.work / f"{stamp}-arch-{seed}", budget=args.budget, seed=seed)
        ok_a, ok_c = a.results[a.results["status"] == "ok"], c.results[c.results["status"] == "ok"]
        arms["joint"][seed] = front_of(points(ok_a))
        arms["arch only, fp32"][seed] = front_of(points(ok_c))
        requantized = []
        for _, row in c.front.iterrows():
            config = {
                k: json.loads(row[k]) if isinstance(row[k], str) else int(row[k])
                for k in ("embed_dim", "depth", "num_heads", "mlp_ratio")
            }
            m = evaluator.evaluate(all_int8(config))
            requantized.append([m[o] for o in OBJECTIVES])
        arms["arch, then all-int8"][seed] = front_of(np.array(requantized))
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    every = np.vstack([f for fronts in arms.values() for f in fronts.values()])
    ref = np.array([-90.0, every[:, 1].max(), every[:, 2].max()])
    lines = [
        f"vit-quant, budget {args.budget}, seeds {args.seeds}; hypervolume at accuracy 90%, "
        f"latency {ref[1]:.3f} ms, size {ref[2] * 1e3:.1f} kB (the worst measured)",
        f"baseline: the largest sub-network all-int8, {base['accuracy']:.2f}% "
        f"{base['latency_ms']:.3f} ms {base['size_mb'] * 1e3:.1f} kB "
        f"(fp32: {fp32['accuracy']:.2f}% {fp32['latency_ms']:.3f} ms "
        f"{fp32['size_mb'] * 1e3:.1f} kB)",
        "",
        f"{'arm':22s} {'HV median':>10s} {'HV per seed':40s} {'latency cut':>12s} {'size cut':>9s}",
    ]
    for name, fronts in arms.items():
        hvs = [hypervolume(minimized(f), ref) for f in fronts.values()]
        cuts_l, cuts_s = [], []
        for f in fronts.values():
            good = f[f[:, 0] >= base["accuracy"]]
            cuts_l.append(base["latency_ms"] / good[:, 1].min() if len(good) else float("nan"))
            cuts_s.append(base["size_mb"] / good[:, 2].min() if len(good) else float("nan"))
        lines.append(
            f"{name:22s} {statistics.median(hvs):10.4f} "
            f"{' '.join(f'{h:.4f}' for h in hvs):40s} "
            f"{np.nanmedian(cuts_l):11.2f}x {np.nanmedian(cuts_s):8.2f}x"
        )
    lines.append("")
    lines.append(
        "latency / size cut: median over seeds of the largest reduction among front "
        "members at least as accurate as the baseline (nan: none was)"
    )
    text = "\n".join(lines)
    print("\n" + text)
    out = ROOT / "benchmarks" / "results" / "quantization.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
