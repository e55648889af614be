"""``evaluate``: the pure-NumPy reference evaluator of tensor formulas.

The oracle compiled code is tested against, so deliberately simple: no loop
IR, no compiler, no rewriting.  The body is interpreted at a flat list of
points, one per output element: a free index is a 1-d array of its values
(``np.indices``), ``X[i, k]`` gathers, ``Sum(f, (k, a, b))`` repeats each
point once per ``k`` and adds the groups back up, and a ``Piecewise``
evaluates each branch only where it is taken (no out-of-bounds reads or
warnings).  Floats compute in float64, cast to the tensor's dtype at the end;
sizes are bound from the arrays and checked (``ShapeError`` names the input).
"""
from __future__ import annotations

import functools
import math
from dataclasses import replace as dc_replace

import numpy as np
import sympy as sp
from sympy.core.relational import (Equality, GreaterThan, LessThan, StrictGreaterThan,
                                   StrictLessThan, Unequality)

from ..errors import DTypeError, ShapeError, SignatureError, UnsupportedError, VerifyError
from ..mathfuncs import REWRITES, resolve_names, row_for, unsupported_reason
from .functions import LogSumExp, ReduceMax, ReduceMin
from .symbols import InputLabel
from .tensor import Tensor, _fmt

__all__ = ["evaluate"]


def _float(v):
    v = np.asarray(v)
    return v if v.dtype.kind == "f" else v.astype(np.float64)


def _table(row):
    """A table row's NumPy function, on float arrays where the row is a SciPy function."""
    if not row.cython:
        return row.numpy
    return lambda *args: row.numpy(*map(_float, args))


# Heads with a tensor meaning only (no compiled C): evaluated here, not in the table.
_LOCAL = {sp.KroneckerDelta: lambda a, b: np.equal(a, b).astype(np.int64)}
_RELATIONS = {Equality: np.equal, Unequality: np.not_equal, StrictLessThan: np.less,
              LessThan: np.less_equal, StrictGreaterThan: np.greater,
              GreaterThan: np.greater_equal}
_LOGIC = {sp.And: np.logical_and, sp.Or: np.logical_or, sp.Xor: np.logical_xor}
_REDUCE = {sp.Sum: np.add, sp.Product: np.multiply, ReduceMax: np.maximum,
           ReduceMin: np.minimum}


class _Env:
    """Symbol values at ``size`` points: per-point 1-d arrays, or scalars shared by all."""

    def __init__(self, values: dict, size: int):
        self.values, self.size = values, size

    def take(self, idx) -> _Env:
        return _Env({s: v[idx] if np.ndim(v) == 1 else v for s, v in self.values.items()},
                    len(idx))


