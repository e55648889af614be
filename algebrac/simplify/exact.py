"""``ac.simplify``: SymPy's exact simplification, bounded in time and safe on large formulas.

``sympy.simplify`` tries many strategies on the whole expression, and on a
gradient with thousands of operations it can run for minutes.  Here:

* ``sympy.simplify`` itself only runs on subexpressions of at most
  ``small`` operations (it is fast there);
* larger nodes are rebuilt bottom-up from simplified children and get only
  the cheap, local strategies (``powsimp``, ``factor_terms``, and
  ``together``/``cancel`` of rational parts up to ``max_ops``);
* a candidate is kept only when it has fewer operations (``count_ops``);
* no new SymPy call starts after ``timeout`` seconds: what is not simplified
  by then is returned as it was.

The result is exactly equal to the input (these are SymPy's identities), so
it can be stabilized and compiled as usual; simplify first, then stabilize.

>>> import sympy as sp, algebrac as ac
>>> x, y = sp.symbols("x y")
>>> ac.simplify(sp.sin(x)**2 + sp.cos(x)**2 + (x**2 - 1) / (x - 1))
x + 2
"""
from __future__ import annotations

import time

import sympy as sp

__all__ = ["simplify"]

SMALL = 40


class _Budget:
    def __init__(self, timeout: float, small: int, max_ops: int):
        self.deadline = time.monotonic() + timeout
        self.small, self.max_ops = small, max_ops

    def left(self) -> bool:
        return time.monotonic() < self.deadline


def _ops(e) -> int:
    return sp.count_ops(e)


def _best(e, candidates, budget: _Budget):
    best, best_ops = e, _ops(e)
    for make in candidates:
        if not budget.left():
            break
        try:
            c = make(best)
        except (TypeError, ValueError, NotImplementedError, RecursionError,
                sp.PolynomialError):
            continue
        if c is not None and c != best:
            n = _ops(c)
            if n < best_ops:
                best, best_ops = c, n
    return best


def _simplify(e, budget: _Budget, memo: dict):
    if not e.args or isinstance(e, (sp.Symbol, sp.Indexed)) or not budget.left():
        return e
    hit = memo.get(e)
    if hit is not None:
        return hit
    ops = _ops(e)
    if ops <= budget.small and isinstance(e, sp.Expr):
        out = _best(e, [sp.simplify], budget)
    else:
        args = tuple(_simplify(a, budget, memo) for a in e.args)
        out = e.func(*args) if args != e.args else e
        if isinstance(out, sp.Expr) and not isinstance(out, sp.Piecewise):
            cheap = [sp.powsimp, sp.factor_terms]
            if ops <= budget.max_ops and isinstance(out, (sp.Add, sp.Mul)):
                cheap += [sp.together, sp.cancel]
            out = _best(out, cheap, budget)
    memo[e] = out
    return out


def simplify(expr, *, timeout: float = 2.0, small: int = SMALL, max_ops: int = 200):
    """Exact simplification of ``expr`` (a SymPy expression, Tensor, or list of them).

    ``timeout`` bounds the time spent (seconds; no SymPy call starts after
    it), ``small`` is the size up to which ``sympy.simplify`` runs on a
    subexpression, ``max_ops`` the size up to which rational functions are
    put over a common denominator.
    """
    if isinstance(expr, (list, tuple)):
        budget = _Budget(timeout, small, max_ops)
        memo: dict = {}
        return type(expr)(_one(e, budget, memo) for e in expr)
    return _one(expr, _Budget(timeout, small, max_ops), {})


def _one(expr, budget, memo):
    from ..expr.tensor import Tensor

    if isinstance(expr, Tensor):
        from dataclasses import replace

        body = _simplify(expr.body, budget, memo)
        return expr if body == expr.body else replace(expr, body=body, origin=None)
    return _simplify(sp.sympify(expr, strict=True), budget, memo)
