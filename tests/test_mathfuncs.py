"""The function table, row by row, end to end: compiled C against NumPy against mpmath.

Every row of ``algebrac.mathfuncs.FUNCTIONS`` is compiled (all rows in one ufunc, so one
build), run on points drawn from the row's sample ranges, and compared with the row's
NumPy function (the numpy backend), with ``ac.evaluate`` and with its mpmath definition.
The derivative of every row with respect to its last argument is compiled too (one more
build) and compared with mpmath's numerical derivative.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.parsing.sympy_parser import parse_expr

import algebrac
import algebrac as ac
from algebrac.mathfuncs import FUNCTIONS, REWRITES, resolve_names, row_for

HEADER = (Path(algebrac.__file__).parent / "cpu" / "algebrac_math.h").read_text()
ARGS = sp.symbols("a0:4", real=True)
ROWS = list(FUNCTIONS.values())
N = 48


def _ranges(row):
    return row.sample or ((-3, 3),) * row.nargs


def _expr(row):
    """The row's function of ARGS; an argument sampled at one point is that constant."""
    args = [sp.Integer(lo) if lo == hi else ARGS[k] for k, (lo, hi) in enumerate(_ranges(row))]
    return row.sympy(*args)


def _points(row, rng):
    return [np.full(N, float(lo)) if lo == hi else rng.uniform(lo, hi, N)
            for lo, hi in _ranges(row)] + [np.zeros(N)] * (4 - row.nargs)


def _mp(row, point):
    f = row.mpmath or (lambda *a: sp.N(row.sympy(*map(sp.Float, a)), 30))
    with mpmath.workdps(30):
        value = f(*[mpmath.mpf(v) for v in point[:row.nargs]])
    value = complex(value)
    return value.real if abs(value.imag) <= 1e-20 * max(1.0, abs(value)) else np.nan


def _close(got, want, rtol):
    ok = np.isnan(want) | np.isclose(got, want, rtol=rtol, atol=rtol * 1e-3)
    return ok.all(), np.flatnonzero(~ok)[:3]


HALF = (len(ROWS) + 1) // 2   # a ufunc has at most 64 operands: two builds


@pytest.fixture(scope="module")
def compiled():
    parts = [[_expr(row) for row in ROWS[:HALF]], [_expr(row) for row in ROWS[HALF:]]]
    return [(ac.compile(p, ARGS), ac.compile(p, ARGS, backend="numpy")) for p in parts]


@pytest.mark.parametrize("k", range(len(ROWS)), ids=[r.sympy.__name__ for r in ROWS])
def test_row_end_to_end(k, compiled):
    row = ROWS[k]
    assert re.fullmatch(r"[a-z_0-9]+", row.c64) and row.c32 == row.c64 + "f"
    assert (row.cuda64, row.cuda32) == ((None, None) if row.cython else (row.c64, row.c32))
    if row.c64.startswith("_ac_") and not row.cython:
        assert f"_ac_{row.c64[4:]}##SUF" in HEADER, f"{row.c64} missing from algebrac_math.h"
    if row.cython:
        from scipy.special import cython_special
        assert all(hasattr(cython_special, f) for f in row.scipy_names)
    pts = _points(row, np.random.default_rng(k))
    cpu, ref = compiled[k >= HALF]
    j = k - HALF * (k >= HALF)
    with np.errstate(all="ignore"):
        got_c, got_np = cpu(*pts)[j], ref(*pts)[j]
        got_ev = ac.evaluate(_expr(row), dict(zip(ARGS, pts)))
    want = np.array([_mp(row, p) for p in zip(*pts)])
    for name, got in (("C", got_c), ("numpy", got_np), ("evaluate", got_ev)):
        ok, bad = _close(np.broadcast_to(got, (N,)), want, 1e-12)
        assert ok, f"{name} {row.sympy.__name__} at {[p[bad] for p in pts]}: {got[bad]} vs {want[bad]}"


