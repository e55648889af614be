"""Scalar functions SymPy lacks, and the max/min/logsumexp reductions over an index range.

``sigmoid``, ``softplus``, ``relu`` and the stable functions (``log_sigmoid``,
``log1mexp``, ``logaddexp``, ...) are ``sympy.Function`` subclasses with a
stable derivative (``fdiff``), special values (``eval``), ``evalf`` and
``lambdify`` support through :mod:`algebrac.stablemath`, LaTeX, and rewrites to
elementary functions; compiled code calls the C helpers of ``algebrac_math.h``.
``ReduceMax(f, (k, a, b))``/``ReduceMin`` are ``max``/``min`` over ``a <= k <= b``
(``sympy.Sum``'s limits); ``LogSumExp`` is ``log(sum_k exp(f))`` without overflow.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> sigmoid(0), softplus(0), relu(-3), sigmoid(x).diff(x)
(1/2, log(2), 0, sigmoid(-x)*sigmoid(x))
>>> log1mexp(x).diff(x), logaddexp(x, 0).diff(x)
(-1/expm1(-x), sigmoid(x))
"""
from __future__ import annotations

import functools
import itertools

import mpmath
import sympy as sp
from mpmath.libmp import prec_to_dps
from sympy.codegen.cfunctions import expm1 as _expm1
from sympy.codegen.cfunctions import log1p as _log1p
from sympy.concrete.expr_with_intlimits import ExprWithIntLimits

from .. import stablemath as sm

__all__ = ["sigmoid", "softplus", "relu", "log_sigmoid", "log1mexp", "logaddexp",
           "logdiffexp", "xlogy", "xlog1py", "erfcx", "log_erfc", "STABLE_FUNCTIONS",
           "ReduceMax", "ReduceMin", "LogSumExp"]


class _Numeric:
    """Mixin: special values, ``evalf``, ``lambdify`` and LaTeX through :mod:`algebrac.stablemath`.

    ``_name`` is the twin's suffix (``np_<name>``, ``mp_<name>``); ``_tex`` the
    LaTeX head.
    """

    _name = ""
    _tex = ""
    _limits = None   # a one-argument function's values at 0, oo and -oo (None: not special)

    @classmethod
    def eval(cls, *args):
        x = args[0]
        hits = (x.is_zero, x is sp.S.Infinity, x is sp.S.NegativeInfinity)
        for hit, value in zip(hits, cls._limits or ()):
            if hit and value is not None:
                return value
        return cls._numeric_args(*args)

    def _eval_mpmath(self):
        twin = getattr(sm, "mp_" + self._name)

        def call(*args):
            with mpmath.workprec(mpmath.mp.prec + 20):   # guard bits for the formula
                return sm._real(twin(*args))
        return call, self.args

    def _eval_evalf(self, prec):
        value = super()._eval_evalf(prec)
        principal = getattr(self, "_principal", None)
        if value is sp.nan and principal is not None and not any(a.has(sp.nan)
                                                                for a in self.args):
            # Outside the real domain floats give NaN; SymPy gives the principal
            # (complex) value of the elementary form, as for log(1 - exp(x)).
            return principal(*self.args).evalf(prec_to_dps(prec))
        return value

    def _numpycode(self, printer):
        args = ", ".join(printer._print(a) for a in self.args)
        return f"{printer._module_format('algebrac.stablemath.np_' + self._name)}({args})"

    def _mpmathcode(self, printer):
        args = ", ".join(printer._print(a) for a in self.args)
        return f"{printer._module_format('algebrac.stablemath.mp_' + self._name)}({args})"

    def _latex(self, printer, exp=None):
        tex = r"%s\left(%s\right)" % (self._tex, ", ".join(printer._print(a) for a in self.args))
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    @classmethod
    def _numeric_args(cls, *args):
        """All arguments are Floats: evaluate now (as SymPy's own functions do)."""
        if args and all(isinstance(a, sp.Float) for a in args):
            prec = min(a._prec for a in args)
            return cls(*[sp.Rational(a) for a in args], evaluate=False).evalf(prec_to_dps(prec))
        return None


