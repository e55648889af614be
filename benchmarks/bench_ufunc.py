#!/usr/bin/env python
"""algebrac's compiled ufuncs against the tools a user would pick instead.

    python benchmarks/bench_ufunc.py [--sizes 1e6,1e7] [--repeat N] [--quick]

Peers, installed from PyPI and timed side by side in one run:

* ``sympy.lambdify(args, exprs, modules="numpy")`` (one NumPy call per operation);
* ``numexpr.evaluate`` on the equivalent string (printed from the SymPy
  expression by :class:`NumExprStr`), with ``out=``; numexpr uses all cores;
* ``symengine.Lambdify(args, exprs, backend="llvm", cse=True)`` (the default
  backend when SymEngine was built without LLVM; the output says which);
* a hand-written C loop (``benchmarks/ceiling.c``, compiled here with gcc and
  loaded with ctypes) for the formulas that have one.  For the broadcast case
  the C loop is a smarter algorithm than any elementwise loop (x-only terms
  once per row, cos(y) once per column, threads over rows): a bound, not a
  like-for-like peer.

Each cell is the best of ``--repeat`` timed calls after a warm-up, in
milliseconds, taken over ``--rounds`` rounds that time every tool once each
(so a slow phase of the virtual machine does not land on one tool only).
Before each timing the script waits until other processes leave the CPUs
alone (see ``_common.py``).  ``(3.2x)`` after a peer's time is ``peer_time / algebrac_time``
(above 1 means algebrac is faster).  Peers that accept ``out=`` (numexpr,
SymEngine, the C loop) are compared with algebrac's ``out=`` time, lambdify
(which cannot write into a given array) with algebrac's fresh-output time.
Before timing, every peer's result is compared with algebrac's (``allclose``);
a disagreement is printed as ``MISMATCH`` and its cell is marked ``!``.

The memory bandwidth of the machine is measured with STREAM-like C loops
(both threads, same compiler flags, ordinary stores) and with ``np.copyto``;
for the memory-bound formulas the report gives the fraction of the matching
STREAM kernel's bandwidth algebrac reaches with ``out=`` (bytes moved =
inputs + outputs, as STREAM counts them).
"""
from __future__ import annotations

import argparse
import ctypes
import datetime
import gc
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p
from sympy.printing.lambdarepr import NumExprPrinter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import QUIET

CEILING_FLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-fopenmp", "-fno-math-errno",
                 "-fno-builtin-sin", "-fno-builtin-cos", "-fno-builtin-sinf", "-fno-builtin-cosf"]

x, y = sp.symbols("x y")


# --------------------------------------------------------------------------
# formulas
# --------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    exprs: list
    args: list
    dtype: type = np.float64
    broadcast: bool = False
    ceiling: str | None = None      # function name in ceiling.c
    stream: str | None = None       # STREAM kernel with the same number of streams
    note: str = ""
    symengine_exprs: list | None = field(default=None)


def _valgrad():
    f = sp.exp(-x**2 - y**2) * sp.sin(x * y)
    return [f, sp.diff(f, x), sp.diff(f, y)]


TRANS = sp.sin(x)**2 * sp.cos(y) + sp.exp(-x * y) * log1p(x * x)
# SymEngine has no log1p: it gets log(1 + x**2), same value to ~1e-16 absolute here.
TRANS_SE = sp.sin(x)**2 * sp.cos(y) + sp.exp(-x * y) * sp.log(1 + x * x)

CASES = [
    Case("poly1  3x^3+2x^2-x+1", [3 * x**3 + 2 * x**2 - x + 1], [x],
         ceiling="poly_f64", stream="scale", note="memory-bound, 1 in 1 out"),
    Case("poly2  x*y+x+y", [x * y + x + y], [x, y],
         ceiling="poly2_f64", stream="add", note="memory-bound, 2 in 1 out"),
    Case("trans  sin^2 cos+exp log1p", [TRANS], [x, y], ceiling="trans_f64",
         note="transcendental-heavy", symengine_exprs=[TRANS_SE]),
    Case("valgrad f,fx,fy", _valgrad(), [x, y], ceiling="valgrad_f64",
         note="f = exp(-x^2-y^2) sin(xy) and its gradient, 3 outputs"),
    Case("piecewise", [sp.Piecewise((sp.exp(-x) * y, x > 0.5),
                                    (sp.sin(x * y), x > -0.5),
                                    (x * y**2, True))], [x, y],
         ceiling="piecewise_f64", note="3 branches"),
    Case("trans float32", [TRANS], [x, y], dtype=np.float32, ceiling="trans_f32",
         symengine_exprs=[TRANS_SE], note="float32 inputs"),
    Case("trans bcast (n,1)x(1,m)", [TRANS], [x, y], broadcast=True, ceiling="trans_bcast_f64",
         symengine_exprs=[TRANS_SE], note="x (n,1), y (1,m); size = n*m"),
]


