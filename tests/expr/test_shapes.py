"""Indexing, transposes, reshape, concatenate, stack and broadcast_to against NumPy."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.errors import ShapeError, UnsupportedError

n, m, k = ac.dim("n"), ac.dim("m"), ac.dim("k")

KEYS = [
    0, -1, 2, (1, 2), (-1, -2), slice(None), slice(1, None), slice(None, -1),
    slice(1, 4), slice(None, None, 2), slice(1, None, 3), slice(None, None, -1),
    slice(-2, None, -1), slice(4, 0, -2), slice(10, None), slice(-10, 2), slice(3, 1),
    (slice(None), 0), (Ellipsis, 1), (None, 0), (0, None, slice(1, None)),
    (slice(None), None), (Ellipsis, None), (None, Ellipsis, None), Ellipsis,
    (slice(None, None, -1), slice(1, None, 2)), (np.int64(1),),
]


@pytest.mark.parametrize("key", KEYS, ids=str)
@pytest.mark.parametrize("symbolic", [True, False])
def test_indexing_matches_numpy(key, symbolic, rng, assert_eval):
    X = ac.matrix("X", (n, m) if symbolic else (5, 4))
    Xv = rng.normal(size=(5, 4))
    out = X[key]
    assert_eval(out, {X: Xv}, Xv[key])
    assert out.ndim == Xv[key].ndim


def test_symbolic_slice_bounds_and_steps(rng, assert_eval):
    x = ac.vector("x", n)
    xv = rng.normal(size=10)
    s = sp.Symbol("s", integer=True, nonnegative=True)
    cases = [
        (x[:k], xv[:3], {k: 3}), (x[k:], xv[3:], {k: 3}), (x[::k], xv[::3], {k: 3}),
        (x[k:n - 1], xv[3:9], {k: 3}), (x[s:], xv[4:], {s: 4}), (x[n - 1], xv[9], {}),
        (x[:-k], xv[:-3], {k: 3}), (x[::-k], xv[::-3], {k: 3}), (x[:k], xv[:12], {k: 12}),
    ]
    for out, ref, extra in cases:
        assert_eval(out, {x: xv, **extra}, ref)
    assert x[1:].shape == (n - 1,) and x[::-1].shape == (n,)
    assert x[n - 1].body == x.body.xreplace({x.indices[0]: n - 1})


def test_indexing_errors():
    X = ac.matrix("X", (3, m))
    with pytest.raises(ShapeError):
        X[3]
    with pytest.raises(ShapeError):
        X[-4]
    with pytest.raises(ShapeError):
        X[0, 0, 0]
    with pytest.raises(ShapeError):
        X[..., ...]
    with pytest.raises(ShapeError):
        X[:, m]
    with pytest.raises(ShapeError):
        X[::0]
    with pytest.raises(UnsupportedError):
        X[[0, 1]]
    with pytest.raises(UnsupportedError):
        X[X > 0]
    with pytest.raises(UnsupportedError):
        X[sp.Symbol("a"):]          # sign unknown: cannot normalise the bound
    with pytest.raises(UnsupportedError):
        X[0.5]


def test_out_of_bounds_symbolic_index_is_caught_at_call_time():
    x = ac.vector("x", n)
    y = x[k]
    with pytest.raises(ShapeError, match="out of bounds for size 4"):
        ac.evaluate(y, {x: np.arange(4.0), k: 7})


@pytest.mark.parametrize("axes", [None, (0, 1, 2), (2, 0, 1), (1, 0, 2), (-1, 0, 1)])
def test_transpose_matches_numpy(axes, rng, assert_eval):
    T = ac.tensor("T", (n, 3, m))
    Tv = rng.normal(size=(2, 3, 4))
    assert_eval(ac.transpose(T, axes), {T: Tv}, np.transpose(Tv, axes))
    assert_eval(T.transpose(axes), {T: Tv}, Tv.transpose(axes))
    if axes:
        assert_eval(T.transpose(*axes), {T: Tv}, Tv.transpose(*axes))
    assert_eval(T.T, {T: Tv}, Tv.T)


@pytest.mark.parametrize("a1, a2", [(0, 1), (0, -1), (2, 2), (-2, -3)])
def test_swapaxes_matches_numpy(a1, a2, rng, assert_eval):
    T = ac.tensor("T", (n, 3, m))
    Tv = rng.normal(size=(2, 3, 4))
    assert_eval(ac.swapaxes(T, a1, a2), {T: Tv}, np.swapaxes(Tv, a1, a2))


def test_transpose_errors():
    with pytest.raises(ShapeError):
        ac.transpose(ac.matrix("X", (2, 3)), (0, 0))
    with pytest.raises(ShapeError):
        ac.transpose(ac.matrix("X", (2, 3)), (0, 1, 2))


@pytest.mark.parametrize("old, new, concrete_old", [
    ((n, m), (-1,), (3, 4)), ((n, m), (n * m,), (3, 4)), ((n * m,), (n, m), (12,)),
    ((n, m, 2), (n, -1), (3, 4, 2)), ((n, m, 2), (n * m, 2), (3, 4, 2)), ((6,), (2, 3), (6,)),
    ((2, 3), (3, 2), (2, 3)), ((2, 3, 4), (4, 6), (2, 3, 4)), ((n, 1), (n,), (5, 1)),
    ((n,), (1, n, 1), (5,)), ((), (1, 1), ()), ((n, m), (m, n), (3, 4)),
    ((n, 6), (n, 2, 3), (2, 6)), ((2, n), (n, 2), (2, 3)), ((0, 3), (3, 0), (0, 3)),
])
def test_reshape_matches_numpy(old, new, concrete_old, rng, assert_eval):
    sizes = {n: 3, m: 4} if (n * m) in old or () == old else \
        {d: c for d, c in zip(old, concrete_old) if isinstance(d, sp.Symbol)}
    x = ac.tensor("x", old)
    xv = rng.normal(size=concrete_old)
    ref_shape = tuple(-1 if d == -1 else int(sp.sympify(d).subs(sizes)) for d in new)
    assert_eval(x.reshape(new), {x: xv, **sizes}, xv.reshape(ref_shape))
    assert_eval(ac.reshape(x, new), {x: xv, **sizes}, np.reshape(xv, ref_shape))


def test_reshape_index_maps_are_tidy():
    X = ac.matrix("X", (n, m))
    assert str(X.reshape(-1).body) == "X[floor(i_0/m), Mod(i_0, m)]"
    v = ac.vector("v", n * m)
    i0, i1 = sp.symbols("i_0 i_1", integer=True)
    assert v.reshape(n, m).body == sp.IndexedBase(v.label, shape=(n * m,))[i0 * m + i1]
    assert X.flatten() == X.ravel() == X.reshape(n * m)


def test_reshape_errors_and_constraints(rng):
    with pytest.raises(ShapeError):
        ac.matrix("X", (2, 3)).reshape(4, 2)
    with pytest.raises(ShapeError):
        ac.matrix("X", (2, 3)).reshape(-1, -1)
    with pytest.raises(ShapeError):
        ac.matrix("X", (2, 3)).reshape(4, -1)
    with pytest.raises(UnsupportedError):
        ac.vector("x", n).reshape(2, -1)
    y = ac.vector("x", n).reshape(2, k)       # n == 2*k at call time
    assert len(y.constraints) == 1
    with pytest.raises(ShapeError, match="element counts"):
        ac.evaluate(y, {"x": np.ones(5), k: 2})
    assert ac.evaluate(y, {"x": np.arange(6.0), k: 3}).shape == (2, 3)


@pytest.mark.parametrize("shapes, axis", [
    ([(n, m), (2, m)], 0), ([(n, m), (n, k)], 1), ([(n, m), (n, k)], -1),
    ([(n,), (n,), (3,)], 0), ([(n, m), (k, m)], None), ([(n, 2), (3, 1)], None),
    ([(0, m), (n, m)], 0),
])
def test_concatenate_matches_numpy(shapes, axis, rng, assert_eval):
    sizes = {n: 4, m: 3, k: 2}
    ts = [ac.tensor(f"t{j}", s) for j, s in enumerate(shapes)]
    vs = [rng.normal(size=tuple(int(sp.sympify(d).subs(sizes)) for d in s)) for s in shapes]
    assert_eval(ac.concatenate(ts, axis=axis), dict(zip(ts, vs)), np.concatenate(vs, axis=axis))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_stack_matches_numpy(axis, rng, assert_eval):
    a, b, c = (ac.matrix(x, (n, m)) for x in "abc")
    vs = [rng.normal(size=(4, 3)) for _ in range(3)]
    assert_eval(ac.stack([a, b, c], axis=axis), dict(zip((a, b, c), vs)), np.stack(vs, axis=axis))


def test_concatenate_and_stack_of_bools_and_errors(rng, assert_eval):
    x, y = ac.vector("x", n), ac.vector("y", n)
    xv, yv = rng.normal(size=5), rng.normal(size=5)
    assert_eval(ac.concatenate([x > 0, y > 0]), {x: xv, y: yv},
                np.concatenate([xv > 0, yv > 0]))
    assert_eval(ac.stack([x > 0, y]), {x: xv, y: yv}, np.stack([xv > 0, yv]))
    with pytest.raises(ShapeError):
        ac.concatenate([])
    with pytest.raises(ShapeError):
        ac.concatenate([ac.scalar("s"), ac.scalar("t")])
    with pytest.raises(ShapeError):
        ac.concatenate([ac.matrix("A", (2, 3)), ac.matrix("B", (2, 4))])
    with pytest.raises(ShapeError):
        ac.stack([ac.vector("a", 3), ac.vector("b", 4)])
    with pytest.raises(ShapeError):
        ac.stack([x, x], axis=2)


@pytest.mark.parametrize("src, target", [
    ((m,), (n, m)), ((1,), (n,)), ((n, 1), (n, m)), ((), (n, 2)), ((1, m), (3, 2, m)),
    ((n, m), (n, m)),
])
def test_broadcast_to_matches_numpy(src, target, rng, assert_eval):
    sizes = {n: 4, m: 3}
    x = ac.tensor("x", src)
    xv = rng.normal(size=tuple(int(sp.sympify(d).subs(sizes)) for d in src))
    concrete = tuple(int(sp.sympify(d).subs(sizes)) for d in target)
    out = ac.broadcast_to(x, target)
    assert out.shape == tuple(sp.sympify(d) for d in target)
    assert_eval(out, {x: xv, n: 4, m: 3}, np.broadcast_to(xv, concrete))


def test_broadcast_to_errors():
    with pytest.raises(ShapeError):
        ac.broadcast_to(ac.vector("x", 3), (2, 4))
    with pytest.raises(ShapeError):
        ac.broadcast_to(ac.matrix("x", (2, 3)), (3,))
    y = ac.broadcast_to(ac.vector("x", k), (n, m))  # k == m at call time; n from bindings
    with pytest.raises(ShapeError):
        ac.evaluate(y, {"x": np.ones(3), n: 2, m: 4})
    with pytest.raises(ac.SignatureError, match="pass n=... in bindings"):
        ac.evaluate(y, {"x": np.ones(3), m: 3})
