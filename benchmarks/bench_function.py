#!/usr/bin/env python
"""``ac.function`` (compiled tensor programs) against the tools an ML researcher would use.

    python benchmarks/bench_function.py [--quick] [--threads N] [--repeat N] [--rounds R]
                                         [--only KINDS] [--no-peers] [--no-compile]

Cases (issue 9), each a value and its gradient computed by one program:

* logistic regression, loss + gradient in ``w`` (X 100000x100 and 10000x1000);
* softmax regression, 10 classes (``ac.log_softmax``), loss + gradient in ``W``;
* a 2-layer MLP ``tanh(X @ W1) @ W2``, batch 4096, 256 hidden units, loss = sum of
  squared errors, gradients in ``W1`` and ``W2``;
* pairwise squared distances through broadcasting ``A[:, None, :] - B[None, :, :]``
  (2000x2000x3) and the Gaussian kernel ``exp(-D)`` (one output, no gradient);
* Rosenbrock as a sum over shifted slices (n = 10^6) and its gradient.

Peers, timed side by side in the same rounds:

* **NumPy**, hand-written with BLAS matrix products (the baseline of the ratios'
  meaning: this is what a user writes without any tool);
* **JAX** ``jax.jit`` of ``jax.value_and_grad`` on the CPU in float64, twice: on
  arrays already on the device (``jax.device_put`` once) and including the
  host-to-device copy of every input in each call; both ``block_until_ready``;
* **PyTensor** ``pytensor.function`` of the loss and ``pytensor.grad`` (default mode;
  a pip-installed PyTensor links no BLAS, so its matrix products call NumPy's);
* **ac.evaluate**, algebrac's NumPy reference evaluator of the same formulas.

Each cell is the best of ``--repeat`` calls after a warm-up, taken over
``--rounds`` rounds that time every tool once each; ``(2.5x)`` after a peer's
time is ``peer time / algebrac time`` (above 1: algebrac is faster).  Before any
timing every peer's outputs are compared with algebrac's (``allclose``, rtol
1e-9 and an absolute tolerance of 1e-12 times the output's largest magnitude);
a disagreement aborts the run.

Then: the time ratio when the sizes double (``2x sizes``; the formulas' cost
says 4x for the O(n*m) cases, 2x for Rosenbrock), the cold compile of the
logistic loss + gradient in a fresh process with an empty compile cache, and a
warm cache hit in a fresh process (the ``ac.function`` call alone).  Compiles go
to a private temporary cache unless ``ALGEBRAC_CACHE_DIR`` is set.

For a benchmark, run with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` unset in
that command (they slow a current NumPy where they are set); the header prints
the BLAS kernel in use (threadpoolctl).
"""
from __future__ import annotations

import argparse
import atexit
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import Quiet  # noqa: E402

QUIET = Quiet(max_wait=3.0)   # reset from --max-wait in main()


# --------------------------------------------------------------------------
# the programs, in algebrac
# --------------------------------------------------------------------------
def logistic_program():
    """(inputs, outputs) of the logistic regression loss and its gradient."""
    import algebrac as ac

    n, m = ac.dim("n"), ac.dim("m")
    X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
    p = ac.sigmoid(X @ w)
    loss = -ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    return [X, w, t], [loss, ac.grad(loss, w)]


def softmax_program():
    import algebrac as ac

    n, m, k = ac.dim("n"), ac.dim("m"), ac.dim("k")
    X, W, T = ac.matrix("X", (n, m)), ac.matrix("W", (m, k)), ac.matrix("T", (n, k))
    loss = -ac.sum(T * ac.log_softmax(X @ W, axis=1))
    return [X, W, T], [loss, ac.grad(loss, W)]


def mlp_program():
    import algebrac as ac

    n, m, h, k = ac.dim("n"), ac.dim("m"), ac.dim("h"), ac.dim("k")
    X, Y = ac.matrix("X", (n, m)), ac.matrix("Y", (n, k))
    W1, W2 = ac.matrix("W1", (m, h)), ac.matrix("W2", (h, k))
    loss = ac.sum((ac.tanh(X @ W1) @ W2 - Y) ** 2)
    return [X, W1, W2, Y], [loss, *ac.grad(loss, [W1, W2])]


def pairwise_program():
    import algebrac as ac

    n, m = ac.dim("n"), ac.dim("m")
    A, B = ac.matrix("A", (n, 3)), ac.matrix("B", (m, 3))
    D = ac.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2)
    return [A, B], [ac.exp(-D)]


