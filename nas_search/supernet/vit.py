"""The elastic ViT super-network and the standalone ViT a sub-network exports to.

Both share one set of parameter names and one functional forward pass. The super-network holds
every weight at its maximum size; a sub-network runs on views of them (``weights(sub)``), never
on copies. The forward pass writes attention as explicit matmuls (q @ k^T, softmax, @ v), so
``torch.utils.flop_counter`` sees every multiply the analytic count in :mod:`.arch` includes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nas_search.supernet.arch import Subnet, SupernetShape


class _Block(nn.Module):
    def __init__(self, embed: int, qkv: int, hidden: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed)
        self.q = nn.Linear(embed, qkv)
        self.k = nn.Linear(embed, qkv)
        self.v = nn.Linear(embed, qkv)
        self.proj = nn.Linear(qkv, embed)
        self.norm2 = nn.LayerNorm(embed)
        self.fc1 = nn.Linear(embed, hidden)
        self.fc2 = nn.Linear(hidden, embed)


class _Body(nn.Module):
    """Modules at given sizes; the names are those of every checkpoint and export."""

    def __init__(
        self,
        shape: SupernetShape,
        embed: int,
        qkv: list[int],
        hidden: list[int],
    ) -> None:
        super().__init__()
        self.patch = nn.Conv2d(shape.channels, embed, shape.patch_size, shape.patch_size)
        self.cls = nn.Parameter(torch.zeros(1, 1, embed))
        self.pos = nn.Parameter(torch.zeros(1, shape.tokens, embed))
        self.blocks = nn.ModuleList(_Block(embed, d, m) for d, m in zip(qkv, hidden, strict=True))
        self.norm = nn.LayerNorm(embed)
        self.head = nn.Linear(embed, shape.classes)
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)


def _linear(x: Tensor, w: Mapping[str, Tensor], name: str) -> Tensor:
    return F.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])


def forward(x: Tensor, w: Mapping[str, Tensor], sub: Subnet, head_dim: int) -> Tensor:
    """Logits of images ``x`` (batch, channels, height, width) for weights named as in _Body."""
    e = sub.embed_dim
    tokens = F.conv2d(x, w["patch.weight"], w["patch.bias"], stride=w["patch.weight"].shape[-1])
    tokens = tokens.flatten(2).transpose(1, 2)
    batch = tokens.shape[0]
    h = torch.cat([w["cls"].expand(batch, -1, -1), tokens], dim=1) + w["pos"]
    n = h.shape[1]
    for k in range(sub.depth):
        b = f"blocks.{k}"
        heads = sub.num_heads[k]
        y = F.layer_norm(h, (e,), w[f"{b}.norm1.weight"], w[f"{b}.norm1.bias"])
        q, kk, v = (
            _linear(y, w, f"{b}.{p}").view(batch, n, heads, head_dim).transpose(1, 2) for p in "qkv"
        )
        attention = torch.softmax((q @ kk.transpose(-2, -1)) * head_dim**-0.5, dim=-1)
        y = (attention @ v).transpose(1, 2).reshape(batch, n, heads * head_dim)
        h = h + _linear(y, w, f"{b}.proj")
        y = F.layer_norm(h, (e,), w[f"{b}.norm2.weight"], w[f"{b}.norm2.bias"])
        h = h + _linear(F.gelu(_linear(y, w, f"{b}.fc1")), w, f"{b}.fc2")
    # the class token kept 3-D: the head exports as a MatMul, which onnxruntime can quantize
    h = F.layer_norm(h[:, :1], (e,), w["norm.weight"], w["norm.bias"])
    return _linear(h, w, "head")[:, 0]


class ElasticViT(nn.Module):
    """The super-network: every weight at its maximum; ``forward(x, sub)`` runs a sub-network."""

    def __init__(self, shape: SupernetShape) -> None:
        super().__init__()
        self.shape = shape
        d = shape.num_heads * shape.head_dim
        self.body = _Body(
            shape, shape.embed_dim, [d] * shape.depth, [shape.max_hidden] * shape.depth
        )

    def weights(self, sub: Subnet) -> dict[str, Tensor]:
        """Views of the super-network's weights that make up ``sub`` (names as in an export)."""
        e, hd = sub.embed_dim, self.shape.head_dim
        params = dict(self.body.named_parameters())
        out = {
            "patch.weight": params["patch.weight"][:e],
            "patch.bias": params["patch.bias"][:e],
            "cls": params["cls"][..., :e],
            "pos": params["pos"][..., :e],
            "norm.weight": params["norm.weight"][:e],
            "norm.bias": params["norm.bias"][:e],
            "head.weight": params["head.weight"][:, :e],
            "head.bias": params["head.bias"],
        }
        for k in range(sub.depth):
            b, d, m = f"blocks.{k}", sub.num_heads[k] * hd, sub.hidden(k)
            for norm in ("norm1", "norm2"):
                for kind in ("weight", "bias"):
                    out[f"{b}.{norm}.{kind}"] = params[f"{b}.{norm}.{kind}"][:e]
            for name, rows, cols in (("q", d, e), ("k", d, e), ("v", d, e), ("fc1", m, e)):
                out[f"{b}.{name}.weight"] = params[f"{b}.{name}.weight"][:rows, :cols]
                out[f"{b}.{name}.bias"] = params[f"{b}.{name}.bias"][:rows]
            for name, cols in (("proj", d), ("fc2", m)):
                out[f"{b}.{name}.weight"] = params[f"{b}.{name}.weight"][:e, :cols]
                out[f"{b}.{name}.bias"] = params[f"{b}.{name}.bias"][:e]
        return out

    def forward(self, x: Tensor, sub: Subnet) -> Tensor:
        return forward(x, self.weights(sub), sub, self.shape.head_dim)


class ViT(nn.Module):
    """A plain ViT of one sub-network's size: what ``nas-search export`` writes.

    Rebuild one from an export with ``ViT.from_export(torch.load(path, weights_only=True))``.
    """

    def __init__(self, shape: SupernetShape, sub: Subnet) -> None:
        super().__init__()
        self.shape, self.sub = shape, sub
        qkv = [h * shape.head_dim for h in sub.num_heads]
        hidden = [sub.hidden(k) for k in range(sub.depth)]
        self.body = _Body(shape, sub.embed_dim, qkv, hidden)

    def forward(self, x: Tensor) -> Tensor:
        return forward(x, dict(self.body.named_parameters()), self.sub, self.shape.head_dim)

    def export(self) -> dict[str, Any]:
        """What ``torch.save`` writes: plain tensors and builtins (``weights_only`` loads it)."""
        return {
            "format": "nas-search/vit-1",
            "shape": self.shape.to_dict(),
            "subnet": self.sub.to_dict(),
            "state_dict": {k: v.detach().clone() for k, v in self.body.state_dict().items()},
        }

    @classmethod
    def from_export(cls, payload: Mapping[str, Any]) -> ViT:
        sub = payload["subnet"]
        model = cls(
            SupernetShape(**payload["shape"]),
            Subnet(sub["embed_dim"], tuple(sub["num_heads"]), tuple(sub["mlp_ratio"])),
        )
        model.body.load_state_dict(payload["state_dict"])
        return model.eval()


def extract(supernet: ElasticViT, sub: Subnet) -> ViT:
    """A standalone copy of ``sub`` with the super-network's weights."""
    model = ViT(supernet.shape, sub)
    with torch.no_grad():
        model.body.load_state_dict(
            {k: v.detach().clone() for k, v in supernet.weights(sub).items()}
        )
    return model.eval()
