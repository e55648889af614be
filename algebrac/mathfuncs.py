"""The table of math functions every backend understands: one row per SymPy function class.

A row says how each target computes the function: the NumPy callable (the
reference interpreter, ``ac.evaluate``), the C names for double and float,
whether libmvec has a SIMD variant, the CUDA names, defaults of omitted
trailing arguments, instances out of reach (``check``), the mpmath definition
and sample ranges of the row's end-to-end test, and the user-facing wrapper
(``api``).  The C printer, the interpreter, ``ac.evaluate``, ``ac.compile``'s
support check, the wrappers (:mod:`algebrac.expr.elementwise`) and
:func:`resolve_names` all read it, so a function cannot be half-added
(``tests/test_mathfuncs.py`` checks every row end to end).

``_ac_`` names are ``static inline`` helpers of ``algebrac/cpu/algebrac_math.h``:
NumPy's semantics in C (``Mod`` takes the divisor's sign, ``Min``/``Max``
propagate NaN) and the stable functions (NumPy twins in
:mod:`algebrac.stablemath`); inlined, they need no vector variant.  Special
functions call SciPy's C code: ``cython`` is an expression of
``scipy.special.cython_special`` functions in ``a0, a1, ...``, handed to the C
loop as a pointer (``_ac_sf_<name>``), so there is no Python call per element.

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

__all__ = ["Api", "FuncRow", "FUNCTIONS", "REWRITES", "row_for", "resolve_names",
           "unsupported_reason"]


@dataclass(frozen=True)
class Api:
    """A row's wrapper ``ac.<name>`` (``ac.special.<name>`` if ``special``), made by
    :func:`algebrac.expr.elementwise.table_wrapper`; ``value`` and ``tex`` are its doctest."""

    name: str
    params: str          # the parameter names, space-separated, in the wrapper's order
    doc: str             # the docstring's first sentence
    value: str           # str() of the wrapper applied to symbols named like ``params``
    tex: str             # ac.latex of that value
    arith: bool = False  # ints stay ints (abs, floor, max, ...); else ints give float64
    make: Callable | None = None  # the SymPy constructor, when it is not the row's class
    special: bool = False         # in ac.special (SciPy's name), not at the top level


def _special_api(*args, **kw) -> Api:
    return Api(*args, special=True, **kw)


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
    api: Api | None = None   # the user-facing wrapper (ac.exp, ac.special.jv), if any

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


def _sf(func, nargs, numpy, scipy_expr, mp, sample, api, **kw) -> FuncRow:
    """A row computed by SciPy: cython_special in C, scipy.special in NumPy, and the
    wrapper ``ac.special.<SciPy's name>`` described by ``api``: (params, doc, value, tex)."""
    name = "_ac_sf_" + func.__name__
    # No cython_special on a GPU: CUDA computes only what its math library has (cuda_call).
    return FuncRow(func, nargs, numpy, name, name + "f", cython=scipy_expr, mpmath=mp,
                   sample=sample, cuda=(None, None),
                   api=_special_api(numpy.__name__, *api), **kw)


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


def _real_cbrt(x):
    # x**(1/3) is SymPy's principal (complex) root for negative x; numpy.cbrt is real.
    return sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)


