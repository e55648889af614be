"""Errors a user can trigger, and degradation without a compiler.

GUIDE reliability matrix, item 8: no compiler → NumPy fallback with one
warning; a broken compiler → a typed error carrying the generated source and
the compiler's log.  Plus the messages of the common mistakes (Errors and
diagnostics): each names what was wrong.

Every formula here is fresh (a constant of its own) because ``ac.compile``
memoises in process, and most tests need no compile at all.
"""
from __future__ import annotations

import stat
import textwrap
import warnings

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
import algebrac.ufunc as ufunc_mod
from algebrac.cpu import build
from algebrac.cpu.render import Source

x, y = sp.symbols("x y")


def _script(path, body: str):
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# -- broken and missing compilers ----------------------------------------------

@pytest.fixture
def broken_cc(tmp_path, monkeypatch, private_cache):
    """A 'compiler' that answers --version but fails every compile."""
    cc = _script(tmp_path / "broken-cc", """\
        if [ "$1" = "--version" ]; then echo "brokencc 1.0"; exit 0; fi
        echo "broken.c:3:7: error: simulated compiler failure" >&2
        echo "1 error generated." >&2
        exit 1
        """)
    monkeypatch.setenv("ALGEBRAC_CC", str(cc))
    return cc


def test_broken_compiler_raises_compile_error(broken_cc):
    with pytest.raises(ac.CompileError) as info:
        ac.compile(sp.sin(x) + 0.123, [x])
    err = info.value
    assert isinstance(err, ac.AlgebracError)
    assert "simulated compiler failure" in err.output
    assert "1 error generated." in err.output
    assert err.command[0] == str(broken_cc)
    assert any(str(a).endswith(".c") for a in err.command)
    # the message carries all of it, so a traceback alone is actionable
    message = str(err)
    assert "the C compiler failed (exit 1)" in message
    assert "simulated compiler failure" in message
    assert str(err.source_path) in message
    assert str(broken_cc) in message
    # the generated source is kept for inspection, and is what we generated
    # (the first of the per-dtype C files the compiler failed on)
    assert err.source_path.suffix == ".c"
    assert err.source_path.exists(), "CompileError points at a deleted source file"
    text = err.source_path.read_text()
    assert "_ac_loop_f" in text and "sinf(" in text
    # nothing half-built was published into the cache
    assert not [p for p in broken_cc.parent.joinpath("cache").rglob("meta.json")]


def test_broken_compiler_with_nocache(broken_cc, monkeypatch):
    monkeypatch.setenv("ALGEBRAC_NOCACHE", "1")
    with pytest.raises(ac.CompileError) as info:
        ac.compile(sp.cos(x) + 0.321, [x])
    assert "simulated compiler failure" in info.value.output
    assert info.value.source_path.exists()


def test_c_rejection_is_a_compile_error(private_cache):
    """The C compiler's own diagnostics reach the user (here: source that is not C)."""
    with pytest.raises(ac.CompileError) as info:
        build.load(Source("ufunc = (((\n"))
    err = info.value
    assert "the C compiler failed" in str(err)
    assert err.command[0] == build.config.c_compiler()
    assert "error" in err.output  # the compiler's own message
    assert err.source_path.read_text() == "ufunc = (((\n"


@pytest.fixture
def no_compiler(monkeypatch, private_cache):
    monkeypatch.setenv("ALGEBRAC_CC", "/nonexistent/cc")
    monkeypatch.setattr(ufunc_mod, "_fallback_warned", False)


