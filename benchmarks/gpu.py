"""backend="cuda" on a GPU: memory bandwidth of elementwise kernels, loss+gradient vs peers.

Prints one table:

* elementwise formulas on device arrays (``GPUArray`` in and out, so no host
  copies are timed): achieved bandwidth (bytes read + written / time) as a
  fraction of the device's peak (2 x memory clock x bus width; target >= 80%);
* a matrix-vector product and row sums (reading X once), long rows (a warp
  per row) and short ones (a thread per row), as a fraction of the same peak;
* the programs of ``bench_function.py`` (logistic and softmax regression, MLP,
  pairwise kernel, Rosenbrock: losses with their gradients; ``ac.function`` with
  device inputs) against the same hand-written NumPy code run on CuPy arrays and
  ``jax.jit`` on the GPU where installed, as time ratios.

Every peer's result is compared with algebrac's before timing.  Timing: best of
``--repeat`` calls after a warm-up, each followed by a device synchronize.
Runs in well under 5 minutes at bench_function's full sizes (``--quick``: its
quick sizes).

``--emulate`` runs the whole script on the CPU emulator with tiny sizes (no GPU,
no peers, no bandwidth): a smoke test of the script itself, which is how it was
checked on the development machines (they have no GPU).

    python benchmarks/gpu.py            # on a machine with an NVIDIA GPU and PyCUDA
    python benchmarks/gpu.py --emulate  # smoke run anywhere
"""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import sympy as sp

if "ALGEBRAC_CACHE_DIR" not in os.environ:   # never the user's cache (cold compiles)
    os.environ["ALGEBRAC_CACHE_DIR"] = tempfile.mkdtemp(prefix="algebrac-gpu-bench-")
    atexit.register(shutil.rmtree, os.environ["ALGEBRAC_CACHE_DIR"], ignore_errors=True)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import algebrac as ac  # noqa: E402
from algebrac.cuda import launch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_function  # noqa: E402  (the models of issue 9's benchmark, and their peers)

x, y, z = sp.symbols("x y z")
ELEMENTWISE = {
    "copy-like 2x+1": ([2 * x + 1], [x]),
    "axpy x*a+y": ([3 * x + y], [x, y]),
    "transcendental": ([sp.sin(x) ** 2 * sp.cos(y) + sp.exp(-x * y) * sp.log(1 + x * x)], [x, y]),
    "value+grad": ([sp.exp(-x ** 2 - y ** 2) * sp.sin(x * y),
                    sp.diff(sp.exp(-x ** 2 - y ** 2) * sp.sin(x * y), x)], [x, y]),
}


class Env:
    """Device helpers: upload, synchronize, download, bandwidth."""

    def __init__(self, emulate: bool):
        self.emulate = emulate
        if emulate:
            from algebrac.cuda.emulate import EmulatedDevice

            self.device = EmulatedDevice(max_blocks=4)
            self.peak = None
            return
        self.device = launch.current_device()
        drv = self.device.drv
        a = drv.device_attribute
        clock_khz = self.device.device.get_attribute(a.MEMORY_CLOCK_RATE)
        bus_bits = self.device.device.get_attribute(a.GLOBAL_MEMORY_BUS_WIDTH)
        self.peak = 2.0 * clock_khz * 1e3 * bus_bits / 8   # bytes/s (double data rate)

    def to_device(self, a):
        a = np.ascontiguousarray(a)
        with self.device.active():
            return self.device.wrap(self.device.upload(a), a.shape, a.dtype)

    def sync(self):
        if not self.emulate:
            with self.device.active():
                self.device.drv.Context.synchronize()

    def get(self, a):
        if isinstance(a, (tuple, list)):
            return [self.get(b) for b in a]
        if hasattr(a, "get"):
            with self.device.active():
                return a.get()
        return np.asarray(a)


def best_time(fn, sync, repeat: int) -> float:
    fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best


def elementwise_rows(env, n, repeat):
    rows = []
    rng = np.random.default_rng(0)
    for name, (exprs, args) in ELEMENTWISE.items():
        f = ac.compile(exprs, args, backend="cuda")
        host = [rng.uniform(-2, 2, n) for _ in args]
        dev = [env.to_device(h) for h in host]
        ref = ac.compile(exprs, args, backend="numpy")(*host)
        got = env.get(f(*dev))
        for g, r in zip(got if len(exprs) > 1 else [got], ref if len(exprs) > 1 else [ref]):
            assert np.allclose(g, r, rtol=1e-12, atol=1e-12), f"{name}: mismatch"
        t = best_time(lambda: f(*dev), env.sync, repeat)
        nbytes = n * 8 * (len(args) + len(exprs))
        bw = nbytes / t
        frac = f"{bw / env.peak:.0%}" if env.peak else "n/a"
        rows.append((f"elementwise: {name} (n={n:.0e})", f"{t * 1e3:.3f} ms",
                     f"{bw / 1e9:.1f} GB/s", frac, ""))
    return rows


