"""Local derivative rules: the partial derivatives of one node with respect to its arguments.

Rules are filed by head (``PARTIALS``, looked up along the MRO, so every
``sympy.Function`` with an ``fdiff`` is covered).  ``partials(node)`` lists
``(j, partial, guard)``: the derivative of ``node`` with respect to
``node.args[j]`` is ``partial`` where ``guard`` holds and 0 elsewhere
(``guard`` is None for "everywhere").  Forward and reverse mode both
use this table, so a function's derivative is written once.  Sums, products,
extremum reductions and ``Piecewise`` bind variables or select branches; the
two modes handle them themselves.

Conventions at non-differentiable points follow PyTorch and JAX: ``relu`` and
``Max(0, x)`` have slope 0 at 0, ``floor``/``ceiling``/``sign``/``Heaviside``
have derivative 0, a tie of ``Max`` goes to its first argument.

``SIGMOID`` is the rule phase that tidies gradients of logistic models
(``sigmoid(-z) = 1 - sigmoid(z)``), so that the two terms of the
cross-entropy's derivative collapse to ``sigmoid(z) - t``.

>>> import sympy as sp
>>> x, y = sp.symbols("x y", real=True)
>>> partials(x * sp.sin(y))
[(0, sin(y), None), (1, x, None)]
>>> partials(sp.Max(x, y))
[(0, 1, x >= y), (1, 1, y > x)]
"""
from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.core.function import ArgumentIndexError

from ..errors import UnsupportedError
from ..expr.functions import sigmoid, softplus
from ..simplify.rules import Phase

__all__ = ["PARTIALS", "SIGMOID", "ZERO_DERIVATIVE", "partial_rule", "partials"]

# Piecewise-constant functions: derivative 0 wherever it exists.
ZERO_DERIVATIVE = (sp.floor, sp.ceiling, sp.sign, sp.Heaviside, sp.KroneckerDelta)

# Rules filed by the head they differentiate; looked up along the class's MRO.
PARTIALS: dict[type, Callable] = {}


def partial_rule(*heads: type) -> Callable:
    """Decorator: register ``rule(node) -> [(j, partial, guard), ...]`` for ``heads``."""
    def register(rule):
        for head in heads:
            PARTIALS[head] = rule
        return rule
    return register


@partial_rule(sp.Add)
def _add(node):
    """d(a + b)/da = 1."""
    return [(j, sp.S.One, None) for j in range(len(node.args))]


@partial_rule(sp.Mul)
def _mul(node):
    """d(a*b*c)/da = b*c."""
    args = node.args
    return [(j, sp.Mul(*(args[:j] + args[j + 1:])), None) for j in range(len(args))]


@partial_rule(sp.Pow)
def _pow(node):
    """d(b**e)/db = e*b**(e - 1), d(b**e)/de = b**e*log(b)."""
    base, exp = node.args
    out = [(0, exp * base ** (exp - 1), None)]
    if not exp.is_number:
        out.append((1, node * sp.log(base), None))
    return out


@partial_rule(*ZERO_DERIVATIVE)
def _constant_pieces(node):
    """floor, ceiling, sign, Heaviside, KroneckerDelta: derivative 0 (where it exists)."""
    return []


@partial_rule(sp.frac)
def _frac(node):
    """frac(x) = x - floor(x): d/dx = 1 (where it exists)."""
    return [(0, sp.S.One, None)]


@partial_rule(sp.Mod)
def _mod(node):
    """Mod(a, b) = a - b*floor(a/b): d/da = 1, d/db = -floor(a/b)."""
    a, b = node.args
    return [(0, sp.S.One, None), (1, -sp.floor(a / b), None)]


def _extremum(node, beats) -> list:
    """Argument j wins when it beats the earlier arguments strictly and the later ones weakly."""
    out = []
    args = node.args
    for j, a in enumerate(args):
        conds = [beats(a, b, True) for b in args[:j]] + [beats(a, b, False) for b in args[j + 1:]]
        guard = sp.And(*conds)
        if guard is not sp.false:
            out.append((j, sp.S.One, None if guard is sp.true else guard))
    return out


@partial_rule(sp.Max)
def _max(node):
    """d Max(a, b)/da = 1 where a wins (ties: the first argument), else 0."""
    return _extremum(node, lambda a, b, strict: sp.Gt(a, b) if strict else sp.Ge(a, b))


@partial_rule(sp.Min)
def _min(node):
    """d Min(a, b)/da = 1 where a wins (ties: the first argument), else 0."""
    return _extremum(node, lambda a, b, strict: sp.Lt(a, b) if strict else sp.Le(a, b))


@partial_rule(sp.Function)
def _function(node):
    """d f(a, b)/da = f.fdiff(1): every SymPy and algebrac function states its own derivative."""
    out = []
    for j in range(len(node.args)):
        if node.args[j].is_number:
            continue    # a constant argument (polygamma's order, a Bessel order) adds nothing
        try:
            d = node.fdiff(j + 1)
        except (ArgumentIndexError, NotImplementedError, AttributeError):
            d = _NoRule(f"no derivative rule for {type(node).__name__} (argument {j + 1}) "
                        f"in {node}")
        else:
            if d.has(sp.Derivative, sp.Subs):
                d = _NoRule(f"no closed-form derivative for {type(node).__name__} in {node}: "
                            f"SymPy gives {d}")
        out.append((j, d, None))
    return out


class _NoRule:
    """A partial derivative that has no closed form: an error once the chain rule uses it.

    ``gammainc(a, x)`` has no closed-form derivative in ``a``; its gradient in ``x`` alone
    never multiplies this partial (both modes skip arguments the variable does not reach).
    """

    def __init__(self, message: str):
        self.message = message

    def __mul__(self, other):
        raise UnsupportedError(self.message)

    __rmul__ = __mul__


def partials(node: sp.Basic) -> list:
    """``[(j, d node / d args[j], guard or None), ...]`` from the rule filed for ``node``'s class."""
    for klass in type(node).__mro__:
        rule = PARTIALS.get(klass)
        if rule is not None:
            return rule(node)
    raise UnsupportedError(f"cannot differentiate {type(node).__name__} ({sp.srepr(node)[:80]}); "
                           "algebrac differentiates arithmetic, functions with a derivative, "
                           "Max/Min, Piecewise, Sum, Product and ReduceMax/ReduceMin")


# ---- sigmoid identities ---------------------------------------------------------------------
SIGMOID = Phase("diff-sigmoid")


@SIGMOID.rule(tracks=(sigmoid,))
def sigmoid_neg_to_one_minus(node):
    """sigmoid(-x) = 1 - sigmoid(x), for every real x."""
    x = node.args[0]
    if x.could_extract_minus_sign():
        return 1 - sigmoid(-x)
    return None


@SIGMOID.rule(tracks=(softplus,))
def softplus_neg_to_softplus_minus(node):
    """softplus(-x) = softplus(x) - x, for every real x."""
    x = node.args[0]
    if x.could_extract_minus_sign():
        return softplus(-x) - (-x)
    return None
