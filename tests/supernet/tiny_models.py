"""Tiny Hugging Face models and tasks, built in a folder (no hub, no download)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

POSITIVE = "good great fine superb lovely".split()
NEGATIVE = "bad awful poor dull boring".split()
NEUTRAL = "the a movie film plot actor was is very it".split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _seeded(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def tiny_text_model(
    folder: Path,
    family: str = "bert",
    labels: int = 2,
    seed: int = 0,
    layers: int = 2,
    heads: int = 4,
    hidden: int = 32,
    intermediate: int = 64,
    names: list[str] | None = None,
) -> Path:
    """A randomly initialised BERT (or RoBERTa) sequence classifier with its tokenizer."""
    import transformers
    from transformers import BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    words = SPECIAL + POSITIVE + NEGATIVE + NEUTRAL
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    common = dict(
        vocab_size=len(words),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        num_labels=labels,
        max_position_embeddings=40,
    )
    if names is not None:
        common["id2label"] = dict(enumerate(names))
    _seeded(seed)
    if family == "roberta":
        config = transformers.RobertaConfig(**common, pad_token_id=0, type_vocab_size=1)
        model = transformers.RobertaForSequenceClassification(config)
    else:
        model = transformers.BertForSequenceClassification(transformers.BertConfig(**common))
    model.save_pretrained(folder)
    BertTokenizer(vocab=str(folder / "vocab.txt")).save_pretrained(folder)
    return folder


def tiny_vit(folder: Path, labels: int = 10, seed: int = 0) -> Path:
    """A randomly initialised ViT for 8x8 grey images (scikit-learn's digits)."""
    import transformers

    _seeded(seed)
    config = transformers.ViTConfig(
        image_size=8,
        patch_size=2,
        num_channels=1,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=labels,
    )
    transformers.ViTForImageClassification(config).save_pretrained(folder)
    return folder


def sentiment_rows(n: int, seed: int = 0) -> list[dict[str, object]]:
    """Short sentences labelled 1 where positive words outnumber negative ones."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = int(rng.integers(2))
        strong, weak = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        words = list(rng.choice(strong, 2)) + list(rng.choice(weak, 1))
        words += list(rng.choice(NEUTRAL, int(rng.integers(1, 5))))
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    return rows


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