class NumExprStr(NumExprPrinter):
    """The numexpr source string of a SymPy expression (without the evaluate() wrapper)."""

    def _print_log1p(self, e):
        return f"log1p({self._print(e.args[0])})"

    def _print_Rational(self, e):
        return repr(float(e))

    def __call__(self, e) -> str:
        return self._print(e)


# --------------------------------------------------------------------------
# timing helpers
# --------------------------------------------------------------------------
def best_of(fn, repeat: int, warmup: float = 0.05) -> float:
    """Best wall time of ``repeat`` calls, in seconds, after warming up.

    Warm-up: at least one call, and more until ``warmup`` seconds have passed.
    If another process used a CPU meanwhile, the timing is tried again (up to
    3 more times; the best over all attempts is kept).
    """
    best = math.inf
    for _attempt in range(4):
        QUIET.wait()
        t_end = time.perf_counter() + warmup
        fn()
        while time.perf_counter() < t_end:
            fn()
        before = QUIET.snapshot()
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        if not QUIET.disturbed(before, QUIET.snapshot()):
            break
    return best


def agree(ref: list, got: list, dtype) -> tuple[bool, str]:
    rtol, atol = (1e-4, 1e-5) if dtype == np.float32 else (1e-9, 1e-12)
    worst = 0.0
    for r, g in zip(ref, got):
        r = np.asarray(r, np.float64)
        g = np.asarray(g, np.float64).reshape(r.shape)
        if not np.allclose(g, r, rtol=rtol, atol=atol, equal_nan=True):
            bad = ~np.isclose(g, r, rtol=rtol, atol=atol, equal_nan=True)
            i = np.flatnonzero(bad.ravel())[0]
            return False, (f"{bad.sum()} elements differ, first at flat index {i}: "
                           f"{g.ravel()[i]!r} vs algebrac {r.ravel()[i]!r}")
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(g - r) / np.maximum(np.abs(r), atol)
        worst = max(worst, float(np.nanmax(rel)) if rel.size else 0.0)
    return True, f"max rel err {worst:.1e}"


