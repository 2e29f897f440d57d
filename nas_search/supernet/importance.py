"""Head and feed-forward unit importance, and reordering by it (DynaBERT).

A gate of 1 multiplies each attention head's output and each feed-forward unit; the gradient
of the task loss with respect to a gate, summed in absolute value over batches, is how much
the loss depends on that head or unit (Michel et al., 2019; Hou et al., 2020). Reordering the
weights so that the most important come first changes nothing the full model computes, but
makes a sub-network's slice of the first heads and units keep the important ones.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from nas_search.supernet.encoder import ElasticEncoder
from nas_search.supernet.task_data import Part
from nas_search.supernet.task_data import batches as task_batches


def importance(
    model: ElasticEncoder, part: Part, batches: int, batch_size: int, device: str = "cpu"
) -> tuple[list[Tensor], list[Tensor]]:
    """Per layer, the importance of each head and of each feed-forward unit of the full
    model, on the first ``batches`` batches of ``part`` (no dropout)."""
    shape = model.shape
    heads = [
        torch.ones(shape.heads, device=device, requires_grad=True) for _ in range(shape.layers)
    ]
    units = [
        torch.ones(shape.intermediate, device=device, requires_grad=True)
        for _ in range(shape.layers)
    ]
    gates = heads + units
    scores = [torch.zeros(g.shape, device=device) for g in gates]
    model.eval().to(device)
    for rows in task_batches(len(part), batch_size)[:batches]:
        inputs = {n: torch.from_numpy(v[rows]).to(device) for n, v in part.inputs.items()}
        labels = torch.from_numpy(part.labels[rows]).to(device)
        logits = model(inputs, shape.largest, gates={"heads": heads, "units": units})
        grads = torch.autograd.grad(F.cross_entropy(logits, labels), gates)
        for score, grad in zip(scores, grads, strict=True):
            score += grad.abs()
    found = [s.cpu() for s in scores]
    return found[: shape.layers], found[shape.layers :]


def order(scores: Tensor) -> Tensor:
    """Indices from most to least important (ties: the original order)."""
    return torch.from_numpy(np.argsort(-scores.numpy(), kind="stable"))


@torch.no_grad()
def reorder(model: ElasticEncoder, heads: list[Tensor], units: list[Tensor]) -> None:
    """Permute each layer's heads and units in place, most important first."""
    hd = model.shape.head_dim
    w = dict(model.body.named_parameters())
    for k in range(model.shape.layers):
        b = f"layers.{k}"
        rows = (order(heads[k])[:, None] * hd + torch.arange(hd)).reshape(-1)
        cols = order(units[k])
        for name, index in (("q", rows), ("k", rows), ("v", rows), ("fc1", cols)):
            w[f"{b}.{name}.weight"].copy_(w[f"{b}.{name}.weight"][index])
            w[f"{b}.{name}.bias"].copy_(w[f"{b}.{name}.bias"][index])
        w[f"{b}.o.weight"].copy_(w[f"{b}.o.weight"][:, rows])
        w[f"{b}.fc2.weight"].copy_(w[f"{b}.fc2.weight"][:, cols])
