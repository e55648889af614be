r"""Matrix notation for derivatives: rebuild a body out of tensor operations.

A derivative, computed in index notation, has no construction history
(``Tensor.origin``) for the matrix printer.  :func:`with_notation` reads the
body back as NumPy-style operations (``Sum(X[k, i]*v(k), k)`` is ``X.T @ v``,
``Sum(g(k), k)`` is ``sum(g)``) and keeps that construction only if it rebuilds
the same body up to bound-variable names; anything else keeps index notation.

>>> import algebrac as ac
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
>>> g = ac.Tensor(shape=(m,), body=(X.T @ (ac.sigmoid(X @ w) - t)).body)
>>> ac.latex(with_notation(g))
'X^{T} \\left(\\sigma\\left(X w\\right) - t\\right)'
"""
from __future__ import annotations

import sympy as sp

from ..expr import elementwise as ew
from ..expr.linalg import matmul, outer
from ..expr.reductions import sum as ac_sum
from ..expr.shapes import transpose
from ..expr.symbols import InputLabel, index_symbols
from ..expr.tensor import Tensor, as_number, input_tensor
from .scope import depth_normal

__all__ = ["with_notation"]

_UNARY = ("exp", "log", "log1p", "expm1", "exp2", "log2", "log10", "sin", "cos", "tan",
          "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
          "arctanh", "erf", "erfc", "gamma", "lgamma", "sign", "abs", "floor", "ceil",
          "sigmoid", "softplus", "relu")
_TABLE: dict = {}


def _functions() -> dict:
    """SymPy function class -> the algebrac elementwise function that builds it."""
    if not _TABLE:
        a, b = sp.symbols("a b")
        for name in _UNARY:
            f = getattr(ew, name)
            _TABLE[type(f(a))] = f
        for name in ("arctan2", "hypot", "maximum", "minimum"):
            f = getattr(ew, name)
            _TABLE[type(f(a, b))] = f
    return _TABLE


class _NotMatrix(Exception):
    pass


def _is_scalar(e: sp.Basic) -> bool:
    """A plain scalar: no tensor reads, no reductions (parameters, sizes, numbers)."""
    return not e.has(sp.Indexed, InputLabel, sp.Sum, sp.Product)


