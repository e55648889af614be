"""Small matchers over SymPy's canonical forms, shared by the rewrite rules.

SymPy keeps ``-exp(x)`` as ``Mul(-1, exp(x))``, ``1 - exp(x)`` as
``Add(1, Mul(-1, exp(x)))`` and ``2*exp(x) - 2`` as ``Add(-2, Mul(2, exp(x)))``.
Rules match through these helpers, which split off numeric coefficients, so
sign and factor variants of a pattern all fire.

>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> coeff_of(-3 * sp.exp(x), sp.exp)
(-3, exp(x))
>>> c, us = exp_terms(sp.exp(x) + 2 * sp.exp(x + 1) + 1)
>>> c, sorted(us, key=str)
(1, [x, x + log(2) + 1])
"""
from __future__ import annotations

import sympy as sp
from sympy.core.function import _coeff_isneg as _sympy_isneg
from sympy.core.operations import LatticeOp
from sympy.simplify.radsimp import fraction

from ..expr.functions import erfcx, sigmoid, softplus
from .substitute import nodes

__all__ = ["coeff_of", "exp_terms", "is_real", "is_positive", "has_exp_like", "as_square", "others",
           "same", "factors_of", "find_factor"]

# Positive functions of a real argument whose logarithm a rule knows how to take.
EXP_LIKE = (sp.exp, sigmoid, sp.erfc, erfcx, softplus)


def coeff_of(term: sp.Basic, cls) -> tuple | None:
    """``(k, node)`` when ``term`` is ``k*node`` with ``k`` a number and ``node`` a ``cls``."""
    k, rest = term.as_coeff_Mul()
    if isinstance(rest, cls):
        return k, rest
    return None


def exp_terms(add: sp.Basic) -> tuple | None:
    """``(c, [u_i])`` when ``add`` is ``c + sum_i k_i exp(v_i)`` with ``k_i > 0``, ``c >= 0``.

    Each ``u_i`` is ``v_i + log(k_i)``, so the sum is ``c + sum_i exp(u_i)``.
    ``None`` when a term is anything else.
    """
    if not isinstance(add, sp.Add):
        return None
    c, rest = add.as_coeff_Add()
    if c.is_negative:
        return None
    us = []
    for t in sp.Add.make_args(rest):
        m = coeff_of(t, sp.exp)
        if m is None or not m[0].is_positive:
            return None
        us.append(m[1].args[0] + sp.log(m[0]))
    return c, us


def is_real(e: sp.Basic) -> bool:
    """``e`` is real, or NaN/inf, whenever its symbols are real: float semantics.

    SymPy says ``x/z`` may not be real (``z = 0``); as a float it is +-inf or
    NaN, which every rule's two sides propagate alike.
    """
    if e.is_extended_real:
        return True
    return sp.I not in nodes(e) and all(s.is_extended_real for s in e.free_symbols)


def is_positive(e: sp.Basic) -> bool:
    """``e > 0`` for every real value of its symbols (SymPy's assumptions, plus exp-like)."""
    if e.is_positive:
        return True
    if isinstance(e, EXP_LIKE):
        return is_real(e.args[0])
    if isinstance(e, sp.Pow):
        return is_positive(e.base) and bool(e.exp.is_extended_real)
    if isinstance(e, (sp.Mul, sp.Add)):
        return all(is_positive(a) for a in e.args)
    return False


def has_exp_like(e: sp.Basic) -> bool:
    return any(isinstance(n, EXP_LIKE) for n in nodes(e))


def as_square(t: sp.Basic) -> sp.Basic | None:
    """``r`` with ``r**2 == t`` read off the form of ``t`` (even powers, positive constants)."""
    if t.is_Number:
        return sp.sqrt(t) if t.is_positive else None
    k, rest = t.as_coeff_Mul()
    if not k.is_positive:
        return None
    roots = []
    for f in sp.Mul.make_args(rest):
        b, e = f.as_base_exp()
        if not (e.is_Integer and e.is_even and e > 0):
            return None
        roots.append(b ** (e / 2))
    return sp.sqrt(k) * sp.Mul(*roots)


