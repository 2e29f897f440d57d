"""InstaTune: a pretrained encoder made elastic while it is fine-tuned on the user's task.

Each step, the full model (the space's largest sub-network) learns from the labels; one or
more random sub-networks, and with ``sandwich`` the smallest, learn from its logits (KL
divergence at a temperature: in-place distillation); the loss is the full model's cross-entropy
plus the students' mean KL. (Their sum, at a learning rate that fine-tunes the full model well
alone, collapsed the model to chance in ``benchmarks/instatune.py``: one teacher's gradient
drowned by three students'.) AdamW with linear warm-up and decay, gradient accumulation,
gradient clipping. Deterministic for a seed on one machine, device and
thread count (run it inside :func:`~.train.torch_threads` and :func:`~.train.seeded`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from nas_search.supernet.encoder import ElasticEncoder
from nas_search.supernet.encoder_arch import EncoderSubnet
from nas_search.supernet.settings import FinetuneSettings
from nas_search.supernet.task_data import Part, batches

Sampler = Callable[[np.random.Generator], EncoderSubnet]
#: after each epoch: epoch done, epochs, mean loss, validation accuracy of the full model
OnEpoch = Callable[[int, int, float, float], None]


def accuracy(model: ElasticEncoder, sub: EncoderSubnet, part: Part, device: str = "cpu") -> float:
    """Top-1 accuracy in percent, in inference mode."""
    was_training = model.training
    model.eval()
    correct = 0
    with torch.inference_mode():
        for rows in batches(len(part), 256):
            inputs = {k: torch.from_numpy(v[rows]).to(device) for k, v in part.inputs.items()}
            logits = model(inputs, sub)
            labels = torch.from_numpy(part.labels[rows]).to(device)
            correct += int((logits.argmax(1) == labels).sum())
    model.train(was_training)
    return 100.0 * correct / max(1, len(part))


def _optimizer(model: ElasticEncoder, settings: FinetuneSettings) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases, norms and embeddings' position/class tokens."""
    decay: list[torch.nn.Parameter] = []
    plain: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "norm" not in name else plain).append(p)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings.weight_decay},
            {"params": plain, "weight_decay": 0.0},
        ],
        lr=settings.lr,
    )


def finetune(
    model: ElasticEncoder,
    train: Part,
    validation: Part,
    largest: EncoderSubnet,
    smallest: EncoderSubnet,
    sample: Sampler,
    settings: FinetuneSettings,
    on_epoch: OnEpoch | None = None,
    device: str = "cpu",
) -> list[dict[str, float]]:
    """Fine-tune ``model`` in place on ``device``; returns each epoch's loss and validation
    accuracy (full model)."""
    rng = np.random.default_rng(settings.seed)
    order = torch.Generator().manual_seed(settings.seed)
    model.to(device)
    per_epoch = math.ceil(math.ceil(len(train) / settings.batch_size) / settings.accumulate)
    total = max(1, settings.epochs * per_epoch)
    warmup = int(settings.warmup * total)
    optimizer = _optimizer(model, settings)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            (step + 1) / (warmup + 1)
            if step < warmup
            else max(0.0, (total - step) / max(1, total - warmup))
        ),
    )
    t = settings.temperature
    history = []
    if on_epoch is not None:  # fine-tuning starts: the view knows how many epochs to expect
        on_epoch(0, settings.epochs, math.nan, math.nan)
    for epoch in range(settings.epochs):
        model.train()
        losses = []
        chunks = torch.randperm(len(train), generator=order).split(settings.batch_size)
        optimizer.zero_grad(set_to_none=True)
        for k, rows in enumerate(chunks):
            idx = rows.numpy()
            inputs = {n: torch.from_numpy(v[idx]).to(device) for n, v in train.inputs.items()}
            labels = torch.from_numpy(train.labels[idx]).to(device)
            teacher = model(inputs, largest)
            loss = F.cross_entropy(teacher, labels)
            (loss / settings.accumulate).backward()
            total_loss = float(loss.detach())
            if settings.elastic:
                soft = F.log_softmax(teacher.detach() / t, dim=-1)
                students = [smallest] if settings.sandwich else []
                students += [sample(rng) for _ in range(settings.random_subnets)]
                for sub in students:  # their mean: see the module's note
                    log_p = F.log_softmax(model(inputs, sub) / t, dim=-1)
                    kl = F.kl_div(log_p, soft, log_target=True, reduction="batchmean") * t * t
                    (kl / (len(students) * settings.accumulate)).backward()
                    total_loss += float(kl.detach()) / len(students)
            losses.append(total_loss)
            if (k + 1) % settings.accumulate == 0 or k + 1 == len(chunks):
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
        record = {
            "loss": float(np.mean(losses)),
            "accuracy": accuracy(model, largest, validation, device),
        }
        history.append(record)
        if on_epoch is not None:
            on_epoch(epoch + 1, settings.epochs, record["loss"], record["accuracy"])
    model.eval().cpu()
    return history
