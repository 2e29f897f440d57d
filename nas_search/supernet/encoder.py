"""The elastic transformer encoder (a fine-tuned BERT, RoBERTa or ViT) and the standalone
encoder one of its sub-networks exports to.

Both share one set of parameter names and one functional forward pass that reproduces
``transformers``' own (``tests`` check it against the Hugging Face model). The elastic encoder
holds every weight at its maximum size; a sub-network runs on views of them
(``weights(sub)``), never on copies. Attention is written as explicit matmuls, so
``torch.utils.flop_counter`` sees every multiply that :mod:`.encoder_arch` counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nas_search.supernet.encoder_arch import EncoderShape, EncoderSubnet

FORMAT = "nas-search/encoder-1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
#: model inputs, by modality, in the order an ONNX export takes them
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
IMAGE_INPUTS = ("pixel_values",)

Gates = Mapping[str, list[Tensor]]


def input_names(shape: EncoderShape) -> tuple[str, ...]:
    return TEXT_INPUTS if shape.text else IMAGE_INPUTS


class _Layer(nn.Module):
    def __init__(self, hidden: int, qkv: int, units: int) -> None:
        super().__init__()
        self.q = nn.Linear(hidden, qkv)
        self.k = nn.Linear(hidden, qkv)
        self.v = nn.Linear(hidden, qkv)
        self.o = nn.Linear(qkv, hidden)
        self.norm1 = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, units)
        self.fc2 = nn.Linear(units, hidden)
        self.norm2 = nn.LayerNorm(hidden)


class _Embeddings(nn.Module):
    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        e = shape.hidden
        if shape.text:
            self.word = nn.Embedding(shape.vocab, e)
            self.position = nn.Embedding(shape.positions, e)
            self.token_type = nn.Embedding(shape.type_vocab, e)
            self.norm = nn.LayerNorm(e)
        else:
            self.patch = nn.Conv2d(shape.channels, e, shape.patch_size, shape.patch_size)
            self.cls = nn.Parameter(torch.zeros(1, 1, e))
            self.pos = nn.Parameter(torch.zeros(1, shape.patches + 1, e))


class _Body(nn.Module):
    """Modules at given sizes; the names are those of every checkpoint and export."""

    def __init__(self, shape: EncoderShape, heads: list[int], units: list[int]) -> None:
        super().__init__()
        e = shape.hidden
        self.embeddings = _Embeddings(shape)
        self.layers = nn.ModuleList(
            _Layer(e, h * shape.head_dim, m) for h, m in zip(heads, units, strict=True)
        )
        if shape.text:
            self.pooler = nn.Linear(e, e)
        else:
            self.norm = nn.LayerNorm(e)
        self.classifier = nn.Linear(e, shape.classes)


def _linear(x: Tensor, w: Mapping[str, Tensor], name: str) -> Tensor:
    return F.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])


def _norm(x: Tensor, w: Mapping[str, Tensor], name: str, eps: float) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], w[f"{name}.weight"], w[f"{name}.bias"], eps)


def _activation(x: Tensor, name: str) -> Tensor:
    if name == "relu":
        return F.relu(x)
    return F.gelu(x, approximate="none" if name == "gelu" else "tanh")


def _embed(
    w: Mapping[str, Tensor], shape: EncoderShape, inputs: Mapping[str, Tensor], training: bool
) -> tuple[Tensor, Tensor | None]:
    """Token embeddings and the additive attention mask (None: every token is attended)."""
    if not shape.text:
        x = inputs["pixel_values"]
        tokens = F.conv2d(
            x, w["embeddings.patch.weight"], w["embeddings.patch.bias"], stride=shape.patch_size
        )
        tokens = tokens.flatten(2).transpose(1, 2)
        cls = w["embeddings.cls"].expand(tokens.shape[0], -1, -1)
        h = torch.cat([cls, tokens], dim=1) + w["embeddings.pos"]
        return F.dropout(h, shape.dropout, training), None
    ids = inputs["input_ids"]
    n = ids.shape[1]
    positions = torch.arange(n, device=ids.device) + shape.position_offset
    types = inputs.get("token_type_ids")
    if types is None:
        types = torch.zeros_like(ids)
    h = (
        F.embedding(ids, w["embeddings.word.weight"])
        + F.embedding(positions, w["embeddings.position.weight"])[None]
        + F.embedding(types, w["embeddings.token_type.weight"])
    )
    h = F.dropout(_norm(h, w, "embeddings.norm", shape.eps), shape.dropout, training)
    mask = inputs.get("attention_mask")
    if mask is None:
        return h, None
    additive = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
    return h, additive


def forward(
    w: Mapping[str, Tensor],
    shape: EncoderShape,
    sub: EncoderSubnet,
    inputs: Mapping[str, Tensor],
    *,
    training: bool = False,
    gates: Gates | None = None,
) -> Tensor:
    """Logits for weights named as in ``_Body``. ``gates`` (``heads`` and ``units``: one
    tensor per layer) scale each head's output and each feed-forward unit: their gradients
    are the importance scores of :mod:`.importance`."""
    h, mask = _embed(w, shape, inputs, training)
    batch, n = h.shape[:2]
    hd, post_norm = shape.head_dim, shape.text
    for k in range(sub.num_layers):
        b = f"layers.{k}"
        y = h if post_norm else _norm(h, w, f"{b}.norm1", shape.eps)
        q, kk, v = (_linear(y, w, f"{b}.{p}").view(batch, n, -1, hd).transpose(1, 2) for p in "qkv")
        scores = (q @ kk.transpose(-2, -1)) * hd**-0.5
        if mask is not None:
            scores = scores + mask
        attention = F.dropout(torch.softmax(scores, dim=-1), shape.attention_dropout, training)
        context = attention @ v
        if gates is not None:
            context = context * gates["heads"][k][None, :, None, None]
        y = _linear(context.transpose(1, 2).reshape(batch, n, -1), w, f"{b}.o")
        y = F.dropout(y, shape.dropout, training)
        if post_norm:
            h = _norm(h + y, w, f"{b}.norm1", shape.eps)
            y = h
        else:
            h = h + y
            y = _norm(h, w, f"{b}.norm2", shape.eps)
        y = _activation(_linear(y, w, f"{b}.fc1"), shape.activation)
        if gates is not None:
            y = y * gates["units"][k]
        y = F.dropout(_linear(y, w, f"{b}.fc2"), shape.dropout, training)
        h = _norm(h + y, w, f"{b}.norm2", shape.eps) if post_norm else h + y
    # the first token kept 3-D: pooler and classifier export as MatMuls, which onnxruntime
    # can quantize
    if shape.text:
        first = torch.tanh(_linear(h[:, :1], w, "pooler"))
    else:
        first = _norm(h[:, :1], w, "norm", shape.eps)
    return _linear(F.dropout(first, shape.dropout, training), w, "classifier")[:, 0]


class ElasticEncoder(nn.Module):
    """Every weight at its maximum; ``forward(inputs, sub)`` runs a sub-network on views."""

    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        self.shape = shape
        self.body = _Body(shape, [shape.heads] * shape.layers, [shape.intermediate] * shape.layers)

    def weights(self, sub: EncoderSubnet) -> dict[str, Tensor]:
        """Views of the weights that make up ``sub`` (names as in an export)."""
        params = dict(self.body.named_parameters())
        out: dict[str, Tensor] = {k: v for k, v in params.items() if not k.startswith("layers.")}
        for k in range(sub.num_layers):
            b, d, m = (
                f"layers.{k}",
                sub.num_heads[k] * self.shape.head_dim,
                sub.intermediate_size[k],
            )
            for name in ("norm1", "norm2"):
                for kind in ("weight", "bias"):
                    out[f"{b}.{name}.{kind}"] = params[f"{b}.{name}.{kind}"]
            for name, rows in (("q", d), ("k", d), ("v", d), ("fc1", m)):
                out[f"{b}.{name}.weight"] = params[f"{b}.{name}.weight"][:rows]
                out[f"{b}.{name}.bias"] = params[f"{b}.{name}.bias"][:rows]
            for name, cols in (("o", d), ("fc2", m)):
                out[f"{b}.{name}.weight"] = params[f"{b}.{name}.weight"][:, :cols]
                out[f"{b}.{name}.bias"] = params[f"{b}.{name}.bias"]
        return out

    def forward(
        self, inputs: Mapping[str, Tensor], sub: EncoderSubnet, gates: Gates | None = None
    ) -> Tensor:
        return forward(
            self.weights(sub), self.shape, sub, inputs, training=self.training, gates=gates
        )


class Encoder(nn.Module):
    """A plain encoder of one sub-network's size: what ``nas-search export`` writes, as
    ``model.safetensors`` and ``config.json``. Load one with ``Encoder.load(folder)``; call it
    with the model's inputs as keywords (``input_ids``, ``attention_mask``, ``token_type_ids``,
    or ``pixel_values``)."""

    def __init__(self, shape: EncoderShape, sub: EncoderSubnet) -> None:
        super().__init__()
        self.shape, self.sub = shape, sub
        self.body = _Body(shape, list(sub.num_heads), list(sub.intermediate_size))

    def forward(self, *args: Tensor, **inputs: Tensor) -> Tensor:
        named = dict(zip(input_names(self.shape), args, strict=False)) | inputs
        w = dict(self.body.named_parameters())
        return forward(w, self.shape, self.sub, named, training=self.training)

    def config(self) -> dict[str, Any]:
        return {"format": FORMAT, "shape": self.shape.to_dict(), "subnet": self.sub.to_dict()}

    def save(self, folder: Path, extra: Mapping[str, Any] | None = None) -> None:
        """``model.safetensors`` (the weights) and ``config.json`` (shape and sub-network)."""
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().contiguous() for k, v in self.body.state_dict().items()}
        save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
        config = {**self.config(), **(extra or {})}
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> Encoder:
        """The encoder saved in ``folder`` by :meth:`save`, in inference mode."""
        from safetensors.torch import load_file

        folder = Path(folder)
        config = json.loads((folder / CONFIG_FILE).read_text())
        if config.get("format") != FORMAT:
            raise ValueError(f"{folder / CONFIG_FILE} is not a nas-search encoder config")
        model = cls(EncoderShape(**config["shape"]), EncoderSubnet.from_dict(config["subnet"]))
        model.body.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        return model.eval()


def extract(supernet: ElasticEncoder, sub: EncoderSubnet) -> Encoder:
    """A standalone copy of ``sub`` with the elastic encoder's weights."""
    model = Encoder(supernet.shape, sub)
    with torch.no_grad():
        model.body.load_state_dict(
            {k: v.detach().clone() for k, v in supernet.weights(sub).items()}
        )
    return model.eval()