def rosenbrock_program():
    import algebrac as ac

    x = ac.vector("x", ac.dim("n"))
    f = ac.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    return [x], [f, ac.grad(f, x)]


# --------------------------------------------------------------------------
# the same programs, hand-written in NumPy, JAX and PyTensor
# --------------------------------------------------------------------------
def _softplus_np(z):
    return np.logaddexp(0.0, z)


def logistic_numpy(X, w, t):
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return np.sum(_softplus_np(z) - t * z), X.T @ (p - t)


def softmax_numpy(X, W, T):
    z = X @ W
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    logp = z - np.log(s)
    return -np.sum(T * logp), X.T @ (e / s * T.sum(axis=1, keepdims=True) - T)


def mlp_numpy(X, W1, W2, Y):
    H = np.tanh(X @ W1)
    r = H @ W2 - Y
    dH = 2.0 * (r @ W2.T) * (1.0 - H * H)
    return np.sum(r * r), X.T @ dH, 2.0 * (H.T @ r)


def pairwise_numpy(A, B):
    return (np.exp(-np.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2)),)


def rosenbrock_numpy(x):
    a, b = x[:-1], x[1:]
    u = b - a * a
    f = np.sum(100.0 * u * u + (1.0 - a) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * a * u - 2.0 * (1.0 - a)
    g[1:] += 200.0 * u
    return f, g


def _jax_losses():
    import jax
    import jax.numpy as jnp

    def logistic(X, w, t):
        z = X @ w
        return jnp.sum(jax.nn.softplus(z) - t * z)

    def softmax(X, W, T):
        return -jnp.sum(T * jax.nn.log_softmax(X @ W, axis=1))

    def mlp(X, W1, W2, Y):
        return jnp.sum((jnp.tanh(X @ W1) @ W2 - Y) ** 2)

    def pairwise(A, B):
        return (jnp.exp(-jnp.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2)),)

    def rosenbrock(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def vg(f, argnums):
        g = jax.value_and_grad(f, argnums=argnums)

        def both(*args):
            v, gs = g(*args)
            return (v, *gs) if isinstance(gs, tuple) else (v, gs)
        return both

    return {"logistic": jax.jit(vg(logistic, 1)), "softmax": jax.jit(vg(softmax, 1)),
            "mlp": jax.jit(vg(mlp, (1, 2))), "pairwise": jax.jit(pairwise),
            "rosenbrock": jax.jit(vg(rosenbrock, 0))}


def _pytensor_function(kind: str):
    import pytensor
    import pytensor.tensor as pt

    if kind == "logistic":
        X, w, t = pt.dmatrix("X"), pt.dvector("w"), pt.dvector("t")
        z = X @ w
        loss = pt.sum(pt.softplus(z) - t * z)
        return pytensor.function([X, w, t], [loss, pytensor.grad(loss, w)])
    if kind == "softmax":
        X, W, T = pt.dmatrix("X"), pt.dmatrix("W"), pt.dmatrix("T")
        loss = -pt.sum(T * pt.special.log_softmax(X @ W, axis=1))
        return pytensor.function([X, W, T], [loss, pytensor.grad(loss, W)])
    if kind == "mlp":
        X, W1, W2, Y = (pt.dmatrix(s) for s in ("X", "W1", "W2", "Y"))
        loss = pt.sum((pt.tanh(X @ W1) @ W2 - Y) ** 2)
        return pytensor.function([X, W1, W2, Y], [loss, *pytensor.grad(loss, [W1, W2])])
    if kind == "pairwise":
        A, B = pt.dmatrix("A"), pt.dmatrix("B")
        return pytensor.function([A, B], [pt.exp(-pt.sum((A[:, None, :] - B[None, :, :]) ** 2,
                                                          axis=2))])
    if kind == "rosenbrock":
        x = pt.dvector("x")
        f = pt.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
        return pytensor.function([x], [f, pytensor.grad(f, x)])
    raise ValueError(kind)


# --------------------------------------------------------------------------
# cases and sizes
# --------------------------------------------------------------------------
@dataclass
class Case:
    name: str                   # row label
    kind: str                   # logistic / softmax / mlp / pairwise / rosenbrock
    sizes: dict                 # full-size dims
    quick: dict                 # --quick dims
    double: tuple               # dims doubled for the scaling row
    cost: str                   # what the formula's cost grows like, for the scaling row

    def label(self, s: dict) -> str:
        return "x".join(str(v) for v in s.values())


CASES = [
    Case("logistic", "logistic", {"n": 100_000, "m": 100}, {"n": 20_000, "m": 50},
         ("n", "m"), "n*m"),
    Case("logistic", "logistic", {"n": 10_000, "m": 1000}, {"n": 2000, "m": 200},
         ("n", "m"), "n*m"),
    Case("softmax (10 classes)", "softmax", {"n": 100_000, "m": 100, "k": 10},
         {"n": 20_000, "m": 50, "k": 10}, ("n", "m"), "n*m*k"),
    Case("MLP tanh, SSE", "mlp", {"n": 4096, "m": 256, "h": 256, "k": 10},
         {"n": 1024, "m": 64, "h": 64, "k": 10}, ("n", "h"), "n*m*h"),
    Case("pairwise exp(-D)", "pairwise", {"n": 2000, "m": 2000, "d": 3},
         {"n": 500, "m": 500, "d": 3}, ("n", "m"), "n*m*d"),
    Case("Rosenbrock", "rosenbrock", {"n": 1_000_000}, {"n": 100_000}, ("n",), "n"),
]

PROGRAMS = {"logistic": logistic_program, "softmax": softmax_program, "mlp": mlp_program,
            "pairwise": pairwise_program, "rosenbrock": rosenbrock_program}
NUMPY = {"logistic": logistic_numpy, "softmax": softmax_numpy, "mlp": mlp_numpy,
         "pairwise": pairwise_numpy, "rosenbrock": rosenbrock_numpy}


def make_data(kind: str, s: dict, rng) -> list:
    """Inputs in the program's order: standard normal data, scaled so nothing saturates."""
    if kind == "logistic":
        X = rng.standard_normal((s["n"], s["m"]))
        w = rng.standard_normal(s["m"]) / math.sqrt(s["m"])
        t = (rng.random(s["n"]) < 0.5).astype(np.float64)
        return [X, w, t]
    if kind == "softmax":
        X = rng.standard_normal((s["n"], s["m"]))
        W = rng.standard_normal((s["m"], s["k"])) / math.sqrt(s["m"])
        T = np.eye(s["k"])[rng.integers(0, s["k"], s["n"])]
        return [X, W, T]
    if kind == "mlp":
        X = rng.standard_normal((s["n"], s["m"]))
        W1 = rng.standard_normal((s["m"], s["h"])) / math.sqrt(s["m"])
        W2 = rng.standard_normal((s["h"], s["k"])) / math.sqrt(s["h"])
        Y = rng.standard_normal((s["n"], s["k"]))
        return [X, W1, W2, Y]
    if kind == "pairwise":
        return [rng.standard_normal((s["n"], s["d"])), rng.standard_normal((s["m"], s["d"]))]
    if kind == "rosenbrock":
        return [rng.uniform(-2.0, 2.0, s["n"])]
    raise ValueError(kind)


# --------------------------------------------------------------------------
# timing and checking
# --------------------------------------------------------------------------
def best_of(fn, repeat: int, warmup: float = 0.05) -> float:
    """Best wall time of ``repeat`` calls (seconds) after at least one warm-up call.

    Waits (up to ``--max-wait`` s) for other processes to leave the CPUs first and
    retries once if they did not leave them alone during the timing.
    """
    best = math.inf
    for _attempt in range(2):
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


def check(name: str, ref, got) -> float:
    """Assert ``got`` matches ``ref`` output by output; the worst relative error."""
    ref, got = tuple(ref), tuple(got)
    assert len(ref) == len(got), f"{name}: {len(got)} outputs, expected {len(ref)}"
    worst = 0.0
    for k, (r, g) in enumerate(zip(ref, got)):
        r, g = np.asarray(r, np.float64), np.asarray(g, np.float64)
        assert r.shape == g.shape, f"{name}: output {k} has shape {g.shape}, expected {r.shape}"
        scale = float(np.max(np.abs(r), initial=0.0))
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12 * scale,
                                   err_msg=f"{name} disagrees with algebrac on output {k}")
        worst = max(worst, float(np.max(np.abs(g - r), initial=0.0)) / max(scale, 1e-300))
    return worst


