"""A Hugging Face model directory (``save_pretrained`` layout) read into an elastic encoder.

The directory's ``config.json`` alone gives the shape (read as JSON: checking a space costs no
``transformers`` import). The weights are loaded with ``transformers`` from safetensors only
(a pickled ``pytorch_model.bin`` could run code), from the local directory only (never a hub),
and renamed to the encoder's own names. A classifier the directory lacks, or one of another
number of labels, starts from a seeded random initialisation, as ``transformers`` does it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nas_search.csvfile import read_text
from nas_search.errors import EvaluatorError, first_line
from nas_search.supernet.encoder_arch import ACTIVATIONS, EncoderShape

#: model_type -> the transformers class that loads it
CLASSES = {
    "bert": "BertForSequenceClassification",
    "roberta": "RobertaForSequenceClassification",
    "vit": "ViTForImageClassification",
}
CONFIG = "config.json"


def model_dir(value: str, base_dir: Path, field: str) -> Path:
    """The model directory a space names, checked: a folder with ``config.json`` and
    safetensors weights."""
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_dir():
        raise EvaluatorError(
            f"{field}: no such model directory {str(path)!r} (nas-search never downloads a "
            "model: save one with save_pretrained first, see the README)"
        )
    if not (path / CONFIG).is_file():
        raise EvaluatorError(f"{field}: {path} has no {CONFIG} (not a save_pretrained folder)")
    if not _weight_files(path):
        pickled = (path / "pytorch_model.bin").is_file()
        why = "holds pytorch_model.bin only (a pickle can run code)" if pickled else "has none"
        raise EvaluatorError(
            f"{field}: {path}: needs safetensors weights (model.safetensors), {why}; "
            "save_pretrained(..., safe_serialization=True) writes them"
        )
    return path


def _weight_files(path: Path) -> list[Path]:
    return sorted(p for p in path.glob("*.safetensors") if p.is_file())


def read_config(path: Path, field: str) -> dict[str, Any]:
    text = read_text(path / CONFIG, f"{field}: {path / CONFIG}", EvaluatorError)
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvaluatorError(f"{field}: {path / CONFIG}: not JSON ({exc.msg})") from None
    if not isinstance(config, dict):
        raise EvaluatorError(f"{field}: {path / CONFIG}: must hold a JSON object")
    return config


def architecture(config: dict[str, Any]) -> str:
    names = config.get("architectures") or [config.get("model_type", "unknown")]
    return str(names[0])


def shape_of(config: dict[str, Any], num_labels: int | None, field: str) -> EncoderShape:
    """The :class:`EncoderShape` of a model's ``config.json``; an unsupported model is one
    line naming the class found and the supported ones."""
    family = config.get("model_type")
    if family not in CLASSES:
        raise EvaluatorError(
            f"{field}: {architecture(config)} (model_type {family!r}) is not supported; "
            f"supported: {', '.join(CLASSES.values())}"
        )

    def get(key: str) -> int:
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise EvaluatorError(
                f"{field}: config.json: {key} must be a positive integer, got {value!r}"
            )
        return value

    hidden, heads = get("hidden_size"), get("num_attention_heads")
    if hidden % heads:
        raise EvaluatorError(
            f"{field}: config.json: hidden_size {hidden} is not a multiple of "
            f"num_attention_heads {heads}"
        )
    activation = config.get("hidden_act", "gelu")
    if activation not in ACTIVATIONS:
        raise EvaluatorError(
            f"{field}: config.json: hidden_act must be one of {', '.join(ACTIVATIONS)}, "
            f"got {activation!r}"
        )
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise EvaluatorError(
            f"{field}: config.json: position_embedding_type must be 'absolute', "
            f"got {config.get('position_embedding_type')!r}"
        )
    if family == "vit" and config.get("qkv_bias", True) is not True:
        raise EvaluatorError(f"{field}: config.json: qkv_bias must be true, got false")
    labels = num_labels or len(config.get("id2label") or {}) or config.get("num_labels") or 2
    common: dict[str, Any] = dict(
        family=family,
        hidden=hidden,
        layers=get("num_hidden_layers"),
        heads=heads,
        head_dim=hidden // heads,
        intermediate=get("intermediate_size"),
        classes=int(labels),
        activation=activation,
        eps=float(config.get("layer_norm_eps", 1e-12)),
        dropout=float(config.get("hidden_dropout_prob", 0.0)),
        attention_dropout=float(config.get("attention_probs_dropout_prob", 0.0)),
    )
    if family == "vit":
        return EncoderShape(
            **common,
            image_size=get("image_size"),
            patch_size=get("patch_size"),
            channels=get("num_channels"),
        )
    offset = int(config.get("pad_token_id") or 0) + 1 if family == "roberta" else 0
    return EncoderShape(
        **common,
        vocab=get("vocab_size"),
        positions=get("max_position_embeddings"),
        type_vocab=get("type_vocab_size"),
        position_offset=offset,
    )


def weights_digest(path: Path) -> str:
    """What the fine-tuned weights start from: ``config.json`` and the safetensors files."""
    h = hashlib.sha256()
    for file in [path / CONFIG, *_weight_files(path)]:
        h.update(file.name.encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def offline() -> None:
    """No hub: ``transformers`` and ``huggingface_hub`` stay off the network in this process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_weights(path: Path, shape: EncoderShape, field: str) -> dict[str, Any]:
    """The model's weights under the encoder's names (run inside ``seeded``: a classifier
    that the folder lacks is initialised from torch's generator)."""
    offline()
    import transformers
    from transformers.utils import logging as hf_logging

    cls = getattr(transformers, CLASSES[shape.family])
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized" notices: the README explains them
    hf_logging.disable_progress_bar()
    try:
        model = cls.from_pretrained(
            str(path),
            local_files_only=True,
            use_safetensors=True,
            num_labels=shape.classes,
            ignore_mismatched_sizes=True,
        )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        reason = first_line(exc)
        raise EvaluatorError(f"{field}: {path}: cannot load the model ({reason})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    return dict(_renamed(model, shape))


def _attr(obj: Any, *paths: str) -> Any:
    """The first of ``paths`` (dotted attributes) that ``obj`` has: names differ across
    ``transformers`` versions."""
    for path in paths:
        found = obj
        try:
            for part in path.split("."):
                found = found[int(part)] if part.isdigit() else getattr(found, part)
        except (AttributeError, IndexError):
            continue
        return found
    raise EvaluatorError(f"unexpected {type(obj).__name__} layout: none of {', '.join(paths)}")


def _params(prefix: str, module: Any) -> Iterator[tuple[str, Any]]:
    for name, tensor in module.named_parameters(recurse=False):
        yield f"{prefix}.{name}", tensor.detach().clone()


def _renamed(model: Any, shape: EncoderShape) -> Iterator[tuple[str, Any]]:
    if shape.text:
        base = getattr(model, shape.family)
        emb = base.embeddings
        yield from _params("embeddings.word", emb.word_embeddings)
        yield from _params("embeddings.position", emb.position_embeddings)
        yield from _params("embeddings.token_type", emb.token_type_embeddings)
        yield from _params("embeddings.norm", emb.LayerNorm)
        for k, layer in enumerate(base.encoder.layer):
            b = f"layers.{k}"
            for ours, path in (
                ("q", "attention.self.query"),
                ("k", "attention.self.key"),
                ("v", "attention.self.value"),
                ("o", "attention.output.dense"),
                ("norm1", "attention.output.LayerNorm"),
                ("fc1", "intermediate.dense"),
                ("fc2", "output.dense"),
                ("norm2", "output.LayerNorm"),
            ):
                yield from _params(f"{b}.{ours}", _attr(layer, path))
        if shape.family == "roberta":
            yield from _params("pooler", model.classifier.dense)
            yield from _params("classifier", model.classifier.out_proj)
        else:
            yield from _params("pooler", base.pooler.dense)
            yield from _params("classifier", model.classifier)
        return
    vit = model.vit
    emb = vit.embeddings
    yield "embeddings.cls", emb.cls_token.detach().clone()
    yield "embeddings.pos", emb.position_embeddings.detach().clone()
    yield from _params("embeddings.patch", emb.patch_embeddings.projection)
    layers = _attr(vit, "layers", "encoder.layer")
    names: list[tuple[str, tuple[str, ...]]] = [
        ("q", ("attention.q_proj", "attention.attention.query")),
        ("k", ("attention.k_proj", "attention.attention.key")),
        ("v", ("attention.v_proj", "attention.attention.value")),
        ("o", ("attention.o_proj", "attention.output.dense")),
        ("norm1", ("layernorm_before",)),
        ("fc1", ("mlp.fc1", "intermediate.dense")),
        ("fc2", ("mlp.fc2", "output.dense")),
        ("norm2", ("layernorm_after",)),
    ]
    for k, layer in enumerate(layers):
        b = f"layers.{k}"
        for ours, theirs in names:
            yield from _params(f"{b}.{ours}", _attr(layer, *theirs))
    yield from _params("norm", vit.layernorm)
    yield from _params("classifier", model.classifier)
