"""Differential fuzzing of the rewrites: random formulas, compiled stabilized, against IEEE and mpmath.

Each formula is a random tree (depth 2-5) over x, y, z: the elementary
functions, ``Piecewise``, ``Min``/``Max``, ``sign``, ``floor``, ``erf``,
``gamma``, the ``sympy.codegen`` functions and the patterns the stability
rules look for (``log(1 + t)``, ``exp(t) - 1``, ``1/(1 + exp(-t))``,
``cos(t) - 1``, ``t*log(t)``, ...).  Formulas are compiled in batches (one
multi-output ufunc each, ``stabilize=True``) and evaluated at points from
ordinary values to 1e+-300, subnormals, +-0, +-inf and NaN.  Every point of
every formula is compared with

* ``ieee``: the formula as written, evaluated by NumPy (``sympy.lambdify``);
* ``exact``: the formula as written at 400 digits by mpmath, rounded once; NaN
  where the formula is undefined over the reals (a complex intermediate, a
  pole).

A formula's class is the worst of its points' (finite inputs only; non-finite
inputs follow the documented conventions and are not judged):

``wrong``      NaN where exact and ieee are numbers, a number where both are NaN
               (``nan-lost``), or off by more than 1e-6 where ieee is right to
               1e-8, or 1000 times further off than ieee (``worse``);
``both-fail``  no worse than ieee, but somewhere the exact value is a number
               and ieee is inf or NaN (an overflow, underflow or inf - inf on the
               way), and the result is inf, NaN or off by more than 1e-6 too;
``improved``   right where ieee is not (overflow, cancellation);
``unresolved`` wrong only where the reference of the formula as written and the
               exact value of its stabilized form disagree and the result is the
               latter (the reference did not resolve the point: see ``_unresolved``);
``ok``         as right as ieee;
``algebrac-error`` / ``other-error``  compiling raised (the first is a
               deliberate, documented refusal, the second a bug);
``hang``       compiling did not finish in ``--compile-timeout`` seconds;
``skipped``    SymPy itself could not build the formula (or stalled building it)
               or mpmath not evaluate it (not algebrac's doing).

A point is not judged where the reference cannot decide: the exact value is
infinite (a pole, an overflow, mpmath gave up), the point is ill-conditioned
(moving one input by 4 ulps moves the exact value by more than 1e-6, or into
or out of the domain: ``tan(7e265)``), or the reference meets a discontinuity exactly with a
computed argument (``sign(0)``, ``atan2`` on its cut, ``log(1)``, a comparison of
equal sides), where a 0 at 400 digits may be a rounded ``1 - exp(-1e300)``
(``log(1 + exp(-8e75)) > 0`` is false there), or where every double evaluation
lands on a singularity (an ``atanh``/``asin``/``acos``/``acosh`` argument outside
the domain by less than half an ulp; ``gamma`` below -2**53, where every double
is a pole).  ``|.|`` of a complex value stays complex (undefined).  Only a ``TypeError`` (a complex
value compared or converted) makes the reference NaN; any other mpmath failure
leaves the point unjudged.  A point where the compiled result equals the
formula as written needs no reference (it is neither wrong nor improved).

Each batch runs in a child process (``run_guarded``): a formula that SymPy
cannot build, a compile or a reference that stalls is located and classed
without stalling the run.

Seeded (formula ``i`` of seed ``s`` is always the same) and resumable: results
are appended to a JSON-lines file, formulas already there are skipped.

    python tools/fuzz.py --count 10000 --seed 0 --out fuzz.jsonl
    python tools/fuzz.py --report --out fuzz.jsonl
    python tools/fuzz.py --recheck --out fuzz.jsonl   # after a fix: judge the wrong ones again
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import random
import sys
import time
import warnings
from pathlib import Path

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, hypot, log1p
from sympy.printing.pycode import MpmathPrinter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import algebrac as ac  # noqa: E402
from algebrac.errors import AlgebracError  # noqa: E402
from algebrac.simplify.budget import SymbolicTimeout, hard_limit  # noqa: E402
from algebrac.testing import MPMATH_MODULES, REFERENCE_MODULES  # noqa: E402

X, Y, Z = SYMBOLS = sp.symbols("x y z")
R = sp.Rational

UNARY = [
    sp.exp, sp.log, sp.sqrt, sp.sin, sp.cos, sp.tan, sp.asin, sp.acos, sp.atan, sp.sinh,
    sp.cosh, sp.tanh, sp.asinh, sp.acosh, sp.atanh, log1p, expm1, sp.Abs, sp.sign, sp.floor,
    sp.ceiling, sp.erf, sp.erfc, sp.gamma, sp.loggamma,
    lambda t: -t, lambda t: t**2, lambda t: t**3, lambda t: 1 / t, lambda t: t**-3,
    # patterns the stability rules rewrite
    lambda t: sp.log(1 + t), lambda t: sp.exp(t) - 1, lambda t: 1 / (1 + sp.exp(-t)),
    lambda t: sp.cos(t) - 1, lambda t: t * sp.log(t), lambda t: (1 + t) * log1p(t),
    lambda t: sp.log(1 + sp.exp(t)), lambda t: sp.sqrt(t**2 + 1), lambda t: 1 - sp.exp(t),
    lambda t: sp.log(1 - sp.exp(-sp.Abs(t))), lambda t: 1 - sp.erf(t),
]
BINARY = [
    sp.Add, lambda a, b: a - b, sp.Mul, lambda a, b: a / b, sp.Min, sp.Max, sp.atan2, hypot,
    lambda a, b: sp.log(sp.exp(a) + sp.exp(b)), lambda a, b: sp.exp(a) / (sp.exp(a) + sp.exp(b)),
    lambda a, b: sp.sqrt(a**2 + b**2), lambda a, b: a * sp.log(b),
]
RELATIONS = [sp.Gt, sp.Lt, sp.Ge, sp.Le]
CONSTANTS = [sp.Integer(0), sp.Integer(1), sp.Integer(2), sp.Integer(-1), R(1, 2), R(-3, 2),
             sp.Float(1e-8), sp.Float(1e8), sp.pi]

# Enough digits that 1 + 5e-324 - 1 is not 0: inputs span 1e-324..1e300.
DPS = 400
POINT_SECONDS = 0.5  # per point and precision; a slower reference is not judged
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -1.5, 2.0, 1e-300, -1e-300, 1e300, -1e300, 5e-324,
           -2.5e-320, 1e-8, -1e-8, 1e8, 700.0, -745.0, 6.9e104, -6.9e104, 7.6e-260,
           np.inf, -np.inf, np.nan]


def random_formula(rng: random.Random, depth: int | None = None) -> sp.Expr:
    """A random formula of the given depth (2-5 when not given) over x, y, z."""
    depth = rng.randint(2, 5) if depth is None else depth
    if depth <= 0 or rng.random() < 0.15:
        return rng.choice(SYMBOLS) if rng.random() < 0.75 else rng.choice(CONSTANTS)
    kind = rng.random()
    if kind < 0.55:
        return rng.choice(UNARY)(random_formula(rng, depth - 1))
    if kind < 0.9:
        return rng.choice(BINARY)(random_formula(rng, depth - 1), random_formula(rng, depth - 1))
    cond = rng.choice(RELATIONS)(random_formula(rng, depth - 2), rng.choice(CONSTANTS[:6]))
    return sp.Piecewise((random_formula(rng, depth - 1), cond),
                        (random_formula(rng, depth - 1), True))


def formula(seed: int, i: int):
    """Formula ``i`` of ``seed``, or ``None`` when SymPy cannot build it in 5 s or it is not real."""
    return build(random.Random(seed * 1_000_003 + i))


def build(rng: random.Random):
    """A random formula drawn with ``rng``, or ``None`` (as :func:`formula`)."""
    try:
        with hard_limit(5.0):
            e = random_formula(rng)
            ok = isinstance(e, sp.Expr) and not e.has(sp.zoo, sp.nan, sp.I, sp.oo, -sp.oo) \
                and bool(e.free_symbols)
    except (Exception, SymbolicTimeout):  # noqa: BLE001 (SymPy's own failure: not ours)
        return None
    return e if ok else None


def points(n: int, seed: int = 0, extreme: bool = True) -> np.ndarray:
    """``n`` points (rows of x, y, z): special values and random magnitudes 1e-300..1e300.

    ``extreme=False`` keeps magnitudes within 1e-10..1e10 (and zeros), where
    mpmath needs far fewer digits to be exact.
    """
    rng = np.random.default_rng(seed)
    special = np.array(SPECIAL if extreme else
                       [v for v in SPECIAL if v == 0 or 1e-10 <= abs(v) <= 1e10])
    cols = []
    for _ in range(3):
        k = n // 2
        top = 300 if extreme else 10
        mags = 10.0 ** rng.uniform(-top, top, n - k) * rng.choice([-1, 1], n - k)
        ordinary = rng.uniform(-4, 4, n - k)
        mixed = np.where(rng.random(n - k) < 0.6, ordinary, mags)
        cols.append(np.concatenate([rng.choice(special, k), mixed]))
    return np.stack(cols, axis=1)


def _mp(f, row, dps):
    """The formula at ``dps`` digits: NaN outside the reals, inf at a pole, an
    indeterminate form (``inf/inf`` after ``loggamma(0)``) or when mpmath takes too
    long; points where it is inf are not judged."""
    start = time.monotonic()
    with mpmath.workdps(dps):
        try:
            with hard_limit(POINT_SECONDS):  # exp(cosh(1e300)) at 400 digits: give up
                v = f(*[mpmath.mpf(float(a)) for a in row])
        except SymbolicTimeout:
            return math.inf
        except (ZeroDivisionError, OverflowError):  # a pole; gamma(cosh(1e300)) in mpmath
            return math.inf
        except TypeError:  # Min/Max or a conversion met a complex value: outside the reals
            return math.nan if time.monotonic() - start < POINT_SECONDS else math.inf
        except Exception:  # noqa: BLE001
            # mpmath failed ("pole", a huge exponent, or the timeout caught in its own
            # bare except and re-raised as another error): not judged, never NaN.
            return math.inf
        if isinstance(v, mpmath.mpc):
            if v.imag != 0:
                return math.nan
            v = v.real
        return math.inf if mpmath.isnan(v) else float(v)


class _IEEEComparisons(MpmathPrinter):
    """mpmath code whose comparisons are IEEE's: false with a NaN or non-real side.

    ``Piecewise((a, log(x) > 2), (b, True))`` at ``x < 0`` is ``b``, in floats and here.
    """

    def _print_loggamma(self, expr):  # C's lgamma, log|gamma(x)|; mpmath's is complex
        return f"mpmath.log(abs(_gamma_ref({self._arg(expr)}, {_computed(expr)})))"

    def _print_gamma(self, expr):
        return f"_gamma_ref({self._arg(expr)}, {_computed(expr)})"

    def _print_Abs(self, expr):  # |a + bi| is real: a complex value stays complex (NaN)
        return f"_abs_ref({self._arg(expr)})"

    def _print_log(self, expr):
        return f"_log_ref({self._arg(expr)}, {_computed(expr)})"

    def _edge(self, expr):
        name = type(expr).__name__
        return f"_edge_ref({name!r}, {self._arg(expr)}, {_computed(expr)})"

    _print_asin = _print_acos = _print_acosh = _print_atanh = _edge

    def _arg(self, expr):
        return self._print(expr.args[0])

    def _print_Relational(self, expr):
        lhs, rhs = self._print(expr.lhs), self._print(expr.rhs)
        computed = not all(a.is_Symbol or a.is_number for a in expr.args)
        return f"_ieee_cmp({expr.rel_op!r}, {lhs}, {rhs}, {computed})"

    # At a discontinuity met exactly by a computed argument the reference cannot tell an
    # exact 0 from a rounded one: sign(log(1 + exp(-6.9e104))) is 1, but 0 at 400 digits.
    def _print_sign(self, expr):
        a = expr.args[0]
        return f"_sign_ref({self._print(a)}, {not (a.is_Symbol or a.is_number)})"

    def _print_atan2(self, expr):
        y, x = expr.args
        return f"_atan2_ref({self._print(y)}, {self._print(x)}, {not (y.is_Symbol or y.is_number)})"


class _Unresolved(ValueError):
    """The reference met a discontinuity exactly (see ``_IEEEComparisons``): not judged."""


def _computed(expr) -> bool:
    """Whether ``expr``'s argument is computed (not a symbol or a number)."""
    a = expr.args[0]
    return not (a.is_Symbol or a.is_number)


