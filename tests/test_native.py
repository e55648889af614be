"""The ctypes loader of generated libraries (algebrac/cpu/native.py)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special.cython_special as cs
import sympy as sp

import algebrac as ac
from algebrac.cpu import native
from algebrac.cpu.vecfunc import compile_vector

x, y = sp.symbols("x y")


def test_pointers_come_only_from_known_modules():
    with pytest.raises(ac.CacheError, match="never links"):
        native._pointer("os", "system", -1)
    # A fused SciPy function: the variant of two doubles, not the complex one.
    jv = native._pointer("scipy.special.cython_special", "jv", 2)
    cap = cs.__pyx_capi__["__pyx_fuse_1jv"]
    assert jv == native._capsule_pointer(cap, native._capsule_name(cap)) != 0
    with pytest.raises(ac.BackendUnavailable, match="jv of 5 doubles"):
        native._pointer("scipy.special.cython_special", "jv", 5)


def test_vector_library_checks_its_arrays(private_cache):
    lib = compile_vector([x * y, sp.besselj(x, y)], [x, y])
    assert (lib.NIN, lib.NOUT, lib.ufunc, lib.gufunc) == (2, 2, None, None)
    out = np.empty(2)
    lib.evaluate(np.array([1.0, 2.5]), out)
    np.testing.assert_allclose(out, [2.5, 0.4970941024642741], rtol=1e-15)
    for inp, o in ((np.zeros(3), out), (np.zeros(2, np.float32), out),
                   (np.zeros(4)[::2], out), ([1.0, 2.0], out)):
        with pytest.raises(ValueError, match="2 float64 inputs and 2 float64 outputs"):
            lib.evaluate(inp, o)
    frozen = np.empty(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        lib.evaluate(np.ones(2), frozen)
