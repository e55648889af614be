"""The table of math functions every backend understands: one row per function.

One row per SymPy function class says how every target computes it: the
NumPy callable of the reference interpreter and of ``ac.evaluate``, the C
names for double and float, whether glibc's vector math library (libmvec)
has a SIMD variant, the CUDA names (``cuda64``/``cuda32``, the C names unless
a row says otherwise), the value of an omitted trailing argument, which
instances are out of reach (``check``), and the mpmath definition and sample
arguments the end-to-end test of the row uses, and the name of its
``ac.special`` wrapper (``api``).  The C printer, the interpreter,
``ac.evaluate``, the support check of ``ac.compile``, the wrappers and the
name resolution of parsed formulas (:func:`resolve_names`) all read it, so a
function cannot be half-added (``tests/test_mathfuncs.py`` checks every row
end to end: C against NumPy against mpmath).

Helpers whose names start with ``_ac_`` are ``static inline`` C functions in
``algebrac/cpu/algebrac_math.h``; they give C the semantics NumPy and SymPy
have (``Mod`` takes the divisor's sign, ``Min``/``Max`` propagate NaN, ...),
and compute algebrac's numerically stable functions (``sigmoid``,
``logaddexp``, ``log1mexp``, ...), whose NumPy twins are in
:mod:`algebrac.stablemath`.  The helpers are inlined into the loop, so they
need no vector variant (``simd=False``).

Special functions (Bessel, incomplete gamma and beta, hypergeometric, ...)
call SciPy's C implementations: a row's ``cython`` field is an expression of
``scipy.special.cython_special`` functions in the arguments ``a0, a1, ...``;
the generated module's Cython part cimports them and hands a pointer to the
C loop (``_ac_sf_<name>``), so there is no Python call per element.

>>> import sympy as sp
>>> row = FUNCTIONS[sp.exp]
>>> (row.c64, row.c32, row.simd, row.cuda32)
('exp', 'expf', True, 'expf')
>>> FUNCTIONS[sp.besselj].cython
'jv(a0, a1)'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen import cfunctions as cf
from sympy.core.function import AppliedUndef

from . import stablemath as sm
from .expr import functions as af
from .expr import special as sf

__all__ = ["FuncRow", "FUNCTIONS", "REWRITES", "row_for", "resolve_names", "unsupported_reason"]


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
    cython: str = ""    # cython_special expression in a0, a1, ... (the C names are _ac_sf_*)
    defaults: tuple = ()   # values of omitted trailing arguments (Heaviside's H0 = 1/2)
    check: Callable | None = None   # node -> why this instance cannot compile, or None
    mpmath: Callable | None = None  # the definition, for the row's end-to-end test
    sample: tuple = ()  # (lo, hi) per argument: where the row's test samples it
    cuda: tuple | None = field(default=None)   # (cuda64, cuda32); None: the C names
    # Instances CUDA's math library computes though the row's C names are SciPy's: args ->
    # (cuda64, cuda32, leading int args, args) or None (see _cuda_bessel)
    cuda_call: Callable | None = None
    api: str = ""       # the wrapper's name in ac.special (SciPy's name), if it has one

    @property
    def cuda64(self) -> str | None:
        """The CUDA name in double (None: not available on CUDA)."""
        return self.cuda[0] if self.cuda is not None else self.c64

    @property
    def cuda32(self) -> str | None:
        return self.cuda[1] if self.cuda is not None else self.c32

    @property
    def scipy_names(self) -> tuple:
        """The cython_special functions the ``cython`` expression calls."""
        import re

        return tuple(sorted(set(re.findall(r"([a-z_0-9]+)\(", self.cython))))

    def full_args(self, args) -> list:
        """``args`` with omitted trailing arguments filled in from ``defaults``."""
        args = list(args)
        missing = self.nargs - len(args)
        return args + list(self.defaults[len(self.defaults) - missing:]) if missing > 0 else args


def _special(name: str) -> Callable:
    """A scipy.special function, imported on first use (scipy.special costs 0.2 s to import)."""

    def call(*args):
        import scipy.special

        return getattr(scipy.special, name)(*args)

    call.__name__ = name
    return call


def _np_lgamma(x):
    # C99 lgamma, log|gamma(x)|: scipy's gammaln gives inf for |x| < 2**-1024
    # (where 1/x overflows; log|gamma(x)| ~ -log|x| there) and -inf at -inf.
    import scipy.special

    x = np.asarray(x)
    with np.errstate(divide="ignore"):
        tiny = -np.log(np.abs(x))
    return np.where(np.abs(x) < 1e-300, tiny,
                    np.where(x == -np.inf, np.inf, scipy.special.gammaln(x)))


def _np_sinc(x):
    # SymPy's sinc is sin(x)/x (NumPy's np.sinc is sin(pi x)/(pi x)).
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    safe = np.where(x == 0, 1, x)
    return np.where(x == 0, 1, np.sin(x) / safe).astype(x.dtype)


def zeta(s):
    # scipy.special.zeta(s) is the Riemann zeta function; 1 + zetac(s) is it too.
    import scipy.special

    return 1 + scipy.special.zetac(s)


def _order_up_to_4(node):
    n = node.args[0]
    if not (n.is_Integer and 0 <= n <= 4):
        return "algebrac computes polygamma of integer order 0 to 4 only (digamma to its 4th derivative)"
    return None


def _riemann(node):
    if len(node.args) == 2 and node.args[1] != 1:
        return "algebrac computes the Riemann zeta function zeta(s) only, not Hurwitz's zeta(s, a)"
    return None


def _sf(func, nargs, numpy, scipy_expr, mp, sample, **kw) -> FuncRow:
    """A row computed by SciPy: cython_special in C, scipy.special in NumPy (and the
    wrapper ``ac.special.<SciPy's name>``)."""
    name = "_ac_sf_" + func.__name__
    # No cython_special on a GPU: CUDA computes only what its math library has (cuda_call).
    return FuncRow(func, nargs, numpy, name, name + "f", cython=scipy_expr, mpmath=mp,
                   sample=sample, cuda=(None, None), api=numpy.__name__, **kw)


def _cuda_bessel(kind: str, orders: int | None):
    """CUDA's Bessel functions of a constant integer order: ``<kind>0``/``<kind>1`` and,
    when ``orders`` is None, ``<kind>n`` for higher orders (``cyl_bessel_i0``/``i1``
    for I).  CUDA has no real-order Bessel functions."""
    def call(nu, x):
        if not (nu.is_Integer and 0 <= nu and (orders is None or nu <= orders)):
            return None
        if nu <= 1:
            return f"{kind}{nu}", f"{kind}{nu}f", (), (x,)
        return f"{kind}n", f"{kind}nf", (int(nu),), (x,)
    call.__doc__ = (f"constant integer orders 0{' and 1' if orders else ' and up'} only, as "
                    f"{kind}0{'/' + kind + '1' if orders else ', ' + kind + '1, ' + kind + 'n'}")
    return call


_U, _P, _R = ((-3, 3),), ((0.1, 5),), (-3, 3)
_ROWS = [
    FuncRow(sp.exp, 1, np.exp, "exp", "expf", True, mpmath=mpmath.exp, sample=_U),
    FuncRow(sp.log, 1, np.log, "log", "logf", True, mpmath=mpmath.log, sample=_P),
    FuncRow(sp.sin, 1, np.sin, "sin", "sinf", True, mpmath=mpmath.sin, sample=_U),
    FuncRow(sp.cos, 1, np.cos, "cos", "cosf", True, mpmath=mpmath.cos, sample=_U),
    FuncRow(sp.tan, 1, np.tan, "tan", "tanf", True, mpmath=mpmath.tan, sample=((-1.5, 1.5),)),
    FuncRow(sp.asin, 1, np.arcsin, "asin", "asinf", True, mpmath=mpmath.asin, sample=((-1, 1),)),
    FuncRow(sp.acos, 1, np.arccos, "acos", "acosf", True, mpmath=mpmath.acos, sample=((-1, 1),)),
    FuncRow(sp.atan, 1, np.arctan, "atan", "atanf", True, mpmath=mpmath.atan, sample=_U),
    FuncRow(sp.atan2, 2, np.arctan2, "atan2", "atan2f", True, mpmath=mpmath.atan2,
            sample=(_R, _R)),
    FuncRow(sp.sinh, 1, np.sinh, "sinh", "sinhf", True, mpmath=mpmath.sinh, sample=_U),
    FuncRow(sp.cosh, 1, np.cosh, "cosh", "coshf", True, mpmath=mpmath.cosh, sample=_U),
    FuncRow(sp.tanh, 1, np.tanh, "tanh", "tanhf", True, mpmath=mpmath.tanh, sample=_U),
    FuncRow(sp.asinh, 1, np.arcsinh, "asinh", "asinhf", True, mpmath=mpmath.asinh, sample=_U),
    FuncRow(sp.acosh, 1, np.arccosh, "acosh", "acoshf", True, mpmath=mpmath.acosh,
            sample=((1, 5),)),
    FuncRow(sp.atanh, 1, np.arctanh, "atanh", "atanhf", True, mpmath=mpmath.atanh,
            sample=((-0.9, 0.9),)),
    FuncRow(sp.erf, 1, _special("erf"), "erf", "erff", True, mpmath=mpmath.erf, sample=_U),
    FuncRow(sp.erfc, 1, _special("erfc"), "erfc", "erfcf", True, mpmath=mpmath.erfc, sample=_U),
    FuncRow(sp.gamma, 1, _special("gamma"), "tgamma", "tgammaf", mpmath=mpmath.gamma,
            sample=((0.1, 6),)),
    FuncRow(sp.loggamma, 1, _np_lgamma, "lgamma", "lgammaf", mpmath=mpmath.loggamma,
            sample=((0.1, 6),)),
    # Orders 0 to 4: digamma (the derivative of loggamma) and its derivatives.
    FuncRow(sp.polygamma, 2, _special("polygamma"), "_ac_polygamma", "_ac_polygammaf",
            check=_order_up_to_4, mpmath=mpmath.polygamma, sample=((0, 0), (0.1, 6))),
    FuncRow(sp.Abs, 1, np.abs, "fabs", "fabsf", mpmath=abs, sample=_U),
    FuncRow(sp.floor, 1, np.floor, "floor", "floorf", mpmath=mpmath.floor, sample=_U),
    FuncRow(sp.ceiling, 1, np.ceil, "ceil", "ceilf", mpmath=mpmath.ceil, sample=_U),
    # sign(NaN) = NaN, Mod takes the divisor's sign, Min/Max propagate NaN: as NumPy.
    FuncRow(sp.sign, 1, np.sign, "_ac_sign", "_ac_signf", mpmath=mpmath.sign, sample=_U),
    FuncRow(sp.Mod, 2, np.mod, "_ac_mod", "_ac_modf", sample=(_R, (0.5, 3))),
    FuncRow(sp.Heaviside, 2, np.heaviside, "_ac_heaviside", "_ac_heavisidef",
            defaults=(sp.S.Half,), sample=(_R, (0, 1))),
    FuncRow(sp.Min, 2, np.minimum, "_ac_min", "_ac_minf", mpmath=min, sample=(_R, _R)),
    FuncRow(sp.Max, 2, np.maximum, "_ac_max", "_ac_maxf", mpmath=max, sample=(_R, _R)),
    FuncRow(cf.log1p, 1, np.log1p, "log1p", "log1pf", True, mpmath=mpmath.log1p,
            sample=((-0.9, 3),)),
    FuncRow(cf.expm1, 1, np.expm1, "expm1", "expm1f", True, mpmath=mpmath.expm1, sample=_U),
    FuncRow(cf.exp2, 1, np.exp2, "exp2", "exp2f", True, mpmath=lambda x: 2**x, sample=_U),
    FuncRow(cf.log2, 1, np.log2, "log2", "log2f", True, mpmath=lambda x: mpmath.log(x, 2),
            sample=_P),
    FuncRow(cf.log10, 1, np.log10, "log10", "log10f", True, mpmath=mpmath.log10, sample=_P),
    FuncRow(cf.hypot, 2, np.hypot, "hypot", "hypotf", True, mpmath=mpmath.hypot,
            sample=(_R, _R)),
    FuncRow(cf.Sqrt, 1, np.sqrt, "sqrt", "sqrtf", mpmath=mpmath.sqrt, sample=_P),
    FuncRow(cf.Cbrt, 1, np.cbrt, "cbrt", "cbrtf", True, mpmath=mpmath.cbrt, sample=_P),
    FuncRow(cf.fma, 3, lambda a, b, c: a * b + c, "fma", "fmaf",
            mpmath=lambda a, b, c: a * b + c, sample=(_R, _R, _R)),
    FuncRow(sp.sinc, 1, _np_sinc, "_ac_sinc", "_ac_sincf", calls=(sp.sin,), api="sinc",
            mpmath=lambda x: mpmath.sin(x) / x if x else mpmath.mpf(1), sample=((-8, 8),)),
    # Special functions: SciPy's C implementations through cython_special.
    _sf(sp.beta, 2, _special("beta"), "beta(a0, a1)", mpmath.beta, ((0.2, 5), (0.2, 5))),
    _sf(sf.gammainc, 2, _special("gammainc"), "gammainc(a0, a1)",
        lambda a, x: mpmath.gammainc(a, 0, x, regularized=True), ((0.2, 8), (0, 10))),
    _sf(sf.gammaincc, 2, _special("gammaincc"), "gammaincc(a0, a1)",
        lambda a, x: mpmath.gammainc(a, x, mpmath.inf, regularized=True), ((0.2, 8), (0, 10))),
    _sf(sf.ibeta, 3, _special("betainc"), "betainc(a0, a1, a2)",
        lambda a, b, x: mpmath.betainc(a, b, 0, x, regularized=True),
        ((0.2, 5), (0.2, 5), (0, 1))),
    _sf(sp.besselj, 2, _special("jv"), "jv(a0, a1)", mpmath.besselj, ((0, 3), (0, 10)),
        cuda_call=_cuda_bessel("j", None)),
    _sf(sp.bessely, 2, _special("yv"), "yv(a0, a1)", mpmath.bessely, ((0, 3), (0.5, 10)),
        cuda_call=_cuda_bessel("y", None)),
    _sf(sp.besseli, 2, _special("iv"), "iv(a0, a1)", mpmath.besseli, ((0, 3), (0, 10)),
        cuda_call=_cuda_bessel("cyl_bessel_i", 1)),
    _sf(sp.besselk, 2, _special("kv"), "kv(a0, a1)", mpmath.besselk, ((0, 3), (0.2, 10))),
    _sf(sf.hyp0f1, 2, _special("hyp0f1"), "hyp0f1(a0, a1)", mpmath.hyp0f1,
        ((0.5, 3), (-5, 5))),
    _sf(sf.hyp1f1, 3, _special("hyp1f1"), "hyp1f1(a0, a1, a2)", mpmath.hyp1f1,
        ((-2, 2), (0.5, 3), (-3, 3))),
    _sf(sf.hyp2f1, 4, _special("hyp2f1"), "hyp2f1(a0, a1, a2, a3)", mpmath.hyp2f1,
        ((-2, 2), (-2, 2), (0.5, 3), (-0.9, 0.9))),
    _sf(sf.spence, 1, _special("spence"), "spence(a0)",
        lambda z: mpmath.polylog(2, 1 - z), ((0, 4),)),
    _sf(sp.zeta, 1, zeta, "1 + zetac(a0)", mpmath.zeta, ((1.5, 8),), check=_riemann),
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
                  "_ac_" + f.__name__ + "f", False, _HELPER_CALLS[f.__name__],
                  mpmath=getattr(sm, "mp_" + f.__name__))
          for f in af.STABLE_FUNCTIONS]

