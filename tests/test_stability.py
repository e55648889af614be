"""The stability suite: naive formulas compiled by algebrac against mpmath, and lambdify.

Each formula is written the naive way a user would (``log(1 + exp(x))``, the
logistic loss through ``1/(1 + exp(-z))``, ...), its gradient is SymPy's
derivative of that naive form, and all of them are compiled as ONE
multi-output ufunc (``ac.compile`` stabilizes by default).  Over ranges that
reach the extremes of each dtype, every value and gradient is compared with
mpmath (the naive formula at 500 digits for float64, 80 for float32: more than
any cancellation in these ranges consumes, e.g. ``1 + erf(-45/sqrt(2)) = 1e-441``),
and so is
``sympy.lambdify`` of the same naive formula.

Accuracy is measured in ULP.  Where a formula's value depends sensitively on
its inputs (condition number ``c = sum_j |x_j df/dx_j| / |f|``, computed in
mpmath), each rounding of an intermediate of the inputs' size (``a - b``,
``logaddexp(a, b)``) costs up to about ``c`` ULP in any algorithm, so the bound
is ``ulps + 2c`` ULP per point (``ulps`` is 4).  Most outputs stay within a few
ULP outright; ``test_report`` prints the table (run with ``-s``).
"""
from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.testing import MPMATH_MODULES, REFERENCE_MODULES, ulp_distance

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
N = 100
# Digits for the naive formula in mpmath: exp(-1000) = 1e-434 and 1 + erf(-45/sqrt(2)) =
# 1e-441 still resolve in float64's ranges; float32's ranges cancel to at most ~1e-70.
DPS = {F64: 500, F32: 80}
R = sp.Rational


def uni(lo, hi):
    return lambda rng, n: rng.uniform(lo, hi, n)


def logu(lo, hi, sign=1.0):
    return lambda rng, n: sign * np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def labels(rng, n):
    return rng.integers(0, 2, n).astype(float)


@dataclass(frozen=True)
class Formula:
    name: str
    expr: object            # callable: symbols -> naive SymPy expression
    nargs: int
    grads: tuple            # arguments to differentiate by
    f64: tuple              # one sampler per argument
    f32: tuple
    extreme: tuple = ()     # extra points (float64 values)
    ulps: int = 4
    extends: bool = False   # the naive form is NaN where the function has a limit (0*log 0)


