"""The search's own cost per real evaluation, and peak memory, against peers side by side.

Loop overhead = (wall time of the run - time spent inside the evaluator) / evaluations, for
each nas-search tactic, Optuna's NSGA-II and TPE samplers and pymoo's NSGA-II, at several
budgets, on NAS-Bench-201 (a table look-up) and on a large synthetic ViT-like space
(``benchmarks/synthetic.py``, about 7e20 sub-networks, an analytic evaluator). Each run is a
fresh process, so its peak resident memory is its own; medians over ``--repeats``.

    python benchmarks/overhead.py

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="100,250,1000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # a child process: one run, JSON on stdout
        method, problem, budget, seed = args.one.split(":")
        print(json.dumps(_one(method, problem, int(budget), int(seed))))
        return
    budgets = [int(b) for b in args.budgets.split(",")]
    rows = []
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for problem in args.problems.split(","):
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
    report(rows, budgets, args, Path(args.out), time.perf_counter() - started)


def report(rows, budgets, args, out: Path, elapsed: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Search overhead per real evaluation, and peak memory",
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
