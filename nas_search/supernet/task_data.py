"""A fine-tuning task's data: labelled text (CSV or JSONL, tokenized with the model's own
tokenizer) or images (``.npz``), split once by seed into train / validation / test.

Inputs are named as the model takes them (``input_ids``, ``attention_mask``,
``token_type_ids``; ``pixel_values``), so one training loop and one accuracy function serve
both modalities. Every problem is one line naming the field, the file and the row.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nas_search.csvfile import read_csv, read_text
from nas_search.errors import EvaluatorError, first_line
from nas_search.supernet.data import load_splits, split_indices


@dataclass(frozen=True)
class Part:
    """One split: named input arrays (first axis: samples) and int64 labels."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows: np.ndarray | slice) -> Part:
        return Part({k: v[rows] for k, v in self.inputs.items()}, self.labels[rows])


@dataclass(frozen=True)
class TaskData:
    train: Part
    validation: Part
    test: Part
    digest: str


@dataclass(frozen=True)
class TextColumns:
    text: str = "text"
    text_pair: str | None = None
    label: str = "label"


def _rows(
    path: Path, columns: TextColumns, field: str
) -> tuple[list[Any], list[Any] | None, list[Any], list[int]]:
    """The text, pair and label columns of a CSV or JSONL file, with each row's line number."""
    label = f"{field}: {path}"
    wanted = [c for c in (columns.text, columns.text_pair, columns.label) if c is not None]
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        records, lines = [], []
        for number, line in enumerate(read_text(path, label, EvaluatorError).splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvaluatorError(f"{label}: line {number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise EvaluatorError(f"{label}: line {number}: must be a JSON object")
            records.append(record)
            lines.append(number)
    elif path.suffix.lower() in (".csv", ".gz"):
        frame = read_csv(path, label, EvaluatorError)
        records = frame.to_dict("records")
        lines = list(range(2, len(frame) + 2))
    else:
        raise EvaluatorError(f"{label}: text data must be .csv or .jsonl, got {path.suffix!r}")
    if not records:
        raise EvaluatorError(f"{label}: holds no rows")
    for record, number in zip(records, lines, strict=True):
        for column in wanted:
            if column not in record:
                raise EvaluatorError(f"{label}: line {number}: no column {column!r}")
    texts = [record[columns.text] for record in records]
    pairs = [record[columns.text_pair] for record in records] if columns.text_pair else None
    for name, values in ((columns.text, texts), (columns.text_pair, pairs)):
        if values is None:
            continue
        for value, number in zip(values, lines, strict=True):
            if not isinstance(value, str):
                raise EvaluatorError(
                    f"{label}: line {number}: column {name!r} must be text, got "
                    f"{type(value).__name__}"
                )
    return texts, pairs, [record[columns.label] for record in records], lines


def _labels(
    raw: list[Any], lines: list[int], classes: int, names: Mapping[str, int], label: str
) -> np.ndarray:
    """Labels as int64: integers ``0..classes-1``, or names the model's ``label2id`` knows."""
    out = []
    for value, number in zip(raw, lines, strict=True):
        at = f"{label}: line {number}: label"
        if isinstance(value, str) and value in names:
            value = names[value]
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            known = f" or one of {sorted(names)}" if names else ""
            raise EvaluatorError(f"{at} must be an integer{known}, got {str(value)[:40]!r}")
        if not 0 <= value < classes:
            raise EvaluatorError(
                f"{at} {value} is outside the model's {classes} labels (num_labels {classes}: "
                f"0..{classes - 1})"
            )
        out.append(int(value))
    return np.array(out, dtype=np.int64)


def _digest(arrays: list[np.ndarray], extra: str) -> str:
    h = hashlib.sha256()
    for array in arrays:
        h.update(f"{array.dtype}{array.shape}".encode())
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def _split(
    inputs: dict[str, np.ndarray],
    y: np.ndarray,
    seed: int,
    validation: float,
    test: float,
    field: str,
    digest: str,
) -> TaskData:
    whole = Part(inputs, y)
    train, val, held_out = split_indices(
        y, seed=seed, validation=validation, test=test, field=field
    )
    return TaskData(whole.take(train), whole.take(val), whole.take(held_out), digest)


def load_text(
    source: Path,
    tokenizer_dir: Path,
    *,
    columns: TextColumns,
    max_length: int,
    classes: int,
    label_names: Mapping[str, int],
    seed: int,
    validation: float,
    test: float,
    field: str,
) -> TaskData:
    """Labelled text, tokenized with the tokenizer saved in ``tokenizer_dir`` (padded and
    truncated to ``max_length`` tokens), split by ``seed``."""
    from nas_search.supernet.pretrained import offline

    texts, pairs, raw, lines = _rows(source, columns, field)
    y = _labels(raw, lines, classes, label_names, f"{field}: {source}")
    offline()
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    except (OSError, ValueError, TypeError) as exc:
        reason = first_line(exc)
        raise EvaluatorError(f"{field}: {tokenizer_dir}: no usable tokenizer ({reason})") from None
    encoded = tokenizer(
        texts,
        pairs,
        padding="max_length",
        truncation=True,
        max_length=max_length,
        return_tensors="np",
    )
    inputs = {
        "input_ids": np.asarray(encoded["input_ids"], dtype=np.int64),
        "attention_mask": np.asarray(encoded["attention_mask"], dtype=np.int64),
    }
    types = encoded.get("token_type_ids")
    inputs["token_type_ids"] = (
        np.zeros_like(inputs["input_ids"]) if types is None else np.asarray(types, np.int64)
    )
    digest = _digest([*inputs.values(), y], f"{seed}/{validation}/{test}")
    return _split(inputs, y, seed, validation, test, field, digest)


def load_images(
    source: str, base_dir: Path, *, seed: int, validation: float, test: float, field: str
) -> TaskData:
    """Images of an ``.npz`` (``x``, ``y``) or scikit-learn's digits, as ``pixel_values``
    standardized per channel with the training split's statistics."""
    splits = load_splits(source, base_dir, seed=seed, validation=validation, test=test, field=field)
    return TaskData(
        Part({"pixel_values": splits.x_train}, splits.y_train),
        Part({"pixel_values": splits.x_val}, splits.y_val),
        Part({"pixel_values": splits.x_test}, splits.y_test),
        splits.digest,
    )


def batches(count: int, batch_size: int) -> list[slice]:
    """Consecutive slices of ``batch_size`` rows covering ``count`` rows."""
    steps = math.ceil(count / batch_size)
    return [slice(k * batch_size, (k + 1) * batch_size) for k in range(steps)]
