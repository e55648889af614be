"""digamma (polygamma of order 0) compiles, so gradients of gamma and loggamma do too."""
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
    with pytest.raises(ac.UnsupportedError, match="order 0"):
        ac.compile(sp.polygamma(1, x), [x])
