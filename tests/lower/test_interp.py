"""The reference interpreter against mpmath: it is the oracle for everything else."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from algebrac.dtypes import DType
from algebrac.errors import VerifyError
from algebrac.lower.elementwise import lower_elementwise, prepare
from algebrac.lower.interp import run

x, y = sp.symbols("x y")

FORMULAS = [
    sp.sin(x) ** 2 * sp.cos(y) + sp.exp(-x * y),
    x**3 - 2 * x * y + sp.Rational(1, 3),
    sp.sqrt(x**2 + y**2) / (1 + x**2),
    sp.atan2(y, x) + sp.Abs(x - y),
    sp.Piecewise((sp.log(x), x > 1), (x - 1, True)) * y,
    sp.Max(x, y, sp.Rational(1, 2)) - sp.Min(x, y),
    sp.Mod(x * 7, y + 2),
    sp.tanh(x) * sp.sec(y),
]


def _mp(expr, a, b):
    f = sp.lambdify([x, y], expr, "mpmath")
    with mpmath.workdps(40):
        return [float(mpmath.re(f(mpmath.mpf(float(p)), mpmath.mpf(float(q))))) for p, q in zip(a, b)]


@pytest.mark.parametrize("expr", FORMULAS, ids=str)
def test_interpreter_matches_mpmath(expr, rng):
    a, b = rng.uniform(0.2, 3, 50), rng.uniform(0.2, 3, 50)
    k = lower_elementwise(prepare([expr], [x, y]), DType.FLOAT64)
    got = run(k, {"_ac_in0": a, "_ac_in1": b})["_ac_out0"]
    np.testing.assert_allclose(got, _mp(expr, a, b), rtol=1e-13, atol=1e-15)


def test_interpreter_float32_computes_in_float32(rng):
    a = rng.uniform(0.2, 3, 20).astype(np.float32)
    k = lower_elementwise(prepare([sp.exp(x) / 3], [x]), DType.FLOAT32)
    got = run(k, {"_ac_in0": a})["_ac_out0"]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.exp(a) * np.float32(1 / 3))


def test_untaken_branch_is_never_evaluated():
    k = lower_elementwise(prepare([sp.Piecewise((1 / x, x > 0), (sp.sqrt(x), x < -5),
                                                (0, True))], [x]), DType.FLOAT64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = run(k, {"_ac_in0": np.array([-1.0, 0.0, 2.0])})["_ac_out0"]
    np.testing.assert_array_equal(got, [0.0, 0.0, 0.5])


def test_missing_input_is_a_verify_error():
    k = lower_elementwise(prepare([x + 1], [x]), DType.FLOAT64)
    with pytest.raises(VerifyError, match="no array for input"):
        run(k, {})
