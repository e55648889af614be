"""Threads that first-call the same fresh formula share one build and agree."""
from __future__ import annotations

import threading

import numpy as np
import sympy as sp

import algebrac as ac
from algebrac.cpu import build


def test_eight_threads_compile_and_call_the_same_fresh_formula():
    x, y = sp.symbols("x y")
    expr = sp.cos(x) * sp.exp(y / 7) + sp.Rational(5, 11)  # used nowhere else in the suite
    a = np.linspace(-3, 3, 100_001)
    results, errors = [None] * 8, []
    barrier = threading.Barrier(8)

    def work(k):
        try:
            barrier.wait()
            uf = ac.compile(expr, [x, y])
            results[k] = (uf.ufunc, uf(a, 0.5))
        except Exception as err:  # collected and re-raised in the main thread
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    expected = np.cos(a) * np.exp(0.5 / 7) + 5 / 11
    for ufunc, values in results:
        # cos(a)*c + 5/11 cancels near its zeros: an absolute floor of a few ulp(1).
        np.testing.assert_allclose(values, expected, rtol=1e-14, atol=4e-16)
        assert ufunc is results[0][0], "every thread got the same compiled module"
    made = [[u for _, u in getattr(m, "_named", {}).values()] for m in build._memo.values()]
    assert sum(1 for us in made if any(u is results[0][0] for u in us)) == 1


def test_concurrent_calls_of_one_ufunc_are_independent():
    x = sp.Symbol("x")
    uf = ac.compile(sp.sin(x) ** 2, [x])
    inputs = [np.full(200_000, float(k)) for k in range(6)]
    outputs = [None] * 6

    def work(k):
        outputs[k] = uf(inputs[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(6):
        np.testing.assert_allclose(outputs[k], np.sin(float(k)) ** 2, rtol=1e-15)
