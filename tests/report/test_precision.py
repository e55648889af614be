"""ac.precision on formulas whose error is known: naive softplus and hypot against their stable forms."""
from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.report import precision as P

x, y = sp.symbols("x y")
NAIVE = [sp.log(1 + sp.exp(x)), sp.sqrt(x**2 + y**2)]
OVERFLOW = {np.float64: math.log(np.finfo(np.float64).max),     # exp(x) = inf above these
            np.float32: math.log(np.finfo(np.float32).max)}


@pytest.fixture(scope="module")
def uf():
    return ac.compile(NAIVE, [x, y])       # one cold build for the module


@pytest.fixture(scope="module", params=[np.float64, np.float32], ids=["f64", "f32"])
def report(request, uf):
    dt = request.param
    big = 1e300 if dt is np.float64 else 1e37
    return dt, ac.precision(uf, {x: (-745, 745), "y": (big / 1e10, big)}, dtype=dt, n=600)


def test_stabilized_softplus_is_accurate_and_naive_is_not(report):
    dt, rep = report
    d = rep.to_dict()
    assert d["dtype"] == np.dtype(dt).name and d["unresolved"] == 0 and d["points"] >= 600
    soft = d["outputs"][0]
    assert soft["name"] == "f0"
    # softplus is computed by log1p/exp helpers accurate to a few ULP (libm/libmvec: <= 4).
    assert soft["max_ulp"] <= 4 and soft["median_ulp"] <= 1 and soft["nonfinite"] == []
    naive = soft["lambdify"]
    xs = rep.inputs[0]
    # log(1 + exp(x)) overflows exactly where exp(x) does, although the exact value is ~x.
    assert sorted(p["x"] for p in naive["nonfinite"]) == sorted(xs[xs > OVERFLOW[dt]].tolist())
    # ... and loses everything where 1 + exp(x) rounds to 1 (0 against exp(x)).
    assert naive["max_ulp"] > 1e9 and not 0 < abs(naive["worst_value"]) < math.inf
    lost = xs < math.log(np.finfo(dt).eps / 2) - 1
    assert lost.sum() > 50
    err_naive = rep.errors[0][1][lost]
    assert np.all(err_naive[rep.exact[0][lost] >= np.finfo(dt).tiny] > 1e6)   # normal results


def test_stabilized_hypot_never_overflows(report):
    dt, rep = report
    d = rep.to_dict()["outputs"][1]
    assert d["max_ulp"] <= 4 and d["nonfinite"] == []
    assert len(d["lambdify"]["nonfinite"]) == len(rep.inputs[0])   # y**2 overflows everywhere
    assert set(d["worst_input"]) == {"x", "y"}


def test_exact_values_are_settled_through_absorption():
    # 1 + exp(-700) is 1 below ~1050 bits: two consecutive precisions agree on a wrong 0,
    # the stabilized form (softplus) does not, so the precision keeps rising.
    f = [sp.log(1 + sp.exp(x))]
    exact, ok = P._exact(f, [ac.stabilize(f[0])], [x], [np.array([-700.0, 1e-30, 30.0])],
                         np.dtype(np.float64))
    with mpmath.workdps(60):
        want = [float(mpmath.log1p(mpmath.exp(v))) for v in (-700, mpmath.mpf(1e-30), 30)]
    assert ok.all() and exact[0].tolist() == want
    # A pole of one output (mpmath raises) is NaN there and leaves the others alone.
    fs = [sp.gamma(x), x + 1]
    exact, ok = P._exact(fs, fs, [x], [np.array([0.0, 2.0])], np.dtype(np.float64))
    assert ok.all() and np.isnan(exact[0, 0]) and exact[:, 1].tolist() == [1.0, 3.0]
    assert exact[1, 0] == 1.0


def test_sampling_spans_decades_and_keeps_edges():
    vals, logs = P._axis(1e-3, 1e3, 100, np.dtype(np.float64))
    assert logs and vals[0] == 1e-3 and vals[-1] == 1e3
    assert np.sum(vals < 1) >= 24    # half of the log-spaced half (linear spacing: none)
    vals, logs = P._axis(-5, 5, 100, np.dtype(np.float32))
    assert logs and vals.dtype == np.float32 and {-5.0, 0.0, 5.0} <= set(vals.tolist())
    assert np.min(np.abs(vals[vals != 0])) < 1e-5  # down to eps * |end| near zero
    vals, logs = P._axis(1, 2, 50, np.dtype(np.float64))
    assert not logs and np.allclose(np.diff(vals), 1 / 49)
    vals, _ = P._axis(-1e-310, 1e-310, 20, np.dtype(np.float64))     # subnormal ends
    assert vals[0] == -1e-310 and vals[-1] == 1e-310 and 0.0 in vals
    big = np.finfo(np.float64).max
    for lo, hi in ((0, np.inf), (-np.inf, np.inf)):
        with np.errstate(all="raise"):
            vals, _ = P._axis(lo, hi, 20, np.dtype(np.float64))
        assert vals[-1] == big and np.isfinite(vals).all() and vals[0] == (-big if lo else 0)


def test_domain_and_dtype_errors(uf):
    with pytest.raises(ac.SignatureError, match="no range for y"):
        ac.precision(uf, {x: (0, 1)})
    with pytest.raises(ac.SignatureError, match="not an argument"):
        ac.precision(uf, {x: (0, 1), y: (0, 1), "z": (0, 1)})
    with pytest.raises(ac.SignatureError, match="low <= high"):
        ac.precision(uf, {x: (1, 0), y: (0, 1)})
    with pytest.raises(ac.SignatureError, match="pair"):
        ac.precision(uf, {x: 3, y: (0, 1)})
    with pytest.raises(ac.SignatureError, match="at least one argument"):
        ac.precision(ac.compile(sp.Integer(2), [], backend="numpy"), {})
    with pytest.raises(ac.SignatureError, match="ac.compile"):
        ac.precision(lambda v: v, {x: (0, 1)})
    with pytest.raises(ac.DTypeError, match="float32 or float64"):
        ac.precision(uf, {x: (0, 1), y: (0, 1)}, dtype=np.int32)


def test_report_shows_a_table_and_a_plot(report):
    _, rep = report
    text = str(rep)
    assert text.splitlines()[0].split() == ["output", "computed", "by", "max", "ULP", "median",
                                            "ULP", "worst", "input", "non-finite"]
    assert len(text.splitlines()) == 1 + 4 + 1
    html = rep._repr_html_()
    assert html.count("<tr>") == 1 + 4 and '<img src="data:image/png;base64,' in html
    fig = rep.plot()
    assert len(fig.axes) == 2 * 2
    assert [a.get_xlabel() for a in fig.axes] == ["x", "y", "x", "y"]


def test_matplotlib_is_imported_only_to_plot():
    code = ("import sys, sympy as sp, algebrac as ac; x = sp.Symbol('x');"
            "r = ac.precision(ac.compile(sp.exp(x), [x], backend='numpy'), {x: (0, 1)}, n=20);"
            "str(r); print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