class _Raiser:
    def raise_(self, e, axes: tuple):
        """``e`` as a Tensor whose axis ``p`` is indexed by ``axes[p]`` (or a SymPy scalar)."""
        deps = tuple(a for a in axes if a in e.free_symbols)
        if not deps and _is_scalar(e):
            return e
        if deps != axes:
            if axes[len(axes) - len(deps):] != deps:      # NumPy broadcasting: trailing axes
                raise _NotMatrix("broadcast along a leading axis")
            return self.raise_(e, deps)
        if isinstance(e, sp.Indexed):
            return self.indexed(e, axes)
        if isinstance(e, InputLabel):
            return input_tensor(e, ())
        if e.is_Add:
            return self.add(e, axes)
        if e.is_Mul:
            return self.mul(e, axes)
        if e.is_Pow:
            return self.pow(e, axes)
        if isinstance(e, sp.Sum):
            return self.sum(e, axes)
        f = _functions().get(type(e))
        if f is not None:
            return f(*(self.raise_(a, axes) for a in e.args))
        raise _NotMatrix(type(e).__name__)

    def indexed(self, e, axes):
        label = e.base.label
        if not isinstance(label, InputLabel) or e.base.shape is None:
            raise _NotMatrix("not an input")
        if len(e.indices) != len(axes) or set(e.indices) != set(axes):
            raise _NotMatrix("not a permutation of the axes")
        t = input_tensor(label, tuple(e.base.shape))
        perm = tuple(e.indices.index(a) for a in axes)
        if perm == tuple(range(len(perm))):
            return t
        return transpose(t) if perm == tuple(reversed(range(len(perm)))) else transpose(t, perm)

    def add(self, e, axes):
        pos, neg = [], []
        for a in e.args:
            if a.could_extract_minus_sign():
                neg.append(self.raise_(-a, axes))
            else:
                pos.append(self.raise_(a, axes))
        # Full-rank terms first, scalars last: X w + b 1, as one writes it.
        pos.sort(key=lambda t: -t.ndim if isinstance(t, Tensor) else 1)
        out = pos[0] if pos else -neg.pop(0)
        for p in pos[1:]:
            out = out + p
        for q in neg:
            out = out - q
        return out

    def mul(self, e, axes):
        coeff, tensors, denominators = sp.S.One, [], []
        factors = list(e.args)
        if len(axes) == 2:      # x_i y_j is the outer product x y^T
            rows = [f for f in factors if f.free_symbols & set(axes) == {axes[0]}]
            cols = [f for f in factors if f.free_symbols & set(axes) == {axes[1]}]
            if rows and cols:
                factors = [f for f in factors if f not in rows and f not in cols]
                tensors.append(outer(self.raise_(sp.Mul(*rows), axes[:1]),
                                     self.raise_(sp.Mul(*cols), axes[1:])))
        for f in factors:
            if _is_scalar(f):
                coeff *= f
            elif f.is_Pow and f.exp == -1:
                denominators.append(self.raise_(f.base, axes))
            else:
                tensors.append(self.raise_(f, axes))
        if not tensors:
            tensors = [sp.S.One]
        out = tensors[0]
        for t in tensors[1:]:
            out = out * t
        for d in denominators:
            out = out / d
        if coeff == -1:
            return -out
        return out if coeff == 1 else ew.multiply(coeff, out)

    def pow(self, e, axes):
        base, exp = e.args
        if not _is_scalar(exp):
            raise _NotMatrix("tensor exponent")
        b = self.raise_(base, axes)
        if exp == sp.S.Half:
            return ew.sqrt(b)
        if exp == -1:
            return 1 / b
        return ew.power(b, exp)

    def sum(self, e, axes):
        if any(lo != 0 for _, lo, _ in e.limits):
            raise _NotMatrix("partial range")
        if len(e.limits) > 1:       # a full reduction over several axes: 1^T A 1
            if axes:
                raise _NotMatrix("partial reduction over several axes")
            return ac_sum(self.raise_(e.function, tuple(v for v, _, _ in e.limits)))
        k = e.limits[0][0]
        factors = sp.Mul.make_args(e.function)
        outside = [f for f in factors if k not in f.free_symbols]
        inside = [f for f in factors if k in f.free_symbols]
        left = [f for f in inside if f.free_symbols & set(axes)]
        right = [f for f in inside if not f.free_symbols & set(axes)]
        if not axes:
            if len(right) == 2 and not any(f.has(sp.Sum) for f in right):
                u, v = (self.raise_(f, (k,)) for f in right)
                value = matmul(u, v)
            else:
                value = ac_sum(self.raise_(sp.Mul(*right), (k,)))
        elif len(axes) == 1:
            mat = self.raise_(sp.Mul(*left), (axes[0], k))
            value = matmul(mat, self.raise_(sp.Mul(*right), (k,))) if right else ac_sum(mat, 1)
        elif len(axes) == 2 and not right:
            rows = [f for f in left if axes[0] in f.free_symbols]
            cols = [f for f in left if axes[0] not in f.free_symbols]
            if any(axes[1] in f.free_symbols for f in rows):
                raise _NotMatrix("elementwise in both axes")
            value = matmul(self.raise_(sp.Mul(*rows), (axes[0], k)),
                           self.raise_(sp.Mul(*cols), (k, axes[1])))
        else:
            raise _NotMatrix("contraction shape")
        if not outside:
            return value
        scale = self.raise_(sp.Mul(*outside), axes)
        return ew.multiply(scale, value) if _is_scalar(sp.Mul(*outside)) else scale * value


def with_notation(t: Tensor) -> Tensor:
    """``t`` with a construction history for matrix notation when its body is matrix algebra."""
    if t.ndim > 2 or t.origin is not None:
        return t
    body = as_number(t.body)
    axes = index_symbols(t.ndim)
    try:
        raised = _Raiser().raise_(body, axes)
    except (_NotMatrix, Exception):  # noqa: BLE001 -- any failure means "no matrix form"
        return t
    if not isinstance(raised, Tensor) or raised.shape != t.shape:
        return t
    if depth_normal(as_number(raised.body)) != depth_normal(body):
        return t
    return Tensor(name=t.name, shape=t.shape, dtype=t.dtype, body=t.body,
                  constraints=t.constraints, origin=raised.origin)
