"""``nas-search export``: a candidate as a standalone model with its sliced weights.

``vit`` and ``cnn``: a ``.pt`` of ``{format, shape, subnet, state_dict}`` (the ``cnn``'s with
its batch-norm statistics calibrated for the sub-network). ``transformer``: a folder with
``model.onnx`` (onnxruntime runs it with no nas-search code), ``model.safetensors`` and
``config.json`` (:class:`nas_search.supernet.encoder.Encoder` loads them) and the tokenizer.
``vit`` or ``cnn`` to an ``.onnx`` file (and any candidate with int8 layers): the model onnxruntime
measured, quantized as its precision genes say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from nas_search.candidate import read_candidate
from nas_search.cli.app import app
from nas_search.cli.output import stdout
from nas_search.cli.supernet import Elastic, supernet_evaluator
from nas_search.cli.validate import exact_or_invalid, given_space, space_of
from nas_search.encoding import validate_config
from nas_search.errors import CandidateError, EvaluatorError, UsageError
from nas_search.evaluation.transformer import TransformerEvaluator


@app.command()
def export(
    candidate: Path = typer.Argument(..., help="A candidate.json file."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="The .pt or .onnx file (vit, cnn) or the folder (transformer) to write.",
    ),
    space: str | None = typer.Option(
        None,
        help="Space file, shipped name or run directory (default: the run directory holding "
        "the candidate, else the shipped space of its name).",
    ),
) -> None:
    """Write the candidate's sub-network with its weights, to deploy without nas-search
    (transformer: ONNX, checked against the sliced forward pass; vit, cnn: an .onnx ``--out``,
    with its int8 layers quantized as measured) or to load in torch."""
    cand = read_candidate(candidate)
    definition, _ = space_of(candidate, cand, given_space(space) if space else None)
    evaluator = supernet_evaluator(definition)
    vector, problems = validate_config(definition.space, cand.config, exact_or_invalid(evaluator))
    if problems or vector is None:
        raise CandidateError(f"{candidate}: invalid for space {definition.name!r}: {problems[0]}")
    weights = evaluator.weights_path()
    if weights is not None and not weights.is_file():
        command = "finetune" if isinstance(evaluator, TransformerEvaluator) else "train"
        hint = f"nas-search supernet {command} --space {definition.path or definition.name}"
        if evaluator.spec.checkpoint is not None:
            hint = f"no such file {str(weights)!r}"
        raise EvaluatorError(
            f"{definition.source}: evaluator.checkpoint: no trained super-network yet ({hint})"
        )
    if weights is None and not isinstance(evaluator, TransformerEvaluator):
        raise EvaluatorError(
            f"{definition.source}: evaluator.checkpoint: no trained super-network (set "
            "evaluator.checkpoint or add evaluator.train)"
        )
    evaluator.prepare()
    config = definition.space.decode(vector)
    record = cand.model_dump(exclude_none=True)
    if isinstance(evaluator, TransformerEvaluator):
        from nas_search.supernet.deploy import export as export_folder
        from nas_search.supernet.encoder import extract

        model = extract(evaluator.model.cpu(), evaluator.subnet(config))
        out.mkdir(parents=True, exist_ok=True)
        (out / "candidate.json").write_text(json.dumps(record, indent=2) + "\n")
        report = export_folder(
            model,
            out,
            evaluator.example_inputs(2),
            evaluator.model_dir if evaluator.shape.text else None,
            {"candidate": record},
        )
        n = sum(p.numel() for p in model.parameters())
        source = weights or evaluator.model_dir
        stdout.print(
            f"Wrote {out}/ ({', '.join(report['files'])}): {n:,} parameters, from {source}; "
            f"onnxruntime matches torch within {report['max_abs_diff']:.1e}"
        )
        if evaluator.int8_layers(config):  # model.onnx becomes the quantized model measured
            quantized = evaluator.onnx_model(config).SerializeToString()
            (out / "model.onnx").write_bytes(quantized)
            stdout.print(
                f"{out}/model.onnx: int8 as measured, {len(quantized):,} bytes"
                + _onnx_accuracy(out / "model.onnx", evaluator, config)
            )
        return
    if out.suffix == ".onnx" or evaluator.int8_layers(config):
        if out.suffix != ".onnx":
            raise UsageError(
                f"--out: the candidate runs int8 layers: write an .onnx file, got {out}"
            )
        model = evaluator.onnx_model(config)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(model.SerializeToString())
        stdout.print(
            f"Wrote {out}: {out.stat().st_size:,} bytes, from {weights}"
            + _onnx_accuracy(out, evaluator, config)
        )
        return
    import torch

    model = evaluator.standalone(config).cpu()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**model.export(), "candidate": record}, out)
    n = sum(p.numel() for p in model.parameters())
    stdout.print(f"Wrote {out}: {n:,} parameters, from {weights}")


def _onnx_accuracy(path: Path, evaluator: Elastic, config: dict[str, Any]) -> str:
    """ "; validation accuracy in onnxruntime N%": what the written file scores, to compare
    with the candidate's measured accuracy."""
    from nas_search.supernet.onnx_model import Runtime

    if evaluator.spec.data is None:
        return ""
    inputs, labels = evaluator.validation_set(config)
    accuracy = Runtime(path.read_bytes()).accuracy(inputs, labels)
    return f"; validation accuracy in onnxruntime {accuracy:.2f}%"