def others(node: sp.Basic, drop) -> list:
    """The arguments of ``node`` except those in ``drop`` (compared by identity, once each)."""
    out, pending = [], list(drop)
    for a in node.args:
        hit = next((j for j, d in enumerate(pending) if d is a), None)
        if hit is None:
            out.append(a)
        else:
            pending.pop(hit)
    return out


def same(a: sp.Basic, b: sp.Basic) -> bool:
    """``a == b`` after expanding (``x - 1`` against ``-(1 - x)``)."""
    return a == b or sp.expand(a - b) == 0


def factors_of(mul: sp.Basic) -> list:
    """``[(base, exponent, factor)]`` for the factors of a product (exp counts as itself)."""
    out = []
    for f in sp.Mul.make_args(mul):
        if isinstance(f, sp.exp):
            out.append((f, sp.S.One, f))
        else:
            b, e = f.as_base_exp()
            out.append((b, e, f))
    return out


def find_factor(mul: sp.Basic, cls) -> tuple | None:
    """The first ``(base, exponent, factor)`` of ``mul`` whose base is a ``cls``."""
    for b, e, f in factors_of(mul):
        if isinstance(b, cls):
            return b, e, f
    return None


_OPS: dict = {}  # expression -> sympy.count_ops(expression); cleared when large
_SPLIT: dict = {}  # factor -> its (numerator, denominator) factors, as fraction() splits it


def _coeff_isneg(a) -> bool:
    """SymPy's ``_coeff_isneg``, a rational coefficient's sign read, not deduced."""
    c = a.args[0] if a.is_Mul else a
    return c.p < 0 if c.is_Rational else _sympy_isneg(a)


def _fraction(m):
    """SymPy's ``fraction(m)``: it splits each factor on its own, so each split is kept
    (the products a rule tries share most factors)."""
    num, den = [], []
    for f in sp.Mul.make_args(m):
        if f not in _SPLIT:
            _SPLIT[f] = tuple(map(sp.Mul.make_args, fraction(f)))
        num += _SPLIT[f][0]
        den += _SPLIT[f][1]
    return sp.Mul(*num), sp.Mul(*den)


def _own_ops(a):
    """One step of ``sympy.count_ops``'s walk: the operations ``a`` itself adds, what it visits."""
    w = 0
    if a.is_Rational and a is not sp.S.One:
        return (a.p < 0) + (a.q != 1), ()
    if a.is_Mul:
        if _coeff_isneg(a):
            w, a = 1, (a.as_two_terms()[1] if a.args[0] is sp.S.NegativeOne else -a)
        n, d = _fraction(a)
        if n.is_Integer:
            return w + 1 + bool(n < 0), (d,)
        if d is not sp.S.One:
            return w + 1, ((n,) if d.is_Integer else (d, n))
    elif a.is_Add:
        negs = [_coeff_isneg(t) for t in a.args]
        return len(a.args) - 1 + all(negs), tuple(-t if g else t for t, g in zip(a.args, negs))
    if a.is_Pow and (a.exp is sp.S.NegativeOne or a.base == sp.S.Exp1):
        return w + 1, (a.base if a.exp is sp.S.NegativeOne else a.exp,)
    if a == sp.S.Exp1:
        return w + 1, ()
    if a.is_Mul or isinstance(a, LatticeOp):
        w += len(a.args) - 1
    elif a.args and (a.is_Pow or a.is_Function or isinstance(a, (sp.Derivative, sp.Integral, sp.Sum))):
        w += 1
    return w, (() if a.is_Symbol else a.args)


def count_ops(e: sp.Expr) -> int:
    """``sympy.count_ops(e)`` for a scalar expression, every subexpression counted once
    (kept between calls): linear on deep formulas, where SymPy's walks each one whole.

    >>> x = sp.Symbol("x")
    >>> count_ops(sp.exp(-x) / (1 + x)) == sp.count_ops(sp.exp(-x) / (1 + x)) == 4
    True
    """
    if len(_OPS) > 500_000:
        _OPS.clear()
        _SPLIT.clear()
    own, stack = {}, [e]
    while stack:
        a = stack[-1]
        if a in _OPS:
            stack.pop()
            continue
        if a not in own:
            own[a] = _own_ops(a)
        todo = [k for k in own[a][1] if k not in _OPS]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        _OPS[a] = own[a][0] + sum(_OPS[k] for k in own[a][1])
    return _OPS[e]
