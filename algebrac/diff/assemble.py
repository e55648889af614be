"""From eliminated terms to one derivative formula: group, merge sums, simplify, hoist.

Terms with the same guards and deltas add inside one ``Piecewise``, terms
summing over the same variables inside one ``Sum`` with their summands
simplified together (where the cross-entropy's derivative becomes
``sigmoid(z) - t``); factors free of a summation variable leave its sum.
:func:`tidy`, the light exact simplification of every summand, takes the
smallest (``count_ops``) of the expression, its ``factor_terms`` and those of
its top-level expansion, with and without the sigmoid identities; it never
expands inside function arguments, so CSE can share the primal's
subexpressions (``sigmoid(X w)``).

>>> import sympy as sp
>>> from algebrac.expr.functions import sigmoid
>>> z, t = sp.symbols("z t", real=True)
>>> tidy(-t * sigmoid(-z) + (1 - t) * sigmoid(z))
-t + sigmoid(z)
"""
from __future__ import annotations

import sympy as sp

from ..simplify.rules import rewrite
from .delta import Term
from .forward import guarded
from .rules import SIGMOID

__all__ = ["assemble", "hoist", "tidy"]

_MAX_EXPAND_TERMS = 40


def _expand_top(e: sp.Expr) -> sp.Expr:
    return sp.Add(*(sp.expand_mul(t, deep=False) for t in sp.Add.make_args(e)))


def _forms(e: sp.Expr) -> list:
    out = []
    if len(sp.Add.make_args(e)) <= _MAX_EXPAND_TERMS:
        expanded = _expand_top(e)
        if len(sp.Add.make_args(expanded)) <= 4 * _MAX_EXPAND_TERMS:
            out.append(sp.factor_terms(expanded))
    return out + [sp.factor_terms(e), e]


def tidy(e: sp.Expr) -> sp.Expr:
    """Exact light simplification of a derivative expression (see the module docstring)."""
    if not isinstance(e, sp.Expr) or e.is_Atom:
        return e
    candidates = _forms(e)
    # NOTE: sigmoid(-z) is the accurate form of 1 - sigmoid(z); it is replaced only when
    # that makes the formula strictly smaller (the two cross-entropy terms cancel).
    identities = rewrite(e, [SIGMOID])
    if identities != e:
        candidates += _forms(identities)
    return min(candidates, key=sp.count_ops)     # ties: the first, the most factored


def hoist(summand: sp.Expr, limits: tuple) -> sp.Expr:
    """``Sum(summand, *limits)`` with factors free of a summation variable moved out of its sum.

    >>> import sympy as sp
    >>> k, n = sp.Symbol("k", integer=True), sp.Symbol("n", integer=True, positive=True)
    >>> x, w = sp.IndexedBase("x"), sp.Symbol("w")
    >>> hoist(2 * w * x[k], ((k, 0, n - 1),))
    2*w*Sum(x[k], (k, 0, n - 1))
    """
    expr = summand
    left = [(v, sp.sympify(lo), sp.sympify(hi)) for v, lo, hi in limits]
    while left:
        if isinstance(expr, sp.Piecewise):  # a guard keeps its factors inside
            return sp.Sum(expr, *left)
        factors = sp.Mul.make_args(expr)
        # NOTE: ranges are rectangular, so any variable may go innermost: take the one
        # the fewest factors depend on (softmax: the class sum holds only the targets).
        free = [lim for lim in left if not any(lim[0] in b.free_symbols
                                               for other in left for b in other[1:])]
        v, lo, hi = min(free or left, key=lambda lim: sum(lim[0] in f.free_symbols
                                                          for f in factors))
        left.remove((v, lo, hi))
        dep = [f for f in factors if v in f.free_symbols]
        indep = [f for f in factors if v not in f.free_symbols]
        inner = sp.Mul(*dep)
        expr = sp.Mul(*indep) * (sp.Sum(inner, (v, lo, hi)) if dep else hi - lo + 1)
    return expr


def _merge_sums(parts: list) -> list:
    """Add summands of parts that are ``c * Sum(g, limits)`` with equal limits."""
    by_limits: dict = {}
    rest = []
    for p in parts:
        factors = sp.Mul.make_args(p)
        sums = [f for f in factors if isinstance(f, sp.Sum)]
        if len(sums) != 1:
            rest.append(p)
            continue
        (s,) = sums
        coeff = sp.Mul(*(f for f in factors if f is not s))
        by_limits.setdefault(s.limits, []).append((p, coeff * s.function))
    out = list(rest)
    for limits, items in by_limits.items():
        if len(items) == 1:
            out.append(items[0][0])
        else:
            out.append(hoist(tidy(sp.Add(*(summand for _, summand in items))), limits))
    return out


def assemble(terms: list[Term]) -> sp.Expr:
    """The derivative formula: the sum of all terms, grouped and simplified."""
    groups: dict = {}
    for t in terms:
        groups.setdefault((t.outer, t.deltas), {}).setdefault((t.limits, t.inner), []).append(
            t.factor)
    total = []
    for (outer, deltas), by_sum in groups.items():
        parts = []
        for (limits, inner), factors in by_sum.items():
            summand = tidy(sp.Add(*factors))
            if inner:
                summand = guarded(summand, sp.And(*inner))
            parts.append(hoist(summand, limits) if limits else summand)
        parts = _merge_sums(parts)
        value = tidy(sp.Add(*parts)) if len(parts) > 1 else parts[0]
        value = guarded(value, sp.And(*outer) if outer else None)
        total.append(sp.Mul(*(sp.KroneckerDelta(e, a) for e, a in deltas)) * value)
    return sp.Add(*total)