def _log_ref(a, computed):
    # log(1 + exp(-8e75)) is 0 at 400 digits: its sign, which decides a comparison or
    # the domain of a log further out, is lost (fuzz #9047, #5620)
    if computed and a == 1:
        raise _Unresolved("log(1) of a computed argument")
    return mpmath.log(a)


def _abs_ref(a):
    if isinstance(a, mpmath.mpc) and a.imag != 0:
        return a   # undefined over the reals, as log(-1) was: stays so (fuzz #9855)
    return abs(a)


_EDGES = {"asin": (-1, 1), "acos": (-1, 1), "atanh": (-1, 1), "acosh": (1, None)}


def _edge_ref(name, a, computed):
    # Outside the domain by less than half an ulp: any double evaluation, of the formula
    # as written or rewritten, rounds the argument onto the edge (atanh(-(1 + 2e-391)),
    # fuzz #5698): the reference cannot say which side a float result should take.
    if computed and not isinstance(a, mpmath.mpc):
        for edge in _EDGES[name]:
            if edge is not None and a != edge and float(a) == edge \
                    and not (_EDGES[name][0] <= a <= (_EDGES[name][1] or mpmath.inf)):
                raise _Unresolved(f"{name} of an argument that rounds onto its domain's edge")
    return getattr(mpmath, name)(a)


