"""Typed journal records: one serializer each, read back exactly; malformed lines are named."""

from __future__ import annotations

import json

import pytest

from nas_search.errors import ResultsError
from nas_search.records import (
    AttemptRecord,
    BatchRecord,
    EvaluationRecord,
    Status,
    parse_record,
)
from nas_search.search.history import History

RECORDS = [
    BatchRecord(0, [{"id": 0, "hash": "h", "config": {"x": 1}, "predicted": None}], {"p": [1]}),
    BatchRecord(1, [], None, {"predictors": {"acc": "ridge"}}),
    EvaluationRecord(0, 0, "h", {"x": 1}, Status.OK, {"acc": 1.5}, None, None, None, 0.25, "t"),
    EvaluationRecord(
        1,
        0,
        "g",
        {"x": 2},
        Status.FAILED,
        {},
        "boom",
        {"acc": 2.0},
        {"acc": 0.1},
        1.0,
        "t",
        "Traceback ...",
    ),  # fmt: skip
    AttemptRecord(1, 0, "worker process died", 0.5, "t"),
]


@pytest.mark.parametrize("record", RECORDS)
def test_records_read_back_exactly(record):
    line = json.dumps(record.to_json())
    assert parse_record(json.loads(line)) == record
    assert list(record.to_json())[0] == "type"


def test_status_is_the_string_journals_hold():
    assert Status.OK == "ok" and json.dumps(str(Status.FAILED)) == '"failed"'


def test_unknown_kinds_are_skipped_and_malformed_ones_named(write_space):
    from nas_search.config import load_space_file

    space = load_space_file(write_space()).space
    assert parse_record({"type": "note", "text": "from a newer version"}) is None
    with pytest.raises(ResultsError, match=r"journal: record 2: malformed"):
        History.from_records(space, [{"type": "note"}, {"type": "evaluation", "id": "x"}])
