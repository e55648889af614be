"""Helpers for testing compiled formulas against NumPy (``sympy.lambdify``) and mpmath.

:func:`assert_matches_reference` compiles formulas on each backend and compares
every output with ``sympy.lambdify(args, exprs, "numpy")`` (see
:func:`assert_values_match` for what must agree); ``ulp_distance`` and
``max_ulp`` measure errors in ULPs; ``mpmath_reference`` is the high-precision value.

Tolerances
----------
Compiled loops call glibc's vector math library (libmvec, documented at up to
4 ULP for the functions algebrac uses) and NumPy calls its own or the scalar
libm (0.5-4 ULP), so the two sides of a comparison differ by a few ULP per
function call, and a formula adds such errors up, amplified by its condition
number.  The default relative tolerances, ``DEFAULT_RTOL``, budget for
formulas of up to about 20 operations with condition numbers up to about 10
(20 x 4 ULP x 10 = 800 ULP for one side at worst, typically far less):

* float64: ``1e-13`` (about 450 ULP, ``eps = 2.2e-16``);
* float32: ``1e-5`` (about 84 ULP, ``eps = 1.2e-7``): both the compiled code
  and NumPy's reference round every intermediate to float32, and float32's
  libmvec and NumPy loops are within 4 ULP.

Measured on the 60+ formula corpus (tests/test_corpus.py): worst relative
error 5.8e-15 (26 ULP) in float64 and 5.5e-7 (5 ULP) in float32, so both
defaults keep a margin of about 20 while a wrong operator or branch
(relative errors of order 1) cannot pass.

Pass ``atol`` where a formula cancels (a difference of O(1) terms that is
near zero) and ``ulps`` for single-function accuracy checks.

>>> import numpy as np, sympy as sp
>>> x, y = sp.symbols("x y")
>>> _ = assert_matches_reference([x * y + 1, sp.exp(-x) * sp.sin(y)], [x, y],
...                              (np.linspace(-2, 2, 5), np.float64(0.5)), backends=("numpy",))
>>> int(max_ulp(np.float32(1.0), np.nextafter(np.float32(1.0), np.float32(2.0))))
1
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import mpmath
import numpy as np
import sympy as sp

__all__ = [
    "DEFAULT_RTOL", "MPMATH_MODULES", "REFERENCE_MODULES", "assert_matches_reference",
    "assert_values_match", "expected_dtype", "lambdify_reference", "max_ulp",
    "mpmath_reference", "simd_calls", "ulp_distance",
]

DEFAULT_RTOL = {np.dtype(np.float64): 1e-13, np.dtype(np.float32): 1e-5}


def _lgamma(x):
    """C99 ``lgamma``, log|gamma(x)| (``inf`` at the poles and at -inf), element by element.

    ``scipy.special.gammaln`` returns ``inf`` for ``|x| < 2**-1024`` (where
    ``1/x`` overflows) and ``-inf`` at ``-inf``; Python's ``math.lgamma`` does not.
    """
    def one(v):
        try:
            return math.lgamma(v)
        except (ValueError, OverflowError):  # a pole (0, a negative integer) or huge |x|
            return math.inf

    return np.vectorize(one, otypes=[np.float64])(x)


# lambdify's "numpy" printer leaves some sympy.codegen functions untranslated and
# maps erf/gamma/loggamma to the scalar math module; these give array versions.
def _special_names(mp: bool) -> dict:
    """algebrac's SciPy-named special functions (``ibeta``, ``hyp2f1``, ...) for lambdify."""
    from .expr.special import SPECIAL_FUNCTIONS
    from .mathfuncs import FUNCTIONS

    return {f.__name__: f._call_mp if mp else FUNCTIONS[f].numpy for f in SPECIAL_FUNCTIONS}


REFERENCE_MODULES = [
    {"Cbrt": np.cbrt, "Sqrt": np.sqrt, "exp2": np.exp2, "log2": np.log2,
     "log10": np.log10, "fma": lambda a, b, c: a * b + c, "gammaln": _lgamma,
     **_special_names(mp=False)},
    "scipy",
    "numpy",
]

# lambdify's "mpmath" printer leaves these sympy.codegen functions untranslated
# (and mpmath's cbrt of a negative number is the complex principal root).
MPMATH_MODULES = [
    {"exp2": lambda v: mpmath.power(2, v), "Cbrt": lambda v: mpmath.sign(v) * mpmath.cbrt(abs(v)),
     "fma": lambda a, b, c: a * b + c, **_special_names(mp=True)},
    "mpmath",
]


