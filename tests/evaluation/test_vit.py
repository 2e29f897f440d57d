"""The ``vit`` evaluator on a tiny super-network: checks against the super-network's maxima,
training on first use and the cache, real measurements, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas_search.config import load_space_file
from nas_search.errors import EvaluatorError
from nas_search.evaluation import build_evaluator, measure
from nas_search.supernet.arch import exact_metrics, subnet_of
from tests.conftest import TINY_VIT

SMALL = {"embed_dim": 8, "depth": 1, "num_heads": [1], "mlp_ratio": [1]}
LARGE = {"embed_dim": 16, "depth": 2, "num_heads": [2, 2], "mlp_ratio": [2, 2]}


def tiny(write_space, text=TINY_VIT, *replacements):
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return build_evaluator(load_space_file(write_space(text, "tiny.yaml")))


def test_measures_accuracy_latency_and_exact_metrics(write_space):
    evaluator = tiny(write_space)
    epochs = []
    evaluator.prepare(on_epoch=lambda e, n, loss: epochs.append((e, n)))
    assert epochs == [(0, 3), (1, 3), (2, 3), (3, 3)]  # 0: training starts
    small, large = evaluator.evaluate(SMALL), evaluator.evaluate(LARGE)
    for values in (small, large):
        assert 0 <= values["accuracy"] <= 100
        assert values["latency_ms"] > 0 and values["latency_iqr_ms"] >= 0
        assert values["latency_unstable"] in (0.0, 1.0) and values["threads"] == 1.0
    assert (
        large["params_m"]
        == exact_metrics(evaluator.shape, subnet_of(LARGE, evaluator.shape))["params_m"]
    )
    assert large["macs_m"] > small["macs_m"]
    assert evaluator.exact(SMALL) == {k: small[k] for k in ("params_m", "macs_m", "size_mb")}


def test_trains_once_then_loads_the_cache(write_space):
    first = tiny(write_space)
    first.prepare()
    path = first.checkpoint_path
    assert path is not None and path.is_file() and path.parent.name == "supernets"
    second = tiny(write_space)
    second.prepare(on_epoch=lambda *a: pytest.fail("trained again"))
    assert second.checkpoint_path == path
    assert first.evaluate(LARGE)["accuracy"] == second.evaluate(LARGE)["accuracy"]
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True):
        assert torch.equal(a, b)
    other = tiny(write_space, TINY_VIT, ("train: {epochs: 3}", "train: {epochs: 3, seed: 1}"))
    assert other.weights_path() != path  # the key covers the training settings


def test_training_is_deterministic(write_space, tmp_path):
    a, b = tiny(write_space), tiny(write_space)
    a.train(tmp_path / "a.pt")
    b.train(tmp_path / "b.pt")
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_a_checkpoint_of_another_supernet_is_refused(write_space, tmp_path):
    evaluator = tiny(write_space)
    evaluator.train(tmp_path / "ckpt.pt")
    text = TINY_VIT.replace("train: {epochs: 3}", f"checkpoint: {tmp_path / 'ckpt.pt'}")
    tiny(write_space, text).prepare()  # the right one loads
    wider = tiny(write_space, text, ("embed_dim: 16, depth", "embed_dim: 24, depth"))
    with pytest.raises(
        EvaluatorError,
        match=r"evaluator.checkpoint: .*ckpt.pt holds a super-network "
        r"with embed_dim 16, the space's evaluator.supernet.embed_dim is 24",
    ):
        wider.prepare()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "choices: [8, 16]}",
            "choices: [8, 32]}",
            r"tiny.yaml: parameters.embed_dim: 32 exceeds the super-network's maximum "
            r"\(evaluator.supernet.embed_dim: 16\)",
        ),
        ("low: 1, high: 2", "low: 1, high: 3", r"parameters.depth: 3 exceeds"),
        (
            "choices: [1, 2], per_layer: depth}\n  mlp",
            "choices: [1, 4], per_layer: depth}\n  mlp",
            r"parameters.num_heads: 4 exceeds .*evaluator.supernet.num_heads: 2",
        ),
        (
            "  depth: {type: integer",
            "  width: {type: ordinal, choices: [1]}\n  depth: {type: integer",
            r"parameters.width: the vit evaluator has no such dimension",
        ),
        (
            "train: {epochs: 3}",
            "train: null",
            r"evaluator.checkpoint: accuracy needs a trained super-network: set "
            r"evaluator.checkpoint \(nas-search supernet train writes one\)",
        ),
        ("  data: {source: digits}\n", "", r"evaluator.data: accuracy needs images"),
        (
            "latency: {batch_size: 4",
            "latency: {device: tpu, batch_size: 4",
            r"evaluator.latency.device: String should match pattern",
        ),
        (
            "exact: [params_m, macs_m, size_mb]",
            "exact: [params_m, flops]",
            r"evaluator.exact: 'flops' is not an exact metric of the vit evaluator",
        ),
    ],
)
def test_space_errors_are_one_line(write_space, old, new, message):
    with pytest.raises(EvaluatorError, match=message) as info:
        tiny(write_space, TINY_VIT, (old, new))
    assert "\n" not in str(info.value)


def test_without_data_it_measures_latency_and_exact_metrics(write_space):
    text = TINY_VIT.replace("  data: {source: digits}\n", "").replace(
        "{name: accuracy, direction: maximize}", "{name: params_m, direction: maximize}"
    )
    evaluator = tiny(write_space, text)
    assert "accuracy" not in evaluator.metrics
    values = evaluator.evaluate(LARGE)
    assert values["latency_ms"] > 0 and "accuracy" not in values


def test_a_config_beyond_the_supernet_is_a_failed_measurement(write_space):
    evaluator = tiny(write_space)
    evaluator.prepare()
    out = measure(evaluator, {**LARGE, "embed_dim": 32}, ["accuracy"])
    assert out.status == "failed" and "embed_dim 32 is outside 1..16" in out.error


def test_images_must_fit_the_supernet(write_space):
    evaluator = tiny(write_space, TINY_VIT, ("image_size: 8,", "image_size: 16,"))
    with pytest.raises(
        EvaluatorError,
        match=r"evaluator.data.source: images are 1x8x8, "
        r"the super-network takes 1x16x16",
    ):
        evaluator.prepare()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_measures_on_cuda(write_space):
    evaluator = tiny(
        write_space, TINY_VIT, ("latency: {batch_size", "latency: {device: cuda, batch_size")
    )
    values = evaluator.evaluate(LARGE)
    assert values["latency_ms"] > 0 and 0 <= values["accuracy"] <= 100


def test_trains_and_measures_on_the_users_own_arrays(write_space, tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    x = rng.normal(size=(120, 8, 8)) + y[:, None, None]  # three separable classes
    np.savez(tmp_path / "mine.npz", x=x, y=y)
    text = TINY_VIT.replace("data: {source: digits}", "data: {source: mine.npz}")
    evaluator = tiny(write_space, text, ("train: {epochs: 3}", "train: {epochs: 10}"))
    evaluator.prepare()
    assert evaluator.evaluate(LARGE)["accuracy"] > 60  # chance is 33%


def test_a_failed_checkpoint_write_leaves_nothing_behind(tmp_path):
    from nas_search.supernet.store import save_checkpoint

    target = tmp_path / "ckpt.pt"
    with pytest.raises(Exception):  # noqa: B017  (torch.save refuses a lambda)
        save_checkpoint(target, {"state_dict": {"bad": lambda: None}})
    assert list(tmp_path.iterdir()) == []


def test_training_threads_and_device_are_recorded_not_keyed(write_space, tmp_path):
    """Issue 12.15: threads set explicitly while training (then restored), recorded in the
    checkpoint with the device; neither changes the cache key."""
    from nas_search.supernet.store import load_checkpoint

    plain = tiny(write_space)
    two = tiny(write_space, TINY_VIT, ("train: {epochs: 3}", "train: {epochs: 3, threads: 2}"))
    assert two.weights_path() == plain.weights_path()
    before = torch.get_num_threads()
    report = two.train(tmp_path / "w.pt")
    assert torch.get_num_threads() == before
    assert report["threads"] == 2 and report["device"] in ("cpu", "cuda")
    payload = load_checkpoint(tmp_path / "w.pt", two.shape.to_dict(), "checkpoint")
    assert payload["report"]["threads"] == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_training_on_cuda_without_one_is_a_clear_error(write_space, tmp_path):
    evaluator = tiny(
        write_space, TINY_VIT, ("train: {epochs: 3}", "train: {epochs: 3, device: cuda}")
    )
    with pytest.raises(EvaluatorError, match=r"tiny.yaml: evaluator.train.device: CUDA is not"):
        evaluator.train(tmp_path / "w.pt")


def test_a_copy_of_a_space_under_another_name_uses_the_same_cache(write_space):
    """Issue 13: the cache is keyed by the supernet, data and train sections only."""
    first = tiny(write_space)
    first.prepare()
    renamed = tiny(write_space, TINY_VIT, ("name: tinyvit", "name: tinyvit-copy"))
    renamed.prepare(on_epoch=lambda *a: pytest.fail("trained again"))
    assert renamed.checkpoint_path == first.checkpoint_path


def test_building_a_supernet_leaves_torchs_global_generator_alone(write_space, tmp_path):
    """Issue 13: no global seeding (weights and training draw from a forked generator)."""
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    tiny(write_space).train(tmp_path / "w.pt")
    assert torch.equal(torch.rand(3), expected)


def test_a_space_that_trains_other_subnetworks_has_its_own_cache(write_space):
    """The weights depend on the sub-networks training samples: another range of a
    parameter is another cache entry (precision genes, names and objectives are not)."""
    first = tiny(write_space)
    narrow = (
        "embed_dim: {type: ordinal, choices: [8, 16]}",
        "embed_dim: {type: ordinal, choices: [16]}",
    )
    assert tiny(write_space, TINY_VIT, narrow).weights_path() != first.weights_path()
    params = ("{name: latency_ms, direction: minimize}", "{name: params_m, direction: minimize}")
    objectives = tiny(write_space, TINY_VIT, params)
    assert objectives.weights_path() == first.weights_path()
