"""The shape of a pretrained transformer encoder made elastic, its sub-networks, their cost.

Pure arithmetic, no torch: what the ``transformer`` evaluator computes exactly (parameters,
MACs, size) for every candidate, checked by the tests against the torch modules and
``torch.utils.flop_counter``.

InstaTune-style elasticity: the hidden size stays fixed; a sub-network keeps the first
``num_layers`` layers, in layer ``i`` its first ``num_heads[i]`` attention heads (q, k and v
alike; the output projection's matching columns) and its first ``intermediate_size[i]``
feed-forward units. Importance ordering (:mod:`.importance`) puts the most useful heads and
units first, so that "first" keeps the best ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: parameters of a space the elastic encoder reads; a missing one stays at the maximum
ELASTIC = ("num_layers", "num_heads", "intermediate_size")
#: model families: BERT-style text encoders (post-norm) and ViT (pre-norm)
TEXT_FAMILIES = ("bert", "roberta")
FAMILIES = (*TEXT_FAMILIES, "vit")
ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
BYTES_PER_WEIGHT = 4  # float32


@dataclass(frozen=True)
class EncoderShape:
    """The fine-tuned model: its fixed frame and the maxima of the elastic dimensions.

    Text families use ``vocab``, ``positions``, ``type_vocab`` and ``position_offset`` (RoBERTa
    numbers positions from ``padding_idx + 1``); ViT uses ``image_size``, ``patch_size`` and
    ``channels``. The fields of the other modality are 0.
    """

    family: str
    hidden: int
    layers: int
    heads: int
    head_dim: int
    intermediate: int
    classes: int
    activation: str = "gelu"
    eps: float = 1e-12
    dropout: float = 0.0
    attention_dropout: float = 0.0
    vocab: int = 0
    positions: int = 0
    type_vocab: int = 0
    position_offset: int = 0
    image_size: int = 0
    patch_size: int = 0
    channels: int = 0

    @property
    def text(self) -> bool:
        return self.family in TEXT_FAMILIES

    @property
    def patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2 if self.patch_size else 0

    def tokens(self, sequence_length: int) -> int:
        """Tokens a layer sees: the sequence length for text, patches + class token for ViT."""
        return sequence_length if self.text else self.patches + 1

    @property
    def largest(self) -> EncoderSubnet:
        return EncoderSubnet((self.heads,) * self.layers, (self.intermediate,) * self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class EncoderSubnet:
    """One sub-network: per kept layer, its attention heads and feed-forward units."""

    num_heads: tuple[int, ...]
    intermediate_size: tuple[int, ...]

    @property
    def num_layers(self) -> int:
        return len(self.num_heads)

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_layers": self.num_layers,
            "num_heads": list(self.num_heads),
            "intermediate_size": list(self.intermediate_size),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EncoderSubnet:
        return cls(
            tuple(int(h) for h in data["num_heads"]),
            tuple(int(m) for m in data["intermediate_size"]),
        )


def subnet_of(config: Mapping[str, Any], shape: EncoderShape) -> EncoderSubnet:
    """The sub-network a config names; parameters it lacks stay at the maximum. Per-layer
    values may be lists (one per kept layer, or more) or one value for every layer."""
    layers = int(config.get("num_layers", shape.layers))

    def per_layer(name: str, default: int) -> tuple[int, ...]:
        value = config.get(name, default)
        if isinstance(value, (list, tuple)):
            if len(value) < layers:
                raise ValueError(f"{name} has {len(value)} values for {layers} layers")
            return tuple(int(v) for v in value[:layers])
        return (int(value),) * layers

    return EncoderSubnet(
        per_layer("num_heads", shape.heads), per_layer("intermediate_size", shape.intermediate)
    )


def beyond_maxima(sub: EncoderSubnet, shape: EncoderShape) -> list[str]:
    """What of ``sub`` the fine-tuned model cannot run: values above its maxima or below 1."""
    problems = []
    if not 1 <= sub.num_layers <= shape.layers:
        problems.append(f"num_layers {sub.num_layers} is outside 1..{shape.layers}")
    for k, (h, m) in enumerate(zip(sub.num_heads, sub.intermediate_size, strict=True)):
        if not 1 <= h <= shape.heads:
            problems.append(f"num_heads[{k}] {h} is outside 1..{shape.heads}")
        if not 1 <= m <= shape.intermediate:
            problems.append(f"intermediate_size[{k}] {m} is outside 1..{shape.intermediate}")
    return problems


def macs(shape: EncoderShape, sub: EncoderSubnet, sequence_length: int) -> int:
    """Multiply-accumulates of one input's forward pass (``sequence_length`` tokens of text;
    ViT: its patches and class token), attention matmuls included.

    Matmuls and the patch convolution only (embedding lookups, norms, softmax, activations
    and biases are not MACs), which is what ``torch.utils.flop_counter`` counts (2 FLOPs per
    MAC).
    """
    e, n = shape.hidden, shape.tokens(sequence_length)
    total = 0 if shape.text else shape.patches * shape.channels * shape.patch_size**2 * e
    for h, m in zip(sub.num_heads, sub.intermediate_size, strict=True):
        d = h * shape.head_dim
        total += n * e * 3 * d  # q, k, v projections
        total += 2 * n * n * d  # q @ k^T and attention @ v, over all heads
        total += n * d * e  # output projection
        total += 2 * n * e * m  # feed-forward
    if shape.text:
        total += e * e  # pooler on the first token
    return total + e * shape.classes  # classifier


def params(shape: EncoderShape, sub: EncoderSubnet) -> int:
    """Weights and biases of the sub-network, exactly as its standalone export holds them."""
    e = shape.hidden
    if shape.text:
        total = (shape.vocab + shape.positions + shape.type_vocab) * e + 2 * e
    else:
        total = shape.channels * shape.patch_size**2 * e + e + e + (shape.patches + 1) * e
    for h, m in zip(sub.num_heads, sub.intermediate_size, strict=True):
        d = h * shape.head_dim
        total += (e * 3 * d + 3 * d) + (d * e + e) + 2 * e  # q, k, v, output, norm
        total += (e * m + m) + (m * e + e) + 2 * e  # feed-forward, norm
    total += e * e + e if shape.text else 2 * e  # pooler (text) or final norm (ViT)
    return total + e * shape.classes + shape.classes


def exact_metrics(
    shape: EncoderShape, sub: EncoderSubnet, sequence_length: int
) -> dict[str, float]:
    """``params_m``, ``macs_m`` (millions) and ``size_mb`` (float32 weights, 10^6 bytes)."""
    p = params(shape, sub)
    return {
        "params_m": p / 1e6,
        "macs_m": macs(shape, sub, sequence_length) / 1e6,
        "size_mb": p * BYTES_PER_WEIGHT / 1e6,
    }


def linears(shape: EncoderShape, sub: EncoderSubnet) -> dict[str, tuple[int, int]]:
    """Each linear layer of the sub-network (names as in its export): (outputs, inputs)."""
    e, out = shape.hidden, {}
    for k, (h, m) in enumerate(zip(sub.num_heads, sub.intermediate_size, strict=True)):
        d = h * shape.head_dim
        for name in ("q", "k", "v"):
            out[f"layers.{k}.{name}"] = (d, e)
        out[f"layers.{k}.o"] = (e, d)
        out[f"layers.{k}.fc1"], out[f"layers.{k}.fc2"] = (m, e), (e, m)
    if shape.text:
        out["pooler"] = (e, e)
    out["classifier"] = (shape.classes, e)
    return out