class _Interpreter:
    def __init__(self, arrays: dict):
        self.arrays = arrays   # InputLabel -> ndarray

    def ev(self, e, env: _Env):
        if e.is_Number or isinstance(e, sp.NumberSymbol):
            return self.number(e)
        if isinstance(e, (sp.logic.boolalg.BooleanTrue, sp.logic.boolalg.BooleanFalse)):
            return np.bool_(bool(e))
        if isinstance(e, sp.Symbol):
            if e not in env.values:
                raise VerifyError(f"evaluate: no value for symbol {e!r}")
            return env.values[e]
        if isinstance(e, sp.Indexed):
            return self.indexed(e, env)
        if e.is_Add:
            shifted = self.minus_logsumexp(e, env)
            if shifted is not None:
                return shifted
            return functools.reduce(np.add, (self.ev(a, env) for a in e.args))
        if e.is_Mul:
            return self.mul(e, env)
        if e.is_Pow:
            return self.pow(e, env)
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e, env)
        if type(e) in _REDUCE:
            return self.reduce(e, env)
        if isinstance(e, LogSumExp):
            return self.logsumexp(e, env)
        if type(e) in _RELATIONS:
            return _RELATIONS[type(e)](self.ev(e.lhs, env), self.ev(e.rhs, env))
        if type(e) in _LOGIC:
            return functools.reduce(_LOGIC[type(e)], (self.ev(a, env) for a in e.args))
        if isinstance(e, sp.Not):
            return np.logical_not(self.ev(e.args[0], env))
        if isinstance(e, (sp.Max, sp.Min)):
            fn = np.maximum if isinstance(e, sp.Max) else np.minimum
            return functools.reduce(fn, (self.ev(a, env) for a in e.args))
        row = row_for(type(e))
        if row is not None and row.check is not None and row.check(e) is not None:
            raise UnsupportedError(f"evaluate: {e}: {row.check(e)}")
        if row is not None:
            args = [self.ev(sp.sympify(a), env) for a in row.full_args(e.args)]
            return _table(row)(*args)
        if type(e) in REWRITES and unsupported_reason(e) is None:
            return self.ev(REWRITES[type(e)](*e.args), env)
        if type(e) in _LOCAL:
            return _LOCAL[type(e)](*(self.ev(a, env) for a in e.args))
        raise UnsupportedError(f"evaluate: no NumPy meaning for {type(e).__name__} "
                               f"({sp.srepr(e)[:80]})")

    @staticmethod
    def number(e):
        if e is sp.S.NaN:
            return np.float64(np.nan)
        if e is sp.S.Infinity or e is sp.S.NegativeInfinity:
            return np.float64(np.inf if e is sp.S.Infinity else -np.inf)
        if e.is_Integer:
            return np.int64(int(e)) if abs(int(e)) < 2**62 else np.float64(int(e))
        if e.is_Rational:
            return np.float64(e.p) / np.float64(e.q)
        if e is sp.zoo or not e.is_real:
            raise UnsupportedError(f"evaluate: the formula contains {e} (complex or a "
                                   "division by an exact zero)")
        return np.float64(float(e))

    def indexed(self, e, env):
        label = e.base.label
        if label not in self.arrays:
            raise UnsupportedError(f"evaluate: {e.base} is not an input tensor")
        arr = self.arrays[label]
        idx = []
        for axis, ix in enumerate(e.indices):
            v = np.asarray(self.ev(ix, env))
            if v.dtype.kind != "i":
                iv = v.astype(np.int64)
                if not np.array_equal(iv, v):
                    raise VerifyError(f"evaluate: non-integer index {ix} into {label}")
                v = iv
            bad = (v < 0) | (v >= arr.shape[axis])
            if np.any(bad):
                raise ShapeError(
                    f"{label.name}: the formula reads index {v[bad].flat[0]} (from {ix}) on "
                    f"axis {axis}, out of bounds for size {arr.shape[axis]}")
            idx.append(v)
        return arr[tuple(idx)]

    def mul(self, e, env):
        # x/y is one true division, as NumPy computes it (also exact floor(i/m) indices).
        num, den = [], []
        for f in e.args:
            if f.is_Pow and f.exp.is_Integer and f.exp < 0:
                den.append(np.power(self.ev(f.base, env), -int(f.exp)))
            elif f.is_Rational and not f.is_Integer:
                num.append(np.int64(f.p))
                den.append(np.int64(f.q))
            else:
                num.append(self.ev(f, env))
        value = functools.reduce(np.multiply, num) if num else np.int64(1)
        return np.true_divide(value, functools.reduce(np.multiply, den)) if den else value

    def pow(self, e, env):
        base = self.ev(e.base, env)
        if e.exp == sp.S.Half:
            return np.sqrt(_float(base))
        if e.exp.is_Integer:
            k = int(e.exp)
            return np.power(base, k) if k >= 0 else np.true_divide(1.0, np.power(base, -k))
        return np.power(_float(base), _float(self.ev(e.exp, env)))

    def piecewise(self, e, env):
        rest = np.arange(env.size)
        parts = []
        for expr, cond in e.args:
            if rest.size == 0:
                break
            sub = env.take(rest)
            mask = np.broadcast_to(np.asarray(self.ev(cond, sub), dtype=bool), (rest.size,))
            taken = rest[mask]
            if taken.size:
                parts.append((taken, self.ev(expr, env.take(taken))))
            rest = rest[~mask]
        if not parts:
            return np.full(env.size, np.nan)
        if rest.size:   # no branch applies (Piecewise without a True branch): NaN there
            out = np.full(env.size, np.nan,
                          dtype=np.result_type(*(v for _, v in parts), np.float64))
        else:
            out = np.empty(env.size, dtype=np.result_type(*(v for _, v in parts)))
        for taken, value in parts:
            out[taken] = value
        return out

    def reduce(self, e, env):
        ufunc = _REDUCE[type(e)]
        return self._reduce(ufunc, e.function, list(e.limits), env, type(e).__name__)

    def logsumexp(self, e, env):
        shift, log_sum = self.logsumexp_parts(e, env)
        return shift + log_sum

    def minus_logsumexp(self, e, env):
        """``a - LogSumExp(f)`` (log-softmax) as ``(a - m) - log(sum(exp(f - m)))``.

        With ``m`` the maximum of ``f``, ``a - m`` is exact where ``a`` is near
        ``m``; subtracting the rounded ``m + log(...)`` would cost ``ulp(m)``.
        """
        for term in e.args:
            k, node = term.as_coeff_Mul()
            if k == -1 and isinstance(node, LogSumExp):
                shift, log_sum = self.logsumexp_parts(node, env)
                return (self.ev(e - term, env) - shift) - log_sum
        return None

    def logsumexp_parts(self, e, env):
        """``(m, log(sum(exp(f - m))))`` with ``m`` the maximum (0 where it is infinite)."""
        limits = list(e.limits)
        m = np.asarray(self._reduce(np.maximum, e.function, limits, env, "LogSumExp"),
                       dtype=np.float64)
        shift = np.where(np.isfinite(m), m, 0.0)
        mark = sp.Dummy("m")
        inner = _Env({**env.values, mark: np.broadcast_to(shift, (env.size,))}, env.size)
        total = self._reduce(np.add, sp.exp(e.function - mark), limits, inner, "LogSumExp")
        with np.errstate(divide="ignore"):   # log(0) = -inf: every term is -inf
            return shift, np.log(total)

    def _reduce(self, ufunc, f, limits, env, what):
        """``ufunc`` over the last (outermost) limit, the inner ones recursively."""
        if not limits:
            return self.ev(f, env)
        var, lo, hi = limits[-1]
        start = self.ev(lo, env)
        counts = np.maximum(np.asarray(self.ev(hi, env)) - start + 1, 0).astype(np.int64)
        p = env.size
        per_point = np.broadcast_to(counts, (p,))
        if ufunc in (np.maximum, np.minimum) and np.any(per_point == 0):
            raise ShapeError(f"{what}: zero-size array to reduction operation "
                             f"{ufunc.__name__} which has no identity")
        owner = np.repeat(np.arange(p), per_point)
        total = owner.size
        first = np.cumsum(per_point) - per_point
        offsets = np.arange(total) - np.repeat(first, per_point)
        values = {s: v[owner] if np.ndim(v) == 1 else v for s, v in env.values.items()}
        values[var] = np.repeat(np.broadcast_to(start, (p,)), per_point) + offsets
        inner = self._reduce(ufunc, f, limits[:-1], _Env(values, total), what)
        vals = np.broadcast_to(np.asarray(inner), (total,))
        if vals.dtype == bool:
            vals = vals.astype(np.int64)
        if np.ndim(counts) == 0:
            # The common case, one length for all points: NumPy's own (pairwise) reduction.
            return ufunc.reduce(vals.reshape(p, int(counts)), axis=1)
        identity = 0 if ufunc is np.add else 1
        if total == 0:
            return np.full(p, identity, dtype=vals.dtype)
        out = ufunc.reduceat(vals, np.minimum(first, total - 1))
        out[per_point == 0] = identity
        return out


