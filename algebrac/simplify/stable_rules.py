"""The rule database: the canonicalize and stabilize phases (specialize is in specialize.py).

* ``CANONICALIZE`` -- exact algebra that exposes patterns: the logarithm of a
  product or power of positive, exp-like factors is split into a sum, products of
  exponentials are merged, and products distribute over sums where that cancels;
* ``STABILIZE`` -- numerically motivated identities: ``log(1 + x) -> log1p(x)``,
  ``log(exp(a) + exp(b)) -> logaddexp(a, b)``, ``1/(1 + exp(-x)) -> sigmoid(x)``, ...

Each rule is a small function filed under the SymPy class it rewrites; the
first line of its docstring is the identity with its domain.  Rules hold for
every real value of their symbols (floats: NaN and inf propagate through both
sides alike) and match SymPy's canonical forms through
:mod:`algebrac.simplify.patterns`.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> log_of_sigmoid_to_softplus(sp.log(sigmoid(x)))
-softplus(-x)
"""
from __future__ import annotations

import functools

import sympy as sp
from sympy.codegen.cfunctions import expm1, hypot, log1p

from ..expr.functions import (LogSumExp, erfcx, log1mexp, log_erfc, logaddexp, logdiffexp,
                              sigmoid, softplus, xlog1py, xlogy)
from .patterns import (as_square, coeff_of, count_ops, exp_terms, factors_of, find_factor,
                       has_exp_like, is_positive, is_real, others, same)
from .guard import constraints
from .rules import Phase

__all__ = ["CANONICALIZE", "STABILIZE"]

CANONICALIZE = Phase("canonicalize")
STABILIZE = Phase("stabilize")


# ---- canonicalize ------------------------------------------------------------------------
@CANONICALIZE.rule(tracks=(sp.log,))
def log_of_power_to_product(node):
    """log(b**e) = e*log(b), and e*log(|b|) for even integer e; real b, rational e or b >= 0.

    Outside the real domain both sides are NaN (``b < 0`` with non-integer ``e``).
    Only where it gains: an integer ``e`` (``b**e`` overflows or underflows
    where ``log(b)`` is finite) or a ``log(b)`` that another rule rewrites
    (``log(sqrt(1 + x))`` -> ``log1p(x)/2``).  Otherwise the coefficient ``e``
    joins a product around the logarithm and can underflow there:
    ``exp(z)*log(sqrt(u))`` would become ``(exp(z)/2)*log(u)``, NaN at
    ``z = -745`` where ``exp(z)`` is the smallest subnormal and ``u`` infinite.
    """
    arg = node.args[0]
    if not isinstance(arg, sp.Pow) or arg.base is sp.E or not is_real(arg.base):
        return None
    b, e = arg.base, arg.exp
    if not (e.is_Rational or (b.is_nonnegative and is_real(e))):
        return None
    if not e.is_Integer and not _log_rewrites(b):
        return None
    if e.is_Integer and e.is_even and not b.is_nonnegative:
        return e * sp.log(sp.Abs(b))
    return e * sp.log(b)


def _log_rewrites(b) -> bool:
    """Some other logarithm rule rewrites ``log(b)``."""
    node = sp.log(b, evaluate=False)
    return any(r.name != "log_of_power_to_product" and not r.limit and r(node) is not None
               for phase in (CANONICALIZE, STABILIZE) for r in phase.for_head(sp.log))


@CANONICALIZE.rule(tracks=(sp.log,))
def log_of_product_split(node):
    """log(f**e * g) = e*log(f) + log(g) for f > 0 exp-like (exp, sigmoid, erfc, ...), real e."""
    arg = node.args[0]
    if not isinstance(arg, sp.Mul):
        return None
    parts, rest = [], []
    for b, e, f in factors_of(arg):
        if isinstance(b, sp.exp) and is_real(b.args[0]):
            parts.append(b.args[0])
        elif has_exp_like(b) and is_positive(b) and is_real(e):
            parts.append(e * sp.log(b))
        else:
            rest.append(f)
    if not parts:
        return None
    rest = sp.Mul(*rest)
    if rest.is_negative or (rest.is_number and not rest.is_positive):
        return None   # log of a negative number is complex in SymPy (NaN in floats)
    return sp.Add(*parts) + (sp.log(rest) if rest != 1 else 0)


