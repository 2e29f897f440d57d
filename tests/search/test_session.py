"""The progress a session journals after each batch: one record per batch, its hypervolume on
the reference point fixed in run.yaml when the first batch ended, and a record lost to a kill
written again on resume, as it would have been."""

from __future__ import annotations

import numpy as np
import pytest

from nas_search.config import load_space_file
from nas_search.evaluation import build_evaluator
from nas_search.results.journal import JOURNAL, read_journal
from nas_search.results.progress import hypervolume_history
from nas_search.results.rundir import create_run, read_reference, read_run_file
from nas_search.search import Monitor, run_search
from tests.conftest import TOY

SPACE = TOY.replace(
    "tactic: random, budget: 12, batch: 4, seed: 3",
    "tactic: linas, budget: 14, batch: 3, initial: 5, seed: 2",
)


class Heard(Monitor):
    def __init__(self) -> None:
        self.phases: list[str] = []
        self.batches: list[int] = []
        self.evaluations = 0

    def phase(self, name):
        self.phases.append(name)

    def evaluation(self, evaluation, history):
        self.evaluations += 1

    def batch(self, progress, history):
        self.batches.append(progress.iteration)


def _run(write_space, tmp_path, monitor=None):
    definition = load_space_file(write_space(SPACE))
    evaluator = build_evaluator(definition)
    run_dir = create_run(definition, tmp_path / "run")
    run_search(definition, evaluator, run_dir, monitor=monitor)
    return definition, run_dir


def test_one_progress_record_per_batch_with_the_hypervolume_after_it(write_space, tmp_path):
    heard = Heard()
    definition, run_dir = _run(write_space, tmp_path, heard)
    records, _ = read_journal(run_dir / JOURNAL)
    batches = [r for r in records if r["type"] == "batch"]
    progress = [r for r in records if r["type"] == "progress"]
    assert [p["iteration"] for p in progress] == [b["iteration"] for b in batches]
    assert heard.batches == [p["iteration"] for p in progress] and heard.evaluations == 14
    assert "initial design" in heard.phases and "fitting the predictors" in heard.phases

    names = [o.name for o in definition.objectives]
    reference = read_reference(run_dir, names)
    first = [r for r in records if r["type"] == "evaluation" and r["iteration"] == 0]
    scores = [r["metrics"]["score"] for r in first]
    costs = [r["metrics"]["cost"] for r in first]
    assert reference == [min(scores), max(costs)]  # the initial design's worst values
    assert read_run_file(run_dir)["hypervolume_reference"] == dict(
        zip(names, reference, strict=True)
    )

    evaluations = [r for r in records if r["type"] == "evaluation"]
    values = np.array([[r["metrics"][n] for n in names] for r in evaluations])
    history = hypervolume_history(values, definition.objectives, reference)
    for p in progress:
        assert p["hypervolume"] == pytest.approx(history[p["evaluations"] - 1], rel=1e-9)
        assert p["best"]["score"] == max(values[: p["evaluations"], 0])
    assert all(p["tau"] == {} for p in progress[:1])  # the initial design predicts nothing
    assert all(set(p["tau"]) == set(names) for p in progress[2:])


def test_a_progress_record_lost_to_a_kill_is_written_on_resume(write_space, tmp_path):
    definition, run_dir = _run(write_space, tmp_path)
    journal = run_dir / JOURNAL
    full = journal.read_bytes().splitlines(keepends=True)
    records, _ = read_journal(journal)
    # cut right after the second batch's last measurement, before its progress record
    cut = [k for k, r in enumerate(records) if r["type"] == "progress"][1]
    journal.write_bytes(b"".join(full[:cut]))
    (run_dir / "run.yaml").write_text(
        (run_dir / "run.yaml").read_text().split("hypervolume_reference")[0]
    )
    evaluator = build_evaluator(definition)
    run_search(definition, evaluator, run_dir)
    again, _ = read_journal(journal)
    assert _stable(again) == _stable(records)
    names = [o.name for o in definition.objectives]
    assert read_reference(run_dir, names) is not None


def _stable(records):
    return [{k: v for k, v in r.items() if k not in ("timestamp", "seconds")} for r in records]
