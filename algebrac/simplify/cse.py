"""Joint common-subexpression elimination over the expression DAG, branch-safe.

Sharing is found across all outputs at once (a gradient shares its function's work),
each node visited once and rebuilt unevaluated (``sympy.cse`` canonicalises every node:
seconds on a sum of 800 terms).  A temporary is only made for what is computed for every
element, so ``Piecewise((1/x, x > 0), (0, True))`` never computes ``1/x`` (a division
warning at ``x = 0``); the C compiler still shares work within one branch.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> lets, outs = cse([sp.exp(x*y) + 1, sp.exp(x*y) * y])
>>> lets
[(_ac_t0, exp(x*y))]
>>> outs
[_ac_t0 + 1, _ac_t0*y]

Division stays division: ``x/y`` and ``1/y`` share no reciprocal (``x*(1/y)``
is ``-inf`` at ``x = 1.5e-99, y = -2.5e-320``, where ``x/y`` is ``-6e220``).

>>> cse([x / y, 1 / y, x / y**2])[1]
[x/y, 1/y, x/y**2]
>>> cse([y**3, sp.asinh(y**-3)])  # y**-3 stays (1/y)**3, not 1/(y*y*y)
([], [y**3, asinh(y**(-3))])
"""
from __future__ import annotations

from collections import Counter
from itertools import combinations

import sympy as sp
from sympy.logic.boolalg import Boolean

from ..deep import _children, _reciprocal, postorder, rebuilt, share, unconditional
from .order import as_written

__all__ = ["cse"]


def _rebuilt(exprs, build, order) -> list:
    """``exprs`` (``order``: their postorder) rebuilt unevaluated, as ``build(node, args)``."""
    memo: dict = {}
    with sp.evaluate(False):
        for node in order:
            memo[node] = build(node, [memo[a] for a in _children(node)])
    return [memo[e] for e in exprs]


def _parts(node) -> dict:
    """What a sum or product computed for every element may share: its terms, or its
    factors over and under the fraction bar (``b`` for ``1/b``; never ``-1``)."""
    if node.is_Add:   # (a SumAsWritten keeps its order)
        return {sp.Add: node.args} if type(node) is sp.Add else {}
    up = [f for f in node.args if f is not sp.S.NegativeOne and not _reciprocal(f)]
    return {sp.Mul: up, sp.Pow: [f.base for f in node.args if f.is_Pow and f.exp is sp.S.NegativeOne]}


def _paired(exprs, rounds: int = 4, widest: int = 32) -> list:
    """``exprs`` with each pair of terms or factors that sums or products computed for
    every element share as one node (``a + b``, ``a*b``, ``1/(a*b)``: a temporary), in
    ``rounds``, so common parts grow (as in ``sympy.cse``: ``3*x*y*z`` and ``3*x*y*w``
    share ``3*x*y``); among each node's ``widest`` most shared parts (not quadratic)."""
    for _ in range(rounds):
        order = postorder(exprs)
        free = unconditional(exprs, order)
        parts = {n: _parts(n) for n in order if (n.is_Add or n.is_Mul) and n in free}
        seen = Counter((h, f) for ps in parts.values() for h, fs in ps.items() for f in fs)
        pos = {n: k for k, n in enumerate(order)}
        for ps in parts.values():   # each pair in one order, a number first
            for h, fs in ps.items():
                top = sorted((f for f in fs if seen[h, f] > 1), key=lambda f, h=h: -seen[h, f])
                ps[h] = sorted(top[:widest], key=lambda f: (not f.is_Number, pos[f]))
        count = Counter((h, *p) for ps in parts.values() for h, fs in ps.items()
                        for p in combinations(fs, 2))
        rank = {p: k for k, p in enumerate(sorted((p for p in count if count[p] > 1),
                                                  key=lambda p: -count[p]))}
        chosen = {}
        for n, ps in parts.items():   # greedily, the most shared pairs first
            taken, chosen[n] = set(), []
            for p in sorted((p for h, fs in ps.items() for p0 in combinations(fs, 2)
                             if (p := (h, *p0)) in rank), key=rank.get):
                if not taken & {p[:2], (p[0], p[2])}:
                    taken.update({p[:2], (p[0], p[2])})
                    chosen[n].append(p)
        used = Counter(p for ps in chosen.values() for p in ps)
        chosen = {n: ps for n, p0 in chosen.items()
                  if len(n.args) > 2 and (ps := [p for p in p0 if used[p] > 1])}
        if not chosen:
            break

        def group(node, args):
            if node not in chosen:
                return rebuilt(node, args)
            new = dict(zip(node.args, args))
            gone = {(p[0], f) for p in chosen[node] for f in p[1:]}
            rest = [a for a in node.args if (node.func, a) not in gone
                    and not (_reciprocal(a) and (sp.Pow, a.base) in gone)]
            new.update([(f.base, b.base) for f, b in new.items() if _reciprocal(f)])
            return node.func(*(new[a] for a in rest), *(
                sp.Pow(sp.Mul(*(new[f] for f in p)), -1) if h is sp.Pow else h(*(new[f] for f in p))
                for h, *p in chosen[node]))

        exprs = _rebuilt(exprs, group, order)
    return exprs


def cse(exprs, prefix: str = "_ac_t"):
    """Common subexpressions of all ``exprs`` at once, with deterministic names.

    Returns ``(lets, reduced)``: ``lets`` is a list of ``(symbol, value)`` in
    dependency order; every temporary is evaluated unconditionally, so it is
    safe to compute once per element before the outputs.
    """
    return share(_paired([sp.sympify(e) for e in exprs]), prefix,
                 lambda node, _: isinstance(node, (sp.Expr, Boolean)), as_written)