FORMULAS = [
    Formula("softplus", lambda x: sp.log(1 + sp.exp(x)), 1, (0,),
            (uni(-1000, 1000),), (uni(-100, 100),), ((800.0,), (-800.0,), (1e-20,))),
    Formula("sigmoid", lambda x: 1 / (1 + sp.exp(-x)), 1, (0,),
            (uni(-740, 740),), (uni(-100, 100),), ((-720.0,), (40.0,))),
    Formula("logistic CE", lambda z, t: -(t * sp.log(1 / (1 + sp.exp(-z)))
                                          + (1 - t) * sp.log(1 - 1 / (1 + sp.exp(-z)))), 2, (0,),
            (uni(-1000, 1000), labels), (uni(-100, 100), labels), ((800.0, 1.0), (40.0, 0.0))),
    Formula("softmax CE", lambda a, b, c: -sp.log(sp.exp(a) / (sp.exp(a) + sp.exp(b)
                                                                + sp.exp(c))), 3, (0, 1, 2),
            (uni(-1000, 1000),) * 3, (uni(-80, 80),) * 3, ((800.0, 799.0, -800.0),)),
    Formula("log-sum-exp", lambda a, b, c: sp.log(sp.exp(a) + sp.exp(b) + sp.exp(c)), 3,
            (0, 1, 2), (uni(-1000, 1000),) * 3, (uni(-100, 100),) * 3,
            ((1000.0, 1000.0, -1000.0),)),
    Formula("Gaussian log-density", lambda x, m, s: sp.log(
        sp.exp(-(x - m)**2 / (2 * s**2)) / (sp.sqrt(2 * sp.pi) * s)), 3, (0,),
        (uni(-1e4, 1e4), uni(-10, 10), uni(0.5, 10)), (uni(-100, 100), uni(-10, 10), uni(0.5, 10)),
        ((1000.0, 0.0, 1.0),)),
    Formula("log1mexp", lambda x: sp.log(1 - sp.exp(x)), 1, (0,),
            (logu(1e-300, 1000, -1),), (logu(1e-30, 100, -1),), ((-1e-20,), (-800.0,))),
    Formula("log erfc tail", lambda x: sp.log(sp.erfc(x)), 1, (0,),
            (uni(-20, 1e4),), (uni(-5, 1000),), ((30.0,), (1e5,))),
    Formula("Gaussian log-CDF", lambda x: sp.log((1 + sp.erf(x / sp.sqrt(2))) / 2), 1, (0,),
            (uni(-45, 0),), (uni(-13, 0),), ((-40.0,),)),
    Formula("logdiffexp", lambda a, d: sp.log(sp.exp(a) - sp.exp(a - d)), 2, (0, 1),
            (uni(-1000, 1000), logu(1e-10, 100)), (uni(-80, 80), logu(1e-5, 50)),
            ((1000.0, 1.0),)),
    Formula("hypot", lambda x, y: sp.sqrt(x**2 + y**2), 2, (0,),
            (logu(1e-300, 1e300),) * 2, (logu(1e-30, 1e30),) * 2, ((1e200, 1e200),)),
    Formula("exprel", lambda x: (sp.exp(x) - 1) / x, 1, (),
            (logu(1e-300, 700),), (logu(1e-30, 80),), ((1e-20,),)),
    Formula("(1 - cos x)/x^2", lambda x: (1 - sp.cos(x)) / x**2, 1, (),
            (logu(1e-150, 3),), (logu(1e-15, 3),), ((1e-10,),)),
    Formula("binary entropy", lambda p: -p * sp.log(p) - (1 - p) * sp.log(1 - p), 1, (),
            (logu(1e-300, 0.5),), (logu(1e-30, 0.5),), ((0.0,), (1e-20,)), extends=True),
]


def _symbols(f: Formula):
    return sp.symbols(f"f{FORMULAS.index(f)}_0:{f.nargs}")


def _outputs(f: Formula):
    """[(label, naive expr, its derivatives by every argument)] for value and gradients."""
    syms = _symbols(f)
    value = f.expr(*syms)
    outs = [("value", value)] + [(f"d/d{j}", sp.diff(value, syms[j])) for j in f.grads]
    return syms, [(label, e, [sp.diff(e, s) for s in syms]) for label, e in outs]


@pytest.fixture(scope="module")
def compiled():
    exprs, args, where = [], [], {}
    for f in FORMULAS:
        syms, outs = _outputs(f)
        where[f.name] = (len(exprs), len(args))
        exprs += [e for _, e, _ in outs]
        args += list(syms)
    return ac.compile(exprs, args), where


_cache: dict = {}


