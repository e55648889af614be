"""The table of math functions every backend understands.

One row per SymPy function class: the NumPy callable the reference
interpreter uses, the C names for double and float, and whether glibc's
vector math library (libmvec) has a SIMD variant.  Printers and the
interpreter are derived from this table, so a function cannot be half-added
(``tests/test_mathfuncs.py`` checks every row is complete).

Helpers whose names start with ``_ac_`` are ``static inline`` C functions in
``algebrac/cpu/algebrac_math.h``; they give C the semantics NumPy and SymPy
have (``Mod`` takes the divisor's sign, ``Min``/``Max`` propagate NaN, ...),
and compute algebrac's numerically stable functions (``sigmoid``,
``logaddexp``, ``log1mexp``, ...), whose NumPy twins are in
:mod:`algebrac.stablemath`.  The helpers are inlined into the loop, so they
need no vector variant (``simd=False``).

>>> import sympy as sp
>>> row = FUNCTIONS[sp.exp]
>>> (row.c64, row.c32, row.simd)
('exp', 'expf', True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp
from sympy.codegen import cfunctions as cf

from . import stablemath as sm
from .expr import functions as af

__all__ = ["FuncRow", "FUNCTIONS", "REWRITES", "row_for"]


@dataclass(frozen=True)
class FuncRow:
    """How one SymPy function is computed on each target."""

    sympy: type
    nargs: int
    numpy: Callable
    c64: str
    c32: str
    simd: bool = False  # libmvec has a vector variant of both c64 and c32
    calls: tuple = ()   # an _ac_ helper's libm functions (SymPy classes): vectorisable too


def _special(name: str) -> Callable:
    """A scipy.special function, imported on first use (scipy.special costs 0.2 s to import)."""

    def call(*args):
        import scipy.special

        return getattr(scipy.special, name)(*args)

    call.__name__ = name
    return call


def _np_sign(x):
    # SymPy's sign and C's helper: 0 for +-0, NaN for NaN.
    return np.sign(x)


def _np_mod(a, b):
    # SymPy's Mod is Python's %: the result takes the divisor's sign (np.mod).
    return np.mod(a, b)


def _np_heaviside(x, h0):
    return np.heaviside(x, h0)


def _np_lgamma(x):
    # C99 lgamma, log|gamma(x)|: scipy's gammaln gives inf for |x| < 2**-1024
    # (where 1/x overflows; log|gamma(x)| ~ -log|x| there) and -inf at -inf.
    import scipy.special

    x = np.asarray(x)
    with np.errstate(divide="ignore"):
        tiny = -np.log(np.abs(x))
    return np.where(np.abs(x) < 1e-300, tiny,
                    np.where(x == -np.inf, np.inf, scipy.special.gammaln(x)))


_ROWS = [
    FuncRow(sp.exp, 1, np.exp, "exp", "expf", True),
    FuncRow(sp.log, 1, np.log, "log", "logf", True),
    FuncRow(sp.sin, 1, np.sin, "sin", "sinf", True),
    FuncRow(sp.cos, 1, np.cos, "cos", "cosf", True),
    FuncRow(sp.tan, 1, np.tan, "tan", "tanf", True),
    FuncRow(sp.asin, 1, np.arcsin, "asin", "asinf", True),
    FuncRow(sp.acos, 1, np.arccos, "acos", "acosf", True),
    FuncRow(sp.atan, 1, np.arctan, "atan", "atanf", True),
    FuncRow(sp.atan2, 2, np.arctan2, "atan2", "atan2f", True),
    FuncRow(sp.sinh, 1, np.sinh, "sinh", "sinhf", True),
    FuncRow(sp.cosh, 1, np.cosh, "cosh", "coshf", True),
    FuncRow(sp.tanh, 1, np.tanh, "tanh", "tanhf", True),
    FuncRow(sp.asinh, 1, np.arcsinh, "asinh", "asinhf", True),
    FuncRow(sp.acosh, 1, np.arccosh, "acosh", "acoshf", True),
    FuncRow(sp.atanh, 1, np.arctanh, "atanh", "atanhf", True),
    FuncRow(sp.erf, 1, _special("erf"), "erf", "erff", True),
    FuncRow(sp.erfc, 1, _special("erfc"), "erfc", "erfcf", True),
    FuncRow(sp.gamma, 1, _special("gamma"), "tgamma", "tgammaf"),
    FuncRow(sp.loggamma, 1, _np_lgamma, "lgamma", "lgammaf"),
    # Order 0 only (digamma, the derivative of loggamma); lowering rejects others.
    FuncRow(sp.polygamma, 2, _special("polygamma"), "_ac_polygamma", "_ac_polygammaf"),
    FuncRow(sp.Abs, 1, np.abs, "fabs", "fabsf"),
    FuncRow(sp.floor, 1, np.floor, "floor", "floorf"),
    FuncRow(sp.ceiling, 1, np.ceil, "ceil", "ceilf"),
    FuncRow(sp.sign, 1, _np_sign, "_ac_sign", "_ac_signf"),
    FuncRow(sp.Mod, 2, _np_mod, "_ac_mod", "_ac_modf"),
    FuncRow(sp.Heaviside, 2, _np_heaviside, "_ac_heaviside", "_ac_heavisidef"),
    FuncRow(sp.Min, 2, np.minimum, "_ac_min", "_ac_minf"),
    FuncRow(sp.Max, 2, np.maximum, "_ac_max", "_ac_maxf"),
    FuncRow(cf.log1p, 1, np.log1p, "log1p", "log1pf", True),
    FuncRow(cf.expm1, 1, np.expm1, "expm1", "expm1f", True),
    FuncRow(cf.exp2, 1, np.exp2, "exp2", "exp2f", True),
    FuncRow(cf.log2, 1, np.log2, "log2", "log2f", True),
    FuncRow(cf.log10, 1, np.log10, "log10", "log10f", True),
    FuncRow(cf.hypot, 2, np.hypot, "hypot", "hypotf", True),
    FuncRow(cf.Sqrt, 1, np.sqrt, "sqrt", "sqrtf"),
    FuncRow(cf.Cbrt, 1, np.cbrt, "cbrt", "cbrtf", True),
    FuncRow(cf.fma, 3, lambda a, b, c: a * b + c, "fma", "fmaf"),
]
# The stable functions: _ac_<name> helpers, NumPy twins np_<name>, and the libm
# functions each helper calls (declared SIMD with the helper, so loops stay vectorised).
_EXP_LOG1P = (sp.exp, cf.log1p)
_LOG1MEXP = (sp.exp, cf.expm1, sp.log, cf.log1p)
_HELPER_CALLS = {
    "sigmoid": (sp.exp,), "softplus": _EXP_LOG1P, "log_sigmoid": _EXP_LOG1P,
    "log1mexp": _LOG1MEXP, "logaddexp": _EXP_LOG1P, "logdiffexp": _LOG1MEXP,
    "xlogy": (sp.log,), "xlog1py": (cf.log1p,), "erfcx": (sp.exp, sp.erfc),
    "log_erfc": (sp.exp, sp.erfc, sp.erf, sp.log, cf.log1p), "relu": (),
}
_ROWS += [FuncRow(f, int(min(f.nargs)), getattr(sm, "np_" + f.__name__), "_ac_" + f.__name__,
                  "_ac_" + f.__name__ + "f", False, _HELPER_CALLS[f.__name__])
          for f in af.STABLE_FUNCTIONS]

FUNCTIONS: dict[type, FuncRow] = {row.sympy: row for row in _ROWS}


def _inv(f):
    return lambda *a: 1 / f(*a)


def _of_inverse(f):
    return lambda a: f(1 / a)


# Functions that are computed through a table function; applied exactly in
# SymPy (before CSE), so every backend sees only table functions.
REWRITES: dict[type, Callable] = {
    sp.sec: _inv(sp.cos),
    sp.csc: _inv(sp.sin),
    sp.cot: _inv(sp.tan),
    sp.sech: _inv(sp.cosh),
    sp.csch: _inv(sp.sinh),
    sp.coth: _inv(sp.tanh),
    sp.asec: _of_inverse(sp.acos),
    sp.acsc: _of_inverse(sp.asin),
    sp.acot: _of_inverse(sp.atan),
    sp.asech: _of_inverse(sp.acosh),
    sp.acsch: _of_inverse(sp.asinh),
    sp.acoth: _of_inverse(sp.atanh),
}


def row_for(func: type) -> FuncRow | None:
    """The table row for a SymPy function class (following subclasses), or ``None``."""
    for klass in func.__mro__:
        row = FUNCTIONS.get(klass)
        if row is not None:
            return row
    return None
