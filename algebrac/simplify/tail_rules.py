"""Rules for the tails of distribution functions, and Horner form for polynomials.

The CDFs ``sympy.stats`` returns are written for the centre of a
distribution: the Normal CDF ``1/2 + erf(z)/2`` and the Cauchy CDF
``1/2 + atan(z)/pi`` cancel to 0 in the lower tail, where the answer is tiny
but representable.  These stabilize rules give the forms that keep full
relative accuracy in both tails:

* ``c + c*erf(u) -> c*erfc(-u)`` (Normal, LogNormal, ... CDFs).  SymPy folds
  ``erfc(-u)`` into ``2 - erfc(u)``, the cancellation again, so the result
  is :class:`~algebrac.expr.special.erfc_kept`, an ``erfc`` that never folds;
* ``c + k*atan(u) -> k*atan2(1, -u)`` for ``c = k*pi/2`` (``atan(u) + pi/2``
  is the angle of ``(-u, 1)``), and ``k*atan(u) - c -> -k*atan2(1, u)``
  (Cauchy and its relatives, both tails).

* ``c - c*(1 + v)**b -> -c*expm1(b*log1p(v))`` for a number ``b`` that is
  not an integer (Kumaraswamy's ``1 - (1 - x**a)**b``, exact to the last bit
  where ``v`` is tiny).  For an integer ``b`` (or one SymPy cannot decide) and
  ``1 + v < 0`` the naive form is real and the rewrite NaN, so the rule
  waits: rules hold for every real input.

* ``c + m*2F1(1/2, b; 3/2; -q)`` (Student's t CDF ``1/2 + x*...*2F1(1/2,
  (nu + 1)/2; 3/2; -x**2/nu)``, in SymPy's ``hyper`` or ``hyp2f1``) becomes
  the regularized incomplete beta function in the form that does not cancel
  on either side: with ``m*B(1/2, b - 1/2)/(2*sqrt(q)) = K*sign(u)``, it is
  ``K*I_{1/(1+q)}(b - 1/2, 1/2)`` for ``u < 0`` and ``c + K*I_{q/(1+q)}(1/2,
  b - 1/2)`` otherwise when ``c == K`` (the CDF; the survival function
  ``c == -K`` likewise), from ``2F1(1/2, b; 3/2; -q) = B(1/2, b - 1/2)
  I_{q/(1+q)}(1/2, b - 1/2)/(2 sqrt(q))`` for ``q > 0`` (Pfaff's
  transformation and the incomplete beta function's 2F1 form).

``1 - exp(-x)`` is already ``-expm1(-x)`` (``exp_minus_one_to_expm1``).

The specialize rule ``polynomial_to_horner`` evaluates a polynomial of degree
3 or more in one symbol with numeric coefficients in Horner form: the
expanded orthogonal polynomials SymPy returns (Legendre, Laguerre, Hermite)
then take one rounding per degree instead of a product chain per power.

>>> import sympy as sp
>>> z = sp.Symbol("z", real=True)
>>> from algebrac import stabilize
>>> stabilize(sp.erf(z) / 2 + sp.Rational(1, 2))
erfc(-z)/2
>>> stabilize(sp.atan(z) / sp.pi + sp.Rational(1, 2))
atan2(1, -z)/pi
>>> polynomial_to_horner(35*z**4/8 - 15*z**2/4 + sp.Rational(3, 8))
z**2*(35*z**2/8 - 15/4) + 3/8
"""
from __future__ import annotations

import sympy as sp

from sympy.codegen.cfunctions import expm1, log1p

from ..expr.special import erfc_kept, hyp2f1, ibeta
from .specialize import SPECIALIZE
from .stable_rules import STABILIZE

__all__ = ["half_plus_erf_to_erfc", "atan_plus_half_pi_to_atan2", "one_minus_power_to_expm1",
           "half_plus_hyper_to_ibeta", "polynomial_to_horner"]


def _scaled_terms(node):
    """``(c, k, f, rest)`` for each term ``k*f`` of ``node = c + k*f + rest``, ``c`` a nonzero number."""
    c, others = node.as_coeff_Add()
    if c == 0:
        return
    terms = sp.Add.make_args(others)
    for t in terms:
        k, f = t.as_coeff_Mul()
        yield c, k, f, sp.Add(*[s for s in terms if s is not t])


def _constant_plus(node, cls):
    """``(c, k, u, rest)`` for ``node = c + k*cls(u) + rest`` with ``c`` a nonzero number."""
    for c, k, f, rest in _scaled_terms(node):
        if isinstance(f, cls) and not isinstance(f, erfc_kept):
            return c, k, f.args[0], rest
    return None


@STABILIZE.rule(tracks=(sp.Add,))
def half_plus_erf_to_erfc(node):
    """c + c*erf(u) = c*erfc(-u), u real (no cancellation as u -> -oo).

    NOTE: a bare ``1 + erf(u)`` is left to the log rule when under a logarithm
    (``log_of_one_plus_erf_to_log_erfc`` reaches ``log_erfc(-u)`` in one step).
    """
    m = _constant_plus(node, sp.erf)
    if m is None or m[0] != m[1] or (m[0] == 1 and m[3] == 0):
        return None
    c, _, u, rest = m
    return c * erfc_kept(-u) + rest


