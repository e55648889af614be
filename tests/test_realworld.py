"""Formulas scientists write (sympy.stats densities and CDFs, sympy.physics wave functions):
evaluated as written (no FMA contraction), tails kept, special functions compiled.

The full corpus and its report are ``benchmarks/corpus_realworld.py``; this file holds a
fast subset grouped into few compiles.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.physics.hydrogen import R_nl

import algebrac as ac

x, R, xm, a, r = sp.symbols("x R x_m a r", positive=True)


def test_cancellations_are_exact_as_in_numpy():
    """gcc -march=native would fuse a - b*c into an FMA: sqrt(R**2 - x**2) at x == R gave
    NaN, 1 - (xm/x)**a at x == xm gave 5.6e-17, a hydrogen node -4.7e-18.  NumPy gives 0."""
    exprs = [2 * sp.sqrt(R**2 - x**2) / (sp.pi * R**2),      # Wigner semicircle density
             1 - xm**a / x**a,                                 # Pareto CDF
             R_nl(3, 0, r, 1), R_nl(3, 1, r, 1), R_nl(4, 1, r, 1)]
    uf = ac.compile(exprs, [x, R, xm, a, r])
    nodes = np.array([1.901923788646684, 6.0, 5.52786404500042])
    xs = np.array([0.7, 0.3, 1.1])
    args = (xs, xs, xs, 2.5, nodes)
    want = sp.lambdify([x, R, xm, a, r], exprs, "numpy")(*args)
    got = uf(*args)
    assert got[0].tolist() == [0.0] * 3
    assert got[1].tolist() == want[1].tolist() and got[1][1] == 0.0   # bit for bit, as NumPy
    for k, (g, w) in enumerate(zip(got[2:], want[2:])):
        assert g[k] == w[k] == 0.0
