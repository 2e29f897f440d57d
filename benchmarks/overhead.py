"""The search's own cost per real evaluation, and peak memory, against peers side by side.

**End to end** (``--mode end-to-end``, the default part): what a user waits for. Each
nas-search tactic runs as ``nas-search run`` in a fresh process, timed from start to exit
(imports, the evaluator's set-up, the journal, the tables, the predicted front, everything);
the evaluator's own time is taken out by difference, against the random tactic's run with the
same evaluator, budget and seed: overhead = (wall - wall of random) / budget. Problems:
NAS-Bench-201 (a table), a 59,040-configuration space of 5 categorical parameters (a table
made up here: 8 x 9 x 10 x 41 x 2 values) and the synthetic ViT-like space. Peak memory is the
process tree's (``wait4``). Runs of one repeat are interleaved, so load drifts hit all alike.

**Loop** (``--mode loop``): loop overhead = (wall time of the run - time spent inside the
evaluator) / evaluations, for each nas-search tactic, Optuna's NSGA-II and TPE samplers and
pymoo's NSGA-II, at several budgets, on NAS-Bench-201 (a table look-up) and on a large
synthetic ViT-like space (``benchmarks/synthetic.py``, about 7e20 sub-networks, an analytic
evaluator). Each run is a fresh process, so its peak resident memory is its own; medians over
``--repeats``.

    python benchmarks/overhead.py                 # both parts
    python benchmarks/overhead.py --mode end-to-end --budgets 250,1000

Writes ``benchmarks/results/overhead.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["linas", "evolutionary", "random", "optuna-nsga2", "optuna-tpe", "pymoo-nsga2"]
PROBLEMS = ["nb201", "synthetic"]


def _one(method: str, problem: str, budget: int, seed: int) -> dict:
    """Run in a fresh process: total seconds, seconds inside the evaluator, peak RSS."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tempfile

    from nas_search.catalog import load_space
    from nas_search.config import load_space_file
    from nas_search.evaluation import build_evaluator

    if problem == "nb201":
        definition = load_space("nb201")
    else:
        import synthetic

        tmp = Path(tempfile.mkdtemp())
        (tmp / "space.yaml").write_text(synthetic.SPACE_YAML)
        (tmp / "synthetic.py").write_text(Path(synthetic.__file__).read_text())
        definition = load_space_file(tmp / "space.yaml")
    evaluator = build_evaluator(definition)
    evaluate = evaluator.evaluate
    inside = [0.0]

    def timed(config: dict) -> dict:
        start = time.perf_counter()
        try:
            return dict(evaluate(config))
        finally:
            inside[0] += time.perf_counter() - start

    start = time.perf_counter()
    if method in ("linas", "evolutionary", "random"):
        from nas_search.search import run_search

        settings = definition.settings.model_copy(
            update={"tactic": method, "budget": budget, "seed": seed}
        )
        definition = definition.with_settings(settings)
        evaluator.evaluate = timed  # type: ignore[method-assign]
        with tempfile.TemporaryDirectory() as run:
            run_search(definition, evaluator, Path(run))
    else:
        _peer(method, definition, timed, budget, seed)
    total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"total": total, "inside": inside[0], "peak_mb": peak}


