"""Golden strings for the C printer: one or two per construct; change them deliberately."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy.codegen import cfunctions as cf

from algebrac.dtypes import DType
from algebrac.errors import VerifyError
from algebrac.lower.ir import Accumulate, Assign, Buffer, Let, Loop, LoopKind, ReduceOp, Role
from algebrac.lower.printing import CFamilyPrinter, float_literal, rational_value

x, y = sp.Symbol("_ac_x0"), sp.Symbol("_ac_x1")


def c(expr, dtype=DType.FLOAT64):
    return CFamilyPrinter({"dtype": dtype}).doprint(expr)


@pytest.mark.parametrize("expr, f64, f32", [
    (x**3, "_ac_x0*_ac_x0*_ac_x0", "_ac_x0*_ac_x0*_ac_x0"),
    # Negative powers never overflow before the result does: (1/x)**2, y/x/x.
    (x**-2, "((1.0/_ac_x0)*(1.0/_ac_x0))", "((1.0F/_ac_x0)*(1.0F/_ac_x0))"),
    (y / x**2, "_ac_x1/_ac_x0/_ac_x0", "_ac_x1/_ac_x0/_ac_x0"),
    (-y / (x * (x + 1)), "-(_ac_x1/_ac_x0/(_ac_x0 + 1.0))", "-(_ac_x1/_ac_x0/(_ac_x0 + 1.0F))"),
    (1 / x, "(1.0/_ac_x0)", "(1.0F/_ac_x0)"),
    (sp.sqrt(x), "sqrt(_ac_x0)", "sqrtf(_ac_x0)"),
    (1 / sp.sqrt(x), "(1.0/sqrt(_ac_x0))", "(1.0F/sqrtf(_ac_x0))"),
    (x**sp.Rational(1, 3), "pow(_ac_x0, 0.3333333333333333)", "powf(_ac_x0, 0.33333334F)"),
    (x**40, "pow(_ac_x0, 40.0)", "powf(_ac_x0, 40.0F)"),
    (sp.exp(x) + cf.log1p(y), "exp(_ac_x0) + log1p(_ac_x1)", "expf(_ac_x0) + log1pf(_ac_x1)"),
    (sp.atan2(y, x), "atan2(_ac_x1, _ac_x0)", "atan2f(_ac_x1, _ac_x0)"),
    (sp.Mod(x, y), "_ac_mod(_ac_x0, _ac_x1)", "_ac_modf(_ac_x0, _ac_x1)"),
    (sp.Heaviside(x), "_ac_heaviside(_ac_x0, 0.5)", "_ac_heavisidef(_ac_x0, 0.5F)"),
    (sp.Max(x, y, 1), "_ac_max(_ac_x1, _ac_max(1.0, _ac_x0))",
     "_ac_maxf(_ac_x1, _ac_maxf(1.0F, _ac_x0))"),
    (sp.gamma(x), "tgamma(_ac_x0)", "tgammaf(_ac_x0)"),
    (sp.pi * x, "3.141592653589793*_ac_x0", "3.1415927F*_ac_x0"),
    (x + sp.oo, "_ac_x0 + INFINITY", "_ac_x0 + INFINITY"),
])
def test_scalar_golden(expr, f64, f32):
    assert c(expr) == f64
    assert c(expr, DType.FLOAT32) == f32


def test_piecewise_is_a_real_branch():
    pw = sp.Piecewise((1 / x, x > 0), (sp.log(-x), sp.And(x < -1, sp.Not(y > 0))), (0, True))
    assert c(pw) == ("((_ac_x0 > 0.0) ? ((1.0/_ac_x0)) : (((_ac_x1 <= 0.0 && _ac_x0 < -1.0) ? "
                     "(log(-_ac_x0)) : (0.0))))")
    assert c(sp.Piecewise((x, x > 0))) == "((_ac_x0 > 0.0) ? (_ac_x0) : (NAN))"
    assert c(sp.Or(x > 0, sp.Not(sp.Eq(y, 0)))) == "_ac_x0 > 0.0 || _ac_x1 != 0.0"
    assert c(sp.Xor(x > 0, y > 0)) == "(((_ac_x0 > 0.0) != 0) ^ ((_ac_x1 > 0.0) != 0))"


@pytest.mark.parametrize("value", [0.1, 1 / 3, 5e-324, 1e-310, 1.7976931348623157e308, -0.0,
                                   2.0**-1074, 123456789.123456789, 1e22])
def test_float_literals_round_trip_bit_exactly(value):
    text = float_literal(value, DType.FLOAT64)
    assert np.float64(float(text)).tobytes() == np.float64(value).tobytes()
    single = float_literal(value, DType.FLOAT32)
    if single.endswith("F"):
        assert np.float32(single[:-1]).tobytes() == np.float32(value).tobytes()


def test_float32_overflowing_constant_is_infinity():
    assert float_literal(1e300, DType.FLOAT32) == "INFINITY"
    assert float_literal(-1e300, DType.FLOAT32) == "(-INFINITY)"


def test_rational_rounds_once_in_float32():
    assert rational_value(1, 3, DType.FLOAT32) == float(np.float32(1 / 3))
    big = rational_value(2**80 + 1, 3**50, DType.FLOAT64)
    assert big == (2**80 + 1) / 3**50


def test_user_names_cannot_reach_the_printer():
    with pytest.raises(VerifyError, match="unmangled"):
        c(sp.Symbol("x; system('rm')"))


def test_statements():
    p = CFamilyPrinter({"dtype": DType.FLOAT64})
    i, n = sp.Symbol("_ac_i"), sp.Symbol("_ac_n")
    buf = Buffer("_ac_out0", DType.FLOAT64, (n,), Role.OUT)
    loop = Loop(i, n, (Let(sp.Symbol("_ac_t0"), x + 1), Assign(buf[i], sp.Symbol("_ac_t0")),
                       Accumulate(buf[i], x, ReduceOp.MAX)), LoopKind.SERIAL)
    assert "\n".join(p.statement(loop, 0)) == (
        "for (npy_intp _ac_i = 0; _ac_i < _ac_n; _ac_i++) {\n"
        "    const double _ac_t0 = _ac_x0 + 1.0;\n"
        "    _ac_out0[_ac_i] = _ac_t0;\n"
        "    _ac_out0[_ac_i] = _ac_max(_ac_out0[_ac_i], _ac_x0);\n"
        "}"
    )
