"""Horner form against the expanded polynomial: error in ULPs against mpmath, side by side.

SymPy's orthogonal polynomials come expanded (``legendre(12, x)`` is a sum of
powers).  algebrac's specialize phase evaluates such polynomials in Horner
form (``polynomial_to_horner``); this script compiles each polynomial with
and without that rule and reports the median and maximum ULP error on a dense
grid next to ``lambdify``'s (NumPy, ``x**k`` through ``pow``).

    PYTHONPATH=$PWD python benchmarks/horner.py
"""
from __future__ import annotations

import os
import tempfile

import mpmath
import numpy as np
import sympy as sp

import algebrac as ac
from algebrac.simplify.specialize import SPECIALIZE

x = sp.Symbol("x", real=True)
CASES = [(p, n, lo, hi) for p, lo, hi in ((sp.legendre, -1, 1), (sp.chebyshevt, -1, 1),
                                          (sp.hermite, -5, 5), (sp.laguerre, 0, 30))
         for n in (6, 9, 12)]


def ulp(got, ref):
    return np.abs(got - ref) / np.spacing(np.maximum(np.abs(ref), 2.2250738585072014e-308))


def compile_all(horner: bool):
    rule = next(r for r in SPECIALIZE.rules if r.name == "polynomial_to_horner")
    # Same formulas: the front-door memo and the disk index would return the first build.
    ac.ufunc._memo.clear()
    os.environ["ALGEBRAC_CACHE_DIR"] = tempfile.mkdtemp(prefix="ac_horner_")
    if not horner:
        SPECIALIZE.rules.remove(rule)
        SPECIALIZE._by_head.clear()
    try:
        uf = ac.compile([p(n, x) for p, n, _, _ in CASES], [x])
        uf(0.5)   # build now, while the rule set is the one asked for
        return uf
    finally:
        if not horner:
            SPECIALIZE.rules.append(rule)
            SPECIALIZE._by_head.clear()


def main():
    with_h, without = compile_all(True), compile_all(False)
    print(f"{'polynomial':14s} {'lambdify':>18s} {'expanded C':>18s} {'Horner C':>18s}"
          "   (median / max ULP)")
    for k, (p, n, lo, hi) in enumerate(CASES):
        xs = np.linspace(lo, hi, 2001)
        e = p(n, x)
        fm = sp.lambdify(x, e, "mpmath")
        with mpmath.workdps(60):
            ref = np.array([float(fm(mpmath.mpf(v))) for v in xs])
        cols = [ulp(sp.lambdify(x, e, "numpy")(xs), ref), ulp(without(xs)[k], ref),
                ulp(with_h(xs)[k], ref)]
        print(f"{p.__name__ + '_' + str(n):14s} " +
              " ".join(f"{np.median(c):8.3g} / {c.max():7.3g}" for c in cols))


if __name__ == "__main__":
    main()
