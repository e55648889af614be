"""Elementwise operations with NumPy names, broadcasting and dtype rules.

Every function here accepts Tensors, SymPy scalars and Python numbers.  With no
Tensor among its arguments a function returns the plain SymPy expression
(``ac.exp(x)`` is ``sympy.exp(x)``), so the same code serves scalar formulas and
tensor formulas.

Result dtypes follow NumPy 2 (NEP 50): Python and SymPy scalars are weak, a
float32 tensor stays float32 when combined with them; int64 with float32 gives
float64; division and transcendental functions of ints give float64;
comparisons and logical operations give bool.  Bools in arithmetic count as
0/1 (int64), unlike NumPy's ``True + True == True``.

>>> import sympy as sp, algebrac as ac
>>> x = ac.vector("x", 3)
>>> ac.exp(sp.Symbol("a")), ac.exp(x).body
(exp(a), exp(x[i_0]))
>>> (x > 0).dtype.value, (2 * x.astype("float32")).dtype.value
('bool', 'float32')

The SymPy function behind each NumPy name:

>>> a, b = sp.symbols("a b")
>>> print(*(type(f(a)).__name__ for f in (
...     ac.exp, ac.log, ac.log1p, ac.expm1, ac.exp2, ac.log2, ac.log10, ac.sin, ac.cos,
...     ac.tan, ac.arcsin, ac.arccos, ac.arctan, ac.sinh, ac.cosh, ac.tanh, ac.arcsinh,
...     ac.arccosh, ac.arctanh, ac.erf, ac.erfc, ac.gamma, ac.lgamma, ac.floor, ac.ceil,
...     ac.sign, ac.abs, ac.sigmoid, ac.softplus, ac.relu)))  # doctest: +NORMALIZE_WHITESPACE
exp log log1p expm1 exp2 log2 log10 sin cos tan asin acos atan sinh cosh tanh asinh acosh
atanh erf erfc gamma loggamma floor ceiling sign Abs sigmoid softplus relu
>>> ac.sqrt(a), ac.cbrt(a)
(sqrt(a), Abs(a)**(1/3)*sign(a))
>>> [f(b, a) for f in (ac.arctan2, ac.hypot, ac.mod, ac.power, ac.maximum, ac.minimum,
...                    ac.heaviside)]
[atan2(b, a), hypot(b, a), Mod(b, a), b**a, Max(a, b), Min(a, b), Heaviside(b, a)]
"""
from __future__ import annotations

import operator

import sympy as sp
from sympy.codegen.cfunctions import exp2 as _exp2
from sympy.codegen.cfunctions import expm1 as _expm1
from sympy.codegen.cfunctions import hypot as _hypot
from sympy.codegen.cfunctions import log1p as _log1p
from sympy.codegen.cfunctions import log2 as _log2
from sympy.codegen.cfunctions import log10 as _log10

from ..dtypes import DType
from ..errors import DTypeError
from .functions import relu as _relu
from .functions import sigmoid as _sigmoid
from .functions import softplus as _softplus
from .symbols import as_dtype
from .tensor import (
    Op,
    Tensor,
    as_condition,
    as_number,
    broadcast_body,
    broadcast_shapes,
    merge_constraints,
    operand,
)

__all__ = [
    "add", "subtract", "multiply", "divide", "floor_divide", "negative", "power", "mod",
    "abs", "sign", "floor", "ceil", "maximum", "minimum", "clip", "where", "astype",
    "exp", "log", "log1p", "expm1", "exp2", "log2", "log10", "sqrt", "cbrt",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "hypot",
    "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "erf", "erfc", "gamma", "lgamma", "heaviside", "sigmoid", "softplus", "relu",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not",
]

# Result-dtype kinds: ARITH keeps ints, FLOAT makes ints float64, BOOL/LOGIC give bool.
ARITH, FLOAT, COMPARE, LOGIC = "arith", "float", "compare", "logic"