def _ordered(a: np.ndarray) -> np.ndarray:
    """Float bits as int64 that increase with the value (``-0.0`` and ``0.0`` both map to 0)."""
    a = np.asarray(a)
    if a.dtype == np.float64:
        i = a.view(np.int64)
        return np.where(i < 0, np.int64(-(2**63)) - i, i)
    if a.dtype == np.float32:
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, np.int64(-(2**31)) - i, i)
    raise TypeError(f"ulp_distance needs float32 or float64 arrays, got {a.dtype}")


def ulp_distance(actual, desired) -> np.ndarray:
    """How many representable values of their dtype lie between ``actual`` and ``desired``.

    Both arguments must have the same float dtype (``desired`` is cast to
    ``actual``'s when it is not an array of the same dtype).  ``+0.0`` and
    ``-0.0`` are 0 ULP apart, ``inf`` is one ULP above the largest finite
    value, two NaNs are 0 apart and a NaN is ``inf`` ULP from any number.
    The result is float64 (exact up to 2**53 ULP).

    >>> import numpy as np
    >>> one = np.float64(1.0)
    >>> ulp_distance(one, np.nextafter(one, 2.0)).item()
    1.0
    >>> ulp_distance(np.float32([-0.0, 1e-45, np.nan]), np.float32([0.0, -1e-45, np.nan])).tolist()
    [0.0, 2.0, 0.0]
    """
    a = np.asarray(actual)
    d = np.asarray(desired)
    if d.dtype != a.dtype:
        d = d.astype(a.dtype)
    a, d = np.broadcast_arrays(a, d)
    ia, id_ = _ordered(np.ascontiguousarray(a)), _ordered(np.ascontiguousarray(d))
    same_side = (ia >= 0) == (id_ >= 0)
    with np.errstate(over="ignore"):
        close = np.abs(ia - id_).astype(np.float64)
    far = np.abs(ia).astype(np.float64) + np.abs(id_).astype(np.float64)
    dist = np.where(same_side, close, far)
    na, nd = np.isnan(a), np.isnan(d)
    dist = np.where(na | nd, np.where(na & nd, 0.0, np.inf), dist)
    return dist


def max_ulp(actual, desired) -> float:
    """The largest :func:`ulp_distance` between two arrays (0.0 for empty arrays)."""
    dist = ulp_distance(actual, desired)
    return float(dist.max()) if dist.size else 0.0


def expected_dtype(inputs: Sequence) -> np.dtype:
    """The dtype NumPy would compute a float32/float64 ufunc in for ``inputs``.

    NEP 50: Python ``bool``/``int``/``float`` scalars are weak and do not
    promote; integer and bool inputs alone compute in float64; float16 and
    small integers mixed with float32 stay float32.

    >>> import numpy as np
    >>> expected_dtype([np.float32([1.0]), 2.0]), expected_dtype([np.float32(1), np.float64(2)])
    (dtype('float32'), dtype('float64'))
    >>> expected_dtype([1, np.int8(2)]), expected_dtype([np.float16(1), np.int16(3)])
    (dtype('float64'), dtype('float32'))
    """
    def integral(v):
        return isinstance(v, (bool, int, np.integer, np.bool_)) or (
            getattr(v, "dtype", None) is not None and v.dtype.kind in "biu")

    if all(integral(v) for v in inputs):
        return np.dtype(np.float64)
    dt = np.result_type(*inputs)
    if dt.kind in "biu":
        return np.dtype(np.float64)
    return np.dtype(np.float32) if dt.itemsize <= 4 else np.dtype(np.float64)


def lambdify_reference(exprs, args, inputs, dtype=None) -> tuple:
    """``sympy.lambdify(args, exprs, "numpy")`` on ``inputs``: one array per expression.

    NumPy's floating-point warnings are silenced (``np.errstate(all="ignore")``)
    since lambdify evaluates every ``Piecewise`` branch everywhere.  Each result
    is broadcast to the inputs' common shape and cast to ``dtype`` (default:
    :func:`expected_dtype`), since lambdify's ``select`` may promote.
    """
    exprs = list(exprs) if isinstance(exprs, (list, tuple)) else [exprs]
    dtype = np.dtype(dtype) if dtype is not None else expected_dtype(inputs)
    shape = np.broadcast_shapes(*[np.shape(v) for v in inputs])
    f = sp.lambdify(list(args), exprs, modules=REFERENCE_MODULES)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = f(*inputs)
        return tuple(np.broadcast_to(np.asarray(v).astype(dtype), shape) for v in values)