def _arg_is_real(self):
    return self.args[0].is_real


def _if_arg_real(self):
    return True if self.args[0].is_extended_real else None


def _partial(self, argindex, *partials):
    """The derivative by argument ``argindex`` (from 1) among ``partials``, for ``fdiff``."""
    if not 1 <= argindex <= len(partials):
        raise sp.ArgumentIndexError(self, argindex)
    return partials[argindex - 1]


class sigmoid(_Numeric, sp.Function):
    r"""The logistic function :math:`\sigma(x) = 1/(1 + e^{-x})`.

    Its derivative is :math:`\sigma(x)\sigma(-x)`, which (unlike
    :math:`\sigma(1 - \sigma)`) keeps full relative accuracy for large ``x``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> sigmoid(x).rewrite(sp.exp)
    1/(1 + exp(-x))
    >>> sp.latex(sigmoid(x))
    '\\sigma\\left(x\\right)'
    """

    nargs = 1
    _name, _tex = "sigmoid", r"\sigma"
    _limits = (sp.S.Half, sp.S.One, sp.S.Zero)

    def fdiff(self, argindex=1):
        return _partial(self, argindex, sigmoid(self.args[0]) * sigmoid(-self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_rewrite_as_tanh(self, x, **kwargs):
        return (1 + sp.tanh(x / 2)) / 2

    _eval_is_real = _arg_is_real
    _eval_is_positive = _if_arg_real


class softplus(_Numeric, sp.Function):
    r"""The softplus function :math:`\log(1 + e^{x})`, whose derivative is ``sigmoid``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> softplus(x).diff(x), softplus(x).rewrite(sp.exp)
    (sigmoid(x), log(exp(x) + 1))
    """

    nargs = 1
    _name, _tex = "softplus", r"\operatorname{softplus}"
    _limits = (sp.log(2), sp.S.Infinity, sp.S.Zero)

    def fdiff(self, argindex=1):
        return _partial(self, argindex, sigmoid(self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    _eval_is_real = _arg_is_real
    _eval_is_positive = _if_arg_real


class relu(_Numeric, sp.Function):
    r"""The rectifier :math:`\max(0, x)`; its derivative is ``Heaviside(x, 0)``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> relu(2), relu(-2), relu(x).rewrite(sp.Max), relu(x).diff(x)
    (2, 0, Max(0, x), Heaviside(x, 0))
    """

    nargs = 1
    _name, _tex = "relu", r"\operatorname{relu}"

    def fdiff(self, argindex=1):
        # NOTE: the subgradient 0 at x = 0, as PyTorch and JAX use.
        return _partial(self, argindex, sp.Heaviside(self.args[0], 0))

    @classmethod
    def eval(cls, x):
        if x.is_nonnegative:
            return x
        if x.is_nonpositive:
            return sp.S.Zero
        return None

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(0, x)

    _eval_is_real = _arg_is_real
    _eval_is_nonnegative = _if_arg_real


class log_sigmoid(_Numeric, sp.Function):
    r"""``log(sigmoid(x)) = -softplus(-x)``, finite for every finite ``x``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> log_sigmoid(x).diff(x), log_sigmoid(x).rewrite(softplus)
    (sigmoid(-x), -softplus(-x))
    """

    nargs = 1
    _name, _tex = "log_sigmoid", r"\log\sigma"
    _limits = (-sp.log(2), sp.S.Zero, sp.S.NegativeInfinity)

    def fdiff(self, argindex=1):
        return _partial(self, argindex, sigmoid(-self.args[0]))

    def _eval_rewrite_as_softplus(self, x, **kwargs):
        return -softplus(-x)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return -sp.log(1 + sp.exp(-x))

    _eval_is_real = _arg_is_real

    def _eval_is_negative(self):
        return True if self.args[0].is_real else None


class log1mexp(_Numeric, sp.Function):
    r"""``log(1 - exp(x))`` for ``x <= 0`` (NaN above), accurate near 0 and for very negative ``x``.

    The derivative ``-1/expm1(-x)`` is accurate everywhere too.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> log1mexp(0), log1mexp(-sp.oo), log1mexp(x).rewrite(sp.exp)
    (-oo, 0, log(1 - exp(x)))
    """

    nargs = 1
    _name, _tex = "log1mexp", r"\operatorname{log1mexp}"
    _limits = (sp.S.NegativeInfinity, None, sp.S.Zero)

    def fdiff(self, argindex=1):
        return _partial(self, argindex, -1 / _expm1(-self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 - sp.exp(x))

    def _eval_rewrite_as_log1p(self, x, **kwargs):
        return _log1p(-sp.exp(x))

    _principal = _eval_rewrite_as_exp

    def _eval_is_real(self):
        return True if self.args[0].is_negative else None


class logaddexp(_Numeric, sp.Function):
    r"""``log(exp(a) + exp(b)) = max(a, b) + log1p(exp(-|a - b|))``, without overflow.

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b")
    >>> logaddexp(a, b).diff(a), logaddexp(a, a), logaddexp(a, -sp.oo)
    (sigmoid(a - b), a + log(2), a)
    """

    nargs = 2
    _name, _tex = "logaddexp", r"\operatorname{logaddexp}"

    def fdiff(self, argindex=1):
        a, b = self.args
        return _partial(self, argindex, sigmoid(a - b), sigmoid(b - a))

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return a + sp.log(2)
        if a is sp.S.NegativeInfinity:
            return b
        if b is sp.S.NegativeInfinity:
            return a
        return cls._numeric_args(a, b)

    def _eval_rewrite_as_exp(self, a, b, **kwargs):
        return sp.log(sp.exp(a) + sp.exp(b))

    def _eval_is_real(self):
        return True if all(v.is_real for v in self.args) else None


class logdiffexp(_Numeric, sp.Function):
    r"""``log(exp(a) - exp(b)) = a + log1mexp(b - a)`` for ``a >= b`` (NaN for ``a < b``).

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b")
    >>> logdiffexp(a, b).diff(b), logdiffexp(a, -sp.oo), logdiffexp(2, 2)
    (-1/expm1(a - b), a, -oo)
    """

    nargs = 2
    _name, _tex = "logdiffexp", r"\operatorname{logdiffexp}"

    def fdiff(self, argindex=1):
        a, b = self.args
        return _partial(self, argindex, -1 / _expm1(b - a), -1 / _expm1(a - b))

    @classmethod
    def eval(cls, a, b):
        if a == b and a.is_finite:
            return sp.S.NegativeInfinity
        if b is sp.S.NegativeInfinity:
            return a
        return cls._numeric_args(a, b)

    def _eval_rewrite_as_exp(self, a, b, **kwargs):
        return sp.log(sp.exp(a) - sp.exp(b))

    def _eval_rewrite_as_log1mexp(self, a, b, **kwargs):
        return a + log1mexp(b - a)

    _principal = _eval_rewrite_as_exp


class xlogy(_Numeric, sp.Function):
    r"""``x*log(y)``, and 0 where ``x = 0`` (also at ``y = 0``), as ``scipy.special.xlogy``.

    ``x log x`` extends continuously to 0 at ``x = 0``, where the product form
    computes ``0*(-inf) = NaN``.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> xlogy(x, y).diff(y), xlogy(0, y), xlogy(x, 1)
    (x/y, 0, 0)
    """

    nargs = 2
    _name, _tex = "xlogy", r"\operatorname{xlogy}"

    def fdiff(self, argindex=1):
        x, y = self.args
        return _partial(self, argindex, sp.log(y), x / y)

    @classmethod
    def eval(cls, x, y):
        if x.is_zero or y == 1:
            return sp.S.Zero
        return cls._numeric_args(x, y)

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return sp.Piecewise((0, sp.Eq(x, 0)), (x * sp.log(y), True))

    def _principal(self, x, y):
        return x * sp.log(y)


class xlog1py(_Numeric, sp.Function):
    r"""``x*log1p(y)``, and 0 where ``x = 0`` (also at ``y = -1``), as ``scipy.special.xlog1py``.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y")
    >>> xlog1py(x, y).diff(x), xlog1py(x, 0)
    (log1p(y), 0)
    """

    nargs = 2
    _name, _tex = "xlog1py", r"\operatorname{xlog1py}"

    def fdiff(self, argindex=1):
        x, y = self.args
        return _partial(self, argindex, _log1p(y), x / (1 + y))

    @classmethod
    def eval(cls, x, y):
        if x.is_zero or y.is_zero:
            return sp.S.Zero
        return cls._numeric_args(x, y)

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return sp.Piecewise((0, sp.Eq(x, 0)), (x * sp.log(1 + y), True))

    def _principal(self, x, y):
        return x * sp.log(1 + y)


class erfcx(_Numeric, sp.Function):
    r"""The scaled complementary error function ``exp(x**2)*erfc(x)``: about ``1/(x sqrt(pi))``
    for large ``x``, where ``erfc`` underflows.

    Its derivative ``2 x erfcx(x) - 2/sqrt(pi)`` cancels for large ``x``
    (relative error about ``x**2`` eps); ``log_erfc`` is the usual consumer.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> erfcx(0), erfcx(sp.oo), erfcx(x).rewrite(sp.erfc)
    (1, 0, exp(x**2)*erfc(x))
    """

    nargs = 1
    _name, _tex = "erfcx", r"\operatorname{erfcx}"
    _limits = (sp.S.One, sp.S.Zero, sp.S.Infinity)

    def fdiff(self, argindex=1):
        x = self.args[0]
        return _partial(self, argindex, 2 * x * erfcx(x) - 2 / sp.sqrt(sp.pi))

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sp.exp(x**2) * sp.erfc(x)

    _eval_rewrite_as_exp = _eval_rewrite_as_erfc

    _eval_is_real = _arg_is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None


class log_erfc(_Numeric, sp.Function):
    r"""``log(erfc(x))``, finite where ``erfc`` underflows (``x > 26.5`` in float64).

    Its derivative ``-2/(sqrt(pi) erfcx(x))`` is stable as well.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> log_erfc(x).diff(x), log_erfc(0), log_erfc(-sp.oo)
    (-2/(sqrt(pi)*erfcx(x)), 0, log(2))
    """

    nargs = 1
    _name, _tex = "log_erfc", r"\log\operatorname{erfc}"
    _limits = (sp.S.Zero, sp.S.NegativeInfinity, sp.log(2))

    def fdiff(self, argindex=1):
        return _partial(self, argindex, -2 / (sp.sqrt(sp.pi) * erfcx(self.args[0])))

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sp.log(sp.erfc(x))

    _eval_rewrite_as_log = _eval_rewrite_as_erfc

    _eval_is_real = _arg_is_real

    def _eval_is_negative(self):
        return True if self.args[0].is_positive else None


# Every scalar function with a C helper ``_ac_<name>`` in algebrac_math.h.
STABLE_FUNCTIONS = (sigmoid, softplus, relu, log_sigmoid, log1mexp, logaddexp, logdiffexp,
                    xlogy, xlog1py, erfcx, log_erfc)


class _RangeReduction(ExprWithIntLimits):
    """Common part of ``ReduceMax``/``ReduceMin``: an extremum of ``function`` over ``limits``."""

    _combine = None  # sympy.Max or sympy.Min
    _tex = ""

    def __new__(cls, function, *limits, **assumptions):
        return ExprWithIntLimits.__new__(cls, function, *limits, **assumptions)

    def doit(self, **hints):
        """The explicit ``Max``/``Min`` when all limits are concrete integers."""
        f = self.function.doit(**hints) if hints.get("deep", True) else self.function
        bounds = [(v, lo, hi) for v, lo, hi in self.limits]
        if not all(lo.is_Integer and hi.is_Integer for _, lo, hi in bounds):
            return self.func(f, *self.limits)
        ranges = [range(int(lo), int(hi) + 1) for _, lo, hi in bounds]
        if any(len(r) == 0 for r in ranges):
            raise ValueError(f"{type(self).__name__} over an empty range has no value")
        variables = [v for v, _, _ in bounds]
        terms = [f.xreplace(dict(zip(variables, point)))
                 for point in itertools.product(*ranges)]
        return self._combine(*terms)

    def _eval_is_real(self):
        return self.function.is_real

    def _latex(self, printer, exp=None):
        own = getattr(printer, "_print_" + type(self).__name__, None)
        if own is not None:   # algebrac's printer knows index notation
            return own(self, exp)
        parts = [r"%s \le %s \le %s" % (printer._print(lo), printer._print(v), printer._print(hi))
                 for v, lo, hi in self.limits]
        tex = r"%s_{%s} %s" % (self._tex, ", ".join(parts), printer._print(self.function))
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


class ReduceMax(_RangeReduction):
    """``ReduceMax(f, (k, a, b))`` is the maximum of ``f`` over integers ``a <= k <= b``.

    >>> import sympy as sp
    >>> k = sp.Symbol("k", integer=True)
    >>> ReduceMax((k - 2)**2, (k, 0, 3)).doit()
    4
    """

    _combine = sp.Max
    _tex = r"\max"


class ReduceMin(_RangeReduction):
    """``ReduceMin(f, (k, a, b))`` is the minimum of ``f`` over integers ``a <= k <= b``.

    >>> import sympy as sp
    >>> k = sp.Symbol("k", integer=True)
    >>> ReduceMin((k - 2)**2, (k, 0, 3)).doit()
    0
    """

    _combine = sp.Min
    _tex = r"\min"


class LogSumExp(_RangeReduction):
    """``LogSumExp(f, (k, a, b))`` is ``log(sum_{a<=k<=b} exp(f))``, computed without overflow.

    The tensor functions ``logsumexp``, ``softmax`` and ``log_softmax`` are
    built on it.  Its derivative is the softmax-weighted sum of ``f``'s
    derivatives, ``Sum(exp(f - LogSumExp(f)) * f')``: every weight is at most 1.

    >>> import sympy as sp
    >>> k = sp.Symbol("k", integer=True)
    >>> x = sp.IndexedBase("x")
    >>> LogSumExp(x[k], (k, 0, 1)).doit()
    logaddexp(x[0], x[1])
    >>> LogSumExp(2 * sp.Symbol("t") * x[k], (k, 0, 3)).diff(sp.Symbol("t"))
    Sum(2*exp(2*t*x[k] - LogSumExp(2*t*x[k], (k, 0, 3)))*x[k], (k, 0, 3))
    """

    _combine = staticmethod(lambda *terms: functools.reduce(logaddexp, terms))
    _tex = r"\operatorname{logsumexp}"

    def _eval_derivative(self, s):
        if any(lo.has(s) or hi.has(s) for _, lo, hi in self.limits):
            return None
        df = self.function.diff(s)
        if df == 0:
            return sp.S.Zero
        return sp.Sum(sp.exp(self.function - self) * df, *self.limits)

    def _latex(self, printer, exp=None):
        big = getattr(printer, "_big_operator", None)
        if big is not None:     # algebrac's index-notation printer
            return big(self._tex, self, exp)
        return super()._latex(printer, exp)
