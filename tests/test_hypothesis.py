"""Property-based differential tests: random formulas and random arrays.

``test_random_formulas``: each example draws 20 random expression trees over
x, y (+, -, *, safe division, small integer powers, sin, cos, tanh, atan, Abs,
exp of bounded arguments, Piecewise with And/Or/Not conditions) and compiles
them as ONE multi-output ufunc, so an example costs one compile.  The cpu
backend, the numpy backend and ``sympy.lambdify`` must agree within a
*running error bound*: a float64 pass over the tree that propagates, node by
node, the rounding error each operation may add (1/2 ULP for arithmetic, 4 ULP
for a libmvec function) and the amplification by the node's derivative.  So
cancellation (x*y - y*x + 1e-9...) does not make the test flaky, while a wrong
result (a misprinted operator, a wrong branch) is caught.

``test_random_arrays``: random shapes, layouts and special values through one
fixed compiled formula set, compared with ``assert_values_match``.
"""
from __future__ import annotations

import functools
import os

import numpy as np
import sympy as sp
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import algebrac as ac
from algebrac.testing import DEFAULT_RTOL, assert_values_match, lambdify_reference

# Real symbols: for complex ones SymPy rewrites Abs(exp(z)) as exp(re(z)), and re/im
# are not compiled (algebrac's formulas are real-valued anyway).
x, y = sp.symbols("x y", real=True)
R = sp.Rational
TREES_PER_EXAMPLE = 20

# Condition thresholds are dyadic, so they are exact in float32 and float64 alike
# and every backend takes the same branch.
_THRESHOLDS = [sp.Integer(0), R(1, 2), R(-1, 2), sp.Integer(1), R(-3, 2)]


def _conditions():
    atom = st.builds(lambda s, op, c: op(s, c), st.sampled_from([x, y]),
                     st.sampled_from([sp.Gt, sp.Lt, sp.Ge, sp.Le]), st.sampled_from(_THRESHOLDS))
    return st.recursive(atom, lambda c: st.one_of(
        st.builds(sp.And, c, c), st.builds(sp.Or, c, c), st.builds(sp.Not, c)), max_leaves=3)


_UNARY = [sp.sin, sp.cos, sp.tanh, sp.atan, sp.Abs,
          lambda t: sp.exp(-sp.Abs(t)), lambda t: sp.exp(sp.sin(t)),
          lambda t: t**2, lambda t: t**3, lambda t: 1 / (1 + t**2), lambda t: (1 + t**2)**-2,
          lambda t: -t]
_BINARY = [sp.Add, lambda a, b: a - b, sp.Mul, lambda a, b: a / (1 + b**2),
           lambda a, b: a / (2 + sp.cos(b))]


def _trees():
    leaves = st.one_of(st.sampled_from([x, y]), st.integers(-3, 3).map(sp.Integer),
                       st.sampled_from([R(1, 2), R(-3, 4), R(1, 3), sp.pi, sp.Float(0.1)]))

    def extend(children):
        return st.one_of(
            st.builds(lambda f, a: f(a), st.sampled_from(_UNARY), children),
            st.builds(lambda f, a, b: f(a, b), st.sampled_from(_BINARY), children, children),
            st.builds(lambda a, b, c: sp.Piecewise((a, c), (b, True)), children, children,
                      _conditions()),
        )

    return st.recursive(leaves, extend, max_leaves=8).filter(
        lambda e: not e.has(sp.zoo, sp.nan, sp.oo, -sp.oo))


# -- the running error bound -------------------------------------------------------------

_FUNC_ULPS = 4  # libmvec's documented bound; NumPy's own functions are within it


def _bound(expr, env, u):
    """(value, error bound) of ``expr`` over float64 arrays; ``u`` is the unit roundoff."""
    if expr in env:
        return env[expr], np.zeros_like(env[expr])
    if expr.is_Number or isinstance(expr, sp.NumberSymbol):
        v = float(expr)
        # lambdify prints a Float with its 15 significant digits, not the exact double.
        rel = 0.0 if expr.is_Integer else max(u, 1e-15) if expr.is_Float else u
        return np.float64(v), np.float64(rel * abs(v))
    if isinstance(expr, sp.Piecewise):
        value, err = np.float64(np.nan), np.float64(0.0)
        for e, c in reversed(expr.args):
            ve, ee = _bound(e, env, u)
            if c == sp.true:
                value, err = ve, ee
            else:
                taken = _condition(c, env)
                value, err = np.where(taken, ve, value), np.where(taken, ee, err)
        return value, err
    parts = [_bound(a, env, u) for a in expr.args]
    with np.errstate(all="ignore"):
        if isinstance(expr, sp.Add):
            v = sum(p[0] for p in parts)
            mag = sum(np.abs(p[0]) for p in parts)
            return v, sum(p[1] for p in parts) + (len(parts) - 1) * u * mag
        if isinstance(expr, sp.Mul):
            v = functools.reduce(np.multiply, [p[0] for p in parts])
            err = 0.0
            for i, (vi, ei) in enumerate(parts):
                others = functools.reduce(
                    np.multiply, [np.abs(p[0]) for j, p in enumerate(parts) if j != i], 1.0)
                err = err + ei * others
            return v, err + len(parts) * u * np.abs(v)
        if isinstance(expr, sp.Pow):
            (b, eb), n = parts[0], int(expr.exp)
            v = b**float(n)
            return v, abs(n) * np.abs(b)**float(n - 1) * eb + (abs(n) + 1) * u * np.abs(v)
        (a, ea), = parts
        fu = 2 * _FUNC_ULPS * u
        if isinstance(expr, (sp.sin, sp.cos)):
            v = np.sin(a) if isinstance(expr, sp.sin) else np.cos(a)
            return v, ea + fu * np.abs(v)
        if isinstance(expr, (sp.tanh, sp.atan)):
            v = np.tanh(a) if isinstance(expr, sp.tanh) else np.arctan(a)
            return v, ea + fu * np.abs(v)
        if isinstance(expr, sp.exp):
            v = np.exp(a)
            return v, np.abs(v) * ea + fu * np.abs(v)
        if isinstance(expr, sp.Abs):
            return np.abs(a), ea
    raise NotImplementedError(type(expr).__name__)