# ---- bindings ------------------------------------------------------------------------------
class _Bindings:
    def __init__(self, mapping: dict):
        self.labels, self.symbols, self.names = {}, {}, {}
        self.tensors = []   # input tensors given as keys: their shapes can bind sizes
        for key, value in mapping.items():
            if isinstance(key, Tensor):
                if not key.is_input:
                    raise SignatureError(f"evaluate: binding keys must be input tensors, "
                                         f"symbols or names; {key} is computed")
                self.labels[key.label] = value
                self.tensors.append(key)
            elif isinstance(key, InputLabel):
                self.labels[key] = value
            elif isinstance(key, sp.Symbol):
                self.symbols[key] = value
            elif isinstance(key, str):
                self.names[key] = value
            else:
                raise SignatureError(f"evaluate: cannot bind {key!r}; keys are input "
                                     "tensors, SymPy symbols or their names")

    def input(self, t: Tensor):
        if t.label in self.labels:
            return self.labels[t.label]
        return self.names.get(t.name)

    def symbol(self, s: sp.Symbol):
        if isinstance(s, InputLabel) and s in self.labels:
            return self.labels[s]
        if s in self.symbols:
            return self.symbols[s]
        return self.names.get(s.name)


def _as_array(value, t: Tensor) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise DTypeError(f"{t.name}: expected a numeric array, got dtype {arr.dtype}")
    if not np.can_cast(arr.dtype, t.dtype.numpy, "same_kind"):
        raise DTypeError(f"{t.name}: expected {t.dtype.value} values, got {arr.dtype}; "
                         "convert the array explicitly")
    compute = np.float64 if t.dtype.is_float else t.dtype.numpy
    return arr.astype(compute, copy=False)


