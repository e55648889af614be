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

__all__ = ["depth", "run_deep"]

SHALLOW = 150                 # levels that run in the caller's thread
STACK_BYTES = 1 << 30         # the worker thread's stack (virtual memory, touched as used)
RECURSION_PER_LEVEL = 12      # Python frames SymPy may use per level of a tree


def depth(exprs) -> int:
    """The depth of the deepest expression (an atom has depth 1), without recursion."""
    from .simplify.substitute import postorder

    memo: dict = {}
    for node in postorder(exprs):  # (not SymPy yet: args checked by the caller)
        memo[node] = 1 + max((memo[a] for a in getattr(node, "args", ())), default=0)
    return max((memo[e] for e in exprs), default=0)


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
