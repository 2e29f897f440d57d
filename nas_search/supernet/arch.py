"""The shape of an elastic ViT and of one of its sub-networks, and their exact cost.

Pure arithmetic, no torch: the search computes parameters, MACs and size of every candidate
from these (they are exact metrics, never predicted), and the tests check them against the
torch modules and ``torch.utils.flop_counter``.

AutoFormer-style weight sharing: a sub-network keeps the first ``embed_dim`` channels of the
embedding everywhere, its first ``depth`` blocks, in block ``i`` the first ``num_heads[i]``
heads of ``head_dim`` channels each (q, k and v alike) and the first ``mlp_hidden(i)`` units
of the MLP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: parameters of a space that an elastic ViT reads; a missing one stays at the maximum
ELASTIC = ("embed_dim", "depth", "num_heads", "mlp_ratio")
BYTES_PER_WEIGHT = 4  # float32


def hidden_units(embed_dim: int, mlp_ratio: float) -> int:
    """MLP width of a block: ``embed_dim * mlp_ratio``, rounded (AutoFormer: 216 * 3.5 = 756)."""
    return int(round(embed_dim * mlp_ratio))


@dataclass(frozen=True)
class SupernetShape:
    """The super-network: its fixed frame and the maxima of the elastic dimensions."""

    image_size: int
    patch_size: int
    channels: int
    classes: int
    head_dim: int
    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float

    @property
    def patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def tokens(self) -> int:
        """Patches plus the class token."""
        return self.patches + 1

    @property
    def max_hidden(self) -> int:
        return hidden_units(self.embed_dim, self.mlp_ratio)

    @property
    def largest(self) -> Subnet:
        return Subnet(
            self.embed_dim, (self.num_heads,) * self.depth, (self.mlp_ratio,) * self.depth
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Subnet:
    """One sub-network: embedding width, and per block its heads and MLP ratio."""

    embed_dim: int
    num_heads: tuple[int, ...]
    mlp_ratio: tuple[float, ...]

    @property
    def depth(self) -> int:
        return len(self.num_heads)

    def hidden(self, block: int) -> int:
        return hidden_units(self.embed_dim, self.mlp_ratio[block])

    def to_dict(self) -> dict[str, Any]:
        return {
            "embed_dim": self.embed_dim,
            "depth": self.depth,
            "num_heads": list(self.num_heads),
            "mlp_ratio": list(self.mlp_ratio),
        }


def subnet_of(config: Mapping[str, Any], shape: SupernetShape) -> Subnet:
    """The sub-network a config of a space names; parameters it lacks stay at the maximum.

    Per-layer values may be lists (one per active block) or one value for every block.
    """
    depth = int(config.get("depth", shape.depth))

    def per_block(name: str, default: Any) -> tuple[Any, ...]:
        value = config.get(name, default)
        if isinstance(value, (list, tuple)):
            if len(value) < depth:
                raise ValueError(f"{name} has {len(value)} values for depth {depth}")
            return tuple(value[:depth])
        return (value,) * depth

    heads = tuple(int(h) for h in per_block("num_heads", shape.num_heads))
    ratios = tuple(float(r) for r in per_block("mlp_ratio", shape.mlp_ratio))
    return Subnet(int(config.get("embed_dim", shape.embed_dim)), heads, ratios)


def beyond_maxima(sub: Subnet, shape: SupernetShape) -> list[str]:
    """What of ``sub`` the super-network cannot run: values above its maxima or below 1."""
    problems = []
    if not 1 <= sub.embed_dim <= shape.embed_dim:
        problems.append(f"embed_dim {sub.embed_dim} is outside 1..{shape.embed_dim}")
    if not 1 <= sub.depth <= shape.depth:
        problems.append(f"depth {sub.depth} is outside 1..{shape.depth}")
    for k, (h, r) in enumerate(zip(sub.num_heads, sub.mlp_ratio, strict=True)):
        if not 1 <= h <= shape.num_heads:
            problems.append(f"num_heads[{k}] {h} is outside 1..{shape.num_heads}")
        if not 0 < r <= shape.mlp_ratio or sub.hidden(k) < 1:
            problems.append(f"mlp_ratio[{k}] {r} is outside (0, {shape.mlp_ratio}]")
    return problems


def macs(shape: SupernetShape, sub: Subnet) -> int:
    """Multiply-accumulates of one image's forward pass, attention matmuls included.

    Matmuls and the patch convolution only (norms, softmax, GELU and biases are not MACs),
    which is what ``torch.utils.flop_counter`` counts (as 2 FLOPs per MAC).
    """
    n, e = shape.tokens, sub.embed_dim
    total = shape.patches * shape.channels * shape.patch_size**2 * e  # patch embedding
    for k in range(sub.depth):
        d, m = sub.num_heads[k] * shape.head_dim, sub.hidden(k)
        total += n * e * 3 * d  # q, k, v projections
        total += 2 * n * n * d  # q @ k^T and attention @ v, over all heads
        total += n * d * e  # output projection
        total += 2 * n * e * m  # MLP
    return total + e * shape.classes  # classifier on the class token


def params(shape: SupernetShape, sub: Subnet) -> int:
    """Weights and biases of the sub-network, exactly as the exported module holds them."""
    e, c = sub.embed_dim, shape.classes
    total = shape.channels * shape.patch_size**2 * e + e  # patch embedding
    total += e + shape.tokens * e  # class token, position embedding
    for k in range(sub.depth):
        d, m = sub.num_heads[k] * shape.head_dim, sub.hidden(k)
        total += 2 * e + (e * 3 * d + 3 * d) + (d * e + e)  # norm, qkv, projection
        total += 2 * e + (e * m + m) + (m * e + e)  # norm, MLP
    return total + 2 * e + e * c + c  # final norm, classifier


def exact_metrics(shape: SupernetShape, sub: Subnet) -> dict[str, float]:
    """``params_m``, ``macs_m`` (millions) and ``size_mb`` (float32 weights, 10^6 bytes)."""
    p = params(shape, sub)
    return {
        "params_m": p / 1e6,
        "macs_m": macs(shape, sub) / 1e6,
        "size_mb": p * BYTES_PER_WEIGHT / 1e6,
    }


def linears(shape: SupernetShape, sub: Subnet) -> dict[str, tuple[int, int]]:
    """Each linear layer of the sub-network (names as in its state dict): (outputs, inputs)."""
    e, out = sub.embed_dim, {}
    for k in range(sub.depth):
        d, m = sub.num_heads[k] * shape.head_dim, sub.hidden(k)
        for name in ("q", "k", "v"):
            out[f"blocks.{k}.{name}"] = (d, e)
        out[f"blocks.{k}.proj"] = (e, d)
        out[f"blocks.{k}.fc1"], out[f"blocks.{k}.fc2"] = (m, e), (e, m)
    out["head"] = (shape.classes, e)
    return out