def test_no_compiler_falls_back_to_numpy_with_one_warning(no_compiler, rng):
    assert not build.compiler_available()
    f1 = sp.exp(-x * y) * sp.sin(x) + 0.5151
    f2 = sp.Piecewise((sp.log(x), x > 0), (0, True)) + 0.6161
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        uf1 = ac.compile(f1, [x, y])
        uf2 = ac.compile([f2, f2 * y], [x, y], backend="cpu")
        uf3 = ac.compile(f1 + 1, [x, y])
    fallback = [w for w in caught if issubclass(w.category, ac.BackendFallbackWarning)]
    assert len(fallback) == 1, [str(w.message) for w in caught]
    assert "no working C compiler" in str(fallback[0].message)
    assert "numpy" in str(fallback[0].message)
    assert fallback[0].filename == __file__  # points at the user's compile() call
    for uf in (uf1, uf2, uf3):
        assert uf.backend == "numpy"
        assert uf.ufunc is None and uf.source is None
    xv, yv = rng.uniform(-2, 2, size=(2, 50))
    np.testing.assert_allclose(uf1(xv, yv), np.exp(-xv * yv) * np.sin(xv) + 0.5151,
                               rtol=1e-14)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.where(xv > 0, np.log(xv), 0) + 0.6161
    v, vy = uf2(xv, yv)
    np.testing.assert_allclose(v, ref, rtol=1e-14)
    np.testing.assert_allclose(vy, ref * yv, rtol=1e-14)
    np.testing.assert_allclose(uf3(xv, yv), np.exp(-xv * yv) * np.sin(xv) + 1.5151,
                               rtol=1e-14)
    # float32 in, float32 out, as on the cpu backend
    assert uf1(xv.astype(np.float32), np.float32(0.5)).dtype == np.float32


def test_fallback_is_not_remembered_once_a_compiler_appears(no_compiler, monkeypatch):
    f = sp.cos(x) * y + 0.7272
    with pytest.warns(ac.BackendFallbackWarning):
        slow = ac.compile(f, [x, y])
    assert slow.backend == "numpy"
    monkeypatch.delenv("ALGEBRAC_CC")
    fast = ac.compile(f, [x, y])
    assert fast.backend == "cpu" and isinstance(fast.ufunc, np.ufunc)
    assert ac.compile(f, [x, y]) is fast


def test_no_compiler_on_path(monkeypatch, private_cache, tmp_path, rng):
    """``cc`` missing from PATH (not just a bad ALGEBRAC_CC) is detected the same way."""
    monkeypatch.delenv("ALGEBRAC_CC", raising=False)
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(ufunc_mod, "_fallback_warned", False)
    build._compiler_version.cache_clear()  # it remembers the `cc` found earlier
    try:
        assert not build.compiler_available()
        with pytest.warns(ac.BackendFallbackWarning):
            uf = ac.compile(x * x + 0.7171, [x])
        assert uf.backend == "numpy"
        xv = rng.normal(size=10)
        np.testing.assert_allclose(uf(xv), xv * xv + 0.7171, rtol=1e-15)
    finally:
        monkeypatch.undo()
        build._compiler_version.cache_clear()
    assert build.compiler_available()


# -- error messages --------------------------------------------------------------

def test_missing_symbol_is_named():
    z = sp.Symbol("zeta_missing")
    with pytest.raises(ac.SignatureError, match="zeta_missing") as info:
        ac.compile(x + z, [x])
    assert "not among the arguments" in str(info.value)
    assert isinstance(info.value, TypeError)


def test_missing_symbol_in_second_output():
    with pytest.raises(ac.SignatureError, match=r"output 1 .*depends on y"):
        ac.compile([x, x * y], [x], backend="numpy")


def test_duplicate_args():
    with pytest.raises(ac.SignatureError, match="repeat x"):
        ac.compile(x + y, [x, y, x])


def test_non_symbol_args():
    with pytest.raises(ac.SignatureError, match="must be SymPy symbols"):
        ac.compile(x + 1, [x + 1])


def test_unknown_backend():
    with pytest.raises(ac.SignatureError, match=r"unknown backend 'gpu'.*cpu.*numpy"):
        ac.compile(x + 1, [x], backend="gpu")


def test_no_expressions():
    with pytest.raises(ac.SignatureError, match="at least one expression"):
        ac.compile([], [x], backend="numpy")