def _gamma_ref(a, computed):
    # Below -2**53 every double is a negative integer, a pole of gamma: a computed argument
    # there (-8.86e291, fuzz #9250) is a pole in every float evaluation, however exact.
    if computed and not isinstance(a, mpmath.mpc) and a < -2.0**53:
        raise _Unresolved("gamma of a computed argument where every double is a pole")
    return mpmath.gamma(a)


def _sign_ref(a, computed):
    if computed and a == 0:
        raise _Unresolved("sign(0) of a computed argument")
    return mpmath.sign(a)


def _atan2_ref(y, x, computed):
    if computed and y == 0 and x < 0:   # README: a rewrite may flip the sign of that zero
        raise _Unresolved("atan2 on its branch cut")
    return mpmath.atan2(y, x)


def _ieee_cmp(op, a, b, computed=False):
    vals = []
    for v in (a, b):
        if isinstance(v, mpmath.mpc):
            if v.imag != 0:
                return op == "!="
            v = v.real
        if mpmath.isnan(v):
            return op == "!="
        vals.append(v)
    a, b = vals
    if computed and a == b:   # log(1 + exp(-8e75)) > 0: as sign(0) above
        raise _Unresolved("a comparison met exactly by a computed side")
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b,
            "!=": a != b}[op]


def _reference(expr, args):
    """``expr`` as an mpmath function whose comparisons are IEEE's."""
    table = {"_ieee_cmp": _ieee_cmp, "_sign_ref": _sign_ref, "_atan2_ref": _atan2_ref,
             "_log_ref": _log_ref, "_abs_ref": _abs_ref, "_edge_ref": _edge_ref,
             "_gamma_ref": _gamma_ref, "mpmath": mpmath}
    return sp.lambdify(args, expr, modules=[table, *MPMATH_MODULES], printer=_IEEEComparisons)


