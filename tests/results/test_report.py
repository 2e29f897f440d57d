"""The report's figures as data (staircase, fitted axes, hypervolume curves, predictions,
importance) against oracles, and the HTML it assembles."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from nas_search.config import ObjectiveSpec
from nas_search.results.evidence import (
    RunData,
    common_report,
    feature_group,
    hypervolume_curve,
    permutation_importance,
    predictions,
)
from nas_search.results.plot import fitted_limits, staircase
from nas_search.results.report import build_report, svg_of

ACC = ObjectiveSpec(name="acc", direction="maximize")
LAT = ObjectiveSpec(name="lat", direction="minimize")


def test_the_staircase_bounds_what_the_front_dominates():
    front = np.array([[90.0, 5.0], [80.0, 2.0], [95.0, 9.0]])  # accuracy up, latency down
    line = staircase(front, [ACC, LAT], reference=(70.0, 10.0))
    # from the reference's latency down to the most accurate point, then a horizontal run
    # toward less accuracy and a vertical one down to the next point, ..., out to the
    # reference's accuracy
    expected = [[95, 10], [95, 9], [90, 9], [90, 5], [80, 5], [80, 2], [70, 2]]
    assert line.tolist() == expected
    assert staircase(front, [ACC, LAT], None).tolist() == expected[1:-1]
    assert staircase(np.empty((0, 2)), [ACC, LAT], None).shape == (0, 2)


def test_fitted_axes_leave_a_degenerate_front_member_out():
    every = np.array([10.0, 88, 89, 90, 91, 92, 93, 87, 90.5])
    front = np.array([10.0, 90, 91, 93])
    lo, hi = fitted_limits(front, ACC, every=every)
    assert 80 < lo < 90 and 93 <= hi < 95  # the 10% cell is not squeezing the front
    lo, hi = fitted_limits(front, ACC)  # without the measured values, everything is shown
    assert lo < 10
    crowd = np.array([0.27, 0.40, 0.41, 0.41, 0.42, 0.42, 0.43, 0.43, 0.44])
    fast = fitted_limits(np.array([0.27, 0.41, 0.44]), LAT, every=crowd)
    assert fast[0] < 0.27  # an outlier on the better side is the front's point: shown
    lo, hi = fitted_limits(np.array([2.0, 4.0]), LAT, extra=[5.0])  # a bound in reach
    assert hi >= 5.0


def test_feature_groups_follow_the_feature_map_names():
    names = ["embed=32", "heads[2]=4", "sum(mlp_ratio)", "mean(mlp_ratio)", "depth",
             "count(heads=4)", "count(op0,op1=conv)", "log|params_m|", "mlp_ratio[1]"]  # fmt: skip
    assert [feature_group(n) for n in names] == [
        "embed", "heads", "mlp_ratio", "mlp_ratio", "depth", "heads", "counts over op0,op1",
        "exact params_m", "mlp_ratio",
    ]  # fmt: skip


def test_permutation_importance_finds_the_parameter_that_matters():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = 3 * X[:, 0] - 2 * X[:, 1] + 0.01 * X[:, 3]
    model = LinearRegression().fit(X, y)
    found = permutation_importance(model, X, y, ["a", "a", "b", "c"], repeats=3)
    assert list(found) == ["a", "c", "b"]
    assert found["a"] > 0.5 and abs(found["b"]) < 1e-9


def _frame(rows):
    return pd.DataFrame(rows, columns=["id", "iteration", "hash", "acc", "lat", "predicted_acc",
                                       "status"])  # fmt: skip


def test_predictions_and_their_rank_correlation_per_batch():
    frame = _frame([
        (0, 0, "a", 90, 1, np.nan, "ok"),
        (1, 1, "b", 91, 2, 80.0, "ok"), (2, 1, "c", 92, 3, 85.0, "ok"),
        (3, 1, "d", 93, 4, 90.0, "ok"), (4, 1, "e", 0, 0, 70.0, "failed"),
        (5, 2, "f", 94, 5, 90.0, "ok"), (6, 2, "g", 95, 6, 80.0, "ok"),
        (7, 2, "h", 96, 7, 70.0, "ok"),
    ])  # fmt: skip
    (found,) = predictions(frame, [ACC, LAT])
    assert found.name == "acc" and len(found.measured) == 6
    assert found.tau_per_batch == [(1, 1.0), (2, -1.0)]


def test_hypervolume_curve_ends_at_the_reports_normalized_hypervolume(nb201_runs):
    runs = [RunData.load(d) for d in nb201_runs]
    objectives = list(runs[0].definition.objectives)
    common = common_report(runs, objectives)
    from nas_search.results.tables import pareto_report

    for run in runs:
        curve = hypervolume_curve(run, objectives, common)
        alone = pareto_report(
            run.frame, objectives, list(common.reference), ideal=list(common.ideal)
        )
        assert curve[-1] == pytest.approx(alone.normalized_hypervolume, rel=1e-9)
        assert np.all(np.diff(curve) >= 0) and len(curve) == len(run.frame)


def test_points_get_their_ids_on_hover():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.scatter([1, 2, 3], [3, 1, 2]).set_gid("pts")
    svg = svg_of(fig, {"pts": ["id 7", "id 8", "id 9"]})
    assert re.findall(r"<title>(id \d)</title>", svg) == ["id 7", "id 8", "id 9"]
    assert svg.startswith("<svg") and svg.count('<g class="point">') == 3
    assert "<metadata" not in svg


def test_the_report_is_one_self_contained_file_and_the_same_bytes_twice(nb201_runs):
    first = build_report(nb201_runs)
    assert first == build_report(nb201_runs)
    for loads in ("src=", 'href="http', "url(http", "@import", "<script", "<link"):
        assert loads not in first, loads  # nothing is fetched: one file is the whole report
    for heading in ("Summary", "Pareto front: a", "Pareto front: b", "Measured front",
                    "Hypervolume", "Predicted vs measured: a", "Parameter importance: a",
                    "Settings, versions and machine: a"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in first, heading
    assert first.count("<svg") >= 5
    titles = re.findall(r"<title>run (\w), id \d+: test_acc", first)
    assert titles.count("a") >= 30 and titles.count("b") >= 30  # every point of each run