@CANONICALIZE.rule(tracks=(sp.Mul,))
def product_of_exps_to_exp_of_sum(node):
    """exp(a)*exp(b) = exp(a + b): one exponential, which overflows only if the product does."""
    exps = [f for f in node.args if isinstance(f, sp.exp)] if isinstance(node, sp.Mul) else []
    if len(exps) < 2:
        return None
    return sp.Mul(*others(node, exps)) * sp.exp(sp.Add(*[f.args[0] for f in exps]))


@CANONICALIZE.rule(tracks=(sp.Mul,))
def product_of_sum_to_distributed(node):
    """a*(b + c) = a*b + a*c, when the products cancel (exp(x)*exp(-x), S/S): fewer operations.

    Derivatives of quotients of exponentials come out as ``(p/S - p**2/S**2)*S/p``,
    which overflows as written and is ``1 - p/S`` once distributed.
    """
    if not any(isinstance(f, sp.Add) for f in node.args) or not has_exp_like(node):
        return None
    before = count_ops(node)
    for f in node.args:
        if isinstance(f, sp.Add):
            rest = sp.Mul(*others(node, [f]))
            out = sp.Add(*[product_of_exps_to_exp_of_sum(t * rest) or t * rest for t in f.args])
            if count_ops(out) < before:
                return out
    return None


# ---- stabilize: logarithms -------------------------------------------------------------
@STABILIZE.rule(tracks=(sp.log,))
def log_of_exp_sum_to_logaddexp(node):
    """log(exp(a) + exp(b) + ...) = logaddexp(logaddexp(a, b), ...); k*exp(u) is exp(u + log k)."""
    m = exp_terms(node.args[0])
    if m is None or len(m[1]) < 2:
        return None
    c, us = m
    terms = ([sp.log(c)] if c != 0 else []) + us
    return functools.reduce(logaddexp, terms)


@STABILIZE.rule(tracks=(sp.log,))
def log_of_exp_difference_to_logdiffexp(node):
    """log(k*exp(a) - k*exp(b)) = logdiffexp(a, b) + log(k) for k > 0 (NaN for a < b).

    When ``b - a`` simplifies (``b = a - d``), ``a + log1mexp(b - a)`` is used instead.
    """
    arg = node.args[0]
    if not isinstance(arg, sp.Add) or len(arg.args) != 2:
        return None
    m = [coeff_of(t, sp.exp) for t in arg.args]
    if None in m:
        return None
    (k1, e1), (k2, e2) = m
    if k1 != -k2 or not (k1.is_positive or k2.is_positive):
        return None
    if k2.is_positive:
        (k1, e1), (k2, e2) = (k2, e2), (k1, e1)
    a, b = e1.args[0], e2.args[0]
    d = b - a
    if d.free_symbols < a.free_symbols | b.free_symbols:
        # b - a cancels symbolically (a and a - d): no rounding of b before subtracting
        return a + log1mexp(d) + sp.log(k1)
    return logdiffexp(a, b) + sp.log(k1)


@STABILIZE.rule(tracks=(sp.log,))
def log_of_one_plus_erf_to_log_erfc(node):
    """log(c + c*erf(x)) = log(c) + log_erfc(-x) for c > 0 (the Gaussian log-CDF)."""
    arg = node.args[0]
    if not isinstance(arg, sp.Add):
        return None
    m = _constant_and_term(arg, sp.erf, lambda c, k: c == k and c.is_positive)
    if not m or m[3] != 0:
        return None
    return log_erfc(-m[2]) + sp.log(m[0])


@STABILIZE.rule(tracks=(sp.log,))
def log_of_one_plus_to_log1p(node):
    """log(1 + x) = log1p(x)."""
    arg = node.args[0]
    if isinstance(arg, sp.Add):
        c, rest = arg.as_coeff_Add()
        if c == 1:   # log1p(rest) would ask if 1 + rest is 0, as log(1 + rest) did: unevaluated
            return log1p(rest, evaluate=rest.is_number)
    return None


