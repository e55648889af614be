"""Sums that add their terms in the order the formula as written prints them.

The printers (C, and ``lambdify``'s NumPy code that algebrac's results are
held to) add an ``Add``'s terms in SymPy's print order, which depends on the
terms themselves.  Put a symbol where a subexpression was (a CSE temporary, a
``Piecewise``'s branch variable) and the order changes: ``-x - pw + s``
prints as ``-pw + s - x``, so two terms near 1e137 cancel first and the small
one that NumPy keeps is lost.  :func:`keep_order` rebuilds such sums as
:class:`SumAsWritten`, which prints its terms in the order it was given.

>>> import sympy as sp
>>> x, y, t = sp.symbols("x y t")
>>> (x + t).as_ordered_terms()       # t prints first
[t, x]
>>> keep_order(x + t, {t: sp.exp(y)}).as_ordered_terms()   # as x + exp(y) does
[x, t]
"""
from __future__ import annotations

import sympy as sp

__all__ = ["SumAsWritten", "keep_order"]


class SumAsWritten(sp.Add):
    """A sum whose terms print (and so evaluate) in the order of its ``args``.

    Never re-evaluated: a pass that rebuilds it (``xreplace``) keeps the order.
    """

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls, *args, evaluate=False)

    def as_ordered_terms(self, order=None, data=False):
        return list(self.args)


def keep_order(expr, stands_for: dict, _memo=None):
    """``expr`` with every sum whose terms hold a key of ``stands_for`` a :class:`SumAsWritten`
    in the print order the sum has with each key replaced by its value (recursively).

    A :class:`SumAsWritten` already is in order (its terms may stand for others).
    """
    memo = {} if _memo is None else _memo
    if not expr.args or not expr.free_symbols & stands_for.keys():
        return expr
    if expr in memo:
        return memo[expr]
    args = [keep_order(a, stands_for, memo) for a in expr.args]
    if isinstance(expr, sp.Add) and not isinstance(expr, SumAsWritten):  # else: ordered
        full = [_expanded(a, stands_for) for a in args]
        order = sp.Add(*full, evaluate=False).as_ordered_terms()
        used, picked = set(), []
        for term in order:
            j = next(k for k, f in enumerate(full) if k not in used and f == term)
            used.add(j)
            picked.append(args[j])
        out = SumAsWritten(*picked)
    else:
        out = expr.func(*args)
    memo[expr] = out
    return out


def _expanded(expr, stands_for: dict):
    """``expr`` with the keys of ``stands_for`` replaced until none is left."""
    while expr.free_symbols & stands_for.keys():
        expr = expr.xreplace(stands_for)
    return expr
