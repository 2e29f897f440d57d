"""Search spaces: parameters, per-layer lists, constraints, counting and uniform sampling.

A sub-network is a vector of integer genes, one per scalar parameter and ``max_layers`` per
per-layer parameter; gene ``k`` of a parameter is an index into its domain. Genes of layers
beyond the active length are inactive: the canonical vector holds 0 there, so they never
change a sub-network's identity. Fixed parameters have no gene.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nas_search.domains import Domain
from nas_search.errors import EvaluationFailed, ExpressionError, SpaceError, where
from nas_search.expr import Expression, compile_expression, mask_key

#: spaces at most this large are enumerated outright when sampling without repeats
ENUMERATION_LIMIT = 200_000


@dataclass(frozen=True)
class Parameter:
    """One parameter of a space. ``kind`` is categorical, ordinal, integer or fixed."""

    name: str
    kind: str
    domain: Domain | None = None
    value: Any = None
    per_layer: str | None = None

    @property
    def is_fixed(self) -> bool:
        return self.domain is None

    @property
    def values(self) -> list[Any]:
        """Every value the parameter can take (per layer: every value of one layer)."""
        if self.domain is None:
            return list(self.value) if isinstance(self.value, list) else [self.value]
        return list(self.domain.values)


@dataclass(frozen=True)
class Constraint:
    source: str
    expression: Expression
    uses_metrics: bool


@dataclass
class SearchSpace:
    """Parameters and constraints of one space; all the vector arithmetic lives here."""

    name: str
    parameters: Sequence[Parameter]
    constraints: Sequence[str] = ()
    exact_metrics: Sequence[str] = ()
    source: str | None = None  # the file it came from, for messages
    #: the space's ``canonical`` hook (:class:`~nas_search.identity.CanonicalHook`), if any:
    #: maps vectors, inactive genes already 0, to the vectors of their networks' one encoding
    identity: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)
    params: dict[str, Parameter] = field(init=False)
    genes: list[tuple[str, int | None]] = field(init=False)
    slots: dict[str, slice] = field(init=False)
    max_layers: dict[str, int] = field(init=False)
    compiled: list[Constraint] = field(init=False)

    def __post_init__(self) -> None:
        self.params = {p.name: p for p in self.parameters}
        self.max_layers = {}
        for p in self.parameters:
            if p.per_layer is not None:
                self.max_layers[p.per_layer] = max(self.layer_counts(p.per_layer, p.name))
        self.genes, self.slots = [], {}
        for p in self.parameters:
            if p.is_fixed:
                continue
            start = len(self.genes)
            if p.per_layer is None:
                self.genes.append((p.name, None))
            else:
                self.genes += [(p.name, k) for k in range(self.max_layers[p.per_layer])]
            self.slots[p.name] = slice(start, len(self.genes))
        if not self.genes:
            raise SpaceError(f"{self._where('parameters')}needs at least one parameter that varies")
        self.compiled = [self._compile(k, c) for k, c in enumerate(self.constraints)]
        self._type_check()

    # structure ----------------------------------------------------------------------------
    def _where(self, path: str) -> str:
        return where(self.source, path)

    def layer_counts(self, length_name: str, user: str) -> list[int]:
        """The possible active lengths given by parameter ``length_name``."""
        where = self._where(f"parameters.{user}.per_layer")
        target = self.params.get(length_name)
        if target is None:
            raise SpaceError(f"{where}names no parameter of this space, got {length_name!r}")
        if target.per_layer is not None:
            raise SpaceError(
                f"{where}must name a parameter that is not per-layer, got {length_name!r}"
            )
        values = [target.value] if target.domain is None else list(target.domain.values)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SpaceError(
                    f"{where}{length_name} must take positive integer values, got {v!r}"
                )
        return values

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    @property
    def upper(self) -> np.ndarray:
        """Largest legal index of each gene (the lower bound is 0)."""
        return np.array([self._domain(n).size - 1 for n, _ in self.genes], dtype=np.int64)

    def _domain(self, name: str) -> Domain:
        domain = self.params[name].domain
        assert domain is not None, name
        return domain

    @property
    def length_params(self) -> list[str]:
        return list(self.max_layers)

    def layered_by(self, length_name: str) -> list[Parameter]:
        return [p for p in self.parameters if p.per_layer == length_name]

    def gene_labels(self) -> list[str]:
        return [n if k is None else f"{n}[{k}]" for n, k in self.genes]

    # values of a batch of vectors -----------------------------------------------------------
    def lengths(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Active number of layers of each length parameter, per vector."""
        vectors = np.atleast_2d(vectors)
        out = {}
        for name in self.max_layers:
            p = self.params[name]
            if p.domain is None:
                out[name] = np.full(len(vectors), int(p.value), dtype=np.int64)
            else:
                gene = self.slots[name].start
                out[name] = np.asarray(p.domain.lookup(vectors[:, gene]), dtype=np.int64)
        return out

    def active_mask(self, vectors: np.ndarray) -> np.ndarray:
        """Boolean mask of the active genes of each vector."""
        vectors = np.atleast_2d(vectors)
        mask = np.ones(vectors.shape, dtype=bool)
        lengths = self.lengths(vectors)
        for p in self.parameters:
            if p.per_layer is not None:
                s = self.slots[p.name]
                layers = np.arange(s.stop - s.start)
                mask[:, s] = layers[None, :] < lengths[p.per_layer][:, None]
        return mask

    def canonical(self, vectors: np.ndarray) -> np.ndarray:
        """The same sub-networks, one encoding each: inactive genes set to 0, then the space's
        ``canonical`` hook, if it has one."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.int64))
        out = np.where(self.active_mask(vectors), vectors, 0)
        return out if self.identity is None else self.identity(out)

    def namespace(self, vectors: np.ndarray) -> dict[str, Any]:
        """Parameter values of a batch of vectors, in the form the constraint grammar reads."""
        vectors = np.atleast_2d(vectors)
        n = len(vectors)
        ns: dict[str, Any] = {}
        for p in self.parameters:
            if p.domain is None:
                ns[p.name] = np.full(n, p.value, dtype=object if isinstance(p.value, str) else None)
            else:
                ns[p.name] = p.domain.lookup(vectors[:, self.slots[p.name]])
                if p.per_layer is None:
                    ns[p.name] = ns[p.name][:, 0]
        for name, length in self.lengths(vectors).items():
            ns[mask_key(name)] = np.arange(self.max_layers[name])[None, :] < length[:, None]
        return ns

    def decode(self, vector: Sequence[int] | np.ndarray) -> dict[str, Any]:
        """The canonical config of one vector: active layers only, fixed values included."""
        vector = np.asarray(vector, dtype=np.int64)
        config: dict[str, Any] = {}
        for p in self.parameters:
            if p.domain is None:
                config[p.name] = p.value
                continue
            genes = vector[self.slots[p.name]]
            if p.per_layer is None:
                config[p.name] = _plain(p.domain.value_at(int(genes[0])))
            else:
                n = _length_of(config, self.params[p.per_layer], vector, self)
                config[p.name] = [_plain(p.domain.value_at(int(g))) for g in genes[:n]]
        return config

    # constraints ----------------------------------------------------------------------------
    def _compile(self, k: int, source: str) -> Constraint:
        layered = {p.name: p.per_layer for p in self.parameters if p.per_layer is not None}
        scalars = {p.name for p in self.parameters if p.per_layer is None} | set(self.exact_metrics)
        min_layers = {name: min(self.layer_counts(name, name)) for name in self.max_layers}
        try:
            expression = compile_expression(
                source, scalars=scalars, layered=layered, min_layers=min_layers
            )
        except ExpressionError as exc:
            raise SpaceError(f"{self._where(f'constraints[{k}]')}{exc}") from None
        uses_metrics = bool(expression.names & set(self.exact_metrics))
        return Constraint(source, expression, uses_metrics)

    def _type_check(self) -> None:
        """Evaluate every constraint on the smallest and the largest sub-network (exact metrics
        at 1), so that one mixing types (``width < 'x'``) or dividing by zero fails when the
        space loads, naming its place, rather than in the middle of a run."""
        if not self.compiled:
            return
        probes = self.canonical(np.vstack([np.zeros(self.n_genes, dtype=np.int64), self.upper]))
        ns = self.namespace(probes)
        ns.update({m: np.ones(len(probes)) for m in self.exact_metrics})
        for k, c in enumerate(self.compiled):
            try:
                c.expression.evaluate(ns, len(probes))
            except ExpressionError as exc:
                raise SpaceError(f"{self._where(f'constraints[{k}]')}{exc}") from None

    @property
    def needs_metrics(self) -> bool:
        return any(c.uses_metrics for c in self.compiled)

    def violations(
        self,
        vectors: np.ndarray,
        exact: Callable[[dict[str, Any]], Mapping[str, float]] | None = None,
        check_metrics: bool = True,
    ) -> list[list[str]]:
        """The constraints each vector violates (empty list: feasible).

        Constraints over parameters are checked for the whole batch at once; ``exact``
        computes the evaluator's exact metrics of one config and is called only for vectors
        that pass those and only when some constraint names a metric (``check_metrics``
        False: those constraints are left unchecked).
        """
        vectors = np.atleast_2d(vectors)
        n = len(vectors)
        out: list[list[str]] = [[] for _ in range(n)]
        if not self.compiled or n == 0:
            return out
        ns = self.namespace(vectors)
        for c in self.compiled:
            if not c.uses_metrics:
                for k in np.flatnonzero(~c.expression.evaluate(ns, n)):
                    out[k].append(c.source)
        metric_constraints = [c for c in self.compiled if c.uses_metrics and check_metrics]
        if metric_constraints:
            if exact is None:
                raise SpaceError(
                    f"{self._where('constraints')}names exact metrics "
                    f"({', '.join(self.exact_metrics)}) but no evaluator computes them"
                )
            todo: list[int] = []
            rows: list[Mapping[str, float]] = []
            for row in range(n):
                if out[row]:
                    continue
                try:
                    rows.append(exact(self.decode(vectors[row])))
                except EvaluationFailed as exc:  # its constraints cannot be checked: skipped
                    out[row].append(f"exact metrics failed ({exc})")
                    continue
                todo.append(row)
            sub = {key: np.asarray(v)[todo] for key, v in ns.items()}
            for m in self.exact_metrics:
                sub[m] = np.array([float(r[m]) for r in rows]) if rows else np.zeros(0)
            for c in metric_constraints:
                for j in np.flatnonzero(~c.expression.evaluate(sub, len(todo))):
                    out[todo[j]].append(c.source)
        return out

    def feasible(
        self,
        vectors: np.ndarray,
        exact: Callable[[dict[str, Any]], Mapping[str, float]] | None = None,
    ) -> np.ndarray:
        return np.array([not v for v in self.violations(vectors, exact)], dtype=bool)

    # counting and sampling ----------------------------------------------------------------
    def _group_counts(self, length_name: str) -> list[tuple[int, int]]:
        """``(layers, sub-networks of the group's lists)`` for each possible active length."""
        sizes = [self._domain(p.name).size for p in self.layered_by(length_name)]
        return [(d, math.prod(s**d for s in sizes)) for d in self.layer_counts(length_name, "")]

    def cardinality(self) -> int:
        """Exact number of distinct sub-networks, inactive layers collapsed, before constraints."""
        total = 1
        for p in self.parameters:
            if p.per_layer is not None:
                continue
            if p.name in self.max_layers:
                total *= sum(count for _, count in self._group_counts(p.name))
            elif p.domain is not None:
                total *= p.domain.size
        return total

    def sample(self, rng: np.random.Generator, n: int, by_gene: bool = False) -> np.ndarray:
        """``n`` canonical vectors drawn uniformly (with replacement) over distinct sub-networks;
        ``by_gene``: every gene uniform over its values instead, a number of layers included
        (uniform over sub-networks, a shallow one is as rare as it has few layer choices)."""
        out = np.zeros((n, self.n_genes), dtype=np.int64)
        for p in self.parameters:
            if p.domain is None or p.per_layer is not None:
                continue
            gene = self.slots[p.name].start
            if p.name in self.max_layers:
                counts = self._group_counts(p.name)
                total = sum(c for _, c in counts)
                weights = np.array([1.0 if by_gene else c / total for _, c in counts])
                out[:, gene] = rng.choice(len(counts), size=n, p=weights / weights.sum())
            else:
                out[:, gene] = rng.integers(0, p.domain.size, size=n)
        for p in self.parameters:
            if p.per_layer is not None and p.domain is not None:
                s = self.slots[p.name]
                out[:, s] = rng.integers(0, p.domain.size, size=(n, s.stop - s.start))
        return self.canonical(out)

    def enumerate(self) -> np.ndarray:
        """Every distinct canonical vector (only for spaces up to :data:`ENUMERATION_LIMIT`)."""
        if self.cardinality() > ENUMERATION_LIMIT:
            raise SpaceError(f"{self.name}: too large to enumerate ({self.cardinality()})")
        blocks: list[tuple[list[int], np.ndarray]] = []
        for p in self.parameters:
            if p.name in self.max_layers:
                blocks.append(self._group_block(p.name))
            elif p.domain is not None and p.per_layer is None:
                blocks.append(([self.slots[p.name].start], np.arange(p.domain.size)[:, None]))
        columns = [c for cols, _ in blocks for c in cols]
        grids = np.meshgrid(*[np.arange(len(rows)) for _, rows in blocks], indexing="ij")
        picks = [g.ravel() for g in grids]
        out = np.zeros((len(picks[0]), self.n_genes), dtype=np.int64)
        out[:, columns] = np.hstack(
            [rows[idx] for (_, rows), idx in zip(blocks, picks, strict=True)]
        )
        if self.identity is not None:  # one vector per network, in order of first encoding
            out = self.identity(out)
            _, first = np.unique(out, axis=0, return_index=True)
            out = out[np.sort(first)]
        return out

    def _group_block(self, length_name: str) -> tuple[list[int], np.ndarray]:
        layered = self.layered_by(length_name)
        has_gene = length_name in self.slots
        columns = [self.slots[length_name].start] if has_gene else []
        for p in layered:
            columns += list(range(self.slots[p.name].start, self.slots[p.name].stop))
        width, max_len = len(columns), self.max_layers[length_name]
        rows = []
        for index, d in enumerate(self.layer_counts(length_name, "")):
            sizes = [self._domain(p.name).size for p in layered for _ in range(d)]
            for combo in itertools.product(*[range(s) for s in sizes]):
                row = ([index] if has_gene else []) + [0] * (width - has_gene)
                for j, p_genes in enumerate(_chunks(combo, d)):
                    start = int(has_gene) + j * max_len
                    row[start : start + d] = p_genes
                rows.append(row)
        return columns, np.array(rows, dtype=np.int64).reshape(-1, width)


def _chunks(values: Iterable[int], size: int) -> list[list[int]]:
    values = list(values)
    return [values[k : k + size] for k in range(0, len(values), size)] if size else []


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars, so configs serialize identically everywhere."""
    return value.item() if isinstance(value, np.generic) else value


def _length_of(
    config: Mapping[str, Any], length: Parameter, vector: np.ndarray, space: SearchSpace
) -> int:
    if length.name in config:
        return int(config[length.name])
    if length.domain is None:
        return int(length.value)
    return int(length.domain.value_at(int(vector[space.slots[length.name].start])))
