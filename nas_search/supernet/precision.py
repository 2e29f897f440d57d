"""Per-layer precision genes (SimQ-NAS): which linear layers of a sub-network run int8.

A space names up to three genes, inactive with their layer like any per-layer parameter:
``attention_precision`` and ``mlp_precision`` (per layer: the attention projections, the
feed-forward layers) and ``head_precision`` (the classifier). Each value is ``fp32`` or
``int8``; a missing gene keeps its layers fp32. Pure arithmetic, no onnx here: the layers a
policy quantizes, and the bytes its weights take once serialized (int8 weights: one byte each,
plus a float32 scale and an int8 zero point per matrix, as onnxruntime's dynamic quantization
stores them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PRECISIONS = ("fp32", "int8")
#: gene -> whether it is per layer
GENES = {"attention_precision": True, "mlp_precision": True, "head_precision": False}
#: bytes a quantized matrix adds besides its int8 weights: its scale and zero point
QUANT_OVERHEAD = 4 + 1


@dataclass(frozen=True)
class Groups:
    """The linear layers each gene governs: per layer its attention and feed-forward ones,
    and the head's."""

    attention: tuple[tuple[str, ...], ...]
    mlp: tuple[tuple[str, ...], ...]
    head: tuple[str, ...]


def groups_of(
    depth: int,
    block: str,
    attention: tuple[str, ...],
    mlp: tuple[str, ...],
    head: tuple[str, ...],
) -> Groups:
    """Groups of ``depth`` blocks whose layers are named ``<block>.<k>.<name>``."""
    return Groups(
        tuple(tuple(f"{block}.{k}.{n}" for n in attention) for k in range(depth)),
        tuple(tuple(f"{block}.{k}.{n}" for n in mlp) for k in range(depth)),
        head,
    )


def int8_layers(config: Mapping[str, Any], groups: Groups) -> list[str]:
    """The linear layers a config's precision genes put in int8 (in ``groups`` order)."""

    def per_layer(gene: str, count: int) -> list[Any]:
        value = config.get(gene, "fp32")
        return list(value)[:count] if isinstance(value, (list, tuple)) else [value] * count

    out: list[str] = []
    attention = per_layer("attention_precision", len(groups.attention))
    mlp = per_layer("mlp_precision", len(groups.mlp))
    for k in range(len(groups.attention)):
        if k < len(attention) and attention[k] == "int8":
            out += groups.attention[k]
        if k < len(mlp) and mlp[k] == "int8":
            out += groups.mlp[k]
    if config.get("head_precision", "fp32") == "int8":
        out += groups.head
    return out


def serialized_bytes(params: int, shapes: Mapping[str, tuple[int, int]], int8: list[str]) -> int:
    """Bytes of the weights of a model of ``params`` float32 parameters once the linear
    layers named in ``int8`` (their weight matrices, ``shapes``) are int8."""
    total = 4 * params
    for name in int8:
        rows, cols = shapes[name]
        total -= 3 * rows * cols - QUANT_OVERHEAD
    return total