@STABILIZE.rule(tracks=(sp.log,))
def log_of_sigmoid_to_softplus(node):
    """log(sigmoid(x)) = -softplus(-x)."""
    arg = node.args[0]
    return -softplus(-arg.args[0]) if isinstance(arg, sigmoid) else None


@STABILIZE.rule(tracks=(sp.log,))
def log_of_erfc_to_log_erfc(node):
    """log(erfc(x)) = log_erfc(x)."""
    arg = node.args[0]
    return log_erfc(arg.args[0]) if isinstance(arg, sp.erfc) else None


@STABILIZE.rule(tracks=(sp.log,))
def log_of_expm1_to_log1mexp(node):
    """log(k*expm1(x)) = log(-k) + log1mexp(x) for k < 0; = log(k) + x + log1mexp(-x) for k > 0."""
    m = coeff_of(node.args[0], expm1)
    if m is None:
        return None
    k, (x,) = m[0], m[1].args
    if k.is_negative:
        return log1mexp(x) + sp.log(-k)
    return x + log1mexp(-x) + sp.log(k) if k.is_positive else None


@STABILIZE.rule(tracks=(sp.log,))
def log_of_sum_of_exps_to_logsumexp(node):
    """log(Sum(c*exp(f), (k, a, b))) = LogSumExp(f, (k, a, b)) + log(c) for c > 0 free of k."""
    arg = node.args[0]
    if not isinstance(arg, sp.Sum):
        return None
    c, body = arg.function.as_independent(*arg.variables, as_Add=False)
    if not isinstance(body, sp.exp) or not (c == 1 or is_positive(c)):
        return None
    return LogSumExp(body.args[0], *arg.limits) + (sp.log(c) if c != 1 else 0)


# ---- stabilize: log1p, expm1 and inverse pairs -------------------------------------------
@STABILIZE.rule(tracks=(log1p,))
def log1p_of_exp_to_softplus(node):
    """log1p(k*exp(x)) = softplus(x + log(k)) for k > 0."""
    m = coeff_of(node.args[0], sp.exp)
    if m is None or not m[0].is_positive:
        return None
    return softplus(m[1].args[0] + sp.log(m[0]))


@STABILIZE.rule(tracks=(log1p,))
def log1p_of_neg_exp_to_log1mexp(node):
    """log1p(-k*exp(x)) = log1mexp(x + log(k)) for k > 0 (NaN where k*exp(x) > 1)."""
    m = coeff_of(node.args[0], sp.exp)
    if m is None or not m[0].is_negative:
        return None
    return log1mexp(m[1].args[0] + sp.log(-m[0]))


@STABILIZE.rule(tracks=(log1p,))
def log1p_of_neg_sigmoid_to_softplus(node):
    """log1p(-sigmoid(x)) = -softplus(x)."""
    m = coeff_of(node.args[0], sigmoid)
    return -softplus(m[1].args[0]) if m is not None and m[0] == -1 else None


@STABILIZE.rule(tracks=(log1p,))
def log1p_of_expm1_to_arg(node):
    """log1p(expm1(x)) = x for real x."""
    arg = node.args[0]
    return arg.args[0] if isinstance(arg, expm1) and is_real(arg.args[0]) else None


@STABILIZE.rule(tracks=(expm1,))
def expm1_of_log1p_to_arg(node):
    """expm1(log1p(x)) = x for x >= -1 (known from assumptions; NaN below is kept)."""
    arg = node.args[0]
    if isinstance(arg, log1p) and (arg.args[0] + 1).is_nonnegative:
        return arg.args[0]
    return None


@STABILIZE.rule(tracks=(sp.asinh,))
def asinh_of_sinh_to_arg(node):
    """asinh(sinh(x)) = x for real x."""
    arg = node.args[0]
    return arg.args[0] if isinstance(arg, sp.sinh) and is_real(arg.args[0]) else None