def test_condition_as_output_suggests_piecewise():
    with pytest.raises(ac.UnsupportedError, match="Piecewise"):
        ac.compile(x > 0, [x], backend="numpy")


@pytest.mark.parametrize("expr, name", [
    (sp.Function("mystery")(x), "mystery"),
    (sp.hyper((1, 2, 3), (4, 5), x), "hyper"),
    (sp.Integral(sp.exp(x * y), (y, 0, 1)), "Integral"),
])
def test_unsupported_node_is_named(expr, name):
    with pytest.raises(ac.UnsupportedError, match=name) as info:
        ac.compile([x, expr], [x], backend="numpy")
    assert "output 1" in str(info.value)


def test_complex_constant_is_unsupported():
    with pytest.raises(ac.UnsupportedError, match="complex"):
        ac.compile(x + sp.I, [x], backend="numpy")


@pytest.fixture(scope="module")
def compiled():
    """One compiled formula (cpu) and its reference-backend twin, for call-time errors."""
    f = x * y + 0.9191
    return {"cpu": ac.compile(f, [x, y]), "numpy": ac.compile(f, [x, y], backend="numpy")}


@pytest.fixture(params=["cpu", "numpy"])
def uf(request, compiled):
    uf = compiled[request.param]
    assert uf.backend == request.param
    return uf


def test_wrong_number_of_call_arguments(uf):
    with pytest.raises(ac.SignatureError, match=r"takes 2 argument\(s\) \(x, y\), got 1"):
        uf(1.0)
    with pytest.raises(ac.SignatureError, match="got 3"):
        uf(1.0, 2.0, 3.0)
    with pytest.raises(TypeError):  # SignatureError is a TypeError
        uf()


@pytest.mark.parametrize("bad", [
    np.ones(3) + 1j, np.ones(3, np.complex64), np.array(["a", "b", "c"]),
    np.ones(3, dtype=object),
], ids=["complex128", "complex64", "str", "object"])
def test_unsupported_input_dtype(uf, bad):
    with pytest.raises(ac.DTypeError, match="float32 or float64") as info:
        uf(bad, 1.0)
    assert isinstance(info.value, TypeError)


def test_non_broadcastable_shapes(uf):
    with pytest.raises(ac.ShapeError, match="broadcast") as info:
        uf(np.ones(3), np.ones(4))
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError):  # NumPy-style except clauses keep working
        uf(np.ones((2, 3)), np.ones((3, 2)))


def test_out_of_the_wrong_shape(uf):
    with pytest.raises(ac.ShapeError, match="broadcast"):
        uf(np.ones(3), 2.0, out=np.empty(4))


def test_errors_leave_correct_results_behind(uf):
    """After the errors above, the same object still computes (no poisoned state)."""
    with pytest.raises(ac.ShapeError):
        uf(np.ones(3), np.ones(4))
    np.testing.assert_allclose(uf(np.arange(3.0), 2.0), np.arange(3.0) * 2 + 0.9191)


def test_exception_tree():
    assert issubclass(ac.ShapeError, ValueError) and issubclass(ac.ShapeError, ac.AlgebracError)
    assert issubclass(ac.DTypeError, TypeError) and issubclass(ac.DTypeError, ac.AlgebracError)
    assert issubclass(ac.BackendFallbackWarning, Warning)
    for name in ("SignatureError", "UnsupportedError", "CompileError", "CacheError",
                 "VerifyError", "BackendUnavailable"):
        assert issubclass(getattr(ac, name), ac.AlgebracError), name
    assert "bug in algebrac" in str(ac.VerifyError("x"))
    # CompileError's excerpt keeps long logs readable
    long = "\n".join(f"line {k}" for k in range(100))
    err = ac.CompileError("failed", source_path="/s.pyx", command=["cc", "a.c"], output=long)
    assert "line 0" in str(err) and "line 99" not in str(err) and "60 more lines" in str(err)
    assert err.output == long  # the full log stays available
