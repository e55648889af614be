"""SciPy helpers against independent references (closed forms, lambdify, differences)."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize

import algebrac as ac

x, y, s, k = sp.symbols("x y s k")


def test_low_level_callable_quad_and_nquad():
    f = ac.compile(sp.exp(-x * x - y * y) * (1 + s * x * x), [x, y, s])
    llc = f.low_level_callable()
    assert llc.signature == "double (int, double *)"
    # nquad over both variables, s passed as an argument: closed form pi*(1 + s/2).
    value, _ = integrate.nquad(llc, [(-9, 9), (-9, 9)], args=(0.5,))
    assert abs(value - np.pi * 1.25) < 1e-10
    # quad: x integrated, y and s as args -> exp(-y^2) * sqrt(pi) * (1 + s/2).
    value, _ = integrate.quad(llc, -9, 9, args=(0.3, 2.0))
    np.testing.assert_allclose(value, np.exp(-0.09) * np.sqrt(np.pi) * 2.0, rtol=1e-12)
    with pytest.warns(integrate.IntegrationWarning):  # a wrong argument count gives NaN
        bad, _ = integrate.quad(llc, 0, 1, args=(1.0,))
    assert np.isnan(bad)
    # A SciPy special function inside the C callback (scipy.special.cython_special).
    j0 = ac.compile(sp.besselj(0, x) * s, [x, s]).low_level_callable()
    from scipy.special import j0 as j0_ref

    value, _ = integrate.quad(j0, 0, 5, args=(2.0,))
    np.testing.assert_allclose(value, 2 * integrate.quad(j0_ref, 0, 5)[0], rtol=1e-13)
    with pytest.raises(ac.SignatureError, match="one output"):
        ac.compile([x, y], [x, y], backend="numpy").low_level_callable()


def test_ode_rhs_sparse_jacobian_and_structural_zeros():
    n = 6
    u = sp.symbols(f"u0:{n}")
    t = sp.Symbol("t")
    # A reaction-diffusion chain; u1's equation has a u2 term that cancels.
    rhs = [k * ((u[i - 1] if i else 0) - 2 * u[i] + (u[i + 1] if i < n - 1 else 0))
           + u[i] * (1 - u[i]) * sp.cos(t) for i in range(n)]
    rhs[1] += u[5] * u[2] - u[2] * u[5]  # SymPy folds this to nothing: still a zero
    rhs[3] += sp.sin(u[0]) ** 2 + sp.cos(u[0]) ** 2 - 1  # not folded: d/du0 simplifies to 0
    system = ac.ode(rhs, u, t=t, params=[k])
    dense_ref = sp.lambdify([t, u, k], sp.Matrix(rhs).jacobian(u))
    pattern = system.jac_sparsity.toarray() != 0
    expected = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1
    assert np.array_equal(pattern, expected) and system.nnz == expected.sum()
    rng = np.random.default_rng(5)
    for _ in range(3):
        y0, t0 = rng.uniform(-1, 1, n), rng.uniform(0, 3)
        np.testing.assert_allclose(system.fun(t0, y0, 0.7),
                                   sp.lambdify([t, u, k], rhs)(t0, y0, 0.7), rtol=1e-13,
                                   atol=1e-15)
        jac = system.jac(t0, y0, 0.7)
        assert jac.format == "csc"
        np.testing.assert_allclose(jac.toarray(), np.asarray(dense_ref(t0, y0, 0.7), float),
                                   rtol=1e-13, atol=1e-15)
    sol = integrate.solve_ivp(system.fun, (0, 2), np.linspace(0.1, 0.6, n), args=(0.7,),
                              method="BDF", jac=system.jac, rtol=1e-9, atol=1e-11)
    ref = integrate.solve_ivp(sp.lambdify([t, u, k], rhs), (0, 2), np.linspace(0.1, 0.6, n),
                              args=(0.7,), method="DOP853", rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-6)
    with pytest.raises(ac.SignatureError, match="parameter"):
        system.fun(0.0, np.zeros(n))


def test_ode_constant_jacobian_entries_are_computed_once():
    """A linear system's Jacobian is all constants: no compiled Jacobian at all, and the
    entries are correctly rounded (1/3, sqrt(2), pi/7 as float() of the exact value)."""
    u = sp.symbols("u0:3")
    A = sp.Matrix([[sp.Rational(-1, 3), sp.sqrt(2), 0], [0, -1, sp.pi / 7],
                   [1, 0, sp.Rational(-2, 7)]])
    system = ac.ode(list(A * sp.Matrix(u)), u)
    exact = np.array([[float(sp.N(e, 30)) for e in r] for r in A.tolist()])
    jac = system.jac(0.0, [0.3, -0.2, 5.0])
    assert np.array_equal(jac.toarray(), exact) and system.nnz == 6
    assert system._jac_module is None  # nothing left to compile
    np.testing.assert_allclose(system.fun(0.0, [0.3, -0.2, 5.0]), exact @ [0.3, -0.2, 5.0],
                               rtol=1e-15)
    # Mixed: constants and a varying entry in one column, kept in CSC order.
    mixed = ac.ode([u[1] - u[0] ** 2, 2 * u[0] + u[2], u[0] * u[1]], u)
    y0 = np.array([0.5, -1.5, 2.0])
    want = [[-2 * y0[0], 1, 0], [2, 0, 1], [y0[1], y0[0], 0]]
    assert np.array_equal(mixed.jac(0.0, y0).toarray(), want)


def test_objective_value_gradient_and_hessp():
    a, b = sp.symbols("a b")
    f = sp.log(1 + sp.exp(a * b)) + (a - k) ** 2 * sp.cos(b) + b**4
    obj = ac.objective(f, [a, b], params=[k])
    point, p = np.array([0.3, -1.2]), np.array([0.7, 0.4])
    value, g = obj.fun(point, 2.0)
    ref_f = sp.lambdify([a, b, k], f)
    np.testing.assert_allclose(value, ref_f(*point, 2.0), rtol=1e-14)
    eps = 1e-6  # central differences: error ~ eps^2 * f''' ~ 1e-11
    fd = [(ref_f(*(point + eps * e), 2.0) - ref_f(*(point - eps * e), 2.0)) / (2 * eps)
          for e in np.eye(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-8)
    hess = np.asarray(sp.lambdify([a, b, k], sp.hessian(f, [a, b]))(*point, 2.0), float)
    np.testing.assert_allclose(obj.hessp(point, p, 2.0), hess @ p, rtol=1e-13)
    assert obj.value(point, 2.0) == value
    res = optimize.minimize(obj.fun, [1.0, 0.5], args=(2.0,), jac=True, hessp=obj.hessp,
                            method="trust-krylov")
    ref = optimize.minimize(ref_f_vec := (lambda z, kk: ref_f(z[0], z[1], kk)), [1.0, 0.5],
                            args=(2.0,), method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 5000})
    assert callable(ref_f_vec)
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-9)


def test_ode_long_system_in_parts(monkeypatch):
    """A system whose body is cut into part functions (cpu/parts.py) evaluates exactly as
    the one-function build, and as lambdify."""
    from algebrac.cpu import parts

    def system(name):
        u = sp.symbols(f"{name}0:12")
        rhs = [(u[i - 1] if i else 0) - 2 * u[i] + sp.exp(-u[i] ** 2) * u[(i + 5) % 12]
               for i in range(12)]
        rhs[0] += sp.Add(*[sp.sin(u[j]) / (j + 1) for j in range(12)])  # a long sum
        return rhs, u

    rhs, u = system("u")
    whole = ac.ode(rhs, u)
    whole.jac(0.0, np.zeros(12))  # built now, before the patch
    monkeypatch.setattr(parts, "PART_STATEMENTS", 6)
    monkeypatch.setattr(parts, "CHAIN_TERMS", 4)
    rhs2, u2 = system("v")  # another formula key; the same C but for the split
    split = ac.ode(rhs2, u2)
    y = np.random.default_rng(3).uniform(-1, 1, 12)
    np.testing.assert_array_equal(split.fun(0.0, y), whole.fun(0.0, y))
    np.testing.assert_array_equal(split.jac(0.0, y).toarray(), whole.jac(0.0, y).toarray())
    np.testing.assert_allclose(split.fun(0.0, y), sp.lambdify([u], rhs)(y), rtol=1e-13,
                               atol=1e-15)
    dense = np.asarray(sp.lambdify([u], sp.Matrix(rhs).jacobian(u))(y), float)
    np.testing.assert_allclose(split.jac(0.0, y).toarray(), dense, rtol=1e-13, atol=1e-15)