def result_dtype(items: list[tuple[DType, bool]], kind: str) -> DType:
    """The dtype of an elementwise result from ``(dtype, weak)`` operands (NEP 50 rules)."""
    if kind in (COMPARE, LOGIC):
        return DType.BOOL
    numeric = [(DType.INT64 if d is DType.BOOL else d, weak) for d, weak in items]
    strong = [d for d, weak in numeric if not weak]
    floats = [d for d in strong if d.is_float]
    if floats:
        if all(d is DType.FLOAT32 for d in floats) and DType.INT64 not in strong:
            res = DType.FLOAT32
        else:
            res = DType.FLOAT64
    elif any(d.is_float for d, _ in numeric):
        res = DType.FLOAT64
    else:
        res = DType.INT64
    return DType.FLOAT64 if kind == FLOAT and res is DType.INT64 else res


def apply(name: str, fn, args, kind: str):
    """Apply the SymPy scalar function ``fn`` elementwise to broadcast operands.

    Without a Tensor among ``args`` the plain SymPy value ``fn(*args)`` is returned.
    """
    if not any(isinstance(a, Tensor) for a in args):
        return fn(*(sp.sympify(a, strict=True) for a in args))
    ops = [operand(a) for a in args]
    shape, cons = broadcast_shapes([t.shape for t, _ in ops], name)
    bodies = [broadcast_body(t, shape) for t, _ in ops]
    convert = as_condition if kind == LOGIC else as_number
    body = fn(*(convert(b) for b in bodies))
    dtype = result_dtype([(t.dtype, weak) for t, weak in ops], kind)
    origin = Op(name, tuple(a if isinstance(a, Tensor) else t.body
                            for a, (t, _) in zip(args, ops)))
    return Tensor(shape=shape, dtype=dtype, body=body, origin=origin,
                  constraints=merge_constraints(cons, *(t.constraints for t, _ in ops)))


# ---- arithmetic ---------------------------------------------------------------------
def add(a, b):
    """``a + b`` elementwise.

    >>> import algebrac as ac
    >>> (ac.vector("x", 3) + 1).body
    x[i_0] + 1
    """
    return apply("add", operator.add, (a, b), ARITH)


def subtract(a, b):
    """``a - b`` elementwise."""
    return apply("subtract", operator.sub, (a, b), ARITH)


def multiply(a, b):
    """``a * b`` elementwise (the Hadamard product for matrices)."""
    return apply("multiply", operator.mul, (a, b), ARITH)


def divide(a, b):
    """``a / b`` elementwise (true division: ints give float64)."""
    return apply("divide", operator.truediv, (a, b), FLOAT)


def floor_divide(a, b):
    """``a // b`` elementwise, ``floor(a / b)``."""
    return apply("floor_divide", lambda x, y: sp.floor(x / y), (a, b), ARITH)


def negative(a):
    """``-a`` elementwise."""
    return apply("negative", operator.neg, (a,), ARITH)


def power(a, b):
    """``a ** b`` elementwise.

    >>> import algebrac as ac
    >>> ac.power(ac.vector("x", 3), 2).body
    x[i_0]**2
    """
    out = apply("power", operator.pow, (a, b), ARITH)
    if isinstance(out, Tensor) and out.dtype is DType.INT64:
        exponent = operand(b)[0].body
        if exponent.is_negative:
            raise DTypeError("integers to negative integer powers are not allowed "
                             "(as in NumPy); convert with .astype(float) first")
    return out


def mod(a, b):
    """``a % b`` elementwise, with the sign of ``b`` (NumPy's and SymPy's ``Mod``)."""
    return apply("mod", sp.Mod, (a, b), ARITH)


def abs(x):
    """``|x|`` elementwise (``sympy.Abs``).

    >>> import sympy as sp, algebrac as ac
    >>> ac.abs(sp.Symbol("a")), ac.abs(-2)
    (Abs(a), 2)
    """
    return apply("abs", sp.Abs, (x,), ARITH)


def sign(x):
    """The sign (-1, 0, 1) elementwise (``sympy.sign``)."""
    return apply("sign", sp.sign, (x,), ARITH)


def floor(x):
    """The floor elementwise (``sympy.floor``)."""
    return apply("floor", sp.floor, (x,), ARITH)


