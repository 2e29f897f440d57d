"""Sample efficiency against peers on a measured table, side by side in one run.

Every method gets the same discrete space (the table's parameter columns) and the same budget
of table look-ups; a method that asks for a sub-network twice spends a look-up each time. The
score is the hypervolume gap, 1 - HV(measured non-dominated set) / HV(the table's true front),
with objectives min-max normalised over the whole table and the reference point at the table's
median of each objective; also the number of true-front members found.

    python benchmarks/sample_efficiency.py --seeds 10
    python benchmarks/sample_efficiency.py --table other.csv.gz --params a,b,c \\
        --problem acc_vs_ms=acc:max,ms:min

A problem whose name ends in ``-canonical`` runs on the table made canonical: each cell takes
the metrics of its canonical form (dead edges set to ``none``, see
``search_spaces/nb201_canonical.py``), so that, as in many cell-based spaces, different
encodings of one network measure identically; the report counts how many distinct results
each method got for its budget.

Writes ``benchmarks/results/sample_efficiency.md`` and ``.png`` (see ``--out``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per job; jobs run side by side
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nas_search.results.pareto import hypervolume, non_dominated  # noqa: E402

DEFAULT_TABLE = ROOT.parent / "shared" / "benchmarks" / "nb201_cifar10.csv.gz"
if not DEFAULT_TABLE.exists():
    DEFAULT_TABLE = ROOT / "search_spaces" / "nb201_cifar10.csv.gz"
DEFAULT_PROBLEMS = [
    "pixel3=test_acc:max,lat_pixel3_ms:min",
    "raspi4=test_acc:max,lat_raspi4_ms:min",
    "fpga=test_acc:max,lat_fpga_ms:min",
    "pixel3+params=test_acc:max,lat_pixel3_ms:min,params:min",
    "pixel3-canonical=test_acc:max,lat_pixel3_ms:min",
]
CANONICAL = "-canonical"
METHODS = ["linas", "linas-hook", "evolutionary", "random"]
METHODS += ["optuna-nsga2", "optuna-tpe", "optuna-gp", "pymoo-nsga2"]
#: wall-clock cap of one optuna-gp run (its Gaussian process costs ~0.3 s a trial and grows):
#: a capped run is scored only at the budgets it reached
GP_SECONDS = float(os.environ.get("GP_SECONDS", "900"))
#: ``linas-hook``: LINAS told the cells' identity by the space's ``canonical`` hook
HOOK = ROOT / "search_spaces" / "nb201_canonical.py"


@dataclass(frozen=True)
class Problem:
    name: str
    objectives: tuple[tuple[str, bool], ...]  # (column, maximize)

    @classmethod
    def parse(cls, text: str) -> Problem:
        name, _, spec = text.partition("=")
        objectives = []
        for item in spec.split(","):
            column, _, direction = item.rpartition(":")
            if direction not in ("max", "min") or not column:
                raise SystemExit(f"--problem {text!r}: each objective must be column:max|min")
            objectives.append((column, direction == "max"))
        return cls(name, tuple(objectives))


@dataclass(frozen=True)
class Job:
    method: str
    problem: Problem
    seed: int
    budget: int
    table: str
    params: tuple[str, ...]


def _lookup(table: pd.DataFrame, params: tuple[str, ...], columns: list[str]):
    index = {tuple(row): k for k, row in enumerate(table[list(params)].itertuples(index=False))}
    values = table[columns].to_numpy(float)
    return index, values


def canonical_table(table: pd.DataFrame, params: tuple[str, ...]) -> pd.DataFrame:
    """``table`` with each row's metrics replaced by those of its canonical form's row."""
    sys.path.insert(0, str(ROOT / "search_spaces"))
    from nb201_canonical import canonical

    keys = [tuple(row) for row in table[list(params)].itertuples(index=False)]
    where = {key: k for k, key in enumerate(keys)}
    forms = [canonical(dict(zip(params, key, strict=True))) for key in keys]
    rows = [where[tuple(form[p] for p in params)] for form in forms]
    metrics = [c for c in table.columns if c not in params]
    out = table.copy()
    out[metrics] = table[metrics].to_numpy()[rows]
    return out


def run_job(job: Job) -> tuple[Job, np.ndarray, float]:
    """Objective values of every look-up in order (rows) and the wall time of the run."""
    table = pd.read_csv(job.table)
    columns = [c for c, _ in job.problem.objectives]
    start = time.perf_counter()
    if job.method in ("linas", "linas-hook", "evolutionary", "random"):
        values = _nas_search(job, table, columns)
    elif job.method.startswith("optuna"):
        values = _optuna(job, table, columns)
    else:
        values = _pymoo(job, table, columns)
    return job, values, time.perf_counter() - start


def _nas_search(job: Job, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    import yaml

    from nas_search.config import load_space_file
    from nas_search.evaluation import build_evaluator
    from nas_search.search import run_search

    parameters = {
        p: {"type": "categorical", "choices": sorted(table[p].unique().tolist())}
        for p in job.params
    }
    space = {
        "name": "table",
        "parameters": parameters,
        "objectives": [
            {"name": c, "direction": "maximize" if mx else "minimize"}
            for c, mx in job.problem.objectives
        ],
        "evaluator": {"type": "table", "path": str(Path(job.table).resolve()), "metrics": columns},
        "search": {
            "tactic": job.method.removesuffix("-hook"),
            "budget": job.budget,
            "seed": job.seed,
        },
    }
    if job.method.endswith("-hook"):
        space["canonical"] = f"{HOOK}:canonical"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "space.yaml"
        path.write_text(yaml.safe_dump(space))
        definition = load_space_file(path)
        run = Path(tmp) / "run"
        run.mkdir()
        run_search(definition, build_evaluator(definition), run)
        frame = pd.read_csv(run / "results.csv")
    return frame[frame["status"] == "ok"][columns].to_numpy(float)


def _optuna(job: Job, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    index, values = _lookup(table, job.params, columns)
    choices = {p: sorted(table[p].unique().tolist()) for p in job.params}
    samplers = {
        "optuna-nsga2": optuna.samplers.NSGAIISampler,
        "optuna-tpe": optuna.samplers.TPESampler,
        "optuna-gp": optuna.samplers.GPSampler,  # log-EHVI with several objectives
    }
    sampler = samplers[job.method](seed=job.seed)
    directions = ["maximize" if mx else "minimize" for _, mx in job.problem.objectives]
    study = optuna.create_study(directions=directions, sampler=sampler)
    seen: list[np.ndarray] = []

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        key = tuple(trial.suggest_categorical(p, choices[p]) for p in job.params)
        row = values[index[key]]
        seen.append(row)
        return tuple(float(v) for v in row)

    timeout = GP_SECONDS if job.method == "optuna-gp" else None
    study.optimize(objective, n_trials=job.budget, timeout=timeout)
    return np.array(seen)


def pymoo_nsga2(upper: np.ndarray, n_obj: int, seed: int):
    """pymoo's NSGA-II as its docs set it up for integer variables, ready for ask/tell."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.core.termination import NoTermination
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling

    problem = PymooProblem(n_var=len(upper), n_obj=n_obj, xl=0, xu=upper, vtype=int)
    algorithm = NSGA2(
        pop_size=50,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
        mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    algorithm.setup(problem, termination=NoTermination(), seed=seed, verbose=False)
    return algorithm


def _pymoo(job: Job, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    index, values = _lookup(table, job.params, columns)
    choices = [sorted(table[p].unique().tolist()) for p in job.params]
    signs = np.array([-1.0 if mx else 1.0 for _, mx in job.problem.objectives])
    algorithm = pymoo_nsga2(np.array([len(c) - 1 for c in choices]), len(columns), job.seed)
    seen: list[np.ndarray] = []
    while len(seen) < job.budget:
        pop = algorithm.ask()
        X = np.round(pop.get("X")).astype(int)
        rows = np.array([values[index[tuple(choices[j][x[j]] for j in range(len(x)))]] for x in X])
        seen += list(rows)
        pop.set("F", rows * signs)
        algorithm.tell(infills=pop)
    return np.array(seen[: job.budget])


class Scorer:
    """Hypervolume gap and true-front members, as the module docstring defines them."""

    def __init__(self, table: pd.DataFrame, problem: Problem) -> None:
        columns = [c for c, _ in problem.objectives]
        self.signs = np.array([-1.0 if mx else 1.0 for _, mx in problem.objectives])
        values = table[columns].to_numpy(float)
        self.lo, self.span = values.min(axis=0), np.ptp(values, axis=0)
        F = self._normal(values)
        self.ref = np.median(F, axis=0)
        front = non_dominated(F)
        self.true_hv = hypervolume(F[front], self.ref)
        self.front = {tuple(v) for v in values[front]}

    def _normal(self, values: np.ndarray) -> np.ndarray:
        return (values - self.lo) / np.where(self.span > 0, self.span, 1.0) * self.signs

    def gap(self, values: np.ndarray) -> float:
        F = self._normal(values)
        return 1.0 - hypervolume(F[non_dominated(F)], self.ref) / self.true_hv

    def found(self, values: np.ndarray) -> int:
        return len({tuple(v) for v in values} & self.front)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default=str(DEFAULT_TABLE))
    parser.add_argument("--params", default="op0,op1,op2,op3,op4,op5")
    parser.add_argument("--problem", action="append", help="name=column:max,column:min,...")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first .. first+n-1")
    parser.add_argument("--budgets", default="50,100,250")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    problems = [Problem.parse(p) for p in (args.problem or DEFAULT_PROBLEMS)]
    budgets = [int(b) for b in args.budgets.split(",")]
    methods = args.methods.split(",")
    params = tuple(args.params.split(","))
    table = pd.read_csv(args.table)
    scratch = tempfile.TemporaryDirectory()
    tables = {p.name: (args.table, table) for p in problems}
    if any(p.name.endswith(CANONICAL) for p in problems):
        canonical = canonical_table(table, params)
        path = str(Path(scratch.name) / "canonical.csv")
        canonical.to_csv(path, index=False)
        distinct = len(canonical.drop_duplicates(subset=[c for c in table if c not in params]))
        print(f"canonical table: {distinct} distinct networks of {len(table)} cells", flush=True)
        tables.update({p.name: (path, canonical) for p in problems if p.name.endswith(CANONICAL)})
    jobs = [
        Job(m, p, s, max(budgets), tables[p.name][0], params)
        for p in problems
        for m in methods
        for s in range(args.first_seed, args.first_seed + args.seeds)
    ]
    print(
        f"{len(jobs)} runs ({len(methods)} methods x {len(problems)} problems x {args.seeds} "
        f"seeds), budgets {budgets}, {args.jobs} at a time",
        flush=True,
    )
    started = time.perf_counter()
    results: dict[tuple[str, str], list[tuple[np.ndarray, float]]] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for job, values, seconds in pool.map(run_job, jobs):
            results.setdefault((job.problem.name, job.method), []).append((values, seconds))
    report(
        results,
        problems,
        methods,
        budgets,
        {name: frame for name, (_, frame) in tables.items()},
        Path(args.out),
        args,
        time.perf_counter() - started,
    )
    scratch.cleanup()


def report(results, problems, methods, budgets, tables, out: Path, args, elapsed: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Sample efficiency on a measured table",
        "",
        f"Table `{Path(args.table).name}`, parameters {args.params}; {args.seeds} seeds "
        f"({args.first_seed} to {args.first_seed + args.seeds - 1}); "
        f"hypervolume gap (lower is better), median [interquartile range]; the last column "
        f"counts true-front members found at {max(budgets)} look-ups (median), the one "
        f"before it the distinct results among them (median): a look-up that repeats an "
        f"earlier result measured a network already measured under another encoding. "
        f"Ran in {elapsed / 60:.1f} min with {args.jobs} jobs on {os.cpu_count()} cores.",
        "",
        "Command: `python benchmarks/sample_efficiency.py --seeds "
        f"{args.seeds}{f' --first-seed {args.first_seed}' if args.first_seed else ''}`",
    ]
    curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for problem in problems:
        scorer = Scorer(tables[problem.name], problem)
        objectives = ", ".join(f"{c} ({'max' if mx else 'min'})" for c, mx in problem.objectives)
        lines += ["", f"## {problem.name}: {objectives}", ""]
        header = (
            ["method"]
            + [f"gap @ {b}" for b in budgets]
            + [f"distinct @ {max(budgets)}", f"front found @ {max(budgets)}", "seconds/run"]
        )
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        best = {
            b: min(
                np.median([scorer.gap(v[:b]) for v, _ in results[(problem.name, m)]])
                for m in methods
                if all(len(v) >= b for v, _ in results[(problem.name, m)])
            )
            for b in budgets
        }
        steps = np.unique(np.linspace(10, max(budgets), 25).astype(int))
        for method in methods:
            runs = results[(problem.name, method)]
            cells = [method]
            for b in budgets:
                short = sum(len(v) < b for v, _ in runs)
                if short:  # capped by time before reaching b look-ups
                    cells.append(f"capped ({short} of {len(runs)} runs short)")
                    continue
                gaps = np.array([scorer.gap(v[:b]) for v, _ in runs])
                q1, med, q3 = np.percentile(gaps, [25, 50, 75])
                mark = "**" if np.isclose(med, best[b]) else ""
                cells.append(f"{mark}{med:.3f}{mark} [{q1:.3f}, {q3:.3f}]")
            distinct = [len(np.unique(v[: max(budgets)], axis=0)) for v, _ in runs]
            cells.append(f"{np.median(distinct):.0f}")
            cells.append(f"{np.median([scorer.found(v[: max(budgets)]) for v, _ in runs]):.0f}")
            cells.append(f"{np.median([s for _, s in runs]):.2f}")
            lines.append("| " + " | ".join(cells) + " |")
            curve = np.array([[scorer.gap(v[:k]) for k in steps] for v, _ in runs])
            curves[(problem.name, method)] = (steps, *np.percentile(curve, [25, 50, 75], axis=0))
    text = "\n".join(lines) + "\n"
    (out / "sample_efficiency.md").write_text(text)
    print(text)
    _plot(curves, problems, methods, out / "sample_efficiency.png")
    print(f"Wrote {out / 'sample_efficiency.md'} and {out / 'sample_efficiency.png'}")


def _plot(curves, problems, methods, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(problems), figsize=(4.5 * len(problems), 3.8), squeeze=False)
    for ax, problem in zip(axes[0], problems, strict=True):
        for method in methods:
            steps, q1, med, q3 = curves[(problem.name, method)]
            (line,) = ax.plot(steps, med, label=method)
            ax.fill_between(steps, q1, q3, color=line.get_color(), alpha=0.15)
        ax.set_title(problem.name)
        ax.set_xlabel("table look-ups")
        ax.set_ylabel("hypervolume gap")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