def _exact(expr, args, pts) -> np.ndarray:
    """mpmath, NaN where undefined over the reals (inf where mpmath gives up)."""
    return _exact_rows(_reference(expr, args), pts)


def _exact_rows(f, pts) -> np.ndarray:
    """The mpmath function ``f`` at each row of ``pts`` (see :func:`_exact`).

    At ``DPS`` digits where an input is beyond 1e+-20; else at 30 and 60
    digits, and where they disagree, or the value is 0, NaN or
    infinite (``log(1 + 7.6e-260)`` is 0 at 60 digits, so ``log(log(1 + t))``
    is NaN), again at ``DPS`` digits.
    """
    out = np.full(len(pts), np.nan)
    for k, row in enumerate(pts):
        if not np.isfinite(row).all():
            continue
        if any(v != 0 and not 1e-20 < abs(v) < 1e20 for v in row):
            # 1 - exp(-1e-300) is 0 at 60 digits, and Max(log(0), -1e300) agrees at 30
            out[k] = _mp(f, row, DPS)
            continue
        a, b = _mp(f, row, 30), _mp(f, row, 60)
        if a == b and a != 0 and math.isfinite(a):
            out[k] = b
        elif b != 0 and math.isfinite(b) and abs(a - b) <= 1e-20 * abs(b):
            out[k] = b
        else:
            out[k] = _mp(f, row, DPS)
    return out


