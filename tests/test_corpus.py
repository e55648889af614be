"""A corpus of formulas compiled on both backends and compared with ``sympy.lambdify``.

Each chunk of formulas shares one input domain and is compiled as ONE
multi-output ufunc (a cold compile costs 1-2 s), so the whole corpus costs
four compiles.  Every formula is then checked on its own (parametrized over
formula, dtype and backend) against NumPy's evaluation of the same formula at
the same dtype.  Three chunks hold only functions with a libmvec vector
variant, so their loops are vectorised (checked: they call ``_ZGV*``); a
single call without one (``fmod``, ``tgamma``, even ``floor``) or a ``Piecewise`` keeps a
whole loop scalar, so those formulas form the fourth chunk.

Tolerances are ``algebrac.testing.DEFAULT_RTOL``; a formula whose value is a
difference of O(1) terms that can cancel to ~0 carries ``scale``, the
magnitude of those terms, and is compared with ``atol = rtol * scale``.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy.codegen import cfunctions as cf

import algebrac as ac
from algebrac.cpu.render import has_libmvec
from algebrac.mathfuncs import FUNCTIONS, REWRITES
from algebrac.testing import (
    DEFAULT_RTOL,
    assert_matches_reference,
    assert_values_match,
    lambdify_reference,
    simd_calls,
)

x, y, z = sp.symbols("x y z")
ARGS = [x, y, z]
R = sp.Rational
Pw = sp.Piecewise

# (expr, scale): scale is the magnitude of terms that may cancel (0: no cancellation).
REAL = [  # x, y, z uniform in [-3, 3]; vectorised (libmvec)
    (sp.sin(x)**2 * sp.cos(y) + sp.exp(-x * y), 1),
    (sp.exp(-x**2 - y**2) * sp.sin(x * y), 0),
    (sp.tanh(x) * sp.atan(y) - z, 3),
    (x**3 - 2 * x * y + z**2 / 3, 30),
    (sp.atan2(y, x) * cf.hypot(x, y), 0),
    (sp.sinh(x) - sp.cosh(y) + sp.tanh(z), 10),
    (sp.asinh(x * y) + sp.atan(z / (1 + x**2)), 3),
    (sp.cos(sp.pi * x) + sp.E**y / 10, 2),
    (1 / (1 + x**2) + (y**2 + 1)**-2, 0),
    (sp.erf(x) * sp.erfc(y), 0),
    (sp.exp(x / 3) * sp.cos(y) * sp.sin(z), 0),
    ((x + y + z)**4 / 100, 0),
    (sp.sec(x / 2) + sp.cos(y), 2),
    (sp.csc(z / 4 + 2) + sp.cot(y / 4 + 1), 2),
    (cf.expm1(x / 10) * cf.log1p(y**2), 0),
    (cf.exp2(x) - x * cf.log2(1 + y**2), 10),
    (cf.hypot(x, z) - sp.Abs(y), 3),
    (sp.sech(x) + sp.csch(y + 4) + sp.coth(z + 4), 0),
    (sp.acot(x) + sp.acot(y + 4), 2),
    (x * y * z - x / (1 + y**2), 30),
    (sp.cos(x)**3 + sp.sin(y)**5, 1),
    (cf.fma(x, y, z), 10),
]
POSITIVE = [  # x, y, z uniform in [0.1, 3]; vectorised (libmvec)
    (sp.log(x) + sp.log(y * z), 3),
    (x**y, 0),
    (sp.sqrt(x) + x**R(3, 2) - x**R(-1, 2), 4),
    (x**R(1, 3) + y**R(2, 5), 0),
    (cf.log10(x) * cf.log2(y) + sp.log(z, 2), 2),
    (cf.Sqrt(x) + cf.Cbrt(y), 0),
    (sp.acosh(x + 1) + sp.asinh(y), 0),
    (sp.asech(x / 4) + sp.acsch(y), 0),
    (sp.acoth(y + R(3, 2)) * z, 0),
    (sp.exp(-x) * x**(y - 1), 0),
    ((x + y)**-3 + 1 / (x * y * z), 0),
    (cf.log1p(x * y) / (1 + z), 0),
    (sp.sqrt(x**2 + y**2 + z**2), 0),
    (x**z * sp.exp(-y), 0),
    (sp.atan(sp.log(x)) + y**R(-5, 2), 2),
    (2**x + 10**(-y), 0),
    (cf.hypot(x, y)**3, 0),
    (x**R(1, 2) * y**R(1, 4) * z**R(-3, 4), 0),
    (sp.log(x**2 + 1) - 2 * sp.log(y), 5),
    (sp.exp(sp.sqrt(x)) / (1 + sp.exp(-y * z)), 0),
    # A lone unrolled power in a denominator: printed a/y*y (= a) until fixed.
    (x / y**2, 0),
    (-3 * x / (y**3 * z), 0),
    (sp.atan(x) / (1 + y**2)**2 - 1 / z**2, 100),
    (sp.exp(x) / y**4 + z**-3, 0),
]
UNIT = [  # x, y, z uniform in [-0.95, 0.95]; vectorised (libmvec)
    (sp.asin(x) + sp.acos(y), 3),
    (sp.atanh(x) * sp.atan(y), 0),
    (sp.asin(x * y) - sp.acos(z) / 2, 2),
    (sp.acsc(x + 2) + sp.asec(y - 2), 0),
    (sp.atanh(x * y * z), 0),
    (sp.sqrt(1 - x**2) + sp.sqrt(1 - y**2) * z, 1),
    (cf.log1p(x) + cf.expm1(y), 3),
    (sp.log((1 + x) / (1 - x)) / 2, 1),  # log of ~1: absolute error
    (sp.tan(x) + sp.tan(y * z), 2),
    (sp.asinh(x) + sp.acosh(2 + y), 0),
    (sp.exp(x) * sp.cos(2 * sp.pi * y), 10),  # cos(2*pi*y) ~ 0 at y = 1/4
    (sp.erf(x) - sp.erfc(y) * z, 2),
    (x**5 - 5 * x**3 * y + 10 * z, 10),
    (1 / (R(3, 2) - x) + 1 / (y + 2), 0),
]
# x, y, z uniform in [-3, 3].  Branches, fmod, tgamma and floor keep a loop scalar, and
# so do sign/Min/Max/Heaviside next to sin/cos (built with -fno-builtin-sin, gcc 12
# cannot if-convert their ternaries in a loop that calls sin: "control flow in loop").
SCALAR = [
    (sp.floor(x) + sp.ceiling(y) * z, 10),
    (sp.Mod(x, y), 0),
    (sp.Mod(3 * x, -2) + sp.Mod(y, R(3, 10)), 2),
    (sp.Mod(x + 1, R(3, 10)), 0),
    (sp.gamma(x + 4) + sp.loggamma(y + 4), 3),
    (Pw((sp.gamma(x + 4), x < -1), (sp.exp(sp.loggamma(x + 4)), True)), 0),
    (Pw((x * y, x > y), (y - z, sp.And(y >= 0, z < 1)), (sp.sin(z), True)), 3),
    (Pw((1 / x, x > R(1, 2)), (x**2, sp.Or(x < -1, sp.Not(y > 0))), (0, True)), 0),
    (Pw((sp.sqrt(x), x >= 0), (-sp.sqrt(-x), True)), 0),
    (Pw((sp.log(x), x > 0), (0, True)) + y, 3),
    (Pw((sp.asin(x / 3), sp.Abs(x) < R(3, 2)), (sp.acos(x / 3) - sp.pi / 2, True)), 0),
    (Pw((x, sp.Xor(x > 0, y > 0)), (-y, True)) * z, 0),
    (Pw((sp.exp(x), x < 1), (sp.E * (1 + (x - 1)), True)) - y, 20),
    (Pw((sp.oo, x > 10), (x, True)) + Pw((-sp.oo, y > 10), (sp.nan, y > 9), (y, True)), 6),
    (sp.Max(x, -sp.oo) * sp.Min(y, sp.oo), 0),
    (sp.Abs(x - y) + sp.sign(z) * x, 6),
    (sp.Min(x, y, z) + sp.Max(x, 2 * y), 6),
    (sp.Heaviside(x) * y + sp.Heaviside(y, 1) * z, 3),
    (cf.Cbrt(x * y) + sp.sign(z) * sp.Abs(z)**R(1, 3), 3),
    (sp.sign(x * y) * sp.sqrt(sp.Abs(z)), 0),
    (sp.Max(sp.log(x + 4), y / 2), 0),
]
CHUNKS = {"real": ((-3.0, 3.0), REAL), "positive": ((0.1, 3.0), POSITIVE),
          "unit": ((-0.95, 0.95), UNIT), "scalar": ((-3.0, 3.0), SCALAR)}
VECTORISED = ("real", "positive", "unit")
N = 5003  # above every chunk's threading cutoff, and odd (a SIMD remainder)
CASES = [(chunk, k) for chunk, (_, forms) in CHUNKS.items() for k in range(len(forms))]


# Every elementary SymPy function and sympy.codegen.cfunctions function algebrac compiles
# (other modules may register more rows in FUNCTIONS; they are tested with their module).
ELEMENTARY = [
    sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.asin, sp.acos, sp.atan, sp.atan2, sp.sinh,
    sp.cosh, sp.tanh, sp.asinh, sp.acosh, sp.atanh, sp.erf, sp.erfc, sp.gamma, sp.loggamma,
    sp.Abs, sp.floor, sp.ceiling, sp.sign, sp.Mod, sp.Heaviside, sp.Min, sp.Max, cf.log1p,
    cf.expm1, cf.exp2, cf.log2, cf.log10, cf.hypot, cf.Sqrt, cf.Cbrt, cf.fma,
    sp.sec, sp.csc, sp.cot, sp.sech, sp.csch, sp.coth,  # computed through REWRITES
    sp.asec, sp.acsc, sp.acot, sp.asech, sp.acsch, sp.acoth,
]


def test_corpus_size_and_coverage():
    """At least 60 formulas, and every elementary function occurs in one."""
    assert len(CASES) >= 60
    used = {type(node) for forms in (REAL, POSITIVE, UNIT, SCALAR) for e, _ in forms
            for node in sp.preorder_traversal(e)}
    assert set(ELEMENTARY) - used == set()
    assert all(f in FUNCTIONS or f in REWRITES for f in ELEMENTARY)


@pytest.mark.skipif(not has_libmvec(), reason="glibc's libmvec is x86-64 Linux only")
def test_vectorised_chunks_call_libmvec():
    for chunk in VECTORISED:
        calls = simd_calls(ac.compile([e for e, _ in CHUNKS[chunk][1]], ARGS))
        assert {"exp", "expf", "log", "logf"} & set(calls), (
            f"the {chunk!r} chunk's loop is no longer vectorised: a formula (or what the "
            "pipeline rewrote it to) gives gcc control flow it cannot if-convert")
    # Piecewise loops vectorise as block passes (tests/test_branches.py); the rest of
    # the scalar chunk has no vector variant or control flow gcc cannot if-convert.
    plain = [e for e, _ in SCALAR if not e.has(sp.Piecewise)]
    assert simd_calls(ac.compile(plain, ARGS)) == []


def _inputs(chunk: str, dtype) -> list:
    (lo, hi), _ = CHUNKS[chunk]
    rng = np.random.default_rng([2026, list(CHUNKS).index(chunk)])
    return [rng.uniform(lo, hi, N).astype(dtype) for _ in ARGS]


_results: dict = {}


def _evaluate(chunk: str, backend: str, dtype):
    """(inputs, outputs) of one chunk's ufunc, computed once per module run."""
    key = (chunk, backend, np.dtype(dtype))
    if key not in _results:
        exprs = [e for e, _ in CHUNKS[chunk][1]]
        uf = ac.compile(exprs, ARGS, backend=backend)
        inputs = _inputs(chunk, dtype)
        _results[key] = (inputs, uf(*inputs))
    return _results[key]


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("chunk, k", CASES, ids=[f"{c}{k}" for c, k in CASES])
def test_formula_matches_lambdify(chunk, k, dtype, backend):
    expr, scale = CHUNKS[chunk][1][k]
    inputs, outputs = _evaluate(chunk, backend, dtype)
    got = outputs[k]
    assert got.dtype == np.dtype(dtype) and got.shape == (N,)
    (want,) = lambdify_reference([expr], ARGS, inputs)
    if not expr.has(sp.oo, -sp.oo, sp.nan):
        assert np.isfinite(want).all(), "the chunk's domain must keep every formula finite"
    rtol = DEFAULT_RTOL[np.dtype(dtype)]
    assert_values_match(got, want, rtol=rtol, atol=rtol * scale, inputs=inputs,
                        label=f"{backend} {np.dtype(dtype)} {expr}")


@pytest.mark.parametrize("chunk", list(CHUNKS))
def test_chunk_scalar_path_and_contract(chunk):
    """A short prefix (the scalar path): dtype, shape, values, inputs unmodified."""
    exprs = [e for e, _ in CHUNKS[chunk][1]]
    scale = max(s for _, s in CHUNKS[chunk][1])
    for dtype in (np.float64, np.float32):
        inputs = [a[:7] for a in _inputs(chunk, dtype)]
        rtol = DEFAULT_RTOL[np.dtype(dtype)]
        assert_matches_reference(exprs, ARGS, inputs, rtol=rtol, atol=rtol * scale)