@dataclass
class Row:
    case: Case
    label: str
    times: dict = field(default_factory=dict)   # tool -> seconds
    errors: dict = field(default_factory=dict)  # tool -> max error relative to the output scale
    failed: dict = field(default_factory=dict)  # tool -> reason


TOOLS = ["algebrac", "NumPy", "JAX jit", "JAX jit + copy", "PyTensor", "ac.evaluate"]


EVALUATE_LIMIT = 6e7   # points; each costs ~10 arrays of 8 bytes in ac.evaluate


def evaluate_points(t, size: dict) -> float:
    """How many points ``ac.evaluate`` interprets for tensor ``t``: it evaluates the body
    at every output element and repeats each point once per value of every enclosing
    reduction index, so nested sums multiply (the estimate guards the machine's memory)."""
    import sympy as sp

    def work(e) -> float:
        inner = max((work(a) for a in e.args), default=1.0)
        if isinstance(e, sp.Sum) or hasattr(e, "limits"):
            for _, lo, hi in e.limits:
                inner *= max(float((hi - lo + 1).xreplace(size)), 0.0)
        return inner

    return math.prod(float(sp.sympify(d).xreplace(size)) for d in t.shape) * work(t.body)


def build_callables(case: Case, data: list, sizes: dict, programs: dict, jax_fns,
                    pytensor_fns, row: Row, tools) -> dict:
    """Zero-argument callables per tool, each checked against algebrac (or NumPy) first."""
    import algebrac as ac

    calls = {}
    inputs, outputs, fn = programs[case.kind]
    if fn is not None:
        calls["algebrac"] = lambda: fn(*data)
    calls["NumPy"] = lambda: NUMPY[case.kind](*data)
    ref = tuple(calls["algebrac"]() if fn is not None else calls["NumPy"]())
    if "JAX jit" in tools:
        import jax

        jf = jax_fns[case.kind]
        dev = [jax.device_put(a) for a in data]
        calls["JAX jit"] = lambda: jax.block_until_ready(jf(*dev))
        calls["JAX jit + copy"] = lambda: jax.block_until_ready(
            jf(*[jax.device_put(a) for a in data]))
    if "PyTensor" in tools:
        pf = pytensor_fns[case.kind]
        calls["PyTensor"] = lambda: pf(*data)
    if "ac.evaluate" in tools:
        size = {sym: v for o in outputs for sym in o.dims for name, v in sizes.items()
                if str(sym) == name}
        work = sum(evaluate_points(o, size) for o in outputs)
        if work > EVALUATE_LIMIT:
            row.failed["ac.evaluate"] = (f"not run: it would interpret {work:.1e} points "
                                         f"(limit {EVALUATE_LIMIT:.0e}); it does not hoist "
                                         "inner sums out of the outer indices")
        else:
            env = dict(zip(inputs, data))
            calls["ac.evaluate"] = lambda: ac.evaluate(outputs, env)
    for tool, call in list(calls.items()):
        if tool != "algebrac" or fn is None:
            try:
                got = call()
            except (MemoryError, ac.AlgebracError) as err:
                row.failed[tool] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                del calls[tool]
                continue
            got = got if isinstance(got, (tuple, list)) else (got,)
            row.errors[tool] = check(f"{case.name} {row.label}: {tool}", ref,
                                     [np.asarray(g) for g in got])
    return calls


