"""Pickling compiled callables by their formula, and naming them after it.

A compiled object (:class:`algebrac.Ufunc`, ``ac.function``'s ``Function``)
pickles as ``(kind, formula, options)``, never machine code.  Unpickling calls
the front door again (``ac.compile(*formula, **options)``), which finds the
formula in the in-process memo, else in the compile cache, else compiles it:
a pickle (plain or cloudpickle) is valid on any machine with algebrac, and a
worker given many tasks compiles each formula once (one thread builds while
the others wait; the cache's file lock does the same across processes).

>>> import sympy as sp, algebrac as ac
>>> x, y = sp.symbols("x y")
>>> uf = ac.compile(x * y + 1, [x, y])
>>> uf.__name__
'x_y_1_6f55dcd0'
>>> kind, formula, options = uf.__reduce__()[1]   # what a pickle holds
>>> kind, formula, options
('ufunc', (x*y + 1, [x, y]), {'backend': 'cpu', 'stabilize': True})
"""
from __future__ import annotations

import hashlib
import re
import sys

from .errors import SignatureError

__all__ = ["rebuild", "rebuilder", "readable_name", "structure", "name_text"]

_MAX_NAME = 40
_PRINTED_NODES = 2000   # formulas up to this many tree nodes are named from str()


def rebuild(kind: str, formula: tuple, options: dict):
    """Rebuild a pickled compiled object in this process (``__reduce__``'s callable):
    ``ac.compile(*formula, **options)`` or ``ac.function(*formula, **options)``."""
    if kind == "ufunc":
        from .ufunc import compile as front_door
    elif kind == "function":
        from .function import function as front_door
    else:
        raise SignatureError(f"cannot unpickle an algebrac object of kind {kind!r}: this "
                             "algebrac does not know it; install the version that pickled it")
    return front_door(*formula, **options)


def rebuilder():
    """``rebuild`` as pickle finds it (``sys.modules``): a test runner that imports this
    file a second time (pytest's importlib mode) leaves ``__reduce__`` callers holding
    the first copy, which pickle would refuse as "not the same object"."""
    return sys.modules[__name__].rebuild


def readable_name(formula_text: str, *key_parts: str) -> str:
    """An ASCII identifier that says what runs: the formula's words and a short hash.

    >>> readable_name("sin(x)**2 + exp(-y)", "k")
    'sin_x_2_exp_y_8254c329'
    """
    words = re.sub(r"[^0-9A-Za-z]+", "_", formula_text).strip("_")[:_MAX_NAME].strip("_")
    digest = hashlib.sha256("\0".join(key_parts).encode()).hexdigest()[:8]
    if not words or words[0].isdigit():
        words = "f_" + words if words else "f"
    return f"{words}_{digest}"


def structure(exprs) -> str:
    """What ``srepr`` says of ``exprs``, one line ``head(children)`` per distinct compound
    node (a child: a line's number or an atom's ``srepr``), then the roots.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", positive=True)
    >>> print(structure([sp.sin(x) + sp.sin(x)**2, x]))
    sin(Symbol('x', positive=True))
    <class 'sympy.core.power.Pow'>(0,Integer(2))
    <class 'sympy.core.add.Add'>(1,0)
    2,Symbol('x', positive=True)
    """
    import sympy as sp

    from .simplify.substitute import postorder

    ids, lines, heads = {}, [], {}

    def ref(node):
        return str(ids[node]) if node in ids else sp.srepr(node)

    for node in postorder(exprs, lambda n: not getattr(n, "args", ())):  # (or not SymPy)
        f = node.func
        if f not in heads:
            heads[f] = sp.srepr(f) if isinstance(f, sp.FunctionClass) else repr(f)
        ids[node] = len(lines)
        lines.append(f"{heads[f]}({','.join(map(ref, node.args))})")
    return "\n".join([*lines, ",".join(map(ref, exprs))])


def name_text(exprs) -> str:
    """``str`` of ``exprs``, or of its first terms when its tree (printed) is large.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> name_text([sp.Add(*[sp.sin(k * x) for k in range(1, 2000)])])
    'sin(x) + sin(2*x) + sin(3*x) + ...'
    """
    import sympy as sp

    from .simplify.substitute import postorder

    size: dict = {}
    for node in postorder(exprs):
        size[node] = 1 + sum(size[a] for a in getattr(node, "args", ()))
    if sum(size[e] for e in exprs) <= _PRINTED_NODES:
        return ", ".join(map(str, exprs))

    def head(node, depth):
        if not node.args:
            return node
        many = isinstance(node, (sp.Add, sp.Mul)) and len(node.args) > 3
        args = [head(a, depth - 1) for a in node.args[:3 if many else None]] if depth else []
        try:
            return node.func(*args, *([sp.Symbol("...")] if many or not depth else []))
        except Exception:  # noqa: BLE001 (any placeholder names the node as well)
            return sp.Symbol(type(node).__name__)

    with sp.evaluate(False):
        return sp.sstr(head(exprs[0], 4), order="none")
