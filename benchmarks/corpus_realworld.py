"""Formulas scientists write, from outside the project: does algebrac compile them, exactly?

The corpus is built, not hand-picked: the density and CDF of every continuous
``sympy.stats`` distribution (symbolic parameters, positive where SymPy's
parameter names suggest nothing else), their x-derivatives, and
``sympy.physics`` wave functions (hydrogen, 1-d and 3-d harmonic oscillators)
and SymPy's orthogonal polynomials (Legendre, Laguerre, Hermite, Chebyshev, as
SymPy returns them: expanded).  For each formula it reports whether it
compiles (and which functions stop it), the cold compile time (fresh cache),
and the maximum error in ULPs against mpmath (600 digits: the naive
tails cancel) with lambdify's
beside it, on points across the support including far tails.

    PYTHONPATH=$PWD python benchmarks/corpus_realworld.py [--limit N] [--time-every K]

Values come from a few multi-output builds (30 formulas each; a loop with one
call that has no vector variant is scalar throughout, so a formula may see
scalar libm where alone it would get libmvec: within a few ULP); the compile
time is measured on every K-th formula alone, with a fresh cache.

``--save corpus.json`` / ``--load corpus.json`` keep the generated corpus, so two
versions of algebrac can be compared on the same formulas.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import re
import signal
import sys
import tempfile
import time
import warnings

import mpmath
import numpy as np
import sympy as sp
import sympy.stats as st
from sympy.stats import crv_types

X_SYM = sp.Symbol("x", real=True)
from sympy.physics.quantum.constants import HBar  # noqa: E402

_NS = dict(sp.__dict__, ExprCondPair=sp.functions.elementary.piecewise.ExprCondPair,
           TupleArg=sp.functions.special.hyper.TupleArg, HBar=HBar)


@contextlib.contextmanager
def time_limit(seconds: int):
    def handler(signum, frame):
        raise TimeoutError
    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _params(cls, names):
    """Symbols for a distribution's parameters: real for locations, positive otherwise."""
    real = {"mean", "mu", "location", "loc", "a", "left", "right", "b", "c", "m", "k", "x0"}
    return [sp.Symbol(n if n != "lambda" else "lamda", real=True) if n in real
            else sp.Symbol(n if n != "lambda" else "lamda", positive=True) for n in names]


def _values(params, support_hint=None):
    """Numeric parameter values: increasing (so left < right, a < c < b), in (0.6, 2.5)."""
    return {p: sp.Rational(6 + 5 * k, 10) for k, p in enumerate(params)}


def build_corpus(timeout: int = 20):
    out = []
    for name in crv_types.__all__:
        if name == "ContinuousRV":
            continue
        ctor = getattr(st, name)
        dist_cls = getattr(crv_types, name + "Distribution", None) or \
            getattr(crv_types, name.replace("Distribution", "") + "Distribution", None)
        if dist_cls is None:
            continue
        # Flags (Gumbel's ``minimum``) keep their defaults.
        params = _params(dist_cls, [n for n in dist_cls._argnames if n != "minimum"])
        if name == "UniformSum":
            params = [sp.Integer(3)]
        try:
            with time_limit(timeout):
                X = ctor("X", *params)
                dens = st.density(X)(X_SYM)
        except Exception as err:  # noqa: BLE001 (any SymPy failure: recorded, not fatal)
            out.append({"name": f"{name}.pdf", "error": f"sympy: {type(err).__name__}"})
            continue
        pvals = _values([p for p in params if isinstance(p, sp.Symbol)])
        support = _support(X, pvals)
        entries = [("pdf", dens)]
        try:
            with time_limit(timeout):
                c = st.cdf(X)(X_SYM)
            entries.append(("cdf", c))
        except Exception:  # noqa: BLE001
            pass
        entries.append(("dpdf", sp.diff(dens, X_SYM)))
        for kind, e in entries:
            if e.has(sp.Integral):
                out.append({"name": f"{name}.{kind}", "error": "sympy: unevaluated Integral"})
                continue
            out.append({"name": f"{name}.{kind}", "expr": sp.srepr(e), "x": "x",
                        "params": {sp.srepr(p): str(v) for p, v in pvals.items()},
                        "support": support})
    r = sp.Symbol("r", positive=True)
    from sympy.physics import hydrogen, qho_1d, sho
    for n in range(1, 6):
        for l in range(n):
            out.append(_phys(f"hydrogen.R_{n}{l}", hydrogen.R_nl(n, l, r, 1), r, (0, 60)))
    m, w = sp.symbols("m omega", positive=True)
    for n in range(0, 8):
        e = qho_1d.psi_n(n, X_SYM, m, w)
        out.append(_phys(f"qho_1d.psi_{n}", e, X_SYM, (-8, 8), {m: sp.Integer(1), w: sp.Integer(1)}))
    nu = sp.Symbol("nu", positive=True)
    for n in range(0, 4):
        for l in range(0, 3):
            out.append(_phys(f"sho.R_{n}{l}", sho.R_nl(n, l, nu, r), r, (0, 8), {nu: sp.Integer(1)}))
    for poly in (sp.legendre, sp.laguerre, sp.hermite, sp.chebyshevt):
        for n in (3, 6, 9, 12):
            e = poly(n, X_SYM)
            rng = (-1, 1) if poly in (sp.legendre, sp.chebyshevt) else (0, 30) \
                if poly is sp.laguerre else (-5, 5)
            out.append(_phys(f"{poly.__name__}_{n}", e, X_SYM, rng))
            out.append(_phys(f"d{poly.__name__}_{n}", sp.diff(e, X_SYM), X_SYM, rng))
    return out


