"""A scoping fix for SymPy's ``Sum``: never fold a ``Piecewise`` out of an inner sum.

``Sum(f, (k, ...))`` runs ``piecewise_fold`` on ``f`` for every ``Piecewise``
that mentions ``k``; ``piecewise_fold`` also pulls a ``Piecewise`` out of a
*nested* sum, condition and all, even when the condition mentions the nested
sum's own variable, which then escapes its scope (SymPy 1.14)::

    Sum(x[j]*Sum(Piecewise((x[l], Eq(l, j)), (0, True)), (l, 0, 1)), (j, 0, 3))
    -> Sum(Piecewise((x[j]*Sum(x[l], ...), Eq(l, j)), ...), ...)   # l is free: wrong

Tensor bodies meet this whenever a ``where``/``stack``/``concatenate`` result
is contracted (``sum((R @ P) * R)``).  The folding step used by ``Sum``,
``Product`` and the other ``ExprWithLimits`` is therefore wrapped so that it
leaves nested limit expressions alone: still exact, only less folded.
"""
from __future__ import annotations

import sympy as sp
from sympy.concrete import expr_with_limits as _ewl
from sympy.concrete.expr_with_limits import ExprWithLimits

_fold = getattr(_ewl.piecewise_fold, "_algebrac_original", _ewl.piecewise_fold)


def _outer_limits(expr, out: list) -> None:
    if isinstance(expr, ExprWithLimits):
        if expr.has(sp.Piecewise):
            out.append(expr)
        return
    for a in expr.args:
        _outer_limits(a, out)


def scoped_piecewise_fold(expr, evaluate=True):
    """``piecewise_fold`` that does not look inside nested sums, products or integrals."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Piecewise):
        return expr
    nested: list = []
    for a in expr.args:
        _outer_limits(a, nested)
    if not nested:
        return _fold(expr, evaluate)
    masks = {node: sp.Dummy() for node in nested}
    folded = _fold(expr.xreplace(masks), evaluate)
    return folded.xreplace({d: node for node, d in masks.items()})


scoped_piecewise_fold._algebrac_original = _fold
_ewl.piecewise_fold = scoped_piecewise_fold
