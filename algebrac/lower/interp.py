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

import functools

import numpy as np
import sympy as sp
from sympy.core.relational import Relational

from ..dtypes import DType
from ..errors import VerifyError
from ..mathfuncs import row_for
from .ir import Accumulate, Assign, Buffer, Call, Kernel, Let, Loop, ReduceOp, Role, pformat

__all__ = ["run", "evaluate_scalar"]


def run(kernel: Kernel, arrays: dict, sizes: dict | None = None) -> dict:
    """Execute ``kernel`` on input ``arrays`` (by buffer name); return the output arrays.

    Sizes are bound from the input shapes when not given.  A nest of depth d runs each
    statement once over a d-dimensional grid of iterations: the IR's iterations interact
    only through ``Accumulate`` (commutative reductions).
    """
    env: dict = {}
    bufs: dict = {}
    for p in kernel.params:
        if isinstance(p, Buffer) and p.role is Role.IN:
            if p.name not in arrays:
                raise VerifyError(f"interp: no array for input {p.name}")
            bufs[p.name] = np.asarray(arrays[p.name], dtype=p.dtype.numpy)
            if not p.shape:
                bufs[p.name] = bufs[p.name].reshape(1)
            for dim, n in zip(p.shape, bufs[p.name].shape):
                if isinstance(dim, sp.Symbol):
                    env.setdefault(dim, n)
    env.update(sizes or {})
    for p in kernel.params:
        if isinstance(p, Buffer) and p.role is not Role.IN:
            shape = tuple(max(0, int(sp.sympify(d).xreplace(env))) for d in p.shape) or (1,)
            bufs[p.name] = np.empty(shape, dtype=p.dtype.numpy)
    state = _State(kernel, bufs, _depth(kernel.body))
    state.exec(kernel.body, env, 0, ())

    return {p.name: (bufs[p.name] if p.shape else bufs[p.name].reshape(()))
            for p in kernel.params if isinstance(p, Buffer) and p.role is Role.OUT}


def _sizes(env) -> dict:
    return {k: v for k, v in env.items() if isinstance(k, sp.Symbol) and isinstance(v, int)}


def _depth(stmts) -> int:
    return max([1 + _depth(s.body) for s in stmts if isinstance(s, Loop)], default=0)


_FOLDS = ((sp.Add, np.add), (sp.And, np.logical_and), (sp.Or, np.logical_or),
          (sp.Xor, np.logical_xor))
_REDUCE = {ReduceOp.ADD: np.add, ReduceOp.MUL: np.multiply, ReduceOp.MAX: np.maximum,
           ReduceOp.MIN: np.minimum}


class _State:
    def __init__(self, kernel, bufs, maxd):
        self.kernel, self.bufs, self.maxd = kernel, bufs, max(maxd, 1)
        self.scalar_depth: dict = {}

    def shape(self, extents) -> tuple:
        return tuple(extents) + (1,) * (self.maxd - len(extents))

    def exec(self, stmts, env, depth, extents):
        # One env for the whole run: every symbol of a kernel is bound once (unique
        # loop indices and temporaries), so scalars accumulate in place.
        saved = env.get("__shape__")
        env["__shape__"] = self.shape(extents)
        for s in stmts:
            if isinstance(s, Loop) and any(isinstance(t, Call) for t in s.body):
                for env[s.index] in range(int(sp.sympify(s.extent).xreplace(_sizes(env)))):
                    self.exec(s.body, env, depth, extents)   # blocks of rows, in order
            elif isinstance(s, Loop):
                extent = max(0, int(sp.sympify(s.extent).xreplace(_sizes(env))))
                shape = [1] * self.maxd
                shape[depth] = extent
                before = set(env)
                env[s.index] = np.arange(extent).reshape(shape)
                self.exec(s.body, env, depth + 1, extents + (extent,))
                for key in set(env) - before:   # values private to the loop's iterations
                    del env[key]
            elif isinstance(s, Let):
                env[s.symbol] = evaluate_scalar(s.value, env, self.bufs, s.dtype)
            elif isinstance(s, Assign) and not isinstance(s.target, sp.Indexed):
                env[s.target] = evaluate_scalar(s.value, env, self.bufs, None)
                self.scalar_depth[s.target] = depth
            elif isinstance(s, Assign):
                buf, idx = self.target(s.target, env)
                value = evaluate_scalar(s.value, env, self.bufs, DType.from_numpy(buf.dtype))
                full = np.broadcast_arrays(*idx, value)
                buf[tuple(full[:-1])] = full[-1]
            elif isinstance(s, Accumulate):
                self.accumulate(s, env, depth, extents)
            elif isinstance(s, Call):
                self.call(s, env)
            else:
                raise VerifyError(f"interp: no case for {type(s).__name__}")
        env["__shape__"] = saved

    def target(self, t, env):
        buf = self.bufs[t.base.name]
        idx = [np.asarray(_index(i, env)) for i in t.indices]
        for axis, i in enumerate(idx):
            if i.size and (i.min() < 0 or i.max() >= buf.shape[axis]):
                raise VerifyError(f"interp: index {t.indices[axis]} of {t} out of range\n"
                                  f"{pformat(self.kernel)}")
        return buf, idx

    def accumulate(self, s, env, depth, extents):
        op = _REDUCE[s.op]
        full_shape = self.shape(extents)
        if isinstance(s.target, sp.Indexed):
            buf, idx = self.target(s.target, env)
            value = evaluate_scalar(s.value, env, self.bufs, DType.from_numpy(buf.dtype))
            idx = [np.broadcast_to(i, full_shape) for i in idx]
            op.at(buf, tuple(idx), np.broadcast_to(value, full_shape))
            return
        sym = s.target
        d0 = self.scalar_depth.get(sym, 0)
        value = np.broadcast_to(np.asarray(evaluate_scalar(s.value, env, self.bufs, None)),
                                full_shape)
        if depth > d0:
            value = op.reduce(value, axis=tuple(range(d0, depth)), keepdims=True)
        env[sym] = op(env[sym], value)

    def call(self, s, env):
        (g,) = s.args
        r0, size = (int(sp.sympify(e).xreplace(_sizes(env)))
                    for e in (g.row0, g.k if "b" in g.sliced else g.m))
        a, b, c = (self.bufs[x.name][r0:r0 + size] if t in g.sliced else self.bufs[x.name]
                   for t, x in zip("abc", (g.a, g.b, g.c)))
        a = a.T if g.trans_a else a
        b = b.T if g.trans_b else b
        alpha = float(evaluate_scalar(g.alpha, env, self.bufs, None))
        c[...] = alpha * (a @ b) + (c if "b" in g.sliced else 0)   # "ab": blocks add up


