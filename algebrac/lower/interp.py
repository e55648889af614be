"""The NumPy reference interpreter of the loop IR: the living definition of its meaning.

Every backend is tested against it, and it is tested against mpmath.  A loop
whose iterations are independent (every loop an elementwise kernel has) runs
vectorised: its index becomes ``arange(extent)`` and each statement one NumPy
operation over all iterations.  ``Piecewise`` evaluates each branch only on
the elements that take it, as compiled code does, so an untaken branch never
warns.

>>> import numpy as np, sympy as sp
>>> from algebrac.lower.elementwise import prepare, lower_elementwise
>>> x = sp.Symbol("x")
>>> k = lower_elementwise(prepare([sp.Piecewise((1/x, x > 0), (0, True))], [x]), DType.FLOAT64)
>>> run(k, {"_ac_in0": np.array([-1.0, 0.0, 4.0])})["_ac_out0"]
array([0.  , 0.  , 0.25])
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.core.relational import Relational

from ..dtypes import DType
from ..errors import VerifyError
from ..mathfuncs import row_for
from .ir import Accumulate, Assign, Buffer, Call, Kernel, Let, Loop, Role, pformat

__all__ = ["run", "evaluate_scalar"]


def run(kernel: Kernel, arrays: dict, sizes: dict | None = None) -> dict:
    """Execute ``kernel`` on input ``arrays`` (by buffer name); return the output arrays.

    Sizes are bound from the input shapes when not given.
    """
    env: dict = {}
    bufs: dict = {}
    for p in kernel.params:
        if isinstance(p, Buffer) and p.role is Role.IN:
            if p.name not in arrays:
                raise VerifyError(f"interp: no array for input {p.name}")
            bufs[p.name] = np.asarray(arrays[p.name], dtype=p.dtype.numpy)
            for dim, n in zip(p.shape, bufs[p.name].shape):
                if isinstance(dim, sp.Symbol):
                    env.setdefault(dim, n)
    env.update(sizes or {})
    for p in kernel.params:
        if isinstance(p, Buffer) and p.role is not Role.IN:
            shape = tuple(int(sp.sympify(d).xreplace(env)) for d in p.shape)
            bufs[p.name] = np.empty(shape, dtype=p.dtype.numpy)
    _exec(kernel.body, env, bufs, kernel)
    return {p.name: bufs[p.name] for p in kernel.params
            if isinstance(p, Buffer) and p.role is Role.OUT}


def _exec(stmts, env, bufs, kernel):
    for s in stmts:
        if isinstance(s, Loop):
            if any(isinstance(t, (Accumulate, Call)) for t in s.body):
                raise VerifyError(f"interp: loop {s.index} carries a dependence\n{pformat(kernel)}")
            extent = int(sp.sympify(s.extent).xreplace(env))
            inner = dict(env)
            inner[s.index] = np.arange(extent)
            _exec(s.body, inner, bufs, kernel)
        elif isinstance(s, Let):
            value = evaluate_scalar(s.value, env, bufs, s.dtype)
            env[s.symbol] = value
        elif isinstance(s, Assign):
            target = s.target
            if isinstance(target, sp.Indexed):
                buf = bufs[target.base.name]
                value = evaluate_scalar(s.value, env, bufs, DType.from_numpy(buf.dtype))
                idx = tuple(_index(i, env) for i in target.indices)
                buf[idx] = value
            else:
                env[target] = evaluate_scalar(s.value, env, bufs, None)
        else:
            raise VerifyError(f"interp: no case for {type(s).__name__}")


def _index(expr, env):
    value = env.get(expr) if isinstance(expr, sp.Symbol) else None
    if value is None:
        value = _eval(expr, env, {}, None)
    return value


def evaluate_scalar(expr, env: dict, bufs: dict, dtype: DType | None):
    """Evaluate one SymPy scalar over arrays (``env``: symbol → array or number)."""
    value = _eval(expr, env, bufs, dtype)
    if dtype is not None and dtype is not DType.BOOL:
        value = np.asarray(value, dtype=dtype.numpy)
    return value


def _const(expr):
    if expr is sp.nan:
        return np.nan
    if expr is sp.oo:
        return np.inf
    if expr is sp.S.NegativeInfinity:
        return -np.inf
    return float(expr)


def _pow(base, exp):
    if exp.is_Integer and abs(int(exp)) <= 64:
        n = abs(int(exp))
        if n == 0:
            return np.ones_like(base) if isinstance(base, np.ndarray) else 1.0
        result, square, first = None, base, True
        while n:
            if n & 1:
                result = square if first else result * square
                first = False
            n >>= 1
            if n:
                square = square * square
        return 1.0 / result if exp < 0 else result
    if exp == sp.S.Half:
        return np.sqrt(base)
    if exp == -sp.S.Half:
        return 1.0 / np.sqrt(base)
    return np.power(base, _const(exp))


def _eval(expr, env, bufs, dtype):
    if expr in env:
        return env[expr]
    if isinstance(expr, sp.Indexed):
        return bufs[expr.base.name][tuple(_index(i, env) for i in expr.indices)]
    if isinstance(expr, (sp.Number, sp.NumberSymbol)):
        return _const(expr)
    if expr is sp.true:
        return True
    if expr is sp.false:
        return False
    ev = lambda e: _eval(e, env, bufs, dtype)  # noqa: E731
    if isinstance(expr, sp.Add):
        return _fold(np.add, [ev(a) for a in expr.args])
    if isinstance(expr, sp.Mul):
        # a/b divides, as compiled C does: a*(1/b) rounds twice and overflows for tiny b.
        den = [f for f in expr.args if f.is_Pow and f.exp.is_Rational and f.exp.is_negative]
        num = [ev(f) for f in expr.args if not any(f is d for d in den)] or [1.0]
        if not den:
            return _fold(np.multiply, num)
        return np.divide(_fold(np.multiply, num),
                         _fold(np.multiply, [_pow(ev(d.base), -d.exp) for d in den]))
    if isinstance(expr, sp.Pow):
        if expr.exp.is_number:
            return _pow(ev(expr.base), expr.exp)
        return np.power(ev(expr.base), ev(expr.exp))
    if isinstance(expr, sp.Piecewise):
        return _piecewise(expr, env, bufs, dtype)
    if isinstance(expr, Relational):
        ops = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
               "==": np.equal, "!=": np.not_equal}
        return ops[expr.rel_op](ev(expr.lhs), ev(expr.rhs))
    if isinstance(expr, sp.And):
        return _fold(np.logical_and, [ev(a) for a in expr.args])
    if isinstance(expr, sp.Or):
        return _fold(np.logical_or, [ev(a) for a in expr.args])
    if isinstance(expr, sp.Xor):
        return _fold(np.logical_xor, [ev(a) for a in expr.args])
    if isinstance(expr, sp.Not):
        return np.logical_not(ev(expr.args[0]))
    row = row_for(type(expr))  # functions, and Min/Max (which are not sp.Function)
    if row is not None:
        args = [ev(a) for a in row.full_args(expr.args)]
        if row.nargs == 2 and len(args) > 2:  # n-ary Min/Max
            return _fold(row.numpy, args)
        return row.numpy(*args)
    raise VerifyError(f"interp: cannot evaluate {type(expr).__name__}: {sp.srepr(expr)[:120]}")


def _fold(op, values):
    result = values[0]
    for v in values[1:]:
        result = op(result, v)
    return result


def _length(env):
    for v in env.values():
        if isinstance(v, np.ndarray) and v.ndim == 1:
            return v.shape[0]
    return None


def _piecewise(expr, env, bufs, dtype):
    n = _length(env)
    if n is None:  # scalar context: plain Python branching
        for e, c in expr.args:
            if bool(_eval(c, env, bufs, dtype)):
                return _eval(e, env, bufs, dtype)
        return np.nan
    out = np.full(n, np.nan, dtype=(dtype or DType.FLOAT64).numpy)
    todo = np.arange(n)
    for e, c in expr.args:
        if todo.size == 0:
            break
        sub = _restrict(env, todo, n)
        taken = np.broadcast_to(np.asarray(_eval(c, sub, bufs, dtype), dtype=bool), todo.shape)
        chosen = todo[taken]
        if chosen.size:
            out[chosen] = _eval(e, _restrict(env, chosen, n), bufs, dtype)
        todo = todo[~taken]
    return out


def _restrict(env, rows, n):
    return {k: (v[rows] if isinstance(v, np.ndarray) and v.ndim == 1 and v.shape[0] == n else v)
            for k, v in env.items()}