@STABILIZE.rule(tracks=(sp.atanh,))
def atanh_of_tanh_to_arg(node):
    """atanh(tanh(x)) = x for real x."""
    arg = node.args[0]
    return arg.args[0] if isinstance(arg, sp.tanh) and is_real(arg.args[0]) else None


@STABILIZE.rule(tracks=(sp.acosh,))
def acosh_of_cosh_to_abs(node):
    """acosh(cosh(x)) = |x| for real x."""
    arg = node.args[0]
    return sp.Abs(arg.args[0]) if isinstance(arg, sp.cosh) and is_real(arg.args[0]) else None


# ---- stabilize: sums ---------------------------------------------------------------------
def _constant_and_term(node, cls, want):
    """For ``node = c + k*cls(u) + rest`` with ``want(c, k)``: ``(c, k, u, rest)``."""
    c, rest = node.as_coeff_Add()
    if c == 0:
        return None
    for t in sp.Add.make_args(rest):
        m = coeff_of(t, cls)
        if m is not None and want(c, m[0]):
            return c, m[0], m[1].args[0], sp.Add(*others(rest, [t])) if rest != t else 0
    return None


@STABILIZE.rule(tracks=(sp.Add,))
def exp_minus_one_to_expm1(node):
    """k*exp(x) - k = k*expm1(x)."""
    m = _constant_and_term(node, sp.exp, lambda c, k: c == -k)
    return m[1] * expm1(m[2]) + m[3] if m else None


@STABILIZE.rule(tracks=(sp.Add,))
def one_minus_sigmoid_to_sigmoid(node):
    """c - c*sigmoid(x) = c*sigmoid(-x)."""
    m = _constant_and_term(node, sigmoid, lambda c, k: c == -k)
    return m[0] * sigmoid(-m[2]) + m[3] if m else None


@STABILIZE.rule(tracks=(sp.Add,))
def one_minus_erf_to_erfc(node):
    """c - c*erf(x) = c*erfc(x), and c + c*erf(-y) = c*erfc(y).

    NOTE: SymPy evaluates ``erfc(-y)`` to ``2 - erfc(y)`` (which cancels), so
    ``c + c*erf(y)`` is rewritten only under a logarithm (``log_erfc(-y)``).
    """
    m = _constant_and_term(node, sp.erf, lambda c, k: c == -k)
    if m:
        return m[0] * sp.erfc(m[2]) + m[3]
    m = _constant_and_term(node, sp.erf, lambda c, k: c == k)
    if m and m[2].could_extract_minus_sign():
        return m[0] * sp.erfc(-m[2]) + m[3]
    return None


@STABILIZE.rule(tracks=(sp.Add,))
def one_minus_erfc_to_erf(node):
    """c - c*erfc(x) = c*erf(x)."""
    m = _constant_and_term(node, sp.erfc, lambda c, k: c == -k)
    return m[0] * sp.erf(m[2]) + m[3] if m else None


@STABILIZE.rule(tracks=(sp.Add,))
def cos_minus_one_to_sin_squared(node):
    """k*cos(x) - k = -2*k*sin(x/2)**2 (the cosm1 form: no cancellation near x = 0)."""
    m = _constant_and_term(node, sp.cos, lambda c, k: c == -k)
    return -2 * m[1] * sp.sin(m[2] / 2) ** 2 + m[3] if m else None


def _lae_leaves(e) -> list | None:
    """The exponents ``u_i`` of ``e = log(sum_i exp(u_i))`` built of logaddexp/softplus."""
    if isinstance(e, softplus):
        return [sp.S.Zero, e.args[0]]
    if isinstance(e, logaddexp):
        return sum((_lae_leaves(a) or [a] for a in e.args), [])
    return None


