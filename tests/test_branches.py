"""Piecewise loops vectorise (block passes, algebrac/cpu/branches.py) and stay exact:
right values on every layout and dtype, no flag from an untaken branch."""
import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.testing import assert_values_match, lambdify_reference, simd_calls

x, y = sp.symbols("x y")
FORMULAS = [
    # the benchmark's three branches
    sp.Piecewise((y * sp.exp(-x), x > 0.5), (sp.sin(x * y), x > -0.5), (x * y**2, True)),
    # untaken branches would overflow (exp(800)) or be invalid (log of a negative)
    sp.Piecewise((sp.log(x), x > 0), (sp.exp(-x), x > -700), (x, True)) + y,
    # a Piecewise inside a larger expression, with shared work before and after it
    sp.sqrt(sp.Piecewise((x * y, x * y > 0), (-x * y, True))) + sp.exp(x * y) / 8,
    # no default branch: NaN where no condition holds
    sp.Piecewise((1 / x, x > 1), (2 * y, x < -1)),
    # two Piecewise passes, the second reading the first (a stored value) in a branch,
    # in its default and after it: readers blend the branches' arrays
    sp.Piecewise((sp.exp(y * sp.Piecewise((sp.log(x), x > 1), (-x, x < -1))), y > 0),
                 (sp.Piecewise((sp.log(x), x > 1), (-x, x < -1)), True))
    + sp.Piecewise((sp.log(x), x > 1), (-x, x < -1)),
]
# a nested Piecewise keeps the scalar loop (and would keep the whole kernel scalar)
NESTED = [sp.Piecewise((sp.Piecewise((sp.log(x), y > 0), (x, True)), x > 0), (sp.exp(x), True))]
HARD_X = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, np.inf, -np.inf, 1e308, -1e308, 5e-324, -800.0,
          800.0, -699.0, 2.5, -2.5, np.nan]


@pytest.fixture(scope="module")
def uf():
    return ac.compile(FORMULAS, [x, y])


def _inputs(n=3001, dtype=np.float64):
    rng = np.random.default_rng(7)
    with np.errstate(over="ignore"):  # 1e308 becomes inf in float32
        a = np.concatenate([rng.uniform(-3, 3, n), np.repeat(HARD_X, 7)]).astype(dtype)
    b = rng.uniform(0.25, 2, a.size).astype(dtype)  # y finite and nonzero: no legitimate inf*0
    b[::3] *= -1
    return a, b


def _flags(f, *args):
    """The floating-point errors (but underflow) a call reports, and its result."""
    seen = set()
    old = np.seterrcall(lambda kind, flag: seen.add(kind))
    try:
        with np.errstate(all="call", under="ignore"):
            result = f(*args)
    finally:
        np.seterrcall(old)
    return seen, result


def _check(uf, a, b, formulas=FORMULAS):
    # The reference backend evaluates each branch only where it is taken: an
    # untaken branch must raise nothing, the taken ones exactly what they raise.
    # libmvec's exp raises "invalid" at +-inf and "overflow" for its underflow at
    # -1e308 (also without branches): those inputs are checked for values only.
    finite = np.where(np.abs(a) < np.finfo(a.dtype).max / 2, a, np.nan)
    flags, _ = _flags(uf, finite, b)
    want_flags, _ = _flags(ac.compile(formulas, [x, y], backend="numpy"), finite, b)
    assert flags == want_flags
    with np.errstate(all="ignore"):
        got = uf(a, b)
    want = lambdify_reference(formulas, [x, y], [a, b])
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == a.dtype
        # libmvec and NumPy differ by an ulp; exp(-x) + y cancels down to ~1e-3
        f64 = a.dtype == np.float64
        assert_values_match(g, w, ulps=4, rtol=1e-14 if f64 else 1e-6,
                            atol=1e-13 if f64 else 1e-5, inputs=[a, b], label=f"output {k}")


def test_contiguous_strided_broadcast_and_float32(uf):
    assert "_ac_sel" in uf.source  # the block passes, not the scalar loop
    a, b = _inputs()
    nested = ac.compile(NESTED, [x, y])
    assert "_ac_sel" not in nested.source
    _check(nested, a, b, NESTED)
    _check(uf, a, b)                      # contiguous, threaded (above the cutoff)
    _check(uf, a[::3], b[::3])            # strided views: gathered blocks
    _check(uf, a[:5], b[:5])              # shorter than one SIMD vector
    _check(uf, a[:0], b[:0])              # empty
    _check(uf, a[:300, None], b[None, :200])  # broadcast (n,1) x (1,m)
    a32, b32 = _inputs(dtype=np.float32)
    _check(uf, a32, b32)
    _check(uf, a32[1::2], b32[1::2])


def test_untaken_branch_raises_no_flag_but_taken_branch_does(uf):
    g = ac.compile(sp.Piecewise((sp.log(x), x > 0), (sp.exp(-x), x > -800), (x, True)), [x])
    with np.errstate(all="raise"):
        g(np.array([-900.0, 2.0] * 600))      # exp(900) and log(-900) are never taken
        with pytest.raises(FloatingPointError, match="overflow"):
            g(np.array([2.0] * 600 + [-750.0]))   # exp(750) is taken: overflow is real


def test_branchy_loops_call_vector_math(uf):
    calls = simd_calls(ac.compile(FORMULAS[:2], [x, y]))
    assert {"exp", "sin", "log"} <= set(calls), calls


def test_output_may_be_an_input():
    """uf(x, y, out=(x, ...)): NumPy allows an output to be an input array, and the
    block passes read inputs again after the Piecewise, so outputs are stored last."""
    f = ac.compile([x + 1, sp.Piecewise((sp.exp(-x), x > 0), (x * y, True))], [x, y])
    a, b = _inputs(n=2000)
    # x*y overflows at x = -1e308 (a real overflow); libmvec's exp raises invalid
    # at -inf (exp(-x) at x = inf, also without branches): values are the point here
    with np.errstate(over="ignore", invalid="ignore"):
        want = f(a, b)
        a2 = a.copy()
        f(a2, b, out=(a2, np.empty_like(a2)))
        other, a3 = np.empty_like(a), a.copy()
        f(a3, b, out=(other, a3))
    np.testing.assert_array_equal(a2, want[0])
    np.testing.assert_array_equal(other, want[0])
    np.testing.assert_array_equal(a3, want[1])
