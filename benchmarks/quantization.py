"""Joint architecture + precision search (SimQ-NAS) against architecture-only search.

On ``vit-quant`` (the default ViT super-network; accuracy, onnxruntime CPU latency and the
serialized size of the weights), same budget and seed for each arm:

- (a) **joint**: architecture and per-layer fp32/int8 genes searched together;
- (b) **arch, then all-int8**: the front of (c), each member re-measured with every layer int8;
- (c) **arch only, fp32**: the precision genes removed (every layer fp32).

Prints each arm's hypervolume on one reference point common to all arms and seeds
(accuracy: the space's bound, else the worst measured; latency and size: the worst measured
anywhere), its median
over seeds, and SimQ-NAS's headline: the largest latency and size reductions, among front
members at least as accurate as the all-int8 version of the largest sub-network, relative to
that version.

    python benchmarks/quantization.py [--seeds 0 1 2 3 4] [--budget 60]

``--space`` runs it on another space with precision genes, e.g. the small BERT that
``benchmarks/instatune.py`` fine-tunes (it writes ``results/instatune/instatune-quant.yaml``;
run with ``NAS_SEARCH_CACHE=results/instatune/cache`` to use its fine-tuned weights); the
table then goes to ``benchmarks/results/quantization-<space>.txt``.

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


def spaces(name: str) -> tuple[Any, Any]:
    """The joint space, and the same without its precision genes (every layer fp32)."""
    from nas_search.catalog import load_space
    from nas_search.config import load_space_dict

    joint = load_space(name)
    data = joint.to_dict()
    data["name"] = f"{joint.name}-arch"
    data["parameters"] = {k: v for k, v in data["parameters"].items() if k not in GENES}
    arch = load_space_dict(data, source=data["name"], base_dir=joint.base_dir)
    return joint, arch


def with_precision(config: dict[str, Any], depth: str, precision: str) -> dict[str, Any]:
    """``config`` with every layer (and the head) at ``precision``."""
    layers = config[depth]
    return {
        **config,
        "attention_precision": [precision] * layers,
        "mlp_precision": [precision] * layers,
        "head_precision": precision,
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
    parser.add_argument(
        "--space",
        default="vit-quant",
        help="a space with precision genes (shipped name or file; benchmarks/instatune.py "
        "writes instatune-quant.yaml for its BERT)",
    )
    parser.add_argument("--work", type=Path, default=ROOT / "results" / "quantization")
    args = parser.parse_args()
    from nas_search.api import run
    from nas_search.evaluation import build_evaluator
    from nas_search.evaluation.elastic import extreme_configs
    from nas_search.results.pareto import hypervolume

    joint, arch = spaces(args.space)
    evaluator = build_evaluator(joint)
    evaluator.prepare()
    depth = joint.space.params["attention_precision"].per_layer
    largest, _ = extreme_configs(joint)
    largest = {k: v for k, v in largest.items() if k not in GENES}
    base = evaluator.evaluate(with_precision(largest, depth, "int8"))
    fp32 = evaluator.evaluate(with_precision(largest, depth, "fp32"))
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
                p.name: json.loads(row[p.name])
                if isinstance(row[p.name], str)
                else int(row[p.name])
                for p in arch.space.parameters
            }
            m = evaluator.evaluate(with_precision(config, depth, "int8"))
            requantized.append([m[o] for o in OBJECTIVES])
        arms["arch, then all-int8"][seed] = front_of(np.array(requantized))
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    every = np.vstack([f for fronts in arms.values() for f in fronts.values()])
    bound = joint.objectives[0].bound
    floor = float(bound) if bound is not None else float(every[:, 0].min())
    ref = np.array([-floor, every[:, 1].max(), every[:, 2].max()])
    lines = [
        f"{joint.name}, budget {args.budget}, seeds {args.seeds}; hypervolume at accuracy "
        f"{floor:.1f}%, latency {ref[1]:.3f} ms, size {ref[2] * 1e3:.1f} kB (the worst measured)",
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
    suffix = "" if joint.name == "vit-quant" else f"-{joint.name}"
    out = ROOT / "benchmarks" / "results" / f"quantization{suffix}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
