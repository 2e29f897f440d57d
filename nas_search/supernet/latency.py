"""Latency of a forward pass, measured the way a benchmark should be.

Inference mode, a fixed thread count, warm-up, then timed samples until their spread (the
interquartile range over the median, of the last ``min_repeats`` samples) is small or a cap is
hit. A sample times enough calls to last ``min_sample_ms``, so sub-millisecond models are not
timed at the clock's resolution.
On CUDA, CUDA events bracket the calls and the device is synchronised. The median and the IQR
are reported; a measurement whose spread stayed high is flagged ``stable=False``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nas_search.supernet.settings import LatencySettings


@dataclass(frozen=True)
class Latency:
    median_ms: float
    iqr_ms: float
    repeats: int
    stable: bool


def relative_spread_of(median: float, iqr: float) -> float:
    return iqr / median if median > 0 else math.inf


def summarize(samples: list[float]) -> tuple[float, float]:
    """Median and interquartile range."""
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return float(median), float(q3 - q1)


def timed_samples(
    sample: Callable[[], float], settings: LatencySettings, clock: Callable[[], float]
) -> Latency:
    """Draw samples (ms per call) until the last ``min_repeats`` of them agree (their IQR over
    their median is at most ``max_spread``), or until ``max_repeats`` or ``max_seconds``.

    The median and IQR of those last samples are the result: a burst of load from elsewhere
    early on does not spoil a measurement that then settles. ``sample`` returns one sample;
    ``clock`` (seconds) bounds the time spent.
    """
    start = clock()
    samples: list[float] = []
    while True:
        samples.append(sample())
        n = len(samples)
        if n < settings.min_repeats:
            continue
        median, iqr = summarize(samples[-settings.min_repeats :])
        small = relative_spread_of(median, iqr) <= settings.max_spread
        if small or n >= settings.max_repeats or clock() - start >= settings.max_seconds:
            return Latency(median, iqr, n, small)


def measure_latency(run: Callable[[], object], settings: LatencySettings) -> Latency:
    """Latency of ``run()`` (a forward pass, already in inference mode) in milliseconds."""
    import torch

    cuda = settings.device.startswith("cuda")

    def timed(calls: int) -> float:
        """Milliseconds per call over ``calls`` calls."""
        if cuda:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(settings.device)
            begin.record()
            for _ in range(calls):
                run()
            end.record()
            torch.cuda.synchronize(settings.device)
            return float(begin.elapsed_time(end)) / calls
        t0 = time.perf_counter()
        for _ in range(calls):
            run()
        return (time.perf_counter() - t0) * 1e3 / calls

    with torch.inference_mode():
        once = min(timed(1) for _ in range(max(1, settings.warmup)))
        calls = max(1, math.ceil(settings.min_sample_ms / max(once, 1e-6)))
        return timed_samples(lambda: timed(calls), settings, time.perf_counter)


def latency_metrics(latency: Latency, settings: LatencySettings) -> dict[str, float]:
    """A measurement as the metrics an evaluator returns (the thread count recorded)."""
    return {
        "latency_ms": latency.median_ms,
        "latency_iqr_ms": latency.iqr_ms,
        "latency_unstable": float(not latency.stable),
        "threads": float(settings.threads),
    }
