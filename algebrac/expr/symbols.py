"""The symbols a tensor body is written with: dims, input labels and index symbols.

:class:`Dim` is a size (a positive integer symbol, e.g. the batch size ``n``);
:class:`InputLabel` labels an input tensor's ``IndexedBase`` and knows its
dtype and rank, so the input can be rebuilt from it; index symbols are
``i_0, i_1, ...`` for free indices (named by position, so identically built
tensors are equal) and ``k_0, k_1, ...`` for bound ones.  Every other free
symbol of a body is a scalar parameter.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits

from ..dtypes import DType
from ..errors import ShapeError

__all__ = [
    "Dim", "dim", "InputLabel", "index_symbol", "index_symbols", "is_index_symbol",
    "Fresh", "fresh_bound", "rename_bound", "as_dim", "as_shape", "dims_equal", "as_dtype",
]

_FREE = re.compile(r"i_\d+\Z")
_BOUND = re.compile(r"k_\d+\Z")


class Dim(sp.Symbol):
    """A symbolic size: a SymPy ``Symbol`` with ``integer=True, positive=True``.

    Dims are bound from the arrays at evaluation (or call) time.  Being a
    ``Symbol`` subclass, a ``Dim`` is never equal to a plain symbol of the same name.

    >>> n = Dim("n")
    >>> n.is_integer, n.is_positive, n + 1
    (True, True, n + 1)
    """

    def __new__(cls, name: str, **_assumptions):
        # NOTE: assumptions passed back by pickling are ignored: a Dim is always
        # a positive integer.
        if not isinstance(name, str) or not name.isidentifier():
            raise ShapeError(f"a dim name must be an identifier, got {name!r}")
        return super().__new__(cls, name, integer=True, positive=True)


def dim(name: str) -> Dim:
    """A symbolic dimension (positive integer size) named ``name``.

    >>> import algebrac as ac
    >>> n = ac.dim("n")
    >>> ac.vector("x", n).shape
    (n,)
    """
    return Dim(name)


def as_dtype(dtype) -> DType:
    """A :class:`DType` from a DType, a NumPy dtype, a name or a Python type."""
    if isinstance(dtype, DType):
        return dtype
    return DType.from_numpy(dtype)


class InputLabel(sp.Symbol):
    """The label of an input tensor: a ``Symbol`` that also records dtype and rank.

    Float inputs are ``real``, int64 inputs ``integer``, bool inputs hold 0/1.
    Two labels are equal when name, dtype and rank agree, so an input can be
    rebuilt from its ``IndexedBase`` (label plus shape) without any registry.
    """

    __slots__ = ("dtype", "ndim")

    def __new__(cls, name: str, dtype, ndim: int, **_assumptions):
        dtype = as_dtype(dtype)
        if dtype.is_float:
            assumptions = {"real": True}
        elif dtype is DType.INT64:
            assumptions = {"integer": True}
        else:
            assumptions = {"integer": True, "nonnegative": True}
        obj = sp.Symbol.__xnew__(cls, name, **assumptions)
        obj.dtype = dtype
        obj.ndim = int(ndim)
        return obj

    def __getnewargs_ex__(self):
        return ((self.name, self.dtype.value, self.ndim), {})

    def _hashable_content(self):
        return sp.Symbol._hashable_content(self) + (self.dtype.value, self.ndim)


def index_symbol(position: int) -> sp.Symbol:
    """The free index symbol of axis ``position`` (``i_0``, ``i_1``, ...)."""
    return sp.Symbol(f"i_{position}", integer=True)


def index_symbols(ndim: int) -> tuple[sp.Symbol, ...]:
    """The canonical free indices of a tensor of rank ``ndim``."""
    return tuple(index_symbol(a) for a in range(ndim))


def is_index_symbol(s) -> bool:
    """True for the free index symbols ``i_<n>`` and the bound symbols ``k_<n>``."""
    return (type(s) is sp.Symbol and s.is_integer is True
            and bool(_FREE.match(s.name) or _BOUND.match(s.name)))


class Fresh:
    """Deterministic fresh bound-variable names ``k_<j>`` avoiding every name seen so far."""

    def __init__(self, exprs: Iterable = ()):
        self.taken: set[str] = set()
        self.avoid(exprs)
        self.counter = 0

    def avoid(self, exprs: Iterable) -> None:
        for e in exprs:
            if isinstance(e, sp.Basic):
                self.taken.update(s.name for s in e.atoms(sp.Symbol))

    def __call__(self) -> sp.Symbol:
        while f"k_{self.counter}" in self.taken:
            self.counter += 1
        name = f"k_{self.counter}"
        self.taken.add(name)
        return sp.Symbol(name, integer=True)


def fresh_bound(exprs: Iterable, count: int) -> list[sp.Symbol]:
    """``count`` bound symbols ``k_<j>``, the smallest names apart from every symbol in ``exprs``."""
    fresh = Fresh(exprs)
    return [fresh() for _ in range(count)]


def rename_bound(expr: sp.Basic, avoid: Iterable) -> sp.Basic:
    """Rename the bound variables of ``expr`` that clash with symbols in ``avoid``.

    Needed before substituting index expressions into a body that has its own
    sums, so that no variable is captured.
    """
    fresh = Fresh(avoid)
    avoid_names = set(fresh.taken)
    fresh.avoid([expr])

    def visit(e):
        if not e.args:
            return e
        args = tuple(visit(a) for a in e.args)
        if args != e.args:
            e = e.func(*args)
        if isinstance(e, ExprWithLimits):
            mapping = {v: fresh() for v in e.variables if v.name in avoid_names}
            if mapping:
                e = e.xreplace(mapping)
        return e

    return visit(expr)


def as_dim(value) -> sp.Expr:
    """Validate one shape entry: a non-negative int, a ``Dim`` or an integer expression of dims.

    Strings are turned into :class:`Dim` symbols.
    """
    if isinstance(value, str):
        return Dim(value)
    if isinstance(value, (bool, np.bool_)):
        raise ShapeError(f"a shape entry must be an integer or a dim, got {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ShapeError(f"a shape entry must be non-negative, got {value}")
        return sp.Integer(int(value))
    if isinstance(value, sp.Expr):
        if value.is_Integer:
            if value < 0:
                raise ShapeError(f"a shape entry must be non-negative, got {value}")
            return value
        if value.is_integer is not True or value.is_negative is True:
            raise ShapeError(
                f"shape entry {value} is not a known integer size; build sizes from "
                f"ac.dim(...) symbols and ints (e.g. ac.dim('{value}'))")
        return value
    raise ShapeError(f"a shape entry must be an int or an ac.dim, got {value!r}")


def as_shape(shape) -> tuple[sp.Expr, ...]:
    """A shape tuple from an int, a dim, or a sequence of them."""
    if isinstance(shape, (list, tuple, sp.Tuple)):
        return tuple(as_dim(d) for d in shape)
    return (as_dim(shape),)


def dims_equal(a: sp.Expr, b: sp.Expr) -> bool | None:
    """Whether two sizes are equal: True, False, or None when only call time can tell."""
    if a == b:
        return True
    diff = sp.expand(a - b)
    if diff == 0:
        return True
    if diff.is_zero is False:
        return False
    return None
