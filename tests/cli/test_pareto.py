from __future__ import annotations

import json

import pandas as pd
import pytest


def test_table_of_a_run(cli, nb201_run):
    result = cli("pareto", nb201_run / "results.csv")
    assert result.exit_code == 0, result.output
    assert "Pareto front" in result.stdout and "hypervolume" in result.stdout
    front = pd.read_csv(nb201_run / "pareto.csv")
    assert f"{len(front)} non-dominated of 40 rows" in result.stdout


@pytest.mark.parametrize(
    "fmt, check",
    [
        ("csv", lambda t: t.startswith("id,hash,test_acc,lat_pixel3_ms")),
        ("md", lambda t: t.startswith("|") and "test_acc" in t),
        ("json", lambda t: isinstance(json.loads(t), list)),
        ("latex", lambda t: "\\begin{tabular}" in t and "nor\\_conv" in t),
    ],
)
def test_formats(cli, nb201_run, fmt, check):
    result = cli("pareto", nb201_run, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert check(result.stdout)


def test_where_filters_first_and_out_infers_the_format(cli, nb201_run, tmp_path):
    out = tmp_path / "front.json"
    result = cli(
        "pareto", nb201_run, "--where", "lat_pixel3_ms <= 5 and op0 != 'none'", "--out", out
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert rows and all(r["lat_pixel3_ms"] <= 5 and r["op0"] != "none" for r in rows)


def test_plot_and_export_then_validate_each(cli, nb201_run, tmp_path):
    result = cli("pareto", nb201_run, "--plot", tmp_path / "f.png", "--export", tmp_path / "cands")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    files = sorted((tmp_path / "cands").glob("*.json"))
    assert len(files) == len(pd.read_csv(nb201_run / "pareto.csv"))
    for path in files:
        checked = cli("validate", path)
        assert checked.exit_code == 0, checked.output
        assert "valid for space 'nb201'" in checked.stdout


def test_any_csv_with_objectives_ties_and_duplicates(cli, tmp_path):
    path = tmp_path / "any.csv"
    path.write_text("name,acc,ms\na,90,5\nb,90,5\nb,90,5\nc,80,2\nd,70,9\ne,,1\n")
    result = cli("pareto", path, "--objectives", "acc:max,ms:min", "--format", "csv")
    assert result.exit_code == 0, result.output
    front = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert front["name"].tolist() == ["a", "b", "c"]  # tie a/b kept, duplicate b once, e lacks acc
    assert cli("pareto", path, "--objectives", "acc:max,ms:min", "--ref", "60,10").exit_code == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("--format", "xml"), "--format: must be one of table, csv, md, json, latex, got 'xml'"),
        (
            ("--objectives", "acc:up"),
            "--objectives: each item must be name:max or name:min, got 'acc:up'",
        ),
        (("--objectives", "nope:max"), "no column 'nope'"),
        ((), "not from a nas-search run; say --objectives"),
        (
            ("--objectives", "acc:max", "--where", "acc.x > 1"),
            "--where: 'acc.x > 1': attribute access",
        ),
        (("--objectives", "acc:max", "--export", "d"), "--export: needs the space; say --space"),
        (
            ("--objectives", "acc:max", "--ref", "a,b"),
            "--ref: must be comma-separated finite numbers",
        ),
    ],
)
def test_bad_pareto_input(cli, tmp_path, args, message):
    path = tmp_path / "any.csv"
    path.write_text("acc,ms\n90,5\n")
    result = cli("pareto", path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_unreadable_csv(cli, tmp_path):
    result = cli("pareto", tmp_path / "absent.csv", "--objectives", "a:max")
    assert result.exit_code == 2 and "absent.csv: no such file" in result.stderr


def test_several_runs_on_one_reference_point(cli, nb201_run, tmp_path):
    other = tmp_path / "seed1"
    done = cli("run", "--space", "nb201", "--out", other, "--budget", 40, "--seed", 1, "-q")
    assert done.exit_code == 0, done.output
    result = cli("pareto", nb201_run, other)
    assert result.exit_code == 0, result.output
    assert "Runs on one reference point" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("reference point"))
    point = dict(p.split("=") for p in line.split(";")[0][len("reference point ") :].split(", "))
    ref = f"{point['test_acc']},{point['lat_pixel3_ms']}"
    frames = [pd.read_csv(run / "results.csv") for run in (nb201_run, other)]
    worst = max(f["lat_pixel3_ms"].max() for f in frames)  # the bound is for accuracy only
    assert float(point["lat_pixel3_ms"]) == pytest.approx(worst, rel=1e-5)
    for run in (nb201_run, other):  # each run's hypervolume equals its own on that point
        alone = cli("pareto", run, "--ref", ref)
        hv = alone.stdout.split("hypervolume ")[1].split(" ")[0]
        row = next(x for x in result.stdout.splitlines() if f" {run.name} " in x or str(run) in x)
        assert hv in row, (hv, row)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--plot", "x.png"], "--plot: takes one run, got 2"),
        (["--format", "csv"], "--format: several runs are compared as a table, got 'csv'"),
    ],
)
def test_several_runs_refuse_single_run_outputs(cli, nb201_run, extra, message):
    result = cli("pareto", nb201_run, nb201_run, *extra)
    assert result.exit_code == 2 and message in result.output
