"""Run directories: claimed atomically, named only under results/, never written through a
symbolic link, and no stray temporary file when writing fails."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from nas_search.config import load_space_file
from nas_search.errors import ResultsError, SpaceError
from nas_search.results import journal as journal_module
from nas_search.results.journal import JOURNAL, Journal, write_atomic
from nas_search.results.rundir import RUN_FILE, create_run, load_run, read_run_file
from tests.conftest import TOY


def test_two_runs_started_together_into_one_directory(write_space, tmp_path):
    """Issue 12.9: one claims the directory, the other gets an error and writes nothing."""
    out = tmp_path / "shared-out"
    definitions = [
        load_space_file(write_space(TOY.replace("seed: 3", f"seed: {k}"), f"s{k}.yaml"))
        for k in range(8)
    ]
    barrier, outcomes = threading.Barrier(8), {}

    def start(k: int) -> None:
        barrier.wait()
        try:
            outcomes[k] = create_run(definitions[k], out)
        except ResultsError as exc:
            outcomes[k] = exc

    threads = [threading.Thread(target=start, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, v in outcomes.items() if isinstance(v, Path)]
    assert len(winners) == 1
    assert all("already holds a run" in str(v) or "being started" in str(v)
               for k, v in outcomes.items() if k != winners[0])  # fmt: skip
    assert read_run_file(out)["seed"] == winners[0]
    assert sorted(p.name for p in out.iterdir()) == [JOURNAL, RUN_FILE, "space.yaml"]


def test_fresh_directories_never_collide(write_space, tmp_path):
    definition = load_space_file(write_space())
    made = {create_run(definition, None, tmp_path / "results") for _ in range(5)}
    assert len(made) == 5 and all(p.parent == tmp_path / "results" for p in made)


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/x", "a/b", "..", ".", "x y", ""])
def test_a_space_name_holds_no_path(write_space, name):
    """Issue 12.2: the name decides the run directory, so it is an identifier."""
    with pytest.raises(SpaceError, match=r"space.yaml: name: must be letters, digits"):
        load_space_file(write_space(TOY.replace("name: toy", f"name: {name!r}")))


def test_a_default_name_from_the_file_name_is_made_an_identifier(write_space, tmp_path):
    definition = load_space_file(write_space(TOY.replace("name: toy\n", ""), "my space.yaml"))
    assert definition.name == "my-space"
    assert create_run(definition, None, tmp_path / "results").parent == tmp_path / "results"


def test_resume_refuses_links_and_never_writes_through_them(write_space, tmp_path):
    """Issue 12.3: a symlinked journal.jsonl is refused; the file it points to is untouched."""
    run = create_run(load_space_file(write_space()), tmp_path / "run")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (run / JOURNAL).unlink()
    (run / JOURNAL).symlink_to(victim)
    with pytest.raises(ResultsError, match="journal.jsonl: is a symbolic link"):
        load_run(run)
    with pytest.raises(ResultsError, match="journal.jsonl: cannot be opened .is a symbolic link"):
        Journal(run / JOURNAL)
    assert victim.read_text() == "precious\n"


def test_write_atomic_never_writes_through_a_planted_temporary_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / ".results.csv.tmp").symlink_to(victim)
    write_atomic(tmp_path / "results.csv", "a,b\n")
    assert victim.read_text() == "precious\n"
    assert (tmp_path / "results.csv").read_text() == "a,b\n"


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    (tmp_path / "results.csv").write_text("old\n")
    monkeypatch.setattr(journal_module.os, "replace", full)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "results.csv", "new\n")
    assert os.listdir(tmp_path) == ["results.csv"]
    assert (tmp_path / "results.csv").read_text() == "old\n"


def test_out_naming_a_file_is_an_error(write_space, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ResultsError, match="afile is a file, not a directory"):
        create_run(load_space_file(write_space()), tmp_path / "afile")


def test_a_new_run_refuses_a_directory_with_planted_links(write_space, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "predictors").symlink_to(outside)
    with pytest.raises(ResultsError, match="already holds predictors"):
        create_run(load_space_file(write_space()), out)
    assert not (out / RUN_FILE).exists() and not list(outside.iterdir())