def _phys(name, e, var, rng, pvals=None):
    return {"name": name, "expr": sp.srepr(e.xreplace({var: X_SYM})), "x": "x",
            "params": {sp.srepr(p): str(v) for p, v in (pvals or {}).items()},
            "support": [float(rng[0]), float(rng[1])]}


def _support(X, pvals):
    try:
        s = st.pspace(X).domain.set.xreplace(pvals)
        return [float(s.inf), float(s.sup)]
    except Exception:  # noqa: BLE001
        return [-math.inf, math.inf]


def points(support):
    lo, hi = support
    if math.isfinite(lo) and math.isfinite(hi):
        u = np.concatenate([[1e-12, 1e-6, 1e-3], np.linspace(0.02, 0.98, 25),
                            [1 - 1e-3, 1 - 1e-6]])
        return lo + (hi - lo) * u
    far = np.array([1e-3, 0.1, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 10, 15, 20, 30, 38])
    if math.isfinite(lo):
        return lo + far
    if math.isfinite(hi):
        return hi - far
    return np.concatenate([-far[::-1], [0.0], far])


def ulps(got, ref):
    """Error in units of the reference's last place (subnormal floor: ulp of the tiniest normal)."""
    got = np.asarray(got, dtype=np.float64)
    out = np.zeros(ref.shape)
    for k, (g, r) in enumerate(zip(got, ref)):
        if not math.isfinite(r):
            out[k] = 0 if (g == r or (math.isnan(r) and math.isnan(g))) else math.inf
        elif not math.isfinite(g):
            out[k] = math.inf
        else:
            out[k] = abs(g - r) / np.spacing(max(abs(r), 2.2250738585072014e-308))
    return out


def _functions(e):
    return sorted({type(f).__name__ for f in e.atoms(sp.Function)})


def _unsupported_names(text: str) -> list:
    old = re.findall(r"contains (?:the )?(\w+)", text.split("cannot compile")[0])
    new = re.findall(r"(\w+) \(", text.split("cannot compile:")[-1]) if "compile:" in text else []
    return new or old or [text[:60]]


def _reference(e, xs):
    ref = []
    try:
        with time_limit(60):
            if e.has(sp.Sum):   # up to floor(x) (UniformSum), and its derivative: written out
                from algebrac.simplify.sums import expand_sums   # (mpmath has neither)
                e = expand_sums(e)
            fm = sp.lambdify(X_SYM, e, [{"exp_polar": mpmath.exp}, "mpmath"])
            with mpmath.workdps(600):   # enough for the cancellations of naive tails
                for v in xs:
                    try:
                        val = complex(fm(mpmath.mpf(float(v))))
                        ref.append(val.real if abs(val.imag) < 1e-30 else math.nan)
                    except Exception:  # noqa: BLE001
                        ref.append(math.nan)
    except TimeoutError:
        ref = [math.nan] * len(xs)
    return np.array(ref)


