"""Walks of large formulas: each distinct subexpression once, no recursion (SymPy's
``xreplace``, ``has``, ``atoms`` walk the tree: a shared subterm once per use).

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> xreplace(sp.sin(x)**2 + sp.sin(x)*y, {x: y})
y*sin(y) + sin(y)**2
"""
from __future__ import annotations

from ..deep import postorder, rebuilt as _rebuilt

__all__ = ["nodes", "xreplace"]


def nodes(*exprs):
    """Every distinct subexpression of ``exprs``, once."""
    seen, stack = set(), list(exprs)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            yield node
            stack.extend(node.args)


def xreplace(expr, rule: dict, memo: dict | None = None, build=None):
    """``expr.xreplace(rule)``.  ``memo`` carries the rebuilt nodes to the next call
    with the same ``rule``, or with one that only gained keys the earlier expressions
    do not hold; ``build(node, args)`` rebuilds a node (default ``node.func(*args)``)."""
    if not rule:
        return expr
    memo = {} if memo is None else memo

    def get(node):
        hit = rule.get(node)
        return memo[node] if hit is None else hit

    def done(node):
        return node in rule or node in memo

    for node in postorder([expr], lambda n: () if done(n) else n.args):
        if not done(node):
            memo[node] = _rebuilt(node, tuple(map(get, node.args)), build)
    return get(expr)

