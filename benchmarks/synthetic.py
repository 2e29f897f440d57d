"""A large ViT-like space with a cheap analytic evaluator, for overhead measurements.

Depth 12 to 16, per layer 4 head counts and 5 MLP ratios, 3 embedding widths: about 7e20
distinct sub-networks. The evaluator is a few arithmetic operations, so a run's time is the
search's own.
"""

from __future__ import annotations

import math

SPACE_YAML = """
name: synthetic-vit
parameters:
  depth: {type: integer, low: 12, high: 16}
  embed_dim: {type: ordinal, choices: [192, 216, 240]}
  num_heads: {type: ordinal, choices: [2, 3, 4, 5], per_layer: depth}
  mlp_ratio: {type: ordinal, choices: [2.0, 2.5, 3.0, 3.5, 4.0], per_layer: depth}
objectives:
  - {name: accuracy, direction: maximize}
  - {name: latency_ms, direction: minimize}
evaluator:
  type: python
  function: synthetic.py:evaluate
  metrics: [accuracy, latency_ms]
"""


def macs(config: dict) -> float:
    d = config["embed_dim"]
    tokens = 197
    total = 0.0
    for heads, ratio in zip(config["num_heads"], config["mlp_ratio"], strict=True):
        total += tokens * d * 64 * heads * 4 + 2 * tokens * tokens * 64 * heads
        total += 2 * tokens * d * d * ratio
    return total


def evaluate(config: dict) -> dict[str, float]:
    capacity = math.log(macs(config))
    heads = config["num_heads"]
    accuracy = 60 + 12 * (1 - math.exp(-(capacity - 19))) + 0.3 * (sum(heads) / len(heads))
    latency = macs(config) / 1.5e8 + 0.05 * len(heads)
    return {"accuracy": accuracy, "latency_ms": latency}