def compile_programs(kinds, failed: dict) -> dict:
    """kind -> (inputs, outputs, compiled function or None when compiling failed)."""
    import algebrac as ac

    programs = {}
    for kind in kinds:
        inputs, outputs = PROGRAMS[kind]()
        try:
            fn = ac.function(inputs, outputs)
        except ac.AlgebracError as err:
            failed[kind] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
            fn = None
        programs[kind] = (inputs, outputs, fn)
    return programs


# --------------------------------------------------------------------------
# compile times in fresh processes
# --------------------------------------------------------------------------
CHILD = textwrap.dedent(r'''
    import json, sys, time
    t0 = time.perf_counter()
    sys.path.insert(0, {here!r})
    import algebrac as ac
    from bench_function import logistic_program
    t1 = time.perf_counter()
    inputs, outputs = logistic_program()
    t2 = time.perf_counter()
    fn = ac.function(inputs, outputs)
    t3 = time.perf_counter()
    print(json.dumps({{"import": t1 - t0, "formula": t2 - t1, "function": t3 - t2,
                      "backend": fn.backend}}))
''')


def child_times(cache: str) -> dict:
    env = {**os.environ, "ALGEBRAC_CACHE_DIR": cache, "ALGEBRAC_PROGRESS": "0"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD.format(here=str(HERE))], env=env,
                          capture_output=True, text=True, check=False)
    whole = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"compile child failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process"] = whole
    return out


