"""``xreplace``, ``replace`` and walks for large formulas: each distinct subexpression
once, no recursion.

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

from sympy import Function

__all__ = ["xreplace", "functions_as_written", "nodes", "has_type", "replace"]


def xreplace(expr, rule: dict, memo: dict | None = None, build=None):
    """``expr.xreplace(rule)``, in time proportional to the distinct subexpressions.

    ``memo`` (a dict) carries the rebuilt nodes from one call to the next: pass
    the same one for several expressions under the same ``rule``, or under a
    ``rule`` that only gains keys none of the earlier expressions hold (a
    temporary's definition, in dependency order).  ``rule`` is never copied,
    so each call costs its new nodes only.  ``build(node, args)`` makes a node
    with new arguments (default: ``node.func(*args)``).
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
        memo[node] = (build(node, new) if build else node.func(*new)) if changed else node
    return get(expr)


def functions_as_written(node, args):
    """``node`` with new ``args``, evaluating sums, products and powers only.

    For replacements that give back what a function's arguments were when it was
    built (a CSE temporary by its value, one symbol by another of the same kind),
    whose evaluation would give the node back: ``log1p(u)`` asks ``log.eval(1 + u)``
    again, some milliseconds each.
    """
    if isinstance(node, Function):
        try:
            return node.func(*args, evaluate=False)
        except TypeError:  # a class whose constructor takes no evaluate=
            pass
    return node.func(*args)


def nodes(*exprs):
    """Every distinct subexpression of ``exprs`` once (SymPy's ``preorder_traversal``
    visits a subterm shared a thousand times a thousand times)."""
    seen, stack = set(), list(exprs)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            yield node
            stack.extend(node.args)


def has_type(expr, *types) -> bool:
    """``expr.has(*types)`` for classes: a node of one of ``types`` is in ``expr``."""
    return any(isinstance(n, types) for n in nodes(expr))


def replace(expr, query, value):
    """``expr.replace(query, value)`` for callables: bottom-up, each node rebuilt from
    its replaced arguments, then replaced by ``value(node)`` where ``query(node)``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> replace(sp.sin(x)**2 + sp.sin(x), lambda n: isinstance(n, sp.sin), lambda n: sp.cos(*n.args))
    cos(x)**2 + cos(x)
    """
    memo: dict = {}
    stack = [expr]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        pending = [a for a in node.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        new = tuple(memo[a] for a in node.args)
        out = node.func(*new) if any(n is not a for n, a in zip(new, node.args)) else node
        if query(out):
            hit = value(out)
            out = out if hit is None else hit
        memo[node] = out
    return memo[expr]
