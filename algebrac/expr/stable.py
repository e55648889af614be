"""Stable reductions with NumPy-style names: ``logsumexp``, ``softmax``, ``log_softmax``.

The elementwise stable functions (``log_sigmoid``, ``logaddexp``, ...) are rows
of :mod:`algebrac.mathfuncs`.  These are built on the
:class:`~algebrac.expr.functions.LogSumExp` reduction so that neither value nor
gradient overflows: ``softmax(x)`` is ``exp(x - logsumexp(x))`` (every exponent
is <= 0) and ``log_softmax(x)`` is ``x - logsumexp(x)``, which ``ac.evaluate``
computes as ``(x - max) - log(sum(exp(x - max)))`` to lose no digits near the maximum.

>>> import numpy as np, algebrac as ac
>>> x = ac.vector("x", 3)
>>> ac.logsumexp(x).body
LogSumExp(x[k_0], (k_0, 0, 2))
>>> ac.evaluate(ac.softmax(x), {x: np.array([1000.0, 1000.0, -np.inf])}).tolist()
[0.5, 0.5, 0.0]
"""
from __future__ import annotations

import sympy as sp

from ..dtypes import DType
from . import functions as fn
from .elementwise import exp, subtract
from .reductions import _reduce
from .tensor import Op, Tensor, as_number, operand

__all__ = ["logsumexp", "softmax", "log_softmax"]


def _float(dtype: DType) -> DType:
    return dtype if dtype.is_float else DType.FLOAT64


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x), axis))`` without overflow (``scipy.special.logsumexp``).

    Over zero elements it is ``-inf``, the logarithm of an empty sum.

    >>> import algebrac as ac
    >>> X = ac.matrix("X", (ac.dim("n"), 4))
    >>> ac.logsumexp(X, axis=1).shape
    (n,)
    """
    def build(body, limits, count, dtype):
        if count == 0:
            return sp.S.NegativeInfinity, _float(dtype)
        return fn.LogSumExp(as_number(body), *limits), _float(dtype)
    return _reduce("logsumexp", x, axis, keepdims, build, _float)


def _normalize(name: str, x, axis, log: bool) -> Tensor:
    t, _ = operand(x)
    shifted = subtract(t, logsumexp(t, axis=axis, keepdims=True))
    out = shifted if log else exp(shifted)
    return Tensor(shape=out.shape, dtype=out.dtype, body=out.body, constraints=out.constraints,
                  origin=Op(name, (x,), {"axis": axis}))


def softmax(x, axis=-1) -> Tensor:
    """``exp(x) / sum(exp(x), axis)``, computed as ``exp(x - logsumexp(x, axis))``.

    >>> import algebrac as ac
    >>> ac.softmax(ac.vector("z", 3)).body
    exp(z[i_0] - LogSumExp(z[k_0], (k_0, 0, 2)))
    """
    return _normalize("softmax", x, axis, log=False)


def log_softmax(x, axis=-1) -> Tensor:
    """``log(softmax(x, axis)) = x - logsumexp(x, axis)``: finite where softmax underflows."""
    return _normalize("log_softmax", x, axis, log=True)