@STABILIZE.rule(tracks=(sp.Add,))
def logaddexp_minus_leaf_to_shifted(node):
    """logaddexp(a, b, ...) - a = logaddexp(0, b - a, ...), softplus(x) - x = softplus(-x).

    ``x - softplus(x)`` cancels for large ``x``; ``-softplus(-x)`` does not.
    """
    for t in node.args:
        k, f = t.as_coeff_Mul()
        leaves = _lae_leaves(f) if k in (1, -1) else None
        if not leaves:
            continue
        a = -k * (node - t)      # node = k*(f - a)
        if any(same(u, a) for u in leaves):
            return k * functools.reduce(logaddexp, [u - a for u in leaves])
    return None


# ---- stabilize: powers -------------------------------------------------------------------
@STABILIZE.rule(tracks=(sp.Pow,))
def sqrt_of_sum_of_squares_to_hypot(node):
    """sqrt(x**2 + y**2 + ...) = hypot(hypot(x, y), ...) (any odd power of the square root).

    Only for terms that are real wherever their symbols are: ``hypot(inf, NaN)`` is inf.
    """
    e = node.exp
    if not (e.is_Rational and e.q == 2 and isinstance(node.base, sp.Add)):
        return None
    roots = [as_square(t) for t in node.base.args]
    if None in roots or any(constraints(r) for r in roots):
        # hypot(inf, NaN) is inf (C99): a NaN of a term that leaves its domain would be lost.
        return None
    return functools.reduce(hypot, roots) ** (2 * e)


@STABILIZE.rule(tracks=(sp.Pow,))
def reciprocal_one_plus_exp_to_sigmoid(node):
    """(c + k*exp(x))**e = c**e * sigmoid(-x - log(k/c))**(-e) for c, k > 0 and real e < 0."""
    e, base = node.exp, node.base
    if not (e.is_negative and is_real(e) and isinstance(base, sp.Add) and len(base.args) == 2):
        return None
    m = exp_terms(base)
    if m is None or m[0] == 0 or len(m[1]) != 1:
        return None
    c, (u,) = m
    return c**e * sigmoid(-(u - sp.log(c))) ** (-e)


# ---- stabilize: products -----------------------------------------------------------------
@STABILIZE.rule(tracks=(sp.Mul,))
def exp_times_sigmoid_to_sigmoid(node):
    """exp(x)*sigmoid(-x)**n = sigmoid(x)*sigmoid(-x)**(n - 1) for integer n >= 1."""
    ex = find_factor(node, sp.exp)
    if ex is None:
        return None
    x = ex[0].args[0]
    for b, n, f in factors_of(node):
        if isinstance(b, sigmoid) and n.is_Integer and n >= 1 and same(b.args[0], -x):
            return sp.Mul(*others(node, [ex[2], f])) * sigmoid(x) * b ** (n - 1)
    return None


def _shifted_log_of_sum(base, shift):
    """``log(base * exp(shift))`` as a stable function when ``base`` is a sum of exponentials."""
    if isinstance(base, sp.Sum):
        # NOTE: not LogSumExp(f + shift): an unshifted LogSumExp is loop-invariant, so
        # a softmax costs O(n), not O(n**2); ac.evaluate subtracts it carefully.
        c, body = base.function.as_independent(*base.variables, as_Add=False)
        if isinstance(body, sp.exp) and (c == 1 or is_positive(c)):
            return LogSumExp(body.args[0], *base.limits) + (sp.log(c) if c != 1 else 0) + shift
        return None
    m = exp_terms(base)
    if m is None or len(m[1]) < 2:
        return None
    c, us = m
    terms = ([sp.log(c) + shift] if c != 0 else []) + [u + shift for u in us]
    return functools.reduce(logaddexp, terms)


@STABILIZE.rule(tracks=(sp.Mul,))
def exp_over_sum_of_exps_to_softmax(node):
    """exp(a) * S**e = exp(e*log(S*exp(a/e))) for S = sum_i exp(u_i) (or a Sum), real e < 0.

    ``log(S*exp(a/e))`` is ``logaddexp(u_i + a/e, ...)`` (``LogSumExp`` for a Sum): the
    shifted exponents are small where the softmax is not negligible, so
    ``exp(a)/(exp(a) + exp(b))`` becomes ``exp(-softplus(b - a)) = sigmoid(a - b)``.
    """
    ex = find_factor(node, sp.exp)
    if ex is None:
        return None
    for b, e, f in factors_of(node):
        if e.is_negative and is_real(e):
            lse = _shifted_log_of_sum(b, ex[0].args[0] / e)
            if lse is not None:
                return sp.Mul(*others(node, [ex[2], f])) * sp.exp(e * lse)
    return None