def mpmath_reference(expr, args, inputs, *, dps: int = 50, dtype=None) -> np.ndarray:
    """``expr`` evaluated at ``dps`` digits by mpmath at every element, rounded to ``dtype``.

    ``inputs`` are taken exactly as the float values they hold.  Complex or
    undefined results (outside the real domain) become NaN.  The rounding to
    float32 goes through float64; a double rounding can therefore put the
    result 1 ULP off in ties, which are vanishingly rare for transcendental values.

    >>> import numpy as np, sympy as sp
    >>> x = sp.Symbol("x")
    >>> mpmath_reference(sp.exp(x), [x], [np.float32([0.0, 1.0])]).tolist()
    [1.0, 2.7182817459106445]
    """
    dtype = np.dtype(dtype) if dtype is not None else expected_dtype(inputs)
    arrays = np.broadcast_arrays(*[np.asarray(v, dtype=np.float64) for v in inputs])
    f = sp.lambdify(list(args), expr, modules=MPMATH_MODULES)
    out = np.empty(arrays[0].shape if arrays else (), dtype=np.float64)
    with mpmath.workdps(dps):
        for idx in np.ndindex(out.shape):
            try:
                value = f(*[mpmath.mpf(float(a[idx])) for a in arrays])
            except (ValueError, ZeroDivisionError, OverflowError):
                out[idx] = np.nan
                continue
            if isinstance(value, mpmath.mpc):
                value = value.real if value.imag == 0 else mpmath.nan
            out[idx] = float(value)
    with np.errstate(over="ignore"):
        return out.astype(dtype)


def _describe(mask, actual, desired, inputs, limit=5) -> str:
    lines = []
    for idx in list(zip(*np.nonzero(mask)))[:limit]:
        at = f"  at {tuple(int(i) for i in idx)}"
        if inputs is not None:
            at += " (inputs " + ", ".join(
                repr(np.asarray(np.broadcast_to(v, mask.shape)[idx]).item()) for v in inputs) + ")"
        lines.append(f"{at}: got {actual[idx]!r}, want {desired[idx]!r}")
    more = int(mask.sum()) - len(lines)
    if more > 0:
        lines.append(f"  ... and {more} more")
    return "\n".join(lines)


def assert_values_match(actual, desired, *, rtol: float | None = None, ulps: float | None = None,
                        atol: float = 0.0, signed_zeros: bool = True, inputs=None,
                        label: str = "") -> None:
    """Compare one computed array with a reference array of the same dtype.

    NaN masks must agree exactly, infinities must agree in sign, both zero
    means same sign bit (when ``signed_zeros``), and finite values must be
    within ``atol + rtol*|desired|`` (``rtol`` defaults to ``DEFAULT_RTOL`` of
    the dtype) or, when ``ulps`` is given, within ``ulps`` units in the last
    place (either criterion suffices when both are given).  ``inputs`` are
    only used to describe mismatches.

    >>> import numpy as np
    >>> assert_values_match(np.array([1.0, np.nan, -0.0]), np.array([1.0 + 1e-15, np.nan, -0.0]))
    >>> assert_values_match(np.array([0.0]), np.array([-0.0]))
    Traceback (most recent call last):
    ...
    AssertionError: signed zeros differ at 1 of 1 elements:
      at (0,): got np.float64(0.0), want np.float64(-0.0)
    """
    a, d = np.asarray(actual), np.asarray(desired)
    prefix = f"{label}: " if label else ""
    if a.dtype != d.dtype:
        raise AssertionError(f"{prefix}dtype {a.dtype} != reference dtype {d.dtype}")
    if a.shape != d.shape:
        raise AssertionError(f"{prefix}shape {a.shape} != reference shape {d.shape}")
    if a.dtype.kind != "f":
        raise AssertionError(f"{prefix}expected a float array, got {a.dtype}")
    if rtol is None and ulps is None:
        rtol = DEFAULT_RTOL.get(a.dtype, 1e-13)

    def fail(what, mask):
        raise AssertionError(f"{prefix}{what} at {int(mask.sum())} of {mask.size} elements:\n"
                             + _describe(mask, a, d, inputs))

    nan_a, nan_d = np.isnan(a), np.isnan(d)
    if (bad := nan_a != nan_d).any():
        fail("NaN masks differ", bad)
    inf_a, inf_d = np.isinf(a), np.isinf(d)
    if (bad := (inf_a | inf_d) & ~(a == d)).any():
        fail("infinities differ", bad)
    if signed_zeros and (bad := (a == 0) & (d == 0) & (np.signbit(a) != np.signbit(d))).any():
        fail("signed zeros differ", bad)
    finite = np.isfinite(a) & np.isfinite(d)
    ok = np.ones(a.shape, dtype=bool)
    with np.errstate(all="ignore"):
        if rtol is not None:
            ok = np.abs(a.astype(np.float64) - d) <= atol + rtol * np.abs(d.astype(np.float64))
        if ulps is not None:
            by_ulp = ulp_distance(a, d) <= ulps
            ok = by_ulp if rtol is None else ok | by_ulp
    if (bad := finite & ~ok).any():
        with np.errstate(all="ignore"):
            rel = np.abs(a - d) / np.abs(d)
        worst = float(np.nanmax(np.where(bad, rel, np.nan)))
        fail(f"values differ (rtol={rtol}, atol={atol}, ulps={ulps}; worst relative error "
             f"{worst:.3g}, worst {max_ulp(a[bad], d[bad]):.0f} ULP)", bad)


