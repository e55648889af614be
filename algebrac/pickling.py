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
'x_y_1_dfb95647'
>>> kind, formula, options = uf.__reduce__()[1]   # what a pickle holds
>>> kind, formula, options
('ufunc', (x*y + 1, [x, y]), {'backend': 'cpu', 'stabilize': True})
"""
from __future__ import annotations

import hashlib
import re
import sys

from .errors import SignatureError

__all__ = ["rebuild", "rebuilder", "readable_name"]

_MAX_NAME = 40


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
