"""Forward mode: the directional derivative of a SymPy expression along given tangents.

``forward(expr, symbols={x: dx}, arrays={label: tangent})`` differentiates
``expr`` once, a symbol ``x`` carrying tangent ``dx`` (1 for an ordinary
derivative) and an input element ``v[e]`` tangent ``tangent(e)``: ``diff`` for
plain formulas, the Jacobian-vector product for tensors.  Local rules come
from :func:`~algebrac.diff.rules.partials`; binding nodes are handled here:

* ``Sum(f, ...)`` -> ``Sum(df, ...)``;
* ``Product(f, (k, a, b))`` -> ``Sum(prod_{a<=p<k} f * prod_{k<q<=b} f * df(k), (k, a, b))``,
  exact without dividing by ``f`` (which may be 0);
* ``ReduceMax``/``ReduceMin`` -> the tangent at the extremal points, averaged over ties;
* ``LogSumExp(f, ...)`` -> ``Sum(exp(f - LogSumExp(f, ...)) * df, ...)``;
* ``Piecewise`` -> each branch's derivative under its condition, so an untaken
  branch contributes exactly 0.

>>> import sympy as sp
>>> x, y = sp.symbols("x y", real=True)
>>> forward(sp.Piecewise((sp.log(x), x > 0), (y * x, True)), {x: 1})
Piecewise((1/x, x > 0), (y, True))
>>> forward(sp.Max(x, y**2), {y: 1})
Piecewise((2*y, x < y**2), (0, True))
"""
from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits

from ..errors import UnsupportedError
from ..expr import functions as _functions
from ..expr.functions import ReduceMax, ReduceMin
from .rules import partials
from .scope import Fresh, subs_free

__all__ = ["forward", "guarded"]


def guarded(value: sp.Expr, guard) -> sp.Expr:
    """``value`` where ``guard`` holds, else exactly 0 (``value`` is not evaluated there)."""
    if guard is None or guard is sp.true or value == 0:
        return value
    if guard is sp.false:
        return sp.S.Zero
    return sp.Piecewise((value, guard), (0, True))


def is_logsumexp(node) -> bool:
    """``LogSumExp(f, ...)``, ``log(sum(exp(f)))`` (looked up by name: a newer node)."""
    cls = getattr(_functions, "LogSumExp", None)
    return cls is not None and isinstance(node, cls)


def _single_limits(node):
    """A multi-limit ``Product``/``ReduceMax`` as nested one-limit nodes (innermost first)."""
    inner = node.func(node.function, node.limits[0])
    for lim in node.limits[1:]:
        inner = node.func(inner, lim)
    return inner


def _check_limits(node, keys):
    for _, *bounds in node.limits:
        if any(b.has(*keys) for b in bounds):
            raise UnsupportedError(f"cannot differentiate {type(node).__name__} whose limits "
                                   f"depend on the variable: {node}")


class _Forward:
    def __init__(self, symbols: dict, arrays: dict, fresh: Fresh):
        self.symbols, self.arrays, self.fresh = symbols, arrays, fresh
        self.keys = tuple(symbols) + tuple(arrays)
        self.memo: dict = {}

    def d(self, e: sp.Basic) -> sp.Expr:
        hit = self.memo.get(e)
        if hit is None:
            hit = self.memo[e] = self._d(e) if e.has(*self.keys) else sp.S.Zero
        return hit

    def _d(self, e):
        if isinstance(e, sp.Indexed):
            tangent = self.arrays.get(e.base.label)
            return sp.S.Zero if tangent is None else tangent(e.indices)
        if isinstance(e, sp.Symbol):
            return sp.sympify(self.symbols.get(e, 0))
        if isinstance(e, ExprWithLimits):
            _check_limits(e, self.keys)
            if isinstance(e, sp.Sum):
                return sp.Sum(self.d(e.function), *e.limits)
            if is_logsumexp(e):     # softmax-weighted: every weight exp(f - lse) <= 1
                return sp.Sum(sp.exp(e.function - e) * self.d(e.function), *e.limits)
            if len(e.limits) > 1:
                return self.d(_single_limits(e))
            if isinstance(e, sp.Product):
                return self._product(e)
            if isinstance(e, (ReduceMax, ReduceMin)):
                return self._extremum(e)
            raise UnsupportedError(f"cannot differentiate {type(e).__name__}: {e}")
        if isinstance(e, sp.Piecewise):
            return sp.Piecewise(*[(self.d(v), c) for v, c in e.args])
        total = sp.S.Zero
        for j, partial, guard in partials(e):
            darg = self.d(e.args[j])
            if darg != 0:
                total += guarded(partial * darg, guard)
        return total

    def _renamed(self, f, k, lo, hi):
        p = self.fresh()
        return f.xreplace({k: p}), (p, lo, hi)

    def _product(self, e):
        f, (k, lo, hi) = e.function, e.limits[0]
        before = sp.Product(*self._renamed(f, k, lo, k - 1))
        after = sp.Product(*self._renamed(f, k, k + 1, hi))
        return sp.Sum(before * after * self.d(f), (k, lo, hi))

    def _extremum(self, e):
        f, (k, lo, hi) = e.function, e.limits[0]
        g, lim = self._renamed(f, k, lo, hi)
        count = sp.Sum(sp.Piecewise((1, sp.Eq(g, e)), (0, True)), lim)
        return sp.Sum(guarded(self.d(f), sp.Eq(f, e)), (k, lo, hi)) / count


def forward(expr: sp.Basic, symbols: dict | None = None,
            arrays: dict[sp.Symbol, Callable] | None = None, fresh: Fresh | None = None):
    """The derivative of ``expr`` when each symbol moves along its tangent.

    ``symbols`` maps scalar symbols to their tangents; ``arrays`` maps input
    labels to ``tangent(indices)`` callables giving the tangent of one element.
    """
    expr = sp.sympify(expr)
    fresh = fresh or Fresh([expr])
    return _Forward(dict(symbols or {}), dict(arrays or {}), fresh).d(expr)


def tangent_reader(tangent_body: sp.Expr, tangent_indices: tuple, context: sp.Basic,
                   fresh: Fresh) -> Callable:
    """``indices -> tangent element``: a tensor body read at given index expressions."""
    fresh.avoid([context, tangent_body])

    def read(indices):
        return subs_free(tangent_body, dict(zip(tangent_indices, indices)), fresh)
    return read
