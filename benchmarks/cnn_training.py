"""How to train the CNN super-network, measured: the sandwich rule with in-place distillation
against Once-for-All's progressive shrinking, in the same number of epochs, and how much
re-calibrating batch norm per sub-network matters.

    python benchmarks/cnn_training.py [--space search_spaces/cnn.yaml] [--epochs 20]
        [--subnets 40] [--seeds 0]

Both schedules train the space's super-network from the same initialisation on the same data:

- ``sandwich``: every step the largest, the smallest and ``random_subnets`` random
  sub-networks of the whole space (``nas_search.supernet.train.train_supernet``);
- ``progressive``: the epochs split in four phases, each a ``train_supernet`` run of its own
  (fresh optimiser and schedule, as Once-for-All's phases are): the full network alone, then
  elastic kernels (and resolution), then elastic depth too, then (channels sorted by
  importance first) elastic expand ratios too. Each phase samples only what is elastic so far.

Each checkpoint is then scored on the same ``--subnets`` random sub-networks plus the largest
and the smallest: validation accuracy with batch norm re-calibrated on 4 training batches
(what the evaluator measures), and without (the super-network's running statistics). Prints
a markdown table per seed and the wall time of each training.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def restricted(
    sample: Callable[[Any], dict[str, Any]], largest: dict[str, Any], elastic: set[str]
) -> Callable[[Any], dict[str, Any]]:
    """Configs of ``sample`` with every dimension not in ``elastic`` at its largest (per-block
    lists as long as the depth then is)."""

    def draw(rng: Any) -> dict[str, Any]:
        config = sample(rng)
        for name in list(config):
            dimension = name.rsplit("_", 1)[0]
            if dimension not in elastic and not isinstance(config[name], list):
                config[name] = largest[name]
        for name, value in list(config.items()):
            if isinstance(value, list):
                length = config[f"depth_{name.rsplit('_', 1)[1]}"]
                dimension = name.rsplit("_", 1)[0]
                fill = largest[name][0]
                picked = value if dimension in elastic else [fill] * length
                config[name] = (picked + [fill] * length)[:length]
        return config

    return draw


def progressive(evaluator: Any, model: Any, settings: Any, device: str) -> None:
    """Once-for-All's progressive shrinking, in ``settings.epochs`` split over four phases."""
    from nas_search.evaluation.elastic import config_sampler, extreme_configs
    from nas_search.supernet.train import train_supernet

    largest, smallest_config = extreme_configs(evaluator.definition)
    sample = config_sampler(evaluator.definition)
    phases = [  # the resolution is elastic from the second phase on
        set(),
        {"kernel_size", "resolution"},
        {"kernel_size", "resolution", "depth"},
        {"kernel_size", "resolution", "depth", "expand_ratio"},
    ]
    epochs = [settings.epochs // 4 + (1 if k < settings.epochs % 4 else 0) for k in range(4)]
    rng = np.random.default_rng(settings.seed)
    for phase, (elastic, count) in enumerate(zip(phases, epochs, strict=True)):
        if phase == 3:
            model.reorganize()  # narrower blocks keep the most important channels
        draw = restricted(sample, largest, elastic)
        smallest = restricted(lambda g: dict(smallest_config), largest, elastic)(None)
        phase_settings = settings.model_copy(
            update={"epochs": count, "random_subnets": settings.random_subnets if elastic else 0}
        )
        train_supernet(
            model,
            evaluator.splits,
            evaluator._subnet(largest),
            evaluator._subnet(smallest),
            lambda g, d=draw: evaluator._subnet(d(rng)),
            phase_settings,
            device=device,
        )


def score(evaluator: Any, model: Any, configs: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Validation accuracy of each config, with and without batch-norm re-calibration."""
    out: dict[str, list[float]] = {"calibrated": [], "running": []}
    batches = evaluator.spec.calibration.batches
    for config in configs:
        sub = evaluator._subnet(config)
        out["calibrated"].append(evaluator.accuracy_of(model, sub, "val", "cpu"))
    evaluator.spec.calibration.batches = 0
    try:
        for config in configs:
            sub = evaluator._subnet(config)
            out["running"].append(evaluator.accuracy_of(model, sub, "val", "cpu"))
    finally:
        evaluator.spec.calibration.batches = batches
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="search_spaces/cnn.yaml")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--subnets", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()

    from nas_search.catalog import load_space
    from nas_search.evaluation import build_evaluator
    from nas_search.evaluation.elastic import config_sampler, extreme_configs
    from nas_search.supernet.train import seeded, torch_threads, train_supernet

    definition = load_space(args.space)
    evaluator = build_evaluator(definition)
    largest, smallest = extreme_configs(definition)
    draw = config_sampler(definition)
    rng = np.random.default_rng(12345)
    configs = [largest, smallest] + [draw(rng) for _ in range(args.subnets)]
    for seed in args.seeds:
        settings = evaluator.spec.train.model_copy(update={"seed": seed, "threads": 1})
        if args.epochs:
            settings = settings.model_copy(update={"epochs": args.epochs})
        rows = []
        for schedule in ("sandwich", "progressive"):
            with seeded(seed):
                model = evaluator._new_model()
            start = time.perf_counter()
            with torch_threads(1), seeded(seed):
                if schedule == "sandwich":
                    train_supernet(
                        model,
                        evaluator.splits,
                        evaluator._subnet(largest),
                        evaluator._subnet(smallest),
                        lambda g: evaluator._subnet(draw(g)),
                        settings,
                    )
                else:
                    progressive(evaluator, model, settings, "cpu")
            seconds = time.perf_counter() - start
            with torch_threads(1):
                scores = score(evaluator, model, configs)
            rows.append((schedule, seconds, scores))
        print(f"\nseed {seed}, {settings.epochs} epochs, {len(configs)} sub-networks")
        print(
            "| schedule | train s | largest | smallest | mean | median | min | mean, running BN |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for schedule, seconds, s in rows:
            c, r = np.array(s["calibrated"]), np.array(s["running"])
            print(
                f"| {schedule} | {seconds:.0f} | {c[0]:.1f} | {c[1]:.1f} | {c.mean():.2f} | "
                f"{np.median(c):.1f} | {c.min():.1f} | {r.mean():.2f} (min {r.min():.1f}) |"
            )


if __name__ == "__main__":
    main()