def compile_times(cold_runs: int, warm_runs: int) -> tuple[list, list]:
    cold, warm = [], []
    for _ in range(cold_runs):
        with tempfile.TemporaryDirectory(prefix="algebrac-bench-cache-") as cache:
            QUIET.wait()
            cold.append(child_times(cache))
            for _ in range(warm_runs if not warm else 0):
                QUIET.wait()
                warm.append(child_times(cache))
    return cold, warm


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def ms(t: float) -> str:
    return f"{t * 1e3:.2f}" if t < 10 else f"{t * 1e3:.0f}"


def header(args) -> None:
    import algebrac as ac

    print(f"# algebrac bench_function  {datetime.date.today()}  {platform.node()}  "
          f"{os.cpu_count()} cores  {platform.machine()}")
    vers = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    for mod in ("jax", "pytensor", "sympy"):
        try:
            vers.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            vers.append(f"{mod} missing")
    print("# " + ", ".join(vers) + f", algebrac {ac.__version__}")
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                f"{i['num_threads']} threads" for i in threadpool_info()
                if i["user_api"] == "blas"]
        print("# BLAS: " + "; ".join(blas))
    except ImportError:
        print("# BLAS: threadpoolctl missing")
    print("# OPENBLAS_CORETYPE=" + os.environ.get("OPENBLAS_CORETYPE", "(unset)")
          + " OPENBLAS_L2_SIZE=" + os.environ.get("OPENBLAS_L2_SIZE", "(unset)"))
    print(f"# threads: {args.threads or 'library defaults'} (OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', '(unset)')}, XLA_FLAGS="
          f"{os.environ.get('XLA_FLAGS', '(unset)')})")
    print(f"# best of {args.repeat} calls after a warm-up, in each of {args.rounds} round(s) "
          f"over the tools; {'--quick sizes' if args.quick else 'full sizes'}")
    print(f"# load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def table(rows: list, tools: list) -> None:
    print("\n#### Time per call (ms, best of N); (ratio) = peer / algebrac, >1 means algebrac "
          "is faster\n")
    print("| case | size | " + " | ".join(tools) + " |")
    print("|---|---|" + "---:|" * len(tools))
    for r in rows:
        base = r.times.get("algebrac")
        cells = []
        for tool in tools:
            if tool in r.failed:
                cells.append("not run" if r.failed[tool].startswith("not run") else "failed")
            elif tool not in r.times:
                cells.append("-")
            elif tool == "algebrac" or base is None:
                cells.append(ms(r.times[tool]))
            else:
                cells.append(f"{ms(r.times[tool])} ({r.times[tool] / base:.1f}x)")
        print(f"| {r.case.name} | {r.label} | " + " | ".join(cells) + " |")
    for r in rows:
        for tool, why in r.failed.items():
            print(f"\n- {r.case.name} {r.label}, {tool} failed: {why}")
    worst = max((e for r in rows for e in r.errors.values()), default=0.0)
    print(f"\nEvery peer agreed with algebrac before timing (largest difference "
          f"{worst:.1e} of the output's largest magnitude).")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one round")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated case kinds to run")
    ap.add_argument("--no-peers", action="store_true", help="algebrac and NumPy only")
    ap.add_argument("--no-compile", action="store_true", help="skip the compile-time part")
    ap.add_argument("--max-wait", type=float, default=3.0,
                    help="seconds to wait for a quiet machine before each timing")
    ap.add_argument("--threads", type=int, default=0,
                    help="run every tool on this many threads and CPUs (OpenMP, BLAS and "
                         "XLA variables set, the process re-executed on that many CPUs); "
                         "0 = defaults")
    args = ap.parse_args(argv)
    if args.threads and os.environ.get("_AC_BENCH_THREADS") != str(args.threads):
        env = {**os.environ, "_AC_BENCH_THREADS": str(args.threads),
               "OMP_NUM_THREADS": str(args.threads),
               "OPENBLAS_NUM_THREADS": str(args.threads)}
        if args.threads == 1:   # XLA has no thread count: only "one" or "all"
            env["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_"
                                "eigen=false intra_op_parallelism_threads=1").strip()
        # XLA's flags still left JAX on 2 CPUs (30 ms of CPU in 16.5 ms of wall time):
        # the process and every thread it starts run on the first `threads` CPUs only.
        cpus = sorted(os.sched_getaffinity(0))
        if args.threads < len(cpus):
            os.sched_setaffinity(0, cpus[:args.threads])
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()),
                                   *(sys.argv[1:] if argv is None else argv)], env)
    if args.quick:
        args.rounds = 1
    # Never the user's compile cache: a private one unless ALGEBRAC_CACHE_DIR is set.
    if "ALGEBRAC_CACHE_DIR" not in os.environ:
        cache = tempfile.mkdtemp(prefix="algebrac-bench-")
        os.environ["ALGEBRAC_CACHE_DIR"] = cache
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
    QUIET.max_wait = args.max_wait
    warnings.filterwarnings("ignore", message=".*could not link to a BLAS.*")
    header(args)

    cases = [c for c in CASES if not args.only or c.kind in args.only.split(",")]
    kinds = list(dict.fromkeys(c.kind for c in cases))
    tools = ["algebrac", "NumPy"] if args.no_peers else TOOLS
    failed_compile: dict = {}
    t0 = time.perf_counter()
    programs = compile_programs(kinds, failed_compile)
    print(f"# algebrac compiled {len(kinds)} programs in {time.perf_counter() - t0:.1f} s "
          f"(cache: {os.environ.get('ALGEBRAC_CACHE_DIR', 'the user cache')})")
    for kind, why in failed_compile.items():
        print(f"# !! ac.function failed on {kind}: {why}")
    jax_fns = pytensor_fns = None
    if "JAX jit" in tools:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax_fns = _jax_losses()
    if "PyTensor" in tools:
        t0 = time.perf_counter()
        pytensor_fns = {k: _pytensor_function(k) for k in kinds}
        print(f"# PyTensor compiled {len(kinds)} functions in {time.perf_counter() - t0:.1f} s")

    rng = np.random.default_rng(0)
    rows, scaling = [], []
    for case in cases:
        s = case.quick if args.quick else case.sizes
        variants = [("base", s), ("double", {k: v * (2 if k in case.double else 1)
                                             for k, v in s.items()})]
        for which, sizes in variants:
            data = make_data(case.kind, sizes, rng)
            row = Row(case, case.label(sizes))
            if programs[case.kind][2] is None:
                row.failed["algebrac"] = failed_compile[case.kind]
            use = tools if which == "base" else ["algebrac", "NumPy"]
            calls = build_callables(case, data, sizes, programs, jax_fns, pytensor_fns, row, use)
            for _round in range(args.rounds):
                for tool in use:
                    if tool in calls:
                        t = best_of(calls[tool], args.repeat)
                        row.times[tool] = min(row.times.get(tool, math.inf), t)
            (rows if which == "base" else scaling).append(row)
            del data, calls
            print(f"# done: {case.name} {row.label}", flush=True)

    table(rows, tools)
    print("\n#### Doubling the sizes (time at 2x / time at 1x)\n")
    print("| case | sizes | doubled | formula cost | algebrac | NumPy |")
    print("|---|---|---|---|---:|---:|")
    for r1, r2 in zip(rows, scaling):
        c = r1.case
        expect = 2 ** len(c.double)
        ratios = [f"{r2.times[t] / r1.times[t]:.2f}" if t in r1.times and t in r2.times
                  else "-" for t in ("algebrac", "NumPy")]
        print(f"| {c.name} | {r1.label} -> {r2.label} | {','.join(c.double)} | {c.cost}: "
              f"{expect}x | " + " | ".join(ratios) + " |")

    if not args.no_compile and (not args.only or "logistic" in args.only):
        cold, warm = compile_times(cold_runs=1 if args.quick else 2, warm_runs=3)
        print("\n#### Compile time of the logistic loss + gradient, fresh processes (ms)\n")
        print("| | runs | ac.function call (min / median) | import algebrac | whole process |")
        print("|---|---:|---:|---:|---:|")
        for name, runs in (("cold (empty cache)", cold), ("warm cache hit", warm)):
            f = [r["function"] for r in runs]
            print(f"| {name} | {len(runs)} | {ms(min(f))} / {ms(statistics.median(f))} | "
                  f"{ms(min(r['import'] for r in runs))} | "
                  f"{ms(min(r['process'] for r in runs))} |")
        backends = {r["backend"] for r in cold + warm}
        print(f"\n(backend: {', '.join(sorted(backends))}; targets: cold < 3000 ms, "
              "warm < 50 ms)")
    print("\n" + QUIET.summary())
    print(f"# load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