# --------------------------------------------------------------------------
# the hand-written C ceiling and STREAM kernels
# --------------------------------------------------------------------------
class Ceiling:
    def __init__(self, workdir: Path):
        cc = os.environ.get("CC", "gcc")
        if shutil.which(cc) is None:
            cc = "gcc"
        so = workdir / "ceiling.so"
        cmd = [cc, *CEILING_FLAGS, str(HERE / "ceiling.c"), "-o", str(so), "-lmvec", "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"building ceiling.c failed:\n{' '.join(cmd)}\n{proc.stderr}")
        self.cmd = " ".join(cmd)
        self.lib = ctypes.CDLL(str(so))
        P, L, D = ctypes.c_void_p, ctypes.c_long, ctypes.c_double
        sigs = {
            "trans_f64": [P, P, P, L], "trans_f32": [P, P, P, L],
            "valgrad_f64": [P, P, P, P, P, L], "poly_f64": [P, P, L], "poly2_f64": [P, P, P, L],
            "piecewise_f64": [P, P, P, L], "trans_bcast_f64": [P, P, P, L, L],
            "stream_copy": [P, P, L], "stream_scale": [P, P, D, L],
            "stream_add": [P, P, P, L], "stream_triad": [P, P, P, D, L],
        }
        for name, argtypes in sigs.items():
            fn = getattr(self.lib, name)
            fn.argtypes, fn.restype = argtypes, None

    def call(self, name: str, inputs: list, outputs: list):
        """A zero-argument callable running ``name`` on contiguous arrays."""
        fn = getattr(self.lib, name)
        ptrs = [a.ctypes.data for a in inputs] + [o.ctypes.data for o in outputs]
        if outputs[0].ndim == 2:  # broadcast (n, 1) x (1, m)
            n, m = outputs[0].shape
            return lambda: fn(*ptrs, n, m)
        n = outputs[0].size
        return lambda: fn(*ptrs, n)

    def settle(self, seconds: float = 1.0, limit: float = 6.0) -> float:
        """Run short parallel loops until OpenMP's worker threads run on their own CPUs.

        libgomp's threads spin while they wait.  On this 2-vCPU VM the worker
        created by the first parallel region sometimes lands on the caller's CPU;
        until Linux migrates it (up to about a second), every parallel region
        costs a scheduler tick (~8 ms) instead of microseconds.  Returns the
        median time (s) of a 10^5-element parallel loop once settled.
        """
        n = 100_000
        a, o = np.ones(n), np.empty(n)
        fn = self.call("poly_f64", [a], [o])
        start = time.perf_counter()
        while True:
            t_end = time.perf_counter() + seconds
            while time.perf_counter() < t_end:
                fn()
            ts = []
            for _ in range(50):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            med = float(np.median(ts))
            if med < 1e-3 or time.perf_counter() - start > limit:
                return med

    def stream_kernels(self, n: int, arrays=None) -> dict:
        """name -> (arrays read + written, callable) for the STREAM-like kernels on n doubles.

        ``arrays``: (a, b, c), contiguous float64 of size n (a is written), else new ones.
        """
        a, b, c = arrays or [np.full(n, v) for v in (1.0, 2.0, 0.5)]
        L = self.lib
        return {
            "copy": (2, lambda: L.stream_copy(a.ctypes.data, b.ctypes.data, n)),
            "scale": (2, lambda: L.stream_scale(a.ctypes.data, b.ctypes.data, 3.0, n)),
            "add": (3, lambda: L.stream_add(a.ctypes.data, b.ctypes.data, c.ctypes.data, n)),
            "triad": (3, lambda: L.stream_triad(a.ctypes.data, b.ctypes.data, c.ctypes.data,
                                                3.0, n)),
            "np.copyto": (2, lambda: np.copyto(a, b)),
        }

    def bandwidth(self, n: int, repeat: int, only=None) -> dict:
        """GB/s of the STREAM-like kernels (both threads) and of np.copyto (one thread)."""
        kernels = self.stream_kernels(n)
        return {k: streams * 8 * n / best_of(fn, max(repeat, 5)) / 1e9
                for k, (streams, fn) in kernels.items() if only is None or k in only}


# --------------------------------------------------------------------------
# peers
# --------------------------------------------------------------------------
def symengine_backend() -> tuple[str | None, str]:
    try:
        import symengine as se
    except ImportError:
        return None, "symengine not installed"
    try:
        se.Lambdify([x], [x], backend="llvm")
        return "llvm", f"symengine {se.__version__}, backend='llvm'"
    except Exception as err:  # noqa: BLE001 (SymEngine built without LLVM)
        return "lambda", (f"symengine {se.__version__}: backend='llvm' unavailable "
                          f"({type(err).__name__}: {err}); FALLING BACK to the default "
                          "backend='lambda'")


def make_inputs(case: Case, size: int, rng) -> list:
    if case.broadcast:
        n = round(math.sqrt(size))
        m = size // n
        xs = rng.uniform(-2, 2, (n, 1)).astype(case.dtype)
        ys = rng.uniform(-2, 2, (1, m)).astype(case.dtype)
        return [xs, ys]
    return [rng.uniform(-2, 2, size).astype(case.dtype) for _ in case.args]


def build_peers(case: Case, inputs: list, ref: list, outs: list, se_backend: str | None,
                ceiling: Ceiling | None) -> dict:
    """name -> (callable, results-getter) for every available peer.

    numexpr and the C loop write into ``outs``, the arrays algebrac's ``out=``
    call writes into: on this VM the bandwidth an allocation gets varies up to
    2x with where the host placed its pages, so memory-bound comparisons use
    the same memory.
    """
    peers = {}
    shape = ref[0].shape
    nout = len(case.exprs)

    # sympy.lambdify, NumPy module: no out=.
    lam = sp.lambdify(case.args, case.exprs, modules="numpy")
    res_lam: list = []
    peers["lambdify"] = (lambda: res_lam.__setitem__(slice(None), lam(*inputs)),
                         lambda: res_lam)

    # numexpr with out= (it computes in the inputs' dtype, like NumPy would).
    try:
        import numexpr as ne

        strings = [NumExprStr()(e) for e in case.exprs]
        local = {str(s): v for s, v in zip(case.args, inputs)}
        probe = [ne.evaluate(s, local_dict=local) for s in strings]
        ne_out = [o if o.dtype == p.dtype else np.empty(shape, p.dtype)
                  for o, p in zip(outs, probe)]

        def run_ne():
            for s, o in zip(strings, ne_out):
                ne.evaluate(s, local_dict=local, out=o)

        peers["numexpr"] = (run_ne, lambda: ne_out)
    except ImportError:
        pass

    # SymEngine Lambdify: inputs packed as (N, nargs) C-order, its native layout
    # (packing happens here, outside the timed call, which favours SymEngine).
    if se_backend is not None:
        import symengine as se

        se_exprs = case.symengine_exprs or case.exprs
        L = se.Lambdify(case.args, se_exprs, backend=se_backend, cse=True, dtype=case.dtype)
        packed = np.ascontiguousarray(
            np.stack([np.broadcast_to(a, shape).ravel() for a in inputs], axis=-1),
            dtype=case.dtype)
        se_out = np.empty((packed.shape[0], nout), case.dtype)
        peers["symengine"] = (lambda: L(packed, out=se_out),
                              lambda: [se_out[:, j].reshape(shape) for j in range(nout)])

    # the hand-written C loop
    if ceiling is not None and case.ceiling:
        c_out = outs
        peers["C ceiling"] = (ceiling.call(case.ceiling, inputs, c_out), lambda: c_out)
    return peers


PEER_ORDER = ["lambdify", "numexpr", "symengine", "C ceiling"]
FRESH_PEERS = {"lambdify"}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def parse_sizes(text: str) -> list:
    return [int(float(s)) for s in text.split(",") if s.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e6,1e7",
                    help="comma-separated element counts (default 1e6,1e7)")
    ap.add_argument("--repeat", type=int, default=7, help="timed calls per cell (best is kept)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="every tool is timed once per round; the best over rounds is kept")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: sizes 1e5, repeat 2 (the numbers mean little)")
    ap.add_argument("--max-wait", type=float, default=60.0,
                    help="seconds to wait per cell for other processes to go idle (0: never)")
    ap.add_argument("--verbose", action="store_true", help="print every timing to stderr")
    ap.add_argument("--only", default="", help="comma-separated substrings of case names")
    opts = ap.parse_args(argv)
    if opts.quick:
        opts.sizes, opts.repeat, opts.rounds = "1e5", 2, 1
    sizes = parse_sizes(opts.sizes)
    QUIET.max_wait = opts.max_wait

    tmp = Path(tempfile.mkdtemp(prefix="algebrac-bench-"))
    # A private compile cache, unless the caller chose one.
    os.environ.setdefault("ALGEBRAC_CACHE_DIR", str(tmp / "cache"))
    os.environ.setdefault("ALGEBRAC_PROGRESS", "0")
    import numexpr as ne

    import algebrac as ac

    ne.set_num_threads(os.cpu_count() or 1)
    se_backend, se_desc = symengine_backend()
    try:
        ceiling = Ceiling(tmp)
    except (RuntimeError, OSError) as err:
        print(f"!! no C ceiling: {err}")
        ceiling = None

    print(f"# algebrac bench_ufunc  {datetime.date.today()}  "
          f"{platform.node()}  {os.cpu_count()} cores  {platform.processor() or platform.machine()}")
    print(f"# python {platform.python_version()}, numpy {np.__version__}, "
          f"sympy {sp.__version__}, numexpr {ne.__version__} ({ne.nthreads} threads, "
          f"vml={ne.use_vml}), {se_desc}")
    print(f"# algebrac {ac.__version__}: {ac.get_num_threads()} OpenMP threads; "
          f"best of {opts.repeat} calls after a warm-up, in each of {opts.rounds} rounds over "
          f"the tools; sizes {sizes}")
    if ceiling:
        print(f"# ceiling: {ceiling.cmd}")

    print("\n## Formulas\n")
    for case in CASES:
        body = "; ".join(str(e) for e in case.exprs)
        print(f"- {case.name}: `{body}` ({case.note}"
              + (f"; SymEngine gets `{'; '.join(map(str, case.symengine_exprs))}`"
                 if case.symengine_exprs else "") + ")")
    bw = {}
    if ceiling:
        med = ceiling.settle()
        print(f"# OpenMP settle: a 10^5-element parallel C loop takes {1e6 * med:.0f} us"
              + ("" if med < 1e-3 else "  !! threads still share a CPU: timings suffer"))
        bw = ceiling.bandwidth(max(10**7, max(sizes)), opts.repeat)
        print("\n## Memory bandwidth (GB/s, bytes = arrays read + written, 10^7 doubles each)\n")
        print("| " + " | ".join(bw) + " |")
        print("|" + "---|" * len(bw))
        print("| " + " | ".join(f"{v:.1f}" for v in bw.values()) + " |")

    rng = np.random.default_rng(0)
    rows, mismatches, bwrows = [], [], []
    only = [s.strip() for s in opts.only.split(",") if s.strip()]
    for case in CASES:
        if only and not any(s in case.name for s in only):
            continue
        uf = ac.compile(case.exprs if len(case.exprs) > 1 else case.exprs[0], case.args)
        for size in sizes:
            gc.collect()
            inputs = make_inputs(case, size, rng)
            ref = uf(*inputs)
            ref = list(ref) if isinstance(ref, tuple) else [ref]
            outs = [np.empty_like(r) for r in ref]
            out_arg = tuple(outs) if len(outs) > 1 else outs[0]
            n_elem = ref[0].size
            row = {"formula": case.name, "size": n_elem, "dtypes": {"algebrac": ref[0].dtype.name}}
            timed = {"ac": lambda uf=uf, a=inputs: uf(*a),
                     "ac out=": lambda uf=uf, a=inputs, o=out_arg: uf(*a, out=o)}
            for name, (fn, results) in build_peers(case, inputs, ref, outs, se_backend,
                                                   ceiling).items():
                try:
                    fn()
                    ok, detail = agree(ref, results(), case.dtype)
                    got = results()
                    row["dtypes"][name] = np.asarray(got[0]).dtype.name
                except Exception as err:  # noqa: BLE001 (a peer that cannot run this formula)
                    row[name] = None
                    row[name + " err"] = f"{type(err).__name__}: {err}"
                    print(f"   {case.name} @ {n_elem}: {name} failed: {row[name + ' err']}")
                    continue
                if not ok:
                    msg = f"!!! MISMATCH {case.name} @ {n_elem}: {name}: {detail}"
                    print(msg, flush=True)
                    mismatches.append(msg)
                row[name + " ok"] = ok
                timed[name] = fn
            stream = None
            if case.stream and ceiling:
                # the STREAM kernel with as many arrays, same size, timed in the same rounds
                # on algebrac's own arrays: a = its output, b, c = its inputs
                arrays = [outs[0], inputs[0], inputs[-1]]
                nstreams, stream = ceiling.stream_kernels(n_elem, arrays)[case.stream]
                timed["stream"] = stream
            # Rounds: every tool once per round, best over rounds, so a slow phase of
            # the (virtual) machine does not land on one tool only.
            for rnd in range(opts.rounds):
                for name, fn in timed.items():
                    slow = rnd > 0 and row.get(name, 0) > 0.1
                    t = best_of(fn, 2 if slow else opts.repeat)
                    row[name] = min(row.get(name, math.inf), t)
                    if opts.verbose:
                        print(f"   {case.name} @ {n_elem} round {rnd}: {name} {1e3 * t:.2f} ms",
                              file=sys.stderr, flush=True)
            if stream is not None:
                ref_bw = nstreams * 8 * n_elem / row.pop("stream") / 1e9
                moved = (len(inputs) + len(ref)) * ref[0].itemsize * n_elem
                gbs = moved / row["ac out="] / 1e9
                bwrows.append((case.name, n_elem, gbs, case.stream, ref_bw, gbs / ref_bw))
            rows.append(row)
            print(f"   done {case.name} @ {n_elem}", file=sys.stderr, flush=True)
            del inputs, ref, outs, out_arg, timed, stream

    # ---------------------------------------------------------------- report
    print("\n" + QUIET.summary())
    print("\n## Time per call (ms, best of N); (ratio) = peer / algebrac, >1 means algebrac "
          "is faster\n")
    print("lambdify is compared with `ac` (fresh output); numexpr, symengine and the C "
          "ceiling write into preallocated arrays and are compared with `ac out=`.\n")
    head = ["formula", "size", "ac", "ac out="] + PEER_ORDER
    print("| " + " | ".join(head) + " |")
    print("|---|---:|" + "---:|" * (len(head) - 2))
    for r in rows:
        cells = [r["formula"], f"{r['size']:.0e}".replace("e+0", "e"),
                 f"{1e3 * r['ac']:.2f}", f"{1e3 * r['ac out=']:.2f}"]
        for p in PEER_ORDER:
            if p not in r:
                cells.append("–")
            elif r[p] is None:
                cells.append("fails")
            else:
                base = r["ac"] if p in FRESH_PEERS else r["ac out="]
                mark = "" if r.get(p + " ok", True) else " !"
                cells.append(f"{1e3 * r[p]:.2f} ({r[p] / base:.1f}x){mark}")
        print("| " + " | ".join(cells) + " |")

    f32 = [r for r in rows if "float32" in r["formula"]]
    if f32:
        d = f32[0]["dtypes"]
        print("\nOutput dtype on float32 inputs: "
              + ", ".join(f"{k} {v}" for k, v in d.items()))
    if bwrows:
        print("\n## Memory-bound formulas: algebrac out= against the machine's bandwidth\n")
        print("STREAM kernel: the C loop with the same number of arrays read and written, "
              "run on algebrac's own input and output arrays, timed in the same rounds.\n")
        print("| formula | size | algebrac out= GB/s | STREAM kernel GB/s | fraction "
              "| vs best STREAM of the start-of-run table |")
        print("|---|---:|---:|---|---:|---:|")
        for name, n, gbs, k, ref_bw, frac in bwrows:
            print(f"| {name} | {n:.0e} | {gbs:.1f} | {k} {ref_bw:.1f} | {100 * frac:.0f}% "
                  f"| {100 * gbs / max(bw.values()):.0f}% |".replace("e+0", "e"))
        print("\n(at 10^6 the arrays (16-24 MB) fit in the 32 MB L3 cache)")

    # ---------------------------------------------------------------- targets
    print("\n## Targets (issue 2) at the largest size\n")
    big = max(r["size"] for r in rows) if rows else 0
    for r in rows:
        if r["size"] != big or not r["formula"].startswith("trans "):
            continue
        for p, goal in (("lambdify", 5.0), ("numexpr", 3.0)):
            if r.get(p):
                base = r["ac"] if p in FRESH_PEERS else r["ac out="]
                ratio = r[p] / base
                print(f"- {r['formula']}: {ratio:.1f}x faster than {p} (target >= {goal:g}x): "
                      f"{'MET' if ratio >= goal else 'MISSED'}")
        if r.get("C ceiling"):
            ratio = r["ac out="] / r["C ceiling"]
            print(f"- {r['formula']}: algebrac/ceiling = {ratio:.2f} (target <= 1.5): "
                  f"{'MET' if ratio <= 1.5 else 'MISSED'}")
    for name, n, gbs, k, _, frac in bwrows:
        if n == big:
            print(f"- {name}: {100 * frac:.0f}% of STREAM {k} bandwidth (target >= 80%): "
                  f"{'MET' if frac >= 0.8 else 'MISSED'}")
    if mismatches:
        print("\n!!! RESULTS DISAGREE WITH ALGEBRAC:")
        for m in mismatches:
            print(m)
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if mismatches else 0


if __name__ == "__main__":
    warnings.simplefilter("default")
    sys.exit(main())
