"""Special functions SymPy spells differently from the libraries that compute them.

SymPy writes the regularized incomplete gamma function as
``lowergamma(a, x)/gamma(a)``, the regularized incomplete beta function as
``betainc_regularized(a, b, 0, x)`` and the Gauss function as
``hyper((a, b), (c,), z)``.  Compiled code calls SciPy's implementations,
which take other arguments: these classes are those primitives, as SymPy
functions with a derivative (``fdiff``), numeric evaluation (mpmath) and LaTeX.
The specialize phase rewrites SymPy's forms into them (the ``REWRITES`` of
:mod:`algebrac.mathfuncs`), exactly, so ``lowergamma(k, x)/gamma(k)`` (the
Gamma distribution's CDF) becomes ``gammainc(k, x)`` and never overflows
through ``gamma(k)``.

>>> import sympy as sp
>>> a, x = sp.symbols("a x", positive=True)
>>> gammainc(a, x).diff(x)
x**(a - 1)*exp(-x)/gamma(a)
>>> float(gammainc(2, 1.5)), float(hyp2f1(1, 1, 2, sp.Rational(1, 2)))
(0.4421745996289254, 1.3862943611198906)
>>> sp.latex(ibeta(a, 2, x))
'I_{x}\\\\left(a, 2\\\\right)'
"""
from __future__ import annotations

import mpmath
import sympy as sp
from mpmath.libmp import prec_to_dps
from sympy.core.function import ArgumentIndexError

from .functions import _Numeric

__all__ = ["gammainc", "gammaincc", "ibeta", "hyp0f1", "hyp1f1", "hyp2f1", "spence",
           "erfc_kept", "SPECIAL_FUNCTIONS"]


class _Special(sp.Function):
    """Numeric evaluation through ``_mp`` (an mpmath callable) once every argument is a number.

    Only the last argument has a closed-form derivative (``_d_last``; d/da of
    ``gammainc(a, x)`` has none).
    """

    _mp = None
    _tex = ""

    eval = classmethod(_Numeric._numeric_args.__func__)   # Floats only: evaluate now

    @classmethod
    def _call_mp(cls, *args):
        value = cls._mp(*args)
        return value.real if isinstance(value, mpmath.mpc) and value.imag == 0 else value

    def _eval_evalf(self, prec):
        if not all(a.is_number for a in self.args):
            return None
        with mpmath.workprec(prec + 20):
            args = [mpmath.mpf(sp.Float(a.evalf(prec_to_dps(prec) + 5), prec_to_dps(prec) + 5))
                    for a in self.args]
            value = self._call_mp(*args)
        if isinstance(value, mpmath.mpc):
            return sp.nan
        return sp.Float(value, prec_to_dps(prec))

    def fdiff(self, argindex=None):
        if argindex not in (None, len(self.args)):
            raise ArgumentIndexError(self, argindex)
        return self._d_last(*self.args)

    _latex = _Numeric._latex


class gammainc(_Special):
    r"""The regularized lower incomplete gamma function :math:`P(a, x) = \gamma(a, x)/\Gamma(a)`."""

    nargs = 2
    _mp = staticmethod(lambda a, x: mpmath.gammainc(a, 0, x, regularized=True))
    _tex = "P"

    def _d_last(self, a, x):
        return x ** (a - 1) * sp.exp(-x) / sp.gamma(a)


class gammaincc(_Special):
    r"""The regularized upper incomplete gamma function :math:`Q(a, x) = \Gamma(a, x)/\Gamma(a)`."""

    nargs = 2
    _mp = staticmethod(lambda a, x: mpmath.gammainc(a, x, mpmath.inf, regularized=True))
    _tex = "Q"

    def _d_last(self, a, x):
        return -x ** (a - 1) * sp.exp(-x) / sp.gamma(a)


class ibeta(_Special):
    r"""The regularized incomplete beta function :math:`I_x(a, b)` (SciPy's ``betainc``)."""

    nargs = 3
    _mp = staticmethod(lambda a, b, x: mpmath.betainc(a, b, 0, x, regularized=True))

    @classmethod
    def eval(cls, a, b, x):
        if x.is_zero:
            return sp.S.Zero
        if x == 1:
            return sp.S.One
        return super().eval(a, b, x)

    def _d_last(self, a, b, x):
        return x ** (a - 1) * (1 - x) ** (b - 1) / sp.beta(a, b)

    def _latex(self, printer, exp=None):
        a, b, x = (printer._print(v) for v in self.args)
        tex = r"I_{%s}\left(%s, %s\right)" % (x, a, b)
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class hyp0f1(_Special):
    r"""The confluent hypergeometric limit function :math:`{}_0F_1(; b; z)`."""

    nargs = 2
    _mp = staticmethod(mpmath.hyp0f1)
    _tex = r"{}_{0}F_{1}"

    def _d_last(self, b, z):
        return hyp0f1(b + 1, z) / b


class hyp1f1(_Special):
    r"""Kummer's confluent hypergeometric function :math:`{}_1F_1(a; b; z)`."""

    nargs = 3
    _mp = staticmethod(mpmath.hyp1f1)
    _tex = r"{}_{1}F_{1}"

    def _d_last(self, a, b, z):
        return a / b * hyp1f1(a + 1, b + 1, z)


class hyp2f1(_Special):
    r"""The Gauss hypergeometric function :math:`{}_2F_1(a, b; c; z)`."""

    nargs = 4
    _mp = staticmethod(mpmath.hyp2f1)
    _tex = r"{}_{2}F_{1}"

    def _d_last(self, a, b, c, z):
        return a * b / c * hyp2f1(a + 1, b + 1, c + 1, z)


class spence(_Special):
    r"""Spence's function :math:`\int_1^z \log t/(1 - t)\,dt = \mathrm{Li}_2(1 - z)`."""

    nargs = 1
    _mp = staticmethod(lambda z: mpmath.polylog(2, 1 - z))
    _tex = r"\operatorname{spence}"

    def _d_last(self, z):
        return sp.log(z) / (1 - z)


SPECIAL_FUNCTIONS = (gammainc, gammaincc, ibeta, hyp0f1, hyp1f1, hyp2f1, spence)


class erfc_kept(sp.erfc):
    """``erfc`` that SymPy does not fold: ``erfc(-u)`` stays (``sympy.erfc`` makes it
    ``2 - erfc(u)``, which cancels for large ``u``).  Numbers still evaluate.

    >>> import sympy as sp
    >>> u = sp.Symbol("u")
    >>> sp.erfc(-u), erfc_kept(-u), erfc_kept(0)
    (2 - erfc(u), erfc(-u), 1)
    """

    @classmethod
    def eval(cls, arg):
        if arg.is_number:
            return sp.erfc(arg)
        return None


# Every printer (str, LaTeX, lambdify's NumPy and mpmath, C) names it erfc; pickle
# finds it by its qualified name.
erfc_kept.__name__ = "erfc"
