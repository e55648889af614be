"""``xreplace`` for large formulas: each distinct subexpression once, no recursion.

SymPy's ``expr.xreplace(rule)`` walks the expression as a tree, so a subterm
shared a thousand times (a derivative repeats its factors) is rebuilt a
thousand times, and its recursion fails on deep expressions.  This version
walks the DAG with an explicit stack and a memo; the result is the same
expression SymPy's would give (nodes are rebuilt with ``func(*args)``).

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> xreplace(sp.sin(x)**2 + sp.sin(x)*y, {x: y})
y*sin(y) + sin(y)**2
"""
from __future__ import annotations

__all__ = ["xreplace"]


def xreplace(expr, rule: dict):
    """``expr.xreplace(rule)``, in time proportional to the distinct subexpressions."""
    if not rule:
        return expr
    memo = dict(rule)
    stack = [expr]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        args = node.args
        pending = [a for a in args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        new = tuple(memo[a] for a in args)
        changed = any(n is not a for n, a in zip(new, args))
        memo[node] = node.func(*new) if changed else node
    return memo[expr]
