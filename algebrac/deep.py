"""Room for deep expressions: SymPy and Python recurse once per level of a tree.

A formula nested a few hundred levels deep (a long recurrence, a multibody
model) exceeds Python's recursion limit in SymPy's recursive walks
(``free_symbols``, ``cse``, printing).  ``run_deep`` runs such work in a thread
with a large stack and a raised limit; shallow formulas run directly.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> f = x
>>> for i in range(100):
...     f = sp.exp(-f * y) + x if i % 2 else sp.sin(f) / 2 + y * i
>>> depth([f]) > SHALLOW
True
>>> run_deep([f], lambda: sorted(f.free_symbols, key=str))
[x, y]
"""
from __future__ import annotations

import sys
import threading
from collections import Counter

import sympy as sp
from sympy.core.function import AppliedUndef

__all__ = ["cut_shared", "depth", "key_text", "postorder", "run_deep", "share", "summary",
           "unconditional"]

CUT_NODES = 20_000    # trees above this many nodes ...
CUT_RATIO = 8         # ... and this many times their distinct nodes are cut at shared nodes
SMALL = 4             # a shared node of at most this many nodes (its cut parts as one) is copied

SHALLOW = 150                 # levels that run in the caller's thread
STACK_BYTES = 1 << 30         # the worker thread's stack (virtual memory, touched as used)
RECURSION_PER_LEVEL = 12      # Python frames SymPy may use per level of a tree


def depth(exprs) -> int:
    """The depth of the deepest expression (an atom has depth 1), without recursion."""
    memo: dict = {}
    for node in postorder(exprs):
        memo[node] = 1 + max((memo[a] for a in _children(node)), default=0)
    return max((memo[e] for e in exprs), default=0)


def postorder(roots, children=None) -> list:
    """Each distinct node of ``roots`` (SymPy or nested tuples; or as ``children(node)``
    lists its arguments) once, children first, without recursion."""
    children = children or _children
    seen, order, stack = set(), [], [(r, False) for r in reversed(roots)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(children(node)))
    return order


def _sizes(order) -> dict:
    """Each node's tree size (nodes), for ``order`` children first."""
    size: dict = {}
    for node in order:
        size[node] = 1 + sum(size[a] for a in _children(node))
    return size


def _children(node):
    if isinstance(node, tuple):
        return node
    if isinstance(node, sp.Basic) and not node.is_Atom:
        return node.args
    return ()


def key_text(obj) -> str:
    """A text that identifies ``obj`` (SymPy expressions, in tuples) as ``srepr`` does,
    each distinct subexpression once, as its head and its arguments' line numbers
    (the ``srepr`` of the 5-link pendulum would run to 10^9 characters).

    >>> x = sp.Symbol("x")
    >>> print(key_text((sp.sin(x) + x, 2)))
    0 Symbol('x')
    1 sin(0)
    2 Add(0,1)
    3 2
    4 tuple(2,3)
    """
    order = postorder([obj])
    line = {node: k for k, node in enumerate(order)}
    out = []
    for k, node in enumerate(order):
        kids = _children(node)
        if kids or isinstance(node, tuple):
            head = sp.srepr(node.func) if isinstance(node, AppliedUndef) else type(node).__name__
            out.append(f"{k} {head}({','.join(str(line[a]) for a in kids)})")
        else:
            out.append(f"{k} {sp.srepr(node) if isinstance(node, sp.Basic) else repr(node)}")
    return "\n".join(out)


def summary(exprs, limit: int = 5000) -> str:
    """``str`` of the expressions joined by ", ", or, when their trees hold more than
    ``limit`` nodes (printing walks the tree), how many outputs and nodes."""
    nodes = sum(_sizes(postorder(exprs))[e] for e in exprs)
    if nodes <= limit:
        return ", ".join(map(str, exprs))
    return f"large formula: {len(exprs)} output(s), {nodes} nodes as a tree"


