"""The analytic cost of a sub-network against torch: parameters of the exported module, and
MACs against ``torch.utils.flop_counter`` (which counts 2 FLOPs per multiply-accumulate)."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from nas_search.supernet.arch import (
    Subnet,
    SupernetShape,
    beyond_maxima,
    exact_metrics,
    hidden_units,
    macs,
    params,
    subnet_of,
)
from nas_search.supernet.vit import ElasticViT, extract

SHAPE = SupernetShape(
    image_size=8, patch_size=2, channels=1, classes=10, head_dim=4,
    embed_dim=24, depth=3, num_heads=3, mlp_ratio=3.5,
)  # fmt: skip
AUTOFORMER_T = SupernetShape(224, 16, 3, 1000, 64, 240, 14, 4, 4.0)

SUBNETS = [
    SHAPE.largest,
    Subnet(8, (1,), (1.0,)),
    Subnet(16, (2, 3), (3.5, 1.0)),
    Subnet(24, (3, 1, 2), (2.0, 3.5, 1.5)),
]


@pytest.fixture(scope="module")
def supernet():
    torch.manual_seed(0)
    return ElasticViT(SHAPE).eval()


@pytest.mark.parametrize("sub", SUBNETS, ids=str)
def test_macs_equal_the_flop_counter_of_the_sliced_forward(supernet, sub):
    x = torch.randn(1, 1, 8, 8)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        supernet(x, sub)
    assert counter.get_total_flops() == 2 * macs(SHAPE, sub)


@pytest.mark.parametrize("sub", SUBNETS, ids=str)
def test_macs_and_params_match_the_exported_module(supernet, sub):
    model = extract(supernet, sub)
    assert sum(p.numel() for p in model.parameters()) == params(SHAPE, sub)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.randn(3, 1, 8, 8))
    assert counter.get_total_flops() == 3 * 2 * macs(SHAPE, sub)  # per image, batch of 3


def test_the_supernet_holds_the_largest_subnet_exactly(supernet):
    assert sum(p.numel() for p in supernet.parameters()) == params(SHAPE, SHAPE.largest)


def test_autoformer_tiny_at_real_scale():
    """AutoFormer-T's published figures: 5.7M parameters and 1.3G MACs for its searched
    model (embed 192, depth 13, 3-4 heads, MLP ratio 3.5-4); its space spans 4-9M."""
    smallest = Subnet(192, (3,) * 12, (3.5,) * 12)
    largest = AUTOFORMER_T.largest
    assert 4.0 < exact_metrics(AUTOFORMER_T, smallest)["params_m"] < 5.5
    assert 9.0 < exact_metrics(AUTOFORMER_T, largest)["params_m"] < 11.5
    searched = Subnet(192, (3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3), (3.5,) * 13)
    assert 5.0 < exact_metrics(AUTOFORMER_T, searched)["params_m"] < 6.5
    assert 1.0e3 < exact_metrics(AUTOFORMER_T, searched)["macs_m"] < 1.6e3


def test_exact_metrics_units():
    sub = SUBNETS[2]
    values = exact_metrics(SHAPE, sub)
    assert values["params_m"] == params(SHAPE, sub) / 1e6
    assert values["size_mb"] == pytest.approx(4 * values["params_m"])
    assert values["macs_m"] == macs(SHAPE, sub) / 1e6


def test_hidden_units_round_like_autoformer():
    assert [hidden_units(e, 3.5) for e in (192, 216, 240)] == [672, 756, 840]
    assert hidden_units(10, 0.15) == 2  # 1.5 rounds to even, never truncates to 1


def test_subnet_of_configs():
    assert subnet_of({}, SHAPE) == SHAPE.largest
    sub = subnet_of({"embed_dim": 16, "depth": 2, "num_heads": [1, 2, 3], "mlp_ratio": 2}, SHAPE)
    assert sub == Subnet(16, (1, 2), (2.0, 2.0))
    with pytest.raises(ValueError, match="num_heads has 1 values for depth 2"):
        subnet_of({"depth": 2, "num_heads": [1]}, SHAPE)


def test_beyond_maxima_names_every_problem():
    assert beyond_maxima(SHAPE.largest, SHAPE) == []
    problems = beyond_maxima(Subnet(32, (4, 0, 1, 1), (1.0, 4.0, 1.0, 1.0)), SHAPE)
    assert problems == [
        "embed_dim 32 is outside 1..24",
        "depth 4 is outside 1..3",
        "num_heads[0] 4 is outside 1..3",
        "num_heads[1] 0 is outside 1..3",
        "mlp_ratio[1] 4.0 is outside (0, 3.5]",
    ]


def test_params_grow_with_every_dimension():
    base = Subnet(16, (2, 2), (2.0, 2.0))
    bigger = [
        Subnet(24, (2, 2), (2.0, 2.0)),
        Subnet(16, (2, 2, 2), (2.0, 2.0, 2.0)),
        Subnet(16, (3, 2), (2.0, 2.0)),
        Subnet(16, (2, 2), (2.0, 3.0)),
    ]
    for sub, cost in itertools.product(bigger, (params, macs)):
        assert cost(SHAPE, sub) > cost(SHAPE, base)