_U, _P, _R = ((-3, 3),), ((0.1, 5),), (-3, 3)
_OP = r"\operatorname{%s}{\left(x \right)}"   # SymPy's LaTeX of most functions of x
_ROWS = [
    FuncRow(sp.exp, 1, np.exp, "exp", "expf", True, mpmath=mpmath.exp, sample=_U,
            api=Api("exp", "x", "``e**x``.", "exp(x)", "e^{x}")),
    FuncRow(sp.log, 1, np.log, "log", "logf", True, mpmath=mpmath.log, sample=_P,
            api=Api("log", "x", "The natural logarithm.", "log(x)", r"\log{\left(x \right)}")),
    FuncRow(sp.sin, 1, np.sin, "sin", "sinf", True, mpmath=mpmath.sin, sample=_U,
            api=Api("sin", "x", "The sine.", "sin(x)", r"\sin{\left(x \right)}")),
    FuncRow(sp.cos, 1, np.cos, "cos", "cosf", True, mpmath=mpmath.cos, sample=_U,
            api=Api("cos", "x", "The cosine.", "cos(x)", r"\cos{\left(x \right)}")),
    FuncRow(sp.tan, 1, np.tan, "tan", "tanf", True, mpmath=mpmath.tan, sample=((-1.5, 1.5),),
            api=Api("tan", "x", "The tangent.", "tan(x)", r"\tan{\left(x \right)}")),
    FuncRow(sp.asin, 1, np.arcsin, "asin", "asinf", True, mpmath=mpmath.asin, sample=((-1, 1),),
            api=Api("arcsin", "x", "The inverse sine.", "asin(x)", _OP % "asin")),
    FuncRow(sp.acos, 1, np.arccos, "acos", "acosf", True, mpmath=mpmath.acos, sample=((-1, 1),),
            api=Api("arccos", "x", "The inverse cosine.", "acos(x)", _OP % "acos")),
    FuncRow(sp.atan, 1, np.arctan, "atan", "atanf", True, mpmath=mpmath.atan, sample=_U,
            api=Api("arctan", "x", "The inverse tangent.", "atan(x)", _OP % "atan")),
    FuncRow(sp.atan2, 2, np.arctan2, "atan2", "atan2f", True, mpmath=mpmath.atan2,
            sample=(_R, _R),
            api=Api("arctan2", "y x", "The angle of the point ``(x, y)`` (NumPy's order).",
                    "atan2(y, x)", r"\operatorname{atan2}\left(y, x\right)")),
    FuncRow(sp.sinh, 1, np.sinh, "sinh", "sinhf", True, mpmath=mpmath.sinh, sample=_U,
            api=Api("sinh", "x", "The hyperbolic sine.", "sinh(x)", r"\sinh{\left(x \right)}")),
    FuncRow(sp.cosh, 1, np.cosh, "cosh", "coshf", True, mpmath=mpmath.cosh, sample=_U,
            api=Api("cosh", "x", "The hyperbolic cosine.", "cosh(x)",
                    r"\cosh{\left(x \right)}")),
    FuncRow(sp.tanh, 1, np.tanh, "tanh", "tanhf", True, mpmath=mpmath.tanh, sample=_U,
            api=Api("tanh", "x", "The hyperbolic tangent.", "tanh(x)",
                    r"\tanh{\left(x \right)}")),
    FuncRow(sp.asinh, 1, np.arcsinh, "asinh", "asinhf", True, mpmath=mpmath.asinh, sample=_U,
            api=Api("arcsinh", "x", "The inverse hyperbolic sine.", "asinh(x)", _OP % "asinh")),
    FuncRow(sp.acosh, 1, np.arccosh, "acosh", "acoshf", True, mpmath=mpmath.acosh,
            sample=((1, 5),),
            api=Api("arccosh", "x", "The inverse hyperbolic cosine.", "acosh(x)",
                    _OP % "acosh")),
    FuncRow(sp.atanh, 1, np.arctanh, "atanh", "atanhf", True, mpmath=mpmath.atanh,
            sample=((-0.9, 0.9),),
            api=Api("arctanh", "x", "The inverse hyperbolic tangent.", "atanh(x)",
                    _OP % "atanh")),
    FuncRow(sp.erf, 1, _special("erf"), "erf", "erff", True, mpmath=mpmath.erf, sample=_U,
            api=Api("erf", "x", "The error function.", "erf(x)", _OP % "erf")),
    FuncRow(sp.erfc, 1, _special("erfc"), "erfc", "erfcf", True, mpmath=mpmath.erfc, sample=_U,
            api=Api("erfc", "x", "The complementary error function ``1 - erf(x)``.", "erfc(x)",
                    _OP % "erfc")),
    FuncRow(sp.gamma, 1, _special("gamma"), "tgamma", "tgammaf", mpmath=mpmath.gamma,
            sample=((0.1, 6),),
            api=Api("gamma", "x", "The gamma function.", "gamma(x)", r"\Gamma\left(x\right)")),
    FuncRow(sp.loggamma, 1, _np_lgamma, "lgamma", "lgammaf", mpmath=mpmath.loggamma,
            sample=((0.1, 6),),
            api=Api("lgamma", "x", "``log|gamma(x)|`` (SymPy's ``loggamma``, C's ``lgamma``; "
                    "SymPy's value is complex for negative non-integers, compiled code and "
                    "``ac.evaluate`` give the real ``log|gamma(x)|``).", "loggamma(x)",
                    r"\log\Gamma\left(x\right)")),
    # Orders 0 to 4: digamma (the derivative of loggamma) and its derivatives.
    FuncRow(sp.polygamma, 2, _special("polygamma"), "_ac_polygamma", "_ac_polygammaf",
            check=_order_up_to_4, mpmath=mpmath.polygamma, sample=((0, 0), (0.1, 6)),
            api=_special_api("polygamma", "n x", "The ``n``-th derivative of the digamma "
                             "function, for integer orders 0 to 4.", "polygamma(n, x)",
                             r"\operatorname{polygamma}{\left(n,x \right)}")),
    FuncRow(sp.Abs, 1, np.abs, "fabs", "fabsf", mpmath=abs, sample=_U,
            api=Api("abs", "x", "The absolute value (ints stay ints).", "Abs(x)",
                    r"\left|{x}\right|", arith=True)),
    FuncRow(sp.floor, 1, np.floor, "floor", "floorf", mpmath=mpmath.floor, sample=_U,
            api=Api("floor", "x", "The largest integer ``<= x``.", "floor(x)",
                    r"\left\lfloor{x}\right\rfloor", arith=True)),
    FuncRow(sp.ceiling, 1, np.ceil, "ceil", "ceilf", mpmath=mpmath.ceil, sample=_U,
            api=Api("ceil", "x", "The smallest integer ``>= x``.", "ceiling(x)",
                    r"\left\lceil{x}\right\rceil", arith=True)),
    # sign(NaN) = NaN, Mod takes the divisor's sign, Min/Max propagate NaN: as NumPy.
    FuncRow(sp.sign, 1, np.sign, "_ac_sign", "_ac_signf", mpmath=mpmath.sign, sample=_U,
            api=Api("sign", "x", "The sign, -1, 0 or 1 (NaN for NaN).", "sign(x)",
                    _OP % "sign", arith=True)),
    FuncRow(sp.Mod, 2, np.mod, "_ac_mod", "_ac_modf", sample=(_R, (0.5, 3)),
            api=Api("mod", "a b", "``a % b`` with the sign of ``b`` (NumPy's ``mod``).",
                    "Mod(a, b)", r"a \bmod b", arith=True)),
    FuncRow(sp.Heaviside, 2, np.heaviside, "_ac_heaviside", "_ac_heavisidef",
            defaults=(sp.S.Half,), sample=(_R, (0, 1)),
            api=Api("heaviside", "x h0", "The step function, ``h0`` at ``x == 0`` "
                    "(NumPy's argument order).", "Heaviside(x, h0)",
                    r"\theta\left(x, h_{0}\right)")),
    FuncRow(sp.Min, 2, np.minimum, "_ac_min", "_ac_minf", mpmath=min, sample=(_R, _R),
            api=Api("minimum", "a b", "The smaller of ``a`` and ``b`` (NaN if either is).",
                    "Min(a, b)", r"\min\left(a, b\right)", arith=True)),
    FuncRow(sp.Max, 2, np.maximum, "_ac_max", "_ac_maxf", mpmath=max, sample=(_R, _R),
            api=Api("maximum", "a b", "The larger of ``a`` and ``b`` (NaN if either is).",
                    "Max(a, b)", r"\max\left(a, b\right)", arith=True)),
    FuncRow(cf.log1p, 1, np.log1p, "log1p", "log1pf", True, mpmath=mpmath.log1p,
            sample=((-0.9, 3),),
            api=Api("log1p", "x", "``log(1 + x)``, accurate for small ``x``.", "log1p(x)",
                    r"\operatorname{log1p}\left(x\right)")),
    FuncRow(cf.expm1, 1, np.expm1, "expm1", "expm1f", True, mpmath=mpmath.expm1, sample=_U,
            api=Api("expm1", "x", "``exp(x) - 1``, accurate for small ``x``.", "expm1(x)",
                    r"\operatorname{expm1}\left(x\right)")),
    FuncRow(cf.exp2, 1, np.exp2, "exp2", "exp2f", True, mpmath=lambda x: 2**x, sample=_U,
            api=Api("exp2", "x", "``2**x``.", "exp2(x)", "2^{x}")),
    FuncRow(cf.log2, 1, np.log2, "log2", "log2f", True, mpmath=lambda x: mpmath.log(x, 2),
            sample=_P, api=Api("log2", "x", "The base-2 logarithm.", "log2(x)",
                               r"\log_{2}\left(x\right)")),
    FuncRow(cf.log10, 1, np.log10, "log10", "log10f", True, mpmath=mpmath.log10, sample=_P,
            api=Api("log10", "x", "The base-10 logarithm.", "log10(x)",
                    r"\log_{10}\left(x\right)")),
    FuncRow(cf.hypot, 2, np.hypot, "hypot", "hypotf", True, mpmath=mpmath.hypot,
            sample=(_R, _R),
            api=Api("hypot", "x y", "``sqrt(x**2 + y**2)`` without overflow.", "hypot(x, y)",
                    r"\operatorname{hypot}\left(x, y\right)")),
    FuncRow(cf.Sqrt, 1, np.sqrt, "sqrt", "sqrtf", mpmath=mpmath.sqrt, sample=_P,
            api=Api("sqrt", "x", "The square root (SymPy's ``x**(1/2)``).", "sqrt(x)",
                    r"\sqrt{x}", make=sp.sqrt)),
    FuncRow(cf.Cbrt, 1, np.cbrt, "cbrt", "cbrtf", True, mpmath=mpmath.cbrt, sample=_P,
            api=Api("cbrt", "x", "The real cube root ``sign(x)*|x|**(1/3)``, as "
                    "``numpy.cbrt`` (SymPy's ``x**(1/3)`` is complex for ``x < 0``).",
                    "Abs(x)**(1/3)*sign(x)",
                    r"\sqrt[3]{\left|{x}\right|} \operatorname{sign}{\left(x \right)}",
                    make=_real_cbrt)),
    FuncRow(cf.fma, 3, lambda a, b, c: a * b + c, "fma", "fmaf",
            mpmath=lambda a, b, c: a * b + c, sample=(_R, _R, _R)),
    FuncRow(sp.sinc, 1, _np_sinc, "_ac_sinc", "_ac_sincf", calls=(sp.sin,),
            mpmath=lambda x: mpmath.sin(x) / x if x else mpmath.mpf(1), sample=((-8, 8),),
            api=_special_api("sinc", "x", "SymPy's unnormalized ``sin(x)/x`` (1 at 0; "
                             "NumPy's ``sinc`` is ``sin(pi x)/(pi x)``).", "sinc(x)",
                             _OP % "sinc")),
    # Special functions: SciPy's C implementations through cython_special.
    _sf(sp.beta, 2, _special("beta"), "beta(a0, a1)", mpmath.beta, ((0.2, 5), (0.2, 5)),
        ("a b", "The beta function.", "beta(a, b)", r"\operatorname{B}\left(a, b\right)")),
    _sf(sf.gammainc, 2, _special("gammainc"), "gammainc(a0, a1)",
        lambda a, x: mpmath.gammainc(a, 0, x, regularized=True), ((0.2, 8), (0, 10)),
        ("a x", "The regularized lower incomplete gamma function ``P(a, x)``.",
         "gammainc(a, x)", r"P\left(a, x\right)")),
    _sf(sf.gammaincc, 2, _special("gammaincc"), "gammaincc(a0, a1)",
        lambda a, x: mpmath.gammainc(a, x, mpmath.inf, regularized=True), ((0.2, 8), (0, 10)),
        ("a x", "The regularized upper incomplete gamma function ``Q(a, x)``.",
         "gammaincc(a, x)", r"Q\left(a, x\right)")),
    _sf(sf.ibeta, 3, _special("betainc"), "betainc(a0, a1, a2)",
        lambda a, b, x: mpmath.betainc(a, b, 0, x, regularized=True),
        ((0.2, 5), (0.2, 5), (0, 1)),
        ("a b x", "The regularized incomplete beta function ``I_x(a, b)``.", "ibeta(a, b, x)",
         r"I_{x}\left(a, b\right)")),
    _sf(sp.besselj, 2, _special("jv"), "jv(a0, a1)", mpmath.besselj, ((0, 3), (0, 10)),
        ("v x", "The Bessel function of the first kind of real order ``v``.",
         "besselj(v, x)", r"J_{v}\left(x\right)"), cuda_call=_cuda_bessel("j", None)),
    _sf(sp.bessely, 2, _special("yv"), "yv(a0, a1)", mpmath.bessely, ((0, 3), (0.5, 10)),
        ("v x", "The Bessel function of the second kind of real order ``v``.",
         "bessely(v, x)", r"Y_{v}\left(x\right)"), cuda_call=_cuda_bessel("y", None)),
    _sf(sp.besseli, 2, _special("iv"), "iv(a0, a1)", mpmath.besseli, ((0, 3), (0, 10)),
        ("v x", "The modified Bessel function of the first kind of real order ``v``.",
         "besseli(v, x)", r"I_{v}\left(x\right)"), cuda_call=_cuda_bessel("cyl_bessel_i", 1)),
    _sf(sp.besselk, 2, _special("kv"), "kv(a0, a1)", mpmath.besselk, ((0, 3), (0.2, 10)),
        ("v x", "The modified Bessel function of the second kind of real order ``v``.",
         "besselk(v, x)", r"K_{v}\left(x\right)")),
    _sf(sf.hyp0f1, 2, _special("hyp0f1"), "hyp0f1(a0, a1)", mpmath.hyp0f1,
        ((0.5, 3), (-5, 5)),
        ("b z", "The confluent hypergeometric limit function ``0F1(; b; z)``.",
         "hyp0f1(b, z)", r"{}_{0}F_{1}\left(b, z\right)")),
    _sf(sf.hyp1f1, 3, _special("hyp1f1"), "hyp1f1(a0, a1, a2)", mpmath.hyp1f1,
        ((-2, 2), (0.5, 3), (-3, 3)),
        ("a b z", "Kummer's confluent hypergeometric function ``1F1(a; b; z)``.",
         "hyp1f1(a, b, z)", r"{}_{1}F_{1}\left(a, b, z\right)")),
    _sf(sf.hyp2f1, 4, _special("hyp2f1"), "hyp2f1(a0, a1, a2, a3)", mpmath.hyp2f1,
        ((-2, 2), (-2, 2), (0.5, 3), (-0.9, 0.9)),
        ("a b c z", "The Gauss hypergeometric function ``2F1(a, b; c; z)``.",
         "hyp2f1(a, b, c, z)", r"{}_{2}F_{1}\left(a, b, c, z\right)")),
    _sf(sf.spence, 1, _special("spence"), "spence(a0)",
        lambda z: mpmath.polylog(2, 1 - z), ((0, 4),),
        ("z", "Spence's function, ``polylog(2, 1 - z)``.", "spence(z)",
         r"\operatorname{spence}\left(z\right)")),
    _sf(sp.binomial, 2, _special("binom"), "binom(a0, a1)", mpmath.binomial, ((0, 10), (0, 5)),
        ("n k", "The binomial coefficient, for real ``n`` and ``k`` (0 past an integer "
         "``n >= 0``).", "binomial(n, k)", r"{\binom{n}{k}}")),
    _sf(sp.zeta, 1, zeta, "1 + zetac(a0)", mpmath.zeta, ((1.5, 8),),
        ("s", "The Riemann zeta function.", "zeta(s)", r"\zeta\left(s\right)"),
        check=_riemann),
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
# Their wrappers ac.<name>: (params, doc); the value prints as name(params), LaTeX with _tex.
_STABLE_API = {
    "sigmoid": ("x", "The logistic function ``1/(1 + exp(-x))``."),
    "softplus": ("x", "``log(1 + exp(x))`` without overflow."),
    "relu": ("x", "``max(0, x)`` (ints stay ints)."),
    "log_sigmoid": ("x", "``log(sigmoid(x)) = -softplus(-x)``."),
    "log1mexp": ("x", "``log(1 - exp(x))`` for ``x <= 0``, accurate at both ends."),
    "logaddexp": ("a b", "``log(exp(a) + exp(b))`` without overflow (``numpy.logaddexp``)."),
    "logdiffexp": ("a b", "``log(exp(a) - exp(b))`` for ``a >= b``."),
    "xlogy": ("x y", "``x*log(y)``, 0 where ``x == 0`` (``scipy.special.xlogy``)."),
    "xlog1py": ("x y", "``x*log1p(y)``, 0 where ``x == 0`` (``scipy.special.xlog1py``)."),
    "erfcx": ("x", "The scaled complementary error function ``exp(x**2)*erfc(x)``."),
    "log_erfc": ("x", "``log(erfc(x))``, finite where ``erfc`` underflows."),
}


def _stable_api(f) -> Api:
    name = f.__name__
    params, doc = _STABLE_API[name]
    args = ", ".join(params.split())
    return Api(name, params, doc, f"{name}({args})", r"%s\left(%s\right)" % (f._tex, args),
               arith=name == "relu")


_ROWS += [FuncRow(f, int(min(f.nargs)), getattr(sm, "np_" + f.__name__), "_ac_" + f.__name__,
                  "_ac_" + f.__name__ + "f", False, _HELPER_CALLS[f.__name__],
                  mpmath=getattr(sm, "mp_" + f.__name__), api=_stable_api(f))
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
    sp.factorial: lambda n: sp.gamma(n + 1),
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
for _row in _ROWS:   # the wrappers' NumPy/SciPy names: arcsin, arctan2, jv, binom, ...
    if _row.api is not None:
        _BY_NAME.setdefault(_row.api.name, _row.api.make or _row.sympy)


def resolve_names(expr: sp.Basic) -> sp.Basic:
    """Replace undefined functions named like a table function by it.

    SymPy's parser makes ``Function('expm1')`` of ``parse_expr("expm1(x)")``;
    it means the table's ``expm1``.

    >>> from sympy.parsing.sympy_parser import parse_expr
    >>> e = resolve_names(parse_expr("expm1(x) + lgamma(x)"))
    >>> e, type(e.args[0]).__module__
    (expm1(x) + loggamma(x), 'sympy.codegen.cfunctions')
    """
    from .simplify.substitute import nodes

    undefined = [f for f in nodes(expr)
                 if isinstance(f, AppliedUndef) and type(f).__name__ in _BY_NAME]
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