def row_rows(env, shapes, repeat):
    """Matrix-vector product and row sums: bandwidth of reading X (n, m) once.  Rows of
    32 or more get a warp each (coalesced), shorter ones a thread each."""
    rows, rng = [], np.random.default_rng(2)
    n, m = ac.dim("n"), ac.dim("m")
    X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
    for name, out in (("X @ w", X @ w), ("sum(X, axis=1)", ac.sum(X, axis=1))):
        fn = ac.function([X, w], out, backend="cuda")
        for nn, mm in shapes:
            host = [rng.normal(size=(nn, mm)), rng.normal(size=mm)]
            dev = [env.to_device(h) for h in host]
            ref = ac.function([X, w], out, backend="numpy")(*host)
            assert np.allclose(env.get(fn(*dev)), ref, rtol=1e-12, atol=1e-12), name
            t = best_time(lambda: fn(*dev), env.sync, repeat)
            bw = (nn * mm + mm + nn) * 8 / t
            frac = f"{bw / env.peak:.0%}" if env.peak else "n/a"
            rows.append((f"rows: {name} ({nn}x{mm})", f"{t * 1e3:.3f} ms",
                         f"{bw / 1e9:.1f} GB/s", frac, "warp/row" if mm >= 32 else "thread/row"))
    return rows


def peers():
    """CuPy runs bench_function's hand-written NumPy models through NumPy's dispatch
    protocols (__array_function__/__array_ufunc__); JAX runs its jitted value_and_grad."""
    out = {}
    try:
        import cupy

        out["CuPy"] = (cupy.asarray, lambda: cupy.cuda.Device().synchronize())
    except Exception:  # not installed, or no GPU for it
        pass
    try:
        import jax

        if any(d.platform == "gpu" for d in jax.devices()):
            jax.config.update("jax_enable_x64", True)
            out["jax.jit"] = (jax.device_put, None)
    except Exception:
        pass
    return out


def tensor_rows(env, cases, repeat, with_peers):
    rows = []
    available = peers() if with_peers else {}
    jax_fns = bench_function._jax_losses() if "jax.jit" in available else {}
    rng = np.random.default_rng(1)
    for case, sizes in cases:
        label = f"{case.name} {case.label(sizes)}"
        inputs, outputs = bench_function.PROGRAMS[case.kind]()
        vals = bench_function.make_data(case.kind, sizes, rng)
        fn = ac.function(inputs, outputs, backend="cuda")
        dev = [env.to_device(v) for v in vals]
        got = env.get(fn(*dev))
        got = got if isinstance(got, list) else [got]
        ref = bench_function.NUMPY[case.kind](*vals)
        for g, r in zip(got, ref):
            assert np.allclose(g, r, rtol=1e-9, atol=1e-9 * np.max(np.abs(r))), label
        t_ac = best_time(lambda: fn(*dev), env.sync, repeat)
        rows.append((label, f"{t_ac * 1e3:.3f} ms", "", "", "algebrac"))
        for peer, (put, sync) in available.items():
            try:
                args = [put(v) for v in vals]
                if peer == "jax.jit":
                    import jax

                    f = jax_fns[case.kind]
                    call = lambda: jax.block_until_ready(f(*args))  # noqa: E731
                    sync = lambda: None  # noqa: E731
                else:
                    call = lambda: bench_function.NUMPY[case.kind](*args)  # noqa: E731
                res = call()
                for g, r in zip(res, ref):
                    g = np.asarray(g.get() if hasattr(g, "get") else g)
                    assert np.allclose(g, r, rtol=1e-9, atol=1e-9 * np.max(np.abs(r)))
                t = best_time(call, sync, repeat)
                rows.append((f"  {peer}", f"{t * 1e3:.3f} ms", "", "",
                             f"algebrac {t / t_ac:.2f}x faster" if t > t_ac else
                             f"algebrac {t_ac / t:.2f}x slower"))
            except Exception as err:   # a peer failing must not hide the other results
                rows.append((f"  {peer}", "failed", "", "", f"{type(err).__name__}: {err}"[:60]))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--emulate", action="store_true", help="CPU emulator, tiny sizes")
    ap.add_argument("--quick", action="store_true", help="small sizes on the GPU")
    ap.add_argument("--repeat", type=int, default=20)
    opts = ap.parse_args(argv)
    env = Env(opts.emulate)
    small = opts.emulate or opts.quick
    n = 3000 if opts.emulate else (1 << 20 if opts.quick else 1 << 25)
    repeat = 2 if opts.emulate else opts.repeat
    if opts.emulate:
        cases = [(c, {k: min(v, 200) if k == "n" else min(v, 5) for k, v in c.quick.items()})
                 for c in bench_function.CASES]
    else:
        cases = [(c, c.quick if opts.quick else c.sizes) for c in bench_function.CASES]
    start = time.perf_counter()
    with launch.use_device(env.device):
        rows = elementwise_rows(env, n, repeat)
        rows += row_rows(env, [(64, 40), (64, 5)] if opts.emulate else
                         [(n // 256, 256), (n // 8, 8)], repeat)
        rows += tensor_rows(env, cases, repeat, with_peers=not opts.emulate)
    device = getattr(env.device, "name", "?")
    peak = f"{env.peak / 1e9:.0f} GB/s peak" if env.peak else "no peak (emulator)"
    print(f"algebrac backend='cuda' on {device} ({peak}); float64; best of {repeat}"
          + ("; SMALL SIZES" if small else ""))
    head = ("case", "time", "bandwidth", "of peak", "ratio")
    widths = [max(len(str(r[k])) for r in rows + [head]) for k in range(5)]
    for r in [head] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
