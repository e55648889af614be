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


def _calls(lazy, name):
    """The keys of the compiled-call tasks in the graphs of ``lazy``."""
    return {k for a in lazy for k in dict(a.__dask_graph__())
            if isinstance(k, tuple) and k[0].startswith(name + "-")}


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
    assert len(_calls(lazy, fn.__name__)) == 4


def test_dask_batch_axes_map_blockwise(fn, rng):
    import dask.array as da

    Xb, tb = rng.normal(size=(6, 50, 4)), (rng.uniform(size=(6, 50)) < 0.5).astype(float)
    wv = rng.normal(size=4)
    lazy = fn(da.from_array(Xb, chunks=(2, 50, 4)), wv, da.from_array(tb, chunks=(2, 50)))
    assert lazy[0].chunks == ((2, 2, 2),)
    for got, want in zip(lazy, fn(Xb, wv, tb)):
        np.testing.assert_allclose(got.compute(), want, rtol=1e-13)


def test_dask_batch_axes_and_chunked_rows_together(fn, rng):
    """Batch blocks x row chunks: rows concatenate and sums add within each batch block;
    t broadcasts over a batch axis it lacks and is chunked unlike X."""
    import dask
    import dask.array as da

    Xb = rng.normal(size=(3, 5, 90, 4))
    wb, tv = rng.normal(size=(5, 4)), (rng.uniform(size=90) < 0.5).astype(float)
    lazy = fn(da.from_array(Xb, chunks=(1, 2, 40, 4)), da.from_array(wb, chunks=(3, 4)),
              da.from_array(tv, chunks=30))
    # batch axes chunk as Dask unifies them; rows as X's (the input with most row chunks)
    assert lazy[2].chunks == ((1, 1, 1), (2, 1, 1, 1), (40, 40, 10))
    want = fn(Xb, wb, tv)
    for got, w in zip(dask.compute(*lazy), want):
        assert got.shape == w.shape
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-13)
    assert len(_calls(lazy, fn.__name__)) == 3 * 4 * 3  # batch blocks x row chunks


def test_dask_extrema_combine_and_the_rest_rechunk_with_a_warning(rng):
    """max/min/log-sum-exp over n combine from chunks (NaN included, as the whole array
    gives); a mean, a centring, a fixed row and a softmax cannot, and are computed from
    one chunk along n with a PerformanceWarning that names them."""
    import dask
    import dask.array as da
    from dask.array.core import PerformanceWarning

    z = X @ w
    outs = [ac.max(z), ac.min(z), ac.logsumexp(z), 3 * ac.sum(z), ac.sum(z) / n,
            z - ac.sum(z), X[0], ac.softmax(z)]
    stats = ac.function([X, w], outs, backend="numpy")
    Xb, wb = rng.normal(size=(2, 300, 3)), rng.normal(size=(2, 3))
    Xb[1, 123, 0] = np.nan  # NaN in a middle chunk of the second batch element
    Xd = da.from_array(Xb, chunks=(1, 70, 3))
    want = stats(Xb, wb)
    with pytest.warns(PerformanceWarning) as record:
        lazy = stats(Xd, wb)
    message = str(record[0].message)
    assert all(f"output {j}" in message for j in (4, 5, 6, 7))
    assert not any(f"output {j} " in message for j in (0, 1, 2, 3))
    for got, w_ in zip(dask.compute(*lazy), want):
        np.testing.assert_allclose(got, w_, rtol=1e-12, atol=1e-12)  # NaN where NaN
    assert np.isnan(want[0][1]) and np.isfinite(want[0][0])
    # Chunks along m (the contraction) and n: m is rechunked, n stays split.
    with pytest.warns(PerformanceWarning, match="core dimension"):
        lazy = stats(da.from_array(Xb, chunks=(2, 100, 2)), wb)
    for got, w_ in zip(dask.compute(*lazy), want):
        np.testing.assert_allclose(got, w_, rtol=1e-12, atol=1e-12)


def test_chunk_combination_is_chosen_only_when_sound():
    """The kind of each output along n, read off its formula."""
    from algebrac.dask import _combine_kind

    z = X @ w
    kinds = {"rows": z, "sum": LOSS, "same": ac.sum(w * w), "max": ac.max(z),
             "logsumexp": ac.logsumexp(z)}
    for kind, out in kinds.items():
        assert _combine_kind(out, n) == kind, kind
    assert _combine_kind(GRAD, n) == "sum"
    # reads along n through something else than the index running over n
    for out in (X[0], ac.sum(z) * X[0, 0], z - z[0], ac.sum(z) / n, 2 * ac.max(z),
                ac.sum(z) + ac.max(z)):
        assert _combine_kind(out, n) is None, out
