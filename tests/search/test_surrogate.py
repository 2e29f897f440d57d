"""What the predicted columns say: no uncertainty where the model gives none (empty, not 0),
and no prediction below 0 for a metric that was never measured below 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nas_search.config import load_space_file
from nas_search.evaluation import build_evaluator
from nas_search.results.rundir import create_run
from nas_search.search import run_search
from nas_search.search.surrogate import Surrogate
from tests.conftest import TOY

SPACE = TOY.replace(
    "tactic: random, budget: 12, batch: 4, seed: 3",
    "tactic: linas, budget: 16, batch: 4, initial: 6, seed: 1, predictor: {predictor}",
)


def _run(write_space, tmp_path, predictor):
    definition = load_space_file(write_space(SPACE.replace("{predictor}", predictor)))
    run_dir = create_run(definition, tmp_path / predictor)
    run_search(definition, build_evaluator(definition), run_dir)
    return pd.read_csv(run_dir / "results.csv"), pd.read_csv(run_dir / "predicted_pareto.csv")


def test_uncertainty_is_empty_where_the_model_gives_none(write_space, tmp_path):
    results, predicted = _run(write_space, tmp_path, "xgboost")
    guided = results[results["predicted_score"].notna()]
    assert len(guided) >= 8
    assert guided["uncertainty_score"].isna().all() and guided["uncertainty_cost"].isna().all()
    assert predicted["uncertainty_score"].isna().all()
    results, _ = _run(write_space, tmp_path, "gp")
    guided = results[results["predicted_score"].notna()]
    assert (guided["uncertainty_score"] > 0).all()


def test_a_metric_never_measured_below_zero_is_not_shown_below_zero(write_space):
    definition = load_space_file(write_space(SPACE.replace("{predictor}", "ridge")))
    surrogate = Surrogate(definition, build_evaluator(definition), "ridge")
    space = definition.space
    rng = np.random.default_rng(0)
    vectors = space.sample(rng, 12)
    measured = np.column_stack([rng.normal(size=12), rng.uniform(0, 5, size=12)])
    surrogate.fit(vectors, measured, seed=0)
    assert surrogate.non_negative == {1}  # cost; score went below 0
    assert surrogate.shown(1, -0.7) == 0.0 and surrogate.shown(0, -0.7) == -0.7