@STABILIZE.rule(tracks=(sp.Add,))
def atan_plus_half_pi_to_atan2(node):
    """c + k*atan(u) = k*atan2(1, -u) for c = k*pi/2, and -k*atan2(1, u) for c = -k*pi/2; u real."""
    terms = sp.Add.make_args(node)
    const = sp.Add(*[t for t in terms if t.is_number])
    for t in terms:
        atans = [f for f in sp.Mul.make_args(t) if isinstance(f, sp.atan)]
        if len(atans) != 1 or const == 0:
            continue
        f = atans[0]
        k = t / f    # 1/pi for the Cauchy CDF
        if not k.is_number:
            continue
        rest = sp.Add(*[s for s in terms if s is not t and not s.is_number])
        u = f.args[0]
        if sp.expand(const - k * sp.pi / 2) == 0:
            return k * sp.atan2(1, -u) + rest
        if sp.expand(const + k * sp.pi / 2) == 0:
            return -k * sp.atan2(1, u) + rest
    return None


@STABILIZE.rule(tracks=(sp.Add,))
def one_minus_power_to_expm1(node):
    """c - c*(1 + v)**b = -c*expm1(b*log1p(v)) for a non-integer number b (both NaN for v < -1)."""
    for c, k, f, rest in _scaled_terms(node):
        if k != -c or not isinstance(f, sp.Pow) or not f.exp.is_number \
                or f.exp.is_integer is not False:
            continue
        one, v = f.base.as_coeff_Add()
        if one != 1 or v == 0:
            continue
        return -c * expm1(f.exp * log1p(v)) + rest
    return None


def _student_hyper(f):
    """``(b, q)`` for ``f = 2F1(1/2, b; 3/2; -q)`` (SymPy's ``hyper`` or ``hyp2f1``), else None."""
    if isinstance(f, sp.hyper) and len(f.ap) == 2 and len(f.bq) == 1:
        (a1, a2), (c,), z = f.ap, f.bq, f.argument
    elif isinstance(f, hyp2f1):
        a1, a2, c, z = f.args
    else:
        return None
    if c != sp.Rational(3, 2) or sp.S.Half not in (a1, a2):
        return None
    return (a2 if a1 == sp.S.Half else a1), -z


@STABILIZE.rule(tracks=(sp.Add,))
def half_plus_hyper_to_ibeta(node):
    """c + m*2F1(1/2, b; 3/2; -q) = c + m*B(1/2, b')/(2 sqrt(q))*I_{q/(1+q)}(1/2, b'), q >= 0.

    Here ``b' = b - 1/2 > 0``; the rule fires for ``c = +-K`` where
    ``m*B(1/2, b')/(2 sqrt(q)) = K*sign(u)``, ``u`` real (Student's t CDF and
    survival function).  With ``P = I_{q/(1+q)}(1/2, b')`` and
    ``Q = I_{1/(1+q)}(b', 1/2) = 1 - P``, the value is ``c + K*sign(u)*P`` where ``P < 1/2``, else
    ``(c + K*sign(u)) - K*sign(u)*Q``, whose head is exactly 0 on the tail side:
    no cancellation anywhere, and SciPy's ``betainc`` is used only below 1/2
    (near 1 it keeps absolute, not relative, accuracy).
    """
    terms = sp.Add.make_args(node)
    for t in terms:
        hypers = [f for f in sp.Mul.make_args(t) if _student_hyper(f) is not None]
        if len(hypers) != 1:
            continue
        b, q = _student_hyper(hypers[0])
        beta_ = b - sp.S.Half
        if not (q.is_nonnegative and beta_.is_positive):
            continue
        big_b = sp.gamma(sp.S.Half) * sp.gamma(beta_) / sp.gamma(b)
        sign_k = t / hypers[0] * big_b / (2 * sp.sqrt(q))
        abses = sign_k.atoms(sp.Abs)
        if len(abses) != 1:
            continue
        u = abses.pop().args[0]
        k = sp.gammasimp(sign_k * sp.Abs(u) / u)
        if not u.is_real or k.free_symbols & u.free_symbols:
            continue
        rest = sp.Add(*[s for s in terms if s is not t])
        heads = [sp.gammasimp(rest + s * k) for s in (-1, 1)]
        if 0 not in heads:
            continue
        p = ibeta(sp.S.Half, beta_, q / (1 + q))
        comp = ibeta(beta_, sp.S.Half, 1 / (1 + q))     # 1 - p
        return sp.Piecewise((rest + k * sp.sign(u) * p, p < sp.S.Half),
                            (heads[0] + k * comp, u < 0), (heads[1] - k * comp, True))
    return None


@SPECIALIZE.rule(tracks=(sp.Add,))
def polynomial_to_horner(node):
    """sum_k c_k x**k = c_0 + x*(c_1 + x*(...)), numeric c_k, degree >= 3 (Horner form)."""
    terms = node.args
    if len(terms) > 64:
        return None
    x, degree = None, 0
    for t in terms:   # every term c*x**k: a linear scan, not Expr.is_polynomial
        c, m = t.as_coeff_Mul()
        base, k = m.as_base_exp() if m is not sp.S.One else (None, 0)
        if base is not None and not (base.is_Symbol and k.is_Integer and k > 0):
            return None
        if base is not None:
            if x is not None and base != x:
                return None
            x, degree = base, max(degree, int(k))
    if x is None or degree < 3:
        return None
    poly = sp.Poly(node, x)
    out = sp.horner(poly)
    out = out.as_expr() if isinstance(out, sp.Poly) else out
    return None if out == node else out
