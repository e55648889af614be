"""Shared helpers for the tensor tests: random arrays and comparison against NumPy."""
from __future__ import annotations

import numpy as np
import pytest

import algebrac as ac


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def check(t, bindings, expected, *, rtol=1e-12, atol=1e-12):
    """``ac.evaluate(t, bindings)`` equals NumPy's ``expected`` in shape, dtype and values."""
    got = ac.evaluate(t, bindings)
    expected = np.asarray(expected)
    assert np.shape(got) == expected.shape, (np.shape(got), expected.shape, str(t))
    assert np.asarray(got).dtype == expected.dtype, (np.asarray(got).dtype, expected.dtype)
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    return got


@pytest.fixture
def assert_eval():
    return check
