from __future__ import annotations

import itertools

import numpy as np
import pytest

from predictors import NAMES, AutoPredictor, Regressor, kendall_tau, make_predictor
from predictors.auto import selection_rows
from predictors.models import KINDS, RankTarget


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 6))
    y = 3 * X[:, 0] - 2 * X[:, 1] ** 2 + 0.5 * np.sin(6 * X[:, 2]) + 0.05 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("name", NAMES)
def test_contract(name):
    """Every predictor: fit returns self, predictions have the right shape, std >= 0, ranks well,
    and the same random_state gives the same predictions."""
    X, y = _data()
    Xt, yt = _data(40, seed=1)
    model = make_predictor(name, 7)
    assert model.fit(X, y) is model
    mean, std = model.predict(Xt, return_std=True)
    assert mean.shape == std.shape == (40,) and np.all(std >= 0) and np.all(np.isfinite(mean))
    assert np.array_equal(model.predict(Xt), mean)
    assert kendall_tau(yt, mean) > 0.5, name
    again = make_predictor(name, 7).fit(X, y).predict(Xt)
    assert np.allclose(again, mean)


def test_unknown_names():
    with pytest.raises(ValueError, match="predictor must be one of"):
        make_predictor("oracle")
    with pytest.raises(ValueError, match="kind must be one of"):
        Regressor("oracle").fit(*_data())


def test_kendall_tau_matches_brute_force():
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 5, 30).astype(float), rng.integers(0, 5, 30).astype(float)
    concordant = discordant = ties_a = ties_b = 0
    for i, j in itertools.combinations(range(30), 2):
        s = np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
        concordant += s > 0
        discordant += s < 0
        ties_a += a[i] == a[j] and b[i] != b[j]
        ties_b += b[i] == b[j] and a[i] != a[j]
    tau_b = (concordant - discordant) / np.sqrt(
        (concordant + discordant + ties_a) * (concordant + discordant + ties_b)
    )
    assert kendall_tau(a, b) == pytest.approx(tau_b)
    assert kendall_tau(np.ones(5), np.arange(5.0)) == 0.0


def test_rank_target_round_trip_and_extrapolates_monotonically():
    y = np.array([10.0, 85, 86, 90, 91, 93, 94])
    rank = RankTarget().fit(y)
    assert np.allclose(rank.inverse(rank.z_train_), y)
    z = np.linspace(-4, 4, 50)
    assert np.all(np.diff(rank.inverse(z)) >= 0)
    assert rank.inverse(np.array([5.0]))[0] > 94  # beyond the best seen, not clamped to it


def test_auto_chooses_on_prefixes_so_resumes_agree():
    X, y = _data(120)
    assert [selection_rows(n, 10, 1.5) for n in (5, 10, 14, 15, 22, 23, 120)] == [
        5,
        10,
        10,
        15,
        15,
        23,
        120,  # 10, 15, 23, 35, 53, 80, 120
    ]
    whole = AutoPredictor(random_state=1).fit(X, y)
    grown = AutoPredictor(random_state=1)
    for n in (30, 60, 90, 120):
        grown.fit(X[:n], y[:n])
    assert grown.choice_ == whole.choice_
    assert np.allclose(grown.predict(X), whole.predict(X))
    assert set(whole.scores_) == {"ridge", "gp", "extra_trees", "xgboost"}


def test_std_grows_away_from_the_data():
    X, y = _data(60)
    for kind in ("gp", "ridge", "extra_trees"):
        model = Regressor(kind, 0).fit(X, y)
        _, near = model.predict(X[:10], return_std=True)
        _, far = model.predict(X[:10] + 3.0, return_std=True)
        assert far.mean() > near.mean(), kind


def test_every_kind_is_listed():
    assert set(KINDS) <= set(NAMES)


@pytest.mark.parametrize("name", ["auto", "ensemble", "xgboost", "gp"])
def test_save_and_load_without_pickle(tmp_path, name):
    from predictors import load, save

    X, y = _data()
    model = make_predictor(name, 3).fit(X, y)
    save(model, X, y, tmp_path / "p")
    files = {p.name for p in (tmp_path / "p").iterdir()}
    assert {"predictor.json", "data.npz"} <= files
    assert ("xgboost.json" in files) == (getattr(model, "choice_", name) == "xgboost")
    again = load(tmp_path / "p")
    assert np.array_equal(again.predict(X[:20]), model.predict(X[:20]))


