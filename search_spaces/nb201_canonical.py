"""The canonical form of a NAS-Bench-201 cell: the same network, one encoding.

A cell has four nodes (0 the input, 3 the output) and six edges, ``op0`` 0->1, ``op1`` 0->2,
``op2`` 1->2, ``op3`` 0->3, ``op4`` 1->3, ``op5`` 2->3. An edge whose source node receives
nothing from the input (through edges other than ``none``), or whose target node reaches
nothing of the output, computes nothing the network uses: it is set to ``none``. Two cells
with one canonical form are one network (NAS-Bench-201 trained each encoding separately, so
their table rows differ only by training noise).

Use it as a space's identity hook: ``canonical: nb201_canonical.py:canonical``.
"""

from __future__ import annotations

from typing import Any

EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # op0 .. op5
NONE = "none"


def canonical(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with every dead edge set to ``none`` (other keys untouched)."""
    ops = [config[f"op{k}"] for k in range(len(EDGES))]
    live = [(s, t) for (s, t), op in zip(EDGES, ops, strict=True) if op != NONE]
    fed = {0}  # nodes the input reaches
    for s, t in sorted(live, key=lambda e: e[1]):  # edges point forward: one pass in order
        if s in fed:
            fed.add(t)
    feeds = {3}  # nodes that reach the output
    for s, t in sorted(live, key=lambda e: -e[0]):
        if t in feeds:
            feeds.add(s)
    out = dict(config)
    for k, ((s, t), op) in enumerate(zip(EDGES, ops, strict=True)):
        if op != NONE and not (s in fed and t in feeds):
            out[f"op{k}"] = NONE
    return out