def _derivative_rows():
    out = []
    for row in ROWS:
        e = _expr(row)
        last = ARGS[row.nargs - 1]
        # Piecewise constant, or no closed form (d zeta(s)/ds).
        if row.sympy in (sp.floor, sp.ceiling, sp.sign, sp.Heaviside, sp.Mod, sp.zeta) \
                or last not in e.free_symbols:
            continue
        out.append((row, e, last))
    return out


def test_every_row_differentiates_and_compiles():
    rows = _derivative_rows()
    assert len(rows) < 60
    grads = [ac.grad(e, [v])[0] for _, e, v in rows]
    uf = ac.compile(grads, ARGS)
    rng = np.random.default_rng(7)
    for k, (row, e, v) in enumerate(rows):
        pts = [p[:6] for p in _points(row, rng)]
        with np.errstate(all="ignore"):
            got = np.broadcast_to(uf(*pts)[k], (6,))
        f = row.mpmath or (lambda *a: sp.N(row.sympy(*map(sp.Float, a)), 30))
        want = []
        for p in zip(*pts):
            args = [mpmath.mpf(a) for a in p[:row.nargs]]
            with mpmath.workdps(30):
                d = mpmath.diff(lambda t: f(*args[:-1], t), args[-1])
            want.append(float(d.real) if abs(complex(d).imag) < 1e-20 else np.nan)
        ok, bad = _close(got, np.array(want), 1e-9)
        assert ok, f"d {row.sympy.__name__}: {got[bad]} vs {np.array(want)[bad]}"


def test_rewrites_target_table_functions_only():
    x = sp.Symbol("x", positive=True)
    for func, rule in REWRITES.items():
        if func in (sp.hyper, sp.polylog, sp.betainc, sp.betainc_regularized):
            continue   # several arguments; covered by the corpus tests
        out = rule(*[x] * (2 if func in (sp.lowergamma, sp.uppergamma) else 1))
        for node in sp.preorder_traversal(out):
            if isinstance(node, sp.Function):
                assert row_for(type(node)) is not None, f"{func} rewrites to {node}"


def test_row_for_follows_subclasses():
    class myexp(sp.exp):
        pass

    assert row_for(myexp) is FUNCTIONS[sp.exp]
    assert row_for(sp.Function("f")) is None


def test_parsed_names_resolve_to_the_table():
    x = sp.Symbol("x")
    e = parse_expr("expm1(x) + log1p(x) + sigmoid(x) + besselj(1, x)")
    assert ac.compile(e, [x], backend="numpy")(0.5) == pytest.approx(
        np.expm1(0.5) + np.log1p(0.5) + 1 / (1 + np.exp(-0.5)) + 0.2422684576748739, rel=1e-14)
    assert resolve_names(sp.Function("mystery")(x)) == sp.Function("mystery")(x)
    assert ac.grad(parse_expr("expm1(x)"), [x]) == [sp.exp(x)]
    y = sp.Symbol("y")   # the wrappers' NumPy and SciPy names too
    assert resolve_names(parse_expr("arctan2(y, x) + jv(1, x) + binom(x, 2) + log_sigmoid(x)")) \
        == sp.atan2(y, x) + sp.besselj(1, x) + sp.binomial(x, 2) + ac.log_sigmoid(x)


def test_unsupported_error_lists_every_function():
    x = sp.Symbol("x")
    e = sp.Function("mystery")(x) + sp.hyper((1, 2, 3), (4, 5), x) + sp.zeta(x, 2) + sp.exp(x)
    with pytest.raises(ac.UnsupportedError) as info:
        ac.compile(e, [x], backend="numpy")
    text = str(info.value).split("cannot compile")[1]
    assert "mystery" in text and "hyper" in text and "Hurwitz" in text and "exp" not in text


# The public functions of the wrapper modules that are not a table function's wrapper.
HAND_WRITTEN = {
    "add", "subtract", "multiply", "divide", "floor_divide", "negative", "power", "clip",
    "where", "astype", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "table_wrapper",
    "logsumexp", "softmax", "log_softmax",
}