def test_a_gaussian_process_keeps_to_a_bounded_number_of_rows():
    from predictors.models import GP_MAX_ROWS

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(GP_MAX_ROWS + 300, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    a, b = Regressor("gp", 3).fit(X, y), Regressor("gp", 3).fit(X, y)
    assert a.estimator_.X_train_.shape == (GP_MAX_ROWS, 4)
    assert np.array_equal(a.predict(X[:50]), b.predict(X[:50]))  # the same rows, by seed
    assert kendall_tau(y, a.predict(X)) > 0.9  # still a model of all the data


@pytest.mark.parametrize("name", ["ridge", "xgboost", "ensemble", "auto"])
def test_predictors_follow_scikit_learns_contract(name):
    """Issue 13: clone, get_params and set_params(random_state=...) work."""
    from sklearn.base import clone

    from predictors import make_predictor

    model = make_predictor(name, 3)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    copy.set_params(random_state=5)
    assert copy.get_params()["random_state"] == 5


def test_any_scikit_learn_regressor_plugs_in():
    from predictors import make_predictor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X[:, 0] * 2 + rng.normal(scale=0.1, size=40)
    model = make_predictor("sklearn:sklearn.neighbors.KNeighborsRegressor", 0).fit(X, y)
    mean, std = model.predict(X, return_std=True)
    assert mean.shape == (40,) and np.all(std == 0)
    with pytest.raises(ValueError, match="cannot import regressor"):
        make_predictor("sklearn:sklearn.nothing.Here", 0).fit(X, y)


def test_a_saved_predictor_never_chooses_code_to_import(tmp_path):
    """A predictor.json is data: it may name built-in models only."""
    import json

    from predictors import load, save

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2)), rng.normal(size=12)
    save(Regressor("ridge", 0).fit(X, y), X, y, tmp_path / "p")
    info = json.loads((tmp_path / "p" / "predictor.json").read_text())
    (tmp_path / "p" / "predictor.json").write_text(
        json.dumps({**info, "kind": "sklearn:os.getcwd"})
    )
    with pytest.raises(ValueError, match="names a model that is not built in"):
        load(tmp_path / "p")


def test_which_models_give_a_spread_of_their_own():
    from predictors import Ensemble, gives_std
    from predictors.models import KINDS

    X = np.random.default_rng(0).normal(size=(30, 3))
    y = X[:, 0] + 0.1 * X[:, 1]
    for kind in KINDS:
        model = Regressor(kind, 0).fit(X, y)
        _, std = model.predict(X[:5], return_std=True)
        assert gives_std(model) == bool(np.any(std > 0)), kind
    assert gives_std(Ensemble(random_state=0).fit(X, y))
    assert not gives_std(object())


def test_auto_prefers_a_model_with_a_spread_when_it_ranks_nearly_as_well():
    from predictors.auto import _best
    from predictors.scoring import Score

    scores = {"ridge": Score(0.60, 1.0), "gp": Score(0.69, 1.0), "xgboost": Score(0.70, 0.5)}
    assert _best(("ridge", "gp", "xgboost"), scores, 0.02) == "gp"  # within 0.02 of the best
    assert _best(("ridge", "gp", "xgboost"), scores, 0.0) == "xgboost"
    tie = {"gp": Score(0.7, 1.0), "xgboost": Score(0.7, 0.5)}
    assert _best(("gp", "xgboost"), tie, 0.0) == "xgboost"  # off: rank, then RMSE, as ever
    scores["gp"] = Score(0.65, 1.0)
    assert _best(("ridge", "gp", "xgboost"), scores, 0.02) == "xgboost"  # too far behind
    assert (
        _best(("ridge", "xgboost"), {"ridge": Score(0.8, 1), "xgboost": Score(0.7, 1)}, 0.02)
        == "ridge"
    )


def test_ard_learns_a_cost_that_adds_up_over_layers_from_a_few_rows():
    """A latency summed over a cell's six edges (each operation its own cost, as on an FPGA):
    from 12 cells ARD ranks all 15,625 (brute force) almost exactly, far better than ridge,
    whose one prior spreads the cost over every feature."""
    rng = np.random.default_rng(0)
    cells = np.array(list(itertools.product(range(5), repeat=6)))
    onehot = (cells[:, :, None] == np.arange(5)).reshape(len(cells), -1).astype(float)
    counts = (cells[:, :, None] == np.arange(5)).sum(axis=1) / 6
    X = np.hstack([onehot, counts])
    cost = np.array([0.0, 0.2, 1.0, 3.0, 0.3])[cells].sum(axis=1) + 1.0
    rows = rng.choice(len(cells), 12, replace=False)
    taus = {
        kind: kendall_tau(cost, Regressor(kind, 0).fit(X[rows], cost[rows]).predict(X))
        for kind in ("ard", "ridge")
    }
    assert taus["ard"] > 0.95 and taus["ard"] > taus["ridge"] + 0.2, taus
    assert Regressor("ard").fit(X[rows], cost[rows]).rank_ is None  # on the measured values
