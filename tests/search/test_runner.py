from __future__ import annotations

import time

import pandas as pd
import pytest

from nas_search.config import load_space_file
from nas_search.errors import SearchStopped
from nas_search.evaluation import build_evaluator
from nas_search.results.journal import JOURNAL, read_journal
from nas_search.results.tables import WALL_CLOCK
from nas_search.search import run_search
from tests.conftest import TOY


def _run(definition, run_dir):
    run_dir.mkdir(exist_ok=True)
    return run_search(definition, build_evaluator(definition), run_dir)


def test_budget_is_exact_and_nothing_repeats(write_space, tmp_path):
    definition = load_space_file(write_space())
    outcome = _run(definition, tmp_path / "run")
    frame = pd.read_csv(tmp_path / "run" / "results.csv")
    assert len(frame) == 12 and (frame["status"] == "ok").all()
    assert frame["hash"].is_unique
    assert frame["iteration"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert frame["id"].tolist() == list(range(12))
    assert (frame["params_k"] <= 50).all()  # the constraint on an exact metric held
    assert len(outcome.report.front) >= 1
    assert (tmp_path / "run" / "pareto.csv").exists() and (tmp_path / "run" / "pareto.md").exists()


def test_same_seed_same_results_other_seed_differs(write_space, tmp_path):
    definition = load_space_file(write_space())
    frames = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        d = definition.with_settings(definition.settings.model_copy(update={"seed": seed}))
        _run(d, tmp_path / name)
        frames.append((tmp_path / name / "results.csv").read_text())
    strip = [pd.read_csv(pd.io.common.StringIO(f)).drop(columns=list(WALL_CLOCK)) for f in frames]
    assert strip[0].equals(strip[1])
    assert not strip[0]["hash"].equals(strip[2]["hash"])
    assert (tmp_path / "a" / "pareto.md").read_text() == (tmp_path / "b" / "pareto.md").read_text()


def test_failed_evaluations_are_recorded_and_do_not_count(write_space, tmp_path):
    text = TOY.replace("choices: [relu, gelu]", "choices: [relu, gelu, fail]")
    definition = load_space_file(write_space(text))
    _run(definition, tmp_path / "run")
    frame = pd.read_csv(tmp_path / "run" / "results.csv")
    ok, failed = frame[frame["status"] == "ok"], frame[frame["status"] == "failed"]
    assert len(ok) == 12 and len(failed) > 0
    assert failed["error"].str.contains("RuntimeError: boom").all()
    assert failed["score"].isna().all()
    assert frame["hash"].is_unique


def test_an_evaluator_that_always_fails_stops_the_run(write_space, tmp_path):
    (tmp_path / "broken.py").write_text("def f(config):\n    raise OSError('no device')\n")
    text = (
        TOY.split("constraints:")[0]
        + "objectives:"
        + TOY.split("objectives:")[1].split("evaluator:")[0]
        + "evaluator: {type: python, function: broken.py:f}\nsearch: {max_failures: 3}\n"
    )
    definition = load_space_file(write_space(text))
    with pytest.raises(
        SearchStopped, match="3 evaluations in a row failed; the last: OSError: no device"
    ):
        _run(definition, tmp_path / "run")
    records, _ = read_journal(tmp_path / "run" / JOURNAL)
    assert sum(r["type"] == "evaluation" for r in records) == 3  # all on disk


def test_exhausted_space_ends_early(write_space, tmp_path):
    text = TOY.replace("budget: 12", "budget: 500")
    definition = load_space_file(write_space(text))
    outcome = _run(definition, tmp_path / "run")
    assert outcome.exhausted and len(outcome.history.evaluations) < 500


def test_resume_of_a_finished_run_measures_nothing(write_space, tmp_path):
    definition = load_space_file(write_space())
    _run(definition, tmp_path / "run")
    before = (tmp_path / "run" / JOURNAL).read_bytes()
    _run(definition, tmp_path / "run")
    assert (tmp_path / "run" / JOURNAL).read_bytes() == before


def test_a_stop_journals_what_finished_meanwhile(write_space, tmp_path):
    """Issue 12.7: a run interrupted while waiting journals every measurement the executor
    already holds (it finished before the stop) before it ends."""
    from nas_search.evaluation import measure
    from nas_search.evaluation.executor import InProcess
    from nas_search.results.rundir import create_run

    definition = load_space_file(write_space())
    evaluator = build_evaluator(definition)

    class StopsAfterOne(InProcess):
        calls = 0

        def next(self, on_retry=None):
            self.calls += 1
            if self.calls == 2:  # the rest of the batch finished before the stop arrived
                while self._queue:
                    (ident, config), _ = self._queue.pop(0)
                    self._finished.append((ident, measure(self.evaluator, config, self.required)))
                raise KeyboardInterrupt
            return super().next(on_retry)

    executor = StopsAfterOne(evaluator, ["score", "cost"])
    run_dir = create_run(definition, tmp_path / "r")
    with pytest.raises(KeyboardInterrupt):
        run_search(definition, evaluator, run_dir, executor=executor)
    records, _ = read_journal(run_dir / JOURNAL)
    evaluations = [r for r in records if r["type"] == "evaluation"]
    assert len(evaluations) == 4  # the first batch: one returned, three drained


def test_signals_wait_while_a_measurement_is_journaled():
    import os
    import signal

    from nas_search.search.runner import _Interrupts

    before = signal.getsignal(signal.SIGTERM)
    with _Interrupts() as interrupts:
        steps = []
        with pytest.raises(KeyboardInterrupt):
            with interrupts.held():
                os.kill(os.getpid(), signal.SIGTERM)
                steps.append("still journaling")
        assert steps == ["still journaling"]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    assert signal.getsignal(signal.SIGTERM) is before
