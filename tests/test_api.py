"""DESIGN's public-API block, one line at a time (the parts that exist so far)."""
from __future__ import annotations

import numpy as np
import sympy as sp

import algebrac as ac


def test_compile_block_from_design():
    x, y = sp.symbols("x y")
    f = sp.exp(-x**2 - y**2) * sp.sin(x * y)
    uf = ac.compile(f, [x, y])
    grid = np.linspace(0, 1, 10**4)
    np.testing.assert_allclose(uf(grid, 0.5), np.exp(-grid**2 - 0.25) * np.sin(grid * 0.5),
                               rtol=1e-14, atol=1e-300)
    assert isinstance(uf.ufunc, np.ufunc) and (uf.ufunc.nin, uf.ufunc.nout) == (2, 1)
    fg = ac.compile([f, sp.diff(f, x), sp.diff(f, y)], [x, y])
    value, dx, dy = fg(grid, 0.5)
    np.testing.assert_allclose(value, uf(grid, 0.5), rtol=1e-15)
    ref = sp.lambdify([x, y], sp.diff(f, x))(grid, 0.5)
    np.testing.assert_allclose(dx, ref, rtol=1e-13, atol=1e-16)


def test_exported_names():
    for name in ("compile", "Ufunc", "cache", "DType", "AlgebracError", "ShapeError",
                 "DTypeError", "SignatureError", "UnsupportedError", "CompileError",
                 "CacheError", "VerifyError", "BackendUnavailable", "get_num_threads",
                 "set_num_threads"):
        assert hasattr(ac, name), name
    assert issubclass(ac.ShapeError, ValueError) and issubclass(ac.DTypeError, TypeError)


def test_repr_and_latex_and_listings():
    x, y = sp.symbols("x y")
    uf = ac.compile([sp.sin(x) * y, x + y], [x, y], backend="numpy")
    assert repr(uf) == "<algebrac.Ufunc (x, y) -> (y*sin(x), x + y), backend='numpy'>"
    assert uf._repr_latex_() == (r"$\displaystyle \begin{aligned} f_{0} &= y \sin{\left(x \right)} "
                                 r"\\ f_{1} &= x + y \end{aligned}$")
    assert repr(uf.kernel).startswith("kernel _ac_kernel_d(")
    assert uf.kernel._repr_html_().startswith("<pre>kernel")


def test_threads_can_be_bounded():
    old = ac.get_num_threads()
    try:
        ac.set_num_threads(1)
        assert ac.get_num_threads() == 1
    finally:
        ac.set_num_threads(old)
    import pytest

    with pytest.raises(ValueError):
        ac.set_num_threads(0)


def test_demo_runs(capsys):
    from algebrac.__main__ import main

    assert main(["demo", "--size", "20000"]) == 0
    out = capsys.readouterr().out
    assert "faster" in out and "max abs difference" in out
