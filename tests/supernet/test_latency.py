"""Latency measurement: the stopping rule on given samples, then real timings."""

from __future__ import annotations

import itertools

import pytest
import torch

from nas_search.supernet.arch import Subnet, SupernetShape
from nas_search.supernet.latency import measure_latency, summarize, timed_samples
from nas_search.supernet.settings import LatencySettings
from nas_search.supernet.vit import ElasticViT


def run_on(samples, settings, step=0.01):
    values = iter(samples)
    ticks = itertools.count()
    return timed_samples(lambda: next(values), settings, lambda: next(ticks) * step)


def test_summarize_median_and_iqr():
    assert summarize([1.0, 2.0, 3.0, 4.0, 5.0]) == (3.0, 2.0)


def test_stops_as_soon_as_the_spread_is_small():
    settings = LatencySettings(min_repeats=5, max_repeats=50, max_spread=0.05)
    latency = run_on([10.0, 10.1, 9.9, 10.0, 10.05] + [99.0] * 50, settings)
    assert latency.repeats == 5 and latency.stable
    assert latency.median_ms == 10.0


def test_noisy_samples_run_to_the_cap_and_are_flagged():
    settings = LatencySettings(min_repeats=5, max_repeats=20, max_spread=0.05, max_seconds=1e9)
    latency = run_on(itertools.cycle([1.0, 3.0]), settings)
    assert latency.repeats == 20 and not latency.stable
    assert latency.median_ms in (1.0, 3.0) and latency.iqr_ms == 2.0


def test_the_time_cap_ends_a_noisy_measurement():
    settings = LatencySettings(min_repeats=5, max_repeats=1000, max_seconds=0.1)
    latency = run_on(itertools.cycle([1.0, 3.0]), settings, step=0.01)
    assert 5 <= latency.repeats <= 15 and not latency.stable  # 0.01 s per sample, cap 0.1 s


def test_a_bigger_subnet_measures_slower_on_this_cpu():
    shape = SupernetShape(8, 2, 1, 10, 16, 64, 4, 4, 4.0)
    torch.manual_seed(0)
    model = ElasticViT(shape).eval()
    x = torch.randn(16, 1, 8, 8)
    settings = LatencySettings(batch_size=16, threads=1, max_seconds=1.0)
    small = measure_latency(lambda: model(x, Subnet(16, (1,), (1.0,))), settings)
    large = measure_latency(lambda: model(x, shape.largest), settings)
    assert 0 < small.median_ms < large.median_ms  # about 6x apart on a 2-core CPU
    assert small.repeats >= settings.min_repeats and large.iqr_ms >= 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_latency_uses_events():
    shape = SupernetShape(8, 2, 1, 10, 16, 64, 4, 4, 4.0)
    model = ElasticViT(shape).eval().to("cuda")
    x = torch.randn(16, 1, 8, 8, device="cuda")
    latency = measure_latency(
        lambda: model(x, shape.largest), LatencySettings(device="cuda", batch_size=16)
    )
    assert latency.median_ms > 0 and latency.repeats >= 7


def test_a_burst_of_load_early_on_does_not_spoil_the_measurement():
    settings = LatencySettings(min_repeats=5, max_repeats=50, max_spread=0.05, max_seconds=1e9)
    burst = [30.0, 9.0, 55.0, 40.0, 70.0]
    latency = run_on(burst + [10.0, 10.1, 9.9, 10.0, 10.0] + [99.0] * 50, settings)
    assert latency.stable and latency.repeats == 9 and latency.median_ms == 10.0
