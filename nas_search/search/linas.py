"""The ``linas`` tactic: NSGA-II (or another pymoo algorithm) over lightly trained predictors,
refitted on every real evaluation so far, choosing each batch from the predicted front.

1. A space-filling initial design of ``initial`` feasible sub-networks (maximin in feature
   space over a random pool).
2. Then each iteration: fit the predictors; run the algorithm for a few generations on the
   predicted objectives (exact ones computed), starting from the previous iteration's final
   population (re-scored by the new predictors) plus the measured front; choose the batch
   (:func:`~nas_search.search.selection.select_batch`) among never-proposed feasible genomes
   that :class:`~nas_search.search.twins.TwinDetector` does not judge another encoding of a
   network measured or being measured, at most one of those it judges encodings of one network
   or that are one gene apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nas_search.config import SpaceDefinition
from nas_search.csvfile import read_csv
from nas_search.encoding import config_problems, vector_key
from nas_search.errors import UsageError
from nas_search.evaluation import Evaluator
from nas_search.results.journal import write_atomic
from nas_search.results.pareto import non_dominated
from nas_search.results.tables import configs_from_frame, minimized_bounds
from nas_search.search.algorithms import (
    asked_population,
    make_algorithm,
    make_problem,
    population_size,
    set_scores,
)
from nas_search.search.history import History, Proposal
from nas_search.search.random_tactic import RandomTactic
from nas_search.search.selection import maximin, select_batch
from nas_search.search.surrogate import Surrogate
from nas_search.search.tactic import Tactic, register_tactic
from nas_search.search.twins import TwinDetector, changed_genes
from nas_search.settings import PREDICTOR_OBJECT

if TYPE_CHECKING:
    import pandas as pd

PREDICTED_CSV = "predicted_pareto.csv"
#: generations of the algorithm on predictions, per iteration: 10, or every sub-network of
#: NAS-Bench-201 predicted, searched worse (benchmarks/README.md)
GENERATIONS = 25
POOL = 300  # predicted candidates considered by the batch selection
TRUST = 3  # candidates differ from a measured front member in at most this many genes
DESIGN_POOL = 30  # random feasible samples per initial point, to spread the design


class LinasTactic(Tactic):
    def __init__(self, definition: SpaceDefinition, evaluator: Evaluator) -> None:
        self.definition = definition
        self.space = definition.space
        self.settings = definition.settings
        self.objectives = definition.objectives
        self.signs = np.array([o.sign for o in self.objectives])
        self.surrogate = Surrogate(definition, evaluator, predictor_of(definition))
        self.sampler = RandomTactic(definition, evaluator)
        self.exact = evaluator.exact if self.space.needs_metrics else None
        self.population: np.ndarray | None = None
        self.fitted: tuple[np.ndarray, np.ndarray] | None = None  # data of the last fit
        self.info: dict[str, Any] = {}
        self.warm = load_warm_start(definition) if self.settings.warm_start else None
        self.twins = TwinDetector(self.space.upper, seed=self.settings.seed % 2**32)

    # state kept in the journal, so that a resumed run continues exactly ----------------------
    def state(self) -> dict[str, Any]:
        return {"population": None if self.population is None else self.population.tolist()}

    def restore(self, state: dict[str, Any]) -> None:
        population = state.get("population")
        self.population = None if population is None else np.asarray(population, dtype=np.int64)

    # ----------------------------------------------------------------------------------------
    def propose(
        self, history: History, limit: int, rng: np.random.Generator
    ) -> list[Proposal] | None:
        measured = [e for e in history.evaluations if e.ok]
        self.info = {}
        known = len(measured) + (0 if self.warm is None else len(self.warm[1]))
        if known < self.settings.initial:  # a warm start's measurements count here
            missing = self.settings.initial - known - len(history.pending)
            if missing <= 0:
                return None  # the initial design is still being measured
            return self._design(history, min(missing, limit), rng)
        vectors, values, archive = self._fit_and_search(history, measured, rng)
        if not archive:
            return self._design(history, min(self.settings.batch, limit), rng)
        X = np.array([a[0] for a in archive])
        reference = self._reference(measured)
        # near this run's measured front (a warm start's until this run has measured anything),
        # its members better than the reference point if there are any
        own = slice(len(values) - len(measured) if measured else 0, None)
        front = non_dominated(values[own] * self.signs)
        anchors = vectors[own][front]
        if reference is not None:
            better = (values[own][front] * self.signs < reference).all(axis=1)
            anchors = anchors[better] if better.any() else anchors
        X = X[_near(X, anchors)]
        # what the run has learned are other encodings of measured networks: known already
        self.info["twin_pairs"] = self.twins.fit(vectors, values)
        pending_vectors = np.array([p.vector for _, _, p in history.pending], dtype=np.int64)
        judged = self.twins.twins(X, pending_vectors.reshape(-1, self.space.n_genes))
        self.info["twins_skipped"] = int(judged.sum())
        if judged.all():
            return self._design(history, min(self.settings.batch, limit), rng)
        X = X[~judged]
        keep = _best_layers(self.surrogate.predict(X, return_std=False)[0], POOL)
        X = X[keep]
        mean, std, _ = self.surrogate.predict(X)  # the spread only for the few that compete
        pending = None  # proposals still being measured count as their predicted values
        if history.pending:
            pending = self.surrogate.predict(pending_vectors, return_std=False)[0]
        picks = select_batch(
            values * self.signs,
            mean,
            std,
            min(self.settings.batch, limit),
            pending=pending,
            reference=reference,
            exclusive=self.twins.among(X),
        )
        return [self._proposal(X[k], mean[k], std[k]) for k in picks]

    def _reference(self, measured: list[Any]) -> np.ndarray | None:
        """The hypervolume reference point of the batch choice, in minimization form: an
        objective's ``bound`` where it has one (the user's own limit), else the median of the
        space-filling design (and of a warm start's rows), an unbiased estimate of the median
        sub-network, which later, targeted batches are not (they crowd the front and its cheap
        extreme). None while the design is too small to say."""
        bounds = minimized_bounds(self.objectives)
        rows = [[e.metrics[o.name] for o in self.objectives] for e in measured if e.iteration == 0]
        if self.warm is not None:
            rows += self.warm[1].tolist()
        if len(rows) < 5:  # too few for a median: the bounds alone, if every objective has one
            return None if np.isinf(bounds).any() else bounds
        median = np.median(np.array(rows) * self.signs, axis=0)
        return np.where(np.isinf(bounds), median, bounds)

    def predicted_front(self, history: History, rng: np.random.Generator) -> pd.DataFrame:
        """The run's predicted front: fitted on every measurement, searched like an iteration;
        its never-measured members with their predicted values and uncertainty."""
        import pandas as pd

        measured = [e for e in history.evaluations if e.ok]
        names = [o.name for o in self.objectives]
        columns = [p.name for p in self.space.parameters] + [
            f"{kind}_{n}" for n in names for kind in ("predicted", "uncertainty")
        ]
        if len(measured) < max(2, min(self.settings.initial, 5)):
            return pd.DataFrame(columns=columns)
        _, _, archive = self._fit_and_search(history, measured, rng)
        if not archive:
            return pd.DataFrame(columns=columns)
        X = np.array([a[0] for a in archive])
        mean, std, _ = self.surrogate.predict(X)
        front = non_dominated(mean)
        rows = []
        for x, m, s in zip(X[front], mean[front], std[front], strict=True):
            config = self.space.decode(x)
            row: dict[str, Any] = {p: _cell(config[p]) for p in config}
            for k, n in enumerate(names):
                value = self.surrogate.shown(k, self.signs[k] * m[k])
                row[f"predicted_{n}"] = float(f"{value:.10g}")
                row[f"uncertainty_{n}"] = self._spread(k, s[k])
            rows.append(row)
        frame = pd.DataFrame(rows, columns=columns)
        return frame.sort_values(
            f"predicted_{names[0]}", ascending=self.signs[0] > 0, kind="stable"
        )

    def _fit_and_search(
        self, history: History, measured: list[Any], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Fit the predictors on every measurement, then let the algorithm search them."""
        vectors, values = self._training(measured)
        seed = int(rng.integers(0, 2**31 - 1))
        self.info["training_rows"] = len(values)
        self.monitor.phase("fitting the predictors")
        self.info["predictors"] = self.surrogate.fit(vectors, values, seed)
        self.fitted = (vectors, values)
        self.monitor.phase("searching the predictors")
        archive = self._optimize(history, vectors, values * self.signs, rng, seed)
        return vectors, values, archive

    def finish(self, history: History, run_dir: Path, rng: np.random.Generator) -> None:
        """The predicted front (``predicted_pareto.csv``) and the fitted predictors."""
        front = self.predicted_front(history, rng)
        write_atomic(run_dir / PREDICTED_CSV, front.to_csv(index=False))
        self.save_predictors(run_dir / "predictors")

    def save_predictors(self, directory: Path) -> None:
        """The predictors of the predicted front, one folder per predicted objective (of
        named predictors: an estimator object has no file form)."""
        if self.fitted is not None and isinstance(self.surrogate.predictor, str):
            self.surrogate.save(*self.fitted, directory)

    def _training(self, measured: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        vectors = np.array([e.proposal.vector for e in measured], dtype=np.int64)
        values = np.array([[e.metrics[o.name] for o in self.objectives] for e in measured])
        vectors = vectors.reshape(len(measured), self.space.n_genes)
        values = values.reshape(len(measured), len(self.objectives))
        if self.warm is not None:
            vectors, values = np.vstack([self.warm[0], vectors]), np.vstack([self.warm[1], values])
        return vectors, values

    def _proposal(self, vector: np.ndarray, mean: np.ndarray, std: np.ndarray) -> Proposal:
        predicted, uncertainty = {}, {}
        for k, o in enumerate(self.objectives):
            value = self.surrogate.shown(k, self.signs[k] * mean[k])
            predicted[o.name] = float(f"{value:.10g}")
            spread = self._spread(k, std[k])
            if spread is not None:  # none where the model gives none: not a 0
                uncertainty[o.name] = spread
        return Proposal.of(self.space, vector, predicted=predicted, uncertainty=uncertainty)

    def _spread(self, k: int, std: float) -> float | None:
        """The uncertainty to record for objective ``k``: None where its model gives none."""
        return None if k in self.surrogate.without_spread else float(f"{std:.10g}")

    def _design(self, history: History, n: int, rng: np.random.Generator) -> list[Proposal]:
        """``n`` feasible never-proposed sub-networks spread out in feature space, from a pool
        drawn gene by gene: every depth as likely as any other, not only the deepest (which
        are nearly all sub-networks when layers have choices of their own)."""
        pool = self.sampler.feasible_unseen(history, n * DESIGN_POOL, rng, by_gene=True)
        if len(pool) == 0:
            return []
        features = self.surrogate.features.transform(pool)
        picks = maximin(features, n, int(rng.integers(0, len(pool))))
        return [Proposal.of(self.space, pool[k]) for k in picks]

    def _optimize(
        self,
        history: History,
        vectors: np.ndarray,
        measured_min: np.ndarray,
        rng: np.random.Generator,
        seed: int,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        from pymoo.core.termination import NoTermination

        name = self.settings.algorithm
        n_obj = len(self.objectives)
        size = population_size(name, self.settings.population, n_obj)
        if self.space.cardinality() <= GENERATIONS * size:
            return self._every_one(history)
        start = self._start(vectors, measured_min, size, history, rng)
        algorithm = make_algorithm(name, self.space, n_obj, self.settings.population, start)
        algorithm.setup(
            make_problem(self.space, n_obj, name),
            termination=NoTermination(),
            seed=seed,
            verbose=False,
        )
        archive: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        scored = 0
        while scored < GENERATIONS * size:  # MOEA/D asks one at a time, the others a generation
            asked = algorithm.ask()
            pop = asked_population(asked)
            if pop is None or len(pop) == 0:  # a tiny space: no new offspring left to make
                break
            scored += len(pop)
            X = self.space.canonical(np.round(pop.get("X")).astype(np.int64))
            mean, _, broken = self.surrogate.predict(X, return_std=False)
            violations = np.array([len(v) for v in self.space.violations(X, self.exact)])
            violations = violations + broken
            set_scores(name, pop, mean, violations)
            algorithm.tell(infills=asked)
            for x, m, bad in zip(X, mean, violations, strict=True):
                if not bad and not history.is_seen(x):
                    archive.setdefault(vector_key(x), (x, m))
        final = algorithm.pop.get("X") if algorithm.pop is not None else start
        self.population = self.space.canonical(np.round(final).astype(np.int64))
        return list(archive.values())

    def _every_one(self, history: History) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every feasible sub-network never proposed, with its prediction: in a space no larger
        than what the algorithm would score, the exact answer, at once (the algorithm would
        spin there, unable to breed offspring it has not seen)."""
        X = self.space.enumerate()
        X = X[[not history.is_seen(x) for x in X]]
        if not len(X):
            return []
        mean, _, broken = self.surrogate.predict(X, return_std=False)
        violations = np.array([len(v) for v in self.space.violations(X, self.exact)]) + broken
        return [(x, m) for x, m, bad in zip(X, mean, violations, strict=True) if not bad]

    def _start(
        self,
        vectors: np.ndarray,
        measured_min: np.ndarray,
        size: int,
        history: History,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Previous population, the measured front, then random feasible genomes: ``size`` rows."""
        rows = [] if self.population is None else list(self.population)
        rows += list(vectors[non_dominated(measured_min)])
        rows += list(self.sampler.feasible_unseen(history, size, rng))
        rows += list(vectors)
        unique: dict[bytes, np.ndarray] = {}
        for row in rows:
            unique.setdefault(vector_key(row), np.asarray(row, dtype=np.int64))
        start = np.array(list(unique.values())[:size])
        if len(start) < size:  # a tiny space: repeat rows rather than fail
            start = start[np.resize(np.arange(len(start)), size)]
        return start


def _near(X: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Rows within a few changed genes of the measured front (widened until some qualify):
    the predictors are trusted near what was measured, not in far corners they never saw."""
    # in blocks: the measured front grows with the run (hundreds with three objectives), and
    # all at once it was the run's peak memory (+16 MB at 1,000 evaluations of a wide space)
    changed = np.concatenate(
        [np.empty(0, dtype=np.int64)] + [c.min(axis=1) for _, c in changed_genes(X, front)]
    )
    for radius in range(TRUST, X.shape[1] + 1):
        keep = changed <= radius
        if keep.sum() >= 10:
            return keep
    return np.ones(len(X), dtype=bool)


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


def predictor_of(definition: SpaceDefinition) -> Any:
    """The predictor's name, or the estimator object given through the Python API."""
    name = definition.settings.predictor
    if name != PREDICTOR_OBJECT:
        return name
    if "predictor" not in definition.objects:
        raise UsageError(
            f"{definition.source}: search.predictor: {name!r} is an estimator object given "
            "through the Python API (nas_search.run / resume / Search(..., predictor=...)); "
            "give it again"
        )
    return definition.objects["predictor"]


def load_warm_start(definition: SpaceDefinition) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectors and objective values of the measured rows of an earlier run's results.csv."""

    path = definition.settings.warm_start
    assert path is not None
    frame = read_csv(Path(path), f"search.warm_start: {path}", UsageError)
    names = [o.name for o in definition.objectives]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise UsageError(f"search.warm_start: {path}: no column {missing[0]!r}")
    if "status" in frame.columns:
        frame = frame[frame["status"] == "ok"]
    frame = frame[frame[names].notna().all(axis=1)]
    vectors, values = [], []
    for config, row in zip(
        configs_from_frame(frame, definition), frame[names].to_numpy(float), strict=True
    ):
        vector, problems = config_problems(definition.space, config)
        if problems:
            raise UsageError(
                f"search.warm_start: {path}: a row does not fit the space: {problems[0]}"
            )
        vectors.append(definition.space.canonical(vector)[0])
        values.append(row)
    if not vectors:
        return None
    return np.array(vectors), np.array(values)


def _best_layers(F: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` best rows by non-dominated rank (then in order)."""
    if len(F) <= n:
        return np.arange(len(F))
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    fronts = NonDominatedSorting().do(F, n_stop_if_ranked=n)
    order = np.concatenate([np.sort(f) for f in fronts])
    return order[:n]


@register_tactic("linas", "NSGA-II over lightly trained predictors, refit by real evaluations")
def _linas(definition: SpaceDefinition, evaluator: Evaluator) -> LinasTactic:
    return LinasTactic(definition, evaluator)
