"""Joint common-subexpression elimination that respects ``Piecewise`` branches.

``sympy.cse`` finds sharing across every output at once (value and gradient
share most of their work), but it would also hoist a subexpression that occurs
only inside a branch, so ``Piecewise((1/x, x > 0), (0, True))`` would compute
``1/x`` for every element and raise a division warning at ``x = 0``.  A
temporary is therefore kept only when it is needed unconditionally (outside
every branch but the first condition); the others are inlined back where they
were, and the C compiler still shares them within one branch.

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

import sympy as sp

from .order import keep_order
from .substitute import functions_as_written as _same, xreplace

__all__ = ["cse"]


class _Div(sp.Function):
    """``a/b`` held as one opaque node while ``sympy.cse`` runs (it would share ``1/b``)."""

    nargs = 2


class _NegPow(sp.Function):
    """``b**-n`` held opaque while ``sympy.cse`` runs (it would share ``b**n``: 1/(b*b*b))."""

    nargs = 2


def _negative_power(f) -> bool:
    return f.is_Pow and f.exp.is_Rational and f.exp.is_negative


def _hide_division(expr):
    """Every quotient ``a*b**-n`` of ``expr`` as ``_Div(a, b**n)``."""
    def as_div(m):
        den = [f for f in m.args if _negative_power(f)]
        num = [f for f in m.args if not _negative_power(f)]
        return _Div(sp.Mul(*num), sp.Mul(*[1 / d for d in den]))

    expr = expr.replace(lambda n: isinstance(n, sp.Mul) and any(map(_negative_power, n.args)),
                        as_div)
    return expr.replace(_negative_power, lambda n: _NegPow(n.base, -n.exp))


def _show_division(expr):
    expr = expr.replace(lambda n: isinstance(n, _NegPow), lambda n: n.args[0] ** -n.args[1])
    return expr.replace(lambda n: isinstance(n, _Div), lambda n: n.args[0] / n.args[1])


def cse(exprs, prefix: str = "_ac_t"):
    """Common subexpressions of all ``exprs`` at once, with deterministic names.

    Returns ``(lets, reduced)``: ``lets`` is a list of ``(symbol, value)`` in
    dependency order; every temporary is evaluated unconditionally, so it is
    safe to compute once per element before the outputs.
    """
    exprs = [_hide_division(sp.sympify(e)) for e in exprs]
    lets, reduced = sp.cse(exprs, symbols=sp.numbered_symbols(prefix), order="canonical")
    lets = [(sym, _show_division(v)) for sym, v in lets]
    reduced = [_show_division(e) for e in reduced]
    definitions = dict(lets)
    needed: set = set()

    def mark(expr):
        stack = [expr]
        while stack:
            node = stack.pop()
            if node in definitions:
                if node not in needed:
                    needed.add(node)
                    stack.append(definitions[node])
                continue
            if isinstance(node, sp.Piecewise):
                # Only the first condition runs for every element.
                stack.append(node.args[0].cond)
                continue
            stack.extend(node.args)

    for e in reduced:
        mark(e)

    inline: dict = {}
    kept, seen = [], {}   # seen: one memo for the growing ``inline`` (see xreplace)
    for sym, value in lets:
        value = xreplace(value, inline, seen, _same)
        if sym in needed:
            kept.append((sym, value))
        else:
            inline[sym] = value
    if inline:
        reduced = [xreplace(e, inline, seen, _same) for e in reduced]
    # Renumber so names stay dense and stable whatever was inlined.
    renames = {sym: sp.Symbol(f"{prefix}{k}") for k, (sym, _) in enumerate(kept)}
    renames, seen = {s: r for s, r in renames.items() if s != r}, {}
    kept = [(renames.get(s, s), xreplace(v, renames, seen, _same)) for s, v in kept]
    reduced = [xreplace(e, renames, seen, _same) for e in reduced]
    # A temporary changes the print order of the sums it is a term of: keep theirs.
    memo, full, seen = {}, {}, {}
    for s, v in kept:   # each temporary's value in the inputs alone
        full[s] = xreplace(v, full, seen, _same)
    kept = [(s, keep_order(v, full, memo)) for s, v in kept]
    reduced = [keep_order(e, full, memo) for e in reduced]
    return kept, reduced
