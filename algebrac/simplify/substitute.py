"""Walks of large formulas: each distinct subexpression once, no recursion (SymPy's
``xreplace``, ``has``, ``atoms`` walk the tree: a shared subterm once per use).

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> xreplace(sp.sin(x)**2 + sp.sin(x)*y, {x: y})
y*sin(y) + sin(y)**2
"""
from __future__ import annotations

from sympy import Function

from ..deep import postorder

__all__ = ["nodes", "xreplace", "functions_as_written"]


def nodes(*exprs):
    """Every distinct subexpression of ``exprs``, once."""
    seen, stack = set(), list(exprs)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            yield node
            stack.extend(node.args)


def _rebuilt(node, args, build):
    if all(n is a for n, a in zip(args, node.args)):
        return node
    return build(node, args) if build else node.func(*args)


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


def functions_as_written(node, args):
    """``node`` with ``args``, evaluating sums, products and powers only (a function
    given back its own arguments would evaluate to itself, at some ms a node)."""
    if isinstance(node, Function):
        try:
            return node.func(*args, evaluate=False)
        except TypeError:  # a class whose constructor takes no evaluate=
            pass
    return node.func(*args)
