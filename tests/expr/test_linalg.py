"""matmul, dot, tensordot, einsum, outer and inner against NumPy."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.errors import ShapeError

n, m, p, q = ac.dim("n"), ac.dim("m"), ac.dim("p"), ac.dim("q")
SIZES = {"n": 4, "m": 3, "p": 5, "q": 2}


def _make(shape, name, rng):
    t = ac.tensor(name, shape)
    concrete = tuple(SIZES[str(d)] if not d.is_Integer else int(d) for d in t.shape)
    return t, rng.normal(size=concrete)


@pytest.mark.parametrize("sa, sb", [
    ((n, m), (m,)), ((m,), (m, p)), ((m,), (m,)), ((n, m), (m, p)),
    ((q, n, m), (m, p)), ((n, m), (q, m, p)), ((q, n, m), (q, m, p)),
    ((1, n, m), (q, m, p)), ((q, 1, n, m), (3, m, p)), ((q, n, m), (m,)),
    ((m,), (q, m, p)), ((n, 0), (0, p)),
])
def test_matmul_matches_numpy(sa, sb, rng, assert_eval):
    (a, av), (b, bv) = _make(sa, "a", rng), _make(sb, "b", rng)
    assert_eval(a @ b, {a: av, b: bv}, av @ bv)
    assert_eval(ac.matmul(a, b), {a: av, b: bv}, np.matmul(av, bv))


@pytest.mark.parametrize("sa, sb", [
    ((), (n, m)), ((n,), ()), ((m,), (m,)), ((n, m), (m,)), ((m,), (m, p)),
    ((n, m), (m, p)), ((q, n, m), (m,)), ((q, n, m), (3, m, p)),
])
def test_dot_matches_numpy(sa, sb, rng, assert_eval):
    (a, av), (b, bv) = _make(sa, "a", rng), _make(sb, "b", rng)
    assert_eval(ac.dot(a, b), {a: av, b: bv}, np.dot(av, bv))
    if a.ndim:
        assert_eval(a.dot(b), {a: av, b: bv}, av.dot(bv))


@pytest.mark.parametrize("sa, sb, axes", [
    ((n, m, p), (m, p, q), 2), ((n, m), (p, q), 0), ((n, m), (m, n), ([0, 1], [1, 0])),
    ((n, m, p), (p, n), ([0, 2], [1, 0])), ((n, m), (n,), ([0], [0])), ((n, m), (m, q), 1),
    ((n, m), (n, m), ([-1, -2], [1, 0])),
])
def test_tensordot_matches_numpy(sa, sb, axes, rng, assert_eval):
    (a, av), (b, bv) = _make(sa, "a", rng), _make(sb, "b", rng)
    assert_eval(ac.tensordot(a, b, axes=axes), {a: av, b: bv}, np.tensordot(av, bv, axes=axes))


@pytest.mark.parametrize("spec, shapes", [
    ("ij,jk->ik", [(n, m), (m, p)]), ("ij,jk", [(n, m), (m, p)]), ("ii", [(n, n)]),
    ("ii->i", [(n, n)]), ("ij->", [(n, m)]), ("ij->ji", [(n, m)]), ("i,j->ij", [(n,), (m,)]),
    ("bij,bjk->bik", [(q, n, m), (q, m, p)]), ("...ij,...jk->...ik", [(q, n, m), (m, p)]),
    ("...i,...i", [(q, n), (n,)]), ("i,i->i", [(n,), (1,)]), ("ij,j->i", [(n, 1), (m,)]),
    ("ijk,kji->", [(n, m, p), (p, m, n)]), ("i,i,i", [(n,), (n,), (n,)]),
    ("Ab,bA->A", [(n, m), (m, n)]), (" ij , j -> i ", [(n, m), (m,)]),
])
def test_einsum_matches_numpy(spec, shapes, rng, assert_eval):
    made = [_make(s, f"x{j}", rng) for j, s in enumerate(shapes)]
    out = ac.einsum(spec, *(t for t, _ in made))
    assert_eval(out, {t: v for t, v in made}, np.einsum(spec, *(v for _, v in made)))


@pytest.mark.parametrize("sa, sb", [((n,), (m,)), ((n, m), (p,)), ((), (n,)), ((2, 3), (q, 1))])
def test_outer_matches_numpy(sa, sb, rng, assert_eval):
    (a, av), (b, bv) = _make(sa, "a", rng), _make(sb, "b", rng)
    assert_eval(ac.outer(a, b), {a: av, b: bv}, np.outer(av, bv))


@pytest.mark.parametrize("sa, sb", [((m,), (m,)), ((n, m), (m,)), ((n, m), (p, m)),
                                     ((), (n, m)), ((q, n, m), (p, m))])
def test_inner_matches_numpy(sa, sb, rng, assert_eval):
    (a, av), (b, bv) = _make(sa, "a", rng), _make(sb, "b", rng)
    assert_eval(ac.inner(a, b), {a: av, b: bv}, np.inner(av, bv))


def test_contraction_bodies():
    X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
    i, k = sp.Symbol("i_0", integer=True), sp.Symbol("k_0", integer=True)
    Xb = sp.IndexedBase(X.label, shape=(n, m))
    wb = sp.IndexedBase(w.label, shape=(m,))
    assert (X @ w).body == sp.Sum(Xb[i, k] * wb[k], (k, 0, m - 1))
    assert ac.einsum("ij,j->i", X, w) == X @ w == ac.dot(X, w) == ac.tensordot(X, w, 1)
    assert ac.einsum("ij->ji", X) == X.T


def test_contracted_size_errors_and_constraints(rng):
    with pytest.raises(ShapeError, match="never be equal"):
        ac.matrix("A", (2, 3)) @ ac.vector("b", 4)
    with pytest.raises(ShapeError):
        ac.scalar("s") @ ac.vector("b", 4)
    with pytest.raises(ShapeError):
        ac.tensordot(ac.matrix("A", (2, 3)), ac.matrix("B", (2, 3)), axes=3)
    with pytest.raises(ShapeError):
        ac.einsum("ij,jk->ik", ac.matrix("A", (2, 3)), ac.matrix("B", (4, 5)))
    with pytest.raises(ShapeError):
        ac.einsum("ij", ac.vector("v", 3))
    with pytest.raises(ShapeError):
        ac.einsum("ij,j->ik", ac.matrix("A", (2, 3)), ac.vector("v", 3))
    with pytest.raises(ShapeError):
        ac.einsum("...i->i", ac.matrix("A", (2, 3)))
    X, v = ac.matrix("X", (n, m)), ac.vector("v", p)
    y = X @ v                                  # m == p is checked at call time
    with pytest.raises(ShapeError, match="m=3 but p=5"):
        ac.evaluate(y, {X: rng.normal(size=(4, 3)), v: rng.normal(size=5)})
