"""What a rewrite must keep: the formula stays real, and NaN stays where the formula is undefined.

A rewrite step (a rule, or SymPy re-evaluating a node whose children a rule
changed) is *admissible* only when

* it brings in nothing non-real: no ``I``, ``zoo`` (complex infinity), ``nan``
  or complex constant that was not there before.  SymPy evaluates
  ``sqrt(-2*sin(x)**2)`` to ``sqrt(2)*I*Abs(sin(x))`` for real ``x`` and
  ``log(-2*exp(x))`` to ``x + log(2) + I*pi``; compiled code keeps only real
  parts, so such a step would turn a NaN into a number;
* it keeps every *domain constraint* of its inputs: a ``sqrt``, ``log``,
  ``asin``, ... whose argument may leave the real domain makes the formula
  NaN there, and a step that drops it (``sign(Max(sqrt(z), sigmoid(y))) ->
  1``, SymPy's folding over the reals) would turn that NaN into a number.

A constraint is ``(kind, argument)``: ``("ge0", a)`` for "NaN where a < 0"
(``sqrt(a)``, ``log(a)``, ``log1p(a - 1)``, ``acosh(a + 1)``, ``a**r`` with
non-integer ``r``, ...) and ``("unit", a)`` for "NaN where |a| > 1"
(``asin``, ``acos``, ``atanh``).  A constraint whose argument SymPy proves
in range (``exp(x) >= 0``) is no constraint.

>>> import sympy as sp
>>> x, z = sp.symbols("x z", real=True)
>>> sorted(constraints(sp.log(x) + sp.sqrt(z)), key=str)
[('ge0', x), ('ge0', z)]
>>> admissible(sp.sign(sp.Max(sp.sqrt(z), 1), evaluate=False), sp.S.One)
False
>>> admissible(sp.log(sp.sqrt(x)), sp.log(x) / 2, constraints(sp.sqrt(x)))  # a rule's check
True
"""
from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import log1p, log2, log10

from ..expr.functions import log1mexp, logdiffexp, xlog1py, xlogy
from .substitute import nodes

__all__ = ["admissible", "constraints", "nonreal"]

_GE0 = {sp.log: lambda a: a[0], log2: lambda a: a[0], log10: lambda a: a[0],
        log1p: lambda a: a[0] + 1, sp.acosh: lambda a: a[0] - 1,
        log1mexp: lambda a: -a[0], logdiffexp: lambda a: a[0] - a[1],
        xlogy: lambda a: a[1], xlog1py: lambda a: a[1] + 1}
_UNIT = (sp.asin, sp.acos, sp.atanh)


def _own(node) -> tuple | None:
    """The constraint ``node`` itself puts on its argument, if any."""
    if isinstance(node, sp.Pow):
        b, e = node.args
        if e.is_integer or b is sp.E:
            return None
        return None if b.is_nonnegative else ("ge0", b)
    get = _GE0.get(type(node))
    if get is not None:
        a = get(node.args)
        return None if a.is_nonnegative else ("ge0", a)
    if isinstance(node, _UNIT):
        a = node.args[0]
        return None if (a.is_number and a.is_real and abs(a) <= 1) else ("unit", a)
    return None


def constraints(expr, memo: dict | None = None) -> frozenset:
    """Every domain constraint in ``expr`` (see the module docstring)."""
    memo = {} if memo is None else memo
    hit = memo.get(expr)
    if hit is not None:
        return hit
    out = frozenset()
    for a in expr.args:
        out |= constraints(a, memo)
    own = _own(expr) if isinstance(expr, sp.Basic) else None
    if own is not None:
        out |= {own}
    memo[expr] = out
    return out


_CONSTANTS = (sp.Number, sp.NumberSymbol, type(sp.I), type(sp.zoo))


def nonreal(expr) -> frozenset:
    """The non-real atoms of ``expr``: ``I``, ``zoo``, ``nan`` and complex numbers."""
    return frozenset(a for a in nodes(expr)
                     if isinstance(a, _CONSTANTS) and a.is_extended_real is not True)


def _kept(c, after: frozenset) -> bool:
    if c in after:
        return True
    kind, a = c
    # The same condition written differently (x - 1 >= 0 against -(1 - x) >= 0).
    return any(k == kind and (sp.expand(a - b) == 0 or (kind == "ge0" and _scaled(a, b)))
               for k, b in after)


def _scaled(a, b) -> bool:
    """``a = k*b`` with a constant ``k > 0`` (``2*x >= 0`` is ``x >= 0``)."""
    ratio = sp.cancel(a / b) if b != 0 else None
    return ratio is not None and ratio.is_number and bool(ratio.is_positive)


def admissible(before, after, inputs=None, memo: dict | None = None) -> bool:
    """``after`` may replace ``before``: nothing non-real added, no domain constraint lost.

    ``inputs`` are the constraints to keep (default: all of ``before``'s); a
    verified rule passes those of its node's arguments only, since the rule's
    identity accounts for the node's own.
    """
    if not nonreal(after) <= nonreal(before):
        return False
    need = constraints(before, memo) if inputs is None else inputs
    if not need:
        return True
    have = constraints(after, memo)
    return all(_kept(c, have) for c in need)
