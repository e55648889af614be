"""ac.function in the data stack: pickling, names, Dask (batch axes and chunked reductions)."""
from __future__ import annotations

import pickle

import cloudpickle
import numpy as np
import pytest

import algebrac as ac

n, m = ac.dim("n"), ac.dim("m")
X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
P = ac.sigmoid(X @ w)
LOSS = -ac.sum(t * ac.log(P) + (1 - t) * ac.log(1 - P))
GRAD = ac.grad(LOSS, w)


@pytest.fixture(scope="module")
def fn():
    # a sum over n, a sum over n per component, one value per row, and one free of n
    return ac.function([X, w, t], [LOSS, GRAD, X @ w, ac.sum(w * w)])


def reference(Xv, wv, tv):
    z = Xv @ wv
    return (np.sum(np.logaddexp(0, z) - tv * z), Xv.T @ (1 / (1 + np.exp(-z)) - tv), z,
            wv @ wv)


@pytest.fixture
def data(rng):
    Xv = rng.normal(size=(1000, 4))
    return Xv, rng.normal(size=4), (rng.uniform(size=1000) < 0.5).astype(float)


def test_function_pickles_by_formula_and_is_named(fn):
    assert fn.__name__.isidentifier()
    for dumps in (pickle.dumps, cloudpickle.dumps):
        blob = dumps(fn)
        assert b"ELF" not in blob
        assert pickle.loads(blob) is fn
    other = ac.function([X, w, t], [LOSS, GRAD], backend="numpy")
    assert other.__name__ != fn.__name__
    assert pickle.loads(pickle.dumps(other)).backend == "numpy"


def test_dask_chunks_along_rows_combine_sums_rows_and_constants(fn, data):
    import dask
    import dask.array as da

    Xv, wv, tv = data
    Xd = da.from_array(Xv, chunks=(300, 4))
    lazy = fn(Xd, wv, da.from_array(tv, chunks=250))  # t's chunks differ: sliced like X
    assert all(isinstance(a, da.Array) for a in lazy)
    assert lazy[2].chunks == ((300, 300, 300, 100),)
    got = dask.compute(*lazy)
    for g, r in zip(got, reference(Xv, wv, tv)):
        np.testing.assert_allclose(g, r, rtol=1e-12)
    # every output comes from one compiled call per chunk, named after the function
    keys = {k for a in lazy for k in dict(a.__dask_graph__()) if isinstance(k, str)}
    assert len([k for k in keys if k.startswith(fn.__name__ + "-")]) == 4


def test_dask_batch_axes_map_through_apply_gufunc(fn, rng):
    import dask.array as da

    Xb, tb = rng.normal(size=(6, 50, 4)), (rng.uniform(size=(6, 50)) < 0.5).astype(float)
    wv = rng.normal(size=4)
    lazy = fn(da.from_array(Xb, chunks=(2, 50, 4)), wv, da.from_array(tb, chunks=(2, 50)))
    assert lazy[0].chunks == ((2, 2, 2),)
    for got, want in zip(lazy, fn(Xb, wv, tb)):
        np.testing.assert_allclose(got.compute(), want, rtol=1e-13)


def test_outputs_that_cannot_combine_from_chunks_are_named(data):
    import dask.array as da

    Xv, wv, _ = data
    z = X @ w
    stats = ac.function([X, w], [ac.sum(z) / n, 3 * ac.sum(z), z - ac.sum(z), ac.max(z)],
                        backend="numpy")
    with pytest.raises(ac.ShapeError) as info:
        stats(da.from_array(Xv, chunks=(300, 4)), wv)
    message = str(info.value)
    assert "output 0" in message and "output 2" in message and "output 3" in message
    assert "output 1" not in message and "rechunk" in message
    # Chunks along m (the contraction): sums over m combine, the max of them does not.
    with pytest.raises(ac.ShapeError) as info:
        stats(da.from_array(Xv, chunks=(1000, 2)), wv)
    assert "output 3" in str(info.value) and "output 0" not in str(info.value)
    sums = ac.function([X, w], [3 * ac.sum(z), z - ac.sum(z)], backend="numpy")
    lazy = sums(da.from_array(Xv, chunks=(1000, 2)), wv)
    for got, want in zip(lazy, sums(Xv, wv)):
        np.testing.assert_allclose(got.compute(), want, rtol=1e-12, atol=1e-12)
