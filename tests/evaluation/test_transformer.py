"""The ``transformer`` evaluator: a tiny pretrained BERT or ViT built in a temporary folder,
fine-tuned elastically, measured; every bad input is one line naming field and value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402

from nas_search.catalog import load_space  # noqa: E402
from nas_search.errors import EvaluationFailed, EvaluatorError  # noqa: E402
from nas_search.evaluation import build_evaluator  # noqa: E402
from nas_search.evaluation.transformer import TransformerEvaluator  # noqa: E402
from nas_search.supernet.encoder_arch import exact_metrics  # noqa: E402
from tests.supernet.tiny_models import (  # noqa: E402
    sentiment_rows,
    tiny_text_model,
    tiny_vit,
    write_jsonl,
)

PARAMETERS = """
parameters:
  num_layers: {type: integer, low: 1, high: 2}
  num_heads: {type: ordinal, choices: [1, 2, 4], per_layer: num_layers}
  intermediate_size: {type: ordinal, choices: [16, 32, 64], per_layer: num_layers}
"""
FINETUNE = "{epochs: 2, batch_size: 16, lr: 0.003, importance_batches: 2}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("transformer")
    tiny_text_model(root / "bert")
    write_jsonl(root / "train.jsonl", sentiment_rows(120))
    return root


def write_space(folder: Path, evaluator: str, parameters: str = PARAMETERS, name="tiny") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n{parameters}\n"
        "objectives:\n  - {name: accuracy, direction: maximize}\n"
        "  - {name: latency_ms, direction: minimize}\n"
        f"evaluator:\n{evaluator}\n"
        "search: {budget: 6, batch: 3, seed: 0}\n"
    )
    return path


def text_evaluator(data: str = "{source: train.jsonl, max_length: 16}", extra: str = "") -> str:
    return (
        "  type: transformer\n  model: bert\n"
        f"  data: {data}\n  finetune: {FINETUNE}\n"
        "  latency: {sequence_length: 16, max_seconds: 0.2, min_repeats: 3}\n" + extra
    )


def build(folder: Path, evaluator: str, parameters: str = PARAMETERS) -> TransformerEvaluator:
    built = build_evaluator(load_space(str(write_space(folder, evaluator, parameters))))
    assert isinstance(built, TransformerEvaluator)
    return built


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_SEARCH_CACHE", str(tmp_path / "cache"))


def test_measures_accuracy_latency_and_exact_metrics(folder):
    evaluator = build(folder, text_evaluator())
    config = {"num_layers": 2, "num_heads": [2, 1], "intermediate_size": [32, 16]}
    metrics = evaluator.evaluate(config)
    assert 0 <= metrics["accuracy"] <= 100 and metrics["latency_ms"] > 0
    expected = exact_metrics(evaluator.shape, evaluator.subnet(config), 16)
    assert {k: metrics[k] for k in expected} == expected
    assert evaluator.baselines == [
        {"num_layers": 2, "num_heads": [4, 4], "intermediate_size": [64, 64]}
    ]
    assert evaluator.checkpoint_path is not None and evaluator.checkpoint_path.is_file()


def test_finetuning_is_deterministic_for_a_seed(folder, tmp_path):
    evaluator = build(folder, text_evaluator())
    first = evaluator.finetune(tmp_path / "a.pt")
    second = evaluator.finetune(tmp_path / "b.pt")
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert first["history"] == second["history"] and len(first["history"]) == 2


def test_cache_key_follows_weights_data_and_settings_not_threads(folder, tmp_path):
    base = build(folder, text_evaluator()).weights_path()
    same = build(folder, text_evaluator(extra="")).weights_path()
    assert base == same
    threads = text_evaluator().replace(
        "importance_batches: 2}", "importance_batches: 2, threads: 2}"
    )
    assert build(folder, threads).weights_path() == base
    lr = text_evaluator().replace("lr: 0.003", "lr: 0.002")
    assert build(folder, lr).weights_path() != base
    seed = text_evaluator("{source: train.jsonl, max_length: 16, seed: 1}")
    assert build(folder, seed).weights_path() != base
    other = tmp_path / "other"
    other.mkdir()
    tiny_text_model(other / "bert", seed=1)
    (other / "train.jsonl").write_bytes((folder / "train.jsonl").read_bytes())
    assert build(other, text_evaluator()).weights_path() != base


def test_a_vit_on_digits(tmp_path):
    tiny_vit(tmp_path / "vit")
    evaluator = build(
        tmp_path,
        "  type: transformer\n  model: vit\n  data: {source: digits}\n"
        f"  finetune: {FINETUNE}\n  latency: {{max_seconds: 0.2, min_repeats: 3}}\n",
    )
    metrics = evaluator.evaluate({"num_layers": 1, "num_heads": [2], "intermediate_size": [16]})
    assert metrics["accuracy"] > 10  # above chance after two epochs on digits
    assert evaluator.shape.family == "vit"


def test_a_sub_network_beyond_the_model_fails_its_candidate(folder):
    evaluator = build(folder, text_evaluator())
    with pytest.raises(EvaluationFailed, match=r"num_heads\[0\] 9 is outside 1..4"):
        evaluator.exact({"num_layers": 1, "num_heads": [9], "intermediate_size": [16]})


def bad_model(folder: Path, model_type: str, cls: str) -> None:
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"model_type": model_type, "architectures": [cls]})
    )
    (folder / "model.safetensors").write_bytes(b"")


ERRORS = [
    (
        lambda d: None,
        text_evaluator().replace("model: bert", "model: missing"),
        PARAMETERS,
        r"evaluator.model: no such model directory .*missing.* never downloads",
    ),
    (
        lambda d: bad_model(d / "gpt", "gpt2", "GPT2LMHeadModel"),
        text_evaluator().replace("model: bert", "model: gpt"),
        PARAMETERS,
        r"evaluator.model: GPT2LMHeadModel \(model_type 'gpt2'\) is not supported; supported: "
        r"BertForSequenceClassification, RobertaForSequenceClassification, "
        r"ViTForImageClassification",
    ),
    (
        lambda d: None,
        text_evaluator(),
        PARAMETERS.replace("[1, 2, 4]", "[1, 2, 8]"),
        r"parameters.num_heads: 8 exceeds the super-network's maximum "
        r"\(bert/config.json num_attention_heads: 4\)",
    ),
    (
        lambda d: None,
        text_evaluator(),
        PARAMETERS + "  embed_dim: {type: ordinal, choices: [16, 32]}\n",
        r"parameters.embed_dim: the transformer evaluator has no such dimension \(it reads "
        r"num_layers, num_heads, intermediate_size\)",
    ),
    (
        lambda d: None,
        text_evaluator().replace("sequence_length: 16", "sequence_length: 64"),
        PARAMETERS,
        r"evaluator.latency.sequence_length: the model takes at most 40 tokens "
        r"\(max_position_embeddings\), got 64",
    ),
]


@pytest.mark.parametrize(("setup", "evaluator", "parameters", "message"), ERRORS)
def test_bad_models_and_spaces_are_one_line(
    tmp_path, folder, setup, evaluator, parameters, message
):
    target = tmp_path / "case"
    target.mkdir()
    (target / "bert").symlink_to(folder / "bert")
    (target / "train.jsonl").write_bytes((folder / "train.jsonl").read_bytes())
    setup(target)
    with pytest.raises(EvaluatorError, match=message) as info:
        build(target, evaluator, parameters)
    assert "\n" not in str(info.value)


DATA_ERRORS = [
    ('{"text": "good film", "label": 5}\n', r"line 1: label 5 is outside the model's 2 labels"),
    ('{"text": "good film", "label": "yes"}\n', r"line 1: label must be an integer, got 'yes'"),
    ('{"text": "good film"}\n', r"line 1: no column 'label'"),
    ('{"text": 3, "label": 1}\n', r"line 1: column 'text' must be text, got int"),
    ('{"text": "ok", "label": 1}\nnot json\n', r"line 2: not JSON"),
    ("", r"holds no rows"),
]


@pytest.mark.parametrize(("content", "message"), DATA_ERRORS)
def test_bad_task_data_is_one_line(folder, tmp_path, content, message):
    target = tmp_path / "case"
    target.mkdir()
    (target / "bert").symlink_to(folder / "bert")
    good = "".join(json.dumps(r) + "\n" for r in sentiment_rows(20))
    (target / "data.jsonl").write_text(content + good if content else "")
    evaluator = build(target, text_evaluator("{source: data.jsonl, max_length: 16}"))
    with pytest.raises(EvaluatorError, match=r"evaluator.data.source: .*data.jsonl: " + message):
        evaluator.data  # noqa: B018


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.jsonl", r"missing.jsonl: no such file"),
        ("data.txt", r"data.txt: text data must be .csv or .jsonl, got '.txt'"),
    ],
)
def test_a_missing_or_unknown_data_file_is_one_line(folder, tmp_path, source, message):
    target = tmp_path / "case"
    target.mkdir()
    (target / "bert").symlink_to(folder / "bert")
    (target / "data.txt").write_text("good film,1\n")
    evaluator = build(target, text_evaluator(f"{{source: {source}, max_length: 16}}"))
    with pytest.raises(EvaluatorError, match=r"evaluator.data.source: .*" + message):
        evaluator.data  # noqa: B018


def test_text_from_csv_with_named_columns_and_label_names(folder, tmp_path):
    import pandas as pd

    target = tmp_path / "case"
    target.mkdir()
    tiny_text_model(target / "bert", names=["negative", "positive"])
    rows = sentiment_rows(40)
    frame = pd.DataFrame(
        {
            "review": [r["text"] for r in rows],
            "y": ["positive" if r["label"] else "negative" for r in rows],
        }
    )
    frame.to_csv(target / "reviews.csv", index=False)
    evaluator = build(
        target, text_evaluator("{source: reviews.csv, text: review, label: y, max_length: 12}")
    )
    task = evaluator.data
    labels = np.concatenate([task.train.labels, task.validation.labels, task.test.labels])
    assert sorted(labels) == sorted(int(r["label"]) for r in rows)
    assert task.train.inputs["input_ids"].shape[1] == 12


def test_images_of_the_wrong_size_are_one_line(tmp_path):
    tiny_vit(tmp_path / "vit")
    np.savez(tmp_path / "big.npz", x=np.zeros((30, 1, 16, 16), np.float32), y=np.arange(30) % 3)
    evaluator = build(
        tmp_path,
        "  type: transformer\n  model: vit\n  data: {source: big.npz}\n",
    )
    with pytest.raises(EvaluatorError, match=r"images are 1x16x16, the model takes 1x8x8"):
        evaluator.data  # noqa: B018


def test_text_pairs_are_tokenized_as_pairs(folder, tmp_path):
    target = tmp_path / "case"
    target.mkdir()
    (target / "bert").symlink_to(folder / "bert")
    rows = [
        {"premise": r["text"], "hypothesis": "the movie", "label": r["label"]}
        for r in sentiment_rows(30)
    ]
    write_jsonl(target / "pairs.jsonl", rows)
    evaluator = build(
        target,
        text_evaluator(
            "{source: pairs.jsonl, text: premise, text_pair: hypothesis, max_length: 16}"
        ),
    )
    inputs = evaluator.data.train.inputs
    assert (inputs["token_type_ids"] == 1).any(axis=1).all()  # every row has a second segment
    assert evaluator.evaluate({"num_layers": 1, "num_heads": [1], "intermediate_size": [16]})
