"""The elastic CNN on a tiny shape: analytic cost against torch (``flop_counter`` counts 2
FLOPs per multiply-accumulate), the kernel transformation, weight sharing, gradients, batch-norm
calibration, importance sorting and the standalone export."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from nas_search.supernet.cnn import CNN, ElasticCNN, extract, forward
from nas_search.supernet.cnn_arch import (
    CnnShape,
    Stage,
    beyond_maxima,
    deployed_params,
    exact_metrics,
    macs,
    params,
    staged_name,
    subnet_of,
)

SHAPE = CnnShape(
    image_size=8, channels=1, classes=10, stem_channels=8, stem_stride=1,
    stages=(Stage(8, 2, 1, False, "relu"), Stage(12, 3, 2, True, "hswish"),
            Stage(16, 2, 2, True, "hswish")),
    kernel_size=7, expand_ratio=6.0, head=24,
)  # fmt: skip
CONFIGS = [
    {},  # the largest
    {"depth_1": 1, "depth_2": 1, "depth_3": 1, "kernel_size": 3, "expand_ratio": 3},
    {"depth_2": 2, "kernel_size_2": [3, 5], "expand_ratio_2": [6, 4], "kernel_size_3": 5},
    {"depth_1": 2, "expand_ratio_1": [3, 6], "depth_3": 1, "expand_ratio_3": [4.5]},
    {"resolution": 6, "depth_1": 1, "kernel_size_2": 5},
    {"resolution": 4, "expand_ratio": 3},
]


@pytest.fixture(scope="module")
def supernet():
    torch.manual_seed(0)
    model = ElasticCNN(SHAPE).eval()
    with torch.no_grad():  # transformations and statistics other than their defaults
        for p in model.transforms.values():
            p.add_(0.05 * torch.randn_like(p))
        for name, b in model.body.named_buffers():
            if name.endswith("running_var"):
                b.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                b.normal_(0, 0.3)
    return model


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_macs_equal_the_flop_counter_of_the_sliced_forward(supernet, config):
    sub = subnet_of(config, SHAPE)
    weights = supernet.weights(sub)  # the kernel transformation is the super-network's
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        forward(torch.randn(1, 1, 8, 8), weights, sub, SHAPE)
    assert counter.get_total_flops() == 2 * macs(SHAPE, sub)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_the_export_has_the_analytic_cost_and_equals_the_sliced_forward(supernet, config):
    sub = subnet_of(config, SHAPE)
    model = extract(supernet, sub)
    assert sum(p.numel() for p in model.parameters()) == params(SHAPE, sub)
    x = torch.randn(3, 1, 8, 8)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        out = model(x)
    assert counter.get_total_flops() == 3 * 2 * macs(SHAPE, sub)
    with torch.inference_mode():
        assert torch.equal(out, supernet(x, sub))
    again = CNN.from_export(model.export())
    with torch.inference_mode():
        assert torch.equal(again(x), out)
    fused = model.fuse()  # batch norms folded: what ONNX gets and size_mb counts
    assert sum(p.numel() for p in fused.parameters()) == deployed_params(SHAPE, sub)
    assert not any(True for _ in fused.buffers())
    with torch.inference_mode():
        assert torch.allclose(fused(x), out, atol=1e-5)
        assert torch.equal(CNN.from_export(fused.export())(x), fused(x))


def test_the_supernet_holds_the_largest_subnet_and_the_transformations():
    model = ElasticCNN(SHAPE)
    assert sum(p.numel() for p in model.body.parameters()) == params(SHAPE, SHAPE.largest)
    blocks = sum(s.depth for s in SHAPE.stages)
    assert len(model.transforms) == 2 * blocks  # 7 -> 5 and 5 -> 3 per block
    assert {tuple(p.shape) for p in model.transforms.values()} == {(25, 25), (9, 9)}


def test_kernel_transformation_shapes_and_identity_start():
    model = ElasticCNN(SHAPE)
    big = model.block(1, 0).dw.conv.weight  # (mid, 1, 7, 7)
    mid = big.shape[0]
    for kernel, cut in ((7, 0), (5, 1), (3, 2)):
        w = model.kernel(1, 0, kernel, mid)
        assert w.shape == (mid, 1, kernel, kernel)
        # identity matrices at first: the centre of the largest kernel
        assert torch.equal(w, big[:, :, cut : cut + kernel, cut : cut + kernel])


def test_slices_share_the_supernets_storage(supernet):
    sub = subnet_of(CONFIGS[3], SHAPE)
    weights = supernet.weights(sub)
    storage = {p.untyped_storage().data_ptr() for p in supernet.parameters()}
    storage |= {b.untyped_storage().data_ptr() for b in supernet.buffers()}
    for name, w in weights.items():
        if name.endswith("dw.conv.weight") and w.shape[-1] < SHAPE.kernel_size:
            continue  # computed by the kernel transformation
        assert w.untyped_storage().data_ptr() in storage, name
    assert weights["stages.0.1.expand.conv.weight"].shape[0] == 48  # 8 * 6: expand ratio 6
    assert weights["stages.0.0.expand.conv.weight"].shape[0] == 24  # 8 * 3


def test_gradients_reach_the_used_slices_only():
    torch.manual_seed(1)
    model = ElasticCNN(SHAPE).train()
    sub = subnet_of({"depth_2": 1, "kernel_size_2": 3, "expand_ratio_2": 3}, SHAPE)
    model(torch.randn(4, 1, 8, 8), sub).sum().backward()
    block = model.block(1, 0)
    mid = 8 * 3
    grad = block.dw.conv.weight.grad
    assert grad[:mid, :, 2:5, 2:5].abs().sum() > 0  # the 3x3 centre
    border = grad.clone()
    border[:mid, :, 2:5, 2:5] = 0
    assert border.abs().sum() == 0  # nothing outside the 3x3 centre of the used channels
    assert block.expand.conv.weight.grad[mid:].abs().sum() == 0
    assert model.block(1, 1).expand.conv.weight.grad is None  # an inactive block
    assert model.transforms["1_0_3"].grad is not None and model.transforms["1_0_5"].grad is not None
    assert model.transforms["1_1_3"].grad is None


def test_calibration_recomputes_the_statistics_of_the_used_slices(supernet):
    sub = subnet_of(CONFIGS[1], SHAPE)
    model = ElasticCNN(SHAPE)
    model.load_state_dict(supernet.state_dict())
    before = {k: v.clone() for k, v in model.body.named_buffers()}
    batches = [torch.randn(16, 1, 8, 8) for _ in range(3)]
    model.calibrate(sub, batches)
    after = dict(model.body.named_buffers())
    mean = after["stem.bn.running_mean"]
    # the stem's statistics are its input's over all batches
    with torch.no_grad():
        y = torch.cat([torch.nn.functional.conv2d(b, model.body.stem.conv.weight, padding=1)
                       for b in batches])  # fmt: skip
    assert torch.allclose(mean, y.mean((0, 2, 3)), atol=1e-5)
    mid = 8 * 3
    key = "stages.0.0.expand.bn.running_mean"
    assert not torch.equal(after[key][:mid], before[key][:mid])
    assert torch.equal(after[key][mid:], before[key][mid:])  # unused channels untouched
    key = "stages.0.1.expand.bn.running_mean"  # an inactive block
    assert torch.equal(after[key], before[key])


def test_reorganize_sorts_channels_and_keeps_the_largest_function(supernet):
    model = ElasticCNN(SHAPE).eval()
    model.load_state_dict(supernet.state_dict())
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        before = model(x, SHAPE.largest)
        model.reorganize()
        after = model(x, SHAPE.largest)
    assert torch.allclose(before, after, atol=1e-5)
    importance = model.block(1, 1).project.conv.weight.abs().sum(dim=(0, 2, 3))
    assert torch.all(importance[:-1] >= importance[1:])


def test_names_bounds_and_units():
    assert staged_name("kernel_size_2") == ("kernel_size", 1)
    assert staged_name("precision_10") == ("precision", 9)
    assert staged_name("kernel_size") is None and staged_name("depth_0") is None
    sub = subnet_of({"depth_1": 3, "kernel_size_2": 4, "expand_ratio": 7, "resolution": 9}, SHAPE)
    problems = beyond_maxima(sub, SHAPE)
    assert "resolution 9 is outside 1..8" in problems
    assert any("depth_1 3" in p for p in problems)
    assert any("kernel_size_2[0] 4" in p for p in problems)
    assert any("expand_ratio_1[0] 7.0" in p for p in problems)
    with pytest.raises(ValueError, match="kernel_size_2 has 1 values for depth_2 2"):
        subnet_of({"depth_2": 2, "kernel_size_2": [3]}, SHAPE)
    values = exact_metrics(SHAPE, SHAPE.largest)
    assert values["size_mb"] == 4 * deployed_params(SHAPE, SHAPE.largest) / 1e6


def test_mobilenet_v3_large_at_real_scale():
    """Once-for-All's MobileNetV3 space at 224x224: its largest network (kernel 7, expand 6,
    depth 4) is about 7.7M parameters and 0.6G MACs per its paper's figures (ours has no
    feature-mix layer, so it is a little smaller)."""
    stages = (
        Stage(24, 4, 2, False, "relu"), Stage(40, 4, 2, True, "relu"),
        Stage(80, 4, 2, False, "hswish"), Stage(112, 4, 1, True, "hswish"),
        Stage(160, 4, 2, True, "hswish"),
    )  # fmt: skip
    shape = CnnShape(224, 3, 1000, 16, 2, stages, 7, 6.0, 960)
    values = exact_metrics(shape, shape.largest)
    assert 2.0 < values["params_m"] < 8.0
    assert 300 < values["macs_m"] < 800
