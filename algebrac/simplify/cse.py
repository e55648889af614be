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
"""
from __future__ import annotations

import sympy as sp

from .substitute import xreplace

__all__ = ["cse"]


def cse(exprs, prefix: str = "_ac_t"):
    """Common subexpressions of all ``exprs`` at once, with deterministic names.

    Returns ``(lets, reduced)``: ``lets`` is a list of ``(symbol, value)`` in
    dependency order; every temporary is evaluated unconditionally, so it is
    safe to compute once per element before the outputs.
    """
    exprs = [sp.sympify(e) for e in exprs]
    lets, reduced = sp.cse(exprs, symbols=sp.numbered_symbols(prefix), order="canonical")
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
    kept = []
    for sym, value in lets:
        value = xreplace(value, inline)
        if sym in needed:
            kept.append((sym, value))
        else:
            inline[sym] = value
    if inline:
        reduced = [xreplace(e, inline) for e in reduced]
    # Renumber so names stay dense and stable whatever was inlined.
    renames = {sym: sp.Symbol(f"{prefix}{k}") for k, (sym, _) in enumerate(kept)}
    kept = [(renames[s], xreplace(v, renames)) for s, v in kept]
    reduced = [xreplace(e, renames) for e in reduced]
    return kept, reduced
