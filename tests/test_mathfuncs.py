"""The function table is complete: no function can be half-added."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import algebrac
from algebrac.mathfuncs import FUNCTIONS, REWRITES, row_for

HEADER = (Path(algebrac.__file__).parent / "cpu" / "algebrac_math.h").read_text()


def _args(row, value):
    # polygamma's first argument is its order; algebrac computes order 0 only.
    return [0, value] if row.sympy is sp.polygamma else [value] * row.nargs


@pytest.mark.parametrize("row", list(FUNCTIONS.values()), ids=lambda r: r.sympy.__name__)
def test_row_is_complete(row):
    assert callable(row.numpy)
    assert row.nargs in (1, 2, 3)
    assert re.fullmatch(r"[a-z_0-9]+", row.c64) and re.fullmatch(r"[a-z_0-9]+", row.c32)
    assert row.c32 == row.c64 + "f", "float32 variant follows C's naming"
    if row.c64.startswith("_ac_"):
        assert f"_ac_{row.c64[4:]}##SUF" in HEADER, f"{row.c64} missing from algebrac_math.h"
    with np.errstate(all="ignore"):
        value = row.numpy(*_args(row, np.array([0.5, 1.75])))
    assert value.dtype == np.float64 and value.shape == (2,)
    expected = [complex(sp.expand_func(row.sympy(*_args(row, sp.Float(v)))).evalf())
                for v in (0.5, 1.75)]
    for got, want in zip(value, expected):
        if abs(want.imag) < 1e-15:  # outside the real domain NumPy gives NaN
            assert got == pytest.approx(want.real, rel=1e-12, abs=1e-300)


def test_rewrites_target_table_functions_only():
    x = sp.Symbol("x", positive=True)
    for func, rule in REWRITES.items():
        out = rule(x)
        for node in sp.preorder_traversal(out):
            if isinstance(node, sp.Function):
                assert row_for(type(node)) is not None, f"{func} rewrites to {node}"
        assert abs(complex(func(x).subs(x, 1.7).evalf()) - complex(out.subs(x, 1.7).evalf())) < 1e-12


def test_row_for_follows_subclasses():
    class myexp(sp.exp):
        pass

    assert row_for(myexp) is FUNCTIONS[sp.exp]
    assert row_for(sp.Function("f")) is None
