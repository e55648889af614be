"""NumPy and mpmath twins of the stable C helpers in ``algebrac/cpu/algebrac_math.h``.

* ``np_<name>``: the same formulas in NumPy, for the reference interpreter,
  ``ac.evaluate`` and ``sympy.lambdify``.  Branch-free like the C helpers, with
  every branch seeing a clamped argument, so the branch not taken never
  overflows or warns; NaN propagates.
* ``mp_<name>``: the definition at mpmath's working precision (``evalf``,
  ``lambdify(..., "mpmath")``); mpmath's exponents are unbounded, so these only
  avoid cancellation.  Outside the real domain they return NaN, as the float
  kernels do.

Switch-over points: ``log1mexp`` is ``log(-expm1(x))`` above ``-log 2`` and
``log1p(-exp(x))`` below (Maechler 2012), each accurate on its side for every
dtype; ``log_erfc`` is ``log1p(-erf(x))`` below ``1/2`` (``-erf(x) >= -0.53``)
and ``log(erfcx(x)) - x**2`` above (two negative terms: no cancellation);
``erfcx``: see :func:`erfcx_switch`.

>>> import numpy as np
>>> np_softplus(np.array([-800.0, 0.0, 800.0])).tolist()
[0.0, 0.6931471805599453, 800.0]
>>> float(np_log1mexp(np.float64(-1e-20)))
-46.051701859880914
>>> erfcx_switch(np.float64), erfcx_switch(np.float32)
((26.0, 7), (9.0, 5))
"""
from __future__ import annotations

import math

import mpmath
import numpy as np

__all__ = [
    "LN2", "LOG_ERFC_SWITCH", "erfcx_switch",
    "np_sigmoid", "np_log_sigmoid", "np_softplus", "np_log1mexp", "np_logaddexp",
    "np_logdiffexp", "np_xlogy", "np_xlog1py", "np_erfcx", "np_log_erfc", "np_relu",
    "mp_sigmoid", "mp_log_sigmoid", "mp_softplus", "mp_log1mexp", "mp_logaddexp",
    "mp_logdiffexp", "mp_xlogy", "mp_xlog1py", "mp_erfcx", "mp_log_erfc", "mp_relu",
]

LN2 = math.log(2.0)
LOG_ERFC_SWITCH = 0.5


def erfcx_switch(dtype) -> tuple[float, int]:
    """``(x0, terms)``: where ``erfcx`` switches to its asymptotic series, and its length.

    Below ``x0``, ``erfcx(x) = exp(x*x) * erfc(x)`` is computed directly, with
    ``x*x`` split exactly into ``s + e`` (an FMA) so the exponential's argument
    is not rounded.  That needs ``exp(x0**2)`` finite and ``erfc(x0)`` a
    normal number (full relative precision): ``x0`` is the largest integer
    below both limits.  Above ``x0`` the asymptotic series
    ``erfcx(x) = 1/(x sqrt(pi)) * sum_k (-1)**k (2k-1)!! / (2x**2)**k``
    alternates, so its truncation error is below the first omitted term;
    ``terms`` is the smallest count for which that term is below half an ULP
    (``eps/2``) at ``x0``.  The C helpers hard-code these numbers; a test
    checks they match.
    """
    info = np.finfo(dtype)
    overflow = math.sqrt(math.log(float(info.max)))
    lo, hi = 1.0, overflow           # erfc(x) >= tiny: bisect in mpmath
    for _ in range(60):
        mid = (lo + hi) / 2
        if mpmath.erfc(mid) >= float(info.tiny):
            lo = mid
        else:
            hi = mid
    x0 = float(math.floor(min(overflow, lo)))
    t0 = 1.0 / (2.0 * x0 * x0)
    u = float(info.eps) / 2
    terms, term = 1, t0                 # the first omitted term after 1 term: (1)!! t0
    while term > u:
        terms += 1
        term *= (2 * terms - 1) * t0
    return x0, terms


