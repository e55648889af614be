#!/usr/bin/env python
"""Would skipping BLAS for narrow products pay?  Softmax regression, one pass over X in C.

    python benchmarks/narrow_contraction.py [--n 100000] [--m 100] [--k 10]

Issue 9's softmax case (X n x m, W m x k with k = 10 classes) is two BLAS products
with only k columns, ``Z = X @ W`` and ``G = Xᵀ @ (softmax(Z)·Σt - T)``, with a row
softmax between them: X is read twice.  This script times, on one thread, side by
side (CPU time and wall time, best of 7):

* **NumPy** hand-written with BLAS (bench_function.py's baseline);
* **algebrac** ``ac.function`` of the same program (two gemm calls + fused loops);
* **JAX** ``jax.jit`` of ``value_and_grad`` on the CPU, arrays already on the device;
* **fused C**: one loop over the rows computing logits, log-sum-exp and the gradient
  contribution, the way a schedule that declined BLAS and kept the contraction in
  algebrac's row loop would print it (simd inner loops over the k columns);
* **fused C, 4 rows**: the same with the row loop unrolled and jammed by 4, so each
  ``W`` and ``G`` row loaded serves four rows of X (register blocking).

The C is compiled with algebrac's own CFLAGS (no FMA contraction, no fast-math); its
results are checked against NumPy before timing.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

C_SOURCE = r"""
#include <math.h>
#include <string.h>
#define KMAX 16

double fused(long n, long m, long k, const double *X, const double *W,
             const double *T, double *G) {
    double loss = 0.0, z[KMAX], e[KMAX];
    memset(G, 0, sizeof(double) * m * k);
    for (long i = 0; i < n; i++) {
        const double *x = X + i * m, *t = T + i * k;
        for (long c = 0; c < k; c++) z[c] = 0.0;
        for (long j = 0; j < m; j++) {
            const double xj = x[j], *w = W + j * k;
            #pragma omp simd
            for (long c = 0; c < k; c++) z[c] += xj * w[c];
        }
        double mx = -INFINITY, s = 0.0, st = 0.0;
        for (long c = 0; c < k; c++) mx = z[c] > mx ? z[c] : mx;
        for (long c = 0; c < k; c++) { e[c] = exp(z[c] - mx); s += e[c]; }
        const double lse = mx + log(s);
        for (long c = 0; c < k; c++) { loss -= t[c] * (z[c] - lse); st += t[c]; }
        for (long c = 0; c < k; c++) e[c] = st * (e[c] / s) - t[c];
        for (long j = 0; j < m; j++) {
            const double xj = x[j]; double *g = G + j * k;
            #pragma omp simd
            for (long c = 0; c < k; c++) g[c] += xj * e[c];
        }
    }
    return loss;
}

