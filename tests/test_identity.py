"""The space's ``canonical`` hook: two encodings of one network are never both measured, the
journal and results show the canonical hash, resume and warm start follow it; checked by
brute force on a toy space with a many-to-one encoding and on NAS-Bench-201's cells."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from nas_search.config import load_space_file
from nas_search.encoding import digest
from nas_search.errors import SpaceError
from nas_search.evaluation import build_evaluator
from nas_search.results.journal import JOURNAL, read_journal
from nas_search.results.rundir import create_run
from nas_search.search import run_search

ROOT = Path(__file__).resolve().parents[1]

LIB = """
def canonical(config):
    out = dict(config)
    if out["gate"] == "off":  # a switched-off branch: its width changes nothing
        out["width"] = 0
    return out

def twice(config):  # not idempotent: maps 1 -> 2 -> 3
    out = dict(config)
    out["width"] = min(out["width"] + 1, 3)
    return out

def broken(config):
    return {"gate": "sideways"}

def evaluate(config):
    c = canonical(config)
    score = {"off": 0.0, "x": 1.0, "y": 1.5}[c["gate"]] + 0.3 * c["width"] + 0.2 * c["bias"]
    return {"score": score, "cost": 1 + c["width"] * (c["gate"] != "off") + c["bias"]}
"""

SPACE = """
name: gated
parameters:
  gate: {{type: categorical, choices: ["off", x, y]}}
  width: {{type: ordinal, choices: [0, 1, 2, 3]}}
  bias: {{type: categorical, choices: [0, 1]}}
canonical: {hook}
objectives:
  - {{name: score, direction: maximize}}
  - {{name: cost, direction: minimize}}
evaluator: {{type: python, function: gatedlib.py:evaluate}}
search: {{tactic: {tactic}, budget: {budget}, initial: 6, batch: 4, seed: 3,
         isolation: none{extra}}}
"""
NETWORKS = 2 + 2 * 4 * 2  # gate off: bias only; gate x or y: width and bias


def _space(tmp_path, tactic="random", budget=NETWORKS, hook="gatedlib.py:canonical", extra=""):
    (tmp_path / "gatedlib.py").write_text(textwrap.dedent(LIB))
    path = tmp_path / f"{tactic}-{budget}.yaml"
    path.write_text(SPACE.format(tactic=tactic, budget=budget, hook=hook, extra=extra))
    return load_space_file(path)


def _run(definition, run_dir):
    run_search(definition, build_evaluator(definition), run_dir)
    return pd.read_csv(run_dir / "results.csv")


def _forms(frame):
    return [(r.gate, 0 if r.gate == "off" else r.width, r.bias) for r in frame.itertuples()]


def test_enumeration_has_one_vector_per_network(tmp_path):
    space = _space(tmp_path).space
    assert len(space.enumerate()) == NETWORKS
    assert space.cardinality() == 24  # encodings: the hook is not counted analytically


@pytest.mark.parametrize("tactic", ["random", "evolutionary", "linas"])
def test_two_encodings_of_one_network_are_never_both_measured(tmp_path, tactic):
    budget = NETWORKS if tactic == "random" else 14
    definition = _space(tmp_path, tactic, budget)
    frame = _run(definition, create_run(definition, tmp_path / "run"))
    assert len(frame) == budget
    forms = _forms(frame)
    assert len(set(forms)) == len(forms)  # brute force: no network measured twice
    for row in frame.itertuples():  # the journal and table show the canonical form's hash
        config = {"gate": row.gate, "width": int(row.width), "bias": int(row.bias)}
        assert row.width == 0 or row.gate != "off"
        assert row.hash == digest(config)


def test_resume_and_warm_start_follow_the_hook(tmp_path):
    definition = _space(tmp_path, "linas", 14)
    full = _run(definition, create_run(definition, tmp_path / "full"))
    cut = create_run(definition, tmp_path / "cut")
    records = read_journal((tmp_path / "full") / JOURNAL)[0]
    keep = [r for r in records if not (r["type"] == "evaluation" and r["id"] >= 9)]
    keep = keep[
        : next(k for k, r in enumerate(keep) if r["type"] == "batch" and r["iteration"] == 2) + 1
    ]
    (cut / JOURNAL).write_text("".join(json.dumps(r) + "\n" for r in keep))
    resumed = _run(definition, cut)
    columns = ["id", "hash", "gate", "width", "bias", "score", "cost"]
    assert resumed[columns].equals(full[columns])

    warm = _space(tmp_path, "linas", 6, extra=f", warm_start: {tmp_path / 'full' / 'results.csv'}")
    frame = _run(warm, create_run(warm, tmp_path / "warm"))
    assert len(set(_forms(frame))) == len(frame) == 6


def test_a_hook_that_misbehaves_is_one_line(tmp_path):
    with pytest.raises(SpaceError, match="canonical: no such file"):
        _space(tmp_path, hook="missing.py:canonical")
    cases = [
        ("gatedlib.py:twice", "is not idempotent"),
        ("gatedlib.py:broken", "returned a config that does not fit"),
    ]
    for hook, message in cases:
        space = _space(tmp_path, hook=hook).space
        with pytest.raises(SpaceError, match=message):
            space.enumerate()


def test_nb201_cells_collapse_to_their_canonical_networks(tmp_path):
    text = (ROOT / "search_spaces" / "nb201.yaml").read_text()
    text = text.replace(
        "path: nb201_cifar10.csv.gz", f"path: {ROOT / 'search_spaces' / 'nb201_cifar10.csv.gz'}"
    )
    hook = ROOT / "search_spaces" / "nb201_canonical.py"
    path = tmp_path / "nb201c.yaml"
    path.write_text(f"canonical: {hook}:canonical\n" + text)
    definition = load_space_file(path)
    assert len(definition.space.enumerate()) == 9445  # of 15,625 cells
    from nas_search.config import override_settings

    definition = definition.with_settings(override_settings(definition.settings, {"budget": 40}))
    frame = _run(definition, create_run(definition, tmp_path / "run"))
    assert frame["hash"].is_unique and len(frame) == 40
    import sys

    sys.path.insert(0, str(hook.parent))
    from nb201_canonical import canonical

    ops = [f"op{k}" for k in range(6)]
    for row in frame[ops].itertuples(index=False):  # every measured cell is canonical
        config = dict(zip(ops, row, strict=True))
        assert canonical(config) == config