def _scalar(value, what: str):
    v = np.asarray(value)
    if v.ndim:
        raise ShapeError(f"{what}: a scalar needs a single value, got an array of shape "
                         f"{v.shape}")
    if v.dtype.kind not in "biuf":
        raise DTypeError(f"{what}: expected a real number, got {v.dtype}")
    return v[()]


def _bind_dims(inputs, arrays, dims, source):
    """Bind sizes from array shapes (solving ``n + 1 = 5`` style sizes), then check them all."""
    changed = True
    while changed:
        changed = False
        for t in inputs:
            for d, actual in zip(t.shape, arrays[t.label].shape):
                free = [s for s in d.free_symbols if s not in dims]
                if len(free) != 1:
                    continue
                (s,) = free
                if d == s:
                    sols = [sp.Integer(actual)]
                else:
                    sols = [v for v in sp.solve(sp.Eq(d.xreplace(dims), actual), s)
                            if v.is_Integer and v >= 0]
                if len(sols) == 1:
                    dims[s], source[s] = sp.Integer(sols[0]), t.name
                    changed = True
    for t in inputs:
        actual = arrays[t.label].shape
        unbound = sorted({s for d in t.shape for s in d.free_symbols if s not in dims}, key=str)
        if unbound:
            raise SignatureError(f"{t.name}: cannot bind size {unbound[0]} from its shape "
                                 f"{_fmt(t.shape)}; pass {unbound[0]}=... in bindings")
        expected = tuple(int(d.xreplace(dims)) for d in t.shape)
        if expected != actual:
            used = sorted({s for d in t.shape for s in d.free_symbols}, key=str)
            detail = ", ".join(f"{s}={dims[s]} (bound by {source[s]})" for s in used)
            raise ShapeError(f"{t.name}: expected shape {_fmt(t.shape)}"
                             + (f" with {detail}" if detail else "") + f", got {_fmt(actual)}")


def _evaluate_tensor(t: Tensor, b: _Bindings):
    inputs = t.inputs
    seen = {}
    for inp in inputs:
        if inp.label in seen:
            raise SignatureError(f"evaluate: the formula reads two different inputs named "
                                 f"{inp.name}, of shapes {_fmt(seen[inp.label].shape)} and "
                                 f"{_fmt(inp.shape)}")
        seen[inp.label] = inp
    dims, source = {}, {}
    for s in t.dims:
        v = b.symbol(s)
        if v is not None:
            dims[s], source[s] = sp.Integer(int(_scalar(v, str(s)))), "bindings"
    arrays = {}
    for inp in inputs:
        v = b.input(inp)
        if v is None:
            raise SignatureError(f"evaluate: no value for input {inp.name} of shape "
                                 f"{_fmt(inp.shape)}; pass it in bindings")
        arr = _as_array(v, inp)
        if arr.ndim != inp.ndim:
            raise ShapeError(f"{inp.name}: expected a {inp.ndim}-d array of shape "
                             f"{_fmt(inp.shape)}, got shape {_fmt(arr.shape)}")
        arrays[inp.label] = arr
    # NOTE: an input the body no longer reads (x - x is 0) still binds sizes if given.
    extra = [x for x in b.tensors if x.label not in seen]
    for x in extra:
        arrays[x.label] = _as_array(b.labels[x.label], x)
        if arrays[x.label].ndim != x.ndim:
            raise ShapeError(f"{x.name}: expected a {x.ndim}-d array of shape "
                             f"{_fmt(x.shape)}, got shape {_fmt(arrays[x.label].shape)}")
    _bind_dims(list(inputs) + extra, arrays, dims, source)
    for s in t.dims:
        if s not in dims:
            raise SignatureError(f"evaluate: size {s} is not bound by any input array; "
                                 f"pass {s}=... in bindings")
    for c in t.constraints:
        lv, rv = int(c.lhs.xreplace(dims)), int(c.rhs.xreplace(dims))
        if lv != rv:
            raise ShapeError(f"{c.why}: {c.lhs}={lv} but {c.rhs}={rv}; they must be equal")
    shape = tuple(int(d.xreplace(dims)) for d in t.shape)
    values = {s: np.int64(int(v)) for s, v in dims.items()}
    for s in t.parameters:
        v = b.symbol(s)
        if v is None:
            raise SignatureError(f"evaluate: no value for the scalar parameter {s}; pass it "
                                 "in bindings")
        values[s] = _scalar(v, str(s))
    for inp in inputs:
        if inp.ndim == 0:
            values[inp.label] = arrays[inp.label][()]
    size = math.prod(shape)
    if shape:
        for a, grid in enumerate(np.indices(shape).reshape(len(shape), -1)):
            values[t.indices[a]] = grid
    if size == 0:   # nothing to compute (and index expressions may point nowhere)
        return np.empty(shape, dtype=t.dtype.numpy)
    out = _Interpreter(arrays).ev(t.body, _Env(values, size))
    out = np.broadcast_to(np.asarray(out), (size,)).reshape(shape)
    return out.astype(t.dtype.numpy)[()] if not shape else out.astype(t.dtype.numpy)


