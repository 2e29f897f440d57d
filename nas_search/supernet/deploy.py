"""A chosen sub-network written out to deploy: an ONNX file that ``onnxruntime`` runs with no
nas-search code, and ``model.safetensors`` + ``config.json`` that :class:`~.encoder.Encoder`
loads. The ONNX file takes any batch size and (text) sequence length; it is checked against
the torch forward pass when written.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from nas_search.supernet.encoder import Encoder, input_names

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


def export_onnx(model: Encoder, inputs: Mapping[str, Tensor], path: Path) -> None:
    """``model`` as ONNX (torch's ``torch.export``-based exporter), batch and sequence
    dynamic, weights inside the file."""
    import logging

    names = input_names(model.shape)
    wrapped = _Text(model) if model.shape.text else _Image(model)
    batch = torch.export.Dim("batch", min=1, max=4096)
    dims: dict[str, dict[int, Any]] = {}
    for name in names:
        dims[name] = {0: batch}
        if model.shape.text:
            dims[name][1] = torch.export.Dim("sequence", min=2, max=model.shape.positions)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the exporter's own notes on its internals
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        program = torch.onnx.export(
            wrapped.eval(),
            tuple(inputs[n] for n in names),
            input_names=list(names),
            output_names=["logits"],
            dynamic_shapes=dims,
            external_data=False,
            verbose=False,
            report=False,
        )
    if program is None:  # pragma: no cover - the torch.export exporter returns its program
        raise RuntimeError("torch.onnx.export returned nothing")
    program.save(str(path), external_data=False)


def run_onnx(path: Path, inputs: Mapping[str, Any], threads: int = 1) -> np.ndarray:
    """Logits of the ONNX file at ``path`` for numpy (or torch) ``inputs``, in onnxruntime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {i.name: np.asarray(inputs[i.name]) for i in session.get_inputs()}
    return np.asarray(session.run(["logits"], feed)[0])


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
    got = run_onnx(folder / ONNX_FILE, {k: v.numpy() for k, v in inputs.items()})
    return {
        "max_abs_diff": float(np.abs(got - expected).max()),
        "files": sorted(p.name for p in folder.iterdir()),
        "tokenizer": copied,
    }
