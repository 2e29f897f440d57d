"""A chosen sub-network written out to deploy: an ONNX file that ``onnxruntime`` runs with no
nas-search code, and ``model.safetensors`` + ``config.json`` that :class:`~.encoder.Encoder`
loads. The ONNX file takes any batch size and (text) sequence length; it is checked against
the torch forward pass when written.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from nas_search.supernet.encoder import Encoder, input_names
from nas_search.supernet.onnx_model import Runtime, to_onnx

ONNX_FILE = "model.onnx"
#: the tokenizer's files, copied beside a text model's export
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
)


class _Text(nn.Module):
    """The encoder with a fixed signature (what ``torch.export`` traces)."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )


class _Image(nn.Module):
    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, pixel_values: Tensor) -> Tensor:
        return self.encoder(pixel_values=pixel_values)


def wrapped(model: Encoder) -> nn.Module:
    """The encoder with a fixed signature, what ``torch.export`` traces."""
    return _Text(model) if model.shape.text else _Image(model)


def dynamic_axes(model: Encoder) -> dict[str, dict[int, tuple[str, int]]]:
    """Batch (and, for text, sequence length) left free in the ONNX graph."""
    dims: dict[str, dict[int, tuple[str, int]]] = {}
    for name in input_names(model.shape):
        dims[name] = {0: ("batch", 1 << 16)}
        if model.shape.text:
            dims[name][1] = ("sequence", model.shape.positions)
    return dims


def export_onnx(model: Encoder, inputs: Mapping[str, Tensor], path: Path) -> None:
    """``model`` as an ONNX file, batch and sequence dynamic, weights inside the file."""
    names = input_names(model.shape)
    proto = to_onnx(wrapped(model), [inputs[n] for n in names], names, dynamic_axes(model))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(proto.SerializeToString())


def export(
    model: Encoder,
    folder: Path,
    inputs: Mapping[str, Tensor],
    tokenizer_dir: Path | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``folder``: ``model.onnx``, ``model.safetensors``, ``config.json`` (and the
    tokenizer's files for text). Returns the largest difference between onnxruntime's logits
    and torch's on ``inputs``, and what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder, extra)
    export_onnx(model, inputs, folder / ONNX_FILE)
    copied = []
    if tokenizer_dir is not None:
        for name in TOKENIZER_FILES:
            if (tokenizer_dir / name).is_file():
                shutil.copyfile(tokenizer_dir / name, folder / name)
                copied.append(name)
    with torch.inference_mode():
        expected = model(**inputs).numpy()
    got = Runtime((folder / ONNX_FILE).read_bytes())({k: v.numpy() for k, v in inputs.items()})
    return {
        "max_abs_diff": float(np.abs(got - expected).max()),
        "files": sorted(p.name for p in folder.iterdir()),
        "tokenizer": copied,
    }
