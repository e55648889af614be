#!/usr/bin/env python
"""algebrac in the data stack, against what a user would write with lambdify and NumPy.

    python benchmarks/bench_datastack.py [--quick] [--n-ode 1000] [--size 2e7] [--dask 1e8]

Sections (each prints times and ratios = peer time / algebrac time, above 1: algebrac faster):

* ``quad``: ``scipy.integrate.quad`` of a compiled formula through
  ``uf.low_level_callable()`` (a C function pointer) against lambdify callbacks
  (``modules="math"``, the fastest Python callback, and the default NumPy one);
* ``solve_ivp``: BDF on a 1-D reaction-diffusion system of ``--n-ode`` equations,
  ``ac.ode``'s compiled right-hand side and sparse Jacobian against lambdify's
  right-hand side and a dense Jacobian (lambdify of the same symbolic entries,
  scattered into a dense matrix);
* ``buffered``: inputs that need a cast (int64, through NumPy's 8192-element
  buffers, which the compiled loop never threads) against float64, with 1 and 2
  threads; repeated with two busy processes on the machine (``load``);
* ``dask``: ``uf(dask_array).sum()`` over ``--dask`` elements in 10 chunks against
  NumPy (lambdify) and algebrac on the whole NumPy array, on this machine.

Every peer's result is compared with algebrac's first.  Compile caches are private
temporary directories.  The machine is shared: times are best-of-k, and the header
prints the load average.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import tempfile
import time

os.environ.setdefault("ALGEBRAC_CACHE_DIR", tempfile.mkdtemp(prefix="algebrac-bench-"))
os.environ.setdefault("ALGEBRAC_PROGRESS", "0")

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import algebrac as ac  # noqa: E402


def best(f, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def row(label, t_ac, peers):
    cells = "  ".join(f"{name} {t * 1e3:9.2f} ms ({t / t_ac:5.1f}x)" for name, t in peers)
    print(f"  {label:<34} algebrac {t_ac * 1e3:9.2f} ms  {cells}")


def bench_quad(repeat):
    from scipy.integrate import quad

    x, s = sp.symbols("x s")
    expr = sp.exp(-x**2 / (2 * s**2)) * sp.cos(3 * x) + sp.log(1 + x**2) / (1 + x**4)
    llc = ac.compile(expr, [x, s]).low_level_callable()
    f_math = sp.lambdify([x, s], expr, "math")
    f_np = sp.lambdify([x, s], expr)
    ref = quad(llc, -30, 30, args=(1.5,), limit=500)[0]
    for peer in (f_math, f_np):
        got = quad(peer, -30, 30, args=(1.5,), limit=500)[0]
        assert abs(got - ref) < 1e-12 * max(1, abs(ref)), (got, ref)
    t = best(lambda: quad(llc, -30, 30, args=(1.5,), limit=500), repeat)
    row("quad (LowLevelCallable)", t, [
        ("lambdify math", best(lambda: quad(f_math, -30, 30, args=(1.5,), limit=500), repeat)),
        ("lambdify numpy", best(lambda: quad(f_np, -30, 30, args=(1.5,), limit=500), repeat))])


def bench_ode(n, repeat):
    from scipy.integrate import solve_ivp

    u = sp.symbols(f"u0:{n}")
    D, a, h2 = sp.Rational(1, 1000), sp.Rational(1, 4), sp.Rational(1, n) ** 2
    rhs = [D * ((u[i - 1] if i else u[1]) - 2 * u[i] + (u[i + 1] if i < n - 1 else u[n - 2]))
           / h2 + u[i] * (1 - u[i]) * (u[i] - a) for i in range(n)]
    start = time.perf_counter()
    system = ac.ode(rhs, u)
    system.jac(0.0, np.zeros(n))
    compile_time = time.perf_counter() - start
    # The peer: lambdify of the same right-hand side and of the same symbolic Jacobian
    # entries, scattered into a dense matrix (lambdify of a 1000 x 1000 Matrix would
    # spend minutes printing a million zeros).
    coo = system.jac_sparsity.tocoo()
    order = np.lexsort((coo.row, coo.col))  # CSC order, as system._jac_exprs
    rows, cols = coo.row[order], coo.col[order]
    tt = sp.Symbol("t")
    f_np, entries_np = sp.lambdify([tt, u], rhs), sp.lambdify([tt, u], system._jac_exprs)

    def j_np(t, y):
        dense = np.zeros((n, n))
        dense[rows, cols] = entries_np(t, y)
        return dense

    y0 = np.where(np.arange(n) < n // 4, 1.0, 0.0)
    kw = dict(method="BDF", rtol=1e-6, atol=1e-9)
    sol = solve_ivp(system.fun, (0, 10), y0, jac=system.jac, **kw)
    ref = solve_ivp(lambda t, y: np.asarray(f_np(t, y)), (0, 10), y0, jac=j_np, **kw)
    assert sol.success and ref.success
    assert np.allclose(sol.y[:, -1], ref.y[:, -1], atol=1e-5), abs(sol.y[:, -1] - ref.y[:, -1]).max()
    t = best(lambda: solve_ivp(system.fun, (0, 10), y0, jac=system.jac, **kw), repeat)
    t_ref = best(lambda: solve_ivp(lambda t, y: np.asarray(f_np(t, y)), (0, 10), y0,
                                   jac=j_np, **kw), repeat)
    print(f"  (ac.ode compile, cold: {compile_time:.1f} s; {system.nnz} non-zeros; "
          f"{sol.nfev} rhs and {sol.njev} Jacobian evaluations)")
    row(f"solve_ivp BDF, {n} equations", t, [("lambdify dense", t_ref)])


def _busy(stop):
    while not stop.is_set():
        sum(range(10000))


def bench_buffered(size, repeat):
    x, y = sp.symbols("x y")
    uf = ac.compile(sp.sin(x / 1000) * sp.exp(-y * x / 1e7), [x, y])
    ints = np.arange(size, dtype=np.int64)
    floats = ints.astype(np.float64)
    out = np.empty(size)
    assert np.allclose(uf(ints, 0.5), uf(floats, 0.5), rtol=1e-15)
    # The loop as it was before: a parallel region for every 8192-element buffer.
    from algebrac.cpu import render

    saved, render._BUFSIZE = render._BUFSIZE, 2048
    try:
        before = ac.compile(sp.sin(x / 1000) * sp.exp(-y * x / 1e7), [x, y], stabilize=False)
    finally:
        render._BUFSIZE = saved
    old = ac.get_num_threads()
    results = {}
    for load in (False, True):
        stop, procs = multiprocessing.Event(), []
        if load:
            procs = [multiprocessing.Process(target=_busy, args=(stop,)) for _ in range(2)]
            for p in procs:
                p.start()
        try:
            for threads in (1, 2):
                ac.set_num_threads(threads)
                t64 = best(lambda: uf(floats, 0.5, out=out), repeat)
                t_int = best(lambda: uf(ints, 0.5, out=out), repeat)
                tag = f"{'load, ' if load else ''}{threads} thread{'s' if threads > 1 else ''}"
                t_before = best(lambda: before(ints, 0.5, out=out), repeat)
                results[load, threads] = (t64, t_int)
                print(f"  buffered {size:.0e} ({tag}): float64 {t64 * 1e3:8.2f} ms, int64 "
                      f"{t_int * 1e3:8.2f} ms ({t_int / t64:4.2f}x of float64); int64 with a "
                      f"region per buffer (before) {t_before * 1e3:8.2f} ms")
        finally:
            stop.set()
            for p in procs:
                p.join()
    ac.set_num_threads(old)
    for load in (False, True):
        one = results[load, 1][0]
        print(f"  int64 with 2 threads / float64 with 1 thread{' (load)' if load else ''}: "
              f"{results[load, 2][1] / one:.2f}")


def bench_dask(size, repeat):
    import dask.array as da

    x = sp.Symbol("x")
    expr = sp.sin(x) ** 2 * sp.exp(-x / 3) + sp.sqrt(1 + x * x)
    uf = ac.compile(expr, [x])
    f_np = sp.lambdify([x], expr)
    lazy = uf(da.linspace(0, 10, size, chunks=size // 10)).sum()
    dense = np.linspace(0, 10, size)
    ref = f_np(dense).sum()
    assert math.isclose(lazy.compute(), ref, rel_tol=1e-9)
    t = best(lambda: lazy.compute(), repeat)
    row(f"dask {size:.0e} in 10 chunks (.sum())", t, [
        ("numpy lambdify", best(lambda: f_np(np.linspace(0, 10, size)).sum(), repeat)),
        ("algebrac on numpy", best(lambda: uf(np.linspace(0, 10, size)).sum(), repeat))])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--n-ode", type=int, default=1000)
    parser.add_argument("--size", type=float, default=2e7)
    parser.add_argument("--dask", type=float, default=1e8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="quad,ode,buffered,dask")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_ode, args.size, args.dask, args.repeat = 50, 1e6, 1e6, 1
    print(f"# algebrac {ac.__version__}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} (the machine is shared: ratios, not absolute times)")
    only = args.only.split(",")
    if "quad" in only:
        bench_quad(args.repeat * 3)
    if "ode" in only:
        bench_ode(args.n_ode, max(1, args.repeat - 1))
    if "buffered" in only:
        bench_buffered(int(args.size), args.repeat)
    if "dask" in only:
        bench_dask(int(args.dask), args.repeat)


if __name__ == "__main__":
    main()
