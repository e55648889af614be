"""Finite sums in scalar formulas: expanded term by term before compiling, or refused clearly.

``ac.compile`` computes elementwise formulas; a ``sympy.Sum`` in one is
compiled when it has a known, small number of terms:

* integer limits: the terms are written out (at most :data:`MAX_TERMS`);
* an upper limit that depends on the arguments (``floor(x)`` in the
  Irwin-Hall density ``sympy.stats`` gives ``UniformSum``) when a factor
  ``binomial(N, k)`` with an integer ``N >= 0`` makes every term past ``N``
  zero: ``Sum(f, (k, a, U)) = Sum(Piecewise((f, k <= U), (0, True)), (k, a, N))``;
* a ``Derivative`` SymPy left unevaluated because of such a sum is then
  evaluated.

Anything else (an infinite series, limits given by the arguments) gets a
message saying why and what to do (:func:`sum_reason`).

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> k = sp.Symbol("k", integer=True)
>>> expand_sums(sp.Sum(x**k / sp.factorial(k), (k, 0, 3)))
x**3/6 + x**2/2 + x + 1
>>> expand_sums(sp.Sum((-1)**k * sp.binomial(2, k) * (x - k),
...                    (k, 0, sp.floor(x))))  # doctest: +NORMALIZE_WHITESPACE
Piecewise((x, floor(x) >= 0), (0, True)) + Piecewise((2 - 2*x, floor(x) >= 1), (0, True))
+ Piecewise((x - 2, floor(x) >= 2), (0, True))
>>> print(sum_reason(sp.Sum(x**k, (k, 0, sp.oo))))  # doctest: +NORMALIZE_WHITESPACE
an infinite series in k: algebrac compiles finite sums only; give a closed form
(.doit() may find one) or truncate it to the terms the accuracy needs, e.g.
Sum(..., (k, 0, 50))
"""
from __future__ import annotations

import sympy as sp

from .substitute import nodes

__all__ = ["MAX_TERMS", "expand_sums", "sum_reason"]

MAX_TERMS = 256   # terms ac.compile writes out; longer sums belong in ac.function (ac.sum)


def _binomial_bound(f, k):
    """``N`` when ``f`` has a factor ``binomial(N, k)``, integer ``N >= 0``: 0 for ``k > N``."""
    for factor in sp.Mul.make_args(f):
        if isinstance(factor, sp.binomial) and factor.args[1] == k:
            n = factor.args[0]
            if n.is_Integer and n >= 0:
                return n
    return None


def _terms(f, k, a, b):
    """``sum_{k=a}^{b} f`` written out, or None when it cannot be."""
    if not a.is_Integer:
        return None
    if not b.is_Integer:
        n = _binomial_bound(f, k)
        if n is None or not b.is_real or b.has(k):
            return None
        f, b = sp.Piecewise((f, k <= b), (0, True)), n
    if b - a + 1 > MAX_TERMS:
        return None
    return sp.Add(*[f.xreplace({k: sp.Integer(i)}) for i in range(int(a), int(b) + 1)])


def _expand(node):
    f = node.function
    for k, a, b in node.limits:   # innermost first
        f = _terms(f, k, a, b)
        if f is None:
            return node
    return f


def expand_sums(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every sum that has a known, small number of terms written out."""
    if not any(isinstance(n, sp.Sum) for n in nodes(expr)):
        return expr
    out = expr.replace(lambda n: isinstance(n, sp.Sum), _expand)
    if out.has(sp.Derivative):   # d/dx of a sum whose limits depend on x: now computable
        def evaluate(d):
            done = d.doit()
            return d if done.has(sp.Derivative) else done
        out = out.replace(lambda n: isinstance(n, sp.Derivative), evaluate)
    return out


def sum_reason(node: sp.Sum) -> str:
    """Why ``node`` (left by :func:`expand_sums`) cannot compile, and what to do."""
    for k, a, b in node.limits:
        if a.is_infinite or b.is_infinite:
            return (f"an infinite series in {k}: algebrac compiles finite sums only; give a "
                    f"closed form (.doit() may find one) or truncate it to the terms the "
                    f"accuracy needs, e.g. Sum(..., ({k}, {a if a.is_finite else 0}, 50))")
        if not (a.is_Integer and b.is_Integer):
            return (f"the limits of {k} ({a}, {b}) depend on the arguments: ac.compile "
                    f"expands sums with integer limits (or whose terms vanish past a factor "
                    f"binomial(N, {k})); substitute numbers, or sum over an array with "
                    f"ac.function and ac.sum")
        if b - a + 1 > MAX_TERMS:
            return (f"{b - a + 1} terms in {k}: ac.compile writes out sums of at most "
                    f"{MAX_TERMS} terms; sum over an array with ac.function and ac.sum")
    return "a sum algebrac cannot expand"