def _measure(f: Formula, dtype, compiled):
    key = (f.name, np.dtype(dtype))
    if key in _cache:
        return _cache[key]
    syms, outs = _outputs(f)
    rng = np.random.default_rng([3, FORMULAS.index(f)])
    samplers = f.f64 if dtype == F64 else f.f32
    pts = [s(rng, N) for s in samplers]
    ext = list(f.extreme) if dtype == F64 else []   # float32's ranges reach its extremes
    pts = [np.concatenate([col, [p[j] for p in ext]]).astype(dtype) for j, col in enumerate(pts)]
    uf, where = compiled
    k0, a0 = where[f.name]
    full = [np.zeros(pts[0].size, dtype) for _ in range(uf.nin)]
    full[a0:a0 + f.nargs] = pts
    with np.errstate(all="ignore"):
        mine = uf(*full)[k0:k0 + len(outs)]
        naive = sp.lambdify(list(syms), [e for _, e, _ in outs], modules=REFERENCE_MODULES)(*pts)
    naive = [np.broadcast_to(np.asarray(v, dtype=dtype), pts[0].shape) for v in naive]
    mp = sp.lambdify(list(syms), [[e, *d] for _, e, d in outs], modules=MPMATH_MODULES)
    exact = np.empty((len(outs), pts[0].size))
    cond = np.empty_like(exact)
    with mpmath.workdps(DPS[np.dtype(dtype)]):
        for i in range(pts[0].size):
            x = [mpmath.mpf(float(c[i])) for c in pts]
            try:
                rows = mp(*x)
            except (ValueError, ZeroDivisionError, OverflowError):
                rows = [[mpmath.mpf("nan")] * (1 + f.nargs)] * len(outs)
            for k, row in enumerate(rows):
                row = [mpmath.mpf("nan") if isinstance(v, mpmath.mpc) else v for v in row]
                exact[k, i] = float(row[0])
                lin = sum(abs(xj * dj) for xj, dj in zip(x, row[1:]))
                cond[k, i] = float(lin / abs(row[0])) if row[0] != 0 and lin == lin else 0.0
    with np.errstate(over="ignore"):
        exact = exact.astype(dtype)
    result = []
    for k, (label, _, _) in enumerate(outs):
        ok = np.isfinite(exact[k])
        ours, theirs = ulp_distance(mine[k], exact[k]), ulp_distance(naive[k], exact[k])
        result.append(dict(label=label, ok=ok, ours=ours, theirs=theirs, cond=cond[k],
                           nonfinite=int(np.sum(ok & ~np.isfinite(naive[k]))), pts=pts,
                           mine=mine[k], exact=exact[k]))
    _cache[key] = result
    return result


CASES = [(f.name, k) for f in FORMULAS for k in range(1 + len(f.grads))]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("name, k", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_values_and_gradients_match_mpmath(name, k, dtype, compiled):
    f = next(f for f in FORMULAS if f.name == name)
    m = _measure(f, dtype, compiled)[k]
    ok = m["ok"]
    limit = f.extends & np.isnan(m["exact"]) & np.isfinite(m["mine"])   # e.g. 0*log(0) -> 0
    # Where the exact value is not finite (overflow), we agree on it exactly.
    assert np.array_equal(m["mine"][~ok & ~limit], m["exact"][~ok & ~limit], equal_nan=True)
    with np.errstate(over="ignore"):
        bound = f.ulps + 2 * np.nan_to_num(m["cond"], posinf=1e300)
    bad = ok & (m["ours"] > bound)
    if bad.any():
        i = int(np.argmax(np.where(bad, m["ours"] / bound, 0)))
        pytest.fail(f"{name} {m['label']} {dtype}: {m['ours'][i]:.0f} ULP (cond "
                    f"{m['cond'][i]:.3g}) at {[float(c[i]) for c in m['pts']]}: got "
                    f"{m['mine'][i]!r}, exact {m['exact'][i]!r}")


def test_naive_formulas_do_fail(compiled):
    """Each formula's naive form (lambdify) is badly wrong somewhere in float64."""
    for f in FORMULAS:
        value = _measure(f, F64, compiled)[0]
        ok = value["ok"]
        assert value["nonfinite"] > 0 or value["theirs"][ok].max() > 1e3, f.name


def test_report(compiled, capsys, request):
    """The table for the notes (printed with ``-s``): max ULP, max ULP/(1 + cond), lambdify."""
    lines = [f"{'formula':22s} {'output':7s} {'dtype':7s} {'algebrac':>9s} {'cond-adj':>9s} "
             f"{'lambdify':>10s} {'non-finite':>10s}"]
    for f in FORMULAS:
        for dtype in (F64, F32):
            for m in _measure(f, dtype, compiled):
                ok = m["ok"]
                adj = m["ours"][ok] / (1 + np.minimum(m["cond"][ok], 1e300))
                lines.append(f"{f.name:22s} {m['label']:7s} {dtype.name:7s} "
                             f"{m['ours'][ok].max():9.0f} {adj.max():9.1f} "
                             f"{m['theirs'][ok].max():10.3g} {m['nonfinite']:10d}")
    assert len(lines) == 1 + 2 * len(CASES)
    if request.config.getoption("capture") == "no":
        with capsys.disabled():
            print("\n" + "\n".join(lines))
