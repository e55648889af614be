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

The math functions (``ac.exp`` ... ``ac.log_erfc``, and ``ac.special``'s) are
made by :func:`table_wrapper` from the rows of :mod:`algebrac.mathfuncs`, one
per row with an ``api``; the arithmetic, comparisons, logic, ``where`` and
``clip`` are written here.  The SymPy function behind each NumPy name:

>>> a, b = sp.symbols("a b")
>>> print(*(type(f(a)).__name__ for f in (
...     ac.exp, ac.log, ac.log1p, ac.expm1, ac.exp2, ac.log2, ac.log10, ac.sin, ac.cos,
...     ac.tan, ac.arcsin, ac.arccos, ac.arctan, ac.sinh, ac.cosh, ac.tanh, ac.arcsinh,
...     ac.arccosh, ac.arctanh, ac.erf, ac.erfc, ac.gamma, ac.lgamma, ac.floor, ac.ceil,
...     ac.sign, ac.abs, ac.sigmoid, ac.softplus, ac.relu)))  # doctest: +NORMALIZE_WHITESPACE
exp log log1p expm1 exp2 log2 log10 sin cos tan asin acos atan sinh cosh tanh asinh acosh
atanh erf erfc gamma loggamma floor ceiling sign Abs sigmoid softplus relu
>>> ac.sqrt(a), ac.cbrt(a), ac.cbrt(-8)
(sqrt(a), Abs(a)**(1/3)*sign(a), -2)
>>> [f(b, a) for f in (ac.arctan2, ac.hypot, ac.mod, ac.power, ac.maximum, ac.minimum,
...                    ac.heaviside)]
[atan2(b, a), hypot(b, a), Mod(b, a), b**a, Max(a, b), Min(a, b), Heaviside(b, a)]
"""
from __future__ import annotations

import inspect
import operator
import re

import sympy as sp

from .. import mathfuncs
from ..dtypes import DType
from ..errors import DTypeError, SignatureError
from .symbols import as_dtype
from .tensor import (Op, Tensor, as_condition, as_number, broadcast_body, broadcast_shapes,
                     merge_constraints, operand)

__all__ = [
    "add", "subtract", "multiply", "divide", "floor_divide", "negative", "power",
    "clip", "where", "astype", "table_wrapper", "WRAPPERS", "SPECIAL_WRAPPERS",
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


# ---- the function table's wrappers: ac.exp, ac.log, ..., ac.special.jv -------------------
def _docstring(row, where: str, params: list) -> str:
    api = row.api
    cython = re.sub(r"\ba(\d)\b", lambda m: params[int(m.group(1))], row.cython)
    how = (f"SciPy's ``{cython}`` (``scipy.special.cython_special``)" if row.cython
           else f"the C helper ``{row.c64}`` (``algebrac/cpu/algebrac_math.h``)"
           if row.c64.startswith("_ac_") else f"C's ``{row.c64}``")
    call = f"{where}{api.name}({', '.join(params)})"
    made = "sp.Symbol" if len(params) == 1 else "sp.symbols"
    return f"""{api.doc}

    Elementwise on Tensors (broadcasting like NumPy); on SymPy scalars and
    numbers the SymPy expression (``{row.sympy.__module__}.{row.sympy.__name__}``).
    Compiled code computes it with {how}.

    >>> import sympy as sp, algebrac as ac
    >>> {", ".join(params)} = {made}("{" ".join(params)}")
    >>> {call}
    {api.value}
    >>> print(ac.latex({call}))
    {api.tex}
    """


def table_wrapper(row: mathfuncs.FuncRow):
    """The user-facing function of a table row with an ``api``: signature, docstring, dtype rule.

    >>> import inspect, sympy as sp
    >>> hypot = table_wrapper(mathfuncs.FUNCTIONS[sp.codegen.cfunctions.hypot])
    >>> hypot.__name__, str(inspect.signature(hypot)), hypot(y=4, x=3)
    ('hypot', '(x, y)', hypot(3, 4))
    """
    api = row.api
    params = api.params.split()
    sig = inspect.Signature([inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                             for p in params])
    make, kind = api.make or row.sympy, ARITH if api.arith else FLOAT
    where = "ac.special." if api.special else "ac."

    def wrapper(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as err:
            raise SignatureError(f"{where}{api.name}{sig} takes {len(params)} "
                                 f"argument{'s' if len(params) > 1 else ''}: {err}") from None
        return apply(api.name, make, bound.args, kind)

    wrapper.__name__ = wrapper.__qualname__ = api.name
    wrapper.__signature__ = sig
    wrapper.__module__ = "algebrac.special" if api.special else "algebrac"   # (pickle, help)
    wrapper.__doc__ = _docstring(row, where, params)
    wrapper.row = row
    return wrapper


# One wrapper per row with an ``api`` (mathfuncs): adding a function is adding a row.
WRAPPERS = {row.api.name: table_wrapper(row) for row in mathfuncs.FUNCTIONS.values()
            if row.api is not None and not row.api.special}
SPECIAL_WRAPPERS = {row.api.name: table_wrapper(row) for row in mathfuncs.FUNCTIONS.values()
                    if row.api is not None and row.api.special}
globals().update(WRAPPERS)
__all__ += list(WRAPPERS)


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
