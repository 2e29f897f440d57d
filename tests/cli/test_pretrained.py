"""Your own pretrained model, end to end: ``supernet finetune`` -> ``run`` -> ``pareto
--export`` -> ``export``, on a tiny BERT and a tiny ViT built in a temporary folder. The ONNX
file runs in onnxruntime in a process that cannot import nas-search, and equals the sliced
forward pass; the safetensors export loads into the standalone encoder and equals it too."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

import torch  # noqa: E402

from nas_search.catalog import load_space  # noqa: E402
from nas_search.evaluation import build_evaluator  # noqa: E402
from nas_search.supernet.encoder import Encoder  # noqa: E402
from tests.supernet.tiny_models import (  # noqa: E402
    sentiment_rows,
    tiny_text_model,
    tiny_vit,
    write_jsonl,
)

SPACE = """\
name: {name}
parameters:
  num_layers: {{type: integer, low: 1, high: 2}}
  num_heads: {{type: ordinal, choices: [1, 2, 4], per_layer: num_layers}}
  intermediate_size: {{type: ordinal, choices: [16, 32, 64], per_layer: num_layers}}
objectives:
  - {{name: accuracy, direction: maximize}}
  - {{name: latency_ms, direction: minimize}}
evaluator:
  type: transformer
  model: {model}
  data: {data}
  finetune: {{epochs: {epochs}, batch_size: 16, lr: 0.003, importance_batches: 2}}
  latency: {{sequence_length: 16, max_seconds: 0.2, min_repeats: 3}}
search: {{budget: 6, batch: 3, seed: 0}}
"""

ONNX_CHECK = """
import sys, json
sys.modules["nas_search"] = None  # the export must run without nas-search
import numpy as np, onnxruntime as ort
inputs = dict(np.load(sys.argv[2]))
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
logits = session.run(["logits"], {i.name: inputs[i.name] for i in session.get_inputs()})[0]
np.save(sys.argv[3], logits)
"""

CASES = {
    "bert": ("bert", "{source: train.jsonl, max_length: 16}", 12),
    "vit": ("vit", "{source: digits}", 3),
}


@pytest.mark.slow
@pytest.mark.parametrize("family", list(CASES))
def test_finetune_run_export(cli, tmp_path, family):
    model, data, epochs = CASES[family]
    if family == "vit":
        tiny_vit(tmp_path / model)
    else:
        tiny_text_model(tmp_path / model)
        write_jsonl(tmp_path / "train.jsonl", sentiment_rows(300))
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(name=f"tiny-{family}", model=model, data=data, epochs=epochs))

    tuned = cli("supernet", "finetune", "--space", space, "-q")
    assert tuned.exit_code == 0, tuned.output
    assert "(full model)" in tuned.stdout and "Checkpoint:" in tuned.stdout
    assert len(list((tmp_path / "cache" / "supernets").glob(f"tiny-{family}-*.pt"))) == 1

    run = cli("run", "--space", space, "--out", tmp_path / "r", "-q")
    assert run.exit_code == 0, run.output
    assert "Fine-tuning" not in run.output  # the cached weights are used as they are
    frame = pd.read_csv(tmp_path / "r" / "results.csv")
    assert len(frame) == 6 and (frame["status"] == "ok").all()
    first = frame.iloc[0]  # the full fine-tuned model, measured as the baseline
    assert (first["num_layers"], first["num_heads"]) == (2, "[4, 4]")
    if family == "bert":
        assert first["accuracy"] > 80  # the task is learnable: the pipeline learned it

    front = cli("pareto", tmp_path / "r", "--export", tmp_path / "r" / "front")
    assert front.exit_code == 0, front.output
    candidate = sorted((tmp_path / "r" / "front").glob("*.json"))[0]
    out = tmp_path / "subnet"
    exported = cli("export", candidate, "--out", out)
    assert exported.exit_code == 0, exported.output
    assert "onnxruntime matches torch" in exported.stdout
    names = {p.name for p in out.iterdir()}
    assert {"model.onnx", "model.safetensors", "config.json", "candidate.json"} <= names
    if family == "bert":
        assert {"vocab.txt", "tokenizer_config.json"} <= names

    # the measured candidate's sliced forward pass, on validation inputs of another batch size
    evaluator = build_evaluator(load_space(str(space)))
    config = json.loads(candidate.read_text())["config"]
    sub = evaluator.subnet(config)
    part = evaluator.data.validation
    inputs = {k: torch.from_numpy(v[:5]) for k, v in part.inputs.items()}
    with torch.no_grad():
        sliced = evaluator.model(inputs, sub).numpy()
        standalone = Encoder.load(out)(**inputs).numpy()
    np.testing.assert_allclose(standalone, sliced, rtol=1e-5, atol=1e-5)
    np.savez(tmp_path / "inputs.npz", **{k: v.numpy() for k, v in inputs.items()})
    subprocess.run(
        [
            sys.executable,
            "-c",
            ONNX_CHECK,
            out / "model.onnx",
            tmp_path / "inputs.npz",
            tmp_path / "onnx.npy",
        ],
        check=True,
        cwd=tmp_path,
    )
    np.testing.assert_allclose(np.load(tmp_path / "onnx.npy"), sliced, rtol=1e-4, atol=1e-5)


def test_finetune_refuses_a_space_without_a_pretrained_model(cli, write_space):
    from tests.conftest import TINY_VIT

    result = cli("supernet", "finetune", "--space", write_space(TINY_VIT, "tiny.yaml"))
    assert result.exit_code != 0
    assert (
        "evaluator.type: needs 'transformer', got 'vit' (nas-search supernet train is for it)"
        in (result.output)
    )
    assert "Traceback" not in result.output
