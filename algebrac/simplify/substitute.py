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


def xreplace(expr, rule: dict, memo: dict | None = None):
    """``expr.xreplace(rule)``, in time proportional to the distinct subexpressions.

    ``memo`` (a dict) carries the rebuilt nodes from one call to the next: pass
    the same one for several expressions under the same ``rule``, or under a
    ``rule`` that only gains keys none of the earlier expressions hold (a
    temporary's definition, in dependency order).  ``rule`` is never copied,
    so each call costs its new nodes only.
    """
    if not rule:
        return expr
    memo = {} if memo is None else memo

    def done(node):
        return node in rule or node in memo

    def get(node):
        hit = rule.get(node)
        return memo[node] if hit is None else hit

    stack = [expr]
    while stack:
        node = stack[-1]
        if done(node):
            stack.pop()
            continue
        args = node.args
        pending = [a for a in args if not done(a)]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        new = tuple(get(a) for a in args)
        changed = any(n is not a for n, a in zip(new, args))
        memo[node] = node.func(*new) if changed else node
    return get(expr)
