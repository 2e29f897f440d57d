"""Every tactic x algorithm x objective count, on a cheap analytic evaluator: exact budget, no
repeats, no infeasible measurement; determinism; resume in the middle of an iteration."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from nas_search.config import load_space_file
from nas_search.evaluation import build_evaluator
from nas_search.results.journal import JOURNAL, read_journal
from nas_search.results.tables import WALL_CLOCK
from nas_search.search import list_tactics, run_search
from nas_search.settings import ALGORITHMS

METRICS = ["score", "cost", "params_k", "width"]
DIRECTIONS = ["maximize", "minimize", "minimize", "maximize"]

SPACE = """
name: quad
parameters:
  depth: {{type: integer, low: 1, high: 4}}
  embed: {{type: ordinal, choices: [16, 24, 32, 48]}}
  act: {{type: categorical, choices: [relu, gelu, silu]}}
  heads: {{type: ordinal, choices: [1, 2, 4], per_layer: depth}}
constraints: ["embed % heads[i] == 0", "params_k <= 60"]
objectives: [{objectives}]
evaluator:
  type: python
  function: quadlib.py:evaluate
  metrics: [score, cost, params_k, width]
  exact: [params_k]
  exact_function: quadlib.py:exact
search: {{tactic: {tactic}, algorithm: {algorithm}, budget: {budget}, initial: 5, batch: 3,
          population: 12, predictor: {predictor}, seed: {seed}}}
"""

QUADLIB = """
import math

def exact(config):
    return {"params_k": config["embed"] * sum(config["heads"]) / 4.0}

def evaluate(config):
    h = config["heads"]
    score = math.log(config["embed"]) + 0.3 * len(h) + 0.1 * sum(h)
    score -= 0.05 * (config["act"] == "silu")
    cost = config["embed"] * len(h) * (1 + 0.2 * max(h))
    return {"score": score, "cost": cost, "width": config["embed"] / max(h), **exact(config)}
