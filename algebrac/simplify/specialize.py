"""Exact rewrites into the forms the backends compute directly: the specialize phase.

Only identities that hold for every real input are applied here: ``sec`` is
``1/cos``, ``acot(x)`` is ``atan(1/x)`` and so on (the table in
:mod:`algebrac.mathfuncs`), and the stable functions reduce to simpler ones
where an argument is 0 or a cheaper equal form exists.  Numerically motivated rewrites live in the
stabilize phase (:mod:`algebrac.simplify.stabilize`), not here.

>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> specialize(sp.sec(x) + sp.acot(x))
atan(1/x) + 1/cos(x)
"""
from __future__ import annotations

import sympy as sp

from ..expr.functions import log1mexp, logaddexp, logdiffexp, sigmoid, softplus
from ..mathfuncs import REWRITES
from .rules import Phase, Trace, rewrite

__all__ = ["SPECIALIZE", "specialize"]

SPECIALIZE = Phase("specialize")


@SPECIALIZE.rule(tracks=tuple(REWRITES))
def function_to_table_form(node):
    """sec(x) = 1/cos(x), acot(x) = atan(1/x), ...: the functions of mathfuncs.REWRITES."""
    return REWRITES[type(node)](*node.args)


@SPECIALIZE.rule(tracks=(logaddexp,))
def logaddexp_of_zero_to_softplus(node):
    """logaddexp(0, x) = logaddexp(x, 0) = softplus(x)."""
    a, b = node.args
    if a == 0:
        return softplus(b)
    return softplus(a) if b == 0 else None


@SPECIALIZE.rule(tracks=(logdiffexp,))
def logdiffexp_of_zero_to_log1mexp(node):
    """logdiffexp(0, x) = log1mexp(x)."""
    a, b = node.args
    return log1mexp(b) if a == 0 else None


@SPECIALIZE.rule(tracks=(sp.exp,))
def exp_of_neg_softplus_to_sigmoid(node):
    """exp(-n*softplus(x)) = sigmoid(-x)**n for n > 0 (one exp instead of exp, log1p, exp)."""
    k, rest = node.args[0].as_coeff_Mul()
    if isinstance(rest, softplus) and k.is_negative:
        return sigmoid(-rest.args[0]) ** (-k)
    return None


def specialize(expr: sp.Basic, trace: Trace | None = None, deadline=None,
               memos: dict | None = None) -> sp.Basic:
    """Apply the specialize phase bottom-up to a fixed point (``deadline``, ``memos``: see
    ``rewrite``)."""
    return rewrite(expr, [SPECIALIZE], trace, memos, deadline=deadline)
