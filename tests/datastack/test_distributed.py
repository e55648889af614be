"""dask.distributed: a LocalCluster of 2 worker processes, each with its own empty cache."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import algebrac as ac

pytestmark = pytest.mark.slow

z, t = sp.symbols("z t")
# The logistic loss per sample and its derivative in the logit z: one fused pass.
LOSS = [sp.log(1 + sp.exp(z)) - t * z, 1 / (1 + sp.exp(-z)) - t]


def _private_cache(root: str, dask_worker=None) -> str:
    path = Path(root) / f"worker-{os.getpid()}"
    os.environ["ALGEBRAC_CACHE_DIR"] = str(path)  # read at each compile (algebrac.config)
    return str(path)


def _cache_entries(dask_worker=None) -> int:
    return len(list(Path(os.environ["ALGEBRAC_CACHE_DIR"]).rglob("meta.json")))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    distributed = pytest.importorskip("distributed")
    import sys

    import cloudpickle

    # The helpers below travel by value: workers cannot import this test module (pytest
    # does not put the repository on sys.path, and spawned workers copy sys.path).
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    root = tmp_path_factory.mktemp("worker-caches")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        caches = client.run(_private_cache, str(root))
        assert len(set(caches.values())) == 2
        yield client


def test_submit_compute_and_chunked_loss_gradient(client, rng):
    import dask.array as da

    uf = ac.compile(LOSS, [z, t])
    a, b = rng.normal(size=1000), (rng.uniform(size=1000) < 0.5).astype(float)
    # Many tasks at once on workers whose caches are empty: each compiles once.
    futures = [client.submit(uf, a + k, b, pure=False) for k in range(16)]
    for k, fut in enumerate(futures):
        value, residual = fut.result()
        # softplus(z) - z cancels for t = 1: an absolute error of a few ulp(z)
        np.testing.assert_allclose(value, np.logaddexp(0, a + k) - b * (a + k), rtol=1e-14,
                                   atol=1e-14)
        np.testing.assert_allclose(residual, 1 / (1 + np.exp(-(a + k))) - b, rtol=1e-14,
                                   atol=4e-16)  # sigmoid(z) - 1 cancels: ulp(1) scale
    assert set(client.run(_cache_entries).values()) == {1}

    # Logistic regression on row-chunked data, through a lazy Dask array of logits
    # and the elementwise ufunc ...
    nrows, ncols = 20_000, 5
    X_np, w = rng.normal(size=(nrows, ncols)), rng.normal(size=ncols)
    t_np = (rng.uniform(size=nrows) < 0.5).astype(float)
    X = da.from_array(X_np, chunks=(5000, ncols))
    labels = da.from_array(t_np, chunks=5000)
    losses, residual = uf(X @ w, labels)
    loss, grad = da.compute(losses.sum(), (X * residual[:, None]).sum(axis=0))
    zz = X_np @ w
    want_loss, want_grad = (np.sum(np.logaddexp(0, zz) - t_np * zz),
                            X_np.T @ (1 / (1 + np.exp(-zz)) - t_np))
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-11)
    # ... and through ac.function: one compiled call per chunk, losses and gradients summed.
    n, m = ac.dim("n"), ac.dim("m")
    Xs, ws, ts = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
    p = ac.sigmoid(Xs @ ws)
    total = -ac.sum(ts * ac.log(p) + (1 - ts) * ac.log(1 - p))
    fn = ac.function([Xs, ws, ts], [total, ac.grad(total, ws)])
    loss_f, grad_f = da.compute(*fn(X, w, labels))
    np.testing.assert_allclose(loss_f, want_loss, rtol=1e-12)
    np.testing.assert_allclose(grad_f, want_grad, rtol=1e-11)
    # Batch blocks and row chunks together (two halves of the data as a batch axis).
    Xb, tb = X_np.reshape(2, nrows // 2, ncols), t_np.reshape(2, nrows // 2)
    lazy = fn(da.from_array(Xb, chunks=(1, 2500, ncols)), w, da.from_array(tb, chunks=(1, 4000)))
    for got, want in zip(da.compute(*lazy), fn(Xb, w, tb)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert set(client.run(_cache_entries).values()) == {2}