"""


def _definition(
    tmp_path, *, tactic="linas", algorithm="nsga2", n_obj=2, budget=10, predictor="ridge", seed=0
):
    (tmp_path / "quadlib.py").write_text(QUADLIB)
    objectives = ", ".join(
        f"{{name: {m}, direction: {d}}}"
        for m, d in list(zip(METRICS, DIRECTIONS, strict=True))[:n_obj]
    )
    path = tmp_path / "quad.yaml"
    path.write_text(
        SPACE.format(
            objectives=objectives,
            tactic=tactic,
            algorithm=algorithm,
            budget=budget,
            predictor=predictor,
            seed=seed,
        )
    )
    return load_space_file(path)


def _run(definition, run_dir):
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_search(definition, build_evaluator(definition), run_dir)


def _stable(run_dir):
    records, _ = read_journal(run_dir / JOURNAL)
    drop = set(WALL_CLOCK)
    return [
        json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True) for r in records
    ]


@pytest.mark.parametrize("n_obj", [2, 3, 4])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("tactic", ["linas", "evolutionary"])
def test_every_tactic_algorithm_and_objective_count(tmp_path, tactic, algorithm, n_obj):
    definition = _definition(tmp_path, tactic=tactic, algorithm=algorithm, n_obj=n_obj)
    outcome = _run(definition, tmp_path / "run")
    frame = pd.read_csv(tmp_path / "run" / "results.csv")
    assert (frame["status"] == "ok").sum() == 10 == len(frame)  # exactly the budget
    assert frame["hash"].is_unique  # never the same sub-network twice
    assert (frame["params_k"] <= 60).all()  # never a constraint-violating one
    for config in outcome.history.evaluations:
        c = config.proposal.config
        assert all(c["embed"] % h == 0 for h in c["heads"])
    if tactic == "linas":
        batches = [r for r in read_journal(tmp_path / "run" / JOURNAL)[0] if r["type"] == "batch"]
        assert "predictors" in batches[-1]["info"] and batches[-1]["state"]["population"]
        model_rows = frame[frame["iteration"] > 0]
        objective_names = [o.name for o in definition.objectives]
        for name in objective_names:
            if name == "params_k":  # exact: computed, never predicted
                assert (model_rows[f"predicted_{name}"] == model_rows[name]).all()
                assert (model_rows[f"uncertainty_{name}"] == 0).all()
            else:
                assert model_rows[f"predicted_{name}"].notna().all()


def test_random_tactic_with_several_objectives(tmp_path):
    definition = _definition(tmp_path, tactic="random", n_obj=4)
    _run(definition, tmp_path / "run")
    assert len(pd.read_csv(tmp_path / "run" / "results.csv")) == 10


@pytest.mark.parametrize("tactic", sorted(list_tactics()))
def test_same_seed_same_run_other_seed_differs(tmp_path, tactic):
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        definition = _definition(tmp_path, tactic=tactic, budget=14, predictor="auto", seed=seed)
        _run(definition, tmp_path / name)
        runs[name] = _stable(tmp_path / name)
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]


@pytest.mark.parametrize("tactic", sorted(list_tactics()))
def test_resume_in_the_middle_of_an_iteration(tmp_path, tactic):
    definition = _definition(tmp_path, tactic=tactic, budget=16, predictor="auto", seed=2)
    _run(definition, tmp_path / "full")
    full = _stable(tmp_path / "full")
    lines = (tmp_path / "full" / JOURNAL).read_bytes().split(b"\n")
    cuts = [
        k
        for k in range(1, len(lines) - 1)
        if b'"type":"evaluation"' in lines[k] and b'"type":"evaluation"' in lines[k + 1]
    ]
    assert cuts, "no batch with two evaluations"
    for cut in cuts[:: max(1, len(cuts) // 4)]:  # mid-batch, after `cut` evaluations
        run = tmp_path / f"cut{cut}"
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir()
        (run / JOURNAL).write_bytes(b"\n".join(lines[: cut + 1]) + b"\n" + lines[cut + 1][:20])
        _run(definition, run)  # resume: fresh tactic, state from the journal
        assert _stable(run) == full, cut


def test_warm_start_trains_on_an_earlier_run(tmp_path):
    first = _definition(tmp_path, tactic="linas", budget=12)
    _run(first, tmp_path / "first")
    settings = first.settings.model_copy(
        update={"warm_start": str(tmp_path / "first" / "results.csv"), "seed": 9}
    )
    _run(first.with_settings(settings), tmp_path / "second")
    batches = [r for r in read_journal(tmp_path / "second" / JOURNAL)[0] if r["type"] == "batch"]
    # 12 earlier measurements >= initial (5): no design, the first batch is model-based
    assert batches[0]["info"]["training_rows"] == 12
    assert (tmp_path / "second" / "predicted_pareto.csv").exists()


def test_predicted_front_is_written(tmp_path):
    definition = _definition(tmp_path, tactic="linas", budget=12)
    _run(definition, tmp_path / "run")
    front = pd.read_csv(tmp_path / "run" / "predicted_pareto.csv")
    assert len(front) >= 1
    assert {"predicted_score", "uncertainty_score", "predicted_cost", "heads"} <= set(front.columns)
    params = ["depth", "embed", "act", "heads"]
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    measured = set(map(tuple, results[params].astype(str).to_numpy()))
    predicted = set(map(tuple, front[params].astype(str).to_numpy()))
    assert len(predicted) == len(front) and not predicted & measured  # distinct, never measured


def test_linas_reference_point_is_the_bound_else_the_design_median(tmp_path):
    from types import SimpleNamespace

    from nas_search.search.linas import LinasTactic

    definition = _definition(tmp_path, tactic="linas")
    design = [
        SimpleNamespace(iteration=0, metrics={"score": s, "cost": c})
        for s, c in [(1.0, 50.0), (2.0, 10.0), (3.0, 40.0), (4.0, 20.0), (5.0, 30.0)]
    ]
    later = [SimpleNamespace(iteration=3, metrics={"score": 9.0, "cost": 1.0})] * 10
    evaluator = build_evaluator(definition)
    tactic = LinasTactic(definition, evaluator)
    # minimization form: -median score, median cost; targeted later batches do not move it
    assert tactic._reference(design + later).tolist() == [-3.0, 30.0]
    assert tactic._reference(design[:4]) is None  # too few to estimate a median

    bounded = definition.file.model_copy(deep=True)
    bounded.objectives[0].bound = 4.5  # at least 4.5 score: only that part of the front counts
    definition.file = bounded
    tactic = LinasTactic(definition, evaluator)
    assert tactic._reference(design).tolist() == [-4.5, 30.0]
    assert tactic._reference(design[:4]) is None
    bounded.objectives[1].bound = 25.0
    assert tactic._reference([]).tolist() == [-4.5, 25.0]  # every objective bounded


@pytest.mark.parametrize("tactic", sorted(list_tactics()))
def test_every_tactic_keeps_the_contract(tmp_path, tactic):
    """A registered tactic is a :class:`Tactic`; it spends the budget exactly on distinct
    feasible sub-networks, its state is JSON and survives a resume (the suites above)."""
    from nas_search.search import Tactic, make_tactic

    definition = _definition(tmp_path, tactic=tactic, budget=12)
    tactic_object = make_tactic(definition, build_evaluator(definition))
    assert isinstance(tactic_object, Tactic)
    json.dumps(tactic_object.state())
    outcome = _run(definition, tmp_path / "run")
    evaluations = outcome.history.evaluations
    assert len(evaluations) == 12 and len({e.proposal.hash for e in evaluations}) == 12
    vectors = [e.proposal.vector for e in evaluations]
    evaluator = build_evaluator(definition)
    assert not any(definition.space.violations(np.array(vectors), evaluator.exact))
