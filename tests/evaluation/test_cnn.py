"""The ``cnn`` evaluator on a tiny super-network: real measurements, training on first use,
determinism, the space checked against the super-network, per-block precision genes in
onnxruntime, and the standalone export (torch and ONNX) equal to the sliced forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas_search.catalog import load_space
from nas_search.config import load_space_file
from nas_search.errors import EvaluatorError
from nas_search.evaluation import build_evaluator
from nas_search.supernet.cnn import CNN
from nas_search.supernet.cnn_arch import exact_metrics, subnet_of
from tests.conftest import TINY_CNN

SMALL = {"depth_1": 1, "kernel_size_1": [3], "expand_ratio_1": [2], "depth_2": 1,
         "kernel_size_2": 3, "resolution": 6}  # fmt: skip
LARGE = {"depth_1": 2, "kernel_size_1": [5, 5], "expand_ratio_1": [3, 3], "depth_2": 2,
         "kernel_size_2": 5, "resolution": 8}  # fmt: skip
GENES = """\
  precision_1: {type: categorical, choices: [fp32, int8], per_layer: depth_1}
  precision_2: {type: categorical, choices: [fp32, int8]}
  head_precision: {type: categorical, choices: [fp32, int8]}
objectives:"""
QUANT = TINY_CNN.replace("objectives:", GENES, 1).replace(
    "  latency: {batch_size: 4,", "  latency: {runtime: onnxruntime, batch_size: 4,"
)


def tiny(write_space, text=TINY_CNN, *replacements):
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return build_evaluator(load_space_file(write_space(text, "tiny.yaml")))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One trained tiny super-network for the tests that only read it."""
    folder = tmp_path_factory.mktemp("cnn")
    path = folder / "tiny.yaml"
    path.write_text(TINY_CNN)
    evaluator = build_evaluator(load_space_file(path))
    evaluator.train(folder / "ckpt.pt")
    evaluator.prepare()
    return evaluator


def test_measures_accuracy_latency_and_exact_metrics(trained):
    small, large = trained.evaluate(SMALL), trained.evaluate(LARGE)
    for values in (small, large):
        assert 0 <= values["accuracy"] <= 100
        assert values["latency_ms"] > 0 and values["latency_iqr_ms"] >= 0
    assert large["accuracy"] > 30  # two epochs on digits: far above chance (10%)
    sub = subnet_of(LARGE, trained.shape)
    assert large["macs_m"] == exact_metrics(trained.shape, sub)["macs_m"] > small["macs_m"]
    assert trained.exact(SMALL) == {k: small[k] for k in ("params_m", "macs_m", "size_mb")}
    assert trained.evaluate(SMALL)["accuracy"] == small["accuracy"]  # calibration repeats


def test_calibration_sets_each_subnets_statistics(trained):
    """The statistics are the sub-network's own, whichever was measured before."""
    first = trained.evaluate(SMALL)["accuracy"]
    trained.evaluate(LARGE)
    assert trained.evaluate(SMALL)["accuracy"] == first
    model, sub = trained.model, subnet_of(SMALL, trained.shape)
    trained.spec.calibration.batches = 0
    try:
        running = trained.accuracy_of(model, sub)  # whatever statistics were last written
    finally:
        trained.spec.calibration.batches = 2
    assert 0 <= running <= 100


def test_trains_on_first_use_into_the_cache_and_deterministically(write_space, tmp_path):
    evaluator = tiny(write_space)
    epochs = []
    evaluator.prepare(on_epoch=lambda e, n, loss: epochs.append((e, n)))
    assert epochs == [(0, 2), (1, 2), (2, 2)]
    path = evaluator.checkpoint_path
    assert path is not None and path.parent.name == "supernets"
    again = tiny(write_space)
    again.prepare(on_epoch=lambda *a: pytest.fail("trained again"))
    other = tiny(write_space)
    other.train(tmp_path / "b.pt")
    for a, b in zip(evaluator.model.state_dict().values(), other.model.state_dict().values(),
                    strict=True):  # fmt: skip
        assert torch.equal(a.cpu(), b.cpu())


