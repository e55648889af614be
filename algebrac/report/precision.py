r"""``ac.precision``: how many ULPs a compiled formula is off, measured against mpmath.

Samples of the domain (log-spaced where a range spans decades, plus its edges
and zero) are evaluated by the compiled callable, by ``sympy.lambdify`` of the
formula as written, and exactly: the value is settled when the formula as
written and its stabilized form, evaluated by mpmath at ``p`` and ``2p`` bits,
all round to the same float.  Raising the precision catches cancellation; the
second form catches absorption that persists over a doubling (``1 + exp(-800)``
is ``1`` below about 1150 bits, ``softplus(-800)`` is exact at any).  Points not
settled by ``MAX_PREC`` bits count as ``unresolved``, outside the statistics.

>>> import sympy as sp, algebrac as ac
>>> x = sp.Symbol("x")
>>> rep = ac.precision(ac.compile(sp.log(1 + sp.exp(x)), [x], backend="numpy"), {x: (-800, 40)},
...                    n=200)
>>> out = rep.to_dict()["outputs"][0]
>>> out["max_ulp"] <= 4, out["lambdify"]["max_ulp"] > 1e15
(True, True)
"""
from __future__ import annotations

import base64
import io
import math
import warnings
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from ..errors import DTypeError, SignatureError
from ..testing import MPMATH_MODULES, lambdify_reference, ulp_distance

__all__ = ["precision", "PrecisionReport", "ErrorStats", "MAX_PREC"]

MAX_PREC = 1 << 15          # bits: beyond this a point is reported as unresolved
_DECADES = 2.0              # a range whose ends differ by this many decades is log-spaced


