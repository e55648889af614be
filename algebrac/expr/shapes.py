"""Index maps: transpose, indexing and slicing, reshape, concatenate, stack, broadcast_to.

Each operation only rewrites *where* the operand is read: transposing permutes
the free indices, ``x[2:n:2]`` reads ``x[2 + 2*i_0]``, flattening an ``(n, m)``
matrix reads ``X[floor(i_0/m), Mod(i_0, m)]``, ``concatenate`` is a
``Piecewise`` over the joined axis.

>>> import algebrac as ac
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X = ac.matrix("X", (n, m))
>>> X.T.body, X[1:, ::-1].shape
(X[i_1, i_0], (n - 1, m))
>>> X.reshape(-1).body
X[floor(i_0/m), Mod(i_0, m)]
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..dtypes import DType
from ..errors import ShapeError, UnsupportedError
from .elementwise import ARITH, result_dtype
from .reductions import normalize_axes
from .symbols import as_dim, dims_equal, index_symbol
from .tensor import Constraint, Op, Tensor, as_number, merge_constraints, operand

__all__ = ["transpose", "swapaxes", "getitem", "reshape", "concatenate", "stack",
           "broadcast_to"]


def _remap(t: Tensor, exprs, shape, name, params=None, args=None, cons=()) -> Tensor:
    """``t`` read at ``exprs`` (one index expression per axis of ``t``), of a new ``shape``."""
    body = t.body.xreplace(dict(zip(t.indices, exprs)))
    return Tensor(shape=tuple(shape), dtype=t.dtype, body=body, origin=Op(name, args or (t,),
                  params or {}), constraints=merge_constraints(t.constraints, cons))


def transpose(x, axes=None) -> Tensor:
    """Permute axes (reverse them by default), as ``numpy.transpose``.

    >>> import algebrac as ac
    >>> ac.transpose(ac.tensor("A", (2, 3, 4)), (1, 2, 0)).shape
    (3, 4, 2)
    """
    t, _ = operand(x)
    perm = tuple(range(t.ndim))[::-1] if axes is None else tuple(axes)
    if sorted(a % t.ndim if t.ndim else a for a in perm) != list(range(t.ndim)) \
            or len(perm) != t.ndim or any(not -t.ndim <= a < t.ndim for a in perm):
        raise ShapeError(f"transpose: axes {axes!r} are not a permutation of a "
                         f"{t.ndim}-d tensor's axes")
    perm = tuple(a % t.ndim for a in perm)
    # Result axis p is operand axis perm[p], so operand index perm[p] is read at i_p.
    exprs = [None] * t.ndim
    for p, a in enumerate(perm):
        exprs[a] = index_symbol(p)
    return _remap(t, exprs, [t.shape[a] for a in perm], "transpose",
                  {"axes": None if axes is None else perm})


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes, as ``numpy.swapaxes``."""
    t, _ = operand(x)
    (a,), (b,) = (normalize_axes(v, t.ndim, "swapaxes") for v in (axis1, axis2))
    perm = list(range(t.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    out = transpose(t, perm)
    return Tensor(shape=out.shape, dtype=out.dtype, body=out.body, constraints=out.constraints,
                  origin=Op("swapaxes", (t,), {"axis1": axis1, "axis2": axis2}))


# ---- indexing -------------------------------------------------------------------------
def _index_value(k, d, axis):
    """A single integer index normalised to ``0 <= k < d`` where decidable."""
    k = sp.sympify(k, strict=True)
    if k.is_integer is not True:
        raise UnsupportedError(f"index {k} on axis {axis} is not an integer")
    if k.is_negative:
        k = k + d
    if k.is_negative or dims_equal(k, d) is True or (k - d).is_nonnegative:
        raise ShapeError(f"index {k} is out of bounds for axis {axis} with size {d}")
    return k


def _sign(v, what):
    if v.is_positive:
        return 1
    if v.is_negative:
        return -1
    raise UnsupportedError(f"{what} {v} has an unknown sign; use ints, ac.dim symbols or "
                           "symbols declared nonnegative=True")


def _bound(v, d, lo, hi, what):
    """A slice bound normalised like Python's: negatives count from the end, then clamped."""
    v = sp.sympify(v, strict=True)
    if v.is_integer is not True:
        raise UnsupportedError(f"{what} {v} is not an integer")
    if v.is_negative:
        v = v + d
    elif not v.is_nonnegative:
        _sign(v, what)
    return sp.Min(sp.Max(v, lo), hi)


def _slice(s: slice, d, axis):
    """``(start, step, length)`` of ``s`` applied to an axis of size ``d``."""
    if s.step is not None and s.step == 0:
        raise ShapeError("slice step cannot be zero")
    if all(isinstance(v, (int, type(None))) for v in (s.start, s.stop, s.step)) and d.is_Integer:
        r = range(*s.indices(int(d)))
        return sp.Integer(r.start), sp.Integer(r.step), sp.Integer(len(r))
    step = sp.S.One if s.step is None else sp.sympify(s.step, strict=True)
    if step.is_integer is not True:
        raise UnsupportedError(f"slice step {step} on axis {axis} is not an integer")
    if _sign(step, "slice step") > 0:
        start = sp.S.Zero if s.start is None else _bound(s.start, d, 0, d, "slice start")
        stop = d if s.stop is None else _bound(s.stop, d, 0, d, "slice stop")
    else:
        start = d - 1 if s.start is None else _bound(s.start, d, -1, d - 1, "slice start")
        stop = sp.S.NegativeOne if s.stop is None else _bound(s.stop, d, -1, d - 1, "slice stop")
    length = (stop - start) if step == 1 else sp.ceiling((stop - start) / step)
    return start, step, sp.Max(0, length)


def getitem(x, key) -> Tensor:
    """Basic NumPy indexing: ints, slices (symbolic bounds and steps allowed), None, ``...``.

    Integer indices may be SymPy expressions such as ``n - 1``; an index out of
    bounds raises ``ShapeError`` when decidable, else at evaluation.

    >>> import algebrac as ac
    >>> n = ac.dim("n")
    >>> x = ac.vector("x", n)
    >>> x[n - 1].body, x[::2].shape, x[None, :].shape
    (x[n - 1], (ceiling(n/2),), (1, n))
    """
    t, _ = operand(x)
    key = key if isinstance(key, tuple) else (key,)
    for k in key:
        if isinstance(k, (Tensor, np.ndarray, list)):
            raise UnsupportedError("advanced (array or tensor) indexing is not supported; "
                                   "use ints, slices, None and ...")
    if sum(k is Ellipsis for k in key) > 1:
        raise ShapeError("an index can only have a single ellipsis ('...')")
    used = sum(k is not None and k is not Ellipsis for k in key)
    if used > t.ndim:
        raise ShapeError(f"too many indices: {used} for a {t.ndim}-d tensor")
    if Ellipsis in key:
        j = key.index(Ellipsis)
        key = key[:j] + (slice(None),) * (t.ndim - used) + key[j + 1:]
    else:
        key = key + (slice(None),) * (t.ndim - used)
    exprs, shape, axis = [], [], 0
    for k in key:
        if k is None:
            shape.append(sp.S.One)
        elif isinstance(k, slice):
            start, step, length = _slice(k, t.shape[axis], axis)
            exprs.append(start + step * index_symbol(len(shape)))
            shape.append(length)
            axis += 1
        else:
            if isinstance(k, bool):
                raise UnsupportedError("boolean indices are not supported")
            exprs.append(_index_value(k, t.shape[axis], axis))
            axis += 1
    return _remap(t, exprs, shape, "getitem", {"key": key})


# ---- reshape ----------------------------------------------------------------------------
def _groups(old, new):
    """Split two shapes into consecutive groups of equal size products (for tidy index maps).

    Falls back to a single group when the products cannot be matched symbolically.
    """
    groups, i, j = [], 0, 0
    while i < len(old) or j < len(new):
        gi, gj = [i] if i < len(old) else [], [j] if j < len(new) else []
        po = old[i] if gi else sp.S.One
        pn = new[j] if gj else sp.S.One
        i, j = i + len(gi), j + len(gj)
        while dims_equal(po, pn) is not True:
            num, den = sp.fraction(sp.cancel(po / pn))
            if den == 1 and j < len(new) and num != 1:   # old group is bigger: extend new
                pn *= new[j]
                gj.append(j)
                j += 1
            elif num == 1 and i < len(old):             # new group is bigger: extend old
                po *= old[i]
                gi.append(i)
                i += 1
            else:
                return [(list(range(len(old))), list(range(len(new))))]
        groups.append((gi, gj))
    return groups


def reshape(x, shape) -> Tensor:
    """Row-major reshape (``numpy.reshape``); one entry may be ``-1``.

    The element count must match; a symbolic mismatch is checked at call time.

    >>> import algebrac as ac
    >>> n, m = ac.dim("n"), ac.dim("m")
    >>> v = ac.vector("v", n * m)
    >>> v.reshape(n, m).body
    v[m*i_0 + i_1]
    """
    t, _ = operand(x)
    shape = list(shape) if isinstance(shape, (tuple, list)) else [shape]
    if sum(1 for d in shape if isinstance(d, int) and d == -1) > 1:
        raise ShapeError("reshape: only one dimension can be -1")
    total = t.size
    if any(isinstance(d, int) and d == -1 for d in shape):
        known = sp.Mul(*(as_dim(d) for d in shape if not (isinstance(d, int) and d == -1)))
        if known == 0:
            raise ShapeError(f"reshape: cannot infer -1 with a zero-size dimension in {shape}")
        inferred = sp.cancel(total / known)
        if inferred.is_integer is not True:
            raise (ShapeError if inferred.is_number else UnsupportedError)(
                f"reshape: cannot infer -1 for {t.shape} -> {tuple(shape)}: {total}/{known} "
                "is not a known integer; give every size explicitly")
        shape = [inferred if isinstance(d, int) and d == -1 else d for d in shape]
    new = [as_dim(d) for d in shape]
    cons = Constraint.require(total, sp.Mul(*new),
                              f"reshape {tuple(t.shape)} -> {tuple(new)}: element counts")
    exprs = [sp.S.Zero] * t.ndim
    # NOTE: an empty tensor has no element to read, and its strides would divide by 0.
    groups = [] if any(d == 0 for d in t.shape) else _groups(list(t.shape), new)
    for gi, gj in groups:
        # Flat position within the group, then the old indices by strides.
        flat = sp.S.Zero
        for j in gj:
            flat = flat * new[j] + index_symbol(j)
        stride = sp.Mul(*(t.shape[i] for i in gi))
        for n_i, i in enumerate(gi):
            stride = sp.cancel(stride / t.shape[i])
            e = flat if stride == 1 else sp.floor(flat / stride)
            exprs[i] = e if n_i == 0 else sp.Mod(e, t.shape[i])
    return _remap(t, exprs, new, "reshape", {"shape": tuple(new)}, cons=cons)


# ---- joining ----------------------------------------------------------------------------
def _joined_dtype(ops) -> DType:
    """Bool if every piece is bool (the body then becomes ``piecewise != 0``), else promoted."""
    if all(t.dtype is DType.BOOL for t, _ in ops):
        return DType.BOOL
    return result_dtype([(t.dtype, w) for t, w in ops], ARITH)


def concatenate(tensors, axis: int | None = 0) -> Tensor:
    """Join tensors along an existing axis (``axis=None`` flattens first).

    >>> import algebrac as ac
    >>> a, b = ac.vector("a", 2), ac.vector("b", ac.dim("n"))
    >>> ac.concatenate([a, b]).body
    Piecewise((a[i_0], i_0 < 2), (b[i_0 - 2], True))
    """
    ops = [operand(x) for x in tensors]
    if not ops:
        raise ShapeError("concatenate needs at least one tensor")
    if axis is None:
        ops = [(t.reshape(-1), w) for t, w in ops]
        axis = 0
    ts = [t for t, _ in ops]
    ndim = ts[0].ndim
    if ndim == 0:
        raise ShapeError("zero-dimensional tensors cannot be concatenated")
    if any(t.ndim != ndim for t in ts):
        raise ShapeError(f"concatenate: all tensors need the same rank, got "
                         f"{[t.ndim for t in ts]}")
    (ax,) = normalize_axes(axis, ndim, "concatenate")
    cons = []
    for t in ts[1:]:
        for a in range(ndim):
            if a != ax:
                cons += Constraint.require(ts[0].shape[a], t.shape[a],
                                           f"concatenate: axis {a} of the joined tensors")
    offsets = [sp.S.Zero]
    for t in ts:
        offsets.append(offsets[-1] + t.shape[ax])
    i = index_symbol(ax)
    pieces = []
    for j, t in enumerate(ts):
        body = t.body.xreplace({t.indices[ax]: i - offsets[j]})
        cond = True if j == len(ts) - 1 else sp.Lt(i, offsets[j + 1])
        pieces.append((as_number(body), cond))
    dtype = _joined_dtype(ops)
    shape = list(ts[0].shape)
    shape[ax] = offsets[-1]
    return Tensor(shape=tuple(shape), dtype=dtype, body=sp.Piecewise(*pieces),
                  constraints=merge_constraints(cons, *(t.constraints for t in ts)),
                  origin=Op("concatenate", tuple(ts), {"axis": axis}))


def stack(tensors, axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis.

    >>> import algebrac as ac
    >>> a, b = ac.vector("a", 3), ac.vector("b", 3)
    >>> ac.stack([a, b], axis=1).shape
    (3, 2)
    """
    ops = [operand(x) for x in tensors]
    if not ops:
        raise ShapeError("stack needs at least one tensor")
    ts = [t for t, _ in ops]
    ndim = ts[0].ndim
    if any(t.ndim != ndim for t in ts):
        raise ShapeError(f"stack: all tensors need the same shape, got {[t.shape for t in ts]}")
    (ax,) = normalize_axes(axis, ndim + 1, "stack")
    cons = []
    for t in ts[1:]:
        for a in range(ndim):
            cons += Constraint.require(ts[0].shape[a], t.shape[a], "stack: shapes of the "
                                       f"stacked tensors, axis {a}")
    i = index_symbol(ax)
    lift = {t_i: index_symbol(a + (a >= ax)) for a, t_i in enumerate(ts[0].indices)}
    pieces = [(as_number(t.body.xreplace(lift)), True if j == len(ts) - 1 else sp.Eq(i, j))
              for j, t in enumerate(ts)]
    dtype = _joined_dtype(ops)
    shape = list(ts[0].shape)
    shape.insert(ax, sp.Integer(len(ts)))
    return Tensor(shape=tuple(shape), dtype=dtype, body=sp.Piecewise(*pieces),
                  constraints=merge_constraints(cons, *(t.constraints for t in ts)),
                  origin=Op("stack", tuple(ts), {"axis": axis}))


def broadcast_to(x, shape) -> Tensor:
    """``x`` broadcast to ``shape`` (only literal-1 sizes stretch), as ``numpy.broadcast_to``.

    >>> import algebrac as ac
    >>> n = ac.dim("n")
    >>> ac.broadcast_to(ac.vector("v", 3), (n, 3)).body
    v[i_1]
    """
    t, _ = operand(x)
    target = tuple(as_dim(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    if t.ndim > len(target):
        raise ShapeError(f"broadcast_to: cannot broadcast shape {t.shape} to fewer axes {target}")
    offset = len(target) - t.ndim
    cons, exprs = [], []
    for a, d in enumerate(t.shape):
        tgt = target[a + offset]
        if d == 1 and tgt != 1:
            exprs.append(sp.S.Zero)
        else:
            cons += Constraint.require(d, tgt, f"broadcast_to: axis {a} of shape {t.shape} "
                                               f"to {target}")
            exprs.append(index_symbol(a + offset))
    return _remap(t, exprs, target, "broadcast_to", {"shape": target}, cons=cons)
