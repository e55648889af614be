"""``python -m algebrac demo``: compile a formula, check it, and time it against NumPy."""
from __future__ import annotations

import argparse
import sys
import time
import timeit


def demo(size: int = 10**6) -> int:
    import numpy as np
    import sympy as sp

    import algebrac as ac

    x, y = sp.symbols("x y")
    f = sp.exp(-x**2 - y**2) * sp.sin(x * y)
    exprs = [f, sp.diff(f, x), sp.diff(f, y)]
    print(f"formula: f = {f}; compiling f, df/dx, df/dy as one ufunc ...")
    start = time.perf_counter()
    uf = ac.compile(exprs, [x, y])
    print(f"compiled in {time.perf_counter() - start:.2f} s: {uf.ufunc!r} "
          f"(nin={uf.nin}, nout={uf.nout})")
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-2, 2, size), rng.uniform(-2, 2, size)
    ref_fn = sp.lambdify([x, y], exprs, "numpy")
    got, ref = uf(a, b), ref_fn(a, b)
    err = max(float(np.max(np.abs(g - r))) for g, r in zip(got, ref))
    print(f"max abs difference from sympy.lambdify over {size} points: {err:.2e}")

    def best(fn):   # warm, then the best of 5
        fn()
        return min(timeit.repeat(fn, number=1, repeat=5))

    t_ac, t_np = best(lambda: uf(a, b)), best(lambda: ref_fn(a, b))
    print(f"algebrac {t_ac * 1e3:.1f} ms, lambdify/NumPy {t_np * 1e3:.1f} ms: "
          f"{t_np / t_ac:.1f}x faster")
    return 0 if err < 1e-12 else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m algebrac")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="compile a value-and-gradient formula and time it")
    d.add_argument("--size", type=int, default=10**6)
    sub.add_parser("clear-cache", help="delete every compiled kernel in the cache")
    ns = parser.parse_args(argv)
    if ns.command == "demo":
        return demo(ns.size)
    import algebrac

    algebrac.cache.clear()
    print(f"cleared {algebrac.config.cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