def _ieee(expr, args, pts) -> np.ndarray:
    f = sp.lambdify(args, expr, modules=REFERENCE_MODULES)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = f(*[pts[:, k] for k in range(len(args))])
    return np.broadcast_to(np.asarray(v, dtype=np.float64), (len(pts),))


def _relerr(a, exact):
    with np.errstate(all="ignore"):
        both_inf = np.isinf(a) & np.isinf(exact) & (np.sign(a) == np.sign(exact))
        err = np.abs(a - exact) / np.maximum(np.abs(exact), 2.2e-308)
    return np.where(both_inf | (a == exact), 0.0, err)


def _masks(got, ieee, exact) -> dict:
    """The points (finite inputs) where ``got`` is wrong, by kind, and those where both fail."""
    g_nan, i_nan, e_nan = np.isnan(got), np.isnan(ieee), np.isnan(exact)
    eg, ei = _relerr(got, exact), _relerr(ieee, exact)
    # Both fail: the exact value is a number, the formula as written gives inf or NaN (an
    # overflow, underflow or inf - inf on the way), and the compiled result is inf, NaN or
    # off by more than 1e-6 too.  Not "at least as close" as ieee, not worse: its own class.
    with np.errstate(invalid="ignore"):
        both = ~np.isfinite(ieee) & np.isfinite(exact) & (~np.isfinite(got) | (eg > 1e-6))
    # exact inf: a pole, an overflow of the exact value, or mpmath gave up: not judged
    spurious = g_nan & ~i_nan & np.isfinite(exact) & ~both
    lost = ~g_nan & i_nan & e_nan
    judged = ~e_nan & ~g_nan & ~both
    with np.errstate(all="ignore"):
        # Where ieee itself is off (tan(1.7e23): any rounding changes every digit), an
        # error within 1000x of its own is conditioning, not a wrong rewrite.
        worse = judged & (eg > 1e-6) & (got != ieee) \
            & (~np.isfinite(ieee) | (ei < 1e-8) | (eg > 1e3 * ei))
    # Not judged: an infinite exact value (mpmath's -inf of log(0)) and an exact 0, which
    # 400 digits do not resolve when the formula has 1 + exp(-1e300) in it.
    worse &= ~np.isinf(exact) & (exact != 0)
    better = ~e_nan & (i_nan | (ei > 1e-6)) & (eg <= 1e-6)
    return {"nan-spurious": spurious, "nan-lost": lost, "worse": worse, "both": both,
            "better": better}


def classify(got, ieee, exact, pts, ill=None, unresolved=None) -> tuple:
    """``(class, detail)`` of one formula's values (see the module docstring).

    ``ill`` marks ill-conditioned points (see :func:`_ill_conditioned`), where
    no float result is judged worse; ``unresolved`` those where the reference
    of the formula as written and of its stabilized form disagree (see
    :func:`_unresolved`): a formula wrong only there is ``unresolved``.
    """
    finite = np.isfinite(pts).all(axis=1)
    got, ieee, exact = got[finite], ieee[finite], exact[finite]
    m = _masks(got, ieee, exact)
    if ill is not None:
        for name in ("nan-spurious", "nan-lost", "worse", "both"):
            m[name] &= ~ill[finite]
    late = None
    for cls, mask in (("wrong", None), ("unresolved", unresolved)):
        for name in ("nan-spurious", "nan-lost", "worse"):
            bad = m[name] & (True if mask is None else mask[finite])
            if mask is None and unresolved is not None:
                bad &= ~unresolved[finite]
            if bad.any() and late is None:
                k = int(np.flatnonzero(bad)[0])
                late = cls, (f"{name} at {pts[finite][k].tolist()}: got {got[k]!r}, "
                             f"ieee {ieee[k]!r}, exact {exact[k]!r}")
        if late is not None:
            return late
    if m["both"].any():   # before improved: a flaw is reported even where others improved
        k = int(np.flatnonzero(m["both"])[0])
        return "both-fail", (f"at {pts[finite][k].tolist()}: got {got[k]!r}, ieee "
                             f"{ieee[k]!r}, exact {exact[k]!r}")
    if m["better"].any():
        return "improved", ""
    return "ok", ""


