"""The contract every registered evaluator keeps (Optuna-style: a new ``type`` is tested by
adding a sample space for it here; the suite fails for an entry without one)."""

from __future__ import annotations

import json
import math

import pytest
from jsonschema import validate as schema_validate

from nas_search.catalog import load_space
from nas_search.config import load_space_file
from nas_search.evaluation import (
    Evaluator,
    build_evaluator,
    evaluator_schemas,
    list_evaluators,
    measure,
    runs_user_code,
)
from tests.conftest import TINY_CNN, TINY_VIT, TOY

COMMAND = """
import json, sys
c = json.load(sys.stdin)["config"]
print(json.dumps({"score": c["embed"] / 8, "cost": len(c["heads"]),
                  "params_k": c["embed"] * sum(c["heads"]) / 4.0}))
"""
TOY_CONFIG = {"depth": 2, "embed": 24, "act": "relu", "heads": [2, 4], "patch": 4}


def _python(write_space, tmp_path):
    return load_space_file(write_space()), TOY_CONFIG


def _command(write_space, tmp_path):
    (tmp_path / "board.py").write_text(COMMAND)
    text = TOY.replace(
        "  type: python\n  function: spacelib.py:evaluate\n",
        "  type: command\n  argv: ['{python}', board.py]\n",
    )
    return load_space_file(write_space(text)), TOY_CONFIG


def _table(write_space, tmp_path):
    config = {f"op{k}": "nor_conv_3x3" for k in range(6)}
    return load_space("nb201"), config


def _vit(write_space, tmp_path):
    config = {"embed_dim": 8, "depth": 1, "num_heads": [1], "mlp_ratio": [1]}
    return load_space_file(write_space(TINY_VIT, "tiny.yaml")), config


def _cnn(write_space, tmp_path):
    config = {"depth_1": 1, "kernel_size_1": [3], "expand_ratio_1": [2], "depth_2": 1,
              "kernel_size_2": 3, "resolution": 6}  # fmt: skip
    return load_space_file(write_space(TINY_CNN, "tinycnn.yaml")), config


def _transformer(write_space, tmp_path):
    from tests.supernet.tiny_models import sentiment_rows, tiny_text_model, write_jsonl

    tiny_text_model(tmp_path / "bert")
    write_jsonl(tmp_path / "train.jsonl", sentiment_rows(60))
    text = """
    name: tinybert
    parameters:
      num_layers: {type: integer, low: 1, high: 2}
      num_heads: {type: ordinal, choices: [1, 4], per_layer: num_layers}
      intermediate_size: {type: ordinal, choices: [16, 64], per_layer: num_layers}
    objectives:
      - {name: accuracy, direction: maximize}
      - {name: latency_ms, direction: minimize}
    evaluator:
      type: transformer
      model: bert
      data: {source: train.jsonl, max_length: 12}
      finetune: {epochs: 1, batch_size: 16, importance_batches: 1}
      latency: {sequence_length: 12, max_seconds: 0.1, min_repeats: 3}
    """
    config = {"num_layers": 1, "num_heads": [1], "intermediate_size": [16]}
    return load_space_file(write_space(text, "tinybert.yaml")), config


SAMPLES = {
    "python": _python,
    "command": _command,
    "table": _table,
    "vit": _vit,
    "cnn": _cnn,
    "transformer": _transformer,
}


@pytest.mark.parametrize("kind", sorted(list_evaluators()))
def test_every_evaluator_keeps_the_contract(write_space, tmp_path, kind):
    assert kind in SAMPLES, f"add a sample space for evaluator type {kind!r} to this suite"
    definition, config = SAMPLES[kind](write_space, tmp_path)
    section = definition.file.evaluator
    assert section is not None and section.type == kind
    schema_validate(section.model_dump(exclude_none=True), evaluator_schemas()[kind])
    evaluator = build_evaluator(definition)
    assert isinstance(evaluator, Evaluator)
    assert evaluator.runs_user_code == (kind == "python")
    assert runs_user_code(definition) == (kind in ("python", "command"))
    objectives = [o.name for o in definition.objectives]
    assert set(objectives) <= set(evaluator.metrics) | set(evaluator.exact_metrics)
    try:
        evaluator.prepare()
        evaluator.load()
        measurement = measure(evaluator, config, objectives)
        assert measurement.ok, measurement.error
        assert all(math.isfinite(measurement.metrics[name]) for name in objectives)
        json.dumps(measurement.metrics)  # journalable
        exact = evaluator.exact(config)
        assert set(exact) == set(evaluator.exact_metrics)
        for name, value in exact.items():  # computed exactly: what a measurement reports
            if name in measurement.metrics:
                assert value == pytest.approx(measurement.metrics[name])
    finally:
        evaluator.close()
    evaluator.close()  # closing twice is harmless
