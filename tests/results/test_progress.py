"""The progress math against brute force: hypervolume after each measurement, the fixed
reference point, best values and held-out rank correlation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nas_search.config import ObjectiveSpec
from nas_search.results.progress import (
    best_values,
    fixed_reference,
    front_hypervolume,
    hypervolume_history,
    rank_correlation,
)

ACC = ObjectiveSpec(name="acc", direction="maximize")
LAT = ObjectiveSpec(name="lat", direction="minimize")


def _grid_area(rows: np.ndarray, reference: tuple[int, int]) -> int:
    """Unit cells between (0, 0) and ``reference`` dominated by some row of integer points
    (acc maximized, lat minimized): counted one by one."""
    acc_ref, lat_ref = reference
    covered = 0
    for a in range(acc_ref, 20):  # cell [a, a+1] x [l, l+1] in (acc, lat)
        for lat in range(0, lat_ref):
            if any(r[0] >= a + 1 and r[1] <= lat for r in rows if not np.isnan(r).any()):
                covered += 1
    return covered


def test_hypervolume_after_each_row_equals_a_cell_count():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 20, size=(25, 2)).astype(float)
    rows[[3, 11]] = np.nan  # failed measurements add nothing
    reference = (4, 15)  # acc at least 4, lat at most 15
    history = hypervolume_history(rows, [ACC, LAT], reference)
    for k in range(len(rows)):
        assert history[k] == pytest.approx(_grid_area(rows[: k + 1], reference)), k
    assert np.all(np.diff(history) >= 0)
    assert front_hypervolume(rows, [ACC, LAT], reference) == pytest.approx(history[-1])


def test_rows_beyond_a_bound_add_nothing():
    bounded = ObjectiveSpec(name="lat", direction="minimize", bound=10)
    rows = np.array([[15.0, 12.0], [10.0, 8.0]])
    history = hypervolume_history(rows, [ACC, bounded], (0, 20))
    assert history[0] == 0.0  # lat 12 is beyond the bound 10
    assert history[1] == pytest.approx(10 * 12)


def test_the_reference_is_each_bound_else_the_worst_value():
    rows = np.array([[90.0, 3.0], [70.0, 9.0], [np.nan, np.nan]])
    assert list(fixed_reference([ACC, LAT], rows)) == [70.0, 9.0]
    bounded = ObjectiveSpec(name="lat", direction="minimize", bound=5)
    assert list(fixed_reference([ACC, bounded], rows)) == [70.0, 5.0]
    assert fixed_reference([ACC, LAT], np.full((2, 2), np.nan)) is None
    both = [ObjectiveSpec(name="a", direction="maximize", bound=1), bounded]
    assert list(fixed_reference(both, np.empty((0, 2)))) == [1.0, 5.0]


def test_best_values_follow_the_direction():
    rows = np.array([[90.0, 3.0], [95.0, 9.0], [np.nan, np.nan]])
    assert best_values(rows, [ACC, LAT]) == {"acc": 95.0, "lat": 3.0}
    assert best_values(np.full((1, 2), np.nan), [ACC, LAT]) == {}


def test_rank_correlation_of_predictions():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert rank_correlation([1, 2, 3, 4], [40, 30, 20, 10]) == -1.0
    assert rank_correlation([1, 2], [1, 2]) is None  # too few pairs
    assert rank_correlation([1, 1, 1], [1, 2, 3]) is None  # constant predictions
    tau = rank_correlation([1, 2, 3, math.nan, 5], [1, 3, 2, 9, 4])
    assert tau == pytest.approx(2 / 3)  # the NaN pair is left out: 5 concordant of 6
