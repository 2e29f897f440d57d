"""Twins learned from the measurements: pairs by brute force, the detector on a space whose
encoding is many-to-one (NAS-Bench-201 cells made canonical: a dead edge changes nothing), and
a LINAS run without the space's hook, its repeats counted by brute force."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nas_search.config import load_space_file
from nas_search.evaluation import build_evaluator
from nas_search.search import run_search
from nas_search.search import twins as twins_module
from nas_search.search.twins import TwinDetector, changed_genes, close_pairs

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "search_spaces"))
from nb201_canonical import canonical  # noqa: E402

PARAMS = [f"op{k}" for k in range(6)]
TABLE = ROOT / "search_spaces" / "nb201_cifar10.csv.gz"


def test_close_pairs_against_brute_force():
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 3, (30, 5)), rng.integers(0, 3, (20, 5))
    i, j = close_pairs(A, B, 2)
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    brute = {
        (a, b)
        for a, b in itertools.product(range(30), range(20))
        if 1 <= int((A[a] != B[b]).sum()) <= 2
    }
    assert found == brute


def test_close_pairs_in_small_blocks_finds_the_same(monkeypatch):
    rng = np.random.default_rng(5)
    A, B = rng.integers(0, 3, (40, 6)), rng.integers(0, 3, (25, 6))
    expected = close_pairs(A, B, 3)
    monkeypatch.setattr(twins_module, "BLOCK_BYTES", 1)  # one row at a time
    for got, want in zip(close_pairs(A, B, 3), expected, strict=True):
        assert np.array_equal(got, want)


def test_changed_genes_counts_every_pair_in_blocks_of_any_size(monkeypatch):
    rng = np.random.default_rng(7)
    A, B = rng.integers(0, 3, (37, 6)), rng.integers(0, 3, (23, 6))
    brute = np.array([[int((a != b).sum()) for b in B] for a in A])
    for block_bytes, rows in ((1, 1), (6 * 23 * 5, 5), (10**9, 37)):  # 37: all at once
        monkeypatch.setattr(twins_module, "BLOCK_BYTES", block_bytes)
        blocks = list(changed_genes(A, B))
        assert [start for start, _ in blocks] == list(range(0, 37, rows))
        assert np.array_equal(np.vstack([changed for _, changed in blocks]), brute)
    assert list(changed_genes(A[:0], B)) == []


def test_a_wide_space_learns_from_a_bounded_number_of_pairs():
    genes, values = 200, 20  # 8,600 one-hot features a pair
    rng = np.random.default_rng(6)
    base = rng.integers(0, values, genes)
    vectors = np.repeat(base[None], 300, axis=0)
    for row in vectors[1:]:  # every pair within 4 genes of each other: 89,700 pairs
        row[rng.choice(genes, 2, replace=False)] = rng.integers(0, values, 2)
    values_measured = rng.random((300, 2))
    values_measured[1] = values_measured[0]  # one pair of twins
    detector = TwinDetector(np.full(genes, values - 1))
    assert detector.fit(vectors, values_measured) >= 1
    width = 2 * genes * values + genes
    most = twins_module.FEATURE_BYTES // (4 * width)
    assert most < 89_700 // 10
    assert detector.tree.tree_.n_node_samples[0] <= most + 2  # the twins, both ways, kept


@pytest.fixture(scope="module")
def cells():
    """Every NAS-Bench-201 cell as a vector, its canonical form's id, and metrics that are
    those of its canonical form (one network, one measurement)."""
    table = pd.read_csv(TABLE)
    ops = sorted(table["op0"].unique().tolist())
    vectors = np.array(list(itertools.product(range(len(ops)), repeat=6)))
    forms = [
        tuple(canonical({p: ops[g] for p, g in zip(PARAMS, v, strict=True)}).values())
        for v in vectors
    ]
    ids = {f: k for k, f in enumerate(dict.fromkeys(forms))}
    form_id = np.array([ids[f] for f in forms])
    rng = np.random.default_rng(1)
    metrics = rng.random((len(ids), 2))[form_id]
    return vectors, form_id, metrics, len(ops)


def test_without_twins_measured_nothing_is_judged_a_twin(cells):
    vectors, form_id, _, ops = cells
    one_each = np.unique(form_id, return_index=True)[1][:200]
    detector = TwinDetector(np.full(6, ops - 1))
    values = np.random.default_rng(2).random((len(one_each), 2))
    assert detector.fit(vectors[one_each], values) == 0
    assert not detector.twins(vectors[:500]).any()


def test_the_detector_learns_which_edges_are_dead(cells):
    vectors, form_id, metrics, ops = cells
    rng = np.random.default_rng(3)
    measured = rng.choice(len(vectors), 600, replace=False)
    detector = TwinDetector(np.full(6, ops - 1))
    assert detector.fit(vectors[measured], metrics[measured]) > 0
    rest = np.setdiff1d(np.arange(len(vectors)), measured)
    judged = detector.twins(vectors[rest])
    truth = np.isin(form_id[rest], form_id[measured])
    near = close_pairs(vectors[rest], vectors[measured], twins_module.RADIUS)[0]
    reachable = np.zeros(len(rest), dtype=bool)
    reachable[near] = True
    truth_near = truth & reachable
    recall = (judged & truth_near).sum() / truth_near.sum()
    precision = (judged & truth).sum() / judged.sum()
    assert recall > 0.8 and precision > 0.9, (recall, precision)


def test_candidates_are_judged_against_each_other_and_against_pending_ones(cells, monkeypatch):
    vectors, form_id, metrics, ops = cells
    rng = np.random.default_rng(4)
    measured = rng.choice(len(vectors), 600, replace=False)
    detector = TwinDetector(np.full(6, ops - 1))
    detector.fit(vectors[measured], metrics[measured])
    rest = np.setdiff1d(np.arange(len(vectors)), measured)
    fresh = rest[~detector.twins(vectors[rest])][:300]  # none judged a twin of a measured one
    pairs = detector.among(vectors[fresh])
    assert (pairs == pairs.T).all() and not pairs.diagonal().any()
    apart = (vectors[fresh][:, None, :] != vectors[fresh][None, :, :]).sum(axis=2)
    assert pairs[(apart >= 1) & (apart <= twins_module.NEIGHBOURS)].all()  # neighbours wait
    monkeypatch.setattr(twins_module, "NEIGHBOURS", 0)  # the judgments alone
    judged = detector.among(vectors[fresh])
    assert (pairs == (judged | (apart == 1))).all()
    i, j = np.nonzero(np.triu(judged))
    same = form_id[fresh][i] == form_id[fresh][j]
    assert len(i) > 20 and same.mean() > 0.9, (len(i), same.mean())
    # one of them proposed and still being measured: its twin is judged known already
    a, b = fresh[i[same][0]], fresh[j[same][0]]
    assert not detector.twins(vectors[[b]])[0]
    assert detector.twins(vectors[[b]], others=vectors[[a]])[0]
    # nothing learned (no twins seen): nothing judged, the neighbours alone wait
    monkeypatch.undo()
    untrained = TwinDetector(np.full(6, ops - 1)).among(vectors[fresh])
    assert (untrained == ((apart >= 1) & (apart <= twins_module.NEIGHBOURS))).all()


def _repeats(tmp_path, seed, budget, detect, monkeypatch):
    """Repeats of a LINAS run on the canonical table (no hook), counted by brute force."""
    if not detect:  # a detector that never learns: judges nothing, within a batch or not
        monkeypatch.setattr(TwinDetector, "fit", lambda self, vectors, values: 0)
    table = pd.read_csv(TABLE)
    keys = [tuple(r) for r in table[PARAMS].itertuples(index=False)]
    where = {k: i for i, k in enumerate(keys)}
    rows = [where[tuple(canonical(dict(zip(PARAMS, k, strict=True))).values())] for k in keys]
    metrics = ["test_acc", "lat_pixel3_ms"]
    table[metrics] = table[metrics].to_numpy()[rows]
    table[PARAMS + metrics].to_csv(tmp_path / "canonical.csv", index=False)
    space = {
        "name": "canonical",
        "parameters": {
            p: {"type": "categorical", "choices": sorted(table[p].unique().tolist())}
            for p in PARAMS
        },
        "objectives": [
            {"name": "test_acc", "direction": "maximize"},
            {"name": "lat_pixel3_ms", "direction": "minimize"},
        ],
        "evaluator": {"type": "table", "path": "canonical.csv", "metrics": metrics},
        "search": {"tactic": "linas", "budget": budget, "seed": seed},
    }
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space))
    definition = load_space_file(tmp_path / "space.yaml")
    run = tmp_path / f"run-{seed}-{detect}"
    run.mkdir()
    run_search(definition, build_evaluator(definition), run)
    frame = pd.read_csv(run / "results.csv")
    forms = [tuple(canonical(r._asdict()).values()) for r in frame[PARAMS].itertuples(index=False)]
    return len(forms) - len(set(forms))


def test_linas_pays_for_fewer_repeats_once_it_has_seen_twins(tmp_path, monkeypatch):
    with_detector = sum(_repeats(tmp_path, seed, 100, True, monkeypatch) for seed in (0, 1))
    monkeypatch.undo()
    without = sum(_repeats(tmp_path, seed, 100, False, monkeypatch) for seed in (0, 1))
    assert with_detector <= 0.75 * without, (with_detector, without)