# ---- sampling ----------------------------------------------------------------------------------
def _axis(lo: float, hi: float, n: int, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    """Samples of one argument's range and whether they are log-spaced."""
    info = np.finfo(dtype)
    lo, hi = (float(np.clip(v, -info.max, info.max)) for v in (lo, hi))
    edges = [lo, hi] + ([0.0] if lo <= 0.0 <= hi else [])
    if lo == hi:
        return np.array([lo], dtype), False
    if lo > 0 or hi < 0:
        a, b = sorted((abs(lo), abs(hi)))
        logspaced = math.log10(b / a) >= _DECADES
        sign = 1.0 if lo > 0 else -1.0
        with np.errstate(over="ignore"):   # geomspace may round past the largest float
            logs = sign * np.geomspace(a, b, n // 2) if logspaced else np.empty(0)
    else:
        # A range through zero spans every decade down to it: log-space the
        # magnitudes from eps times each end (where cancellation shows) to the end.
        logspaced = True
        sides = [s for s in (lo, hi) if s != 0.0]
        per = max(n // (2 * len(sides)), 1)
        with np.errstate(over="ignore"):
            logs = np.concatenate([np.sign(s) * np.geomspace(
                max(abs(s) * info.eps, float(info.smallest_subnormal)), abs(s), per)
                for s in sides])
    t = np.linspace(0.0, 1.0, n - len(logs))
    lin = lo * (1 - t) + hi * t            # hi - lo may overflow; this cannot
    values = np.clip(np.concatenate([lin, logs, edges]), lo, hi).astype(dtype)
    return np.unique(values), logspaced


def _points(args, domain: dict, n: int, dtype: np.dtype, rng) -> tuple[list, list]:
    """One column per argument: the axes paired at random, plus every corner of the edges."""
    axes, logs = [], []
    for a in args:
        values, logspaced = _axis(*domain[a], n, dtype)
        axes.append(values)
        logs.append(logspaced)
    if len(args) == 1:
        return [axes[0]], logs
    # Each axis's samples, cycled to n and shuffled independently: every marginal
    # keeps its log-spacing (a grid would give each axis only n**(1/d) values).
    cols = [rng.permutation(np.resize(v, n)) for v in axes]
    if len(args) <= 6:
        corners = np.array(np.meshgrid(*[np.unique(np.array(
            [v[0], v[-1]] + ([0.0] if v[0] <= 0 <= v[-1] else []), dtype)) for v in axes],
            indexing="ij")).reshape(len(args), -1)
        cols = [np.concatenate([c, k]) for c, k in zip(cols, corners)]
    return cols, logs


# ---- the exact values --------------------------------------------------------------------------
def _round(v, dtype) -> float:
    if isinstance(v, mpmath.mpc):
        v = v.real if v.imag == 0 else mpmath.nan
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    with np.errstate(over="ignore"):
        return float(dtype.type(f))


def _evaluate(funcs, point, prec: int, dtype) -> list:
    """Every form's outputs at ``point``, computed at ``prec`` bits and rounded to ``dtype``.

    An output that mpmath cannot evaluate there (a pole, a domain error) is NaN.
    """
    with mpmath.workprec(prec):
        args = [mpmath.mpf(v) for v in point]
        rows = []
        for form in funcs:
            row = []
            for f in form:
                try:
                    row.append(_round(f(*args), dtype))
                except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                    row.append(math.nan)
            rows.append(row)
        return rows


def _same(a: list, b: list) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def _exact(exprs, stable, args, cols, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(values, resolved)``: correctly rounded exact outputs (nout, npoints) and a mask."""
    forms = [list(exprs)] + ([list(stable)] if list(stable) != list(exprs) else [])
    funcs = [[sp.lambdify(args, e, modules=MPMATH_MODULES) for e in f] for f in forms]
    start = 2 * np.finfo(dtype).nmant + 40
    npts = len(cols[0]) if cols else 1
    out = np.full((len(exprs), npts), np.nan)
    resolved = np.zeros(npts, bool)
    for j in range(npts):
        point = [float(c[j]) for c in cols]
        prec, prev = start, _evaluate(funcs, point, start, dtype)
        while prec < MAX_PREC:
            prec *= 2
            cur = _evaluate(funcs, point, prec, dtype)
            if all(_same(r, cur[0]) for r in prev + cur):
                out[:, j] = cur[0]
                resolved[j] = True
                break
            prev = cur
    return out.astype(dtype), resolved


# ---- the report --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorStats:
    """The error of one output computed one way, over the resolved sample points."""

    max_ulp: float
    median_ulp: float
    worst_input: dict        # argument name -> value where the error is largest
    worst_value: float       # what was computed there
    exact_value: float       # the correctly rounded exact value there
    nonfinite: tuple         # inputs (dicts) where the result is inf/NaN but the exact is finite

    def to_dict(self) -> dict:
        return {"max_ulp": self.max_ulp, "median_ulp": self.median_ulp,
                "worst_input": dict(self.worst_input), "worst_value": self.worst_value,
                "exact_value": self.exact_value, "nonfinite": [dict(p) for p in self.nonfinite]}


def _stats(got: np.ndarray, exact: np.ndarray, names, cols) -> ErrorStats:
    err = ulp_distance(got, exact)
    if not err.size:
        return ErrorStats(0.0, 0.0, {}, math.nan, math.nan, ())
    worst = int(np.argmax(err))
    bad = ~np.isfinite(got) & np.isfinite(exact)
    nonfinite = tuple({nm: float(c[j]) for nm, c in zip(names, cols)} for j in np.flatnonzero(bad))
    return ErrorStats(float(err.max()), float(np.median(err)),
                      {nm: float(c[worst]) for nm, c in zip(names, cols)},
                      float(got[worst]), float(exact[worst]), nonfinite)


def _log_axis(ax, values: np.ndarray) -> None:
    """A log x axis (symmetric through zero) with a few decade ticks that do not collide."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    mags = np.abs(values[values != 0])
    if not mags.size:
        return
    lo, hi = math.floor(math.log10(mags.min())), math.ceil(math.log10(mags.max()))
    step = max(1, math.ceil((hi - lo) / 3))
    decades = [10.0 ** k for k in range(hi, lo - 1, -step)]
    if np.all(values > 0):
        ax.set_xscale("log")
        ticks = decades
    else:
        ax.set_xscale("symlog", linthresh=float(mags.min()))
        ticks = sorted([-d for d in decades if values.min() < 0] + [0.0]
                       + [d for d in decades if values.max() > 0])
    ax.set_xticks(ticks)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(_decade))


def _decade(v, _pos=None) -> str:
    return "0" if v == 0 else ("-" if v < 0 else "") + f"1e{round(math.log10(abs(v)))}"


def _ulp_axis(ax, top: float) -> None:
    """A symlog y axis for ULP errors: 0, 1 and at most five decade ticks above."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    ax.set_yscale("symlog", linthresh=1.0)
    hi = max(1, math.ceil(math.log10(max(top, 1.0))))
    step = max(1, math.ceil(hi / 5))
    ax.set_yticks([0.0] + [10.0 ** k for k in range(0, hi + 1, step)])
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "0" if v == 0 else
                                               "1" if v == 1 else _decade(v)))


@dataclass(frozen=True)
class PrecisionReport:
    """What :func:`precision` measured; a table and a plot in Jupyter, ``to_dict()`` for scripts.

    ``outputs[k]`` is ``(name, algebrac ErrorStats, lambdify ErrorStats)``.
    """

    dtype: np.dtype
    arg_names: tuple
    domain: dict
    outputs: tuple
    inputs: tuple            # the sample columns (resolved points only), one per argument
    errors: tuple            # per output: (algebrac ULP errors, lambdify ULP errors)
    exact: tuple             # per output: the correctly rounded exact values
    logspaced: tuple         # per argument: whether its samples are log-spaced
    unresolved: int

    def to_dict(self) -> dict:
        """Plain data: per output ``max_ulp``, ``median_ulp``, ``worst_input``, ``nonfinite``
        (and the same under ``"lambdify"`` for the formula as written, through NumPy)."""
        return {
            "dtype": str(self.dtype), "points": int(len(self.inputs[0])) if self.inputs else 0,
            "unresolved": self.unresolved,
            "domain": {k: list(v) for k, v in self.domain.items()},
            "outputs": [{"name": name, **ours.to_dict(), "lambdify": theirs.to_dict()}
                        for name, ours, theirs in self.outputs],
        }

    def _rows(self) -> list:
        def fmt(v):
            return f"{v:.3g}" if math.isfinite(v) else str(v)

        rows = []
        for name, ours, theirs in self.outputs:
            for label, s in (("algebrac", ours), ("lambdify", theirs)):
                where = ", ".join(f"{k}={v:.6g}" for k, v in s.worst_input.items())
                rows.append([name, label, fmt(s.max_ulp), fmt(s.median_ulp), where,
                             str(len(s.nonfinite))])
        return rows

    _HEAD = ["output", "computed by", "max ULP", "median ULP", "worst input", "non-finite"]

    def __str__(self) -> str:
        rows = [self._HEAD] + self._rows()
        widths = [max(len(r[c]) for r in rows) for c in range(len(self._HEAD))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines + [self._footer()])

    def __repr__(self) -> str:
        return str(self)

    def _footer(self) -> str:
        pts = len(self.inputs[0]) if self.inputs else 0
        text = f"{pts} points, {self.dtype}, errors against mpmath"
        return text + (f"; {self.unresolved} point(s) unresolved" if self.unresolved else "")

    def plot(self, fig=None):
        """ULP error against each input (a matplotlib ``Figure``; one row per output)."""
        from matplotlib.figure import Figure

        nout, nin = len(self.outputs), len(self.arg_names)
        fig = fig or Figure(figsize=(4.2 * nin, 2.8 * nout), layout="constrained")
        axes = fig.subplots(nout, nin, squeeze=False)
        ceiling = 2.0 ** 64      # non-finite results are drawn at the top
        for r, (name, _, _) in enumerate(self.outputs):
            for c, arg in enumerate(self.arg_names):
                ax = axes[r][c]
                for err, style, label in ((self.errors[r][1], "x", "lambdify"),
                                          (self.errors[r][0], ".", "algebrac")):
                    ax.plot(self.inputs[c], np.minimum(err, ceiling), style, ms=3, label=label)
                _ulp_axis(ax, float(np.max(np.minimum(np.concatenate(self.errors[r]), ceiling),
                                           initial=1.0)))
                if self.logspaced[c]:
                    _log_axis(ax, self.inputs[c])
                ax.set_xlabel(arg)
                ax.set_ylabel(f"ULP error of {name}")
        axes[0][0].legend(loc="best", fontsize="small")
        return fig

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._HEAD)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self._rows())
        table = (f"<table><tr>{head}</tr>{body}</table>"
                 f"<p><small>{html.escape(self._footer())}</small></p>")
        try:
            fig = self.plot()
        except ImportError:
            return table + "<p><small>(install matplotlib for a plot)</small></p>"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        png = base64.b64encode(buf.getvalue()).decode("ascii")
        return table + f'<img src="data:image/png;base64,{png}" alt="ULP error against input"/>'


# ---- entry point -------------------------------------------------------------------------------
def _domain_for(uf, domain) -> dict:
    if not isinstance(domain, dict):
        raise SignatureError("domain must be a dict {argument: (low, high)}, e.g. {x: (-5, 5)}")
    by_name = {str(a): a for a in uf.args}
    out = {}
    for key, rng in domain.items():
        arg = by_name.get(key) if isinstance(key, str) else key
        if arg not in uf.args:
            raise SignatureError(f"domain names {key}, which is not an argument of the formula "
                                 f"({', '.join(by_name)})")
        try:
            lo, hi = (float(v) for v in rng)
        except (TypeError, ValueError) as err:
            raise SignatureError(f"the domain of {key} must be a pair (low, high), got "
                                 f"{rng!r}") from err
        if not lo <= hi:
            raise SignatureError(f"the domain of {key} must have low <= high, got ({lo}, {hi})")
        out[arg] = (lo, hi)
    missing = [str(a) for a in uf.args if a not in out]
    if missing:
        raise SignatureError(f"domain has no range for {', '.join(missing)}; give every "
                             "argument a (low, high) pair")
    return out


def precision(uf, domain: dict, *, dtype=np.float64, n: int = 1000, names=None,
              seed: int = 0) -> PrecisionReport:
    """Measure a compiled formula's error in ULPs against mpmath over an input domain.

    Parameters
    ----------
    uf : a compiled formula (``ac.compile``).
    domain : ``{argument: (low, high)}`` for every argument (symbols or their
        names); infinite ends stand for the dtype's largest value.
    dtype : ``float64`` or ``float32``: the inputs are samples of this type
        and errors count its ULPs.
    n : samples per argument (log-spaced ranges get half of them spaced by
        decade); with several arguments the samples are paired at random
        (``seed``) and every corner of the ranges is added.
    names : output names for the table (default ``f`` or ``f0, f1, ...``).

    Per output, the report gives the max and median error in ULPs of the
    correctly rounded exact value, the worst input and the points where the
    result is not finite but the exact value is, beside the same for
    ``sympy.lambdify``.  Where the exact value is undefined (mpmath raises) it
    is NaN: a NaN result there is 0 ULP off, any other ``inf``.
    """
    if not (hasattr(uf, "exprs") and hasattr(uf, "args")):
        raise SignatureError(f"precision() measures formulas compiled with ac.compile, got "
                             f"{type(uf).__name__}")
    if not uf.args:
        raise SignatureError("precision() needs a formula with at least one argument to sample")
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise DTypeError(f"precision() measures float32 or float64, got {dtype}")
    if n < 2:
        raise SignatureError(f"n must be at least 2, got {n}")
    dom = _domain_for(uf, domain)
    args = list(uf.args)
    cols, logs = _points(args, dom, n, dtype, np.random.default_rng(seed))
    from ..simplify import stabilize

    stable = [stabilize(e) for e in uf.exprs]
    exact, ok = _exact(uf.exprs, stable, args, cols, dtype)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = uf(*cols)
        ours = ours if isinstance(ours, tuple) else (ours,)
        theirs = lambdify_reference(list(uf.exprs), args, cols, dtype)
    arg_names = tuple(str(a) for a in args)
    cols = [c[ok] for c in cols]
    nout = len(uf.exprs)
    if names is None:
        names = ["f"] if nout == 1 else [f"f{k}" for k in range(nout)]
    outputs, errors, exacts = [], [], []
    for k in range(nout):
        a = np.broadcast_to(np.asarray(ours[k], dtype), ok.shape)[ok]
        b = np.broadcast_to(np.asarray(theirs[k], dtype), ok.shape)[ok]
        outputs.append((str(names[k]), _stats(a, exact[k][ok], arg_names, cols),
                        _stats(b, exact[k][ok], arg_names, cols)))
        errors.append((ulp_distance(a, exact[k][ok]), ulp_distance(b, exact[k][ok])))
        exacts.append(exact[k][ok])
    return PrecisionReport(dtype, arg_names, {str(a): dom[a] for a in args}, tuple(outputs),
                           tuple(cols), tuple(errors), tuple(exacts), tuple(logs),
                           int((~ok).sum()))
