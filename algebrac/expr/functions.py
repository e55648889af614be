"""Scalar functions SymPy lacks, and the max/min reductions over an index range.

``sigmoid``, ``softplus`` and ``relu`` are ``sympy.Function`` subclasses with a
derivative (``fdiff``), evaluation at special points (``eval``), numeric
evaluation through their exp/Max form, LaTeX, and rewrites.  They stay
unevaluated in formulas so later stages can give them stable kernels.

``ReduceMax(f, (k, a, b))`` / ``ReduceMin`` are ``max_{a<=k<=b} f``: the
``max``/``min`` reductions of tensors, with the same limits convention as
``sympy.Sum`` and ``sympy.Product``.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> sigmoid(0), softplus(0), relu(-3), sigmoid(x).diff(x)
(1/2, log(2), 0, (1 - sigmoid(x))*sigmoid(x))
"""
from __future__ import annotations

import itertools

import sympy as sp
from mpmath.libmp import prec_to_dps
from sympy.concrete.expr_with_intlimits import ExprWithIntLimits

__all__ = ["sigmoid", "softplus", "relu", "ReduceMax", "ReduceMin"]


class sigmoid(sp.Function):
    r"""The logistic function :math:`\sigma(x) = 1/(1 + e^{-x})`.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> sigmoid(x).rewrite(sp.exp)
    1/(1 + exp(-x))
    >>> sp.latex(sigmoid(x))
    '\\sigma\\left(x\\right)'
    """

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Half
        if x is sp.S.Infinity:
            return sp.S.One
        if x is sp.S.NegativeInfinity:
            return sp.S.Zero
        if isinstance(x, sp.Float):
            return (1 / (1 + sp.exp(-x))).evalf(prec_to_dps(x._prec))
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_exp(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None

    def _latex(self, printer, exp=None):
        tex = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class softplus(sp.Function):
    r"""The softplus function :math:`\log(1 + e^{x})`, whose derivative is ``sigmoid``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> softplus(x).diff(x), softplus(x).rewrite(sp.exp)
    (sigmoid(x), log(exp(x) + 1))
    """

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sigmoid(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.log(2)
        if x is sp.S.Infinity:
            return sp.S.Infinity
        if x is sp.S.NegativeInfinity:
            return sp.S.Zero
        if isinstance(x, sp.Float):
            return sp.log(1 + sp.exp(x)).evalf(prec_to_dps(x._prec))
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_exp(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None

    def _latex(self, printer, exp=None):
        tex = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class relu(sp.Function):
    r"""The rectifier :math:`\max(0, x)`; its derivative is ``Heaviside(x, 0)``.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> relu(2), relu(-2), relu(x).rewrite(sp.Max), relu(x).diff(x)
    (2, 0, Max(0, x), Heaviside(x, 0))
    """

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        # NOTE: the subgradient 0 at x = 0, as PyTorch and JAX use.
        return sp.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, x):
        if x.is_nonnegative:
            return x
        if x.is_nonpositive:
            return sp.S.Zero
        return None

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(0, x)

    def _eval_evalf(self, prec):
        return sp.Max(0, self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_nonnegative(self):
        return True if self.args[0].is_extended_real else None

    def _latex(self, printer, exp=None):
        tex = r"\operatorname{relu}\left(%s\right)" % printer._print(self.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


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