def _f(x):
    """``x`` as a float array (ints compute in float64, float32 stays float32)."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _nanmax(a, b):
    return np.maximum(a, b)   # np.maximum propagates NaN, as the C helper _ac_max


def _nanmin(a, b):
    return np.minimum(a, b)


# ---- NumPy twins of the C helpers ------------------------------------------------------
def np_sigmoid(x):
    """``1/(1 + exp(-x))`` through ``e = exp(-|x|) <= 1``: no overflow for any ``x``."""
    x = _f(x)
    e = np.exp(-np.abs(x))
    return np.where(np.signbit(x), e, np.ones_like(e)) / (1 + e)


def np_softplus(x):
    """``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``."""
    x = _f(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def np_log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -np_softplus(-_f(x))


def np_log1mexp(x):
    """``log(1 - exp(x))`` for ``x <= 0`` (Maechler's switch at ``-log 2``)."""
    x = _f(x)
    c = x.dtype.type(-LN2)
    near = np.log(-np.expm1(_nanmax(x, c)))
    far = np.log1p(-np.exp(_nanmin(x, c)))
    return np.where(x > c, near, far)


def np_logaddexp(a, b):
    """``log(exp(a) + exp(b)) = max(a, b) + log1p(exp(-|a - b|))``; equal infinities kept."""
    a, b = np.broadcast_arrays(_f(a), _f(b))
    a, b = np.asarray(a, np.result_type(a, b)), np.asarray(b, np.result_type(a, b))
    same = a == b
    d = np.where(same, 0, a) - np.where(same, 0, b)   # never inf - inf
    return np.where(same, a + a.dtype.type(LN2),
                    _nanmax(a, b) + np.log1p(np.exp(-np.abs(d))))


def np_logdiffexp(a, b):
    """``log(exp(a) - exp(b)) = a + log1mexp(b - a)`` for ``a >= b``."""
    a, b = np.broadcast_arrays(_f(a), _f(b))
    a, b = np.asarray(a, np.result_type(a, b)), np.asarray(b, np.result_type(a, b))
    same = a == b
    d = np.where(same, 0, b) - np.where(same, 0, a)
    return a + np_log1mexp(d)


def np_xlogy(x, y):
    """``x*log(y)``, and 0 where ``x == 0`` (unless ``y`` is NaN), as ``scipy.special.xlogy``."""
    x, y = np.broadcast_arrays(_f(x), _f(y))
    return x * np.log(np.where((x == 0) & (y == y), 1, y))


def np_xlog1py(x, y):
    """``x*log1p(y)``, and 0 where ``x == 0`` (unless ``y`` is NaN)."""
    x, y = np.broadcast_arrays(_f(x), _f(y))
    return x * np.log1p(np.where((x == 0) & (y == y), 0, y))


def _square_split(x):
    """``(s, e)`` with ``s + e == x*x`` exactly (Dekker's product; NumPy has no fma)."""
    c = x * (134217729.0 if x.dtype == np.float64 else 4097.0)   # 2**27 + 1, 2**12 + 1
    hi = c - (c - x)
    lo = x - hi
    s = x * x
    return s, ((hi * hi - s) + 2 * hi * lo) + lo * lo


def np_erfcx(x):
    """``exp(x**2)*erfc(x)``: SciPy's Faddeeva ``erfcx`` for ``x >= 0``; for ``x < 0``
    (``erfc(x)`` in [1, 2]) ``exp(s)*(1 + e)*erfc(x)`` with ``x*x = s + e`` exactly."""
    import scipy.special

    x = _f(x)
    neg = np.minimum(np.where(np.isnan(x), 0, x), 0)   # the x < 0 branch, clamped
    with np.errstate(over="ignore", invalid="ignore"):  # exp(x*x) = inf is the answer there
        s, e = _square_split(np.maximum(neg, -30))   # below -30, exp(s) overflows anyway
        near = np.exp(s) * (1 + e) * scipy.special.erfc(neg)
    far = scipy.special.erfcx(np.maximum(x, 0))
    return np.where(x < 0, near, np.where(np.isnan(x), x, far)).astype(x.dtype, copy=False)


def np_log_erfc(x):
    """``log(erfc(x))``: ``log1p(-erf(x))`` below 1/2, ``log(erfcx(x)) - x**2`` above."""
    import scipy.special

    x = _f(x)
    c = x.dtype.type(LOG_ERFC_SWITCH)
    lo, hi = _nanmin(x, c), _nanmax(x, c)
    near = np.log1p(-scipy.special.erf(lo).astype(x.dtype, copy=False))
    far = np.log(np_erfcx(hi)) - hi * hi
    return np.where(x < c, near, far)


def np_relu(x):
    """``max(x, 0)`` with NaN propagated and ``relu(-0.0) = 0.0``."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return np.maximum(x, 0)
    return np.where(x > 0, x, np.where(np.isnan(x), x, 0))


# ---- mpmath definitions ------------------------------------------------------------------
def _real(v):
    """mpmath result as a real mpf; complex (outside the real domain) becomes NaN."""
    if isinstance(v, mpmath.mpc):
        return v.real if v.imag == 0 else mpmath.mpf("nan")
    return v


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def mp_softplus(x):
    return mpmath.log1p(mpmath.exp(x))


def mp_log_sigmoid(x):
    return -mpmath.log1p(mpmath.exp(-x))


def mp_log1mexp(x):
    if x > 0:
        return mpmath.mpf("nan")
    if x == 0:
        return mpmath.mpf("-inf")
    # The same switch as the float kernels: no form loses digits on its side.
    return mpmath.log(-mpmath.expm1(x)) if x > -LN2 else mpmath.log1p(-mpmath.exp(x))


def mp_logaddexp(a, b):
    if a == b:   # also +-inf
        return a + mpmath.log(2)
    m = max(a, b)
    return m + mpmath.log1p(mpmath.exp(-abs(a - b)))


def mp_logdiffexp(a, b):
    if b > a or mpmath.isnan(a) or mpmath.isnan(b):
        return mpmath.mpf("nan")
    if a == b:
        return mpmath.mpf("-inf") if not (mpmath.isinf(a) and a > 0) else mpmath.mpf("nan")
    if mpmath.isinf(b):
        return a
    return a + mp_log1mexp(b - a)


def mp_xlogy(x, y):
    if x == 0 and not mpmath.isnan(y):
        return mpmath.mpf(0)
    if y < 0:
        return mpmath.mpf("nan")
    return x * mpmath.log(y) if y != 0 else -x * mpmath.inf


def mp_xlog1py(x, y):
    if x == 0 and not mpmath.isnan(y):
        return mpmath.mpf(0)
    if y < -1:
        return mpmath.mpf("nan")
    return x * mpmath.log1p(y) if y != -1 else -x * mpmath.inf


def mp_erfcx(x):
    if mpmath.isinf(x):
        return mpmath.mpf(0) if x > 0 else mpmath.inf
    if x < 1000:
        return mpmath.exp(x * x) * mpmath.erfc(x)
    # mpmath's erfc overflows its exponent estimate for huge x: the asymptotic series.
    t, term, total, k = 1 / (2 * x * x), mpmath.mpf(1), mpmath.mpf(1), 0
    while abs(term) > mpmath.eps:
        k += 1
        term *= -(2 * k - 1) * t
        total += term
    return total / (x * mpmath.sqrt(mpmath.pi))


def mp_log_erfc(x):
    if mpmath.isinf(x):
        return mpmath.log(2) if x < 0 else mpmath.mpf("-inf")
    if abs(x) < 1:
        return mpmath.log1p(-mpmath.erf(x))
    return mpmath.log(mp_erfcx(x)) - x * x if x > 0 else mpmath.log(mpmath.erfc(x))


def mp_relu(x):
    return x if x > 0 or mpmath.isnan(x) else mpmath.mpf(0)
