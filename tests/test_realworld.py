"""Formulas scientists write (sympy.stats densities and CDFs, sympy.physics wave functions):
evaluated as written (no FMA contraction), tails kept, special functions compiled.

The full corpus and its report are ``benchmarks/corpus_realworld.py``; this file holds a
fast subset grouped into few compiles.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy.physics.hydrogen import R_nl

import algebrac as ac

x, R, xm, a, r = sp.symbols("x R x_m a r", positive=True)


def test_cancellations_are_exact_as_in_numpy():
    """gcc -march=native would fuse a - b*c into an FMA: sqrt(R**2 - x**2) at x == R gave
    NaN, 1 - (xm/x)**a at x == xm gave 5.6e-17, a hydrogen node -4.7e-18.  NumPy gives 0."""
    exprs = [2 * sp.sqrt(R**2 - x**2) / (sp.pi * R**2),      # Wigner semicircle density
             1 - xm**a / x**a,                                 # Pareto CDF
             R_nl(3, 0, r, 1), R_nl(3, 1, r, 1), R_nl(4, 1, r, 1)]
    uf = ac.compile(exprs, [x, R, xm, a, r])
    nodes = np.array([1.901923788646684, 6.0, 5.52786404500042])
    xs = np.array([0.7, 0.3, 1.1])
    args = (xs, xs, xs, 2.5, nodes)
    want = sp.lambdify([x, R, xm, a, r], exprs, "numpy")(*args)
    got = uf(*args)
    assert got[0].tolist() == [0.0] * 3
    assert got[1].tolist() == want[1].tolist() and got[1][1] == 0.0   # bit for bit, as NumPy
    for k, (g, w) in enumerate(zip(got[2:], want[2:])):
        assert g[k] == w[k] == 0.0


def _stats_formulas():
    """Distributions as a user writes them: sympy.stats, numeric parameters."""
    import sympy.stats as st

    z = sp.Symbol("z", real=True)
    cdf = lambda X: st.cdf(X)(z)  # noqa: E731
    return z, {
        "normal_cdf": cdf(st.Normal("X", sp.Rational(1, 2), 2)),
        "lognormal_cdf": cdf(st.LogNormal("X", 0, 1)),
        "cauchy_cdf": cdf(st.Cauchy("X", 1, 3)),
        "gamma_cdf": cdf(st.Gamma("X", sp.Rational(2003, 10), 1)),  # lowergamma/gamma
        "student_cdf": cdf(st.StudentT("X", 3)),          # hyper((1/2, 2), (3/2,), -z**2/3)
        "beta_cdf": cdf(st.Beta("X", sp.Rational(3, 5), sp.Rational(11, 10))),  # exp_polar
        "vonmises_pdf": st.density(st.VonMises("X", 0, 2))(z),   # besseli
        "chi2_pdf": st.density(st.ChiSquared("X", 5))(z),
        "student_heavy_cdf": cdf(st.StudentT("X", sp.Rational(3, 5))),   # the corpus's nu
    }


def _mp_reference(e, z, xs):
    import mpmath

    f = sp.lambdify(z, e, [{"exp_polar": mpmath.exp}, "mpmath"])
    with mpmath.workdps(400):   # the naive tails cancel: enough digits for them
        return np.array([float(complex(f(mpmath.mpf(float(v)))).real) for v in xs])


def test_stats_formulas_compile_with_tails_and_special_functions():
    z, formulas = _stats_formulas()
    uf = ac.compile(list(formulas.values()), [z])
    ref_backend = ac.compile(list(formulas.values()), [z], backend="numpy")
    points = {"normal_cdf": [-30.0, -5.0, 0.5, 6.0], "lognormal_cdf": [1e-30, 1e-5, 1.0, 40.0],
              "cauchy_cdf": [-1e12, -10.0, 1.0, 1e6], "gamma_cdf": [100.0, 180.0, 200.0, 260.0],
              "student_cdf": [-1e8, -40.0, -2.0, -1e-9, 0.0, 3.0, 1e6],
              "student_heavy_cdf": [-1e12, -40.0, -1e-8, 1e-8, 100.0, 1e8],
              "beta_cdf": [1e-12, 0.3, 0.9, 0.999],
              "vonmises_pdf": [-3.0, -1.0, 0.0, 2.5], "chi2_pdf": [1e-3, 1.0, 5.0, 60.0]}
    # StudentT's CDF is 1/2 + z*2F1(...), which cancels in the lower tail (1.7e-5 at -40
    # kept 11 digits): half_plus_hyper_to_ibeta makes it the incomplete beta function.
    rtol = dict.fromkeys(formulas, 1e-12)
    for k, (name, e) in enumerate(formulas.items()):
        xs = np.array(points[name])
        want = _mp_reference(e, z, xs)
        with np.errstate(all="ignore"):   # every output runs at every formula's points
            got, ref = uf(xs)[k], ref_backend(xs)[k]
        np.testing.assert_allclose(got, want, rtol=rtol[name], err_msg=name)
        np.testing.assert_allclose(ref, want, rtol=rtol[name], err_msg=name + " (numpy)")
        # ac.evaluate computes as written (no stabilize): give it the stabilized form.
        with np.errstate(all="ignore"):
            ev = ac.evaluate(ac.stabilize(e), {z: xs})
        np.testing.assert_allclose(ev, want, rtol=rtol[name], err_msg=name + " (evaluate)")
    with np.errstate(all="ignore"):
        f32 = uf(np.float32([0.25, 0.5]))
    assert f32[4].dtype == np.float32   # SciPy calls in float32 loops
    np.testing.assert_allclose(f32[4], uf(np.array([0.25, 0.5]))[4], rtol=1e-6)


def test_lower_tails_are_kept_where_lambdify_gives_zero():
    z, formulas = _stats_formulas()
    e = formulas["normal_cdf"]
    naive = sp.lambdify(z, e, "numpy")(np.float64(-30.0))
    assert naive == 0.0 and ac.compile(e, [z])(-30.0) > 1e-60


def test_functions_computed_through_rewrites():
    """frac, real_root, polylog(2, .), hyper, the incomplete gamma and beta functions, zeta:
    compiled (one build) and checked against mpmath, with their derivatives in x."""
    import mpmath

    t = sp.Symbol("t", real=True)
    exprs = [sp.frac(t), sp.real_root(t, 3), sp.polylog(2, t / 4), sp.hyper((1, 2), (3,), t / 4),
             sp.hyper((sp.Rational(1, 2),), (sp.Rational(3, 2),), t), sp.lowergamma(2.5, t**2),
             sp.uppergamma(2.5, t**2), sp.betainc(2, 3, 0, t**2 / 10),
             sp.betainc_regularized(2, 3, 0, t**2 / 10), sp.sinc(t), sp.zeta(t**2 + 2)]
    grads = [ac.grad(e, [t])[0] for e in exprs[:-1]]   # d zeta(s)/ds has no closed form
    uf = ac.compile(exprs + grads, [t])
    xs = np.array([-2.7, -0.3, 0.4, 1.9, 3.1])
    # (SymPy's lambdify maps betainc_regularized to mpmath's betainc, not regularized.)
    regularized = lambda a, b, x1, x2: mpmath.betainc(a, b, x1, x2, regularized=True)  # noqa: E731
    f = sp.lambdify(t, exprs, [{"exp_polar": mpmath.exp, "betainc_regularized": regularized},
                               "mpmath"])
    with mpmath.workdps(40):
        want = np.array([[float(complex(v).real) for v in f(mpmath.mpf(x))] for x in xs]).T
        dwant = np.array([[float(complex(mpmath.diff(lambda u: f(u)[k], mpmath.mpf(x))).real)
                           for x in xs] for k in range(len(grads))])
    got = uf(xs)
    evaluated = ac.evaluate(exprs, {t: xs})
    for k, e in enumerate(exprs):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-13, atol=1e-300, err_msg=str(e))
        np.testing.assert_allclose(evaluated[k], want[k], rtol=1e-13, atol=1e-300,
                                   err_msg=f"evaluate {e}")
        if k < len(grads):
            np.testing.assert_allclose(got[len(exprs) + k], dwant[k], rtol=1e-9, atol=1e-12,
                                       err_msg=f"d/dt {e}")


def test_student_t_cdf_is_accurate_in_both_tails():
    """sympy.stats' StudentT CDF with nu as an argument, against mpmath (the CDF through
    the regularized incomplete beta function) from 1e-8 to 1e12 on both sides."""
    import mpmath
    import sympy.stats as st

    from algebrac.testing import ulp_distance

    z, nu = sp.Symbol("z", real=True), sp.Symbol("nu", positive=True)
    uf = ac.compile(st.cdf(st.StudentT("X", nu))(z), [z, nu])
    xs = np.logspace(-8, 12, 41)
    xs = np.concatenate([-xs, [0.0], xs])
    for n, bound in ((0.6, 8), (3.0, 8), (30.0, 64)):   # ~ b' ulps: I_w(b', 1/2) ~ w**b'
        with mpmath.workdps(50):
            half = mpmath.mpf(1) / 2
            lower = [mpmath.betainc(n / 2, half, 0, n / (n + mpmath.mpf(v) ** 2),
                                    regularized=True) / 2 for v in xs]
            want = np.array([float(1 - p if v > 0 else p) for p, v in zip(lower, xs)])
        got = uf(xs, n)
        normal = np.abs(want) > 1e-300   # below, both underflow into subnormals
        assert np.max(ulp_distance(got[normal], want[normal])) <= bound, n
        assert np.all(got[xs < 0] < 0.5) and got[xs.size // 2] == 0.5


def test_finite_sums_factorial_and_binomial_compile():
    """The Irwin-Hall density (sympy.stats UniformSum: a sum up to floor(x), bounded by
    binomial(3, k)) and its derivative, a sum with integer limits, factorial and binomial
    of an argument: one build, against exact rational arithmetic and SciPy."""
    import math
    from fractions import Fraction

    import scipy.special
    import sympy.stats as st

    z = sp.Symbol("z", real=True)
    k = sp.Symbol("k", integer=True)
    pdf = st.density(st.UniformSum("X", 3))(z)
    exprs = [pdf, sp.diff(pdf, z), sp.Sum(z**k / sp.factorial(k), (k, 0, 6)),
             sp.factorial(z), sp.binomial(5, z)]
    uf = ac.compile(exprs, [z])
    xs = np.array([-0.5, 0.0, 0.25, 1.0, 1.5, 2.75, 3.0, 4.0])
    got = uf(xs)

    def irwin_hall(v, deriv):
        v = Fraction(v)
        terms = [(-1) ** j * math.comb(3, j) * (v - j) ** (2 - deriv) * (1 + deriv)
                 for j in range(0, math.floor(v) + 1)] if v >= 0 else []
        return float(sum(terms, Fraction(0)) / 2)

    np.testing.assert_allclose(got[0], [irwin_hall(v, 0) for v in xs], rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[1], [irwin_hall(v, 1) for v in xs], rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[2], [sum(v**j / math.factorial(j) for j in range(7))
                                        for v in xs], rtol=1e-15)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(got[3], scipy.special.gamma(xs + 1), rtol=1e-14)
    np.testing.assert_allclose(got[4], scipy.special.binom(5, xs), rtol=1e-14)


def test_what_cannot_compile_says_why_and_what_to_do():
    """Series-only densities, sums over argument-given ranges, derivatives with no closed
    form (Bessel order, zeta's s): an UnsupportedError naming the part and the remedy."""
    import sympy.stats as st

    z, nu, n = sp.Symbol("z", positive=True), sp.Symbol("nu", positive=True), sp.Symbol("n")
    k = sp.Symbol("k", integer=True)
    noncentral = st.density(st.BetaNoncentral("X", sp.Rational(3, 5), sp.Rational(11, 10),
                                              sp.Rational(8, 5)))(z)
    cases = [
        (noncentral, [z], ["Sum", "infinite series", "truncate"]),
        (sp.diff(noncentral, z), [z], ["Sum", "infinite series"]),
        (sp.Sum(z**k, (k, 0, n)), [z, n], ["Sum", "depend on the arguments", "ac.sum"]),
        (sp.Sum(z**k, (k, 0, 10**4)), [z], ["10001 terms", "ac.function"]),
        (sp.diff(sp.besselj(nu, z), nu), [z, nu], ["besselj in argument 1 (nu)",
                                                  "difference quotient"]),
        (sp.diff(sp.zeta(z), z), [z], ["zeta in argument 1 (z)", "no closed form"]),
    ]
    for e, args, words in cases:
        with pytest.raises(ac.UnsupportedError) as info:
            ac.compile(e, args, backend="numpy")
        for w in words:
            assert w in str(info.value), (w, str(info.value))