def _index(expr, env):
    value = env.get(expr) if isinstance(expr, sp.Symbol) else None
    if value is None:
        if expr.is_Integer:
            return int(expr)
        value = np.asarray(_eval(expr, env, {}, None))
        if value.dtype.kind != "i":  # index arithmetic is exact in float64 at these sizes
            value = value.astype(np.int64)
    return value


def evaluate_scalar(expr, env: dict, bufs: dict, dtype: DType | None):
    """Evaluate one SymPy scalar over arrays (``env``: symbol → array or number)."""
    value = _eval(expr, env, bufs, dtype)
    if dtype is not None and dtype is not DType.BOOL:
        value = np.asarray(value, dtype=dtype.numpy)
    return value


def _pow(base, exp):
    if exp.is_Integer and abs(int(exp)) <= 64:
        n = abs(int(exp))
        if n == 0:
            return np.ones_like(base) if isinstance(base, np.ndarray) else 1.0
        if exp < 0:  # (1/b)**n, as the C printer: nothing overflows before the result
            base = 1.0 / base
        result, square = None, base
        while n:
            if n & 1:
                result = square if result is None else result * square
            n >>= 1
            if n:
                square = square * square
        return result
    if exp == sp.S.Half:
        return np.sqrt(base)
    if exp == -sp.S.Half:
        return 1.0 / np.sqrt(base)
    return np.power(base, float(exp))


def _eval(expr, env, bufs, dtype):
    if expr in env:
        return env[expr]
    if isinstance(expr, sp.Indexed):
        return bufs[expr.base.name][tuple(_index(i, env) for i in expr.indices)]
    if isinstance(expr, (sp.Number, sp.NumberSymbol)):
        return float(expr)
    if expr is sp.true:
        return True
    if expr is sp.false:
        return False
    ev = lambda e: _eval(e, env, bufs, dtype)  # noqa: E731
    for cls, op in _FOLDS:
        if isinstance(expr, cls):
            return functools.reduce(op, [ev(a) for a in expr.args])
    if isinstance(expr, sp.Mul):
        # a/b divides, as compiled C does: a*(1/b) rounds twice and overflows for tiny b;
        # a*b**-n divides n times, as the C printer does (b**n may overflow first).
        den = [f for f in expr.args if f.is_Pow and f.exp.is_Rational and f.exp.is_negative]
        num = [ev(f) for f in expr.args if not any(f is d for d in den)] or [1.0]
        value = functools.reduce(np.multiply, num)
        for d in den:
            base, n = ev(d.base), -d.exp
            if n.is_Integer and n <= 16:
                for _ in range(int(n)):
                    value = np.divide(value, base)
            else:
                value = np.divide(value, _pow(base, n))
        return value
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
    if isinstance(expr, sp.Not):
        return np.logical_not(ev(expr.args[0]))
    if isinstance(expr, sp.ITE):  # SymPy builds these in Piecewise conditions
        return np.where(ev(expr.args[0]), ev(expr.args[1]), ev(expr.args[2]))
    row = row_for(type(expr))  # functions, and Min/Max (which are not sp.Function)
    if row is not None:
        args = [ev(a) for a in row.full_args(expr.args)]
        if row.nargs == 2 and len(args) > 2:  # n-ary Min/Max
            return functools.reduce(row.numpy, args)
        return row.numpy(*args)
    raise VerifyError(f"interp: cannot evaluate {type(expr).__name__}: {sp.srepr(expr)[:120]}")


def _piecewise(expr, env, bufs, dtype):
    shape = env.get("__shape__")
    if shape is not None:
        # Inside the kernel: evaluate over the flattened grid of current iterations.
        flat = {k: (np.broadcast_to(v, shape).ravel() if isinstance(v, np.ndarray)
                    and v.ndim == len(shape) else v)
                for k, v in env.items() if k != "__shape__"}
        return _piecewise(expr, flat, bufs, dtype).reshape(shape)
    n = next((v.shape[0] for v in env.values() if isinstance(v, np.ndarray) and v.ndim == 1),
             None)
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
            for k, v in env.items() if k != "__shape__"}
