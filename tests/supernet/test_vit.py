"""The elastic ViT: sub-networks run on views of the super-network's weights, and an export
is a standalone module whose outputs equal the sliced forward."""

from __future__ import annotations

import pytest
import torch

from nas_search.supernet.arch import Subnet, SupernetShape
from nas_search.supernet.vit import ElasticViT, ViT, extract

SHAPE = SupernetShape(8, 2, 1, 10, 4, 24, 3, 3, 3.0)


@pytest.fixture(scope="module")
def supernet():
    torch.manual_seed(0)
    model = ElasticViT(SHAPE).eval()
    with torch.no_grad():  # non-trivial norms and biases, so a wrong slice shows
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def test_subnet_weights_are_views_of_the_supernet(supernet):
    sub = Subnet(16, (2, 1), (2.0, 3.0))
    storage = {p.untyped_storage().data_ptr() for p in supernet.parameters()}
    weights = supernet.weights(sub)
    assert all(w.untyped_storage().data_ptr() in storage for w in weights.values())
    assert weights["blocks.0.q.weight"].shape == (8, 16)
    assert weights["blocks.1.fc2.weight"].shape == (16, 48)


@pytest.mark.parametrize(
    "sub",
    [SHAPE.largest, Subnet(8, (1,), (1.0,)), Subnet(16, (3, 1), (1.5, 3.0))],
    ids=str,
)
def test_export_round_trip_equals_the_sliced_forward(supernet, sub, tmp_path):
    x = torch.randn(5, 1, 8, 8)
    with torch.inference_mode():
        expected = supernet(x, sub)
    path = tmp_path / "subnet.pt"
    torch.save(extract(supernet, sub).export(), path)
    model = ViT.from_export(torch.load(path, weights_only=True))
    with torch.inference_mode():
        got = model(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert model.sub == sub


def test_a_smaller_subnet_changes_the_output(supernet):
    x = torch.randn(2, 1, 8, 8)
    with torch.inference_mode():
        a = supernet(x, SHAPE.largest)
        b = supernet(x, Subnet(24, (3, 3, 3), (3.0, 3.0, 2.0)))
    assert not torch.allclose(a, b)


def test_training_a_subnet_trains_the_shared_weights(supernet):
    model = ElasticViT(SHAPE)
    small = Subnet(8, (1,), (1.0,))
    loss = model(torch.randn(4, 1, 8, 8), small).sum()
    loss.backward()
    grad = model.body.blocks[0].q.weight.grad
    assert grad[:4, :8].abs().sum() > 0  # the slice the small sub-network uses
    assert grad[4:].abs().sum() == 0 and grad[:, 8:].abs().sum() == 0
    assert model.body.blocks[1].q.weight.grad is None  # blocks beyond its depth
