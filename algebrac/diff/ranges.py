"""Range reasoning for index expressions: bounds, deciding guards, tidy guard forms.

Every index symbol of a derivative lies in a known range (a free index of a
shape-``(n,)`` tensor in ``[0, n - 1]``, a summation variable in its limits).
:func:`decide` settles delta-elimination guards such as ``0 <= i - 1 <= n - 2``
that always hold (dropped) or never do (the term vanishes); :func:`tidy` writes
the real boundaries with the index alone on the left.  Bounds are interval
arithmetic over sums, constant multiples, ``floor`` and ``Mod``: always sound,
exact for linear expressions using each symbol once (what index maps produce).

>>> import sympy as sp
>>> n = sp.Symbol("n", integer=True, positive=True)
>>> i = sp.Symbol("i_0", integer=True)
>>> ranges = {i: (sp.S.Zero, n - 1)}
>>> decide(sp.Le(i - 1, n - 2), ranges), decide(sp.Ge(i - 1, 0), ranges)
(True, None)
>>> tidy(sp.Ge(i - 1, 0), ranges)
i_0 >= 1
"""
from __future__ import annotations

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanAtom

__all__ = [
    "Ranges",
    "bounds",
    "decide",
    "is_index_expr",
    "simplify_condition",
    "simplify_indices",
    "tidy",
]

Ranges = dict  # Symbol -> (lo, hi), both inclusive


def is_index_expr(e: sp.Basic) -> bool:
    """True for index arithmetic: integer symbols and sizes, never data (``x[k]``)."""
    return (isinstance(e, sp.Expr) and not e.has(sp.Indexed)
            and all(s.is_integer for s in e.free_symbols))


def _sign(c: sp.Expr) -> int | None:
    if c.is_nonnegative:
        return 1
    if c.is_nonpositive:
        return -1
    return None


def bounds(e: sp.Expr, ranges: Ranges) -> tuple[sp.Expr, sp.Expr] | None:
    """Inclusive ``(lo, hi)`` of an index expression over the box ``ranges``, or None.

    >>> import sympy as sp
    >>> i = sp.Symbol("i", integer=True)
    >>> bounds(sp.floor((2 * i + 1) / 4), {i: (0, 5)})
    (0, 2)
    """
    if not any(s in ranges for s in e.free_symbols):
        return e, e
    if isinstance(e, sp.Symbol):
        return ranges[e]
    if e.is_Add:
        lo, hi = sp.S.Zero, sp.S.Zero
        for a in e.args:
            b = bounds(a, ranges)
            if b is None:
                return None
            lo, hi = lo + b[0], hi + b[1]
        return lo, hi
    if e.is_Mul:
        const = [a for a in e.args if not any(s in ranges for s in a.free_symbols)]
        var = [a for a in e.args if a not in const]
        if len(var) != 1:
            return None
        c = sp.Mul(*const)
        b = bounds(var[0], ranges)
        s = _sign(c)
        if b is None or s is None:
            return None
        return (c * b[0], c * b[1]) if s > 0 else (c * b[1], c * b[0])
    if isinstance(e, sp.floor):
        num, den = e.args[0].as_numer_denom()
        b = bounds(num, ranges)
        if b is None or not (den.is_positive and not any(s in ranges for s in den.free_symbols)):
            return None
        return sp.floor(b[0] / den), sp.floor(b[1] / den)
    if isinstance(e, sp.Mod):
        d = e.args[1]
        if d.is_positive and not any(s in ranges for s in d.free_symbols):
            return sp.S.Zero, d - 1
    return None


def _nonneg(e: sp.Expr) -> bool:
    return sp.expand(e).is_nonnegative is True


def _pos(e: sp.Expr) -> bool:
    return sp.expand(e).is_positive is True


def decide(cond: sp.Basic, ranges: Ranges) -> bool | None:
    """Whether an index condition holds for every point of ``ranges`` (True), none (False).

    Conditions on data (``x[k] > 0``) and undecidable ones give None.
    """
    if isinstance(cond, BooleanAtom):
        return bool(cond)
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [decide(a, ranges) for a in cond.args]
        if isinstance(cond, sp.And):
            return False if False in parts else True if all(p is True for p in parts) else None
        return True if True in parts else False if all(p is False for p in parts) else None
    if isinstance(cond, sp.Not):
        inner = decide(cond.args[0], ranges)
        return None if inner is None else not inner
    if not isinstance(cond, Relational) or not (is_index_expr(cond.lhs)
                                                 and is_index_expr(cond.rhs)):
        return None
    b = bounds(sp.expand(cond.lhs - cond.rhs, deep=False), ranges)
    if b is None:
        return None
    lo, hi = b
    always, never = {
        ">=": (_nonneg(lo), _pos(-hi)),
        ">": (_pos(lo), _nonneg(-hi)),
        "<=": (_nonneg(-hi), _pos(lo)),
        "<": (_pos(-hi), _nonneg(lo)),
        "==": (sp.expand(lo) == 0 and sp.expand(hi) == 0, _pos(lo) or _pos(-hi)),
        "!=": (_pos(lo) or _pos(-hi), sp.expand(lo) == 0 and sp.expand(hi) == 0),
    }.get(cond.rel_op, (False, False))
    return True if always else False if never else None


