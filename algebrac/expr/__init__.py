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
from .elementwise import (
    abs,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    cbrt,
    ceil,
    clip,
    cos,
    cosh,
    equal,
    erf,
    erfc,
    exp,
    exp2,
    expm1,
    floor,
    gamma,
    greater,
    greater_equal,
    heaviside,
    hypot,
    less,
    less_equal,
    lgamma,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    not_equal,
    power,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    softplus,
    sqrt,
    tan,
    tanh,
    where,
)
from .evaluate import evaluate
from .linalg import dot, einsum, inner, matmul, outer, tensordot
from .manip import replace
from .printing import latex
from .reductions import max, mean, min, prod, sum
from .shapes import broadcast_to, concatenate, reshape, stack, swapaxes, transpose
from .stable import (erfcx, log1mexp, log_erfc, log_sigmoid, log_softmax, logaddexp, logdiffexp,
                     logsumexp, softmax, xlog1py, xlogy)
from .symbols import Dim, dim
from .tensor import Tensor, matrix, scalar, tensor, vector

__all__ = [
    # construction
    "Dim", "dim", "Tensor", "scalar", "vector", "matrix", "tensor",
    # elementwise
    "where", "maximum", "minimum", "clip", "abs", "exp", "log", "log1p", "expm1", "exp2",
    "log2", "log10", "sqrt", "cbrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
    "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "hypot", "floor",
    "ceil", "sign", "erf", "erfc", "gamma", "lgamma", "heaviside", "mod", "power",
    "sigmoid", "softplus", "relu",
    # numerically stable functions (elementwise, then over an axis)
    "log_sigmoid", "log1mexp", "logaddexp", "logdiffexp", "xlogy", "xlog1py", "erfcx", "log_erfc",
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
