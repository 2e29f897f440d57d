"""Precision genes (SimQ-NAS) on a tiny vit super-network: inactive with their layer, a policy
quantizes exactly its layers in the ONNX graph and leaves the others bit-identical, the size
formula equals the written file's weights, onnxruntime latency has torch's statistics, and a
precision the backend cannot apply is one line."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from onnx import numpy_helper  # noqa: E402

from nas_search.catalog import load_space  # noqa: E402
from nas_search.config import load_space_file  # noqa: E402
from nas_search.encoding import vector_hash  # noqa: E402
from nas_search.errors import EvaluatorError  # noqa: E402
from nas_search.evaluation import build_evaluator  # noqa: E402
from nas_search.supernet.onnx_model import linear_nodes, weight_bytes  # noqa: E402
from tests.conftest import TINY_VIT  # noqa: E402

GENES = """\
  attention_precision: {type: categorical, choices: [fp32, int8], per_layer: depth}
  mlp_precision: {type: categorical, choices: [fp32, int8], per_layer: depth}
  head_precision: {type: categorical, choices: [fp32, int8]}
objectives:"""
QUANT = TINY_VIT.replace("objectives:", GENES, 1).replace(
    "  latency: {batch_size: 4,", "  latency: {runtime: onnxruntime, batch_size: 4,"
)
ARCH = {"embed_dim": 16, "depth": 2, "num_heads": [2, 1], "mlp_ratio": [2, 1]}


@pytest.fixture
def quant(write_space):
    definition = load_space_file(write_space(QUANT, "quant.yaml"))
    return definition, build_evaluator(definition)


def test_genes_are_inactive_with_their_layer(quant):
    definition, _ = quant
    space = definition.space
    # slots: embed, depth, heads x2, ratios x2, attention x2, mlp x2, head
    a = np.array([[1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]])  # depth index 0: one block
    b = np.array([[1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0]])  # differs in block 2's genes only
    assert np.array_equal(space.canonical(a), space.canonical(b))
    assert vector_hash(space, a[0]) == vector_hash(space, b[0])
    a[0, 1] = b[0, 1] = 1  # two blocks: block 2's genes count
    assert vector_hash(space, a[0]) != vector_hash(space, b[0])
    assert space.decode(space.canonical(b)[0])["attention_precision"] == ["int8", "int8"]
    # per block: 2 heads x 2 ratios x 2 x 2 precisions = 16 (one block: 16, two: 256),
    # times 2 embedding widths and 2 head precisions; inactive blocks counted once
    assert space.cardinality() == len(space.enumerate()) == 2 * 2 * (16 + 16**2)


def policy(attention, mlp, head):
    return {**ARCH, "attention_precision": attention, "mlp_precision": mlp, "head_precision": head}


def initializers(model):
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def test_a_policy_quantizes_exactly_its_layers_and_leaves_the_rest_bit_identical(quant):
    _, evaluator = quant
    evaluator.prepare()
    fp32 = evaluator.onnx_model(policy(["fp32", "fp32"], ["fp32", "fp32"], "fp32"))
    mixed = evaluator.onnx_model(policy(["int8", "fp32"], ["fp32", "int8"], "int8"))
    wanted = {
        "blocks.0.q",
        "blocks.0.k",
        "blocks.0.v",
        "blocks.0.proj",
        "blocks.1.fc1",
        "blocks.1.fc2",
        "head",
    }
    assert set(evaluator.int8_layers(policy(["int8", "fp32"], ["fp32", "int8"], "int8"))) == wanted
    before = linear_nodes(fp32)
    assert {name[len("body.") :] for name in before} == wanted | {
        "blocks.0.fc1",
        "blocks.0.fc2",
        "blocks.1.q",
        "blocks.1.k",
        "blocks.1.v",
        "blocks.1.proj",
        "patch",  # the patch embedding's convolution: found, never quantized here
    }
    nodes = {n.name: n for n in mixed.graph.node}
    for layer, node in before.items():
        quantized = f"{node}_quant" in nodes
        assert quantized == (layer[len("body.") :] in wanted), layer
        if not quantized:
            assert nodes[node].op_type == ("Conv" if layer == "body.patch" else "MatMul")
    assert sum(n.op_type == "MatMulInteger" for n in mixed.graph.node) == len(wanted)
    old, new = initializers(fp32), initializers(mixed)
    kept = [name for name in old if name in new]
    assert len(kept) >= len(old) - len(wanted)  # only the int8 layers' weights were replaced
    for name in kept:
        assert old[name].dtype == new[name].dtype and np.array_equal(old[name], new[name]), name


@pytest.mark.parametrize(
    "config",
    [
        policy(["fp32", "fp32"], ["fp32", "fp32"], "fp32"),
        policy(["int8", "fp32"], ["fp32", "int8"], "int8"),
        policy(["int8", "int8"], ["int8", "int8"], "int8"),
    ],
)
def test_size_formula_equals_the_written_file(quant, tmp_path, config):
    _, evaluator = quant
    evaluator.prepare()
    model = evaluator.onnx_model(config)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    size = evaluator.exact(config)["size_mb"]
    assert round(size * 1e6) == weight_bytes(model)
    assert 0 < path.stat().st_size - weight_bytes(model) < 64_000  # the graph itself


def test_onnxruntime_measures_accuracy_and_latency_like_torch(quant, write_space):
    _, evaluator = quant
    config = policy(["int8", "int8"], ["int8", "int8"], "int8")
    metrics = evaluator.evaluate(config)
    torch_evaluator = build_evaluator(load_space_file(write_space(TINY_VIT, "tiny.yaml")))
    reference = torch_evaluator.evaluate(ARCH)
    assert set(reference) <= set(metrics)
    assert metrics["latency_ms"] > 0 and metrics["latency_iqr_ms"] >= 0
    assert metrics["latency_unstable"] in (0.0, 1.0)
    fp32 = evaluator.evaluate(policy(["fp32"] * 2, ["fp32"] * 2, "fp32"))
    assert fp32["accuracy"] == pytest.approx(reference["accuracy"], abs=1.0)  # same weights
    assert metrics["size_mb"] < fp32["size_mb"] == pytest.approx(reference["size_mb"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.replace(
                "choices: [fp32, int8], per_layer: depth}\n  mlp",
                "choices: [fp32, int4], per_layer: depth}\n  mlp",
            ),
            r"parameters.attention_precision: 'int4' is not a precision onnxruntime's quantizer "
            r"can apply \(it does fp32, int8\)",
        ),
        (
            lambda t: t.replace("runtime: onnxruntime, ", ""),
            r"parameters.attention_precision: int8 runs in onnxruntime only: set "
            r"evaluator.latency.runtime: onnxruntime, got 'torch'",
        ),
        (
            lambda t: t.replace("runtime: onnxruntime, ", "runtime: onnxruntime, device: cuda, "),
            r"evaluator.latency.device: onnxruntime measures on the cpu here, got 'cuda'",
        ),
        (
            lambda t: t.replace(
                "head_precision: {type: categorical, choices: [fp32, int8]}",
                "head_precision: {type: categorical, choices: [fp32, int8], per_layer: depth}",
            ),
            r"parameters.head_precision: one gene for the classifier: no per_layer, got 'depth'",
        ),
    ],
)
def test_a_precision_the_backend_cannot_apply_is_one_line(write_space, change, message):
    definition = load_space_file(write_space(change(QUANT), "bad.yaml"))
    with pytest.raises(EvaluatorError, match=message) as info:
        build_evaluator(definition)
    assert "\n" not in str(info.value)


def test_the_shipped_space_builds_on_the_defaults_weights():
    evaluator = build_evaluator(load_space("vit-quant"))
    assert evaluator.spec.latency.runtime == "onnxruntime"
    # one training serves both: the cache key (the file's name ends with it) is the default's
    default = build_evaluator(load_space("vit")).weights_path()
    assert evaluator.weights_path().name.split("-")[-1] == default.name.split("-")[-1]
    assert [o.name for o in load_space("vit-quant").objectives] == [
        "accuracy",
        "latency_ms",
        "size_mb",
    ]


@pytest.mark.slow
def test_export_writes_the_measured_quantized_model(cli, write_space, tmp_path):
    space = write_space(QUANT, "quant.yaml")
    assert cli("run", "--space", space, "--out", tmp_path / "r", "-q").exit_code == 0
    assert cli("pareto", tmp_path / "r", "--export", tmp_path / "r" / "front").exit_code == 0
    import json

    import pandas as pd

    results = pd.read_csv(tmp_path / "r" / "results.csv")
    for candidate in sorted((tmp_path / "r" / "front").glob("*.json")):
        record = json.loads(candidate.read_text())
        out = tmp_path / f"{candidate.stem}.onnx"
        done = cli("export", candidate, "--out", out)
        assert done.exit_code == 0, done.output
        measured = results.loc[results["hash"] == record["hash"], "accuracy"].iloc[0]
        assert f"validation accuracy in onnxruntime {measured:.2f}%" in done.stdout
        assert "nas_search" not in out.read_bytes().decode("latin-1")  # no paths or traces inside
