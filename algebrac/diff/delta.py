r"""Kronecker-delta elimination: solve the index equations of a leaf for its summation variables.

A leaf (:mod:`~algebrac.diff.reverse`) reading ``x[e_0, e_1]`` under sums
contributes ``Sum(factor * delta(e_0, a_0) * delta(e_1, a_1), limits)`` to the
derivative by ``x[a_0, a_1]``.  Each equation ``e_j = a_j`` is solved for one
summation variable, substituted everywhere, and its sum dropped:

* ``k + c = a`` gives ``k = a - c`` under ``lo <= a - c <= hi``, a guard that
  :mod:`~algebrac.diff.ranges` drops when it always holds and keeps at a real
  boundary (``x[k + 1]`` for ``k < n - 1`` needs ``a >= 1``);
* ``s*k + c = a`` with an integer step gives ``k = (a - c)/s`` under ``s | a - c``;
* a reshape's ``floor``/``Mod`` digits and its flat position determine each
  other (mixed radix), so reshapes eliminate too;
* an equation without a summation variable stays a ``KroneckerDelta`` outside
  all sums (an elementwise Jacobian's diagonal), unless ranges decide it.

Guards are ``Piecewise`` conditions, so out-of-range elements are never read.

>>> import sympy as sp
>>> from algebrac.diff.reverse import Leaf
>>> n = sp.Symbol("n", integer=True, positive=True)
>>> k, a = sp.symbols("k_0 i_0", integer=True)
>>> x = sp.IndexedBase("x")
>>> leaf = Leaf(((k, 0, n - 2),), 2 * x[k], (), (k + 1,))
>>> eliminate(leaf, (a,), {a: (0, n - 1)}, Fresh([x[k]]))
Term(outer=(i_0 >= 1,), deltas=(), limits=(), inner=(), factor=2*x[i_0 - 1])
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .ranges import is_index_expr, simplify_condition
from .reverse import Leaf
from .scope import Fresh, subs_free

__all__ = ["Term", "eliminate"]


@dataclass(frozen=True)
class Term:
    """A leaf after elimination: ``[outer] * prod(deltas) * Sum([inner] * factor, limits)``."""

    outer: tuple        # conditions on free indices only
    deltas: tuple       # ((e, a), ...) left as KroneckerDelta(e, a)
    limits: tuple       # remaining ((k, lo, hi), ...), innermost first
    inner: tuple        # conditions that involve remaining summation variables
    factor: sp.Expr


def _linear_solution(d: sp.Expr, bound: list):
    """``(k, value, divisor)`` with ``d = 0  <=>  k = value`` (``divisor | numerator``), or None."""
    best = None
    for k in bound:
        if not d.has(k):
            continue
        try:
            poly = sp.Poly(d, k)
        except sp.PolynomialError:
            continue
        if poly.degree() != 1:
            continue
        c, rest = poly.all_coeffs()
        if not c.is_Integer or rest.has(*bound) and c not in (1, -1):
            continue
        if c in (1, -1):
            return k, sp.expand(-rest * c), None
        best = best or (k, rest, c)
    if best is None:
        return None
    k, rest, c = best
    num, div = (-rest, c) if c > 0 else (rest, -c)
    # NOTE: exact division under the divisibility guard, so ``s*k + c`` reads back as ``a``.
    return k, num / div, (num, div)


def _digit(e: sp.Expr):
    """``e`` as a mixed-radix digit ``(flat, stride, modulus)`` of a flat position, or None."""
    modulus = None
    if isinstance(e, sp.Mod):
        e, modulus = e.args
    if isinstance(e, sp.floor):
        flat, stride = e.args[0].as_numer_denom()
        return sp.expand(flat), stride, modulus
    return sp.expand(e), sp.S.One, modulus


def _radix(eqs: list, bound: list):
    """Solve the ``floor``/``Mod`` equations of a reshape: their digits give the flat position.

    Returns ``(flat - position, used equations)`` or None.  The strides must chain
    (each stride is the next one times its modulus, the last is 1).
    """
    digits = {}
    for j, (e, a) in enumerate(eqs):
        if not any(e.has(k) for k in bound) or not e.has(sp.floor, sp.Mod):
            continue
        flat, stride, modulus = _digit(e)
        digits.setdefault(flat, []).append((stride, modulus, a, j))
    for flat, ds in digits.items():
        chain, stride, left = [], sp.S.One, list(ds)
        while left and stride is not None:      # least significant digit first
            nxt = next((t for t in left if sp.expand(t[0] - stride) == 0), None)
            if nxt is None:
                break
            chain.append(nxt)
            left.remove(nxt)
            stride = stride * nxt[1] if nxt[1] is not None else None
        if left or not chain or chain[-1][1] is not None:
            continue
        position = sp.Add(*(a * st for st, _, a, _ in chain))
        return sp.expand(flat - position), [j for *_, j in chain]
    return None


def _unradix(d: sp.Expr, limits: list):
    """``d = sum_j c_j k_j - T`` with a mixed-radix ``c_j`` over full ranges: each ``k_j`` from ``T``."""
    ks = [(k, lo, hi) for k, lo, hi in limits if d.has(k)]
    if len(ks) < 2 or any(lo != 0 for _, lo, _ in ks):
        return None
    coeffs = {}
    for k, _, hi in ks:
        try:
            poly = sp.Poly(d, k)
        except sp.PolynomialError:
            return None
        if poly.degree() != 1:
            return None
        coeffs[k] = (poly.all_coeffs()[0], hi + 1)
    target = -d.subs({k: 0 for k in coeffs})
    if target.has(*coeffs):
        return None
    order, stride, left = [], sp.S.One, dict(coeffs)
    while left:
        k = next((k for k in sorted(left, key=str) if sp.expand(left[k][0] - stride) == 0), None)
        if k is None:
            return None
        order.append(k)
        stride = stride * left.pop(k)[1]
    out = {}
    for j, k in enumerate(order):
        c, size = coeffs[k]
        digit = target if c == 1 else sp.floor(target / c)
        out[k] = digit if j == len(order) - 1 else sp.Mod(digit, size)
    return out


def _as_equation(cond):
    """An integer equation ``Eq(e, a)`` among the guards is one more delta."""
    if isinstance(cond, sp.Eq) and is_index_expr(cond.lhs) and is_index_expr(cond.rhs):
        return cond.lhs, cond.rhs
    return None


def eliminate(leaf: Leaf, wrt_indices: tuple, ranges: dict, fresh: Fresh) -> Term | None:
    """Solve the leaf's index equations; None when the term is identically zero."""
    limits = [(k, sp.sympify(lo), sp.sympify(hi)) for k, lo, hi in leaf.limits]
    factor = leaf.factor
    conds, eqs = [], list(zip(leaf.indices, wrt_indices))
    for c in leaf.guards:
        eq = _as_equation(c)
        if eq is not None and any(eq[0].has(k) or eq[1].has(k) for k, _, _ in limits):
            eqs.append(eq)
        else:
            conds.append(c)
    protect = []

    def substitute(mapping):
        nonlocal factor, limits, eqs, conds, protect
        factor = subs_free(factor, mapping, fresh)
        conds = [subs_free(c, mapping, fresh) for c in conds]
        protect = [subs_free(c, mapping, fresh) for c in protect]
        eqs = [(subs_free(e, mapping, fresh), subs_free(a, mapping, fresh)) for e, a in eqs]
        solved = [lim for lim in limits if lim[0] in mapping]
        limits = [(k, lo.xreplace(mapping), hi.xreplace(mapping))
                  for k, lo, hi in limits if k not in mapping]
        for k, lo, hi in solved:
            protect += [sp.Le(lo, mapping[k]), sp.Le(mapping[k], hi)]

    for _ in range(4 * len(eqs) + 4):      # each round removes an equation or a floor/Mod
        bound = [k for k, _, _ in limits]
        for j, (e, a) in enumerate(eqs):
            # A flat position over several variables (a reshape) gives them all at once.
            unr = _unradix(sp.expand(e - a), limits)
            if unr is not None:
                del eqs[j]
                substitute(unr)
                break
            sol = _linear_solution(sp.expand(e - a, deep=False), bound)
            if sol is not None:
                k, value, divides = sol
                del eqs[j]
                if divides is not None:
                    protect.append(sp.Eq(sp.Mod(divides[0], divides[1]), 0))
                substitute({k: value})
                break
        else:
            radix = _radix(eqs, bound)
            if radix is None:
                break
            d, used = radix
            eqs = [eq for j, eq in enumerate(eqs) if j not in used] + [(d, sp.S.Zero)]
    bound = {k for k, _, _ in limits}
    all_ranges = dict(ranges)
    all_ranges.update({k: (lo, hi) for k, lo, hi in limits})
    deltas = []
    for e, a in eqs:
        if (e.free_symbols | a.free_symbols) & bound:
            factor = factor * sp.KroneckerDelta(e, a)     # not solvable: keep the delta
            continue
        verdict = simplify_condition(sp.Eq(e, a), all_ranges)
        if verdict is sp.false:
            return None
        if verdict is not sp.true:
            deltas.append((e, a))
    outer, inner = [], []
    for c in protect + conds:
        c = simplify_condition(c, all_ranges)
        if c is sp.true:
            continue
        if c is sp.false:
            return None
        for part in (c.args if isinstance(c, sp.And) else (c,)):
            (inner if part.free_symbols & bound else outer).append(part)
    return Term(tuple(dict.fromkeys(outer)), tuple(dict.fromkeys(deltas)), tuple(limits),
                tuple(dict.fromkeys(inner)), factor)   # each factor once, in order
