"""The constraint grammar: a small, whitelisted subset of Python expressions.

An expression is parsed with :mod:`ast` and walked against a whitelist: names, numbers,
strings, arithmetic, comparisons (``in`` against a literal list too), ``and`` / ``or`` /
``not``, subscripts of per-layer parameters and calls of :data:`FUNCTIONS`. Nothing is ever
passed to ``eval``; the tree is compiled into closures that work on numpy arrays, so one
call checks a whole batch of candidates.

Per-layer parameters (lists whose active length is another parameter) are used three ways:

- ``num_heads[i]``: the free index ``i`` ranges over the active layers, and the constraint must
  hold for every one of them (``embed_dim % num_heads[i] == 0``);
- ``num_heads[0]``: one layer, which must exist in every sub-network;
- ``sum(num_heads)``, ``min``, ``max``, ``len``, ``all``, ``any``: reductions over the active
  layers (also of element-wise terms: ``sum(mlp_ratio[i] * embed_dim) <= 4000``).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

from nas_search.bounded import TooCostly, bounded_mul, bounded_pow
from nas_search.errors import ExpressionError

FUNCTIONS = ("sum", "min", "max", "len", "abs", "all", "any")
LAYER_INDEX = "i"

# bounds on an expression's cost: none may hang, exhaust memory or overflow the stack
MAX_LENGTH = 4096  # characters
MAX_DEPTH = 64  # nesting of the syntax tree

# kinds of sub-expressions, known when compiling
_SCALAR, _LIST, _ELEMENTWISE = "scalar", "list", "elementwise"


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: bounded_mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: bounded_pow,
}
_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

Namespace = Mapping[str, Any]
_Fn = Callable[[Namespace], Any]


def mask_key(group: str) -> str:
    """Namespace key of the active-layer mask of the lists whose length is ``group``."""
    return f"__mask__{group}"


@dataclass(frozen=True)
class _Node:
    fn: _Fn
    kind: str
    group: str | None = None  # the length parameter of a list or element-wise term


@dataclass(frozen=True)
class Expression:
    """A compiled expression; :meth:`evaluate` returns one boolean per candidate."""

    source: str
    names: frozenset[str]
    _root: _Node

    def evaluate(self, namespace: Namespace, n: int) -> np.ndarray:
        """Truth of the expression for ``n`` candidates whose values are in ``namespace``.

        Scalars are arrays of shape ``(n,)``; a per-layer list is an array of shape
        ``(n, max_layers)`` beside its mask under :func:`mask_key` of its length parameter.
        """
        try:
            with np.errstate(all="ignore"):
                value = self._root.fn(namespace)
                if self._root.kind == _ELEMENTWISE:
                    mask = namespace[mask_key(self._root.group or "")]
                    value = np.all(np.asarray(value, dtype=bool) | ~mask, axis=1)
                elif self._root.kind == _LIST:
                    raise ExpressionError(f"{self.source!r}: a per-layer list is not a condition")
                out = np.asarray(value)
                if out.dtype == object:
                    out = np.array([bool(v) for v in out.ravel()], dtype=bool).reshape(out.shape)
                return np.broadcast_to(out.astype(bool), (n,)).copy()
        except ExpressionError:
            raise
        except TooCostly as exc:
            raise ExpressionError(f"{self.source!r}: too costly to evaluate ({exc})") from None
        except ZeroDivisionError:
            raise ExpressionError(
                f"{self.source!r}: cannot be evaluated: division by zero"
            ) from None
        except (ArithmeticError, MemoryError) as exc:
            raise ExpressionError(
                f"{self.source!r}: cannot be evaluated: {type(exc).__name__}"
            ) from None
        except (TypeError, ValueError):
            raise ExpressionError(
                f"{self.source!r}: cannot be evaluated: values of types that do not combine "
                "(a string beside a number?)"
            ) from None


def compile_expression(
    source: str,
    *,
    scalars: Set[str],
    layered: Mapping[str, str] | None = None,
    min_layers: Mapping[str, int] | None = None,
) -> Expression:
    """Parse ``source`` and check it against the names it may use.

    ``scalars`` are names with one value per candidate; ``layered`` maps each per-layer name to
    its length parameter; ``min_layers`` gives each length parameter's smallest value, so that a
    constant index is known to exist in every sub-network.
    """
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError(f"must be a non-empty expression, got {source!r}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"{source[:40]!r}...: too long ({len(source)} characters, at most {MAX_LENGTH})"
        )
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"{source!r}: invalid syntax ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"{source[:40]!r}...: nested too deeply") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(f"{source[:40]!r}...: nested too deeply (at most {MAX_DEPTH} levels)")
    compiler = _Compiler(source, set(scalars), dict(layered or {}), dict(min_layers or {}))
    root = compiler.visit(tree.body)
    return Expression(source=source, names=frozenset(compiler.used), _root=root)


def _depth(tree: ast.AST) -> int:
    """Depth of a syntax tree, walked without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


