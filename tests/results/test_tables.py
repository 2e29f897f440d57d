from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nas_search.config import ObjectiveSpec
from nas_search.errors import ResultsError
from nas_search.results.tables import describe, pareto_report, render

ACC = ObjectiveSpec.model_validate({"name": "acc", "direction": "maximize"})
MS = ObjectiveSpec.model_validate({"name": "ms", "direction": "minimize"})
MS_BOUND = ObjectiveSpec.model_validate({"name": "ms", "direction": "minimize", "bound": 6})

FRAME = pd.DataFrame(
    {
        "hash": ["a", "b", "c", "d", "e", "f"],
        "acc": [90.0, 85.0, 70.0, 95.0, 60.0, 99.0],
        "ms": [5.0, 3.0, 1.0, 8.0, 4.0, np.nan],
        "status": ["ok", "ok", "ok", "ok", "ok", "failed"],
    }
)


def test_front_is_sorted_best_first_and_skips_failures():
    report = pareto_report(FRAME, [ACC, MS])
    assert report.front["hash"].tolist() == ["d", "a", "b", "c"]
    assert len(report.rows) == 5  # the failed row is not considered
    assert report.reference.tolist() == [60.0, 8.0]  # worst of each objective
    assert report.hypervolume == pytest.approx(30 * 3 + 25 * 2 + 10 * 2)  # d sits on the ref
    assert 0 < report.normalized_hypervolume <= 1


def test_bounds_keep_rows_but_not_on_the_front_and_set_the_reference():
    report = pareto_report(FRAME, [ACC, MS_BOUND])
    assert "d" not in report.front["hash"].tolist() and "d" in report.rows["hash"].tolist()
    assert report.out_of_bounds == 1
    assert report.reference.tolist() == [60.0, 6.0]
    assert "1 outside the objective bounds" in describe(report)


def test_explicit_reference_and_its_length():
    report = pareto_report(FRAME, [ACC, MS], reference=[0, 10])
    assert report.reference.tolist() == [0.0, 10.0]
    with pytest.raises(ResultsError, match="needs 2 values"):
        pareto_report(FRAME, [ACC, MS], reference=[1])


def test_empty_and_missing():
    empty = pareto_report(FRAME.iloc[:0], [ACC, MS])
    assert empty.front.empty and empty.hypervolume == 0.0
    with pytest.raises(ResultsError, match="no column 'lat'"):
        pareto_report(
            FRAME, [ACC, ObjectiveSpec.model_validate({"name": "lat", "direction": "minimize"})]
        )


def test_render_rejects_unknown_formats():
    assert render(FRAME.head(1), "csv").startswith("hash,acc")
    with pytest.raises(ResultsError, match="--format"):
        render(FRAME, "xml")