FUNCTIONS: dict[type, FuncRow] = {row.sympy: row for row in _ROWS}


def _inv(f):
    return lambda *a: 1 / f(*a)


def _of_inverse(f):
    return lambda a: f(1 / a)


def _hyper(ap, bq, z):
    ap, bq = list(ap), list(bq)
    shape = (len(ap), len(bq))
    if shape == (2, 1):
        return sf.hyp2f1(*ap, *bq, z)
    if shape == (1, 1):
        return sf.hyp1f1(*ap, *bq, z)
    if shape == (0, 1):
        return sf.hyp0f1(*bq, z)
    if shape == (1, 0):   # (1 - z)**(-a)
        return (1 - z) ** (-ap[0])
    if shape == (0, 0):
        return sp.exp(z)
    return sp.hyper(ap, bq, z)


def _polylog(s, z):
    """Li_2(z) = spence(1 - z); orders SymPy expands (s <= 1) become elementary."""
    if s == 2:
        return sf.spence(1 - z)
    return sp.expand_func(sp.polylog(s, z))


def _betainc(a, b, x1, x2):
    return sp.beta(a, b) * (sf.ibeta(a, b, x2) - sf.ibeta(a, b, x1))


# Functions computed through table functions; applied exactly in SymPy (the
# specialize phase, before CSE), so every backend sees only table functions.
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
    # SymPy's special functions in terms of SciPy's (see algebrac.expr.special).
    sp.lowergamma: lambda a, x: sf.gammainc(a, x) * sp.gamma(a),
    sp.uppergamma: lambda a, x: sf.gammaincc(a, x) * sp.gamma(a),
    sp.betainc: _betainc,
    sp.betainc_regularized: lambda a, b, x1, x2: sf.ibeta(a, b, x2) - sf.ibeta(a, b, x1),
    sp.hyper: _hyper,
    sp.polylog: _polylog,
    sp.frac: lambda x: x - sp.floor(x),
    # algebrac compiles real formulas: every argument is real, and a polar number
    # (SymPy's branch bookkeeping, as in exp_polar(2*I*pi)*x) is its principal value.
    sp.exp_polar: sp.exp,
    sp.re: lambda x: x,
    sp.im: lambda x: sp.S.Zero,
}


