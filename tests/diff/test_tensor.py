"""Tensor derivatives: shapes, delta elimination, boundary guards, notation, products.

Goldens pin the readable forms (matrix notation for the logistic gradient,
one guard per real boundary for shifted slices); structural checks make
sure no ``Sum(KroneckerDelta ...)`` and no always-true guard survive.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import algebrac as ac

n, m = ac.dim("n"), ac.dim("m")
X, w, t, b = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n), ac.scalar("b")
x, v, u = ac.vector("x", n), ac.vector("v", n), ac.vector("u", n)
A = ac.matrix("A", (n, n))


def _sums_with_deltas(e: sp.Basic) -> list:
    return [s for s in sp.preorder_traversal(e) if isinstance(s, sp.Sum) and s.has(sp.KroneckerDelta)]


def _conditions(e: sp.Basic) -> list:
    out = []
    for pw in e.atoms(sp.Piecewise):
        out += [c for _, c in pw.args if c is not sp.true]
    return out


# ---- the examples ------------------------------------------------------------------
def test_logistic_regression_gradient_reads_like_a_textbook():
    p = ac.sigmoid(X @ w)
    loss = -ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    g = ac.grad(loss, w)
    assert isinstance(g, ac.Tensor) and g.shape == (m,)
    assert ac.latex(g) == r"X^{T} \left(\sigma\left(X w\right) - t\right)"
    assert ac.latex(g, notation="index") == (
        r"\sum_{k} \left(\sigma\left(\sum_{l} X_{k l} w_{l}\right) - t_{k}\right) X_{k i}")
    assert g == (X.T @ (ac.sigmoid(X @ w) - t))          # the very same formula
    assert str(g) == "X.T @ (sigmoid(X @ w) - t)"
    assert g._repr_latex_().startswith("$")


def test_logistic_with_bias_and_mean():
    p = ac.sigmoid(X @ w + b)
    loss = -ac.mean(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    gw, gb = ac.grad(loss, [w, b])
    assert ac.latex(gw) == (r"\frac{1}{n} X^{T} \left(\sigma\left(X w + b \mathbf{1}\right)"
                            r" - t\right)")
    assert ac.latex(gb) == (r"\frac{1}{n} \mathbf{1}^{T} \left(\sigma\left(X w + b \mathbf{1}"
                            r"\right) - t\right)")
    assert gb.shape == ()


def test_shifted_slices_keep_exactly_the_real_boundaries():
    g = ac.grad(ac.sum((x[1:] - x[:-1] ** 2) ** 2), x)
    i = g.indices[0]
    conds = sorted(map(str, _conditions(g.body)))
    assert conds == sorted([str(i >= 1), str(i <= n - 2)])
    assert not g.body.has(sp.Sum, sp.KroneckerDelta)
    rng = np.random.default_rng(0)
    xv = rng.normal(size=6)
    want = np.zeros(6)
    r = xv[1:] - xv[:-1] ** 2
    want[1:] += 2 * r
    want[:-1] += -4 * xv[:-1] * r
    np.testing.assert_allclose(ac.evaluate(g, {x: xv}), want, rtol=1e-13)


def test_results_substitute_replace_and_evaluate():
    g = ac.grad(ac.sum((x[1:] - x[:-1] ** 2) ** 2), x)
    xv = np.arange(4.0)
    np.testing.assert_allclose(ac.evaluate(g.subs(n, 4), {x: xv}), ac.evaluate(g, {x: xv}))
    np.testing.assert_allclose(ac.evaluate(ac.replace(g, {x: 2 * v}), {v: xv / 2}),
                               ac.evaluate(g, {x: xv}))


def test_full_range_reads_leave_no_guard_and_no_delta():
    f = ac.sum(ac.exp(X @ w)) + ac.sum(X * X) + ac.sum(ac.concatenate([x, w]) ** 2)
    for var in (X, w, x):
        g = ac.grad(f, var)
        assert not _sums_with_deltas(g.body)
        assert not g.body.has(sp.KroneckerDelta)
        assert not _conditions(g.body), (var, g.body)


def test_broadcasting_reduces_over_the_broadcast_axes():
    r = ac.matrix("r", (1, m))
    f = ac.sum((X + w) ** 2) + ac.sum(X * r)
    gw, gr = ac.grad(f, [w, r])
    k = sp.Symbol("k_0", integer=True)
    assert gw.body == 2 * sp.Sum(X.body.xreplace({X.indices[0]: k, X.indices[1]: gw.indices[0]})
                                 + w.body, (k, 0, n - 1))
    assert gr.shape == (1, m) and gr.body.is_Add is False
    assert not _conditions(gr.body) and not gr.body.has(sp.KroneckerDelta)


def test_elementwise_jacobian_is_diagonal():
    J = ac.jacobian(ac.exp(x), x)
    assert J.shape == (n, n)
    i, j = J.indices
    assert J.body == sp.KroneckerDelta(i, j) * sp.exp(x.body)
    assert ac.latex(J) == r"e^{x_{i}} \delta_{i j}"


def test_trace_gradient_is_the_identity():
    g = ac.grad(ac.einsum("ii", A), A)
    assert g.body == sp.KroneckerDelta(*g.indices)


def test_where_untaken_branch_is_exactly_zero():
    g = ac.grad(ac.sum(ac.where(x > 0, ac.sqrt(x), 0) + ac.where(x > 1, ac.log(x - 1), x)), x)
    xv = np.array([-1.0, 0.0, 0.25, 1.0, 4.0])
    with np.errstate(all="raise"):
        got = ac.evaluate(g, {x: xv})
    want = [1.0, 1.0, 1 / (2 * 0.5) + 1, 0.5 + 1, 0.25 + 1 / 3]
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_reshape_and_step_slices_eliminate_their_deltas():
    g = ac.grad(ac.sum(ac.sin(X.reshape(-1))), X)
    assert g.body == sp.cos(X.body)
    Y = ac.matrix("Y", (m, n))
    g2 = ac.grad(ac.sum(ac.sin(X.reshape(m, n)) * Y), X)     # a reshape that is no flatten
    assert g2.body.has(sp.cos(X.body)) and not g2.body.has(sp.Sum, sp.KroneckerDelta)
    gs = ac.grad(ac.sum(x[::2] ** 2), x)
    assert not _sums_with_deltas(gs.body) and not gs.body.has(sp.Sum)


def test_max_distributes_over_ties():
    g = ac.grad(ac.max(x), x)
    np.testing.assert_allclose(ac.evaluate(g, {x: np.array([3.0, 1.0, 3.0])}), [0.5, 0, 0.5])


def test_product_gradient_needs_no_division():
    g = ac.grad(ac.prod(x), x)
    np.testing.assert_allclose(ac.evaluate(g, {x: np.array([0.0, 2.0, 3.0])}), [6.0, 0, 0])


# ---- jacobian, hessian and the products --------------------------------------------------------
def _data(rng, N=4):
    return {x: rng.normal(size=N), v: rng.normal(size=N), u: rng.normal(size=N),
            A: rng.normal(size=(N, N))}


def test_products_agree_with_the_full_matrices(rng):
    vals = _data(rng)
    f = ac.sum(ac.exp(A @ x)) + ac.sum(x**3) * ac.sum(x)
    H = ac.evaluate(ac.hessian(f, x), vals)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)
    np.testing.assert_allclose(ac.evaluate(ac.hvp(f, x, v), vals), H @ vals[v], rtol=1e-12)
    y = ac.sin(A @ x) * x
    J = ac.evaluate(ac.jacobian(y, x), vals)
    np.testing.assert_allclose(ac.evaluate(ac.jvp(y, x, v), vals), J @ vals[v], rtol=1e-12)
    np.testing.assert_allclose(ac.evaluate(ac.vjp(y, x, u), vals), vals[u] @ J, rtol=1e-12)


def test_products_in_matrix_notation():
    assert ac.latex(ac.jvp(ac.sin(A @ x), x, v)) == (
        r"\left(A v\right) \odot \cos\left(A x\right)")
    assert ac.latex(ac.vjp(ac.sin(A @ x), x, u)) == (
        r"A^{T} \left(u \odot \cos\left(A x\right)\right)")
    assert ac.latex(ac.grad(x @ A @ x, x)) == r"A^{T} x + A x"
    assert ac.latex(ac.grad(x @ A @ x, A)) == r"x x^{T}"


def test_hvp_never_forms_the_hessian():
    hv = ac.hvp(ac.sum(ac.exp(A @ x)), x, v)
    assert hv.shape == (n,)
    assert not hv.body.has(sp.KroneckerDelta)


def test_hessian_blocks_mirror(rng):
    B = ac.matrix("B", (n, m))
    f = x @ B @ w + ac.sum(x**2) * ac.sum(w**2)
    blocks = ac.hessian(f, [x, w])
    assert [[blk.shape for blk in row] for row in blocks] == [[(n, n), (n, m)], [(m, n), (m, m)]]
    vals = {x: rng.normal(size=3), w: rng.normal(size=2), B: rng.normal(size=(3, 2))}
    np.testing.assert_allclose(ac.evaluate(blocks[1][0], vals), ac.evaluate(blocks[0][1], vals).T)


def test_results_mirror_wrt_and_carry_dtype_and_constraints():
    y = ac.vector("y", m)
    f = ac.sum((X @ w - t) ** 2) + x @ t
    g = ac.grad(f, (w, x))
    assert isinstance(g, tuple) and [gi.shape for gi in g] == [(m,), (n,)]
    xf = ac.vector("xf", n, dtype="float32")
    assert ac.grad(ac.sum(xf**2), xf).dtype.value == "float32"
    gy = ac.grad(ac.sum(x * y), y)                      # x * y needs n == m
    assert gy.constraints and ac.grad(ac.sum(x * y), [y])[0].constraints == gy.constraints


def test_derivative_by_a_scalar_parameter_and_higher_orders():
    lam = sp.Symbol("lam")
    d1 = ac.diff(ac.exp(lam * x), lam)
    assert d1.shape == (n,) and d1.body == x.body * sp.exp(lam * x.body)
    assert ac.diff(ac.exp(lam * x), lam, 2).body == x.body**2 * sp.exp(lam * x.body)
    assert ac.diff(ac.sum(x**3), x, 2).shape == (n, n)


# ---- errors ------------------------------------------------------------------------------------
def test_errors_say_what_to_do():
    with pytest.raises(ac.ShapeError, match="jacobian"):
        ac.grad(x, x)
    with pytest.raises(ac.SignatureError, match="computed tensor"):
        ac.grad(ac.sum(x), x + 1)
    with pytest.raises(ac.DTypeError, match="int64"):
        ac.grad(ac.sum(x), ac.vector("k", n, dtype=int))
    with pytest.raises(ac.DTypeError, match="bool"):
        ac.grad(ac.sum(x) > 0, x)
    with pytest.raises(ac.ShapeError, match="plain SymPy"):
        ac.grad(sp.Symbol("a") ** 2, x)
    with pytest.raises(ac.SignatureError, match="tangents"):
        ac.jvp(ac.sum(x), [x, w], [v])