class _Compiler:
    def __init__(
        self, source: str, scalars: set[str], layered: dict[str, str], min_layers: dict[str, int]
    ) -> None:
        self.source = source
        self.scalars = scalars
        self.layered = layered
        self.min_layers = min_layers
        self.used: set[str] = set()

    def fail(self, message: str) -> ExpressionError:
        return ExpressionError(f"{self.source!r}: {message}")

    def visit(self, node: ast.AST) -> _Node:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            return self.reject(node)
        result: _Node = method(node)
        return result

    def reject(self, node: ast.AST) -> _Node:
        if isinstance(node, ast.Attribute):
            raise self.fail("attribute access is not allowed")
        text = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        raise self.fail(
            f"{text!r} is not allowed; use names, numbers, strings, arithmetic, comparisons, "
            f"and/or/not, x[i] and the functions {', '.join(FUNCTIONS)}"
        )

    # leaves -------------------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if not isinstance(value, (int, float, str, bool)):
            return self.reject(node)
        return _Node(lambda ns: value, _SCALAR)

    def visit_Name(self, node: ast.Name) -> _Node:
        name = node.id
        if name == LAYER_INDEX and name not in self.scalars and name not in self.layered:
            raise self.fail(f"'{LAYER_INDEX}' may only index a per-layer parameter, as in x[i]")
        if name in self.layered:
            self.used.add(name)
            return _Node(lambda ns: ns[name], _LIST, self.layered[name])
        if name in self.scalars:
            self.used.add(name)
            return _Node(lambda ns: ns[name], _SCALAR)
        known = sorted(self.scalars | set(self.layered))
        raise self.fail(f"unknown name {name!r} (known: {', '.join(known)})")

    def visit_Subscript(self, node: ast.Subscript) -> _Node:
        if not (isinstance(node.value, ast.Name) and node.value.id in self.layered):
            raise self.fail(f"only per-layer parameters can be indexed, got {ast.unparse(node)!r}")
        name = node.value.id
        group = self.layered[name]
        self.used.add(name)
        index = node.slice
        if isinstance(index, ast.Name) and index.id == LAYER_INDEX:
            return _Node(lambda ns: ns[name], _ELEMENTWISE, group)
        if (
            isinstance(index, ast.Constant)
            and isinstance(index.value, int)
            and not isinstance(index.value, bool)
        ):
            k = index.value
            least = self.min_layers.get(group, 0)
            if k < 0 or k >= least:
                raise self.fail(
                    f"index {k} of {name} must be below the smallest number of layers "
                    f"({group} >= {least}); use {name}[i] for every active layer"
                )
            return _Node(lambda ns: ns[name][:, k], _SCALAR)
        raise self.fail(f"index of {name} must be '{LAYER_INDEX}' or a whole number")

    # operators ----------------------------------------------------------------------------
    def _combine(self, nodes: list[_Node], what: str) -> tuple[list[_Fn], str, str | None]:
        """Functions lifted to a common shape, and the kind and group of the result."""
        for node in nodes:
            if node.kind == _LIST:
                raise self.fail(
                    f"a whole per-layer list cannot be used in {what}; use x[i] or a reduction "
                    f"such as sum(x), min(x), max(x), len(x)"
                )
        groups = {n.group for n in nodes if n.kind == _ELEMENTWISE}
        if len(groups) > 1:
            raise self.fail(f"x[i] terms of lists of different lengths: {sorted(map(str, groups))}")
        if not groups:
            return [n.fn for n in nodes], _SCALAR, None
        return (
            [_as_column(n.fn) if n.kind == _SCALAR else n.fn for n in nodes],
            _ELEMENTWISE,
            (groups.pop()),
        )

    def visit_BinOp(self, node: ast.BinOp) -> _Node:
        op = _BINOPS.get(type(node.op))
        if op is None:
            return self.reject(node)
        (left, right), kind, group = self._combine(
            [self.visit(node.left), self.visit(node.right)], "arithmetic"
        )
        return _Node(lambda ns: op(left(ns), right(ns)), kind, group)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Node:
        (operand,), kind, group = self._combine([self.visit(node.operand)], "an operator")
        if isinstance(node.op, ast.Not):
            return _Node(lambda ns: np.logical_not(operand(ns)), kind, group)
        if isinstance(node.op, ast.USub):
            return _Node(lambda ns: -operand(ns), kind, group)
        if isinstance(node.op, ast.UAdd):
            return _Node(operand, kind, group)
        return self.reject(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> _Node:
        fns, kind, group = self._combine([self.visit(v) for v in node.values], "and/or")
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def run(ns: Namespace) -> Any:
            result = np.asarray(fns[0](ns), dtype=bool)
            for fn in fns[1:]:
                result = combine(result, np.asarray(fn(ns), dtype=bool))
            return result

        return _Node(run, kind, group)

    def visit_Compare(self, node: ast.Compare) -> _Node:
        operands = [node.left, *node.comparators]
        steps: list[tuple[_Fn, _Fn, Callable[[Any, Any], Any]]] = []
        kinds: list[_Node] = []
        for op, left_ast, right_ast in zip(node.ops, operands, operands[1:], strict=False):
            if isinstance(op, (ast.In, ast.NotIn)):
                steps.append(self._membership(op, left_ast, right_ast, kinds))
                continue
            compare = _COMPARISONS.get(type(op))
            if compare is None:
                return self.reject(node)
            left, right = self.visit(left_ast), self.visit(right_ast)
            kinds += [left, right]
            steps.append((left.fn, right.fn, compare))
        _, kind, group = self._combine(kinds, "a comparison")
        if kind == _ELEMENTWISE:
            steps = [
                (_as_column(a), _as_column(b), c) for a, b, c in steps
            ]  # scalars beside x[i] terms become columns; (n, L) arrays are left as they are

        def run(ns: Namespace) -> Any:
            result: Any = True
            for left, right, compare in steps:
                result = np.logical_and(result, compare(left(ns), right(ns)))
            return result

        return _Node(run, kind, group)

    def _membership(
        self, op: ast.cmpop, left_ast: ast.expr, right_ast: ast.expr, kinds: list[_Node]
    ) -> tuple[_Fn, _Fn, Callable[[Any, Any], Any]]:
        if not isinstance(right_ast, (ast.List, ast.Tuple, ast.Set)) or not all(
            isinstance(e, ast.Constant) for e in right_ast.elts
        ):
            raise self.fail("'in' needs a literal list on its right, as in op in ['a', 'b']")
        choices = [e.value for e in right_ast.elts if isinstance(e, ast.Constant)]
        left = self.visit(left_ast)
        kinds.append(left)
        negate = isinstance(op, ast.NotIn)

        def member(value: Any, _choices: Any) -> Any:
            found = np.isin(np.asarray(value, dtype=object), np.asarray(choices, dtype=object))
            return ~found if negate else found

        return left.fn, (lambda ns: None), member

    def visit_Call(self, node: ast.Call) -> _Node:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = ast.unparse(node.func)
            raise self.fail(f"function {name!r} is not allowed (allowed: {', '.join(FUNCTIONS)})")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{node.func.id}() takes plain positional arguments")
        name = node.func.id
        args = [self.visit(a) for a in node.args]
        if len(args) == 1 and args[0].kind in (_LIST, _ELEMENTWISE) and name != "abs":
            return self._reduce(name, args[0])
        if name in ("min", "max") and len(args) >= 2:
            fns, kind, group = self._combine(args, f"{name}()")
            pick = np.minimum if name == "min" else np.maximum

            def extreme(ns: Namespace) -> Any:
                result = fns[0](ns)
                for fn in fns[1:]:
                    result = pick(result, fn(ns))
                return result

            return _Node(extreme, kind, group)
        if name == "abs" and len(args) == 1:
            (fn,), kind, group = self._combine(args, "abs()")
            return _Node(lambda ns: np.abs(fn(ns)), kind, group)
        raise self.fail(
            f"{name}() takes one per-layer list"
            + (" or two or more values" if name in ("min", "max") else "")
            + f", got {ast.unparse(node)!r}"
        )

    def _reduce(self, name: str, arg: _Node) -> _Node:
        key = mask_key(arg.group or "")
        fn = arg.fn

        def reduce(ns: Namespace) -> Any:
            values, mask = np.asarray(fn(ns)), ns[key]
            if name == "len":
                return mask.sum(axis=1)
            if name == "sum":
                return np.where(mask, values, 0).sum(axis=1)
            if name == "min":
                return np.where(mask, values, np.inf).min(axis=1)
            if name == "max":
                return np.where(mask, values, -np.inf).max(axis=1)
            truth = values.astype(bool)
            if name == "all":
                return np.where(mask, truth, True).all(axis=1)
            return np.where(mask, truth, False).any(axis=1)

        return _Node(reduce, _SCALAR)


def _as_column(fn: _Fn) -> _Fn:
    """Lift a per-candidate value of shape (n,) so that it broadcasts against (n, layers)."""

    def column(ns: Namespace) -> Any:
        value = fn(ns)
        if isinstance(value, np.ndarray) and value.ndim == 1:
            return value[:, None]
        return value

    return column
