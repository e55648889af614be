"""The stable functions' numeric kernels, against mpmath.

Three implementations of each function are checked on the same points, in
float64 and float32: the C helpers of ``algebrac_math.h`` called directly
(``algebrac._kernels``), the same helpers inlined into a compiled, vectorised
ufunc (one multi-output ``ac.compile``), and the NumPy twins of
``algebrac.stablemath`` (the reference interpreter).  Also: special values,
no spurious floating-point warnings, the erfcx switch-over constants against
their derivation, the symbolic side (derivatives, evalf, lambdify, LaTeX).

Measured maxima (x86-64, glibc 2.36; 2000+ points per function and dtype): every
C kernel <= 3 ULP in both dtypes, NumPy twins <= 3 ULP except ``log_erfc``
(8 ULP in float64 through SciPy's ``erfcx``).  ``logaddexp``/``logdiffexp``
end in a sum ``m + t`` that may cancel; they are held to a few ULP of ``|m| + |t|``.
"""
from __future__ import annotations

import re
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac import _kernels as K
from algebrac import stablemath as sm
from algebrac.cpu.render import has_libmvec
from algebrac.expr import functions as af
from algebrac.testing import simd_calls, ulp_distance

HEADER = (Path(ac.__file__).parent / "cpu" / "algebrac_math.h").read_text()
N = 2000
F64, F32 = np.dtype(np.float64), np.dtype(np.float32)


def _lu(rng, lo, hi, n, signed=False):
    v = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    return v * rng.choice([-1.0, 1.0], n) if signed else v