def ceil(x):
    """The ceiling elementwise (``sympy.ceiling``)."""
    return apply("ceil", sp.ceiling, (x,), ARITH)


def maximum(a, b):
    """The larger of ``a`` and ``b`` elementwise (``sympy.Max``).

    >>> import sympy as sp, algebrac as ac
    >>> ac.maximum(ac.vector("x", 3), 0).body
    Max(0, x[i_0])
    """
    return apply("maximum", sp.Max, (a, b), ARITH)


def minimum(a, b):
    """The smaller of ``a`` and ``b`` elementwise (``sympy.Min``)."""
    return apply("minimum", sp.Min, (a, b), ARITH)


def clip(a, a_min=None, a_max=None):
    """``minimum(maximum(a, a_min), a_max)`` as ``numpy.clip``; either bound may be None.

    >>> import algebrac as ac
    >>> ac.clip(ac.vector("x", 3), 0, 1).body
    Min(1, Max(0, x[i_0]))
    """
    if a_min is None and a_max is None:
        raise DTypeError("clip needs a_min or a_max (or both)")
    out = a if a_min is None else maximum(a, a_min)
    out = out if a_max is None else minimum(out, a_max)
    if isinstance(out, Tensor):
        out = Tensor(shape=out.shape, dtype=out.dtype, body=out.body,
                     constraints=out.constraints, origin=Op("clip", (a, a_min, a_max)))
    return out


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y``: ``Piecewise((x, c), (y, True))``.

    >>> import algebrac as ac
    >>> v = ac.vector("v", 3)
    >>> ac.where(v > 0, v, 0).body
    Piecewise((v[i_0], v[i_0] > 0), (0, True))
    """
    if not any(isinstance(a, Tensor) for a in (condition, x, y)):
        c = as_condition(sp.sympify(condition, strict=True))
        return sp.Piecewise((sp.sympify(x, strict=True), c), (sp.sympify(y, strict=True), True))
    ops = [operand(a) for a in (condition, x, y)]
    shape, cons = broadcast_shapes([t.shape for t, _ in ops], "where")
    c, a, b = (broadcast_body(t, shape) for t, _ in ops)
    body = sp.Piecewise((as_number(a), as_condition(c)), (as_number(b), True))
    dtype = result_dtype([(t.dtype, weak) for t, weak in ops[1:]], ARITH)
    return Tensor(shape=shape, dtype=dtype, body=body, origin=Op("where", (condition, x, y)),
                  constraints=merge_constraints(cons, *(t.constraints for t, _ in ops)))


def astype(x, dtype):
    """``x`` converted to ``dtype``: bool is ``x != 0``, int truncates toward zero.

    >>> import algebrac as ac
    >>> ac.vector("x", 2).astype(int).body
    floor(Abs(x[i_0]))*sign(x[i_0])
    """
    t, _ = operand(x)
    dtype = as_dtype(dtype)
    body = t.body
    if dtype is DType.BOOL:
        body = as_condition(body)
    else:
        body = as_number(body)
        if dtype is DType.INT64 and t.dtype.is_float:
            body = sp.sign(body) * sp.floor(sp.Abs(body))
    return Tensor(shape=t.shape, dtype=dtype, body=body, constraints=t.constraints,
                  origin=Op("astype", (t,), {"dtype": dtype.value}))


# ---- transcendental and special functions ----------------------------------------------
def _unary(name, fn, x, kind=FLOAT):
    return apply(name, fn, (x,), kind)


def exp(x):
    """``e**x`` elementwise (``sympy.exp``).

    >>> import sympy as sp, algebrac as ac
    >>> ac.exp(sp.Symbol("x"))
    exp(x)
    """
    return _unary("exp", sp.exp, x)


def log(x):
    """The natural logarithm elementwise (``sympy.log``)."""
    return _unary("log", sp.log, x)


def log1p(x):
    """``log(1 + x)``, accurate for small ``x`` (``sympy.codegen.cfunctions.log1p``)."""
    return _unary("log1p", _log1p, x)


def expm1(x):
    """``exp(x) - 1``, accurate for small ``x`` (``sympy.codegen.cfunctions.expm1``)."""
    return _unary("expm1", _expm1, x)


def exp2(x):
    """``2**x`` elementwise (``sympy.codegen.cfunctions.exp2``)."""
    return _unary("exp2", _exp2, x)


def log2(x):
    """The base-2 logarithm (``sympy.codegen.cfunctions.log2``)."""
    return _unary("log2", _log2, x)


def log10(x):
    """The base-10 logarithm (``sympy.codegen.cfunctions.log10``)."""
    return _unary("log10", _log10, x)


def sqrt(x):
    """The square root elementwise (``sympy.sqrt``, i.e. ``x**(1/2)``)."""
    return _unary("sqrt", sp.sqrt, x)


def _real_cbrt(x):
    return sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)


def cbrt(x):
    """The real cube root, ``sign(x)*|x|**(1/3)``, as ``numpy.cbrt`` (also for x < 0).

    ``x**(1/3)`` would be SymPy's principal (complex) root for negative ``x``.

    >>> import sympy as sp, algebrac as ac
    >>> ac.cbrt(-8)
    -2
    """
    return _unary("cbrt", _real_cbrt, x)


def sin(x):
    """The sine elementwise (``sympy.sin``)."""
    return _unary("sin", sp.sin, x)


def cos(x):
    """The cosine elementwise (``sympy.cos``)."""
    return _unary("cos", sp.cos, x)


def tan(x):
    """The tangent elementwise (``sympy.tan``)."""
    return _unary("tan", sp.tan, x)


def arcsin(x):
    """The inverse sine elementwise (``sympy.asin``)."""
    return _unary("arcsin", sp.asin, x)


def arccos(x):
    """The inverse cosine elementwise (``sympy.acos``)."""
    return _unary("arccos", sp.acos, x)


def arctan(x):
    """The inverse tangent elementwise (``sympy.atan``)."""
    return _unary("arctan", sp.atan, x)


def arctan2(y, x):
    """The angle of the point ``(x, y)``, NumPy's argument order (``sympy.atan2(y, x)``).

    >>> import sympy as sp, algebrac as ac
    >>> ac.arctan2(1, -1)
    3*pi/4
    """
    return apply("arctan2", sp.atan2, (y, x), FLOAT)


def hypot(x, y):
    """``sqrt(x**2 + y**2)`` without overflow (``sympy.codegen.cfunctions.hypot``)."""
    return apply("hypot", _hypot, (x, y), FLOAT)


def sinh(x):
    """The hyperbolic sine elementwise (``sympy.sinh``)."""
    return _unary("sinh", sp.sinh, x)


def cosh(x):
    """The hyperbolic cosine elementwise (``sympy.cosh``)."""
    return _unary("cosh", sp.cosh, x)


def tanh(x):
    """The hyperbolic tangent elementwise (``sympy.tanh``)."""
    return _unary("tanh", sp.tanh, x)


def arcsinh(x):
    """The inverse hyperbolic sine elementwise (``sympy.asinh``)."""
    return _unary("arcsinh", sp.asinh, x)


def arccosh(x):
    """The inverse hyperbolic cosine elementwise (``sympy.acosh``)."""
    return _unary("arccosh", sp.acosh, x)


def arctanh(x):
    """The inverse hyperbolic tangent elementwise (``sympy.atanh``)."""
    return _unary("arctanh", sp.atanh, x)


def erf(x):
    """The error function elementwise (``sympy.erf``)."""
    return _unary("erf", sp.erf, x)


def erfc(x):
    """The complementary error function elementwise (``sympy.erfc``)."""
    return _unary("erfc", sp.erfc, x)


def gamma(x):
    """The gamma function elementwise (``sympy.gamma``)."""
    return _unary("gamma", sp.gamma, x)


def lgamma(x):
    """``log|gamma(x)|`` elementwise (``sympy.loggamma``; numerically C's ``lgamma``).

    For negative non-integers SymPy's ``loggamma`` is complex; numeric backends
    and :func:`~algebrac.expr.evaluate.evaluate` compute ``log|gamma(x)|``.
    """
    return _unary("lgamma", sp.loggamma, x)


def heaviside(x, h0):
    """The step function, ``h0`` at ``x == 0`` (``sympy.Heaviside(x, h0)``, NumPy's order).

    >>> import algebrac as ac
    >>> ac.heaviside(ac.vector("x", 2), 0.5).body
    Heaviside(x[i_0], 0.5)
    """
    return apply("heaviside", sp.Heaviside, (x, h0), FLOAT)


def sigmoid(x):
    """The logistic function ``1/(1 + exp(-x))`` elementwise (``algebrac`` ``sigmoid``).

    >>> import sympy as sp, algebrac as ac
    >>> ac.sigmoid(0), ac.sigmoid(sp.Symbol("x"))
    (1/2, sigmoid(x))
    """
    return _unary("sigmoid", _sigmoid, x)


def softplus(x):
    """``log(1 + exp(x))`` elementwise (``algebrac`` ``softplus``)."""
    return _unary("softplus", _softplus, x)


def relu(x):
    """``max(0, x)`` elementwise (``algebrac`` ``relu``); ints stay ints."""
    return _unary("relu", _relu, x, ARITH)


# ---- comparisons and logic ----------------------------------------------------------------
def equal(a, b):
    """``a == b`` elementwise, a bool tensor (``Tensor.__eq__`` is structural equality).

    >>> import algebrac as ac
    >>> ac.equal(ac.vector("x", 2), 1).body
    Eq(x[i_0], 1)
    """
    return apply("equal", sp.Eq, (a, b), COMPARE)


def not_equal(a, b):
    """``a != b`` elementwise, a bool tensor."""
    return apply("not_equal", sp.Ne, (a, b), COMPARE)


def less(a, b):
    """``a < b`` elementwise, a bool tensor."""
    return apply("less", sp.Lt, (a, b), COMPARE)


def less_equal(a, b):
    """``a <= b`` elementwise, a bool tensor."""
    return apply("less_equal", sp.Le, (a, b), COMPARE)


def greater(a, b):
    """``a > b`` elementwise, a bool tensor."""
    return apply("greater", sp.Gt, (a, b), COMPARE)


def greater_equal(a, b):
    """``a >= b`` elementwise, a bool tensor."""
    return apply("greater_equal", sp.Ge, (a, b), COMPARE)


def _check_logic(name, args):
    for a in args:
        if isinstance(a, Tensor) and a.dtype is not DType.BOOL:
            raise DTypeError(f"{name} takes bool tensors (algebrac has no bitwise ops); "
                             f"got {a.dtype.value}: compare first, e.g. x > 0, "
                             f"or use ac.logical_* functions")


def logical_and(a, b):
    """``a and b`` elementwise (the ``&`` operator on bool tensors).

    >>> import algebrac as ac
    >>> x = ac.vector("x", 2)
    >>> ((x > 0) & (x < 1)).body
    (x[i_0] > 0) & (x[i_0] < 1)
    """
    return apply("logical_and", sp.And, (a, b), LOGIC)


def logical_or(a, b):
    """``a or b`` elementwise (the ``|`` operator on bool tensors)."""
    return apply("logical_or", sp.Or, (a, b), LOGIC)


def logical_xor(a, b):
    """``a xor b`` elementwise (the ``^`` operator on bool tensors)."""
    return apply("logical_xor", sp.Xor, (a, b), LOGIC)


def logical_not(a):
    """``not a`` elementwise (the ``~`` operator on bool tensors)."""
    return apply("logical_not", sp.Not, (a,), LOGIC)


def _logic_operator(fn):
    """``fn`` for the ``& | ^ ~`` operators, which (unlike the functions) need bool tensors."""
    def op(*args):
        _check_logic(f"the operator form of {fn.__name__}", args)
        return fn(*args)
    return op


op_and = _logic_operator(logical_and)
op_or = _logic_operator(logical_or)
op_xor = _logic_operator(logical_xor)
op_not = _logic_operator(logical_not)
