"""Exact rewrites into the forms the backends compute directly.

Only identities that hold for every real input are applied here: ``sec`` is
``1/cos``, ``acot(x)`` is ``atan(1/x)`` and so on (the table in
:mod:`algebrac.mathfuncs`).  Numerically motivated rewrites live in the
stabilize phase, not here.

>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> specialize(sp.sec(x) + sp.acot(x))
atan(1/x) + 1/cos(x)
"""
from __future__ import annotations

import sympy as sp

from ..mathfuncs import REWRITES

__all__ = ["specialize"]


def specialize(expr: sp.Basic) -> sp.Basic:
    """Apply the exact function rewrites bottom-up."""
    if not expr.args:
        return expr
    args = tuple(specialize(a) for a in expr.args)
    rule = REWRITES.get(type(expr))
    if rule is not None:
        return rule(*args)
    return expr.func(*args) if args != expr.args else expr
