"""Asynchronous batches: with several workers the next batch is chosen while the current one is
measured, and what a run measures depends on its seed alone, not on the order in which
workers finish (here: an executor that finishes its tasks in a random order of its own)."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from nas_search.config import load_space_file
from nas_search.evaluation import build_evaluator
from nas_search.evaluation.base import Measurement, measure
from nas_search.evaluation.executor import Dispatcher, Task
from nas_search.results.journal import JOURNAL, read_journal
from nas_search.results.tables import WALL_CLOCK
from nas_search.search import run_search
from tests.conftest import TOY


class Shuffled(Dispatcher):
    """``workers`` slots measured in this process, finishing in an order drawn from ``seed``."""

    def __init__(self, evaluator, required, workers: int, seed: int, retries: int = 0) -> None:
        super().__init__(workers, retries, None)
        self.evaluator, self.required = evaluator, required
        self.order = random.Random(seed)
        self.configs: dict[int, dict] = {}

    def _send(self, slot: int, task: Task) -> None:
        self.configs[slot] = task[1]

    def _wait(self, wait_for: float | None) -> list[tuple[int, Measurement]]:
        slot = self.order.choice(sorted(self._running))
        return [(slot, measure(self.evaluator, self.configs[slot], self.required))]

    def close(self) -> None:
        pass


def _definition(write_space, tactic: str, text: str = TOY):
    text = text.replace("tactic: random, budget: 12, batch: 4", f"tactic: {tactic}, budget: 30")
    text = text.replace("seed: 3}", "seed: 3, batch: 4, initial: 8, population: 8, workers: 3}")
    return load_space_file(write_space(text))


def _run(definition, run_dir, order: int, stop_after: int | None = None):
    run_dir.mkdir(exist_ok=True)
    evaluator = build_evaluator(definition)
    executor = Shuffled(evaluator, ["score", "cost"], 3, order)
    done = []

    def interrupt(evaluation, history):
        done.append(evaluation.id)
        if stop_after is not None and len(done) == stop_after:
            raise KeyboardInterrupt

    return run_search(definition, evaluator, run_dir, executor=executor, on_evaluation=interrupt)


def _table(run_dir) -> pd.DataFrame:
    return pd.read_csv(run_dir / "results.csv").drop(columns=list(WALL_CLOCK))


@pytest.mark.parametrize("tactic", ["linas", "evolutionary", "random"])
def test_the_finishing_order_changes_nothing(write_space, tmp_path, tactic):
    definition = _definition(write_space, tactic)
    _run(definition, tmp_path / "a", order=1)
    _run(definition, tmp_path / "b", order=2)
    a, b = _table(tmp_path / "a"), _table(tmp_path / "b")
    assert a.equals(b)
    assert (a["status"] == "ok").sum() == 30 and a["hash"].is_unique
    finished = [r["id"] for r in read_journal(tmp_path / "a" / JOURNAL)[0] if "status" in r]
    assert finished != sorted(finished)  # the workers did finish out of order


def test_the_next_batch_is_chosen_while_one_is_measured(write_space, tmp_path):
    definition = _definition(write_space, "linas")
    _run(definition, tmp_path / "run", order=1)
    records = read_journal(tmp_path / "run" / JOURNAL)[0]
    in_flight: dict[int, int] = {}  # id -> iteration
    most = 0
    for record in records:
        if record["type"] == "batch":
            in_flight.update({c["id"]: record["iteration"] for c in record["candidates"]})
        elif record["type"] == "evaluation":
            del in_flight[record["id"]]
        most = max(most, len(set(in_flight.values())))
    assert most == 2  # two batches in flight at once, never more


def test_failures_are_made_up_for_and_the_budget_stays_exact(write_space, tmp_path):
    text = TOY.replace("choices: [relu, gelu]", "choices: [relu, gelu, fail]")
    definition = _definition(write_space, "linas", text)
    _run(definition, tmp_path / "a", order=1)
    _run(definition, tmp_path / "b", order=5)
    a = _table(tmp_path / "a")
    assert a.equals(_table(tmp_path / "b"))
    assert (a["status"] == "ok").sum() == 30 and (a["status"] == "failed").any()
    assert a["hash"].is_unique


def test_interrupted_with_two_batches_in_flight_then_resumed(write_space, tmp_path):
    definition = _definition(write_space, "linas")
    _run(definition, tmp_path / "whole", order=1)
    with pytest.raises(KeyboardInterrupt):
        _run(definition, tmp_path / "cut", order=7, stop_after=17)
    records = read_journal(tmp_path / "cut" / JOURNAL)[0]
    proposed = sum(len(r["candidates"]) for r in records if r["type"] == "batch")
    assert proposed > 17 + 4  # more than one batch was still in flight when it stopped
    _run(definition, tmp_path / "cut", order=3)
    assert _table(tmp_path / "cut").equals(_table(tmp_path / "whole"))
    states = [
        json.dumps(r.get("state"))
        for run in ("cut", "whole")
        for r in read_journal(tmp_path / run / JOURNAL)[0]
        if r["type"] == "batch"
    ]
    assert states[: len(states) // 2] == states[len(states) // 2 :]
