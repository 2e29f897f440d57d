"""The elastic encoder against Hugging Face's own models: same logits at full size, slices
equal to dense models of the sub-network's sizes, gradients only on the used slices, exact
cost equal to what the modules hold and compute."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from nas_search.supernet.encoder import ElasticEncoder, Encoder, extract  # noqa: E402
from nas_search.supernet.encoder_arch import EncoderSubnet, macs, params  # noqa: E402
from nas_search.supernet.importance import importance, reorder  # noqa: E402
from nas_search.supernet.pretrained import load_weights, read_config, shape_of  # noqa: E402
from nas_search.supernet.task_data import Part  # noqa: E402
from tests.supernet.tiny_models import tiny_text_model, tiny_vit  # noqa: E402

FAMILIES = ["bert", "roberta", "vit"]


@pytest.fixture(scope="module", params=FAMILIES)
def tiny(request, tmp_path_factory):
    """(family, model folder, Hugging Face model, elastic encoder with its weights)."""
    import transformers

    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "vit":
        tiny_vit(folder, labels=3)
        hf = transformers.ViTForImageClassification.from_pretrained(folder)
    else:
        tiny_text_model(folder, request.param, labels=3)
        cls = getattr(transformers, f"{request.param.title()}ForSequenceClassification")
        if request.param == "roberta":
            cls = transformers.RobertaForSequenceClassification
        hf = cls.from_pretrained(folder)
    shape = shape_of(read_config(folder, "m"), None, "m")
    model = ElasticEncoder(shape)
    model.body.load_state_dict(load_weights(folder, shape, "m"))
    return request.param, folder, hf.eval(), model.eval()


def inputs_of(family: str, batch: int = 3, length: int = 9) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    if family == "vit":
        return {"pixel_values": torch.randn(batch, 1, 8, 8, generator=g)}
    ids = torch.randint(5, 25, (batch, length), generator=g)
    mask = torch.ones(batch, length, dtype=torch.int64)
    mask[batch - 1, 5:] = 0  # padding on the right
    ids[batch - 1, 5:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def hf_logits(hf: nn.Module, family: str, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    if family == "roberta":
        inputs = {k: v for k, v in inputs.items() if k != "token_type_ids"}
    with torch.no_grad():
        return hf(**inputs).logits


def test_full_size_equals_the_hugging_face_model(tiny):
    family, _, hf, model = tiny
    inputs = inputs_of(family)
    with torch.no_grad():
        ours = model(inputs, model.shape.largest)
    torch.testing.assert_close(ours, hf_logits(hf, family, inputs), rtol=1e-5, atol=1e-5)


def _resize(linear: nn.Linear, rows: int | None = None, cols: int | None = None) -> nn.Linear:
    w, b = linear.weight.data, linear.bias.data
    w = w[:rows] if rows is not None else w[:, :cols]
    new = nn.Linear(w.shape[1], w.shape[0])
    new.weight.data.copy_(w)
    new.bias.data.copy_(b[:rows] if rows is not None else b)
    return new


def dense_hf(hf: nn.Module, family: str, sub: EncoderSubnet, head_dim: int) -> nn.Module:
    """The Hugging Face model cut to ``sub`` by replacing its modules with smaller dense ones
    holding the first heads and units: an oracle independent of our forward pass."""
    import copy

    hf = copy.deepcopy(hf)
    if family == "vit":
        layers = hf.vit.layers if hasattr(hf.vit, "layers") else hf.vit.encoder.layer
    else:
        layers = getattr(hf, family).encoder.layer
    del layers[sub.num_layers :]
    for layer, heads, units in zip(layers, sub.num_heads, sub.intermediate_size, strict=True):
        d = heads * head_dim
        if family == "vit":
            att, mlp = layer.attention, layer.mlp
            for name in ("q_proj", "k_proj", "v_proj"):
                setattr(att, name, _resize(getattr(att, name), rows=d))
            att.o_proj = _resize(att.o_proj, cols=d)
            mlp.fc1, mlp.fc2 = _resize(mlp.fc1, rows=units), _resize(mlp.fc2, cols=units)
        else:
            att = layer.attention.self
            for name in ("query", "key", "value"):
                setattr(att, name, _resize(getattr(att, name), rows=d))
            layer.attention.output.dense = _resize(layer.attention.output.dense, cols=d)
            layer.intermediate.dense = _resize(layer.intermediate.dense, rows=units)
            layer.output.dense = _resize(layer.output.dense, cols=units)
    return hf.eval()


SUBNETS = [
    EncoderSubnet((2,), (16,)),
    EncoderSubnet((1, 3), (64, 8)),
    EncoderSubnet((4, 4), (64, 64)),
]


@pytest.mark.parametrize("sub", SUBNETS, ids=str)
def test_slices_equal_a_dense_model_of_the_subnets_sizes(tiny, sub):
    family, _, hf, model = tiny
    inputs = inputs_of(family)
    with torch.no_grad():
        sliced = model(inputs, sub)
        standalone = extract(model, sub)(**inputs)
    oracle = hf_logits(dense_hf(hf, family, sub, model.shape.head_dim), family, inputs)
    torch.testing.assert_close(sliced, oracle, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(standalone, sliced, rtol=0, atol=0)


def test_slices_are_views_not_copies(tiny):
    _, _, _, model = tiny
    sub = SUBNETS[1]
    full = dict(model.body.named_parameters())
    for name, tensor in model.weights(sub).items():
        assert tensor.data_ptr() == full[name].data_ptr(), name


@pytest.mark.parametrize(
    "sub", [EncoderSubnet((1, 3), (16, 8)), EncoderSubnet((2,), (40,))], ids=str
)
def test_gradients_reach_only_the_used_slices(tiny, sub):
    family, _, _, model = tiny
    model.zero_grad(set_to_none=True)
    model(inputs_of(family), sub).sum().backward()
    hd = model.shape.head_dim
    used = {
        k: (h * hd, m)
        for k, (h, m) in enumerate(zip(sub.num_heads, sub.intermediate_size, strict=True))
    }
    for name, p in model.body.named_parameters():
        grad = p.grad if p.grad is not None else torch.zeros_like(p)
        inside = torch.ones_like(p, dtype=torch.bool)
        if name.startswith("layers."):
            _, k, part, kind = name.split(".")
            if int(k) not in used:  # a layer the sub-network does not keep
                assert p.grad is None or not p.grad.any(), name
                continue
            d, m = used[int(k)]
            rows = {"q": d, "k": d, "v": d, "fc1": m}.get(part)
            cols = {"o": d, "fc2": m}.get(part)
            if rows is not None:
                inside[:] = False
                inside[:rows] = True
            elif cols is not None and kind == "weight":
                inside[:] = False
                inside[:, :cols] = True
        assert not grad[~inside].any(), f"{name} got gradients outside its slice"
        assert grad[inside].abs().sum() > 0, f"{name} got no gradient inside its slice"
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("sub", SUBNETS, ids=str)
def test_exact_cost_equals_the_modules_and_the_flop_counter(tiny, sub):
    family, _, _, model = tiny
    standalone = extract(model, sub)
    assert params(model.shape, sub) == sum(p.numel() for p in standalone.parameters())
    length = 9
    inputs = inputs_of(family, batch=1, length=length)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        standalone(**inputs)
    assert counter.get_total_flops() == 2 * macs(model.shape, sub, length)


def test_export_and_load_round_trip(tiny, tmp_path):
    family, _, _, model = tiny
    sub = SUBNETS[1]
    standalone = extract(model, sub)
    standalone.save(tmp_path / "sub")
    loaded = Encoder.load(tmp_path / "sub")
    inputs = inputs_of(family)
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs), model(inputs, sub), rtol=0, atol=0)


def test_importance_order_keeps_the_full_model_and_puts_the_best_first(tiny):
    family, _, _, model = tiny
    import copy

    model = copy.deepcopy(model)
    inputs = inputs_of(family, batch=8)
    labels = torch.arange(8) % model.shape.classes
    part = Part({k: v.numpy() for k, v in inputs.items()}, labels.numpy())
    heads, units = importance(model, part, batches=2, batch_size=4)
    assert len(heads) == model.shape.layers and heads[0].shape == (model.shape.heads,)
    with torch.no_grad():
        before = model(inputs, model.shape.largest)
    reorder(model, heads, units)
    with torch.no_grad():
        after = model(inputs, model.shape.largest)
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)
    again, again_units = importance(model, part, batches=2, batch_size=4)
    for k in range(model.shape.layers):  # the same scores, now sorted
        torch.testing.assert_close(again[k], heads[k].sort(descending=True).values)
        assert torch.all(again_units[k][:-1] >= again_units[k][1:] - 1e-6)


def test_load_weights_from_a_folder_without_a_classifier(tmp_path):
    import transformers

    folder = tmp_path / "base"
    tiny_text_model(folder, labels=2)
    shape = shape_of(read_config(folder, "m"), 5, "m")  # a task of 5 labels
    torch.manual_seed(3)
    first = load_weights(folder, shape, "m")
    torch.manual_seed(3)
    second = load_weights(folder, shape, "m")
    assert first["classifier.weight"].shape == (5, 32)
    torch.testing.assert_close(first["classifier.weight"], second["classifier.weight"])
    base = transformers.BertForSequenceClassification.from_pretrained(folder)
    torch.testing.assert_close(
        first["layers.0.q.weight"], base.bert.encoder.layer[0].attention.self.query.weight
    )


def test_only_safetensors_and_no_download(tmp_path):
    from nas_search.errors import EvaluatorError
    from nas_search.supernet.pretrained import model_dir

    with pytest.raises(EvaluatorError, match=r"m: no such model directory .*never downloads"):
        model_dir("bert-base-uncased", tmp_path, "m")
    folder = tiny_text_model(tmp_path / "pickled")
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(EvaluatorError, match=r"pytorch_model.bin only \(a pickle can run code\)"):
        model_dir(str(folder), tmp_path, "m")
    assert model_dir(str(tiny_vit(tmp_path / "v")), Path("/"), "m").is_dir()
