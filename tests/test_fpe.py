"""Floating-point warnings behave as NumPy's: the same at every size and thread count.

OpenMP workers have their own status flags; compiled kernels hand them to the
calling thread, so ``np.errstate`` works on large (threaded) inputs too, while
an untaken ``Piecewise`` branch never raises anything.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

import algebrac as ac

x = sp.Symbol("x")


@pytest.fixture(scope="module")
def plain():
    return ac.compile(sp.log(x), [x])


@pytest.fixture(scope="module")
def guarded():
    return ac.compile([sp.Piecewise((sp.log(x), x > 0), (0, True)),
                       sp.Piecewise((1 / x, x > 0), (sp.exp(x), x < -2), (0, True))], [x])


@pytest.mark.parametrize("n", [7, 1_000_003])  # below and far above the threading cutoff
def test_invalid_log_warns_like_numpy(plain, n):
    a = np.full(n, 2.0)
    a[n // 2] = -1.0  # on large inputs a worker thread owns this element
    with pytest.warns(RuntimeWarning, match="invalid value"):
        out = plain(a)
    assert np.isnan(out[n // 2])
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        plain(a)


@pytest.mark.parametrize("n", [7, 1_000_003])
def test_untaken_branches_never_warn(guarded, n):
    a = np.linspace(-1.0, 1.0, n)
    a[0] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            log_part, recip = guarded(a)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(log_part, np.where(a > 0, np.log(a), 0.0), rtol=1e-15)
        np.testing.assert_allclose(recip, np.where(a > 0, 1 / a, 0.0), rtol=1e-15)
    assert recip[0] == 0.0 and log_part[0] == 0.0


def _flags(f, *args) -> set:
    """The floating-point warnings ``f(*args)`` raises, as NumPy names them."""
    raised = set()
    for kind in ("divide", "over", "under", "invalid"):
        with np.errstate(all="ignore", **{kind: "raise"}):
            try:
                f(*args)
            except FloatingPointError:
                raised.add(kind)
    return raised


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vector_math_raises_numpys_flags_only(dtype):
    """glibc's vector exp raises invalid at +-inf and overflow at -1e308, its sin
    overflow at 1e308, its float32 pow overflow at NaN: a block that raised a flag runs
    again through scalar libm for its flags, so they are NumPy's, and the values stay
    those of the vector run (the same bits with the flagged block elsewhere), also when
    the output is the input."""
    exprs = [sp.exp(x), sp.sin(x), x**sp.Rational(1, 3) + 1]
    alone = [ac.compile(e, [x], stabilize=False) for e in exprs]
    together = ac.compile(exprs, [x], stabilize=False)
    numpy = [np.exp, np.sin, lambda v: np.power(v, dtype(1 / 3)) + 1]
    for v in (np.inf, -np.inf, np.nan, 0.0, -1e308, 1e308, -1.0, 710.0):
        a = np.linspace(0.5, 2, 4000).astype(dtype)
        with np.errstate(all="ignore"):
            a[1500:1600] = v   # in blocks of 1024 elements: one flagged, three not
            got, rolled = together(a), together(np.roll(a, 1024))
        for k, f in enumerate(numpy):
            assert _flags(alone[k], a) == _flags(f, a), (v, exprs[k])
            in_place = _flags(lambda: alone[k](c := a.copy(), out=c))  # reruns from a copy
            assert in_place == _flags(f, a), (v, exprs[k])
            np.testing.assert_array_equal(np.roll(got[k], 1024), rolled[k])