def _draw(name, rng):
    """Inputs per function: the bulk, the tails and both sides of every switch-over point."""
    u, lu = rng.uniform, lambda *a, **k: _lu(rng, *a, N // 4, **k)
    q = N // 4
    if name in ("sigmoid", "softplus", "log_sigmoid"):
        return [np.concatenate([u(-40, 40, q), lu(1e-10, 1e300, signed=True)])]
    if name == "log1mexp":
        return [-np.concatenate([lu(1e-300, 1), lu(1, 740), u(0.6, 0.8, q)])]
    if name == "logaddexp":
        return [np.concatenate([u(-50, 50, q), lu(1e-5, 1e300, signed=True)]) for _ in range(2)]
    if name == "logdiffexp":
        a = np.concatenate([u(-50, 50, q), lu(1e-5, 1e300, signed=True)])
        return [a, a - np.concatenate([lu(1e-300, 1), lu(1, 700)])]
    if name == "erfcx":
        return [np.concatenate([u(-26, 26, q), lu(20, 1e300), u(25, 27, q), u(8.5, 9.5, q)])]
    if name == "log_erfc":
        return [np.concatenate([u(-30, 30, q), lu(0.1, 1e150), lu(1e-300, 1, signed=True),
                                u(0.4, 0.6, q)])]
    if name == "xlogy":
        return [lu(1e-100, 1e100, signed=True), lu(1e-300, 1e300)]
    if name == "xlog1py":
        return [lu(1e-100, 1e100, signed=True), np.concatenate(
            [lu(1e-300, 1e300)[: q // 2], -lu(1e-300, 1 - 1e-16)[: q - q // 2]])]
    if name == "relu":
        return [u(-10, 10, q)]
    raise KeyError(name)


FUNCS = [f.__name__ for f in af.STABLE_FUNCTIONS]
_inputs: dict = {}


def _case(name, dtype):
    """(inputs, exact) for one function and dtype, computed once."""
    key = (name, np.dtype(dtype))
    if key not in _inputs:
        rng = np.random.default_rng([11, FUNCS.index(name)])
        with np.errstate(over="ignore"):
            args = [a.astype(dtype) for a in _draw(name, rng)]
        ok = np.all([np.isfinite(a) for a in args], axis=0)
        args = [a[ok] for a in args]
        mp = getattr(sm, "mp_" + name)
        with mpmath.workdps(60):
            exact = np.array([float(sm._real(mp(*[mpmath.mpf(float(a[i])) for a in args])))
                              for i in range(args[0].size)])
        with np.errstate(over="ignore"):
            _inputs[key] = (args, exact.astype(dtype))
    return _inputs[key]


@pytest.fixture(scope="module")
def compiled():
    """Every stable function on its own arguments, compiled into one ufunc."""
    exprs, syms, where = [], [], {}
    for f in af.STABLE_FUNCTIONS:
        own = sp.symbols(f"{f.__name__}_0:{int(min(f.nargs))}")
        where[f.__name__] = (len(exprs), slice(len(syms), len(syms) + len(own)))
        exprs.append(f(*own))
        syms.extend(own)
    return ac.compile(exprs, syms, stabilize=False), where


def _run(impl, name, args, compiled):
    if impl == "C":
        return getattr(K, name)(*args)
    if impl == "numpy":
        return getattr(sm, "np_" + name)(*args)
    uf, where = compiled
    k, sl = where[name]
    n = args[0].size
    full = [np.zeros(n, args[0].dtype) for _ in range(uf.nin)]
    full[sl] = args
    with np.errstate(all="ignore"):
        return uf(*full)[k]


def _bound(name, impl, args, exact, dtype):
    """Allowed error per point, in ULP of the result."""
    ulps = 8 if (name, impl, dtype) == ("log_erfc", "numpy", F64) else 4
    if name not in ("logaddexp", "logdiffexp"):
        return np.full(exact.shape, float(ulps))
    # The kernels end in m + t; a few ULP of |m| + |t| (m = max or a), in ULP of the result.
    m = np.maximum(args[0], args[1]) if name == "logaddexp" else args[0]
    with np.errstate(invalid="ignore"):    # exact = -inf (a == b) gives inf/inf: bound 4 there
        scale = (np.abs(m) + np.abs(exact.astype(np.float64) - m)) / np.maximum(
            np.abs(exact.astype(np.float64)), np.finfo(dtype).tiny)
    return ulps * np.fmax(scale, 1.0)


@pytest.mark.parametrize("impl", ["C", "compiled", "numpy"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCS)
def test_kernel_matches_mpmath(name, dtype, impl, compiled):
    args, exact = _case(name, dtype)
    with np.errstate(all="ignore"):
        got = np.asarray(_run(impl, name, args, compiled))
    assert got.dtype == dtype
    dist = ulp_distance(got, exact)
    bound = _bound(name, impl, args, exact, dtype)
    bad = dist > bound
    i = int(np.argmax(dist / bound))
    print(f"ULP {name} {impl} {dtype}: max {dist.max():.0f}")
    assert not bad.any(), (f"{name} ({impl}, {dtype}): {dist[i]:.0f} ULP at "
                           f"{[float(a[i]) for a in args]}: got {got[i]!r}, exact {exact[i]!r}")


INF, NAN = np.inf, np.nan
SPECIAL = [
    ("sigmoid", (INF,), 1.0), ("sigmoid", (-INF,), 0.0), ("sigmoid", (NAN,), NAN),
    ("sigmoid", (-0.0,), 0.5), ("softplus", (INF,), INF), ("softplus", (-INF,), 0.0),
    ("softplus", (NAN,), NAN), ("log_sigmoid", (-INF,), -INF), ("log_sigmoid", (INF,), 0.0),
    ("log1mexp", (0.0,), -INF), ("log1mexp", (-INF,), 0.0), ("log1mexp", (1.0,), NAN),
    ("log1mexp", (NAN,), NAN), ("logaddexp", (INF, INF), INF), ("logaddexp", (-INF, -INF), -INF),
    ("logaddexp", (INF, -INF), INF), ("logaddexp", (NAN, 1.0), NAN), ("logaddexp", (1.0, NAN), NAN),
    ("logdiffexp", (1.0, 1.0), -INF), ("logdiffexp", (1.0, 2.0), NAN),
    ("logdiffexp", (3.0, -INF), 3.0), ("logdiffexp", (-INF, -INF), -INF),
    ("logdiffexp", (INF, 1.0), INF), ("xlogy", (0.0, 0.0), 0.0), ("xlogy", (0.0, INF), 0.0),
    ("xlogy", (0.0, NAN), NAN), ("xlogy", (2.0, -1.0), NAN), ("xlog1py", (0.0, -1.0), 0.0),
    ("xlog1py", (0.0, NAN), NAN), ("erfcx", (INF,), 0.0), ("erfcx", (-INF,), INF),
    ("erfcx", (NAN,), NAN), ("erfcx", (0.0,), 1.0), ("erfcx", (-30.0,), INF),
    ("log_erfc", (INF,), -INF), ("log_erfc", (-INF,), np.log(2.0)), ("log_erfc", (NAN,), NAN),
    ("log_erfc", (0.0,), 0.0), ("relu", (NAN,), NAN), ("relu", (-0.0,), 0.0),
    ("relu", (-INF,), 0.0), ("relu", (INF,), INF),
]


@pytest.mark.parametrize("impl", ["C", "numpy"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("name, args, want", SPECIAL,
                         ids=[f"{n}{a}" for n, a, _ in SPECIAL])
def test_special_values(name, args, want, dtype, impl):
    fn = getattr(K, name) if impl == "C" else getattr(sm, "np_" + name)
    with np.errstate(all="ignore"):
        got = np.asarray(fn(*[np.array([v], dtype) for v in args]))[0]
    assert got.dtype == dtype
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == dtype.type(want), f"{name}{args} = {got!r}, want {want!r}"
        if want == 0 and name in ("sigmoid", "softplus", "relu", "xlogy", "xlog1py", "erfcx"):
            assert not np.signbit(got), "+0.0 expected"  # (logarithms may give -0.0 as log1p)


@pytest.mark.parametrize("name", FUNCS)
def test_numpy_twins_raise_no_spurious_warnings(name):
    """Inside the domain, the branch not taken never overflows or divides by zero."""
    args, _ = _case(name, F64)
    if name == "logdiffexp":   # log(exp(a) - exp(a)) = log(0) divides by zero rightly
        args = [a[args[0] != args[1]] for a in args]
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        getattr(sm, "np_" + name)(*args)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCS)
def test_compiled_kernels_raise_no_spurious_warnings(name, dtype, compiled):
    """Vectorised, every lane computes both sides of a helper's branch: those stay quiet."""
    uf, where = compiled
    args, exact = _case(name, dtype)
    keep = np.isfinite(exact)
    if name == "logdiffexp":
        keep &= args[0] != args[1]
    n = int(keep.sum())
    full = []
    for f in FUNCS:                       # every other output on a harmless point of its own
        own, ex = _case(f, dtype)
        j = next(j for j in range(ex.size) if np.isfinite(ex[j]) and own[0][j] != 0
                 and all(a[j] != 0 for a in own) and (len(own) == 1 or own[1][j] != own[0][j]))
        full += [np.full(n, a[j], dtype) for a in own]
    k, sl = where[name]
    full[sl] = [a[keep] for a in args]
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        uf(*full)


def test_erfcx_switch_constants_match_their_derivation():
    found = dict(re.findall(r"AC_DEFINE_STABLE\((\w+), \w*, (\d+, \d+)\)", HEADER))
    for ctype, dtype in (("double", np.float64), ("float", np.float32)):
        x0, terms = sm.erfcx_switch(dtype)
        assert found[ctype] == f"{int(x0)}, {terms}", ctype
        # The derivation's claims: the direct form is exact-range at x0, the series converged.
        assert np.isfinite(np.exp(np.array(x0 * x0, dtype)))
        assert float(mpmath.erfc(x0)) >= float(np.finfo(dtype).tiny)
        t0 = 1 / (2 * x0 * x0)
        omitted = float(mpmath.fac2(2 * terms - 1)) * t0**terms
        assert omitted <= np.finfo(dtype).eps / 2
        assert float(mpmath.fac2(2 * terms - 3)) * t0 ** (terms - 1) > np.finfo(dtype).eps / 2


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_erfcx_is_continuous_across_its_switch(dtype):
    x0, _ = sm.erfcx_switch(dtype)
    xs = np.array([np.nextafter(dtype.type(x0), dtype.type(0)), x0,
                   np.nextafter(dtype.type(x0), dtype.type(100))], dtype)
    with mpmath.workdps(50):
        exact = np.array([float(sm.mp_erfcx(mpmath.mpf(float(v)))) for v in xs]).astype(dtype)
    assert ulp_distance(K.erfcx(xs), exact).max() <= 3


@pytest.mark.skipif(not has_libmvec(), reason="glibc's libmvec is x86-64 Linux only")
def test_helpers_keep_the_loop_vectorised(compiled):
    """The libm calls inside the inlined helpers are declared SIMD: the loop calls libmvec."""
    calls = set(simd_calls(compiled[0]))
    assert {"exp", "log1p", "expm1", "log", "erfc", "expf", "log1pf"} <= calls, calls


# ---- the symbolic side -----------------------------------------------------------------
t = sp.Symbol("t", real=True)
u = sp.Symbol("u", real=True)
SYMBOLIC = [(af.sigmoid, (t,)), (af.softplus, (t,)), (af.log_sigmoid, (t,)),
            (af.log1mexp, (-t**2 - sp.Rational(1, 10),)), (af.logaddexp, (t, u)),
            (af.logdiffexp, (t + 3, u)), (af.xlogy, (t, u**2 + 1)), (af.xlog1py, (t, u**2)),
            (af.erfcx, (t,)), (af.log_erfc, (t,))]


@pytest.mark.parametrize("f, args", SYMBOLIC, ids=[f.__name__ for f, _ in SYMBOLIC])
def test_derivatives_match_mpmath(f, args):
    e = f(*args)
    point = {t: sp.Rational(7, 10), u: sp.Rational(-3, 10)}
    mp = sp.lambdify([t, u], e, modules=["mpmath"])
    for var in sorted(e.free_symbols, key=str):
        d = sp.diff(e, var)
        assert not d.has(sp.Derivative, sp.Subs)
        with mpmath.workdps(40):
            j = [t, u].index(var)
            num = mpmath.diff(lambda h, j=j: mp(*[point[s] + (h if i == j else 0)
                                                  for i, s in enumerate((t, u))]), 0)
        assert abs(float(d.xreplace(point).evalf(30)) - float(num)) <= 1e-25 * max(1, abs(num))


@pytest.mark.parametrize("expr, var, point, want", [
    (af.sigmoid(t), t, 40, 4.248354255291589e-18),          # not 0 = s*(1 - s) at s = 1.0
    (af.log1mexp(t), t, -1e-20, -1e20),
    (af.logaddexp(t, u), t, (1000, 999), 0.7310585786300049),
    (af.log_erfc(t), t, 30, -60.03329639875622),
    (af.logdiffexp(t, u), u, (1000, 999), -0.5819767068693265),
])
def test_derivatives_are_stable_in_float64(expr, var, point, want):
    d = sp.diff(expr, var)
    pts = point if isinstance(point, tuple) else (point,)
    f = sp.lambdify(sorted(expr.free_symbols, key=str), d, "numpy")
    got = f(*[np.float64(v) for v in pts])
    assert ulp_distance(np.float64(got), np.float64(want)) <= 4, (d, got)


def test_evalf_lambdify_latex():
    assert abs(float(af.log1mexp(sp.Float(-1e-30)).evalf(30)) - np.log(1e-30)) < 1e-12
    assert float(af.log_erfc(40).evalf()) == pytest.approx(-1604.261556653, rel=1e-12)
    assert af.log1mexp(sp.Float(0.5)).is_real is False   # SymPy's principal value: complex
    f = sp.lambdify([t], af.softplus(t) + af.log_erfc(t), "numpy")
    assert np.isfinite(f(np.array([800.0, 40.0]))).all()
    g = sp.lambdify([t], af.log1mexp(t), "mpmath")
    with mpmath.workdps(30):
        assert mpmath.almosteq(g(mpmath.mpf("-1e-25")), mpmath.log(mpmath.mpf("1e-25")), 1e-20)
    assert sp.latex(af.logaddexp(t, u)) == r"\operatorname{logaddexp}\left(t, u\right)"
    assert sp.latex(af.log_sigmoid(t) ** 2) == r"\log\sigma\left(t\right)^{2}"


def test_rewrites_to_elementary_forms():
    assert af.log1mexp(t).rewrite(sp.exp) == sp.log(1 - sp.exp(t))
    assert af.logaddexp(t, u).rewrite(sp.exp) == sp.log(sp.exp(t) + sp.exp(u))
    assert af.erfcx(t).rewrite(sp.erfc) == sp.exp(t**2) * sp.erfc(t)
    assert af.log_erfc(t).rewrite(sp.erfc) == sp.log(sp.erfc(t))
    assert af.log_sigmoid(t).rewrite(af.softplus) == -af.softplus(-t)
    assert af.xlogy(t, u).rewrite(sp.log).subs(t, 0) == 0
