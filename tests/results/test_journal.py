from __future__ import annotations

import json

import pytest

from nas_search.errors import ResultsError
from nas_search.results.journal import Journal, read_journal, write_atomic


def test_append_is_readable_at_once(tmp_path):
    path = tmp_path / "j.jsonl"
    with Journal(path) as journal:
        journal.append({"type": "evaluation", "id": 0})
        assert read_journal(path)[0] == [{"type": "evaluation", "id": 0}]
        journal.append({"type": "evaluation", "id": 1})
    assert [r["id"] for r in read_journal(path)[0]] == [0, 1]


def test_torn_tail_is_dropped_and_cut_before_appending(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"id": 0}\n{"id": 1}\n{"id": 2, "metr')
    records, length = read_journal(path)
    assert [r["id"] for r in records] == [0, 1] and length == len(b'{"id": 0}\n{"id": 1}\n')
    with Journal(path) as journal:
        assert len(journal.records) == 2
        journal.append({"id": 2})
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [0, 1, 2]


def test_corruption_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"id": 0}\nnot json\n{"id": 2}\n')
    with pytest.raises(ResultsError, match="line 2: not a JSON record"):
        read_journal(path)


def test_nan_is_refused(tmp_path):
    with Journal(tmp_path / "j.jsonl") as journal, pytest.raises(ValueError):
        journal.append({"x": float("nan")})


def test_write_atomic_replaces(tmp_path):
    path = tmp_path / "t.csv"
    write_atomic(path, "a\n")
    write_atomic(path, "b\n")
    assert path.read_text() == "b\n" and not list(tmp_path.glob(".*tmp"))


def test_one_writer_at_a_time(tmp_path):
    first = Journal(tmp_path / "journal.jsonl")
    first.append({"type": "batch"})
    with pytest.raises(ResultsError, match="another nas-search process is writing this run"):
        Journal(tmp_path / "journal.jsonl")
    first.close()
    with Journal(tmp_path / "journal.jsonl") as again:  # free once the first is closed
        assert again.records == [{"type": "batch"}]
