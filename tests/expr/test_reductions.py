"""Reductions over axes, checked against NumPy (symbolic sizes bound at evaluation)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.dtypes import DType
from algebrac.errors import ShapeError
from algebrac.expr.functions import ReduceMax

a_, b_, c_ = ac.dim("a"), ac.dim("b"), ac.dim("c")
AXES = [None, 0, 1, 2, -1, -3, (0, 2), (-1, 0), (0, 1, 2), ()]
REDUCTIONS = ["sum", "mean", "prod", "max", "min"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims, rng, assert_eval):
    T = ac.tensor("T", (a_, 3, c_))
    Tv = rng.uniform(0.5, 1.5, size=(2, 3, 4))
    out = getattr(ac, name)(T, axis=axis, keepdims=keepdims)
    ref = getattr(np, name)(Tv, axis=axis, keepdims=keepdims)
    assert_eval(out, {T: Tv}, ref)
    assert out.ndim == np.ndim(ref)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_methods_equal_functions(name):
    x = ac.matrix("x", (a_, b_))
    assert getattr(x, name)(axis=-1) == getattr(ac, name)(x, axis=-1)


def test_bodies_are_sympy_constructs():
    x = ac.vector("x", a_)
    k = sp.Symbol("k_0", integer=True)
    xk = x.body.xreplace({x.indices[0]: k})
    assert ac.sum(x).body == sp.Sum(xk, (k, 0, a_ - 1))
    assert ac.prod(x).body == sp.Product(xk, (k, 0, a_ - 1))
    assert ac.max(x).body == ReduceMax(xk, (k, 0, a_ - 1))
    assert ac.mean(x).body == sp.Sum(xk, (k, 0, a_ - 1)) / a_
    assert ac.sum(ac.sum(x * 2)).shape == ()


def test_nested_reductions_use_distinct_variables(rng, assert_eval):
    X = ac.matrix("X", (a_, b_))
    y = ac.sum(X, axis=0)
    z = ac.max(y - ac.mean(X, axis=0)) + ac.sum(y)
    Xv = rng.normal(size=(3, 5))
    assert_eval(z, {X: Xv}, np.max(Xv.sum(0) - Xv.mean(0)) + Xv.sum())


@pytest.mark.parametrize("name, dtype", [("sum", "int64"), ("prod", "int64"), ("mean", "float64"),
                                         ("max", "bool"), ("min", "bool")])
def test_bool_and_int_reductions(name, dtype, rng, assert_eval):
    x = ac.vector("x", a_)
    xv = rng.normal(size=9)
    out = getattr(ac, name)(x > 0, axis=0)
    assert out.dtype is DType.from_numpy(dtype)
    assert_eval(out, {x: xv}, getattr(np, name)(xv > 0, axis=0))
    i = ac.vector("i", a_, dtype=int)
    iv = rng.integers(-3, 4, size=5)
    assert_eval(getattr(ac, name)(i), {i: iv}, getattr(np, name)(iv))


@pytest.mark.parametrize("name", ["sum", "prod", "mean"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_empty_symbolic_dims(name, axis, assert_eval):
    X = ac.matrix("X", (a_, b_))
    Xv = np.zeros((0, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # NumPy warns on empty means too
        ref = getattr(np, name)(Xv, axis=axis)
        assert_eval(getattr(ac, name)(X, axis=axis), {X: Xv}, ref)


def test_empty_concrete_dims_and_max_errors():
    e = ac.vector("e", 0)
    assert ac.evaluate(ac.sum(e), {e: np.zeros(0)}) == 0.0
    assert ac.mean(e).body is sp.nan
    with pytest.raises(ShapeError, match="zero-size"):
        ac.max(e)
    x = ac.vector("x", a_)
    with pytest.raises(ShapeError, match="zero-size"):
        ac.evaluate(ac.min(x), {x: np.zeros(0)})
    X = ac.matrix("X", (a_, b_))
    # max over a non-empty axis of an empty tensor is fine, as in NumPy
    assert ac.evaluate(ac.max(X, axis=1), {X: np.zeros((0, 3))}).shape == (0,)


@pytest.mark.parametrize("axis", [3, -4, (0, 0), 1.0, "0"])
def test_bad_axes(axis):
    with pytest.raises(ShapeError):
        ac.sum(ac.tensor("T", (a_, b_, c_)), axis=axis)


def test_reduction_of_scalar_and_plain_number(assert_eval):
    s = ac.scalar("s")
    assert ac.sum(s) == s and ac.max(s, axis=None).shape == ()
    assert_eval(ac.sum(3.0), {}, np.float64(3.0))
