"""Reductions over axes: ``sum``, ``mean``, ``prod``, ``max``, ``min``.

A reduction turns the reduced free indices into bound variables of a
``sympy.Sum`` or ``sympy.Product`` (``mean`` divides the sum by the count), or
of :class:`~algebrac.expr.functions.ReduceMax`/``ReduceMin``: SymPy's ``Max``
cannot range over a symbolic size.  ``axis`` and ``keepdims`` are NumPy's.

>>> import algebrac as ac
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X = ac.matrix("X", (n, m))
>>> ac.sum(X, axis=-1).body
Sum(X[i_0, k_0], (k_0, 0, m - 1))
>>> ac.max(X).shape, ac.mean(X, axis=0, keepdims=True).shape
((), (1, m))
"""
from __future__ import annotations

import sympy as sp

from ..dtypes import DType
from ..errors import ShapeError
from .functions import ReduceMax, ReduceMin
from .symbols import fresh_bound, index_symbol
from .tensor import Op, Tensor, as_number, operand

__all__ = ["sum", "mean", "prod", "max", "min", "normalize_axes"]


def normalize_axes(axis, ndim: int, what: str) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, negatives allowed) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int):
            raise ShapeError(f"{what}: axis must be an int or a tuple of ints, got {a!r}")
        if not -ndim <= a < ndim:
            raise ShapeError(f"{what}: axis {a} is out of bounds for a {ndim}-d tensor")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{what}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def _reduce(name: str, x, axis, keepdims: bool, build, dtype_rule) -> Tensor:
    t, _ = operand(x)
    axes = normalize_axes(axis, t.ndim, name)
    bound = fresh_bound([t.body], len(axes))
    mapping, shape, pos = {}, [], 0
    for a in range(t.ndim):
        if a in axes:
            mapping[t.indices[a]] = bound[axes.index(a)]
            if keepdims:
                shape.append(sp.S.One)
                pos += 1
        else:
            mapping[t.indices[a]] = index_symbol(pos)
            shape.append(t.shape[a])
            pos += 1
    body = t.body.xreplace(mapping)
    limits = [(bound[j], 0, t.shape[a] - 1) for j, a in enumerate(axes)]
    count = sp.Mul(*(t.shape[a] for a in axes))
    body, dtype = build(body, limits, count, t.dtype) if limits else (body, dtype_rule(t.dtype))
    return Tensor(shape=tuple(shape), dtype=dtype, body=body, constraints=t.constraints,
                  origin=Op(name, (x,), {"axis": axis, "keepdims": keepdims}))


def _int_or_float(dtype: DType) -> DType:
    return DType.INT64 if dtype is DType.BOOL else dtype


def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes by default); bools count as 0/1.

    >>> import algebrac as ac
    >>> ac.sum(ac.vector("x", ac.dim("n"))).body
    Sum(x[k_0], (k_0, 0, n - 1))
    """
    def build(body, limits, count, dtype):
        return sp.Sum(as_number(body), *limits), _int_or_float(dtype)
    return _reduce("sum", x, axis, keepdims, build, _int_or_float)


def prod(x, axis=None, keepdims: bool = False) -> Tensor:
    """Product over ``axis`` (``sympy.Product``); the empty product is 1.

    >>> import algebrac as ac
    >>> ac.prod(ac.vector("x", 3)).body
    Product(x[k_0], (k_0, 0, 2))
    """
    def build(body, limits, count, dtype):
        return sp.Product(as_number(body), *limits), _int_or_float(dtype)
    return _reduce("prod", x, axis, keepdims, build, _int_or_float)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``: the sum divided by the number of elements.

    The mean over zero elements is NaN, as in NumPy.

    >>> import algebrac as ac
    >>> ac.mean(ac.vector("x", ac.dim("n"))).body
    Sum(x[k_0], (k_0, 0, n - 1))/n
    """
    def build(body, limits, count, dtype):
        out_dtype = dtype if dtype.is_float else DType.FLOAT64
        if count == 0:
            return sp.nan, out_dtype
        return sp.Sum(as_number(body), *limits) / count, out_dtype
    return _reduce("mean", x, axis, keepdims, build,
                   lambda d: d if d.is_float else DType.FLOAT64)


def _extremum(name: str, cls, x, axis, keepdims) -> Tensor:
    def build(body, limits, count, dtype):
        if count == 0:
            raise ShapeError(f"{name}: zero-size reduction has no identity "
                             f"(an axis of size 0 is reduced)")
        if dtype is DType.BOOL:
            # max/min of bools are any/all: reduce the 0/1 values, keep a bool result.
            return sp.Ne(cls(as_number(body), *limits), 0), dtype
        return cls(body, *limits), dtype
    return _reduce(name, x, axis, keepdims, build, lambda d: d)


def max(x, axis=None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis`` (a :class:`~algebrac.expr.functions.ReduceMax` body).

    >>> import algebrac as ac
    >>> ac.max(ac.vector("x", ac.dim("n"))).body
    ReduceMax(x[k_0], (k_0, 0, n - 1))
    """
    return _extremum("max", ReduceMax, x, axis, keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis`` (a :class:`~algebrac.expr.functions.ReduceMin` body)."""
    return _extremum("min", ReduceMin, x, axis, keepdims)
