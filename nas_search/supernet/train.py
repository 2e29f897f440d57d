"""Weight-sharing training with the sandwich rule, and top-1 accuracy of a sub-network.

Each step trains the largest and the smallest sub-network and a few random ones on the same
batch (gradients summed, one optimizer step); the largest learns from the labels, the others
also from its soft predictions (in-place distillation, as in BigNAS and OFA).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nas_search.errors import EvaluatorError
from nas_search.supernet.data import Splits
from nas_search.supernet.settings import TrainSettings

Sampler = Callable[[np.random.Generator], Any]  # a sub-network of the model's family
OnEpoch = Callable[[int, int, float], None]  # epoch done, epochs, mean loss


@contextmanager
def seeded(seed: int, device: str = "cpu") -> Iterator[None]:
    """torch's own random draws inside (weight initialisation, dropout) come from ``seed``;
    the global generator is restored afterwards, so no seeding leaks out of the block."""
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def shifted(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by up to ``shift`` pixels each way (edges repeated): augmentation."""
    if shift == 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (shift,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * shift + 1, (2, b), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]
    return padded[torch.arange(b)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def accuracy(model: Any, sub: Any, x: np.ndarray, y: np.ndarray, device: str = "cpu") -> float:
    """Top-1 accuracy in percent of ``model(x, sub)``, in inference mode on ``device``."""
    model.eval().to(device)
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(x), 512):
            logits = model(torch.from_numpy(x[start : start + 512]).to(device), sub)
            labels = torch.from_numpy(y[start : start + 512]).to(device)
            correct += int((logits.argmax(1) == labels).sum())
    return 100.0 * correct / len(x)


def train_device(asked: str, where: str) -> str:
    """The device to train on: ``auto`` is the GPU when torch sees one, else the CPU."""
    if asked == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if asked.startswith("cuda") and not torch.cuda.is_available():
        raise EvaluatorError(f"{where}: CUDA is not available here, got {asked!r}")
    return asked


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op threads set to ``threads`` inside, restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_supernet(
    model: Any,
    splits: Splits,
    largest: Any,
    smallest: Any,
    sample: Sampler,
    settings: TrainSettings,
    on_epoch: OnEpoch | None = None,
    device: str = "cpu",
) -> None:
    """Train ``model`` in place on ``device``; deterministic for a seed on one machine, device
    and thread count (run it inside :func:`torch_threads` and :func:`seeded`)."""
    rng = np.random.default_rng(settings.seed)
    x = torch.from_numpy(splits.x_train)
    y = torch.from_numpy(splits.y_train)
    model.to(device)
    steps_per_epoch = math.ceil(len(x) / settings.batch_size)
    total = settings.epochs * steps_per_epoch
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    warmup = max(1, total // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
        ),
    )
    order = torch.Generator().manual_seed(settings.seed)
    if on_epoch is not None:  # training starts: the view knows how many epochs to expect
        on_epoch(0, settings.epochs, math.nan)
    for epoch in range(settings.epochs):
        model.train()
        losses = []
        for batch in torch.randperm(len(x), generator=order).split(settings.batch_size):
            xb = shifted(x[batch], settings.shift, order).to(device)
            yb = y[batch].to(device)
            optimizer.zero_grad(set_to_none=True)
            teacher = model(xb, largest)
            loss = F.cross_entropy(teacher, yb, label_smoothing=settings.label_smoothing)
            loss.backward()
            soft = F.softmax(teacher.detach(), dim=1)
            students = [smallest] + [sample(rng) for _ in range(settings.random_subnets)]
            for sub in students:
                logits = model(xb, sub)
                student = F.cross_entropy(logits, yb, label_smoothing=settings.label_smoothing)
                student = 0.5 * student + 0.5 * F.cross_entropy(logits, soft)
                student.backward()
                loss = loss + student.detach()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()) / (1 + len(students)))
        if on_epoch is not None:
            on_epoch(epoch + 1, settings.epochs, float(np.mean(losses)))
    model.eval().cpu()
