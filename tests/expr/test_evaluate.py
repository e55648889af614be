"""The reference evaluator: bindings, size checks, error messages, plain SymPy, dtypes."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.errors import DTypeError, ShapeError, SignatureError, UnsupportedError

n, m = ac.dim("n"), ac.dim("m")


@pytest.fixture
def model(rng):
    X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
    p = ac.sigmoid(X @ w)
    loss = -ac.mean(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    Xv, wv = rng.normal(size=(6, 3)), rng.normal(size=3)
    tv = (rng.random(6) > 0.5).astype(float)
    pv = 1 / (1 + np.exp(-Xv @ wv))
    ref = -np.mean(tv * np.log(pv) + (1 - tv) * np.log(1 - pv))
    return (X, w, t), (Xv, wv, tv), loss, ref


def test_bindings_by_tensor_name_and_keyword(model):
    (X, w, t), (Xv, wv, tv), loss, ref = model
    for result in (ac.evaluate(loss, {X: Xv, w: wv, t: tv}),
                   ac.evaluate(loss, {"X": Xv, "w": wv, "t": tv}),
                   ac.evaluate(loss, X=Xv, w=wv, t=tv),
                   ac.evaluate(loss, {X: Xv}, w=wv, t=tv)):
        assert isinstance(result, np.float64)
        np.testing.assert_allclose(result, ref, rtol=1e-13)
    # unused bindings are ignored; lists of outputs are evaluated in turn
    out = ac.evaluate([loss, X @ w], {X: Xv, w: wv, t: tv, "unused": 1.0})
    assert isinstance(out, list) and out[1].shape == (6,)


def test_shape_mismatch_message_names_input_and_bound_dims(model):
    (X, w, t), (Xv, wv, tv), loss, _ = model
    with pytest.raises(ShapeError) as err:
        ac.evaluate(loss, {X: Xv, w: np.ones(4), t: tv})
    assert str(err.value) == "w: expected shape (m,) with m=3 (bound by X), got (4,)"
    assert isinstance(err.value, ValueError)
    with pytest.raises(ShapeError, match=r"t: expected shape \(n,\) with n=6 \(bound by X\), "):
        ac.evaluate(loss, {X: Xv, w: wv, t: np.ones(5)})
    with pytest.raises(ShapeError, match=r"X: expected a 2-d array of shape \(n, m\), got "):
        ac.evaluate(loss, {X: np.ones(6), w: wv, t: tv})
    with pytest.raises(ShapeError, match=r"X: expected shape \(n, m\) with m=2 \(bound by bin"):
        ac.evaluate(loss, {X: Xv, w: wv, t: tv, m: 2})
    with pytest.raises(ShapeError, match=r"v: expected shape \(3,\), got \(2,\)"):
        ac.evaluate(ac.vector("v", 3), {"v": np.ones(2)})


def test_missing_and_bad_bindings(model):
    (X, w, t), (Xv, wv, tv), loss, _ = model
    with pytest.raises(SignatureError, match="no value for input w"):
        ac.evaluate(loss, {X: Xv, t: tv})
    with pytest.raises(SignatureError, match="keys must be input tensors"):
        ac.evaluate(loss, {X @ w: 1.0})
    with pytest.raises(SignatureError):
        ac.evaluate(loss, {3: 1.0})
    a = sp.Symbol("a")
    with pytest.raises(SignatureError, match="scalar parameter a"):
        ac.evaluate(a * w, {w: wv})
    with pytest.raises(ShapeError, match="a scalar needs a single value"):
        ac.evaluate(a * w, {w: wv, a: np.ones(2)})
    with pytest.raises(DTypeError):
        ac.evaluate(a * w, {w: wv, a: "x"})
    with pytest.raises(SignatureError, match="pass n=... in bindings"):
        ac.evaluate(ac.broadcast_to(1.0, (n,)), {})
    assert ac.evaluate(ac.broadcast_to(1.0, (n,)), {n: 2}).tolist() == [1.0, 1.0]


def test_dtype_checks_and_result_dtypes(rng):
    x32 = ac.vector("x", n, dtype="float32")
    i = ac.vector("i", n, dtype=int)
    b = ac.vector("b", n, dtype=bool)
    out = ac.evaluate(x32 * 2, {x32: np.arange(3, dtype=np.float64)})
    assert out.dtype == np.float32
    assert ac.evaluate(i + 1, {i: np.arange(3, dtype=np.int32)}).dtype == np.int64
    with pytest.raises(DTypeError, match="i: expected int64 values, got float64"):
        ac.evaluate(i + 1, {i: np.ones(3)})
    with pytest.raises(DTypeError):
        ac.evaluate(b & b, {b: np.ones(3)})
    with pytest.raises(DTypeError):
        ac.evaluate(x32, {x32: np.array(["a"])})
    assert ac.evaluate(ac.sum(b), {b: np.array([True, False, True])}) == 2


def test_sizes_bound_from_expressions_of_dims(rng):
    x = ac.vector("x", n + 1)
    y = ac.vector("y", 2 * n)
    np.testing.assert_array_equal(ac.evaluate(x[1:] + y[::2], {x: np.arange(4.0),
                                                              y: np.arange(6.0)}),
                                  np.arange(1.0, 4.0) + np.arange(0.0, 6.0, 2))
    with pytest.raises(ShapeError, match=r"y: expected shape \(2\*n,\) with n=3"):
        ac.evaluate(x[1:] + y[::2], {x: np.arange(4.0), y: np.arange(5.0)})
    assert ac.evaluate(ac.sum(ac.vector("z", 2 * n)), {"z": np.ones(6)}) == 6.0


def test_inputs_no_longer_read_still_bind_sizes():
    x = ac.vector("x", n)
    np.testing.assert_array_equal(ac.evaluate(x - x, {x: np.ones(4)}), np.zeros(4))
    assert (x - x).inputs == ()


def test_parameters_dims_and_scalar_inputs_in_the_body():
    x, s = ac.vector("x", n), ac.scalar("s")
    a = sp.Symbol("a")
    f = a * x / n + s
    np.testing.assert_allclose(ac.evaluate(f, {x: np.arange(4.0), a: 2.0, s: 1.0}),
                               2.0 * np.arange(4.0) / 4 + 1.0)
    np.testing.assert_allclose(ac.evaluate(f, {"x": np.arange(4.0), "a": 2.0, "s": 1.0}),
                               2.0 * np.arange(4.0) / 4 + 1.0)


def test_plain_sympy_expressions_broadcast_over_arrays():
    x, y = sp.symbols("x y")
    f = sp.exp(-x ** 2) * sp.sin(x * y) + ac.sigmoid(y)
    xv, yv = np.linspace(-1, 1, 5)[:, None], np.linspace(0, 2, 3)
    np.testing.assert_allclose(ac.evaluate(f, {x: xv, y: yv}),
                               np.exp(-xv ** 2) * np.sin(xv * yv) + 1 / (1 + np.exp(-yv)))
    assert isinstance(ac.evaluate(f, {x: 0.5, y: 2.0}), np.float64)
    assert ac.evaluate(sp.Integer(3) / 2) == 1.5
    assert ac.evaluate(sp.Piecewise((x, x > 0), (-x, True)), {"x": -2.0}) == 2.0
    with pytest.raises(SignatureError):
        ac.evaluate(f, {x: 1.0})
    with pytest.raises(UnsupportedError):
        ac.evaluate(sp.I * x, {x: 1.0})
    with pytest.raises(UnsupportedError):
        ac.evaluate(sp.Function("g")(x), {x: 1.0})


def test_sum_with_limits_depending_on_other_indices():
    # A triangular sum, as a derivative rule could produce: y_i = sum_{k <= i} x_k.
    x = ac.vector("x", n)
    i, k = sp.Symbol("i_0", integer=True), sp.Symbol("k_0", integer=True)
    body = sp.Sum(x.body.xreplace({x.indices[0]: k}), (k, 0, i))
    for op, ref in ((sp.Sum, np.cumsum), (sp.Product, np.cumprod)):
        t = ac.Tensor(shape=(n,), body=op(body.function, *body.limits))
        xv = np.array([1.0, 2.0, 3.0, 4.0])
        np.testing.assert_allclose(ac.evaluate(t, {x: xv}), ref(xv))
    empty = ac.Tensor(shape=(n,), body=sp.Sum(body.function, (k, i + 1, 1)))
    np.testing.assert_allclose(ac.evaluate(empty, {x: xv}), [2.0, 0.0, 0.0, 0.0])


def test_stable_function_evaluation_and_no_spurious_warnings():
    x = ac.vector("x", n)
    xv = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = ac.evaluate(ac.sigmoid(x), {x: xv})
        sp_ = ac.evaluate(ac.softplus(x), {x: xv})
        ac.evaluate(ac.where(x > 0, ac.sqrt(x), ac.sqrt(-x)), {x: xv})
    np.testing.assert_allclose(s, [0.0, 1 / (1 + np.exp(30)), 0.5, 1 / (1 + np.exp(-30)), 1.0])
    tail = np.log1p(np.exp(-30))
    np.testing.assert_allclose(sp_, [0.0, tail, np.log(2), 30 + tail, 1000.0])


def test_constraints_are_checked_before_computing(rng):
    a, b = ac.vector("a", n), ac.vector("b", m)
    with pytest.raises(ShapeError, match="add: broadcasting"):
        ac.evaluate(a + b, {a: np.ones(2), b: np.ones(3)})


def test_ambiguous_inputs_with_the_same_name():
    x3, xn = ac.vector("x", 3), ac.vector("x", n)
    with pytest.raises(SignatureError, match="two different inputs named x"):
        ac.evaluate(x3 + xn, {"x": np.ones(3)})
