"""Contractions: ``matmul`` (``@``), ``dot``, ``tensordot``, ``einsum``, ``outer``, ``inner``.

All of them are one construction: place each operand's body at index
expressions built from the result's free indices and fresh summation
variables, multiply, and ``Sum`` over the contracted variables.  Contracted
sizes must agree: a mismatch of concrete sizes raises ``ShapeError`` at once, a
symbolic one (``m`` against ``k``) becomes a constraint checked at call time.

>>> import algebrac as ac
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
>>> (X @ w).body
Sum(X[i_0, k_0]*w[k_0], (k_0, 0, m - 1))
>>> ac.einsum("ij,ij->", X, X).shape
()
"""
from __future__ import annotations

import sympy as sp

from ..errors import ShapeError
from .elementwise import ARITH, multiply, result_dtype
from .symbols import fresh_bound, index_symbol
from .tensor import Constraint, Op, Tensor, as_number, broadcast_shapes, merge_constraints, operand

__all__ = ["matmul", "dot", "tensordot", "einsum", "outer", "inner"]


def _at(t: Tensor, exprs) -> sp.Expr:
    """``t``'s numeric body with axis ``a`` read at index expression ``exprs[a]``."""
    return as_number(t.body).xreplace(dict(zip(t.indices, exprs)))


def _contract(name, operands, shape, placements, sums, cons, params=None) -> Tensor:
    """Build ``Sum(prod_j operand_j[placement_j], *sums)`` of the given result ``shape``."""
    ts = [t for t, _ in operands]
    body = sp.Mul(*(_at(t, p) for t, p in zip(ts, placements)))
    if sums:
        body = sp.Sum(body, *sums)
    dtype = result_dtype([(t.dtype, weak) for t, weak in operands], ARITH)
    return Tensor(shape=tuple(shape), dtype=dtype, body=body,
                  constraints=merge_constraints(cons, *(t.constraints for t in ts)),
                  origin=Op(name, tuple(ts), params or {}))


