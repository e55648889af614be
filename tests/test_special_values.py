"""Special values through every function: +-0, +-inf, NaN, subnormals, huge and tiny.

Each function gets the full grid of special pairs (x, y) and is compared with
NumPy's evaluation (``sympy.lambdify``) under ``np.errstate(all="ignore")``:
the same NaN mask, the same infinities, the same sign on zero results, and
finite values within a few ULP (``assert_values_match``).  Functions are
grouped into a handful of multi-output ufuncs: the group the vectoriser turns
into libmvec calls (checked), the group that stays scalar (tgamma, lgamma,
fmod and floor have no vector variant and keep the whole loop scalar; so do
sign/Min/Max/Heaviside next to sin/cos, which gcc 12 cannot if-convert when
sin is built with ``-fno-builtin-sin``), and the ``Piecewise`` group, which
also checks that untaken branches never warn.  The grid is tiled past a few
thousand elements, so large inputs take the threaded path too.  Also here:
the flush-to-zero check after import.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp
from sympy.codegen import cfunctions as cf

import algebrac as ac
from algebrac import _kernels
from algebrac.cpu.render import has_libmvec
from algebrac.testing import DEFAULT_RTOL, assert_values_match, lambdify_reference, simd_calls

x, y = sp.symbols("x y")
R = sp.Rational
Pw = sp.Piecewise

SIMD = {
    "exp": sp.exp(x), "log": sp.log(x), "sin": sp.sin(x), "cos": sp.cos(x), "tan": sp.tan(x),
    "asin": sp.asin(x), "acos": sp.acos(x), "atan": sp.atan(x), "sinh": sp.sinh(x),
    "cosh": sp.cosh(x), "tanh": sp.tanh(x), "asinh": sp.asinh(x), "acosh": sp.acosh(x),
    "atanh": sp.atanh(x), "erf": sp.erf(x), "erfc": sp.erfc(x), "log1p": cf.log1p(x),
    "expm1": cf.expm1(x), "exp2": cf.exp2(x), "log2": cf.log2(x), "log10": cf.log10(x),
    "hypot": cf.hypot(x, y), "atan2": sp.atan2(y, x), "sqrt": sp.sqrt(x), "Sqrt": cf.Sqrt(x),
    "cbrt": cf.Cbrt(x), "pow": x**y, "cube": x**3, "inv_square": x**-2, "inv_cube": x**-3,
    "cbrt_pow": x**R(1, 3), "pow_3_2": x**R(3, 2), "rsqrt": x**R(-1, 2), "mul": x * y,
    "div": x / y, "div_square": x / y**2, "add": x + y, "sub": x - y, "neg": -x, "recip": 1 / x,
    "abs": sp.Abs(x), "gauss": sp.exp(-x**2), "pi_x": sp.pi * x, "e_pow": sp.E**x,
    "two_pow": 2**x,
}
SCALAR = {
    "gamma": sp.gamma(x), "loggamma": sp.loggamma(x), "mod": sp.Mod(x, y),
    "mod2": sp.Mod(x, 2), "mod_neg": sp.Mod(x, -R(3, 2)), "floor": sp.floor(x),
    "ceiling": sp.ceiling(x), "sign": sp.sign(x), "min": sp.Min(x, y), "max": sp.Max(x, y),
    "heaviside": sp.Heaviside(x), "heaviside0": sp.Heaviside(x, 0),
}
BRANCHES = {
    "pw_recip": Pw((1 / x, x > 0), (0, True)),
    "pw_log": Pw((sp.log(x), x > 0), (0, True)),
    "pw_sqrt": Pw((sp.sqrt(x), x >= 0), (-1, True)),
    "pw_log_neg": Pw((sp.log(-x), sp.And(x < 0, sp.Not(y > 0))), (y, True)),
    "pw_rsqrt": Pw((x**R(-1, 2), x > 0), (0, True)),
    "pw_acosh": Pw((sp.acosh(x), x >= 1), (sp.atanh(x), sp.Abs(x) < 1), (0, True)),
    "pw_nested": Pw((Pw((sp.log(x), x > 1), (x, True)), sp.Or(x > 0, y < 0)), (-x, True)),
    "pw_exp": Pw((sp.exp(x), x < 700), (sp.oo, True)),
    "pw_constants": Pw((sp.nan, sp.Eq(x, 1)), (-sp.oo, x > 700), (sp.E * x, True)),
}
GROUPS = {"simd": SIMD, "scalar": SCALAR, "branches": BRANCHES}
# lambdify prints Heaviside as select((x < 0, x == 0, True), (0, h0, 1)): 1 at NaN,
# where SymPy, NumPy and algebrac give NaN.  Compare those with np.heaviside.
OVERRIDES = {"heaviside": lambda a, b: np.heaviside(a, 0.5),
             "heaviside0": lambda a, b: np.heaviside(a, 0.0)}

SPECIAL = {
    np.dtype(np.float64): [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-310, -1e-310,
                           1e308, -1e308, 1e-300, -1e-300, 1.0, -1.0, 0.5, -2.0, 3.5, 710.0,
                           -745.5, 1e-8],
    np.dtype(np.float32): [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-40, -1e-40,
                           3e38, -3e38, 1e-37, -1e-37, 1.0, -1.0, 0.5, -2.0, 3.5, 89.0,
                           -104.0, 1e-4],
}
TILES = 6  # 21*21*6 = 2646 elements
CASES = [(g, name) for g, table in GROUPS.items() for name in table]


def _grid(dtype):
    values = np.array(SPECIAL[np.dtype(dtype)], dtype=dtype)
    gx, gy = np.meshgrid(values, values)
    return [np.tile(gx.ravel(), TILES), np.tile(gy.ravel(), TILES)]


_results: dict = {}


def _evaluate(group: str, backend: str, dtype):
    key = (group, backend, np.dtype(dtype))
    if key not in _results:
        table = GROUPS[group]
        uf = ac.compile(list(table.values()), [x, y], backend=backend)
        inputs = _grid(dtype)
        with np.errstate(all="ignore"):
            outs = uf(*inputs)
        refs = dict(zip(table, lambdify_reference(list(table.values()), [x, y], inputs)))
        for name, f in OVERRIDES.items():
            if name in table:
                refs[name] = f(*inputs)
        _results[key] = (inputs, dict(zip(table, outs)), refs)
    return _results[key]


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("group, name", CASES, ids=[n for _, n in CASES])
def test_special_values_match_numpy(group, name, dtype, backend):
    inputs, outs, refs = _evaluate(group, backend, dtype)
    assert_values_match(outs[name], refs[name], rtol=DEFAULT_RTOL[np.dtype(dtype)], ulps=4,
                        inputs=inputs, label=f"{name} ({backend}, {np.dtype(dtype)})")


@pytest.mark.skipif(not has_libmvec(), reason="glibc's libmvec is x86-64 Linux only")
def test_simd_group_is_vectorised():
    calls = simd_calls(ac.compile(list(SIMD.values()), [x, y]))
    assert {"exp", "log", "sin", "atan2", "pow", "erfc", "expf", "sinf"} <= set(calls)


def test_grid_covers_signed_zero_results():
    """The signed-zero check is not vacuous: many results are -0.0 and must stay so."""
    _, outs, refs = _evaluate("simd", "cpu", np.float64)
    for name in ("sin", "tan", "atan", "sinh", "tanh", "asinh", "atanh", "expm1", "log1p",
                 "cbrt", "sqrt", "neg", "mul", "div", "erf", "asin"):
        ref = refs[name]
        assert ((ref == 0) & np.signbit(ref)).any(), name
        np.testing.assert_array_equal(np.signbit(outs[name][ref == 0]), np.signbit(ref[ref == 0]))


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_fractional_powers_of_negative_numbers_are_nan(backend):
    """x**(1/3) is numpy.power's: NaN for x < 0 (Cbrt is the real cube root)."""
    inputs, outs, _ = _evaluate("simd", backend, np.float64)
    neg = np.isfinite(inputs[0]) & (inputs[0] < 0)
    for name in ("cbrt_pow", "pow_3_2", "rsqrt", "sqrt"):
        assert np.isnan(outs[name][neg]).all(), name
    assert (outs["cbrt"][neg] < 0).all()
    assert not np.isnan(outs["cube"][neg]).any()


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("n", [5, 200_001])  # one thread / several threads
def test_untaken_branches_never_warn(backend, dtype, n):
    uf = ac.compile(list(BRANCHES.values()), [x, y], backend=backend)
    a = np.linspace(-3, 3, n).astype(dtype)
    a[::3] = 0
    a[1] = -1.0
    b = np.linspace(1, -1, n).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = dict(zip(BRANCHES, uf(a, b)))
    assert outs["pw_recip"][a == 0].tolist() == [0.0] * int((a == 0).sum())
    assert (outs["pw_log"][a <= 0] == 0).all() and (outs["pw_sqrt"][a < 0] == -1).all()
    assert (outs["pw_rsqrt"][a <= 0] == 0).all()
    with np.errstate(all="ignore"):
        assert_values_match(outs["pw_log"], np.where(a > 0, np.log(a), 0).astype(dtype))
        assert_values_match(outs["pw_log_neg"], np.where((a < 0) & (b <= 0), np.log(-a), b)
                            .astype(dtype))


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_nan_through_branch_conditions_is_quiet(backend):
    """NumPy's comparisons never warn for NaN; conditions of a branchy loop neither."""
    uf = ac.compile(list(BRANCHES.values()), [x, y], backend=backend)
    a = np.full(1001, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = dict(zip(BRANCHES, uf(a, a)))
    assert np.isnan(outs["pw_recip"]).sum() == 0  # NaN > 0 is false: the 0 branch
    assert np.isnan(outs["pw_log_neg"]).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nan_inputs_raise_no_flags_in_vectorised_loops(dtype):
    """sign, Min/Max, Heaviside, relu, sigmoid, softplus and Piecewise conditions are
    quiet for NaN, as NumPy's are, and the loop still runs on libmvec (exp, log1p)."""
    quiet = [sp.Min(x, y), sp.Max(x, y), sp.sign(x), sp.Heaviside(x), ac.relu(x),
             ac.sigmoid(x), ac.softplus(x)]
    branch = sp.Piecewise((sp.exp(x), x > y), (y, True))
    uf = ac.compile(quiet, [x, y])
    a = np.full(1001, np.nan, dtype=dtype)
    a[::3] = 1.5
    b = np.ones_like(a)
    b[::5] = np.nan
    with np.errstate(all="raise"):
        outs = [*uf(a, b), ac.compile(branch, [x, y])(a, b)]
    with np.errstate(all="ignore"):   # (lambdify's Heaviside gives 1 at NaN; NumPy's NaN)
        want = [np.fmin(a, b) * np.nan ** np.isnan(a + b), np.fmax(a, b) * np.nan ** np.isnan(a + b),
                np.sign(a), np.heaviside(a, 0.5), np.where(a > 0, a, a * 0),
                1 / (1 + np.exp(-a)), np.logaddexp(0, a), np.where(a > b, np.exp(a), b)]
    for got, ref in zip(outs, want):
        assert_values_match(got, np.asarray(ref, dtype=dtype))
    if has_libmvec():
        assert {"exp", "log1p"} <= set(simd_calls(uf))  # quiet without giving up SIMD


@pytest.mark.parametrize("dtype, tiny", [(np.float64, 5e-324), (np.float64, 1e-310),
                                         (np.float32, 1e-45), (np.float32, 1e-40)])
def test_subnormals_are_not_flushed_to_zero(dtype, tiny):
    uf = ac.compile(list(SIMD.values()), [x, y])  # the libmvec loop
    names = list(SIMD)
    t = np.full(4099, tiny, dtype=dtype)
    with np.errstate(all="ignore"):  # e.g. 1/x**2 overflows
        outs = uf(t, np.ones_like(t))
    assert (outs[names.index("mul")] == t).all()          # x*1 keeps the subnormal
    assert (outs[names.index("div")] == t).all()          # x/1 too
    assert (outs[names.index("add")] == t + 1).all()
    assert (outs[names.index("sin")] == t).all()          # sin(x) = x for tiny x
    assert not _kernels.flush_to_zero()
    assert np.float64(5e-324) * np.float64(1.0) != 0      # nothing leaked into this thread
    assert np.float32(1e-45) * np.float32(1.0) != 0


def test_nan_in_a_loop_remainder_raises_no_flag():
    """glibc's AVX2 vector asin/atan/erf/log1p/... raise "invalid" for a quiet NaN; gcc
    would run a loop's remainder on them.  The build keeps remainders scalar."""
    from algebrac.mathfuncs import FUNCTIONS

    exprs = [row.sympy(*[x] * row.nargs) for row in FUNCTIONS.values() if row.simd]
    uf = ac.compile(exprs, [x])
    for dtype in (np.float64, np.float32):
        for n in (3, 7, 9, 15):
            with np.errstate(all="raise"):
                outs = uf(np.full(n, np.nan, dtype=dtype))
            assert all(np.isnan(o).all() for o in outs)
