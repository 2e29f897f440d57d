"""The shape of an elastic MobileNetV3-style CNN and of one of its sub-networks, and their
exact cost.

Pure arithmetic, no torch: the search computes parameters, MACs and size of every candidate
from these (exact metrics, never predicted); the tests check them against the torch modules
and ``torch.utils.flop_counter``.

The network (Once-for-All's MobileNetV3, scaled to the data): a stem (3x3 convolution, batch
norm, activation), stages of inverted-residual blocks, a final 1x1 convolution to ``head``
channels, global average pooling and a linear classifier. A block expands its input with a
1x1 convolution to ``round(in * expand_ratio)`` channels, filters them with a depthwise
``kernel x kernel`` convolution (the stage's stride on its first block), re-weights them with
squeeze-excitation where the stage has it (to ``max(1, mid // 4)`` channels and back), and
projects them to the stage's width; it adds its input where the shapes allow (stride 1, same
width). Elastic per sub-network: each stage's depth (its first blocks), each block's kernel
size and expand ratio, and the input resolution (images resized to ``resolution`` pixels a
side, up to the super-network's ``image_size``).

A space names them ``depth_<s>`` (s counts stages from 1), ``kernel_size_<s>`` and
``expand_ratio_<s>`` (per block: ``per_layer: depth_<s>``; or one value for the stage), or
``kernel_size`` / ``expand_ratio`` for every block, and ``resolution``; what a config does not
name is at the super-network's maximum.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BYTES_PER_WEIGHT = 4  # float32
STEM_KERNEL = 3
ACTIVATIONS = ("relu", "hswish")
_STAGED = re.compile(r"^(depth|kernel_size|expand_ratio|precision)_([1-9][0-9]*)$")


def mid_channels(inputs: int, expand_ratio: float) -> int:
    """Channels a block expands to: ``round(inputs * expand_ratio)``, at least 1."""
    return max(1, int(round(inputs * expand_ratio)))


def se_channels(mid: int) -> int:
    """Channels of a squeeze-excitation's bottleneck: a quarter of the block's, at least 1."""
    return max(1, mid // 4)


def conv_out(size: int, stride: int) -> int:
    """Spatial size after a convolution of odd kernel padded by half of it."""
    return (size - 1) // stride + 1


def staged_name(name: str) -> tuple[str, int] | None:
    """``kernel_size_2`` -> (``kernel_size``, 1): a per-stage parameter and its stage index."""
    found = _STAGED.match(name)
    return (found.group(1), int(found.group(2)) - 1) if found else None


@dataclass(frozen=True)
class Stage:
    """A stage of the super-network: its output width, most blocks, first block's stride,
    squeeze-excitation, activation."""

    width: int
    depth: int
    stride: int
    se: bool
    activation: str


@dataclass(frozen=True)
class CnnShape:
    """The super-network: its frame and the maxima of the elastic dimensions."""

    image_size: int
    channels: int
    classes: int
    stem_channels: int
    stem_stride: int
    stages: tuple[Stage, ...]
    kernel_size: int  # largest; the others are 2, 4, ... less, down to 3
    expand_ratio: float  # largest
    head: int

    @property
    def kernel_sizes(self) -> tuple[int, ...]:
        """Every kernel a block can run, largest first (Once-for-All: 7, 5, 3)."""
        return tuple(range(self.kernel_size, 2, -2))

    def inputs(self, stage: int, block: int) -> int:
        """Channels into a block."""
        if block > 0:
            return self.stages[stage].width
        return self.stages[stage - 1].width if stage > 0 else self.stem_channels

    def stride(self, stage: int, block: int) -> int:
        return self.stages[stage].stride if block == 0 else 1

    def residual(self, stage: int, block: int) -> bool:
        return (
            self.stride(stage, block) == 1 and self.inputs(stage, block) == self.stages[stage].width
        )

    def max_mid(self, stage: int, block: int) -> int:
        return mid_channels(self.inputs(stage, block), self.expand_ratio)

    @property
    def largest(self) -> CnnSubnet:
        return CnnSubnet(
            tuple(
                tuple(Block(self.kernel_size, self.expand_ratio) for _ in range(s.depth))
                for s in self.stages
            ),
            self.image_size,
        )

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["stages"] = [dict(s.__dict__) for s in self.stages]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CnnShape:
        stages = tuple(Stage(**s) for s in data["stages"])
        return cls(**{**data, "stages": stages})


@dataclass(frozen=True)
class Block:
    kernel_size: int
    expand_ratio: float


@dataclass(frozen=True)
class CnnSubnet:
    """One sub-network: per stage, its active blocks (kernel size and expand ratio each), and
    the side of the images it takes."""

    blocks: tuple[tuple[Block, ...], ...]
    resolution: int

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(b) for b in self.blocks)

    def mid(self, shape: CnnShape, stage: int, block: int) -> int:
        return mid_channels(shape.inputs(stage, block), self.blocks[stage][block].expand_ratio)

    def active(self) -> list[tuple[int, int]]:
        """(stage, block) of every active block, in order."""
        return [(s, k) for s, blocks in enumerate(self.blocks) for k in range(len(blocks))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "depths": list(self.depths),
            "kernel_size": [[b.kernel_size for b in s] for s in self.blocks],
            "expand_ratio": [[b.expand_ratio for b in s] for s in self.blocks],
            "resolution": self.resolution,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CnnSubnet:
        return cls(
            tuple(
                tuple(Block(int(k), float(e)) for k, e in zip(ks, es, strict=True))
                for ks, es in zip(data["kernel_size"], data["expand_ratio"], strict=True)
            ),
            int(data["resolution"]),
        )


def subnet_of(config: Mapping[str, Any], shape: CnnShape) -> CnnSubnet:
    """The sub-network a config names; what it does not name stays at the maximum.

    Per-block values may be lists (one per active block of the stage) or one value.
    """
    stages = []
    for s, stage in enumerate(shape.stages):
        depth = int(config.get(f"depth_{s + 1}", stage.depth))

        def per_block(name: str, default: Any, s: int = s, depth: int = depth) -> list[Any]:
            value = config.get(f"{name}_{s + 1}", config.get(name, default))
            if isinstance(value, (list, tuple)):
                if len(value) < depth:
                    raise ValueError(
                        f"{name}_{s + 1} has {len(value)} values for depth_{s + 1} {depth}"
                    )
                return list(value[:depth])
            return [value] * depth

        kernels = per_block("kernel_size", shape.kernel_size)
        ratios = per_block("expand_ratio", shape.expand_ratio)
        stages.append(tuple(Block(int(k), float(e)) for k, e in zip(kernels, ratios, strict=True)))
    return CnnSubnet(tuple(stages), int(config.get("resolution", shape.image_size)))


def beyond_maxima(sub: CnnSubnet, shape: CnnShape) -> list[str]:
    """What of ``sub`` the super-network cannot run."""
    problems = []
    if not 1 <= sub.resolution <= shape.image_size:
        problems.append(f"resolution {sub.resolution} is outside 1..{shape.image_size}")
    if len(sub.blocks) != len(shape.stages):
        return [f"{len(sub.blocks)} stages, the super-network has {len(shape.stages)}"]
    for s, (blocks, stage) in enumerate(zip(sub.blocks, shape.stages, strict=True)):
        if not 1 <= len(blocks) <= stage.depth:
            problems.append(f"depth_{s + 1} {len(blocks)} is outside 1..{stage.depth}")
        for k, b in enumerate(blocks):
            if b.kernel_size not in shape.kernel_sizes:
                problems.append(
                    f"kernel_size_{s + 1}[{k}] {b.kernel_size} is not one of "
                    f"{', '.join(map(str, shape.kernel_sizes))}"
                )
            if not 0 < b.expand_ratio <= shape.expand_ratio:
                problems.append(
                    f"expand_ratio_{s + 1}[{k}] {b.expand_ratio} is outside "
                    f"(0, {shape.expand_ratio}]"
                )
    return problems


def _layers(shape: CnnShape, sub: CnnSubnet) -> list[tuple[str, int, int, int, int]]:
    """Every convolution and linear layer of the sub-network: (name, outputs, inputs per
    group, kernel, output positions per image)."""
    size = conv_out(sub.resolution, shape.stem_stride)
    out = [("stem.conv", shape.stem_channels, shape.channels, STEM_KERNEL, size**2)]
    for s, k in sub.active():
        b = f"stages.{s}.{k}"
        stage, c_in, mid = shape.stages[s], shape.inputs(s, k), sub.mid(shape, s, k)
        kernel = sub.blocks[s][k].kernel_size
        after = conv_out(size, shape.stride(s, k))
        out.append((f"{b}.expand.conv", mid, c_in, 1, size**2))
        out.append((f"{b}.dw.conv", mid, 1, kernel, after**2))
        if stage.se:
            r = se_channels(mid)
            out += [(f"{b}.se.reduce", r, mid, 1, 1), (f"{b}.se.expand", mid, r, 1, 1)]
        out.append((f"{b}.project.conv", stage.width, mid, 1, after**2))
        size = after
    out.append(("final.conv", shape.head, shape.stages[-1].width, 1, size**2))
    out.append(("classifier", shape.classes, shape.head, 1, 1))
    return out


def macs(shape: CnnShape, sub: CnnSubnet) -> int:
    """Multiply-accumulates of one image's forward pass: convolutions and the classifier
    (batch norm, activations, pooling, the SE product and biases are not MACs), which is what
    ``torch.utils.flop_counter`` counts (as 2 FLOPs per MAC)."""
    return sum(o * i * k * k * n for _, o, i, k, n in _layers(shape, sub))


def _biased(name: str) -> bool:
    """Whether a layer has a bias of its own (the others are followed by a batch norm)."""
    return name.endswith(("se.reduce", "se.expand", "classifier"))


def params(shape: CnnShape, sub: CnnSubnet) -> int:
    """Weights and biases of the sub-network, exactly as the exported module holds them:
    convolutions (no bias before a batch norm), batch norms' scale and shift, the SE layers'
    and the classifier's biases (running statistics are buffers, not parameters)."""
    total = 0
    for name, o, i, k, _ in _layers(shape, sub):
        total += o * i * k * k + (o if _biased(name) else 2 * o)
    return total


