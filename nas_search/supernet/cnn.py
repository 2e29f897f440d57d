"""The elastic MobileNetV3-style super-network (Once-for-All) and the standalone CNN a
sub-network exports to.

Both share one set of parameter names and one functional forward pass. The super-network
holds every weight at its largest; a sub-network runs on views of them (``weights(sub)``):
the first ``mid`` channels of each block, its first blocks per stage. A smaller depthwise
kernel is the centre of the next larger one through a learned ``k^2 x k^2`` matrix per block
and kernel size (Once-for-All's kernel transformation, identity at first), so a 3x3 kernel is
computed from the 7x7 one, never stored apart.

A sub-network takes images of any size and resizes them to its ``resolution`` first (its
exported ONNX model takes them at that size).

Batch norm statistics are per sub-network: :meth:`ElasticCNN.calibrate` recomputes them on a
few training batches into the super-network's running statistics (the slices the sub-network
uses), as Once-for-All does before measuring; :meth:`ElasticCNN.reorganize` sorts each block's
channels most important first (the L1 norm of their projection weights), so a narrower block
keeps the channels that matter most.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nas_search.supernet.cnn_arch import STEM_KERNEL, CnnShape, CnnSubnet, se_channels

BN_EPS = 1e-5


class _ConvBN(nn.Module):
    """A convolution and its batch norm; ``fused``: the batch norm folded into the
    convolution's weight and bias (the deployed form)."""

    def __init__(
        self, out: int, inputs: int, kernel: int, groups: int = 1, fused: bool = False
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inputs, out, kernel, padding=kernel // 2, groups=groups, bias=fused)
        if not fused:
            self.bn = nn.BatchNorm2d(out, eps=BN_EPS)


class _SE(nn.Module):
    def __init__(self, mid: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(mid, se_channels(mid), 1)
        self.expand = nn.Conv2d(se_channels(mid), mid, 1)


class _Block(nn.Module):
    def __init__(self, inputs: int, mid: int, out: int, kernel: int, se: bool, fused: bool) -> None:
        super().__init__()
        self.expand = _ConvBN(mid, inputs, 1, fused=fused)
        self.dw = _ConvBN(mid, mid, kernel, groups=mid, fused=fused)
        if se:
            self.se = _SE(mid)
        self.project = _ConvBN(out, mid, 1, fused=fused)


class _Body(nn.Module):
    """Modules at given sizes; the names are those of every checkpoint and export."""

    def __init__(
        self, shape: CnnShape, sub: CnnSubnet, mids: list[list[int]], fused: bool = False
    ) -> None:
        super().__init__()
        self.stem = _ConvBN(shape.stem_channels, shape.channels, STEM_KERNEL, fused=fused)
        self.stages = nn.ModuleList(
            nn.ModuleList(
                _Block(
                    shape.inputs(s, k),
                    mids[s][k],
                    stage.width,
                    sub.blocks[s][k].kernel_size,
                    stage.se,
                    fused,
                )
                for k in range(len(sub.blocks[s]))
            )
            for s, stage in enumerate(shape.stages)
        )
        self.final = _ConvBN(shape.head, shape.stages[-1].width, 1, fused=fused)
        self.classifier = nn.Linear(shape.head, shape.classes)


def _act(x: Tensor, kind: str) -> Tensor:
    return F.relu(x) if kind == "relu" else F.hardswish(x)


def forward(
    x: Tensor,
    w: Mapping[str, Tensor],
    sub: CnnSubnet,
    shape: CnnShape,
    training: bool = False,
    momentum: float = 0.1,
    channels_last: bool = False,
) -> Tensor:
    """Logits of images ``x`` for weights and batch-norm statistics named as in _Body (in
    ``training``: batch statistics, the running ones updated with ``momentum``; a
    convolution with a bias has its batch norm folded in). ``channels_last``: the feature maps
    after the stem in that memory format (the same function; on a CPU, the depthwise
    convolutions' backward pass takes about a quarter of the time)."""

    def conv_bn(h: Tensor, name: str, stride: int = 1, groups: int = 1) -> Tensor:
        weight, bias = w[f"{name}.conv.weight"], w.get(f"{name}.conv.bias")
        h = F.conv2d(h, weight, bias, stride, weight.shape[-1] // 2, 1, groups)
        if bias is not None:
            return h
        return F.batch_norm(
            h,
            w[f"{name}.bn.running_mean"],
            w[f"{name}.bn.running_var"],
            w[f"{name}.bn.weight"],
            w[f"{name}.bn.bias"],
            training,
            momentum,
            BN_EPS,
        )

    h = _act(conv_bn(resize(x, sub.resolution), "stem", shape.stem_stride), "hswish")
    if channels_last:
        h = h.contiguous(memory_format=torch.channels_last)
    for s, k in sub.active():
        b, stage = f"stages.{s}.{k}", shape.stages[s]
        y = _act(conv_bn(h, f"{b}.expand"), stage.activation)
        mid = y.shape[1]
        y = _act(conv_bn(y, f"{b}.dw", shape.stride(s, k), groups=mid), stage.activation)
        if stage.se:
            z = y.mean((2, 3), keepdim=True)
            z = F.relu(F.conv2d(z, w[f"{b}.se.reduce.weight"], w[f"{b}.se.reduce.bias"]))
            y = y * F.hardsigmoid(F.conv2d(z, w[f"{b}.se.expand.weight"], w[f"{b}.se.expand.bias"]))
        y = conv_bn(y, f"{b}.project")
        h = h + y if shape.residual(s, k) else y
    # pooled features kept 3-D: the classifier exports as a MatMul, which onnxruntime quantizes
    h = _act(conv_bn(h, "final"), "hswish").mean((2, 3)).unsqueeze(1)
    return F.linear(h, w["classifier.weight"], w["classifier.bias"])[:, 0]


def resize(x: Tensor, resolution: int) -> Tensor:
    """Images at ``resolution`` pixels a side (bilinear, antialiased); as they are if they
    already are."""
    if x.shape[-2:] == (resolution, resolution):
        return x
    return F.interpolate(
        x, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True
    )


def _transform_key(stage: int, block: int, kernel: int) -> str:
    return f"{stage}_{block}_{kernel}"


class ElasticCNN(nn.Module):
    """The super-network: every weight at its largest; ``forward(x, sub)`` runs a sub-network."""

    def __init__(self, shape: CnnShape) -> None:
        super().__init__()
        self.shape = shape
        largest = shape.largest
        mids = [[shape.max_mid(s, k) for k in range(st.depth)] for s, st in enumerate(shape.stages)]
        self.body = _Body(shape, largest, mids)
        self.transforms = nn.ParameterDict(
            {
                _transform_key(s, k, kernel): nn.Parameter(torch.eye(kernel * kernel))
                for s, k in largest.active()
                for kernel in shape.kernel_sizes[1:]
            }
        )

    def block(self, stage: int, block: int) -> _Block:
        blocks = self.body.stages[stage]
        assert isinstance(blocks, nn.ModuleList)
        found = blocks[block]
        assert isinstance(found, _Block)
        return found

    def kernel(self, stage: int, block: int, kernel: int, mid: int) -> Tensor:
        """The depthwise kernel of ``mid`` channels and size ``kernel``: the centre of each
        larger one in turn, through that size's transformation matrix."""
        w = self.block(stage, block).dw.conv.weight[:mid]
        for smaller in self.shape.kernel_sizes[1:]:
            if smaller < kernel:
                break
            cut = (w.shape[-1] - smaller) // 2
            centre = w[:, :, cut : cut + smaller, cut : cut + smaller].reshape(mid, -1)
            matrix = self.transforms[_transform_key(stage, block, smaller)]
            w = F.linear(centre, matrix).reshape(mid, 1, smaller, smaller)
        return w

    def weights(self, sub: CnnSubnet) -> dict[str, Tensor]:
        """Views of the super-network's weights and batch-norm statistics that make up
        ``sub`` (names as in an export); a smaller depthwise kernel is computed."""
        tensors = {**dict(self.body.named_parameters()), **dict(self.body.named_buffers())}

        def take(prefix: str, rows: int | None = None, cols: int | None = None) -> None:
            for key, value in tensors.items():
                if key.startswith(prefix + ".") and not key.endswith("num_batches_tracked"):
                    view = value if rows is None else value[:rows]
                    out[key] = view if cols is None or view.dim() < 2 else view[:, :cols]

        out: dict[str, Tensor] = {}
        take("stem")
        for s, k in sub.active():
            b, mid = f"stages.{s}.{k}", sub.mid(self.shape, s, k)
            take(f"{b}.expand", rows=mid)
            take(f"{b}.dw.bn", rows=mid)
            out[f"{b}.dw.conv.weight"] = self.kernel(s, k, sub.blocks[s][k].kernel_size, mid)
            if self.shape.stages[s].se:
                r = se_channels(mid)
                take(f"{b}.se.reduce", rows=r, cols=mid)
                take(f"{b}.se.expand", rows=mid, cols=r)
            take(f"{b}.project", cols=mid)
        take("final")
        take("classifier")
        return out

    def forward(self, x: Tensor, sub: CnnSubnet) -> Tensor:
        # channels last while training only: measuring runs what an export runs
        training = self.training
        return forward(x, self.weights(sub), sub, self.shape, training, channels_last=training)

    @torch.no_grad()
    def calibrate(self, sub: CnnSubnet, batches: Iterable[Tensor]) -> None:
        """Batch-norm statistics of ``sub`` recomputed on ``batches`` (the mean over them of
        each batch's mean and variance), written into the slices ``sub`` uses."""
        w = self.weights(sub)
        for n, batch in enumerate(batches, start=1):
            forward(batch, w, sub, self.shape, training=True, momentum=1.0 / n)

    @torch.no_grad()
    def reorganize(self) -> None:
        """Sort each block's expanded channels (and its squeeze-excitation's) most important
        first, importance being the L1 norm of the weights that read them (Once-for-All). The
        largest sub-network computes the same function before and after."""
        for s, k in self.shape.largest.active():
            block = self.block(s, k)
            order = _order(block.project.conv.weight.abs().sum(dim=(0, 2, 3)))
            for layer in (block.expand, block.dw):
                _permute_rows(layer.conv.weight, order)
                for name in ("weight", "bias", "running_mean", "running_var"):
                    _permute_rows(getattr(layer.bn, name), order)
            block.project.conv.weight.copy_(block.project.conv.weight[:, order])
            if hasattr(block, "se"):
                se = block.se
                se.reduce.weight.copy_(se.reduce.weight[:, order])
                _permute_rows(se.expand.weight, order)
                _permute_rows(se.expand.bias, order)
                inner = _order(se.expand.weight.abs().sum(dim=(0, 2, 3)))
                _permute_rows(se.reduce.weight, inner)
                _permute_rows(se.reduce.bias, inner)
                se.expand.weight.copy_(se.expand.weight[:, inner])


def _order(scores: Tensor) -> Tensor:
    """Indices from most to least important (ties: the original order)."""
    return torch.from_numpy(np.argsort(-scores.detach().cpu().numpy(), kind="stable").copy())


def _permute_rows(tensor: Tensor | None, order: Tensor) -> None:
    assert tensor is not None
    tensor.copy_(tensor[order.to(tensor.device)])


class CNN(nn.Module):
    """A plain CNN of one sub-network's size: what ``nas-search export`` writes.

    Rebuild one from an export with ``CNN.from_export(torch.load(path, weights_only=True))``.
    """

    def __init__(self, shape: CnnShape, sub: CnnSubnet, fused: bool = False) -> None:
        super().__init__()
        self.shape, self.sub, self.fused = shape, sub, fused
        mids = [[sub.mid(shape, s, k) for k in range(len(b))] for s, b in enumerate(sub.blocks)]
        self.body = _Body(shape, sub, mids, fused)

    def forward(self, x: Tensor) -> Tensor:
        tensors = {**dict(self.body.named_parameters()), **dict(self.body.named_buffers())}
        return forward(x, tensors, self.sub, self.shape, self.training)

    @torch.no_grad()
    def fuse(self) -> CNN:
        """A copy with each batch norm folded into its convolution (running statistics):
        the same function in inference, fewer weights and operations. What ONNX gets."""
        if self.fused:
            return self
        model = CNN(self.shape, self.sub, fused=True)
        ours = {**dict(self.body.named_parameters()), **dict(self.body.named_buffers())}
        state = {}
        for key in model.body.state_dict():
            if key.endswith(".conv.weight") or key.endswith(".conv.bias"):
                base = key.rsplit(".conv.", 1)[0]
                scale = ours[f"{base}.bn.weight"] / torch.sqrt(
                    ours[f"{base}.bn.running_var"] + BN_EPS
                )
                if key.endswith("weight"):
                    state[key] = ours[key] * scale.reshape(-1, 1, 1, 1)
                else:
                    state[key] = ours[f"{base}.bn.bias"] - ours[f"{base}.bn.running_mean"] * scale
            else:
                state[key] = ours[key]
        model.body.load_state_dict(state)
        return model.eval()

    def export(self) -> dict[str, Any]:
        """What ``torch.save`` writes: plain tensors and builtins (``weights_only`` loads it)."""
        return {
            "format": "nas-search/cnn-1",
            "shape": self.shape.to_dict(),
            "subnet": self.sub.to_dict(),
            "fused": self.fused,
            "state_dict": {k: v.detach().clone() for k, v in self.body.state_dict().items()},
        }

    @classmethod
    def from_export(cls, payload: Mapping[str, Any]) -> CNN:
        model = cls(
            CnnShape.from_dict(payload["shape"]),
            CnnSubnet.from_dict(payload["subnet"]),
            bool(payload.get("fused", False)),
        )
        model.body.load_state_dict(payload["state_dict"])
        return model.eval()


def extract(supernet: ElasticCNN, sub: CnnSubnet) -> CNN:
    """A standalone copy of ``sub`` with the super-network's weights and the batch-norm
    statistics it holds now (calibrate ``sub`` first)."""
    model = CNN(supernet.shape, sub)
    with torch.no_grad():
        state = model.body.state_dict()
        state.update({k: v.detach().clone() for k, v in supernet.weights(sub).items()})
        model.body.load_state_dict(state)
    return model.eval()
