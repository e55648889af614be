#!/usr/bin/env python
"""How long ``ac.compile`` takes: cold builds and warm cache hits in a fresh process.

    python benchmarks/bench_compile.py [--repeat N] [--quick] [--large [CASE ...]]

1. Cold compile: a fresh process with an empty compile cache
   (``ALGEBRAC_CACHE_DIR`` = a new temporary directory) times ``ac.compile``
   on a 1-output formula and on 20-output ones.  ``build`` is the C
   compiler part (from the ``ALGEBRAC_DEBUG=1`` log line), ``front end`` the
   rest (SymPy simplification and CSE, lowering, rendering, hashing).
2. Warm cache hit: the same formulas, already in the cache, compiled by
   fresh ``python -c`` processes.  Reported: ``import sympy``, ``import
   algebrac`` (after sympy), the ``ac.compile`` call alone, and the whole
   process as seen from outside (interpreter start-up, imports, building the
   SymPy formula, compile, exit).

3. Large formulas (``--large``; ``--large-only`` skips 1 and 2) against the
   tools users would pick instead, each in a fresh process with a time limit:
   ``ac.compile`` cold, ``sympy.lambdify(cse=True)``, SymEngine ``Lambdify``
   (LLVM, cse) and ``sympy.utilities.autowrap.ufuncify`` (one module for
   all outputs).  The formulas (:mod:`large_formulas`): the right-hand side
   and Jacobian of an n-link pendulum (n = 3, 5, 8), a 4th-order Taylor
   polynomial in 6 variables, sums of 100, 800 and 3000 terms with their
   gradient, and (``ode 1000``) a 1000-equation reaction-diffusion system with
   its sparse Jacobian (``ac.ode``; lambdify and SymEngine of the right-hand
   side and the Jacobian entries; one evaluation at a point is the run time).
   Reported: operations (tree, as ``count_ops``), compile wall time
   and CPU time (the process and its compilers), and the run time of one call
   on 10^5 points.

Every measurement uses its own temporary cache directory, never the user's
cache.  Times are the best (min) and median over ``--repeat`` processes.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import QUIET

FORMULAS = r'''
import sympy as sp
x, y = sp.symbols("x y")
f = sp.exp(-x**2 - y**2) * sp.sin(x*y)

def formula(kind):
    if kind == "1 output":
        return f
    if kind == "20 outputs (simple)":
        # 20 unrelated small formulas
        return [sp.sin(k*x) * sp.exp(-y/k) + x**k * y for k in range(1, 21)]
    if kind == "20 outputs (derivatives)":
        # f and its partial derivatives up to order 5 (the first 20 of them)
        ds = [sp.diff(f, x, i, y, n - i) if n else f for n in range(6) for i in range(n + 1)]
        return ds[:20]
    raise ValueError(kind)
'''

CHILD = r'''
import time, json, sys
t0 = time.perf_counter()
import sympy
t1 = time.perf_counter()
import algebrac as ac
t2 = time.perf_counter()
__FORMULAS__
exprs = formula(sys.argv[1])
t3 = time.perf_counter()
uf = ac.compile(exprs, [x, y])
t4 = time.perf_counter()
assert uf.ufunc is not None, "not compiled by the cpu backend"
print(json.dumps({"import_sympy": t1 - t0, "import_algebrac": t2 - t1,
                  "build_formula": t3 - t2, "compile": t4 - t3, "nout": uf.nout}))
'''.replace("__FORMULAS__", FORMULAS)

LARGE_CASES = ["sum 100", "sum 800", "sum 3000", "taylor", "pendulum 3", "pendulum 5",
               "pendulum 8", "ode 1000"]
TOOLS = ["algebrac", "lambdify(cse)", "symengine llvm", "ufuncify"]
LARGE_CHILD = r'''
import json, pickle, sys, tempfile, time
import numpy as np
tool, path = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    exprs, args = pickle.load(f)
t0 = time.perf_counter()
ode = path.endswith("ode.pickle")
if ode:  # a right-hand side and its sparse Jacobian entries, evaluated at one point
    import sympy as sp
    jac = [sp.diff(f, s) for f in exprs for s in sorted(f.free_symbols, key=str)]
if ode and tool == "algebrac":
    import algebrac as ac
    fn = ac.ode(exprs, args)
    call = lambda xs: (fn.fun(0.0, xs[0]), fn.jac(0.0, xs[0]))
elif ode and tool == "lambdify(cse)":
    f1, f2 = (sp.lambdify([args], e, "numpy", cse=True) for e in (exprs, jac))
    call = lambda xs: (f1(xs[0]), f2(xs[0]))
elif ode and tool == "symengine llvm":
    import symengine as se
    fn = se.Lambdify(args, exprs + jac, backend="llvm", cse=True)
    call = lambda xs: fn(xs[0])
elif ode:
    raise SystemExit("n/a: ufuncify takes at most 32 arguments")
elif tool == "algebrac":
    import algebrac as ac
    fn = ac.compile(exprs, args)
    call = lambda xs: fn(*xs)
elif tool == "lambdify(cse)":
    import sympy as sp
    fn = sp.lambdify(args, exprs, "numpy", cse=True)
    call = lambda xs: fn(*xs)
elif tool == "symengine llvm":
    import symengine as se
    fn = se.Lambdify(args, exprs, backend="llvm", cse=True)
    call = lambda xs: fn(np.column_stack(xs))
elif tool == "ufuncify":
    from sympy.utilities.autowrap import ufuncify
    tmp = tempfile.mkdtemp(prefix="bench-ufuncify-")
    if len(args) + len(exprs) <= 32:  # NumPy's limit on a ufunc's arguments
        fn = ufuncify(args, exprs, tempdir=tmp)
        call = lambda xs: fn(*xs)
    else:  # one module per output, as a user would have to
        fns = [ufuncify(args, e, tempdir=tmp) for e in exprs]
        call = lambda xs: [f(*xs) for f in fns]
compile_s = time.perf_counter() - t0
xs = [np.random.default_rng(0).uniform(0, 1, len(args))] if ode else [np.random.default_rng(k).uniform(0.5, 1.5, 10**5) for k in range(len(args))]
call(xs)
best = float("inf")
for _ in range(3):
    t = time.perf_counter(); call(xs); best = min(best, time.perf_counter() - t)
print(json.dumps({"compile": compile_s, "run": best}))
'''

KINDS = ["1 output", "20 outputs (simple)", "20 outputs (derivatives)"]
_BUILD_RE = re.compile(r"algebrac: (_ac_\w+): (.+?) in ([0-9.]+)s")


def run_child(kind: str, cache_dir: Path, *, cold: bool = False, retries: int = 3) -> dict:
    """Time one fresh process compiling ``kind`` with the cache at ``cache_dir``.

    ``cold``: every attempt gets its own new, empty cache directory under
    ``cache_dir`` (an attempt is repeated when another process used the CPU).
    """
    env = dict(os.environ, ALGEBRAC_PROGRESS="0", ALGEBRAC_DEBUG="1")
    env.pop("ALGEBRAC_NOCACHE", None)
    for attempt in range(retries + 1):
        env["ALGEBRAC_CACHE_DIR"] = str(cache_dir / f"attempt-{attempt}" if cold else cache_dir)
        QUIET.wait()
        before = QUIET.snapshot()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, kind], env=env,
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        after = QUIET.snapshot()
        if proc.returncode != 0:
            raise RuntimeError(f"child failed for {kind!r}:\n{proc.stderr}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["wall"] = wall
        builds = _BUILD_RE.findall(proc.stderr)
        res["how"] = ", ".join(sorted({how for _, how, _ in builds})) or "?"
        res["load"] = sum(float(t) for *_, t in builds)
        # a cold compile can take seconds: allow other processes a little more
        if not QUIET.disturbed(before, after, slack=max(2, int(wall * 10))):
            break
    return res


def run_large(case: str, tools, root: Path, timeout: float) -> dict:
    """Build ``case`` once, then time each tool compiling it in a fresh process."""
    import pickle
    import resource

    from large_formulas import build, op_count

    t0 = time.perf_counter()
    exprs, args = build(case)
    res = {"build": time.perf_counter() - t0, "ops": op_count(exprs), "dag": op_count(exprs, dag=True), "outputs": len(exprs)}
    path = root / f"{case.replace(' ', '-')}{'-ode' if case.startswith('ode') else ''}.pickle"
    path.write_bytes(pickle.dumps((exprs, args)))
    for tool in tools:
        env = dict(os.environ, ALGEBRAC_PROGRESS="0",
                   ALGEBRAC_CACHE_DIR=str(root / f"cache-{case.replace(' ', '-')}"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-c", LARGE_CHILD, tool, str(path)], env=env,
                                  capture_output=True, text=True, timeout=timeout)
            out = (json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0
                   else {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:80]})
        except subprocess.TimeoutExpired:
            out = {"error": f"not done in {timeout:.0f} s"}
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        out["wall"] = time.perf_counter() - t
        res[tool] = out
        print(f"   {case} / {tool}: {out}", file=sys.stderr, flush=True)
    return res


def print_large(results: dict, tools) -> None:
    print("\n## Large formulas: cold compile and run time against peers\n")
    print("compile: wall s (CPU s of the process and its compilers); run: ms per call on 10^5 "
          "points; (ratio) = peer / algebrac, above 1 means algebrac is faster.\n")
    print("| formula | outputs | ops (tree / DAG) | " + " | ".join(f"{t} compile | {t} run" for t in tools)
          + " |")
    print("|---|---:|---:|" + "---:|---:|" * len(tools))
    for case, r in results.items():
        base = r.get("algebrac", {})
        cells = []
        for tool in tools:
            o = r.get(tool, {})
            if "error" in o:
                cells += [o["error"], "-"]
                continue
            ratio_c = ratio_r = ""
            if tool != "algebrac" and "compile" in base:
                ratio_c = f" ({o['compile'] / base['compile']:.1f}x)"
                ratio_r = f" ({o['run'] / base['run']:.1f}x)"
            cells += [f"{o['compile']:.1f} ({o['cpu']:.0f}){ratio_c}",
                      f"{1e3 * o['run']:.2f}{ratio_r}"]
        print(f"| {case} | {r['outputs']} | {r['ops']} / {r['dag']} | " + " | ".join(cells)
              + " |")


def stats(values) -> str:
    return f"{1e3 * min(values):.0f} / {1e3 * statistics.median(values):.0f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="processes per measurement")
    ap.add_argument("--quick", action="store_true", help="repeat 1 and only the 1-output "
                    "and 20-outputs (simple) formulas")
    ap.add_argument("--large", nargs="*", metavar="CASE", default=None,
                    help=f"also the large formulas against peers (default all: {LARGE_CASES})")
    ap.add_argument("--large-only", action="store_true", help="only the large formulas")
    ap.add_argument("--tools", nargs="*", default=TOOLS, help=f"peers for --large ({TOOLS})")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds a tool may take on one large formula")
    ap.add_argument("--max-wait", type=float, default=60.0,
                    help="seconds to wait for other processes to go idle (0: never)")
    opts = ap.parse_args(argv)
    kinds = KINDS[:2] if opts.quick else KINDS
    repeat = 1 if opts.quick else opts.repeat
    cold_repeat = 1 if opts.quick else max(1, min(3, repeat))
    QUIET.max_wait = opts.max_wait
    import sympy as sp

    import algebrac as ac

    print(f"# algebrac bench_compile  {datetime.date.today()}  {platform.node()}  "
          f"{os.cpu_count()} cores  python {platform.python_version()}  "
          f"algebrac {ac.__version__}  sympy {sp.__version__}")
    root = Path(tempfile.mkdtemp(prefix="algebrac-bench-compile-"))
    large = opts.large or (LARGE_CASES if opts.large == [] or opts.large_only else [])
    try:
        if large:
            results = {case: run_large(case, opts.tools, root, opts.timeout) for case in large}
            print_large(results, opts.tools)
        if opts.large_only:
            return 0
        # ---------------------------------------------------------- cold
        cold = {}
        for kind in kinds:
            runs = []
            for r in range(cold_repeat):
                runs.append(run_child(kind, root / f"cold-{KINDS.index(kind)}-{r}", cold=True))
                if "miss" not in runs[-1]["how"]:
                    print(f"!! expected a cache miss for {kind!r}, got {runs[-1]['how']}")
            cold[kind] = runs
            print(f"   cold {kind} done", file=sys.stderr, flush=True)
        print(f"\n## Cold compile (empty cache; ms, min / median of {cold_repeat} processes)\n")
        print("| formula | outputs | ac.compile | build (cc) | front end "
              "| vs 1 output |")
        print("|---|---:|---:|---:|---:|---:|")
        base = min(r["compile"] for r in cold[kinds[0]])
        for kind in kinds:
            runs = cold[kind]
            c = [r["compile"] for r in runs]
            b = [r["load"] for r in runs]
            fe = [r["compile"] - r["load"] for r in runs]
            print(f"| {kind} | {runs[0]['nout']} | {stats(c)} | {stats(b)} | {stats(fe)} "
                  f"| {min(c) / base:.2f}x |")

        # ---------------------------------------------------------- warm
        warm = {}
        for kind in kinds:
            cache_dir = root / f"warm-{KINDS.index(kind)}"
            first = run_child(kind, cache_dir)  # populate
            runs = [run_child(kind, cache_dir) for _ in range(repeat)]
            hows = {r["how"] for r in runs}
            if hows != {"cache hit"}:
                print(f"!! expected cache hits for {kind!r}, got {hows} (populated: "
                      f"{first['how']})")
            warm[kind] = runs
            print(f"   warm {kind} done", file=sys.stderr, flush=True)
        print(f"\n## Warm cache hit in a fresh process (ms, min / median of {repeat} "
              "processes)\n")
        print("| formula | import sympy | import algebrac | ac.compile | of which cache load "
              "| import + compile | whole process | target compile < 100 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for kind in kinds:
            runs = warm[kind]
            def col(k, runs=runs):
                return [r[k] for r in runs]

            ic = [r["import_sympy"] + r["import_algebrac"] + r["compile"] for r in runs]
            best = min(col("compile"))
            print(f"| {kind} | {stats(col('import_sympy'))} | {stats(col('import_algebrac'))} "
                  f"| {stats(col('compile'))} | {stats(col('load'))} | {stats(ic)} "
                  f"| {stats(col('wall'))} | {'MET' if best < 0.1 else 'MISSED'} |")
        print("\n" + QUIET.summary())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