@STABILIZE.rule(tracks=(sp.Mul,), limit=True)
def x_times_log_x_to_xlogy(node):
    """x*log(x) = xlogy(x, x): 0 at x = 0 (its limit), where the product is 0*(-inf) = NaN."""
    for f in node.args:
        if isinstance(f, sp.log):
            x = f.args[0]
            if any(g == x for g in node.args):
                return sp.Mul(*others(node, [f, next(g for g in node.args if g == x)])) \
                    * xlogy(x, x)
    return None


@STABILIZE.rule(tracks=(sp.Mul,), limit=True)
def x_times_log1p_to_xlog1py(node):
    """(1 + y)*log1p(y) = xlog1py(1 + y, y): 0 at y = -1, where the product is NaN."""
    for f in node.args:
        if isinstance(f, log1p):
            y = f.args[0]
            for g in node.args:
                if g is not f and isinstance(g, sp.Add) and same(g, 1 + y):
                    return sp.Mul(*others(node, [f, g])) * xlog1py(g, y)
    return None


@STABILIZE.rule(tracks=(sp.Mul,))
def exp_over_exp_difference_to_expm1(node):
    """exp(a) * (k*exp(b) - k*exp(c))**e = k**e * exp(a + e*b) * (-expm1(c - b))**e; k > 0, e < 0.

    The derivative of ``logdiffexp``: ``exp(x)/(exp(x) - exp(y)) = -1/expm1(y - x)``.
    """
    ex = find_factor(node, sp.exp)
    if ex is None:
        return None
    for base, e, f in factors_of(node):
        if not (e.is_negative and is_real(e) and isinstance(base, sp.Add) and len(base.args) == 2):
            continue
        m = [coeff_of(t, sp.exp) for t in base.args]
        if None in m or m[0][0] != -m[1][0]:
            continue
        (k, pos), (_, neg) = sorted(m, key=lambda t: not t[0].is_positive)
        if not k.is_positive:
            continue
        b, c = pos.args[0], neg.args[0]
        return (sp.Mul(*others(node, [ex[2], f])) * k**e * sp.exp(ex[0].args[0] + e * b)
                * (-expm1(c - b)) ** e)
    return None


def _as_erfc(base):
    """``(k, x)`` with ``base == k*erfc(x)``: ``erfc(x)``, ``c - c*erf(x)``, ``c + c*erf(-x)``."""
    if isinstance(base, sp.erfc):
        return sp.S.One, base.args[0]
    if isinstance(base, sp.Add) and len(base.args) == 2:
        m = _constant_and_term(base, sp.erf, lambda c, k: c == k or c == -k)
        if m is not None and m[0].is_positive:
            return m[0], (m[2] if m[0] == -m[1] else -m[2])
    return None


@STABILIZE.rule(tracks=(sp.Mul,))
def exp_times_erfc_to_erfcx(node):
    """exp(a)*erfc(x)**n = exp(a - n*x**2)*erfcx(x)**n (n = +-1), when a - n*x**2 is simpler.

    ``1 + erf(x)`` counts as ``erfc(-x)`` (the Gaussian CDF and its log-derivative).
    """
    ex = find_factor(node, sp.exp)
    if ex is None:
        return None
    for base, n, f in factors_of(node):
        m = _as_erfc(base) if n in (1, -1) else None
        if m is None:
            continue
        (k, x), a = m, ex[0].args[0]
        d = sp.expand(a - n * x**2)
        if d != 0 and count_ops(d) >= count_ops(a):
            continue
        return sp.Mul(*others(node, [ex[2], f])) * k**n * sp.exp(d) * erfcx(x) ** n
    return None
