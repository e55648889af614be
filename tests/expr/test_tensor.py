"""Tensor construction, structure, equality, substitution and graph replacement."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.dtypes import DType
from algebrac.errors import DTypeError, ShapeError, UnsupportedError

n, m, k = ac.dim("n"), ac.dim("m"), ac.dim("k")


# ---- constructors --------------------------------------------------------------------
def test_dim_is_a_positive_integer_symbol():
    assert isinstance(n, sp.Symbol) and n.is_integer and n.is_positive
    assert ac.dim("n") == n and hash(ac.dim("n")) == hash(n)
    assert n != sp.Symbol("n", integer=True, positive=True)
    assert pickle.loads(pickle.dumps(n)) == n
    with pytest.raises(ShapeError):
        ac.dim("not a name")


@pytest.mark.parametrize("make, shape", [
    (lambda: ac.scalar("a"), ()),
    (lambda: ac.vector("w", m), (m,)),
    (lambda: ac.vector("w", 3), (3,)),
    (lambda: ac.vector("w", "m"), (m,)),
    (lambda: ac.matrix("X", (n, 4)), (n, 4)),
    (lambda: ac.tensor("T", (n, 2 * m, 0)), (n, 2 * m, 0)),
])
def test_constructors_shape_and_defaults(make, shape):
    t = make()
    assert t.shape == tuple(sp.sympify(d) for d in shape)
    assert t.ndim == len(shape) and t.dtype is DType.FLOAT64
    assert t.is_input and t.inputs == (t,)
    assert t.indices == tuple(sp.Symbol(f"i_{a}", integer=True) for a in range(len(shape)))


@pytest.mark.parametrize("dtype, expected", [
    ("float32", DType.FLOAT32), (np.float64, DType.FLOAT64), (int, DType.INT64),
    (bool, DType.BOOL), (DType.INT64, DType.INT64),
])
def test_dtype_argument(dtype, expected):
    assert ac.vector("x", n, dtype=dtype).dtype is expected


@pytest.mark.parametrize("shape", [(-1,), (2.5,), (sp.Symbol("q"),), (True,), ([1],)])
def test_bad_shapes_raise(shape):
    with pytest.raises(ShapeError):
        ac.tensor("x", shape)


def test_bad_names_and_matrix_rank():
    with pytest.raises(ShapeError):
        ac.vector("1x", 3)
    with pytest.raises(ShapeError):
        ac.matrix("X", (n,))
    with pytest.raises(DTypeError):
        ac.vector("x", 3, dtype="complex128")


# ---- structure -------------------------------------------------------------------------
def test_structural_equality_hash_and_pickle():
    X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
    a, b = ac.sigmoid(X @ w), ac.sigmoid(X @ w)
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != ac.sigmoid(X @ w + 1)
    assert X.T.T == X and ac.transpose(X, (0, 1)) == X
    assert ac.vector("w", m) == w and ac.vector("w", k) != w
    assert ac.vector("w", m, dtype="float32") != w
    assert pickle.loads(pickle.dumps(a)) == a
    assert len({a, b, X @ w}) == 2


def test_direct_construction_canonicalizes_indices():
    x = ac.vector("x", n)
    j = sp.Symbol("j", integer=True)
    t = ac.Tensor(shape=(n,), indices=(j,), body=x.body.xreplace({x.indices[0]: j}) ** 2)
    assert t == x ** 2 and t.indices == x.indices
    with pytest.raises(ShapeError):
        ac.Tensor(shape=(n, m), indices=(j,), body=j)
    with pytest.raises(DTypeError):
        ac.Tensor(shape=(), body=sp.Symbol("a") > 0)
    assert ac.Tensor(shape=(), dtype=bool, body=sp.Symbol("a") > 0).dtype is DType.BOOL


def test_inputs_are_sorted_and_deterministic():
    z, a, b0 = ac.vector("z", n), ac.scalar("a"), ac.vector("b", n)
    y = a * z + b0 + z
    assert [t.name for t in y.inputs] == ["a", "b", "z"]
    assert y.inputs[0] == a and y.inputs[0].ndim == 0
    mask = ac.vector("mask", n, dtype=bool)
    assert ac.where(mask, z, 0).inputs == (mask, z)


def test_parameters_and_dims():
    alpha, beta = sp.symbols("alpha beta")
    X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
    y = beta * ac.mean(X @ w) + alpha
    assert y.parameters == (alpha, beta)
    assert y.dims == (m, n)
    assert ac.vector("x", n + 1).dims == (n,)


def test_operators_with_python_numpy_and_sympy_scalars():
    x = ac.vector("x", n)
    a = sp.Symbol("a")
    for value in (2 * x, x * 2, x * np.int64(2)):
        assert value.body == 2 * x.body
    assert (np.float64(2.0) * x).body == sp.Float(2.0) * x.body
    assert (np.float32(2.0) * x.astype("float32")).dtype is DType.FLOAT32
    assert (a * x).body == a * x.body and (x * a).body == a * x.body
    assert (1 - x).body == 1 - x.body and (2 / x).body == 2 / x.body
    assert (2 ** x).body == 2 ** x.body and (-x).body == -x.body and +x is x


def test_truth_value_and_iteration():
    x = ac.vector("x", n)
    with pytest.raises(TypeError):
        bool(x > 0)
    with pytest.raises(TypeError):
        iter(x)
    assert [str(e) for e in ac.vector("v", 2)] == ["v[0]", "v[1]"]
    with pytest.raises(UnsupportedError):
        x + np.ones(3)


def test_str_and_repr():
    X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
    y = ac.sigmoid(X @ w + 0.5) - 1
    assert str(y) == "sigmoid(X @ w + 0.5) - 1"
    assert repr(X @ w) == "Tensor(X @ w, shape=(n,), dtype=float64)"
    assert str(ac.mean(X, axis=0, keepdims=True)) == "mean(X, axis=0, keepdims=True)"
    assert str(X[1:, None, ::2]) == "X[1:, None, ::2]"
    assert str((X > 0) & ~(X < 1)) == "(X > 0) & ~(X < 1)"
    assert str(-(X ** 2) ** 3) == "-(X ** 2) ** 3"
    raw = ac.Tensor(shape=(n, m), body=X.body.xreplace(dict(zip(X.indices, X.indices[::-1]))))
    assert str(raw) == "(i, j) -> X[j, i]"


# ---- subs ----------------------------------------------------------------------------------
def test_subs_dims_and_scalars(assert_eval, rng):
    a = sp.Symbol("a")
    X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
    y = a * (X @ w)
    z = y.subs({n: 5, a: 2})
    assert z.shape == (5,) and z.parameters == ()
    assert y.subs(a, 2) == 2 * (X @ w)
    Xv, wv = rng.normal(size=(5, 3)), rng.normal(size=3)
    assert_eval(z, {X: Xv, w: wv}, 2 * Xv @ wv)
    with pytest.raises(ShapeError, match=r"X: expected shape \(5, m\)"):
        ac.evaluate(z, {X: rng.normal(size=(4, 3)), w: wv})
    assert ac.latex(z) == "2 X w"


def test_subs_resolves_or_violates_constraints():
    X, v = ac.matrix("X", (n, m)), ac.vector("v", k)
    y = X @ v
    assert len(y.constraints) == 1
    assert y.subs({m: 3, k: 3}).constraints == ()
    assert y.subs(k, m).constraints == ()
    with pytest.raises(ShapeError, match="never be equal"):
        y.subs({m: 3, k: 4})
    with pytest.raises(ShapeError):
        ac.vector("x", n).subs(n, -2)


def test_subs_with_tensor_key_grafts():
    x, y = ac.vector("x", n), ac.vector("y", n)
    assert (x * 2).subs(x, y + 1) == (y + 1) * 2


# ---- replace --------------------------------------------------------------------------------
def test_replace_grafts_and_evaluates(assert_eval, rng):
    X, w, b = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("b", m)
    loss = ac.sum(ac.sigmoid(X @ w))
    new = ac.replace(loss, {w: w + b})
    assert [t.name for t in new.inputs] == ["X", "b", "w"]
    Xv, wv, bv = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=3)
    assert_eval(new, {X: Xv, w: wv, b: bv}, np.sum(1 / (1 + np.exp(-Xv @ (wv + bv)))))
    assert ac.latex(new) == r"\mathbf{1}^{T} \sigma\left(X \left(w + b\right)\right)"
    assert ac.replace([loss, w], {w: b}) == [ac.sum(ac.sigmoid(X @ b)), b]


def test_replace_avoids_capturing_bound_variables(assert_eval, rng):
    A, B, v = ac.matrix("A", (n, n)), ac.matrix("B", (n, n)), ac.vector("v", n)
    u = ac.vector("u", n)
    outer_sum = A @ u                       # Sum over k_0 with u[k_0]
    new = ac.replace(outer_sum, {u: B @ v})  # B @ v also sums over k_0
    Av, Bv, vv = (rng.normal(size=s) for s in ((4, 4), (4, 4), (4,)))
    assert_eval(new, {A: Av, B: Bv, v: vv}, Av @ (Bv @ vv))


def test_replace_simultaneous_swap_and_scalars(assert_eval, rng):
    x, y, a = ac.vector("x", n), ac.vector("y", n), ac.scalar("a")
    s = sp.Symbol("s")
    f = a * x - y + s
    g = ac.replace(f, {x: y, y: x, a: 2.0, s: ac.sum(x)})
    xv, yv = rng.normal(size=5), rng.normal(size=5)
    assert_eval(g, {x: xv, y: yv}, 2.0 * yv - xv + xv.sum())


def test_replace_broadcasts_and_unifies_orphan_dims(assert_eval, rng):
    w, v = ac.vector("w", m), ac.vector("v", k)
    g = ac.replace(2 * w, {w: v})
    assert g.shape == (k,) and g.constraints == ()
    X = ac.matrix("X", (n, m))
    h = ac.replace(X @ w, {w: v})
    assert len(h.constraints) == 1      # m is still bound by X: checked at call time
    with pytest.raises(ShapeError):
        ac.evaluate(h, {X: np.ones((2, 3)), v: np.ones(4)})
    assert_eval(ac.replace(X * w, {w: ac.scalar("c")}), {X: np.ones((2, 3)), "c": 2.0},
                np.full((2, 3), 2.0))


def test_replace_bool_input(assert_eval, rng):
    mask, x = ac.vector("mask", n, dtype=bool), ac.vector("x", n)
    f = ac.where(mask, x, -x)
    g = ac.replace(f, {mask: x > 0})
    xv = rng.normal(size=6)
    assert_eval(g, {x: xv}, np.abs(xv))


def test_replace_errors():
    x, X = ac.vector("x", n), ac.matrix("X", (n, m))
    with pytest.raises(UnsupportedError):
        ac.replace(x + 1, {x + 1: x})
    with pytest.raises(ShapeError):
        ac.replace(x + 1, {x: ac.vector("y", 3) + ac.vector("z", 4)})
    with pytest.raises(ShapeError):
        ac.replace(x + sp.Symbol("s"), {sp.Symbol("s"): x})
    with pytest.raises(DTypeError):
        ac.replace(ac.vector("i", n, dtype=int) + 1, {ac.vector("i", n, dtype=int): x})
    assert ac.replace(X, {X: ac.vector("y", 7)}).shape == (n, 7)   # m := 7, n broadcast
    with pytest.raises(ShapeError):
        ac.replace(X * ac.vector("u", m), {X: ac.vector("y", 7)}).subs({m: 3})
