"""Derivatives of plain SymPy formulas: the API's shapes, exactness, conventions, compilation."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.diff import api

x, y, z = sp.symbols("x y z", real=True)
f = sp.exp(-x**2 - y**2) * sp.sin(x * y)

FORMULAS = [
    f,
    x**3 * y - 2 * x * y**2 + sp.Rational(1, 3),
    sp.log(1 + x**2) * sp.sqrt(y) + sp.atan2(y, x),
    x**y + sp.tanh(x * y) * sp.cosh(z),
    sp.erf(x) * sp.gamma(y) + sp.loggamma(x + y),
    ac.log1p(x * y) + ac.expm1(z) * ac.hypot(x, y) + ac.exp2(x) * ac.log2(y) + ac.log10(z),
    ac.sigmoid(x * y) * ac.softplus(z),
    sp.Piecewise((sp.log(x), x > 1), (x - 1, True)) * y,
]


@pytest.mark.parametrize("k", range(len(FORMULAS)))
def test_gradient_equals_sympy_diff(k):
    e = FORMULAS[k]
    syms = sorted(e.free_symbols, key=str)
    for s, g in zip(syms, ac.grad(e, syms)):
        d = g - sp.diff(e, s)
        assert d == 0 or sp.simplify(d) == 0, (s, g)


def test_design_example():
    gx, _ = ac.grad(f, [x, y])
    assert gx == (-2 * x * sp.sin(x * y) + y * sp.cos(x * y)) * sp.exp(-x**2 - y**2)
    assert ac.latex(ac.grad(f, [x, y])).startswith(r"\left[ \left(- 2 x \sin{\left(x y \right)}")
    H = ac.hessian(f, [x, y])
    assert H.shape == (2, 2) and H == H.T
    J = ac.jacobian([f, f**2], [x, y])
    assert J.shape == (2, 2) and sp.simplify(J[1, 0] - 2 * f * J[0, 0]) == 0


def test_results_mirror_wrt():
    assert isinstance(ac.grad(f, x), sp.Expr)
    assert isinstance(ac.grad(f, (x, y)), tuple) and isinstance(ac.grad(f, [x]), list)
    assert ac.hessian(x**3, x) == 6 * x
    assert ac.jacobian(x * y, [x, y]) == sp.Matrix([[y, x]])


def test_hessian_derives_each_entry_once(monkeypatch):
    calls = []
    original = api._derivative
    monkeypatch.setattr(api, "_derivative", lambda e, v: calls.append(v) or original(e, v))
    H = ac.hessian(x**2 * y * z, [x, y, z])
    assert len(calls) == 3 + 6          # three gradients, the upper triangle of second ones
    assert H == H.T


def test_products():
    vx, vy, u = sp.symbols("v_x v_y u")
    d = ac.jvp(f, [x, y], [vx, vy]) - ac.grad(f, x) * vx - ac.grad(f, y) * vy
    assert sp.expand(d) == 0
    assert ac.jvp([x * y, x + y], [x, y], [vx, vy]) == [vx * y + vy * x, vx + vy]
    assert ac.vjp([x * y, x + y], [x, y], [u, 1]) == [u * y + 1, u * x + 1]
    hv = ac.hvp(x**2 * y, [x, y], [vx, vy])
    H = ac.hessian(x**2 * y, [x, y])
    assert [sp.expand(a) for a in hv] == [sp.expand(a) for a in H * sp.Matrix([vx, vy])]


def test_diff_orders():
    assert ac.diff(x**4, x, 3) == 24 * x and ac.diff(x**4, x, 0) == x**4
    with pytest.raises(ac.SignatureError):
        ac.diff(x, x, -1)
    with pytest.raises(ac.SignatureError, match="symbols or input tensors"):
        ac.grad(x**2, x + 1)


def test_conventions_at_kinks():
    assert ac.grad(ac.relu(x), x).subs(x, 0) == 0
    assert ac.grad(sp.Max(x, y), x) == sp.Piecewise((1, x >= y), (0, True))
    assert ac.grad(sp.Max(x, y), y) == sp.Piecewise((1, y > x), (0, True))
    assert ac.grad(sp.Abs(x), x) == sp.sign(x)
    assert ac.grad(sp.floor(x) + sp.sign(x) * 0 + x, x) == 1
    assert ac.grad(sp.Mod(x, y), y) == -sp.floor(x / y)


def test_untaken_branch_is_never_evaluated():
    g = ac.grad(sp.Piecewise((sp.sqrt(x), x > 0), (0, True)), x)
    with np.errstate(all="raise"):
        got = ac.evaluate(g, {x: np.array([-1.0, 0.0, 4.0])})
    np.testing.assert_array_equal(got, [0.0, 0.0, 0.25])


def test_sigmoid_cross_entropy_collapses():
    t = sp.Symbol("t", real=True)
    s = ac.sigmoid(x)
    loss = -(t * sp.log(s) + (1 - t) * sp.log(1 - s))
    assert ac.grad(loss, x) == s - t
    # Alone, the derivative keeps the accurate form sigma(x) sigma(-x) (not sigma (1 - sigma)).
    assert ac.grad(s, x) == s * ac.sigmoid(-x)


def test_log_sigmoid_cross_entropy_collapses():
    t = sp.Symbol("t", real=True)
    loss = -(t * ac.log_sigmoid(x) + (1 - t) * ac.log_sigmoid(-x))
    assert ac.grad(loss, x) == ac.sigmoid(x) - t


def test_value_and_gradient_compile_into_one_kernel():
    xs = np.linspace(-1.0, 1.0, 7)
    fg = ac.compile([f, *ac.grad(f, [x, y])], [x, y])
    got = fg(xs, 0.5)
    want = [ac.evaluate(e, {x: xs, y: 0.5}) for e in [f, *ac.grad(f, [x, y])]]
    for g_, w_ in zip(got, want):
        np.testing.assert_allclose(g_, w_, rtol=1e-13, atol=1e-15)


def test_ac_diff_survives_submodule_imports():
    """``algebrac.diff`` is the package and the function at once (see its __init__)."""
    import algebrac.diff.forward  # noqa: F401
    from algebrac.diff import grad

    assert ac.diff(x**3, x) == 3 * x**2 and ac.diff(x**3, x, 2) == 6 * x
    assert grad is ac.grad