def _batch_index(d, out_d, pos):
    """Index of a broadcast (batch) axis: 0 for a literal-1 size against a larger one."""
    return sp.S.Zero if d == 1 and out_d != 1 else index_symbol(pos)


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy's ``matmul`` rules (1-d operands, broadcast batch axes).

    >>> import algebrac as ac
    >>> A, B = ac.tensor("A", (5, 2, 3)), ac.matrix("B", (3, 4))
    >>> (A @ B).shape
    (5, 2, 4)
    """
    (ta, wa), (tb, wb) = operand(a), operand(b)
    if ta.ndim == 0 or tb.ndim == 0:
        raise ShapeError("matmul: operands must be at least 1-d; use * for scalars")
    ka = ta.shape[-1]
    kb = tb.shape[0] if tb.ndim == 1 else tb.shape[-2]
    cons = Constraint.require(ka, kb, f"matmul: contracted sizes of shapes {ta.shape} "
                                      f"and {tb.shape}")
    batch_a, batch_b = ta.shape[:-2], tb.shape[:-2]
    batch, bcons = broadcast_shapes([batch_a, batch_b], "matmul (batch axes)")
    rows = (ta.shape[-2],) if ta.ndim >= 2 else ()
    cols = (tb.shape[-1],) if tb.ndim >= 2 else ()
    shape = batch + rows + cols
    (k,) = fresh_bound([ta.body, tb.body], 1)
    nb = len(batch)
    pa = [_batch_index(d, batch[nb - len(batch_a) + j], nb - len(batch_a) + j)
          for j, d in enumerate(batch_a)]
    pa += ([index_symbol(nb)] if rows else []) + [k]
    pb = [_batch_index(d, batch[nb - len(batch_b) + j], nb - len(batch_b) + j)
          for j, d in enumerate(batch_b)]
    pb += [k] + ([index_symbol(nb + len(rows))] if cols else [])
    return _contract("matmul", [(ta, wa), (tb, wb)], shape, [pa, pb],
                     [(k, 0, ka - 1)], cons + bcons)


def tensordot(a, b, axes=2) -> Tensor:
    """Sum products over ``axes`` of ``a`` and ``b`` (``numpy.tensordot`` semantics).

    ``axes`` is an int N (last N axes of ``a`` with first N of ``b``) or a pair of
    axis sequences.

    >>> import algebrac as ac
    >>> A, B = ac.tensor("A", (2, 3, 4)), ac.tensor("B", (3, 4, 5))
    >>> ac.tensordot(A, B).shape, ac.tensordot(A, B, axes=([1], [0])).shape
    ((2, 5), (2, 4, 4, 5))
    """
    (ta, wa), (tb, wb) = operand(a), operand(b)
    if isinstance(axes, int):
        if not 0 <= axes <= min(ta.ndim, tb.ndim):
            raise ShapeError(f"tensordot: axes={axes} is out of range for shapes "
                             f"{ta.shape} and {tb.shape}")
        ax_a = list(range(ta.ndim - axes, ta.ndim))
        ax_b = list(range(axes))
    else:
        try:
            ax_a, ax_b = ([x] if isinstance(x, int) else list(x) for x in axes)
        except (TypeError, ValueError) as err:
            raise ShapeError(f"tensordot: axes must be an int or a pair of axis lists, "
                             f"got {axes!r}") from err
        if len(ax_a) != len(ax_b):
            raise ShapeError(f"tensordot: {len(ax_a)} axes of a against {len(ax_b)} of b")
        for ax, t in ((ax_a, ta), (ax_b, tb)):
            for j, x in enumerate(ax):
                if not -t.ndim <= x < t.ndim:
                    raise ShapeError(f"tensordot: axis {x} out of bounds for shape {t.shape}")
                ax[j] = x % t.ndim
    ks = fresh_bound([ta.body, tb.body], len(ax_a))
    cons = []
    for x, y in zip(ax_a, ax_b):
        why = f"tensordot: axis {x} of {ta.shape} against axis {y} of {tb.shape}"
        cons += Constraint.require(ta.shape[x], tb.shape[y], why)
    free_a = [x for x in range(ta.ndim) if x not in ax_a]
    free_b = [y for y in range(tb.ndim) if y not in ax_b]
    shape = [ta.shape[x] for x in free_a] + [tb.shape[y] for y in free_b]
    pa, pb = [None] * ta.ndim, [None] * tb.ndim
    for j, x in enumerate(free_a):
        pa[x] = index_symbol(j)
    for j, y in enumerate(free_b):
        pb[y] = index_symbol(len(free_a) + j)
    for k, x, y in zip(ks, ax_a, ax_b):
        pa[x] = pb[y] = k
    sums = [(k, 0, ta.shape[x] - 1) for k, x in zip(ks, ax_a)]
    return _contract("tensordot", [(ta, wa), (tb, wb)], shape, [pa, pb], sums, tuple(cons),
                     {"axes": axes})


def dot(a, b) -> Tensor:
    """``numpy.dot``: scalars multiply, 1-d inner product, else contract last with second-last.

    >>> import algebrac as ac
    >>> ac.dot(ac.vector("u", 3), ac.vector("v", 3)).body
    Sum(u[k_0]*v[k_0], (k_0, 0, 2))
    """
    ta, tb = operand(a)[0], operand(b)[0]
    if ta.ndim == 0 or tb.ndim == 0:
        return multiply(a, b)
    out = tensordot(a, b, axes=([-1], [0 if tb.ndim == 1 else -2]))
    return Tensor(shape=out.shape, dtype=out.dtype, body=out.body,
                  constraints=out.constraints, origin=Op("dot", (ta, tb)))


def inner(a, b) -> Tensor:
    """``numpy.inner``: sum over the last axes of ``a`` and ``b``; scalars multiply."""
    ta, tb = operand(a)[0], operand(b)[0]
    if ta.ndim == 0 or tb.ndim == 0:
        return multiply(a, b)
    out = tensordot(a, b, axes=([-1], [-1]))
    return Tensor(shape=out.shape, dtype=out.dtype, body=out.body,
                  constraints=out.constraints, origin=Op("inner", (ta, tb)))


def outer(a, b) -> Tensor:
    """``numpy.outer``: ``a.ravel()[i] * b.ravel()[j]``.

    >>> import algebrac as ac
    >>> ac.outer(ac.vector("u", 2), ac.vector("v", 3)).body
    u[i_0]*v[i_1]
    """
    ta, tb = (operand(x)[0].reshape(-1) for x in (a, b))
    ops = [operand(a), operand(b)]
    body = _at(ta, [index_symbol(0)]) * _at(tb, [index_symbol(1)])
    dtype = result_dtype([(t.dtype, weak) for t, weak in ops], ARITH)
    return Tensor(shape=ta.shape + tb.shape, dtype=dtype, body=body,
                  constraints=merge_constraints(ta.constraints, tb.constraints),
                  origin=Op("outer", (operand(a)[0], operand(b)[0])))


# ---- einsum --------------------------------------------------------------------------
def _parse_spec(spec: str, t: Tensor, what: str) -> list:
    """Labels of one operand; ``...`` expands to ``("...", j)`` labels counted from the right."""
    if spec.count("...") > 1:
        raise ShapeError(f"{what}: more than one '...' in {spec!r}")
    head, ell, tail = spec.partition("...")
    for ch in head + tail:
        if not ch.isalpha():
            raise ShapeError(f"{what}: invalid subscript {ch!r} in {spec!r}")
    n_ell = t.ndim - len(head) - len(tail) if ell else 0
    if n_ell < 0 or (not ell and len(spec) != t.ndim):
        raise ShapeError(f"{what}: subscripts {spec!r} do not match a {t.ndim}-d operand "
                         f"of shape {t.shape}")
    return list(head) + [("...", n_ell - j) for j in range(n_ell)] + list(tail)


def einsum(subscripts: str, *operands_) -> Tensor:
    """Einstein summation with NumPy's subscript language (implicit and explicit ``->``).

    Labels that do not appear in the output are summed; a label repeated in one
    operand takes its diagonal; size-1 axes and ``...`` broadcast.

    >>> import algebrac as ac
    >>> A = ac.matrix("A", (3, 3))
    >>> ac.einsum("ii", A).body
    Sum(A[k_0, k_0], (k_0, 0, 2))
    >>> ac.einsum("ij->ji", A) == A.T
    True
    """
    what = f"einsum({subscripts!r})"
    ops = [operand(x) for x in operands_]
    spec = subscripts.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    specs = lhs.split(",")
    if len(specs) != len(ops):
        raise ShapeError(f"{what}: {len(specs)} operand subscripts for {len(ops)} operands")
    labels = [_parse_spec(s, t, what) for s, (t, _) in zip(specs, ops)]
    # Sizes per label broadcast as in NumPy's einsum: a literal 1 stretches, others agree.
    occurrences: dict = {}
    n_ell = 0
    for labs, (t, _) in zip(labels, ops):
        for lab, d in zip(labs, t.shape):
            occurrences.setdefault(lab, []).append((d,))
            if isinstance(lab, tuple):
                n_ell = max(n_ell, lab[1])
    sizes, cons = {}, []
    for lab in sorted(occurrences, key=str):
        (sizes[lab],), c = broadcast_shapes(occurrences[lab], f"{what}, label {lab!r}")
        cons += c
    counts = {}
    for labs in labels:
        for lab in labs:
            counts[lab] = counts.get(lab, 0) + 1
    if arrow:
        head, ell, tail = rhs.partition("...")
        if n_ell and not ell:
            raise ShapeError(f"{what}: the operands have '...' axes, so the output needs "
                             "'...' too (as in NumPy)")
        out = list(head) + [("...", n_ell - j) for j in range(n_ell) if ell] + list(tail)
        for lab in out:
            if not isinstance(lab, tuple) and lab not in sizes:
                raise ShapeError(f"{what}: output label {lab!r} is not in any operand")
        if len(set(out)) != len(out):
            raise ShapeError(f"{what}: repeated output label in {rhs!r}")
    else:
        out = [("...", n_ell - j) for j in range(n_ell)]
        out += sorted(lab for lab, c in counts.items() if not isinstance(lab, tuple) and c == 1)
    summed = sorted(lab for lab in sizes if lab not in out and not isinstance(lab, tuple))
    ks = fresh_bound([t.body for t, _ in ops], len(summed))
    where = {lab: index_symbol(p) for p, lab in enumerate(out)}
    where.update(zip(summed, ks))
    placements = [[sp.S.Zero if d == 1 and sizes[lab] != 1 else where[lab]
                   for lab, d in zip(labs, t.shape)] for labs, (t, _) in zip(labels, ops)]
    shape = [sizes[lab] for lab in out]
    sums = [(k, 0, sizes[lab] - 1) for k, lab in zip(ks, summed)]
    return _contract("einsum", ops, shape, placements, sums, tuple(cons),
                     {"subscripts": subscripts})
