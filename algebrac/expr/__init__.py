"""Symbolic tensors with NumPy syntax, held as SymPy scalar bodies over index symbols.

A :class:`Tensor` is ``(shape, dtype, index symbols, body)``: element
``[i_0, i_1, ...]`` is the SymPy expression ``body``, which reads the input
tensors through ``Indexed`` accesses.  ``X @ w`` is
``Sum(X[i_0, k_0]*w[k_0], (k_0, 0, m - 1))``; broadcasting, slicing, transposes
and reshapes only change the index expressions.  Sizes may be symbolic
(:func:`dim`); a symbolic size broadcasts against another only when it is
literally 1, so ``n`` against ``m`` means ``n == m``, checked at call time.

>>> import numpy as np, algebrac as ac
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
>>> p = ac.sigmoid(X @ w)
>>> loss = -ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p))
>>> loss.shape, [v.name for v in loss.inputs]
((), ['X', 't', 'w'])
>>> ac.latex(p)
'\\\\sigma\\\\left(X w\\\\right)'
"""
from __future__ import annotations

from . import _sympy_fixes  # noqa: F401  (Sum must not fold Piecewise out of inner sums)
from . import elementwise as _elementwise
from .elementwise import (clip, equal, greater, greater_equal, less, less_equal, logical_and,
                          logical_not, logical_or, logical_xor, not_equal, power, where)
from .evaluate import evaluate
from .linalg import dot, einsum, inner, matmul, outer, tensordot
from .manip import replace
from .printing import latex
from .reductions import max, mean, min, prod, sum
from .shapes import broadcast_to, concatenate, reshape, stack, swapaxes, transpose
from .stable import log_softmax, logsumexp, softmax
from .symbols import Dim, dim
from .tensor import Tensor, matrix, scalar, tensor, vector

globals().update(_elementwise.WRAPPERS)

__all__ = [
    # construction
    "Dim", "dim", "Tensor", "scalar", "vector", "matrix", "tensor",
    # elementwise
    "where", "clip", "power",
    # the math functions, one per row of algebrac.mathfuncs (ac.exp, ac.log, ..., ac.relu,
    # ac.log_sigmoid, ...): made from the table, so adding a row adds its function here
    *_elementwise.WRAPPERS,
    # numerically stable functions over an axis
    "logsumexp", "softmax", "log_softmax",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not",
    # reductions and contractions
    "sum", "mean", "prod", "max", "min",
    "matmul", "dot", "tensordot", "einsum", "outer", "inner",
    # index maps
    "transpose", "swapaxes", "reshape", "concatenate", "stack", "broadcast_to",
    # manipulation, display, evaluation
    "replace", "evaluate", "latex",
]
