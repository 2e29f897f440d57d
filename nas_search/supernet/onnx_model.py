"""A torch module as an ONNX model, quantized layer by layer, run in onnxruntime.

- :func:`to_onnx`: torch's ``torch.export``-based exporter (its TorchScript-based one is
  deprecated), without its slow graph optimizer, then ``onnxscript``'s constant folding, so
  that every linear layer is a ``MatMul`` (or ``Gemm``) on a constant weight: what onnxruntime's
  quantizer quantizes.
- :func:`linear_nodes`: the node of each linear layer, found by its bias (``<name>.bias`` keeps
  its parameter name through the export), so a precision policy names layers, never nodes.
- :func:`quantize`: onnxruntime's dynamic quantization (int8 weights, activations quantized
  on the fly) of exactly the named nodes; every other node and weight stays bit-identical.
- :class:`Runtime`: an onnxruntime CPU session at a fixed thread count.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

#: ops whose constant weight onnxruntime's quantizer turns into int8
LINEAR_OPS = ("MatMul", "Gemm", "Conv")


def to_onnx(
    module: Any,
    inputs: Sequence[Any],
    names: Sequence[str],
    dynamic: Mapping[str, Mapping[int, tuple[str, int]]],
) -> Any:
    """``module`` (in inference mode) as an ``onnx.ModelProto`` with its weights inside,
    constants folded. ``dynamic``: input name -> {axis: (dimension name, maximum)}."""
    import onnx_ir as ir
    import torch
    from onnxscript.optimizer import fold_constants, remove_unused_nodes

    dims: dict[str, dict[int, Any]] = {}
    made: dict[str, Any] = {}
    inputs = list(inputs)
    for k, name in enumerate(names):
        dims[name] = {}
        for axis, (label, top) in dynamic.get(name, {}).items():
            made.setdefault(label, torch.export.Dim(label, min=1, max=top))
            dims[name][axis] = made[label]
            if inputs[k].shape[axis] == 1:  # an example of size 1 would fix the axis at 1
                inputs[k] = torch.cat([inputs[k], inputs[k]], dim=axis)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():  # the exporter's own notes on its internals
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        program = torch.onnx.export(
            module.eval(),
            tuple(inputs),
            input_names=list(names),
            output_names=["logits"],
            dynamic_shapes=tuple(dims[n] for n in names) if any(dims.values()) else None,
            external_data=False,
            optimize=False,
            verbose=False,
            report=False,
        )
    if program is None:  # pragma: no cover - the torch.export exporter returns its program
        raise RuntimeError("torch.onnx.export returned nothing")
    model = ir.from_proto(program.model_proto)
    fold_constants(model)
    remove_unused_nodes(model)
    return _stripped(ir.to_proto(model))


def _stripped(model: Any) -> Any:
    """Without the exporter's per-node notes (source paths and stack traces): smaller, and
    the same bytes wherever nas-search is installed."""
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for info in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        del info.metadata_props[:]
    del model.graph.metadata_props[:]
    del model.metadata_props[:]
    return model


def linear_nodes(model: Any) -> dict[str, str]:
    """Linear layer name (its bias without ``.bias``, as in the module's state dict) -> the
    name of its ``MatMul`` or ``Gemm`` node; convolution name (its weight without
    ``.weight``) -> its ``Conv`` node."""
    nodes = list(model.graph.node)
    producer = {out: n for n in nodes for out in n.output}
    found: dict[str, str] = {}
    for node in nodes:
        if node.op_type == "Conv" and node.input[1].endswith(".weight"):
            found[node.input[1][: -len(".weight")]] = node.name
        if node.op_type == "Gemm" and len(node.input) == 3 and node.input[2].endswith(".bias"):
            found[node.input[2][: -len(".bias")]] = node.name
        if node.op_type != "Add":
            continue
        for here, other in ((0, 1), (1, 0)):
            bias, source = node.input[here], producer.get(node.input[other])
            if bias.endswith(".bias") and source is not None and source.op_type == "MatMul":
                found[bias[: -len(".bias")]] = source.name
    return found


def quantize(model: Any, layers: Sequence[str], prefix: str = "") -> Any:
    """``model`` with the linear layers named in ``layers`` (``prefix`` + name, as in
    :func:`linear_nodes`) quantized to int8 by onnxruntime's dynamic quantization."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if not layers:
        return model
    nodes = linear_nodes(model)
    missing = [name for name in layers if prefix + name not in nodes]
    if missing:
        raise KeyError(f"no linear layer {missing[0]!r} in the exported graph")
    with tempfile.TemporaryDirectory(prefix="nas-search-quant-") as folder, _quiet():
        out = Path(folder) / "quantized.onnx"
        quantize_dynamic(
            model,
            out,
            op_types_to_quantize=list(LINEAR_OPS),
            nodes_to_quantize=[nodes[prefix + name] for name in layers],
            weight_type=QuantType.QInt8,
            per_channel=False,
        )
        return onnx.load(str(out))


@contextmanager
def _quiet() -> Iterator[None]:
    """onnxruntime's quantizer logs advice on the root logger: not for our users."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def weight_bytes(model: Any) -> int:
    """Bytes of the model's weights as stored: float and int8 initializers (shape constants
    and other int64 tensors are the graph's, not weights)."""
    from onnx import TensorProto, numpy_helper

    total = 0
    for tensor in model.graph.initializer:
        if tensor.data_type in (TensorProto.FLOAT, TensorProto.INT8, TensorProto.UINT8):
            total += numpy_helper.to_array(tensor).nbytes
    return total


class Runtime:
    """An onnxruntime CPU session of one model, at ``threads`` intra-op threads."""

    def __init__(self, model: Any, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        data = model if isinstance(model, bytes) else model.SerializeToString()
        self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]

    def __call__(self, inputs: Mapping[str, Any]) -> np.ndarray:
        feed = {name: np.asarray(inputs[name]) for name in self.names}
        return np.asarray(self.session.run(["logits"], feed)[0])

    def accuracy(self, inputs: Mapping[str, np.ndarray], labels: np.ndarray) -> float:
        """Top-1 accuracy in percent, in batches of 256."""
        correct = 0
        for start in range(0, len(labels), 256):
            batch = {k: v[start : start + 256] for k, v in inputs.items()}
            correct += int((self(batch).argmax(1) == labels[start : start + 256]).sum())
        return 100.0 * correct / max(1, len(labels))


def measure_onnx(
    model: Any,
    inputs: Mapping[str, np.ndarray],
    settings: Any,
    validation: tuple[Mapping[str, np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """Accuracy on ``validation`` (inputs, labels) and latency on ``inputs`` of an ONNX model
    in onnxruntime: the same warm-up, samples, median, IQR and instability flag as torch's
    (:func:`~.latency.measure_latency`), at ``settings.threads`` threads."""
    from nas_search.supernet.latency import latency_metrics, measure_latency

    runtime = Runtime(model, settings.threads)
    out: dict[str, float] = {}
    if validation is not None:
        out["accuracy"] = runtime.accuracy(*validation)
    out.update(latency_metrics(measure_latency(lambda: runtime(inputs), settings), settings))
    return out