def _rewrite_reason(node) -> str | None:
    """Why a REWRITES function cannot compile in this instance (its rewrite is not in the table)."""
    if isinstance(node, sp.hyper) and isinstance(_hyper(*node.args), sp.hyper):
        return (f"algebrac computes hypergeometric functions pFq with (p, q) in (2, 1), (1, 1), "
                f"(0, 1), (1, 0), (0, 0) only; this one has {(len(node.ap), len(node.bq))}")
    if isinstance(node, sp.polylog):
        out = _polylog(*node.args)
        if out.has(sp.polylog):
            return "algebrac computes polylog(2, z) and the orders SymPy expands (s <= 1) only"
    return None


def unsupported_reason(node) -> str | None:
    """Why ``node`` (a function application) cannot compile, or None when it can.

    >>> x = sp.Symbol("x")
    >>> unsupported_reason(sp.besselj(1, x)) is None, unsupported_reason(sp.zeta(x, 2))[:40]
    (True, 'algebrac computes the Riemann zeta funct')
    """
    row = row_for(type(node))
    if row is not None:
        return row.check(node) if row.check is not None else None
    if type(node) in REWRITES:
        return _rewrite_reason(node)
    return f"{type(node).__name__} is not in algebrac's function table"


_BY_NAME = {row.sympy.__name__: row.sympy for row in _ROWS}
_BY_NAME.update({f.__name__: f for f in REWRITES})
_BY_NAME.update({"expm1": cf.expm1, "log1p": cf.log1p, "lgamma": sp.loggamma,
                 "digamma": sp.digamma, "sqrt": sp.sqrt, "cbrt": sp.cbrt})


def resolve_names(expr: sp.Basic) -> sp.Basic:
    """Replace undefined functions named like a table function by it.

    SymPy's parser makes ``Function('expm1')`` of ``parse_expr("expm1(x)")``;
    it means the table's ``expm1``.

    >>> from sympy.parsing.sympy_parser import parse_expr
    >>> e = resolve_names(parse_expr("expm1(x) + lgamma(x)"))
    >>> e, type(e.args[0]).__module__
    (expm1(x) + loggamma(x), 'sympy.codegen.cfunctions')
    """
    undefined = [f for f in expr.atoms(AppliedUndef) if type(f).__name__ in _BY_NAME]
    if not undefined:
        return expr
    return expr.xreplace({f: _BY_NAME[type(f).__name__](*f.args) for f in undefined})


def row_for(func: type) -> FuncRow | None:
    """The table row for a SymPy function class (following subclasses), or ``None``."""
    for klass in func.__mro__:
        row = FUNCTIONS.get(klass)
        if row is not None:
            return row
    return None