def _unresolved(e, got, exact, pts, rows) -> np.ndarray:
    """Points of ``rows`` where the stabilized formula, evaluated exactly (SymPy's
    adaptive ``evalf``), is ``got`` while the formula as written at ``DPS`` digits is not.

    Two mathematically equal forms with different exact values mean the reference
    did not resolve the point: ``erf(700) - 1`` is 0 at 400 digits (it is
    -1e-212800), ``log(1 + exp(-8e75)) > 0`` false.  (The rules themselves are
    checked against mpmath in ``tests/simplify/test_rules.py``.)
    """
    out = np.zeros(len(pts), dtype=bool)
    try:
        stable = ac.stabilize(e)
    except Exception:  # noqa: BLE001
        return out
    for k in np.flatnonzero(rows):
        try:
            with hard_limit(5.0):
                v = stable.evalf(n=30, subs={s: sp.Float(float(a), 60)
                                             for s, a in zip(SYMBOLS, pts[k])})
                v = float(v) if v.is_real else math.nan
        except (Exception, SymbolicTimeout):  # noqa: BLE001
            continue
        near = _relerr(np.array([got[k]]), np.array([v]))[0] <= 1e-6
        far = not (_relerr(np.array([exact[k]]), np.array([v]))[0] <= 1e-6)
        out[k] = bool(math.isfinite(v) and near and far)
    return out


def _ill_conditioned(f, pts, exact, rows) -> np.ndarray:
    """Points of ``rows`` where moving one input by 4 ulps moves the exact value by > 1e-6
    (or into or out of the domain: ``acos(cos(2.6e265) - 1)``).

    There the formula's value is not determined to 1e-6 by its float inputs
    (``tan(7e265)``, ``cos(1e150 + pi/2)``): any rounding of an intermediate,
    as written or rewritten, is as good as another.
    """
    ill = np.zeros(len(pts), dtype=bool)
    for k in np.flatnonzero(rows):
        for j in range(pts.shape[1]):
            for step in (1 + 2.0**-50, 1 - 2.0**-50):
                moved = pts[k].copy()
                moved[j] *= step
                if moved[j] == pts[k][j]:
                    continue
                v = _exact_rows(f, moved[None, :])[0]
                if np.isnan(v) != np.isnan(exact[k]) or np.isinf(v) or (
                        not np.isnan(v) and _relerr(np.array([v]), exact[k:k + 1])[0] > 1e-6):
                    ill[k] = True
                    break
            if ill[k]:
                break
    return ill


def run_batch(exprs: list, pts, backend="cpu") -> list:
    """Classify each formula of ``exprs`` (compiled together; one by one if that fails)."""
    start = time.time()
    try:
        with np.errstate(all="ignore"):
            outs = ac.compile(list(exprs), list(SYMBOLS), backend=backend)(*pts.T)
    except Exception:  # noqa: BLE001 (find the culprit)
        if len(exprs) > 1:  # bisect to the culprit: a few compiles, not one per formula
            half = len(exprs) // 2
            return run_batch(exprs[:half], pts, backend) + run_batch(exprs[half:], pts, backend)
        outs = None
        err = sys.exc_info()[1]
        kind = "algebrac-error" if isinstance(err, AlgebracError) else "other-error"
        return [(kind, f"{type(err).__name__}: {str(err)[:300]}")]
    if time.time() - start > 60:
        print(f"  compiling {len(exprs)} formulas took {time.time() - start:.0f} s", flush=True)
    return [_judge(e, np.asarray(got, dtype=np.float64), pts) for e, got in zip(exprs, outs)]