def _wrapper_of(row):
    return getattr(ac.special if row.api.special else ac, row.api.name)


def test_every_row_with_a_name_has_its_wrapper():
    """Each row's ``api`` is a public function made from that row: signature, the SymPy
    function it builds, its dtype rule on int tensors, and a docstring with its example."""
    rows = [row for row in ROWS if row.api is not None]
    assert len(rows) >= 60
    assert sorted(ac.special.__all__) == sorted(r.api.name for r in rows if r.api.special)
    assert {r.api.name for r in rows if not r.api.special} <= set(ac.expr.__all__)
    iv = ac.vector("k", 3, dtype="int64")
    for row in rows:
        wrapper, params = _wrapper_of(row), row.api.params.split()
        assert wrapper.row is row and wrapper.__name__ == row.api.name
        assert list(inspect.signature(wrapper).parameters) == params
        syms = sp.symbols(params)
        assert wrapper(*syms) == (row.api.make or row.sympy)(*syms)
        assert str(wrapper(*syms)) == row.api.value and ac.latex(wrapper(*syms)) == row.api.tex
        assert ">>> " in wrapper.__doc__ and row.api.tex in wrapper.__doc__
        out = wrapper(*[sp.Integer(2)] * (len(params) - 1), iv)
        assert out.dtype.value == ("int64" if row.api.arith else "float64"), row.api.name
        assert out.shape == (3,)
    with pytest.raises(ac.SignatureError, match=r"jv\(v, x\) takes 2"):
        ac.special.jv(1.0)
    with pytest.raises(ac.SignatureError, match="takes 1 argument"):
        ac.exp(1.0, 2.0)


def test_every_wrapper_is_a_row():
    """No math function is wrapped by hand: every public function of the wrapper modules
    is either made from a table row or one of the operations that are not table rows."""
    from algebrac.expr import elementwise, stable

    public = {name: getattr(mod, name) for mod in (elementwise, stable, ac.special)
              for name in mod.__all__ if callable(getattr(mod, name))}
    made = {name for name, f in public.items() if getattr(f, "row", None) is not None}
    assert set(public) - made == HAND_WRITTEN
    for name in made:
        assert public[name].row in ROWS and public[name].row.api.name == name
    a, b = sp.symbols("a b")
    for name in HAND_WRITTEN - {"table_wrapper", "astype", "clip", "logsumexp", "softmax",
                                "log_softmax"}:
        f = public[name]
        args = (a, b, a)[:len(inspect.signature(f).parameters)]
        value = f(*args)   # not a table function of its own arguments (floor_divide: floor(a/b))
        assert row_for(type(value)) is None or value.args != args, f"{name} wraps a table row"


def test_special_wrappers_evaluate_like_scipy():
    import scipy.special

    rows = [row for row in ROWS if row.api is not None and row.api.special]
    for row in rows:
        args = [sp.Rational(lo + hi, 2) for lo, hi in row.sample[:-1]]
        wrapper = _wrapper_of(row)
        v = ac.vector("v", 3)
        lo, hi = row.sample[-1]
        values = np.linspace(lo, hi, 5)[1:4]
        got = ac.evaluate(wrapper(*args, v), {v: values})
        want = getattr(scipy.special, row.api.name)
        if row.api.name == "sinc":   # SciPy's (NumPy's) sinc is sin(pi x)/(pi x); SymPy's sin(x)/x
            want = lambda x: np.sinc(x / np.pi)   # noqa: E731
        np.testing.assert_allclose(got, want(*[float(a) for a in args], values), rtol=1e-12)


def test_nan_through_every_row_is_quiet(compiled):
    """NaN raises no floating-point flag, as in NumPy and SciPy's ufuncs (whose C code
    compares NaNs but drops the flags): libm, the _ac_ helpers and SciPy's functions."""
    for cpu, _ in compiled:
        with np.errstate(all="raise"):
            outs = cpu(*[np.full(N, np.nan)] * 4)
        assert all(np.isnan(o).all() for o in outs)