/* rows in blocks of 4 (n % 4 == 0 is checked by the caller) */
double fused4(long n, long m, long k, const double *X, const double *W,
              const double *T, double *G) {
    double loss = 0.0, z[4][KMAX], e[4][KMAX];
    memset(G, 0, sizeof(double) * m * k);
    for (long i = 0; i < n; i += 4) {
        const double *x = X + i * m;
        for (int r = 0; r < 4; r++) for (long c = 0; c < k; c++) z[r][c] = 0.0;
        for (long j = 0; j < m; j++) {
            const double *w = W + j * k;
            for (int r = 0; r < 4; r++) {
                const double xj = x[r * m + j];
                #pragma omp simd
                for (long c = 0; c < k; c++) z[r][c] += xj * w[c];
            }
        }
        for (int r = 0; r < 4; r++) {
            const double *t = T + (i + r) * k;
            double mx = -INFINITY, s = 0.0, st = 0.0;
            for (long c = 0; c < k; c++) mx = z[r][c] > mx ? z[r][c] : mx;
            for (long c = 0; c < k; c++) { e[r][c] = exp(z[r][c] - mx); s += e[r][c]; }
            const double lse = mx + log(s);
            for (long c = 0; c < k; c++) { loss -= t[c] * (z[r][c] - lse); st += t[c]; }
            for (long c = 0; c < k; c++) e[r][c] = st * (e[r][c] / s) - t[c];
        }
        for (long j = 0; j < m; j++) {
            const double x0 = x[j], x1 = x[m + j], x2 = x[2 * m + j], x3 = x[3 * m + j];
            double *g = G + j * k;
            #pragma omp simd
            for (long c = 0; c < k; c++)
                g[c] += (x0 * e[0][c] + x1 * e[1][c]) + (x2 * e[2][c] + x3 * e[3][c]);
        }
    }
    return loss;
}
"""


def build(tmp: Path):
    from algebrac.cpu.build import CFLAGS

    src, so = tmp / "narrow.c", tmp / "narrow.so"
    src.write_text(C_SOURCE)
    subprocess.run(["gcc", *CFLAGS, "-shared", str(src), "-o", str(so), "-lm"], check=True)
    lib = ctypes.CDLL(str(so))
    for f in (lib.fused, lib.fused4):
        f.restype = ctypes.c_double
        f.argtypes = [ctypes.c_long] * 3 + [ctypes.c_void_p] * 4
    return lib


def best(fn, repeat=7):
    fn()
    cpu = wall = float("inf")
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - w0)
    return cpu * 1e3, wall * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    a = ap.parse_args()
    n, m, k = a.n, a.m, a.k
    assert k <= 16 and n % 4 == 0, "the C variants take k <= 16 and n divisible by 4"
    # one thread for every tool; set before NumPy's BLAS and XLA start
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", XLA_FLAGS=(
        "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"))
    import jax

    jax.config.update("jax_enable_x64", True)
    from threadpoolctl import threadpool_limits
    import algebrac as ac
    from bench_function import _jax_losses, softmax_program

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, m))
    W = 0.1 * rng.standard_normal((m, k))
    T = np.eye(k)[rng.integers(0, k, n)]

    def numpy_():
        Z = X @ W
        mx = Z.max(axis=1, keepdims=True)
        lse = mx + np.log(np.exp(Z - mx).sum(axis=1, keepdims=True))
        return -(T * (Z - lse)).sum(), X.T @ (T.sum(axis=1, keepdims=True) * np.exp(Z - lse) - T)

    fn = ac.function(*softmax_program())
    jf, jargs = _jax_losses()["softmax"], [jax.device_put(v) for v in (X, W, T)]

    def jax_():
        return [np.asarray(v) for v in jax.block_until_ready(jf(*jargs))]
    G = np.empty((m, k))
    with tempfile.TemporaryDirectory() as d, threadpool_limits(1):
        lib = build(Path(d))

        def c(f):
            return lambda: (f(n, m, k, X.ctypes.data, W.ctypes.data, T.ctypes.data,
                              G.ctypes.data), G)
        ref_l, ref_g = numpy_()
        for name, f in [("algebrac", lambda: fn(X, W, T)), ("JAX jit", jax_),
                        ("fused C", c(lib.fused)),
                        ("fused C, 4 rows", c(lib.fused4))]:
            l, g = f()
            assert np.allclose(l, ref_l, rtol=1e-12) and np.allclose(g, ref_g, rtol=1e-9,
                                                                      atol=1e-12), name
        print(f"softmax regression n={n} m={m} k={k}, one thread; best of 7 (CPU ms, wall ms)")
        for name, f in [("NumPy", numpy_), ("algebrac", lambda: fn(X, W, T)),
                        ("JAX jit", lambda: jax.block_until_ready(jf(*jargs))),
                        ("fused C", c(lib.fused)), ("fused C, 4 rows", c(lib.fused4))]:
            cpu, wall = best(f)
            print(f"  {name:16s} {cpu:7.1f} {wall:7.1f}")


if __name__ == "__main__":
    main()