def _evaluate_expr(e: sp.Basic, b: _Bindings):
    if e.has(sp.Indexed):
        raise UnsupportedError("evaluate: a plain SymPy expression cannot read tensor "
                               "elements; evaluate the Tensor instead")
    symbols = sorted((s for s in e.free_symbols if isinstance(s, sp.Symbol)), key=str)
    raw = []
    for s in symbols:
        v = b.symbol(s)
        if v is None:
            raise SignatureError(f"evaluate: no value for {s}; pass it in bindings")
        raw.append(np.asarray(v))
    arrays = np.broadcast_arrays(*raw) if raw else []
    shape = arrays[0].shape if arrays else ()
    size = math.prod(shape)
    values = {s: (a.reshape(-1) if shape else a[()]) for s, a in zip(symbols, arrays)}
    out = _Interpreter({}).ev(e, _Env(values, size))
    out = np.broadcast_to(np.asarray(out), (size,) if shape else np.shape(out))
    return out.reshape(shape) if shape else out[()]


def evaluate(expr, bindings: dict | None = None, *, stabilize: bool = True, **named):
    """Evaluate a Tensor (or SymPy expression, or a list of them) with NumPy.

    ``stabilize`` (the default, as in :func:`algebrac.function`) first rewrites the
    formula into numerically stable forms (:func:`algebrac.stabilize`), so
    ``log(1 + exp(z))`` is finite at ``z = 800``; ``stabilize=False`` evaluates it
    as written.

    ``bindings`` maps input tensors, SymPy symbols (scalar parameters, dims) or
    their names to values; keyword arguments bind by name.  Sizes are bound from
    the input arrays and checked.  A 0-d result is a NumPy scalar.  A plain SymPy
    expression is evaluated elementwise over array-valued symbols (broadcasting).

    >>> import numpy as np, sympy as sp, algebrac as ac
    >>> n, m = ac.dim("n"), ac.dim("m")
    >>> X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
    >>> Xv, wv = np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0])
    >>> ac.evaluate(X @ w, {X: Xv, w: wv})
    array([-1., -1., -1.])
    >>> ac.evaluate(X @ w, {X: Xv, w: np.ones(3)})
    Traceback (most recent call last):
    ...
    algebrac.errors.ShapeError: w: expected shape (m,) with m=2 (bound by X), got (3,)
    >>> a = sp.Symbol("a")
    >>> float(ac.evaluate(a * ac.sum(w), {w: wv, a: 2.0}))
    0.0
    """
    b = _Bindings({**(bindings or {}), **named})
    if isinstance(expr, (list, tuple)):
        return type(expr)(evaluate(e, bindings, stabilize=stabilize, **named) for e in expr)
    if isinstance(expr, Tensor):
        if stabilize:
            from ..simplify import stabilize as stable

            expr = dc_replace(expr, body=stable(expr.body))
        return _evaluate_tensor(expr, b)
    try:
        e = resolve_names(sp.sympify(expr, strict=True))
    except sp.SympifyError as err:
        raise UnsupportedError(f"evaluate: cannot evaluate {expr!r}") from err
    if stabilize:
        from ..simplify import stabilize as stable

        e = stable(e)
    return _evaluate_expr(e, b)
