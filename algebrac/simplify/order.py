"""Sums that add their terms in the order the formula as written prints them.

The printers (C, and ``lambdify``'s NumPy code that algebrac's results are
held to) add an ``Add``'s terms in SymPy's print order, which depends on the
terms themselves.  Put a symbol where a subexpression was (a CSE temporary, a
``Piecewise``'s branch variable) and the order changes: ``-x - pw + s``
prints as ``-pw + s - x``, so two terms near 1e137 cancel first and the small
one that NumPy keeps is lost.  :func:`keep_order` rebuilds such sums as
:class:`SumAsWritten`, which prints its terms in the order it was given.

>>> import sympy as sp

from sympy.core.exprtools import decompose_power

from .substitute import xreplace
>>> x, y, z, t = sp.symbols("x y z t")
>>> (x + y + t).as_ordered_terms()       # t prints first
[t, x, y]
>>> keep_order(x + y + t, {t: sp.exp(z)}).as_ordered_terms()   # as x + y + exp(z) does
[x, y, t]
"""
from __future__ import annotations

import sympy as sp

from sympy.core.exprtools import decompose_power

from .substitute import xreplace

__all__ = ["SumAsWritten", "keep_order", "print_order"]


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
    in the print order the sum has with each key replaced by its value.

    The values hold no key (expand them first).  A :class:`SumAsWritten` already
    is in order (its terms may stand for others).  ``_memo`` (a dict) carries the
    work from one call to the next under the same ``stands_for``.
    """
    memo = {} if _memo is None else _memo
    return _keep(expr, stands_for, memo, memo.setdefault(SumAsWritten, {}))[0]


def _keep(expr, stands_for, memo, full_memo):
    """``(expr in order, whether it holds a key)``, each node visited once."""
    if expr in stands_for:
        return expr, True
    if not expr.args:
        return expr, False
    if expr in memo:
        return memo[expr]
    pairs = [_keep(a, stands_for, memo, full_memo) for a in expr.args]
    args = [a for a, _ in pairs]
    touched = any(t for _, t in pairs)
    if not touched:
        out = expr
    elif isinstance(expr, sp.Add) and len(args) > 2 and not isinstance(expr, SumAsWritten):
        # (a + b is b + a in IEEE arithmetic too: only longer sums have an order)
        with sp.evaluate(False):  # the terms as they were before the keys replaced parts
            full = [xreplace(a, stands_for, full_memo) if t else a for a, t in pairs]
        where: dict = {}   # each full term -> the places it is at (equal terms may repeat)
        for k in reversed(range(len(full))):
            where.setdefault(full[k], []).append(k)
        out = SumAsWritten(*(args[where[term].pop()] for term in print_order(full)))
    elif all(a is b for a, b in zip(args, expr.args)):
        out = expr
    else:
        out = expr.func(*args)
    memo[expr] = out, touched
    return out, touched


def print_order(terms) -> list:
    """``Add(*terms, evaluate=False).as_ordered_terms()`` over sparse monomials (SymPy
    writes each term's exponents over all the sum's factors: quadratic).

    >>> x, y, z = sp.symbols("x y z")
    >>> terms = [z, x**2 * y, 3 * x, sp.sin(y) / x, sp.Integer(2), -x * y**-2]
    >>> print_order(terms) == sp.Add(*terms, evaluate=False).as_ordered_terms()
    True
    """
    terms = list(terms)
    if len(terms) <= 2 or any(t.is_Order for t in terms):
        return sp.Add(*terms, evaluate=False).as_ordered_terms()
    parts, gens = [], set()
    for term in terms:   # each term's coefficient, commutative and other factors
        c, rest = term.as_coeff_Mul()
        coeff, powers, other = complex(c), {}, []
        for factor in (sp.Mul.make_args(rest) if rest is not sp.S.One else ()):
            if factor.is_number:
                try:
                    coeff *= complex(factor)
                    continue
                except (TypeError, ValueError):
                    pass
            if factor.is_commutative:
                base, e = decompose_power(factor)
                powers[base] = e
                gens.add(base)
            else:
                other.append(factor)
        parts.append((powers, tuple(f.sort_key() for f in other),
                      ((bool(coeff.imag), coeff.imag), (coeff.real, coeff.imag))))
    index = {g: k for k, g in enumerate(sorted(gens, key=sp.default_sort_key))}

    def key(k):
        powers, other, coeff = parts[k]
        # negated exponents compared in factor order; an absent factor's is 0
        monom = [(0, i, -e) if e > 0 else (2, -i, -e)
                 for i, e in sorted((index[b], e) for b, e in powers.items())]
        return (*monom, (1,)), other, coeff

    return [terms[k] for k in sorted(range(len(terms)), key=key)]
