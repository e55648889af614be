"""polygamma of orders 0 to 4 compiles, so gradients and Hessians of gamma and loggamma do too."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import algebrac as ac

x = sp.Symbol("x")


@pytest.fixture(scope="module")
def grads():
    exprs = [ac.grad(sp.loggamma(x), x), ac.grad(sp.gamma(x), x)]
    assert exprs[0] == sp.polygamma(0, x)
    return exprs, ac.compile(exprs, [x]), ac.compile(exprs, [x], backend="numpy")


POINTS = np.array([-100.3, -5.5, -3.0045, -0.509, -1e-3, 1e-3, 0.5, 1.4616321449683622,
                   2.002, 9.99, 10.5, 50.0, 1e6])


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 4e-15), (np.float32, 2e-6)])
def test_digamma_matches_mpmath(grads, dtype, rtol):
    _, uf, _ = grads
    a = POINTS.astype(dtype)
    with np.errstate(over="ignore"):  # gamma(50) overflows float32, gamma(1e6) both
        got = uf(a)
    for k, v in enumerate(a):
        psi = mpmath.digamma(mpmath.mpf(float(v)))
        want = (float(psi), float(mpmath.gamma(mpmath.mpf(float(v))) * psi))
        for out, w in zip(got, want):
            assert out[k].dtype == dtype
            with np.errstate(over="ignore"):
                w = float(dtype(w))  # gamma(50) overflows float32, gamma(1e6) both
            if np.isinf(w):
                assert out[k] == w
            else:
                assert abs(float(out[k]) - w) <= rtol * max(1.0, abs(w)), (float(v), out[k], w)


def test_numpy_backend_agrees(grads):
    _, uf, ref = grads
    with np.errstate(over="ignore"):
        pairs = list(zip(uf(POINTS), ref(POINTS)))
    for got, want in pairs:
        # digamma has a root near 1.46: compare absolutely there.
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_poles_and_special_values(grads):
    _, uf, _ = grads
    with np.errstate(all="ignore"):
        psi, _ = uf(np.array([0.0, -1.0, -7.0, np.inf, np.nan]))
    assert np.isnan(psi[[0, 1, 2, 4]]).all() and psi[3] == np.inf


def test_higher_orders_are_rejected_by_name():
    with pytest.raises(ac.UnsupportedError, match="order 0 to 4"):
        ac.compile(sp.polygamma(5, x), [x])


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 2e-15), (np.float32, 2e-6)])
def test_orders_one_to_four_match_mpmath(dtype, rtol):
    """Hessians of loggamma and gamma need trigamma; higher orders follow by the same code."""
    exprs = [sp.polygamma(m, x) for m in range(1, 5)] + [ac.hessian(sp.gamma(x), [x])[0, 0]]
    uf = ac.compile(exprs, [x])
    pts = np.array([-7.3, -0.509, -1e-3, 1e-3, 0.5, 1.4616, 3.0, 19.99, 20.0, 55.5, 1e4])
    with np.errstate(all="ignore"):
        outs = uf(pts.astype(dtype))
    for k, v in enumerate(pts.astype(dtype)):
        with mpmath.workdps(40):
            xv = mpmath.mpf(float(v))
            want = [mpmath.polygamma(m, xv) for m in range(1, 5)]
            want.append(mpmath.gamma(xv) * (mpmath.digamma(xv) ** 2 + mpmath.polygamma(1, xv)))
        for j, w in enumerate(want):
            w = float(w)
            with np.errstate(over="ignore"):
                w32 = float(dtype(w))
            if not np.isfinite(w32):
                continue   # gamma overflows float32
            assert abs(float(outs[j][k]) - w32) <= rtol * 4 * abs(w32), (j + 1, float(v))
    with np.errstate(all="ignore"):
        poles = uf(np.array([0.0, -3.0, np.nan]))
    assert all(np.isnan(o).all() for o in poles[:4])
