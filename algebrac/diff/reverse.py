"""Reverse mode over a tensor body: one *leaf term* per read of the variable.

Walking the body from the root, each node passes its adjoint to its
arguments.  A read ``x[e_0, e_1]`` of the input ``x`` records a :class:`Leaf`:
the summation ``limits`` around it, the adjoint ``factor`` there, the
``guards`` under which the path is taken (``Piecewise`` branches, ``Max``
winners) and the ``indices``.  The derivative by ``x[a_0, a_1]`` is the sum
over leaves of ``Sum(guard * factor * delta(e_0, a_0) * delta(e_1, a_1),
limits)``, whose deltas :mod:`~algebrac.diff.delta` eliminates.  Guards apply
before any product, so an untaken branch contributes exactly 0 even where the
adjoint would be infinite.

>>> import sympy as sp
>>> from algebrac.expr.symbols import InputLabel
>>> X = sp.IndexedBase(InputLabel("x", "float64", 1), shape=(3,))
>>> k = sp.Symbol("k_0", integer=True)
>>> leaves = collect(sp.Sum(sp.exp(X[k + 1] * X[k]), (k, 0, 1)), X.label, Fresh([X[k]]))
>>> [(leaf.indices, leaf.factor) for leaf in leaves]
[((k_0,), exp(x[k_0 + 1]*x[k_0])*x[k_0 + 1]), ((k_0 + 1,), exp(x[k_0 + 1]*x[k_0])*x[k_0])]
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits

from ..errors import UnsupportedError
from ..expr.functions import ReduceMax, ReduceMin
from .forward import _check_limits, _single_limits, is_logsumexp
from .rules import partials
from .scope import Fresh

__all__ = ["Leaf", "collect"]


@dataclass(frozen=True)
class Leaf:
    """One read of the variable, with its adjoint: see the module docstring."""

    limits: tuple       # ((k, lo, hi), ...), innermost first (SymPy's order)
    factor: sp.Expr
    guards: tuple       # conditions, all of which hold on this path
    indices: tuple      # index expressions of the read; () for a scalar variable


def _branch_conditions(pw: sp.Piecewise) -> list:
    """The condition under which each branch of ``pw`` is the one taken."""
    out, earlier = [], []
    for _, cond in pw.args:
        taken = sp.And(*[sp.Not(c) for c in earlier], cond)
        out.append(taken)
        earlier.append(cond)
    return out


class _Reverse:
    def __init__(self, target: sp.Symbol, fresh: Fresh):
        self.target, self.fresh = target, fresh
        self.leaves: list[Leaf] = []
        self._has: dict = {}

    def active(self, e) -> bool:
        hit = self._has.get(e)
        if hit is None:
            hit = self._has[e] = e.has(self.target)
        return hit

    def visit(self, e, adj, limits, guards):
        if not self.active(e) or adj == 0:
            return
        if isinstance(e, sp.Indexed):
            if e.base.label == self.target:
                self.leaves.append(Leaf(limits, adj, guards, tuple(e.indices)))
            return
        if isinstance(e, sp.Symbol):
            if e == self.target:
                self.leaves.append(Leaf(limits, adj, guards, ()))
            return
        if isinstance(e, ExprWithLimits):
            _check_limits(e, (self.target,))
            if isinstance(e, sp.Sum):
                return self.visit(e.function, adj, tuple(e.limits) + limits, guards)
            if is_logsumexp(e):
                return self.visit(e.function, adj * sp.exp(e.function - e),
                                  tuple(e.limits) + limits, guards)
            if len(e.limits) > 1:
                return self.visit(_single_limits(e), adj, limits, guards)
            f, (k, lo, hi) = e.function, e.limits[0]
            if isinstance(e, sp.Product):
                p, q = self.fresh(), self.fresh()
                others = (sp.Product(f.xreplace({k: p}), (p, lo, k - 1))
                          * sp.Product(f.xreplace({k: q}), (q, k + 1, hi)))
                return self.visit(f, adj * others, ((k, lo, hi),) + limits, guards)
            if isinstance(e, (ReduceMax, ReduceMin)):
                p = self.fresh()
                g = f.xreplace({k: p})
                count = sp.Sum(sp.Piecewise((1, sp.Eq(g, e)), (0, True)), (p, lo, hi))
                return self.visit(f, adj / count, ((k, lo, hi),) + limits,
                                  guards + (sp.Eq(f, e),))
            raise UnsupportedError(f"cannot differentiate {type(e).__name__}: {e}")
        if isinstance(e, sp.Piecewise):
            for (value, _), taken in zip(e.args, _branch_conditions(e)):
                if taken is not sp.false:
                    self.visit(value, adj, limits, guards + ((taken,) if taken is not sp.true
                                                             else ()))
            return
        for j, partial, guard in partials(e):
            arg = e.args[j]
            if self.active(arg):
                self.visit(arg, adj * partial, limits, guards + ((guard,) if guard is not None else ()))


def collect(body: sp.Basic, target: sp.Symbol, fresh: Fresh) -> list[Leaf]:
    """The leaf terms of ``body`` for the variable ``target`` (a symbol or an input label).

    ``body`` must not shadow bound variables (see :func:`~algebrac.diff.scope.deshadow`).
    """
    r = _Reverse(target, fresh)
    r.visit(sp.sympify(body), sp.S.One, (), ())
    return r.leaves
