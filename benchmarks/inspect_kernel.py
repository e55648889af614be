#!/usr/bin/env python
"""Look inside the C algebrac generates for a formula: vectorization and math calls.

    python benchmarks/inspect_kernel.py "sin(x)**2*cos(y) + exp(-x*y)*log1p(x*x)" [--args x,y]
        [--source] [--flags ...]

Compiles the float64 C file of ``uf.source`` to an object file with algebrac's own
flags plus ``-fopt-info-vec-all`` and prints: which loops gcc vectorized (and
why not, for the loop lines), and how many calls each function gets per inner
loop body in the machine code (``_ZGV...`` names are glibc libmvec vector
variants; plain ``sin`` etc. are scalar calls).  A diagnostic aid for the
benchmark report; it changes nothing in algebrac.
"""
from __future__ import annotations

import argparse
import atexit
import collections
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("formula", help="SymPy expression; several separated by ';'")
    ap.add_argument("--args", default="x,y")
    ap.add_argument("--source", action="store_true", help="print the generated C")
    opts = ap.parse_args(argv)
    if "ALGEBRAC_CACHE_DIR" not in os.environ:  # a private cache, removed on exit
        cache = tempfile.mkdtemp(prefix="algebrac-inspect-")
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
        os.environ["ALGEBRAC_CACHE_DIR"] = cache
    os.environ.setdefault("ALGEBRAC_PROGRESS", "0")
    import algebrac as ac
    from algebrac.cpu import build

    names = [a.strip() for a in opts.args.split(",")]
    syms = sp.symbols(names)
    ns = {n: s for n, s in zip(names, syms)}
    ns.update(log1p=log1p, expm1=expm1)
    exprs = [sp.sympify(f, locals=ns) for f in opts.formula.split(";")]
    uf = ac.compile(exprs if len(exprs) > 1 else exprs[0], syms)
    if opts.source:
        print(uf.source)
    # the float64 C file (the loops live in one C file per dtype, not in the main file)
    name, c, flags = uf._render().c_files[-1]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "k.c"
        src.write_text("\n" + c)  # line numbers below are shifted by the added line
        obj = Path(tmp) / "k.o"
        cmd = ["gcc", "-c", *build.CFLAGS, *flags, "-fPIC", "-fopt-info-vec-optimized",
               "-fopt-info-vec-missed", f"-I{sysconfig.get_paths()['include']}",
               f"-I{np.get_include()}", f"-I{build.HERE}", str(src), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            print(proc.stderr)
            return 1
        lines = c.splitlines()
        print("## gcc vectorizer: loops")
        seen = set()
        for msg in proc.stderr.splitlines():
            m = re.match(r".*k\.c:(\d+):\d+: (optimized|missed): (.*)", msg)
            if not m:
                continue
            ln, what, text = int(m.group(1)) - 1, m.group(2), m.group(3)  # -1: added #include
            wanted = ("loop vectorized" in text or "couldn't vectorize loop" in text
                      or "not vectorized:" in text)
            if wanted and (ln, text) not in seen:
                seen.add((ln, text))
                print(f"line {ln}: {what}: {text}  | {lines[ln - 1].strip()[:70]}")
        dis = subprocess.run(["objdump", "-d", "-r", str(obj)], capture_output=True,
                             text=True, check=False).stdout
        funcs = collections.defaultdict(collections.Counter)
        current = None
        for line in dis.splitlines():
            m = re.match(r"[0-9a-f]+ <(.+)>:", line)
            if m:
                current = m.group(1)
            m = re.search(r"R_X86_64_PLT32\s+(\S+?)-0x4", line)
            if m and current:
                funcs[current][m.group(1)] += 1
        print("\n## calls in the machine code, per C function (each loop body appears once per "
              "vector width gcc emitted)")
        for fn, calls in funcs.items():
            math = {k: v for k, v in calls.items() if not k.startswith(("GOMP", "omp_", "Py",
                                                                         "fe"))}
            if math:
                print(f"{fn}: " + ", ".join(f"{k} x{v}" for k, v in sorted(math.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