def run(corpus, backend, time_every, batch=30):
    """Support check per formula (numpy backend: no build), then batched builds for the
    values (one ufunc per ``batch`` formulas over the same argument), and cold builds of
    every ``time_every``-th formula alone (fresh cache) for the compile time."""
    import algebrac as ac
    results, ok = [], []
    for item in corpus:
        res = {"name": item["name"]}
        results.append(res)
        if "error" in item:
            res["status"] = item["error"]
            continue
        # Our own srepr text; wave functions in natural units (hbar = 1).
        e = sp.sympify(eval(item["expr"], _NS)).xreplace({HBar(): sp.S.One})  # noqa: S307
        params = {eval(k, _NS): sp.sympify(v) for k, v in item["params"].items()}  # noqa: S307
        try:
            try:
                e = e.xreplace(params)
            except TypeError:   # a condition that became a number: let SymPy decide it
                e = e.subs(params)
        except Exception as err:  # noqa: BLE001
            res["status"] = f"sympy: parameter values: {type(err).__name__}"
            continue
        try:
            with warnings.catch_warnings(), time_limit(120):
                warnings.simplefilter("ignore")
                ac.compile(e, [X_SYM], backend="numpy")
            res["status"] = "ok"
            ok.append((res, e, points(item["support"])))
        except ac.UnsupportedError as err:
            res["status"] = "unsupported"
            res["functions"] = list(getattr(err, "functions", ())) or _unsupported_names(str(err))
        except Exception as err:  # noqa: BLE001
            res["status"] = f"error: {type(err).__name__}: {str(err)[:100]}"
    for start in range(0, len(ok), batch):
        group = ok[start:start + batch]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                uf = ac.compile([e for _, e, _ in group], [X_SYM], backend=backend)
        except Exception as err:  # noqa: BLE001
            for res, _, _ in group:
                res["status"] = f"error: build {type(err).__name__}: {str(err)[:100]}"
            continue
        for k, (res, e, xs) in enumerate(group):
            with np.errstate(all="ignore"):
                got = np.broadcast_to(uf(xs)[k], xs.shape)
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    lam = np.broadcast_to(sp.lambdify(X_SYM, e, "numpy")(xs), xs.shape)
                    lam = lam.astype(float)
            except Exception:  # noqa: BLE001
                lam = np.full(xs.shape, np.nan)
            ref = _reference(e, xs)
            if np.isfinite(ref).any():
                res["ulp"] = float(np.max(ulps(got, ref)))
                res["ulp_lambdify"] = float(np.max(ulps(lam, ref)))
    if time_every and backend == "cpu":
        from algebrac.cpu import build
        for res, e, _ in ok[::time_every]:
            with tempfile.TemporaryDirectory() as d:
                os.environ["ALGEBRAC_CACHE_DIR"] = d
                build._memo.clear()
                ac.ufunc._memo.clear()
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ac.compile(e, [X_SYM])
                res["compile_s"] = time.perf_counter() - t0
    return results


def report(results):
    status = collections.Counter(r["status"] if r["status"] in ("ok", "unsupported")
                                 else r["status"].split(":")[0] for r in results)
    print(f"\n{len(results)} formulas: " + ", ".join(f"{k} {v}" for k, v in status.items()))
    funcs = collections.Counter(f for r in results for f in r.get("functions", []))
    print("unsupported by function:", dict(funcs.most_common()))
    for r in results:
        if r["status"] not in ("ok",):
            print(f"  {r['name']}: {r['status']} {r.get('functions', '')}")
    both = [r for r in results if r.get("ulp") is not None and r.get("ulp_lambdify") is not None]
    better = sum(r["ulp"] < r["ulp_lambdify"] for r in both)
    worse = [r for r in both if r["ulp"] > 2 * r["ulp_lambdify"] + 4]
    print(f"ULP vs mpmath on {len(both)} formulas: algebrac better on {better}, worse (above "
          f"2x lambdify's + 4 ULP) on {len(worse)}")
    for r in sorted(both, key=lambda r: -r["ulp"])[:15]:
        print(f"  {r['name']:28s} algebrac {r['ulp']:10.3g}  lambdify {r['ulp_lambdify']:10.3g}")
    for r in worse:
        print(f"  WORSE {r['name']:22s} algebrac {r['ulp']:10.3g}  lambdify {r['ulp_lambdify']:10.3g}")
    times = [r["compile_s"] for r in results if "compile_s" in r]
    if times:
        print(f"cold compile per formula: median {np.median(times):.2f} s, max {max(times):.2f} s")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--save")
    ap.add_argument("--load")
    ap.add_argument("--json")
    ap.add_argument("--time-every", type=int, default=10)
    args = ap.parse_args(argv)
    if args.load:
        with open(args.load) as f:
            corpus = json.load(f)
    else:
        corpus = build_corpus()
        if args.save:
            with open(args.save, "w") as f:
                json.dump(corpus, f)
    if args.limit:
        corpus = corpus[:args.limit]
    os.environ.setdefault("ALGEBRAC_CACHE_DIR", tempfile.mkdtemp(prefix="ac_corpus_"))
    results = run(corpus, args.backend, args.time_every)
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