def _peer(method: str, definition, timed, budget: int, seed: int) -> None:
    space = definition.space
    names = [o.name for o in definition.objectives]
    signs = np.array([o.sign for o in definition.objectives])
    if method.startswith("optuna"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = (
            optuna.samplers.NSGAIISampler(seed=seed)
            if method == "optuna-nsga2"
            else optuna.samplers.TPESampler(seed=seed)
        )
        study = optuna.create_study(
            directions=[o.direction for o in definition.objectives], sampler=sampler
        )

        def objective(trial):
            config = {}
            for p in space.parameters:
                if p.domain is None:
                    config[p.name] = p.value
                elif p.per_layer is None:
                    config[p.name] = trial.suggest_categorical(p.name, list(p.domain.values))
            for p in space.parameters:
                if p.per_layer is not None and p.domain is not None:
                    n = int(config[p.per_layer])
                    config[p.name] = [
                        trial.suggest_categorical(f"{p.name}[{k}]", list(p.domain.values))
                        for k in range(n)
                    ]
            metrics = timed(config)
            return tuple(metrics[n] for n in names)

        study.optimize(objective, n_trials=budget)
        return
    from sample_efficiency import pymoo_nsga2

    algorithm = pymoo_nsga2(space.upper, len(names), seed)
    done = 0
    while done < budget:
        pop = algorithm.ask()
        X = np.round(pop.get("X")).astype(int)
        F = []
        for x in X:
            metrics = timed(space.decode(x)) if done < budget else dict.fromkeys(names, np.inf)
            done += 1
            F.append([metrics[n] for n in names])
        pop.set("F", np.array(F) * signs)
        algorithm.tell(infills=pop)


E2E_PROBLEMS = ["nb201", "cat59040", "synthetic"]
E2E_TACTICS = ["random", "linas", "evolutionary"]  # random first: the baseline of the others


def _e2e_space(problem: str, folder: Path) -> Path:
    """A space file for ``problem`` in ``folder`` (tables and code beside it)."""
    if problem == "nb201":
        shipped = ROOT / "search_spaces"
        text = (shipped / "nb201.yaml").read_text()
        text = text.replace(
            "path: nb201_cifar10.csv.gz", f"path: {shipped / 'nb201_cifar10.csv.gz'}"
        )
    elif problem == "cat59040":
        import itertools

        sizes = {"a": 8, "b": 9, "c": 10, "d": 41, "e": 2}
        rows = []
        for values in itertools.product(*[range(n) for n in sizes.values()]):
            a, b, c, d, e = values
            noise = (
                (a * 7919 + b * 104729 + c * 1299709 + d * 15485863 + e * 32452843) % 1000
            ) / 1e4
            accuracy = 70 + 3 * np.log1p(a + b) + 0.4 * c - 0.02 * (d - 20) ** 2 + 2 * e + noise
            latency = 1 + 0.5 * a + 0.3 * b * (1 + e) + 0.05 * c * d + noise
            rows.append((*values, round(accuracy, 4), round(latency, 4)))
        header = ",".join([*sizes, "accuracy", "latency_ms"])
        body = "\n".join(",".join(map(str, r)) for r in rows)
        (folder / "cat.csv").write_text(header + "\n" + body + "\n")
        params = "\n".join(
            f"  {k}: {{type: categorical, choices: {list(range(n))}}}" for k, n in sizes.items()
        )
        text = (
            f"name: cat59040\nparameters:\n{params}\nobjectives:\n"
            "  - {name: accuracy, direction: maximize}\n"
            "  - {name: latency_ms, direction: minimize}\n"
            "evaluator: {type: table, path: cat.csv, metrics: [accuracy, latency_ms]}\n"
        )
    else:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import synthetic

        (folder / "synthetic.py").write_text(Path(synthetic.__file__).read_text())
        text = synthetic.SPACE_YAML
    path = folder / f"{problem}.yaml"
    path.write_text(text)
    return path


def _e2e_run(space: Path, tactic: str, budget: int, seed: int, out: Path) -> tuple[float, float]:
    """Wall seconds and peak MB of one ``nas-search run`` process, start to exit."""
    argv = [sys.executable, "-m", "nas_search", "run", "--space", str(space), "--tactic", tactic,
            "--budget", str(budget), "--seed", str(seed), "--out", str(out), "-q"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def end_to_end(problems: list[str], budgets: list[int], repeats: int) -> list[tuple]:
    """Rows (problem, tactic, budget, median wall s, median overhead ms/eval, peak MB)."""
    import tempfile

    rows = []
    for problem in problems:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            space = _e2e_space(problem, folder)
            for budget in budgets:
                walls: dict[str, list[float]] = {t: [] for t in E2E_TACTICS}
                peaks: dict[str, list[float]] = {t: [] for t in E2E_TACTICS}
                for seed in range(repeats):
                    for tactic in E2E_TACTICS:
                        out = folder / f"{tactic}-{budget}-{seed}"
                        wall, peak = _e2e_run(space, tactic, budget, seed, out)
                        walls[tactic].append(wall)
                        peaks[tactic].append(peak)
                for tactic in E2E_TACTICS:
                    extra = np.subtract(walls[tactic], walls["random"]) / budget * 1000
                    wall = float(np.median(walls[tactic]))
                    peak = float(np.median(peaks[tactic]))
                    rows.append((problem, tactic, budget, wall, float(np.median(extra)), peak))
                    print(
                        f"{problem:10s} {tactic:13s} {budget:5d}  wall {wall:7.2f} s  "
                        f"+{rows[-1][4]:7.2f} ms/eval over random  {peak:6.0f} MB",
                        flush=True,
                    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="100,250,1000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--mode", choices=["both", "end-to-end", "loop"], default="both")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # a child process: one run, JSON on stdout
        method, problem, budget, seed = args.one.split(":")
        print(json.dumps(_one(method, problem, int(budget), int(seed))))
        return
    budgets = [int(b) for b in args.budgets.split(",")]
    started = time.perf_counter()
    e2e = []
    if args.mode in ("both", "end-to-end"):
        e2e_problems = (
            E2E_PROBLEMS if args.problems == ",".join(PROBLEMS) else args.problems.split(",")
        )
        e2e = end_to_end(e2e_problems, budgets, args.repeats)
    rows = []
    if args.mode == "end-to-end":
        args.problems = ""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for problem in [p for p in args.problems.split(",") if p]:
        for method in args.methods.split(","):
            for budget in budgets:
                runs = []
                for seed in range(args.repeats):
                    done = subprocess.run(
                        [sys.executable, __file__, "--one", f"{method}:{problem}:{budget}:{seed}"],
                        capture_output=True,
                        text=True,
                        env=env,
                        check=True,
                    )
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                per_eval = [(r["total"] - r["inside"]) / budget * 1000 for r in runs]
                rows.append(
                    (
                        problem,
                        method,
                        budget,
                        float(np.median(per_eval)),
                        float(np.median([r["peak_mb"] for r in runs])),
                    )
                )
                print(
                    f"{problem:10s} {method:13s} {budget:5d}  {rows[-1][3]:8.2f} ms/eval  "
                    f"{rows[-1][4]:7.0f} MB",
                    flush=True,
                )
    report(rows, e2e, budgets, args, Path(args.out), time.perf_counter() - started)


def report(rows, e2e, budgets, args, out: Path, elapsed: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Search overhead per real evaluation, and peak memory", ""]
    if e2e:
        lines += [
            "## End to end: what a user waits for",
            "",
            f"`nas-search run` in a fresh process, start to exit; median of {args.repeats} "
            "repeats (interleaved). Overhead: (wall time - the random tactic's wall time, same "
            "evaluator, budget and seed) / budget; peak: the process tree's resident memory.",
            "",
            "| problem | tactic | budget | wall s | ms/eval over random | peak MB |",
            "|---|---|---|---|---|---|",
        ]
        for problem, tactic, budget, wall, extra, peak in e2e:
            shown = "-" if tactic == "random" else f"{extra:.1f}"
            lines.append(f"| {problem} | {tactic} | {budget} | {wall:.2f} | {shown} | {peak:.0f} |")
        lines.append("")
    if not rows:
        text = "\n".join(lines) + f"\nRan in {elapsed / 60:.1f} min on {os.cpu_count()} cores.\n"
        (out / "overhead.md").write_text(text)
        print(text)
        return
    lines += [
        "## Loop: the search's own cost inside one process",
        "",
        f"Median of {args.repeats} runs, each a fresh process; the evaluator's own time is "
        f"excluded. Ratio: the method's overhead over nas-search linas's, same problem and "
        f"budget. Ran in {elapsed / 60:.1f} min on {os.cpu_count()} cores.",
        "",
        "Command: `python benchmarks/overhead.py`",
    ]
    for problem in dict.fromkeys(r[0] for r in rows):
        lines += ["", f"## {problem}", ""]
        header = (
            ["method"] + [f"ms/eval @ {b}" for b in budgets] + [f"peak MB @ {b}" for b in budgets]
        )
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        linas = {b: r[3] for r in rows if r[0] == problem and r[1] == "linas" for b in [r[2]]}
        for method in dict.fromkeys(r[1] for r in rows if r[0] == problem):
            mine = {r[2]: r for r in rows if r[0] == problem and r[1] == method}
            cells = [method]
            for b in budgets:
                ratio = f" ({mine[b][3] / linas[b]:.2g}x)" if linas.get(b) else ""
                cells.append(f"{mine[b][3]:.2f}{ratio}")
            cells += [f"{mine[b][4]:.0f}" for b in budgets]
            lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (out / "overhead.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