def _judge(e, got, pts) -> tuple:
    """``(class, detail)`` of one compiled formula's values ``got`` at ``pts``."""
    start = time.time()
    try:
        ieee = _ieee(e, list(SYMBOLS), pts)
        # Where the result is the formula as written, it is neither wrong nor improved
        # (see classify): mpmath, the slow part, is asked about the other points only.
        differ = ~((got == ieee) | (np.isnan(got) & np.isnan(ieee)))
        exact = got.copy()
        f = _reference(e, list(SYMBOLS))
        with hard_limit(30.0):
            if differ.any():
                exact[differ] = _exact_rows(f, pts[differ])
        ill = None
        finite = np.isfinite(pts).all(axis=1)
        worse = np.zeros(len(pts), dtype=bool)
        m = _masks(got[finite], ieee[finite], exact[finite])
        worse[finite] = m["worse"] | m["nan-lost"] | m["nan-spurious"]
        both = np.zeros(len(pts), dtype=bool)
        both[finite] = m["both"]
        unresolved = None
        if (worse | both).any():
            with hard_limit(30.0):
                ill = _ill_conditioned(f, pts, exact, worse | both)
            if (worse & ~ill).any():
                unresolved = _unresolved(e, got, exact, pts, worse & ~ill)
    except (Exception, SymbolicTimeout) as err:  # noqa: BLE001
        return "skipped", f"reference failed: {type(err).__name__}"
    if time.time() - start > 10:
        print(f"  references took {time.time() - start:.0f} s: {str(e)[:100]}", flush=True)
    return classify(got, ieee, exact, pts, ill, unresolved)


COMPILE_SECONDS = 600.0    # a batch's compile (rewrites, CSE, gcc) stalled past this: bisect it
REFERENCE_SECONDS = 120.0  # one formula's references stalled past this (hard_limit covers 30 s)
BUILD_SECONDS = 60.0       # SymPy building one formula stalled past this (a C-level bignum power)
_TIMEOUT = [COMPILE_SECONDS]  # --compile-timeout


def _child(conn, keys, pts, backend):
    """Build, compile and judge formulas in a forked process, reporting every step.

    A key is ``(seed, i)`` or a formula.  SymPy's own evaluation can stall in C
    while building one (``exp`` of a huge integer power), which no in-process
    limit interrupts: so building happens here too.
    """
    exprs = []
    for key in keys:
        e = formula(*key) if isinstance(key, tuple) else key
        exprs.append(e)
        conn.send(("built", None if e is None else str(e)[:400]))
    exprs = [e for e in exprs if e is not None]
    try:
        with np.errstate(all="ignore"):
            outs = ac.compile(exprs, list(SYMBOLS), backend=backend)(*pts.T) if exprs else ()
    except Exception as err:  # noqa: BLE001 (find the culprit)
        kind = "algebrac-error" if isinstance(err, AlgebracError) else "other-error"
        conn.send(("failed", kind, f"{type(err).__name__}: {str(err)[:300]}"))
        return
    conn.send(("compiled",))
    for e, got in zip(exprs, outs):
        conn.send(("result",) + _judge(e, np.asarray(got, dtype=np.float64), pts))


