"""Elementwise operations, broadcasting and dtype rules, checked against NumPy."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as ss
import sympy as sp

import algebrac as ac
from algebrac.dtypes import DType
from algebrac.errors import DTypeError, ShapeError

n, m = ac.dim("n"), ac.dim("m")

# name, NumPy reference, domain of the random inputs
UNARY = [
    ("exp", np.exp, (-3, 3)), ("log", np.log, (0.1, 5)), ("log1p", np.log1p, (-0.9, 5)),
    ("expm1", np.expm1, (-3, 3)), ("exp2", np.exp2, (-3, 3)), ("log2", np.log2, (0.1, 5)),
    ("log10", np.log10, (0.1, 5)), ("sqrt", np.sqrt, (0, 5)), ("cbrt", np.cbrt, (-5, 5)),
    ("sin", np.sin, (-4, 4)), ("cos", np.cos, (-4, 4)), ("tan", np.tan, (-1.4, 1.4)),
    ("arcsin", np.arcsin, (-1, 1)), ("arccos", np.arccos, (-1, 1)),
    ("arctan", np.arctan, (-5, 5)), ("sinh", np.sinh, (-3, 3)), ("cosh", np.cosh, (-3, 3)),
    ("tanh", np.tanh, (-3, 3)), ("arcsinh", np.arcsinh, (-5, 5)),
    ("arccosh", np.arccosh, (1, 5)), ("arctanh", np.arctanh, (-0.99, 0.99)),
    ("floor", np.floor, (-5, 5)), ("ceil", np.ceil, (-5, 5)), ("sign", np.sign, (-5, 5)),
    ("abs", np.abs, (-5, 5)), ("erf", ss.erf, (-3, 3)), ("erfc", ss.erfc, (-3, 3)),
    ("gamma", ss.gamma, (0.1, 5)), ("lgamma", ss.gammaln, (0.1, 5)),
    ("sigmoid", ss.expit, (-30, 30)), ("softplus", lambda x: np.logaddexp(0, x), (-30, 30)),
    ("relu", lambda x: np.maximum(x, 0), (-5, 5)),
]


@pytest.mark.parametrize("name, ref, domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_functions_match_numpy(name, ref, domain, rng, assert_eval):
    X = ac.matrix("X", (n, m))
    Xv = rng.uniform(*domain, size=(4, 3))
    assert_eval(getattr(ac, name)(X), {X: Xv}, ref(Xv), rtol=1e-12, atol=1e-14)
    assert getattr(ac, name)(X).shape == (n, m)


@pytest.mark.parametrize("name, ref, domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_functions_on_plain_sympy_and_numbers(name, ref, domain):
    x = sp.Symbol("x")
    out = getattr(ac, name)(x)
    assert isinstance(out, sp.Expr) and not isinstance(out, ac.Tensor)
    value = (domain[0] + domain[1]) / 2 + 0.25
    np.testing.assert_allclose(float(ac.evaluate(out, {x: value})), ref(value), rtol=1e-12)
    assert isinstance(getattr(ac, name)(value), sp.Basic)


def test_plain_sympy_names_map_to_sympy_classes():
    x, y = sp.symbols("x y")
    assert ac.exp(x) == sp.exp(x) and ac.arctan2(y, x) == sp.atan2(y, x)
    assert ac.maximum(x, y) == sp.Max(x, y) and ac.abs(x) == sp.Abs(x)
    assert ac.where(x > 0, x, 0) == sp.Piecewise((x, x > 0), (0, True))
    assert ac.heaviside(x, 0) == sp.Heaviside(x, 0) and ac.mod(x, y) == sp.Mod(x, y)
    assert ac.lgamma(x) == sp.loggamma(x) and ac.ceil(x) == sp.ceiling(x)
    assert ac.cbrt(-27) == -3 and ac.sigmoid(0) == sp.Rational(1, 2)


BINARY = [
    ("arctan2", np.arctan2, (-3, 3), (-3, 3)), ("hypot", np.hypot, (-3, 3), (-3, 3)),
    ("mod", np.mod, (-5, 5), (0.5, 3)), ("power", np.power, (0.1, 3), (0.5, 2)),
    ("maximum", np.maximum, (-3, 3), (-3, 3)), ("minimum", np.minimum, (-3, 3), (-3, 3)),
    ("heaviside", np.heaviside, (-1, 1), (0, 1)),
]


@pytest.mark.parametrize("name, ref, da, db", BINARY, ids=[b[0] for b in BINARY])
def test_binary_functions_broadcast_like_numpy(name, ref, da, db, rng, assert_eval):
    X, v = ac.matrix("X", (n, m)), ac.vector("v", m)
    Xv, vv = rng.uniform(*da, size=(5, 3)), rng.uniform(*db, size=3)
    assert_eval(getattr(ac, name)(X, v), {X: Xv, v: vv}, ref(Xv, vv))
    assert_eval(getattr(ac, name)(v, X), {X: Xv, v: vv}, ref(vv, Xv))


OPERATORS = [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("floordiv", lambda a, b: a // b),
    ("mod", lambda a, b: a % b), ("pow", lambda a, b: abs(a) ** b),
    ("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b), ("gt", lambda a, b: a > b),
    ("ge", lambda a, b: a >= b),
]


@pytest.mark.parametrize("name, op", OPERATORS, ids=[o[0] for o in OPERATORS])
def test_python_operators_match_numpy(name, op, rng, assert_eval):
    X, v, a = ac.matrix("X", (n, m)), ac.vector("v", m), ac.scalar("a")
    Xv, vv, av = rng.normal(size=(4, 3)), rng.uniform(0.5, 2, size=3), np.float64(1.5)
    b = {X: Xv, v: vv, a: av}
    assert_eval(op(X, v), b, op(Xv, vv))
    assert_eval(op(v, X), b, op(vv, Xv))
    assert_eval(op(X, 2.0), b, op(Xv, 2.0))
    assert_eval(op(3.0, v), b, op(3.0, vv))
    assert_eval(op(X, a), b, op(Xv, av))


def test_unary_operators_and_logic(rng, assert_eval):
    X, Y = ac.matrix("X", (n, m)), ac.matrix("Y", (n, m))
    Xv, Yv = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    b = {X: Xv, Y: Yv}
    assert_eval(-X, b, -Xv)
    assert_eval(abs(X), b, np.abs(Xv))
    assert_eval((X > 0) & (Y > 0), b, (Xv > 0) & (Yv > 0))
    assert_eval((X > 0) | (Y > 0), b, (Xv > 0) | (Yv > 0))
    assert_eval((X > 0) ^ (Y > 0), b, (Xv > 0) ^ (Yv > 0))
    assert_eval(~(X > 0), b, ~(Xv > 0))
    assert_eval(ac.logical_and(X, Y), b, np.logical_and(Xv, Yv))
    assert_eval(ac.logical_or(X > 0, 0), b, np.logical_or(Xv > 0, 0))
    assert_eval(ac.logical_not(X), b, np.logical_not(Xv))
    assert_eval(ac.equal(X, X + 0.0), b, np.equal(Xv, Xv + 0.0))
    assert_eval(ac.not_equal(X, Y), b, Xv != Yv)
    assert_eval(ac.less(X, Y), b, Xv < Yv)
    assert_eval(ac.greater_equal(X, 0.0), b, Xv >= 0.0)
    with pytest.raises(DTypeError):
        _ = X & Y
    with pytest.raises(DTypeError):
        _ = ~X


def test_where_clip_and_bool_inputs(rng, assert_eval):
    x, y = ac.vector("x", n), ac.vector("y", n)
    mask = ac.vector("mask", n, dtype=bool)
    xv, yv, mv = rng.normal(size=7), rng.normal(size=7), rng.random(7) > 0.5
    b = {x: xv, y: yv, mask: mv}
    assert_eval(ac.where(x > y, x, y), b, np.where(xv > yv, xv, yv))
    assert_eval(ac.where(mask, x, 0), b, np.where(mv, xv, 0.0))
    assert_eval(ac.where(x, 1, 2), b, np.where(xv, 1, 2))
    assert_eval(ac.clip(x, -0.5, 0.5), b, np.clip(xv, -0.5, 0.5))
    assert_eval(ac.clip(x, None, 0.0), b, np.clip(xv, None, 0.0))
    assert_eval(mask * x, b, mv * xv)
    assert_eval(mask & (x > 0), b, mv & (xv > 0))
    assert_eval(mask, b, mv)
    with pytest.raises(DTypeError):
        ac.clip(x)


def test_where_evaluates_only_the_taken_branch(rng, assert_eval):
    x = ac.vector("x", n)
    xv = np.array([-1.0, 0.0, 2.0, 8.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_eval(ac.where(x > 0, ac.log(x), -1.0), {x: xv},
                    np.array([-1.0, -1.0, np.log(2), np.log(8)]))


# ---- broadcasting ------------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb, va, vb", [
    ((n, 1), (m,), (3, 1), (4,)),          # literal 1 stretches against a symbolic size
    ((1, m), (n, 1), (1, 4), (3, 1)),
    ((), (n, m), (), (3, 4)),              # 0-d against anything
    ((2, 1, m), (n, 1), (2, 1, 4), (3, 1)),  # rank extension
    ((n,), (n,), (0,), (0,)),              # empty
    ((n, 1), (1,), (0, 1), (1,)),
])
def test_broadcasting_corner_cases(sa, sb, va, vb, rng, assert_eval):
    a, b = ac.tensor("a", sa), ac.tensor("b", sb)
    av, bv = rng.normal(size=va), rng.normal(size=vb)
    assert_eval(a + b, {a: av, b: bv}, av + bv)
    assert_eval(a * b - b, {a: av, b: bv}, av * bv - bv)


def test_symbolic_sizes_never_broadcast_but_constrain(assert_eval):
    a, b = ac.vector("a", n), ac.vector("b", m)
    c = a + b
    assert c.shape == (n,) and len(c.constraints) == 1
    assert_eval(c, {a: np.ones(3), b: np.ones(3)}, np.full(3, 2.0))
    with pytest.raises(ShapeError, match="n=3 but m=1"):
        ac.evaluate(c, {a: np.ones(3), b: np.ones(1)})     # m = 1 at run time: still an error
    assert (ac.vector("c", 5) + a).shape == (5,)             # concrete size wins


@pytest.mark.parametrize("sa, sb", [((3,), (4,)), ((n,), (n + 1,)), ((2, n), (3, n))])
def test_decidable_broadcast_errors_raise_at_construction(sa, sb):
    with pytest.raises(ShapeError, match="do not broadcast"):
        ac.tensor("a", sa) * ac.tensor("b", sb)


# ---- dtypes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, op, expected", [
    ("float32", "float32", "add", DType.FLOAT32), ("float32", "float64", "add", DType.FLOAT64),
    ("float32", "int64", "add", DType.FLOAT64), ("int64", "int64", "add", DType.INT64),
    ("int64", "int64", "divide", DType.FLOAT64), ("bool", "bool", "add", DType.INT64),
    ("int64", "bool", "multiply", DType.INT64), ("float32", "float32", "less", DType.BOOL),
])
def test_result_dtypes(a, b, op, expected):
    x, y = ac.vector("x", n, dtype=a), ac.vector("y", n, dtype=b)
    assert getattr(ac.expr.elementwise, op)(x, y).dtype is expected


def test_weak_scalars_and_dtype_of_results(rng, assert_eval):
    x32 = ac.vector("x", n, dtype="float32")
    i = ac.vector("i", n, dtype=int)
    assert (2 * x32).dtype is DType.FLOAT32 and (x32 + 0.5).dtype is DType.FLOAT32
    assert (x32 * sp.Symbol("a")).dtype is DType.FLOAT32
    assert (i * 2).dtype is DType.INT64 and (i * 2.0).dtype is DType.FLOAT64
    assert ac.exp(i).dtype is DType.FLOAT64 and ac.relu(i).dtype is DType.INT64
    assert ac.scalar("s", dtype="float64") * x32 is not None
    assert (ac.scalar("s") * x32).dtype is DType.FLOAT64
    iv = rng.integers(-5, 5, size=6)
    assert_eval(i * 2 + 1, {i: iv}, iv * 2 + 1)
    assert_eval(i // 3, {i: iv}, iv // 3)
    assert_eval(i % 3, {i: iv}, iv % 3)
    assert_eval(i / 2, {i: iv}, iv / 2)
    assert_eval(x32 * 2, {x32: iv.astype(np.float32)}, iv.astype(np.float32) * 2)
    with pytest.raises(DTypeError):
        i ** -1


@pytest.mark.parametrize("src, dst", [("float64", "int64"), ("float64", "bool"),
                                      ("bool", "float64"), ("int64", "float32")])
def test_astype(src, dst, rng, assert_eval):
    x = ac.vector("x", n, dtype=src)
    xv = (rng.normal(size=8) * 3).astype(src)
    assert_eval(x.astype(dst), {x: xv}, xv.astype(dst))