def cut_shared(exprs, prefix: str = "_ac_u"):
    """``(lets, outputs)``: ``exprs`` cut at their shared subexpressions when their trees
    are much larger than their DAG, else ``([], exprs)``.

    A symbolic LU solve (the 8-link pendulum: 11,164 distinct operations, 3.7e12 as a
    tree) would take days in any tree walk (``has``, ``free_symbols``, ``cse``, printing).
    Each shared node of more than ``SMALL`` nodes becomes a real symbol ``_ac_u<k>``
    (see :func:`share`), so later phases walk small trees that add up to the DAG.

    >>> x, y = sp.symbols("x y")
    >>> f = x
    >>> for _ in range(30):
    ...     f = sp.sin(f) * y + f * x
    >>> lets, (g,) = cut_shared([f])
    >>> len(lets), lets[0], g
    (29, (_ac_u0, x**2 + y*sin(x)), _ac_u28*x + y*sin(_ac_u28))
    """
    order = postorder(exprs)
    size = _sizes(order)
    tree = sum(size[e] for e in exprs)
    if tree <= CUT_NODES or tree <= CUT_RATIO * len(order):
        return [], list(exprs)
    return share(exprs, prefix, lambda node, local: local > SMALL and isinstance(node, sp.Expr),
                 order=order, real=True)


def share(exprs, prefix: str, worth, rebuild=None, order=None, **assumptions):
    """``(lets, outputs)``: each node of ``exprs`` used more than once (by each parent
    and output) and computed for every element (:func:`unconditional`), for which
    ``worth(node, its size with earlier lets as symbols)`` holds, as a symbol defined in
    ``lets``; each node visited once, rebuilt unevaluated by ``rebuild`` (see
    :func:`rebuilt`).  A shared ``b**-n`` is shared at ``b`` (``x/b`` rounds once)."""
    order = postorder(exprs) if order is None else order
    uses = Counter(exprs)
    for node in order:
        uses.update(_children(node))
    for node in reversed(order):   # parents first
        if _reciprocal(node) and uses[node] > 1:
            uses[node.base] += uses[node]
    free = unconditional(exprs, order)
    lets, memo, local = [], {}, {}
    with sp.evaluate(False):
        for node in order:
            kids = _children(node)
            new = tuple(memo[a] for a in kids)
            memo[node] = rebuilt(node, new, rebuild)
            local[node] = 1 + sum(local[a] for a in kids)
            if (node in free and uses[node] > 1 and not node.is_Atom and not _reciprocal(node)
                    and worth(node, local[node])):
                sym = sp.Symbol(f"{prefix}{len(lets)}", **assumptions)
                lets.append((sym, memo[node]))
                memo[node], local[node] = sym, 1
    return lets, [memo[e] for e in exprs]


def unconditional(exprs, order) -> set:
    """The nodes of ``exprs`` (``order``: their :func:`postorder`) computed for every
    element: all but those only in a ``Piecewise``'s branches or later conditions."""
    free = set(exprs)
    for node in reversed(order):   # parents first
        if node in free:
            free.update((node.args[0].cond,) if isinstance(node, sp.Piecewise)
                        else _children(node))
    return free


def rebuilt(node, args, build=None):
    """``node`` if ``args`` are its own, else ``build(node, args)`` (``node.func(*args)``)."""
    if all(n is a for n, a in zip(args, node.args)):
        return node
    return build(node, args) if build else node.func(*args)


def _reciprocal(node) -> bool:
    return node.is_Pow and node.exp.is_Rational and node.exp.p < 0


def run_deep(exprs, fn):
    """``fn()``, with the stack and recursion limit a walk over ``exprs`` needs."""
    d = depth(exprs)
    if d <= SHALLOW:
        return fn()
    result: dict = {}

    def work():
        try:
            result["value"] = fn()
        except BaseException as err:  # noqa: BLE001 (re-raised in the caller)
            result["error"] = err

    limit = max(sys.getrecursionlimit(), 1000 + RECURSION_PER_LEVEL * d)
    old_limit, old_size = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(limit)
    try:
        threading.stack_size(min(STACK_BYTES, max(old_size, 64 << 20, 64 * 1024 * limit)))
        worker = threading.Thread(target=work, name="algebrac-deep")
        worker.start()
    finally:
        threading.stack_size(old_size)
    worker.join()
    sys.setrecursionlimit(old_limit)
    if "error" in result:
        raise result["error"]
    return result["value"]
