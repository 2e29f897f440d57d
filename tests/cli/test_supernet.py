"""``supernet train``, ``run`` on a vit space (training on first use, then the cache),
``export`` and ``validate`` against the super-network's maxima, on a tiny super-network."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from nas_search.catalog import load_space
from nas_search.config import load_space_file
from nas_search.evaluation import build_evaluator
from nas_search.supernet.vit import ViT
from tests.conftest import TINY_CNN, TINY_VIT


@pytest.fixture
def tiny_space(write_space):
    return write_space(TINY_VIT, "tiny.yaml")


def test_train_writes_the_cache_that_run_then_uses(cli, tiny_space, tmp_path):
    result = cli("supernet", "train", "--space", tiny_space, "-q")
    assert result.exit_code == 0, result.output
    assert "validation accuracy" in result.stdout and "(largest)" in result.stdout
    checkpoints = list((tmp_path / "cache" / "supernets").glob("tinyvit-*.pt"))
    assert len(checkpoints) == 1
    again = cli("supernet", "train", "--space", tiny_space, "-q")
    assert again.exit_code == 0 and "exists; --force trains again" in again.stdout
    run = cli("run", "--space", tiny_space, "--out", tmp_path / "r")
    assert run.exit_code == 0, run.output
    assert "Training" not in run.output  # the cached super-network is used as is
    frame = pd.read_csv(tmp_path / "r" / "results.csv")
    assert len(frame) == 8 and (frame["status"] == "ok").all()
    for column in (
        "accuracy",
        "latency_ms",
        "latency_iqr_ms",
        "latency_unstable",
        "threads",
        "params_m",
        "macs_m",
        "size_mb",
    ):
        assert frame[column].notna().all(), column


def test_run_trains_on_first_use(cli, tiny_space, tmp_path):
    result = cli("run", "--space", tiny_space, "--out", tmp_path / "r", "--budget", 4)
    assert result.exit_code == 0, result.output
    assert "Training the tinyvit super-network (first use" in result.output
    assert list((tmp_path / "cache" / "supernets").glob("tinyvit-*.pt"))


def test_export_equals_the_supernet_forward(cli, tiny_space, tmp_path):
    assert cli("run", "--space", tiny_space, "--out", tmp_path / "r", "-q").exit_code == 0
    exported = cli("pareto", tmp_path / "r", "--export", tmp_path / "front")
    assert exported.exit_code == 0, exported.output
    candidate = sorted((tmp_path / "front").glob("*.json"))[0]
    result = cli("export", candidate, "--out", tmp_path / "subnet.pt", "--space", tiny_space)
    assert result.exit_code == 0, result.output
    payload = torch.load(tmp_path / "subnet.pt", weights_only=True)
    model = ViT.from_export(payload)
    evaluator = build_evaluator(load_space_file(tiny_space))
    config = json.loads(candidate.read_text())["config"]
    x = torch.randn(6, 1, 8, 8)
    with torch.inference_mode():
        torch.testing.assert_close(model(x), evaluator.model(x, evaluator.subnet(config)))
    assert payload["candidate"]["config"] == config
    assert sum(p.numel() for p in model.parameters()) == round(
        evaluator.exact(config)["params_m"] * 1e6
    )


def test_export_before_training_says_how(cli, tiny_space, tmp_path):
    candidate = tmp_path / "c.json"
    candidate.write_text(
        json.dumps(
            {
                "space": "tinyvit",
                "config": {"embed_dim": 8, "depth": 1, "num_heads": [1], "mlp_ratio": [1]},
            }
        )
    )
    result = cli("export", candidate, "--out", tmp_path / "s.pt", "--space", tiny_space)
    assert result.exit_code == 2
    assert (
        "evaluator.checkpoint: no trained super-network yet (nas-search supernet train --space"
        in result.output
    )


def test_validate_rejects_values_beyond_the_supernet(cli, tiny_space, tmp_path):
    candidate = tmp_path / "c.json"
    config = {"embed_dim": 32, "depth": 3, "num_heads": [1, 1, 1], "mlp_ratio": [1, 1, 1]}
    candidate.write_text(json.dumps({"space": "tinyvit", "config": config}))
    result = cli("validate", candidate, "--no-measure", "--space", tiny_space)
    assert result.exit_code == 1
    assert "embed_dim: must be one of 8, 16, got 32" in result.stdout
    assert "depth: must be an integer from 1 to 2, got 3" in result.stdout
    wide = tiny_space.read_text().replace("choices: [8, 16]", "choices: [8, 16, 32]")
    tiny_space.write_text(wide)
    result = cli("validate", candidate, "--no-measure", "--space", tiny_space)
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "parameters.embed_dim: 32 exceeds the super-network's maximum "
        "(evaluator.supernet.embed_dim: 16)"
    )


def test_supernet_train_needs_a_vit_space(cli):
    result = cli("supernet", "train", "--space", "nb201")
    assert result.exit_code == 2
    assert (
        "evaluator.type: needs 'vit' or 'cnn', got 'table' (it has no super-network)"
        in result.output
    )


def test_shipped_vit_spaces_fit_their_supernets():
    for name in ("vit", "autoformer-tiny"):
        definition = load_space(name)
        build_evaluator(definition)  # checks every value against the maxima
    assert load_space("vit").space.cardinality() == 4 * (16 + 16**2 + 16**3 + 16**4)


def test_the_cnn_family_trains_runs_and_exports(cli, write_space, tmp_path):
    """The same commands on the cnn evaluator: train into the cache, run on it, export a
    front member to torch (equal to the calibrated sliced forward) and to ONNX."""
    from nas_search.supernet.cnn import CNN
    from nas_search.supernet.onnx_model import Runtime

    space = write_space(TINY_CNN, "tinycnn.yaml")
    trained = cli("supernet", "train", "--space", space, "-q")
    assert trained.exit_code == 0, trained.output
    assert list((tmp_path / "cache" / "supernets").glob("tinycnn-*.pt"))
    run = cli("run", "--space", space, "--out", tmp_path / "r", "-q")
    assert run.exit_code == 0, run.output
    frame = pd.read_csv(tmp_path / "r" / "results.csv")
    assert len(frame) == 8 and (frame["status"] == "ok").all()
    assert cli("pareto", tmp_path / "r", "--export", tmp_path / "front").exit_code == 0
    candidate = sorted((tmp_path / "front").glob("*.json"))[0]
    config = json.loads(candidate.read_text())["config"]
    result = cli("export", candidate, "--out", tmp_path / "subnet.pt", "--space", tmp_path / "r")
    assert result.exit_code == 0, result.output
    model = CNN.from_export(torch.load(tmp_path / "subnet.pt", weights_only=True))
    evaluator = build_evaluator(load_space_file(space))
    x = torch.from_numpy(evaluator.splits.x_val)
    measured = frame.loc[frame["hash"] == json.loads(candidate.read_text())["hash"], "accuracy"]
    with torch.inference_mode():
        accuracy = 100.0 * float((model(x).argmax(1).numpy() == evaluator.splits.y_val).mean())
    assert accuracy == pytest.approx(measured.iloc[0])  # the calibrated statistics went along
    result = cli("export", candidate, "--out", tmp_path / "subnet.onnx", "--space", space)
    assert result.exit_code == 0, result.output
    # the ONNX model takes images at the candidate's resolution
    images = evaluator.images(x.numpy()[:16], config)
    onnx = Runtime((tmp_path / "subnet.onnx").read_bytes())({"pixel_values": images})
    with torch.inference_mode():
        torch.testing.assert_close(torch.from_numpy(onnx), model(x[:16]), atol=1e-4, rtol=1e-4)
    assert config == json.loads(candidate.read_text())["config"]