def deployed_params(shape: CnnShape, sub: CnnSubnet) -> int:
    """Weights of the sub-network as deployed, each batch norm folded into the convolution
    before it (a weight and a bias per layer): what its ONNX model stores."""
    return sum(o * i * k * k + o for _, o, i, k, _ in _layers(shape, sub))


def exact_metrics(shape: CnnShape, sub: CnnSubnet) -> dict[str, float]:
    """``params_m``, ``macs_m`` (millions) and ``size_mb`` (10^6 bytes of the deployed
    model's float32 weights, batch norms folded)."""
    return {
        "params_m": params(shape, sub) / 1e6,
        "macs_m": macs(shape, sub) / 1e6,
        "size_mb": deployed_params(shape, sub) * BYTES_PER_WEIGHT / 1e6,
    }


def weight_shapes(shape: CnnShape, sub: CnnSubnet) -> dict[str, tuple[int, int]]:
    """Each convolution's and the classifier's weight as a matrix: (outputs, inputs per
    group x kernel area); what int8 quantization shrinks."""
    return {name: (o, i * k * k) for name, o, i, k, _ in _layers(shape, sub)}


def block_layers(shape: CnnShape, stage: int, block: int) -> tuple[str, ...]:
    """The layers a block's precision gene governs."""
    b = f"stages.{stage}.{block}"
    se = (f"{b}.se.reduce", f"{b}.se.expand") if shape.stages[stage].se else ()
    return (f"{b}.expand.conv", f"{b}.dw.conv", *se, f"{b}.project.conv")


HEAD_LAYERS = ("final.conv", "classifier")