def tidy(cond: sp.Basic, ranges: Ranges) -> sp.Basic:
    """An index relation with the one range symbol alone on the left: ``i - 1 >= 0`` -> ``i >= 1``.

    Strict integer relations become non-strict (``i < n - 1`` -> ``i <= n - 2``).
    """
    if not isinstance(cond, Relational) or not (is_index_expr(cond.lhs)
                                                 and is_index_expr(cond.rhs)):
        return cond
    d = sp.expand(cond.lhs - cond.rhs, deep=False)
    if d.is_integer is not True:
        return cond
    syms = [s for s in sorted(d.free_symbols, key=str) if s in ranges]
    if len(syms) != 1:
        return cond
    (s,) = syms
    c = d.coeff(s)
    rest = d - c * s
    if c not in (1, -1) or rest.has(s):
        return cond
    value = -rest * c                       # d >= 0  <=>  c*(s - value) >= 0
    op = cond.rel_op
    if c == -1:
        op = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}.get(op, op)
    if op == ">":
        op, value = ">=", value + 1
    elif op == "<":
        op, value = "<=", value - 1
    return sp.Rel(s, value, op)


def simplify_condition(cond: sp.Basic, ranges: Ranges) -> sp.Basic:
    """``cond`` with every decidable index relation replaced by true/false, the rest tidied."""
    if isinstance(cond, (sp.And, sp.Or, sp.Not)):
        return cond.func(*(simplify_condition(a, ranges) for a in cond.args))
    verdict = decide(cond, ranges)
    if verdict is not None:
        return sp.true if verdict else sp.false
    return tidy(cond, ranges)


def _split_multiple(e: sp.Expr, c: sp.Expr):
    """``e = c*q + r``: ``q`` collects the terms ``c`` divides."""
    q, r = [], []
    for t in sp.Add.make_args(sp.expand(e, deep=False)):
        ratio = sp.cancel(t / c)
        if sp.fraction(ratio)[1] == 1:
            q.append(ratio)
        else:
            r.append(t)
    return sp.Add(*q), sp.Add(*r)


def _reduce_division(e: sp.Expr, ranges: Ranges) -> sp.Expr:
    """``floor((c*q + r)/c) = q`` and ``Mod(c*q + r, c) = r`` when ``0 <= r < c`` on the ranges."""
    if isinstance(e, sp.floor):
        num, c = e.args[0].as_numer_denom()
    else:
        num, c = e.args
    if not (is_index_expr(num) and c.is_positive and c.is_integer
            and not any(s in ranges for s in c.free_symbols)):
        return e
    q, r = _split_multiple(num, c)
    b = bounds(r, ranges)
    if b is None or not _nonneg(b[0]) or not _nonneg(c - 1 - b[1]):
        return e
    return q if isinstance(e, sp.floor) else r


def simplify_indices(e: sp.Basic, ranges: Ranges) -> sp.Basic:
    """Remove ``floor``/``Mod`` that the index ranges make trivial, e.g. after a reshape.

    >>> import sympy as sp
    >>> m = sp.Symbol("m", integer=True, positive=True)
    >>> i, j = sp.symbols("i j", integer=True)
    >>> simplify_indices(sp.floor((m * i + j) / m) + sp.Mod(j, m), {i: (0, 3), j: (0, m - 1)})
    i + j
    >>> simplify_indices(m * sp.floor(i / m) + sp.Mod(i, m), {i: (0, 3)})
    i
    """
    from sympy.concrete.expr_with_limits import ExprWithLimits

    if not e.args or not e.has(sp.floor, sp.Mod):
        return e
    if isinstance(e, ExprWithLimits):
        inner = dict(ranges)
        limits = []
        for v, lo, hi in e.limits:
            lo, hi = simplify_indices(lo, ranges), simplify_indices(hi, ranges)
            inner[v] = (lo, hi)
            limits.append((v, lo, hi))
        return e.func(simplify_indices(e.function, inner), *limits)
    e = e.func(*(simplify_indices(a, ranges) for a in e.args))
    if isinstance(e, (sp.floor, sp.Mod)):
        return _reduce_division(e, ranges)
    if e.is_Add:
        return _recombine_digits(e)
    return e


def _recombine_digits(e: sp.Add) -> sp.Expr:
    """``c*floor(E/c) + Mod(E, c) = E``: a flat position split into digits and joined again."""
    terms = list(e.args)
    for t in e.args:
        if isinstance(t, sp.Mod) and t in terms:
            num, c = t.args
            whole = c * sp.floor(num / c)
            if whole in terms:
                terms.remove(t)
                terms.remove(whole)
                terms.append(num)
    return sp.Add(*terms) if len(terms) != len(e.args) else e
