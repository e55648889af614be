"""A large formula builds its float32 loop on the first float32 call (issue 14).

The thresholds are patched down so a small formula counts as large (and is cut
into parts spread over several C files); the tests count builds from the
``ALGEBRAC_DEBUG=1`` log lines, never seconds.
"""
from __future__ import annotations

import pickle
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.cpu import parts, render

x, y = sp.symbols("x y")
HOW = re.compile(r"algebrac: _ac_[0-9a-f]{16}: (.+?) in [0-9.]+s$", re.MULTILINE)


def hows(text: str) -> list:
    return HOW.findall(text)


def formula(c: float) -> list:
    terms = [sp.log(1 + (x * k / 9) ** 2) * sp.cos(y / k) - sp.sin(x * y / k) / k
             for k in range(1, 25)]
    return [sp.Add(*terms) + c, sp.Add(*terms).diff(x), sp.exp(-x * y)]


def data():
    a = np.concatenate([np.linspace(-3, 3, 701), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    return a, np.roll(a, 3)


@pytest.fixture
def large(monkeypatch, private_cache):
    """Every formula counts as large; its float64 body is cut into parts, one per file."""
    monkeypatch.setattr(render, "LAZY_STATEMENTS", 0)
    monkeypatch.setattr(render, "SPLIT_STATEMENTS", 17)
    monkeypatch.setattr(render, "PARTS_PER_FILE", 1)
    monkeypatch.setattr(parts, "PART_STATEMENTS", 17)
    monkeypatch.setenv("ALGEBRAC_DEBUG", "1")
    return private_cache


@pytest.mark.slow
def test_float32_loop_is_built_on_first_use(large, capfd, tmp_path):
    lazy = ac.compile(formula(0.3001), [x, y])
    assert hows(capfd.readouterr().err) == ["cache miss, built"]  # float64 only
    assert lazy._float32_pending
    src = lazy.source
    assert "_ac_set_loop_f" in src and "parts_d1.c" in src and "_ac_loop_f_ptr" in src
    assert "float32 loop: a library of its own" in src and "_ac_block_f" in src
    a, b = data()
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    with np.errstate(all="ignore"):
        want = sp.lambdify([x, y], formula(0.3001), "numpy")(a[:701], b[:701])
        for got, ref in zip(lazy(a, b), want):
            np.testing.assert_allclose(got[:701], ref, rtol=1e-12, atol=1e-12)
        # The raw ufunc before the float32 module exists: float64, rounded once.
        raw = lazy.ufunc(a32, b32)
        wide = lazy(a32.astype(np.float64), b32.astype(np.float64))
        assert hows(capfd.readouterr().err) == [] and lazy._float32_pending
        for got, ref in zip(raw, wide):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, ref.astype(np.float32))
        # The first float32 call through the wrapper builds the float32 module.
        first = lazy(a32, b32)
        assert hows(capfd.readouterr().err) == ["cache miss, built"]
        assert not lazy._float32_pending and first[0].dtype == np.float32
        eager = ac.compile(formula(0.3001), [x, y], lazy=False)
        assert hows(capfd.readouterr().err) == ["cache miss, built"]
        assert "_ac_set_loop_f" not in eager.source and not eager._float32_pending
        assert eager.__reduce__()[1][2]["lazy"] is False and "lazy" not in lazy.__reduce__()[1][2]
        for args in ((a32, b32), (a32[::-3], b32[::3]), (a32[:, None], b32[None, :20]),
                     (a, b), (a[::2], 0.5)):
            for got, ref in zip(lazy(*args), eager(*args)):
                np.testing.assert_array_equal(got, ref)  # bit-identical, NaN where NaN
        for got, ref in zip(lazy(a, b, dtype=np.float32), first):
            np.testing.assert_array_equal(got, ref)
        for got, ref in zip(first, want):
            np.testing.assert_allclose(got[:701], ref, rtol=2e-5, atol=2e-4)
    assert hows(capfd.readouterr().err) == []  # nothing more was built

    # A fresh process: one formula's float32 module was built (loaded from the cache
    # at once), the other's was not (built at its first float32 call there).
    other = ac.compile(formula(0.3002), [x, y])
    with np.errstate(all="ignore"):
        other(a, b)
    assert hows(capfd.readouterr().err) == ["cache miss, built"]
    (tmp_path / "ufuncs.pkl").write_bytes(pickle.dumps([lazy, other]))
    child = textwrap.dedent(f"""
        import pickle, numpy as np
        lazy, other = pickle.loads(open({str(tmp_path / "ufuncs.pkl")!r}, "rb").read())
        print("PENDING", lazy._float32_pending, other._float32_pending, flush=True)
        a = np.load({str(tmp_path / "a.npy")!r}).astype(np.float32)
        with np.errstate(all="ignore"):
            np.save({str(tmp_path / "got.npy")!r}, np.stack(lazy(a, a[::-1]) + other(a, a[::-1])))
    """)
    np.save(tmp_path / "a.npy", a)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=240, env=_child_env(large))
    assert proc.returncode == 0, proc.stderr
    assert "PENDING False True" in proc.stdout
    assert hows(proc.stderr) == ["cache hit", "cache hit", "cache hit", "cache miss, built"]
    with np.errstate(all="ignore"):
        want = np.stack(eager(a32, a32[::-1]) + other(a32, a32[::-1]))
    np.testing.assert_array_equal(np.load(tmp_path / "got.npy"), want)


def _child_env(cache) -> dict:
    import os

    return dict(os.environ, ALGEBRAC_CACHE_DIR=str(cache), ALGEBRAC_DEBUG="1",
                ALGEBRAC_PROGRESS="0")
