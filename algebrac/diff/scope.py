"""Bound variables done right: fresh names, capture-free substitution, no shadowing.

Derivatives move expressions between scopes (the adjoint of ``x[k]`` inside a
sum over ``k`` mentions ``k``; eliminating a delta substitutes ``k = i - 1``
into expressions with sums of their own).  ``xreplace`` would also rename an
inner sum's bound ``k``, so substitution here respects binding and renames an
inner bound variable that would capture a substituted value.

>>> import sympy as sp
>>> k, i = sp.symbols("k_0 i_0", integer=True)
>>> x = sp.IndexedBase("x")
>>> e = x[k] * sp.Sum(x[k] ** 2, (k, 0, 3))
>>> subs_free(e, {k: i - 1}, Fresh([e]))
x[i_0 - 1]*Sum(x[k_0]**2, (k_0, 0, 3))
"""
from __future__ import annotations

import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits

from ..expr.symbols import Fresh

__all__ = ["Fresh", "depth_normal", "deshadow", "subs_free"]


def _free(e: sp.Basic, memo: dict) -> frozenset:
    hit = memo.get(e)
    if hit is None:
        hit = memo[e] = frozenset(e.free_symbols)
    return hit


def subs_free(e: sp.Basic, mapping: dict, fresh: Fresh, memo: dict | None = None) -> sp.Basic:
    """Replace free occurrences of the symbols in ``mapping``, never a bound variable.

    A bound variable that a substituted value mentions is renamed first, so
    nothing is captured.
    """
    if not mapping:
        return e
    memo = {} if memo is None else memo
    keys = frozenset(mapping)
    if not (_free(e, memo) & keys):
        return e
    if isinstance(e, sp.Symbol):
        return mapping.get(e, e)
    if isinstance(e, ExprWithLimits):
        values_free = set().union(*(sp.sympify(v).free_symbols for v in mapping.values()))
        inner = dict(mapping)
        limits, renames = [], {}
        for v, *bounds in e.limits:
            bounds = [subs_free(b, mapping, fresh, memo) for b in bounds]
            inner.pop(v, None)              # a bound variable is not substituted inside
            if v in values_free:            # ... and must not capture a substituted value
                renames[v] = fresh()
                v = renames[v]
            limits.append((v, *bounds))
        fn = e.function.xreplace(renames) if renames else e.function
        return e.func(subs_free(fn, inner, fresh, memo), *limits)
    return e.func(*(subs_free(a, mapping, fresh, memo) for a in e.args))


def deshadow(e: sp.Basic, scope: frozenset, fresh: Fresh) -> sp.Basic:
    """Rename bound variables that shadow a symbol of an enclosing scope (or of ``scope``)."""
    if not e.args or isinstance(e, (sp.Symbol, sp.Indexed)):
        return e
    if isinstance(e, ExprWithLimits):
        renames = {v: fresh() for v in e.variables if v in scope}
        limits = [(renames.get(v, v), *(deshadow(b, scope, fresh) for b in bounds))
                  for v, *bounds in e.limits]
        fn = e.function.xreplace(renames) if renames else e.function
        inner_scope = scope | {lim[0] for lim in limits}
        new_fn = deshadow(fn, frozenset(inner_scope), fresh)
        if new_fn is e.function and not renames:
            return e
        return e.func(new_fn, *limits)
    args = tuple(deshadow(a, scope, fresh) for a in e.args)
    return e if args == e.args else e.func(*args)


def depth_normal(e: sp.Basic, depth: int = 0) -> sp.Basic:
    """``e`` with every bound variable named by its nesting depth: equal iff alpha-equivalent.

    Used to compare two formulas that differ only in the names of summation
    variables.
    """
    if not e.args or isinstance(e, (sp.Symbol, sp.Indexed)) and not e.has(ExprWithLimits):
        return e
    if isinstance(e, ExprWithLimits):
        names = {}
        limits = []
        for j, (v, *bounds) in enumerate(e.limits):
            names[v] = sp.Symbol(f"_b{depth + j}", integer=True)
            limits.append((names[v], *(depth_normal(b, depth) for b in bounds)))
        fn = depth_normal(e.function, depth + len(e.limits))
        return e.func(fn.xreplace(names), *limits)
    return e.func(*(depth_normal(a, depth) for a in e.args))