def _messages(keys, pts, backend):
    """The messages of a child running ``keys``; ``("stalled",)`` on a timeout, ``("died",)``."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, keys, pts, backend))
    proc.start()
    child.close()
    wait, built = BUILD_SECONDS, 0
    try:
        while True:
            if not parent.poll(wait):
                yield ("stalled",)
                return
            try:
                msg = parent.recv()
            except EOFError:
                yield ("died",)
                return
            built += msg[0] == "built"
            # the next step's allowance: build the next formula, compile them all, judge one
            wait = (BUILD_SECONDS if built < len(keys) else _TIMEOUT[0]) \
                if msg[0] == "built" else REFERENCE_SECONDS
            yield msg
    finally:
        proc.kill()
        proc.join()
        parent.close()


def run_guarded(keys: list, pts, backend="cpu") -> dict:
    """``{key: (class, detail, formula text)}``, each batch in a child process with timeouts.

    A formula SymPy cannot build within ``BUILD_SECONDS`` is ``skipped``; a
    compile that fails or stalls past ``COMPILE_SECONDS`` (``--compile-timeout``)
    is bisected (a few compiles, not one per formula), and a single formula whose
    compile stalls is class ``hang``; a formula whose references stall is
    ``skipped`` and the rest of the batch goes on in a new child.
    """
    out, pending = {}, list(keys)
    while pending:
        texts, live, judged, compiled = [], [], 0, False
        last, wait_compile = None, time.time()
        for msg in _messages(pending, pts, backend):
            last = msg
            if msg[0] == "built":
                texts.append(msg[1])
                if msg[1] is None:
                    out[pending[len(texts) - 1]] = ("skipped", "SymPy could not build it", "None")
                else:
                    live.append(pending[len(texts) - 1])
                if len(texts) == len(pending):
                    wait_compile = time.time()
            elif msg[0] == "compiled":
                compiled = True
                if time.time() - wait_compile > 60:
                    print(f"  compiling {len(live)} formulas took "
                          f"{time.time() - wait_compile:.0f} s", flush=True)
            elif msg[0] == "result":
                out[live[judged]] = (msg[1], msg[2], texts[pending.index(live[judged])])
                judged += 1
            if msg[0] in ("stalled", "died", "failed"):
                break
            if compiled and judged == len(live):
                last = ("done",)
                break
        text = dict(zip(pending, texts))
        if last[0] in ("stalled", "died") and len(texts) < len(pending):
            bad = pending[len(texts)]   # SymPy never finished building it
            out[bad] = ("skipped", f"SymPy did not build it in {BUILD_SECONDS:.0f} s", "?")
        elif last[0] in ("stalled", "died", "failed") and not compiled:
            if len(live) > 1:
                half = len(live) // 2
                out.update(run_guarded(live[:half], pts, backend))
                out.update(run_guarded(live[half:], pts, backend))
            elif live:
                why = last[1:] if last[0] == "failed" else (
                    ("hang", f"compiling did not finish in {_TIMEOUT[0]:.0f} s")
                    if last[0] == "stalled" else
                    ("other-error", "the process compiling the formula died"))
                out[live[0]] = (*why, text[live[0]])
        elif last[0] in ("stalled", "died"):
            k = live[judged]
            out[k] = (("skipped", f"references did not finish in {REFERENCE_SECONDS:.0f} s")
                      if last[0] == "stalled" else
                      ("other-error", "the process judging the formula died")) + (text[k],)
        pending = [k for k in pending if k not in out]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--start", type=int, default=0, help="first formula index")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--points", type=int, default=48)
    p.add_argument("--backend", default="cpu")
    p.add_argument("--out", default="fuzz.jsonl")
    p.add_argument("--compile-timeout", type=float, default=COMPILE_SECONDS,
                   help="seconds a batch's compile may stall before it is bisected")
    p.add_argument("--report", action="store_true", help="only summarise --out")
    p.add_argument("--recheck", action="store_true",
                   help="judge the formulas of --out that are not ok, improved or skipped "
                        "again (after a fix)")
    a = p.parse_args(argv)
    _TIMEOUT[0] = a.compile_timeout
    out = Path(a.out)
    done = {}
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done[(r["seed"], r["i"])] = r
    if a.recheck:
        pts = points(a.points, a.seed)
        again = [key for key, r in done.items()   # judged by an older harness, or flawed
                 if r["class"] not in ("ok", "improved", "skipped", "algebrac-error")]
        for b in range(0, len(again), a.batch):   # in batches: a few compiles
            for key, (cls, detail, _) in run_guarded(again[b:b + a.batch], pts,
                                                      a.backend).items():
                done[key]["class"], done[key]["detail"] = cls, detail
        out.write_text("".join(json.dumps(r) + "\n" for r in done.values()))
    elif not a.report:
        pts = points(a.points, a.seed)
        todo = [i for i in range(a.start, a.count) if (a.seed, i) not in done]
        start = time.time()
        with out.open("a") as fh:
            for b in range(0, len(todo), a.batch):
                ids = todo[b:b + a.batch]
                results = run_guarded([(a.seed, i) for i in ids], pts, a.backend)
                for i in ids:
                    cls, detail, text = results[(a.seed, i)]
                    r = {"seed": a.seed, "i": i, "class": cls, "detail": detail, "formula": text}
                    done[(a.seed, i)] = r
                    fh.write(json.dumps(r) + "\n")
                fh.flush()
                print(f"{b + len(ids)}/{len(todo)} formulas, {time.time() - start:.0f} s: "
                      f"{dict(collections.Counter(r['class'] for r in done.values()))}",
                      flush=True)
    counts = collections.Counter(r["class"] for r in done.values())
    print(f"{sum(counts.values())} formulas:", ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    for r in done.values():
        if r["class"] in ("wrong", "other-error", "hang", "both-fail", "unresolved"):
            print(f"  [{r['class']}] #{r['i']} {r['formula'][:160]}\n      {r['detail'][:300]}")
    return 0 if not (counts["wrong"] or counts["other-error"] or counts["hang"]) else 1


if __name__ == "__main__":
    sys.exit(main())
