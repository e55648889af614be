"""Sums that add their terms in the order the formula as written prints them.

The printers (C, and ``lambdify``'s NumPy code that algebrac's results are
held to) add an ``Add``'s terms in SymPy's print order, which depends on the
terms themselves.  Put a symbol where a subexpression was (a CSE temporary, a
``Piecewise``'s branch variable) and the order changes: ``-x - pw + s``
prints as ``-pw + s - x``, so two terms near 1e137 cancel first and the small
one that NumPy keeps is lost.  :func:`as_written` rebuilds such sums as
:class:`SumAsWritten`, which prints its terms in the order it was given.

>>> import sympy as sp
>>> x, y, z, t = sp.symbols("x y z t")
>>> s = x + y + sp.exp(z)
>>> sp.Add(x, y, t).as_ordered_terms()       # t prints first
[t, x, y]
>>> as_written(s, (x, y, t)).as_ordered_terms()   # as x + y + exp(z) does
[x, y, t]
"""
from __future__ import annotations

import sympy as sp
from sympy.core.exprtools import decompose_power

__all__ = ["SumAsWritten", "as_written", "print_order"]


class SumAsWritten(sp.Add):
    """A sum whose terms print (and so evaluate) in the order of its ``args``.

    Never re-evaluated: a pass that rebuilds it (``xreplace``) keeps the order.
    """

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls, *args, evaluate=False)

    def as_ordered_terms(self, order=None, data=False):
        return list(self.args)


def as_written(node, args):
    """``node`` rebuilt with ``args`` (its arguments with parts replaced); a sum of more
    than two terms as a :class:`SumAsWritten` in the print order ``node`` has (a + b is
    b + a in IEEE arithmetic too: only longer sums have an order)."""
    if not isinstance(node, sp.Add) or isinstance(node, SumAsWritten) or len(args) <= 2:
        return node.func(*args)
    where: dict = {}   # each term -> the places it is at (equal terms may repeat)
    for k in reversed(range(len(args))):
        where.setdefault(node.args[k], []).append(k)
    return SumAsWritten(*(args[where[term].pop()] for term in print_order(node.args)))


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
        coeff, powers, other = _complex(c), {}, []
        for factor in (sp.Mul.make_args(rest) if rest is not sp.S.One else ()):
            if factor.is_number:
                try:
                    coeff *= _complex(factor)
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


def _complex(c) -> complex:
    """``complex(c)``; a rational's (correctly rounded either way) without SymPy's evalf."""
    return complex(c.p / c.q) if c.is_Rational and abs(c.p) < 2**1000 * c.q else complex(c)