def simd_calls(uf) -> list:
    """The libmvec vector functions a compiled (cpu backend) formula calls, e.g. ``['exp']``.

    A loop that the C compiler vectorises calls glibc's ``_ZGV<isa>N<lanes>v_<name>``
    variants; one that stays scalar (a call without a vector variant, such as
    ``tgamma``, or a ``Piecewise``) calls none.  Read from the built module's
    dynamic symbol names.  Empty for the numpy backend.
    """
    import re

    from .cpu import build

    if getattr(uf, "ufunc", None) is None:
        return []
    for module in list(build._loaded.values()):
        # a library makes one ufunc per name over its loops (native.Library.make_ufunc)
        if any(u is uf.ufunc for _, u in module._named.values()):
            with open(module.__file__, "rb") as f:
                binary = f.read()
            return sorted({m.decode() for m in re.findall(rb"_ZGV[bcde]N\d+v+_(\w+)", binary)})
    raise LookupError("the compiled module of this formula is not loaded")


def _snapshot(inputs):
    return [np.array(v, copy=True) for v in inputs]


def assert_matches_reference(exprs, args, inputs, backends=("numpy", "cpu"), rtol=None,
                             ulps=None, *, atol: float = 0.0, signed_zeros: bool = True,
                             dtype=None) -> dict:
    """Compile ``exprs`` on every backend and compare each result with ``sympy.lambdify``.

    Parameters
    ----------
    exprs : one SymPy expression or a list (compiled as one multi-output ufunc)
    args : the argument symbols, in call order
    inputs : one value (array or scalar) per argument
    backends : the ``ac.compile`` backends to check
    rtol, ulps, atol, signed_zeros : tolerances, see :func:`assert_values_match`
        and the module docstring for the defaults and why
    dtype : the dtype every output must have (default :func:`expected_dtype`)

    Returns a dict mapping each backend to the tuple of its outputs.  Each output
    must have the expected dtype and broadcast shape, be an ndarray exactly when
    that shape is not ``()`` (as ufuncs return), match the reference values, and
    leave the inputs unmodified.

    >>> import numpy as np, sympy as sp
    >>> x = sp.Symbol("x")
    >>> out = assert_matches_reference(sp.Piecewise((1 / x, x > 0), (0, True)), [x],
    ...                                [np.array([-1.0, 0.0, 4.0])], backends=("numpy",))
    >>> out["numpy"][0].tolist()
    [0.0, 0.0, 0.25]
    """
    from . import compile as ac_compile

    single = not isinstance(exprs, (list, tuple))
    expr_list = [exprs] if single else list(exprs)
    dtype = np.dtype(dtype) if dtype is not None else expected_dtype(inputs)
    shape = np.broadcast_shapes(*[np.shape(v) for v in inputs])
    want = lambdify_reference(expr_list, args, inputs, dtype)
    results = {}
    for backend in backends:
        before = _snapshot(inputs)
        uf = ac_compile(exprs, list(args), backend=backend)
        got = uf(*inputs)
        got = (got,) if single else tuple(got)
        if len(got) != len(expr_list):
            raise AssertionError(f"{backend}: {len(got)} outputs for {len(expr_list)} formulas")
        for k, (g, w) in enumerate(zip(got, want)):
            label = f"{backend} backend, output {k} ({str(expr_list[k])[:60]})"
            if isinstance(g, np.ndarray) != (shape != ()):
                raise AssertionError(f"{label}: returned {type(g).__name__} for shape {shape}")
            assert_values_match(g, w, rtol=rtol, ulps=ulps, atol=atol, signed_zeros=signed_zeros,
                                inputs=inputs, label=label)
        for k, (b, v) in enumerate(zip(before, inputs)):
            if not np.array_equal(b, np.asarray(v), equal_nan=True):
                raise AssertionError(f"{backend}: input {k} was modified")
        results[backend] = got
    return results


# ---- gradients: verify_grad lives with the derivatives (algebrac/diff/verify.py) ------------
from .diff.verify import GradientError, verify_grad  # noqa: E402

__all__ += ["GradientError", "verify_grad"]