def test_the_shipped_space_is_listed_with_its_exact_cardinality():
    definition = load_space("cnn")
    per_stage = 9**2 + 9**3 + 9**4  # depth 2-4, kernel x expand (3 x 3) per block
    assert definition.space.cardinality() == 3 * per_stage**3  # 3 resolutions
    evaluator = build_evaluator(definition)
    assert evaluator.shape.kernel_sizes == (7, 5, 3)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "kernel_size_2: {type: ordinal, choices: [3, 5]}",
            "kernel_size_2: {type: ordinal, choices: [3, 7]}",
            r"tiny.yaml: parameters.kernel_size_2: 7 exceeds the super-network's maximum \(5\)",
        ),
        (
            "kernel_size_2: {type: ordinal, choices: [3, 5]}",
            "kernel_size_2: {type: ordinal, choices: [3, 4]}",
            r"parameters.kernel_size_2: 4 is not a kernel the super-network runs \(it runs 5, 3\)",
        ),
        (
            "depth_2: {type: ordinal, choices: [1, 2]}",
            "depth_2: {type: ordinal, choices: [1, 3]}",
            r"parameters.depth_2: 3 exceeds the super-network's maximum \(2\)",
        ),
        (
            "kernel_size_2: {type: ordinal, choices: [3, 5]}",
            "kernel_size_3: {type: ordinal, choices: [3, 5]}",
            r"parameters.kernel_size_3: the super-network has 2 stages, got stage 3",
        ),
        (
            "kernel_size_2: {type: ordinal, choices: [3, 5]}",
            "kernel_size_2: {type: ordinal, choices: [3, 5], per_layer: depth_1}",
            r"parameters.kernel_size_2: per_layer must be 'depth_2' or none, got 'depth_1'",
        ),
        (
            "kernel_size_2: {type: ordinal, choices: [3, 5]}",
            "width: {type: ordinal, choices: [3, 5]}",
            r"parameters.width: the cnn evaluator has no such dimension \(it reads depth_<s>",
        ),
        (
            "stride: 2, se: true",
            "stride: 3, se: true",
            r"evaluator.supernet.stages\[1\].stride: must be less than or equal to 2, got 3",
        ),
        (
            "kernel_size: 5\n",
            "kernel_size: 6\n",
            r"evaluator.supernet.kernel_size: .*must be odd",
        ),
        (
            "train: {epochs: 2}",
            "train: null",
            r"evaluator.checkpoint: accuracy needs a trained super-network",
        ),
    ],
)
def test_space_errors_are_one_line(write_space, old, new, message):
    with pytest.raises(EvaluatorError, match=message) as info:
        tiny(write_space, TINY_CNN, (old, new))
    assert "\n" not in str(info.value)


def test_a_config_beyond_the_supernet_is_a_failed_measurement(trained):
    from nas_search.evaluation import measure

    out = measure(trained, {**LARGE, "kernel_size_2": 7}, ["accuracy"])
    assert out.status == "failed" and "kernel_size_2[0] 7 is not one of 5, 3" in out.error


@pytest.mark.parametrize("config", [LARGE, SMALL], ids=["largest", "resolution-6"])
def test_export_equals_the_sliced_forward(trained, tmp_path, config):
    model = trained.standalone(config)
    sub = subnet_of(config, trained.shape)
    x = torch.from_numpy(trained.splits.x_val[:16])
    with torch.inference_mode():
        expected = trained.model(x, sub)  # 8x8 images, resized by the sub-network
        assert torch.equal(model(x), expected)
    path = tmp_path / "m.pt"
    torch.save(model.export(), path)
    again = CNN.from_export(torch.load(path, weights_only=True))
    with torch.inference_mode():
        assert torch.equal(again(x), expected)
    from nas_search.supernet.onnx_model import Runtime

    images = trained.images(x.numpy(), config)  # ONNX takes them at the sub-network's size
    assert images.shape[-1] == sub.resolution
    onnx = Runtime(trained.onnx_model(config))({"pixel_values": images})
    assert np.abs(onnx - expected.numpy()).max() < 1e-4


@pytest.fixture(scope="module")
def quant(tmp_path_factory, trained):
    folder = tmp_path_factory.mktemp("quant")
    path = folder / "quant.yaml"
    path.write_text(QUANT.replace("train: {epochs: 2}", f"checkpoint: {trained.checkpoint_path}"))
    evaluator = build_evaluator(load_space_file(path))
    evaluator.prepare()
    return evaluator


def test_precision_genes_quantize_their_blocks_in_onnxruntime(quant, trained):
    from nas_search.supernet.onnx_model import weight_bytes

    fp32 = {**LARGE, "precision_1": ["fp32", "fp32"], "precision_2": "fp32",
            "head_precision": "fp32"}  # fmt: skip
    mixed = {**fp32, "precision_1": ["int8", "fp32"], "head_precision": "int8"}
    assert quant.int8_layers(mixed) == [
        "stages.0.0.expand.conv", "stages.0.0.dw.conv", "stages.0.0.project.conv",
        "final.conv", "classifier",
    ]  # fmt: skip
    model = quant.onnx_model(mixed)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("ConvInteger") == 4  # the block's three and the final convolution
    assert round(quant.exact(mixed)["size_mb"] * 1e6) == weight_bytes(model)
    assert quant.exact(mixed)["size_mb"] < quant.exact(fp32)["size_mb"]
    measured, reference = quant.evaluate(fp32), trained.evaluate(LARGE)
    assert measured["accuracy"] == pytest.approx(reference["accuracy"], abs=1.0)
    assert measured["latency_ms"] > 0


def test_int8_needs_onnxruntime(write_space):
    with pytest.raises(EvaluatorError, match=r"precision_1: int8 runs in onnxruntime only"):
        tiny(write_space, QUANT, ("runtime: onnxruntime, ", ""))