def _condition(c, env):
    if isinstance(c, sp.And):
        return np.logical_and.reduce([_condition(a, env) for a in c.args])
    if isinstance(c, sp.Or):
        return np.logical_or.reduce([_condition(a, env) for a in c.args])
    if isinstance(c, sp.Not):
        return ~_condition(c.args[0], env)
    if c in (sp.true, sp.false):
        return bool(c)
    lhs, _ = _bound(c.lhs, env, 0.0)
    rhs, _ = _bound(c.rhs, env, 0.0)
    ops = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal,
           "==": np.equal, "!=": np.not_equal}
    return ops[c.rel_op](lhs, rhs)


def _inputs(dtype):
    rng = np.random.default_rng(11)
    special = [0.0, 0.5, -0.5, 1.0, -1.0, -1.5, 2.0, 3.0, -3.0]
    return [np.concatenate([rng.uniform(-3, 3, 200), special, special[::-1]]).astype(dtype),
            np.concatenate([rng.uniform(-3, 3, 200), special[::-1], special]).astype(dtype)]


def _check_within_bound(got, want, bound, label):
    assert got.dtype == want.dtype, label
    finite = np.isfinite(want) & np.isfinite(bound)
    # Outside the finite region (overflow) only non-finiteness must agree.
    assert (~np.isfinite(got[~np.isfinite(want)])).all(), label
    diff = np.abs(got[finite].astype(np.float64) - want[finite])
    allowed = 4 * bound[finite]  # both sides are within the bound; x2 slack for 1st order
    bad = diff > allowed
    assert not bad.any(), (f"{label}: {int(bad.sum())} elements differ beyond the error "
                           f"bound, e.g. got {got[finite][bad][:3]}, want {want[finite][bad][:3]}")


# Shrinking would recompile for every step; the failure message names the formula.
# ALGEBRAC_HYPOTHESIS_EXAMPLES=200 explores more (about 0.4 s an example).
@settings(max_examples=int(os.environ.get("ALGEBRAC_HYPOTHESIS_EXAMPLES", "5")), deadline=None,
          database=None,
          phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(st.lists(_trees(), min_size=TREES_PER_EXAMPLE, max_size=TREES_PER_EXAMPLE))
def test_random_formulas(exprs):
    ufs = {b: ac.compile(exprs, [x, y], backend=b) for b in ("cpu", "numpy")}
    for dtype, u in ((np.float64, 2.0**-53), (np.float32, 2.0**-24)):
        inputs = _inputs(dtype)
        refs = lambdify_reference(exprs, [x, y], inputs)
        env = {x: inputs[0].astype(np.float64), y: inputs[1].astype(np.float64)}
        outs = {}
        for b, uf in ufs.items():
            with np.errstate(all="ignore"):
                outs[b] = uf(*inputs)
        for k, e in enumerate(exprs):
            _, bound = _bound(e, env, u)
            bound = np.broadcast_to(bound, refs[k].shape)
            for b in ufs:
                _check_within_bound(outs[b][k], refs[k], bound,
                                    f"{b} {np.dtype(dtype)} {e}")


# -- random arrays through a fixed formula set --------------------------------------------

FIXED = [sp.sin(x) * sp.exp(-y**2) + x / (1 + y**2), sp.Piecewise((x * y, x > y), (x - y, True)),
         sp.Min(x, y) + sp.Abs(x)]
_SPECIAL = {np.float64: [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1e308, -1e-310],
            np.float32: [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3e38, -1e-40]}


@st.composite
def _array_pairs(draw):
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=5))
    elements = st.one_of(st.floats(-1e3, 1e3, width=np.dtype(dtype).itemsize * 8),
                         st.sampled_from(_SPECIAL[dtype]).map(dtype))
    arrays = []
    for shape in shapes.input_shapes:
        a = draw(hnp.arrays(dtype, shape, elements=elements))
        layout = draw(st.sampled_from(["C", "F", "reversed"]))
        if layout == "F":
            a = np.asfortranarray(a)
        elif layout == "reversed" and a.ndim:
            a = a[::-1].copy()[::-1]  # a negative-stride view
        arrays.append(a)
    return arrays


@settings(max_examples=40, deadline=None, database=None)
@given(_array_pairs())
def test_random_arrays(arrays):
    refs = lambdify_reference(FIXED, [x, y], arrays)
    for backend in ("cpu", "numpy"):
        with np.errstate(all="ignore"):
            outs = ac.compile(FIXED, [x, y], backend=backend)(*arrays)
        for k, (got, want) in enumerate(zip(outs, refs)):
            # sin(x)*exp(-y^2) + x/(1+y^2) cancels: terms up to 1e3.
            rtol = DEFAULT_RTOL[want.dtype]
            assert_values_match(np.asarray(got), want, rtol=rtol, atol=1e3 * rtol, ulps=4,
                                inputs=arrays, label=f"{backend} output {k}")
