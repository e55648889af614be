"""dask.distributed: a LocalCluster of 2 worker processes, each with its own empty cache."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import algebrac as ac

pytestmark = pytest.mark.slow

z, t, x, y = sp.symbols("z t x y")
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
    simple = ac.compile(sp.sin(x) * sp.exp(-y), [x, y])
    a, b = rng.normal(size=1000), rng.normal(size=1000)
    # Many tasks at once on workers whose caches are empty: each compiles once.
    futures = [client.submit(simple, a + k, b, pure=False) for k in range(16)]
    for k, fut in enumerate(futures):
        np.testing.assert_allclose(fut.result(), np.sin(a + k) * np.exp(-b), rtol=1e-14,
                                   atol=1e-300)
    assert set(client.run(_cache_entries).values()) == {1}

    # A lazy Dask array computed on the cluster.
    xs = da.from_array(rng.normal(size=(4000, 3)), chunks=(1000, 3))
    got = simple(xs, 0.25).compute()
    np.testing.assert_allclose(got, np.sin(xs.compute()) * np.exp(-0.25), rtol=1e-14)

    # Logistic regression on chunked data: the loss is the sum of per-chunk losses,
    # the gradient X^T (sigmoid(Xw) - t) the sum of per-chunk products.
    n, m = 20_000, 5
    X_np = rng.normal(size=(n, m))
    w = rng.normal(size=m)
    t_np = (rng.uniform(size=n) < 0.5).astype(float)
    X = da.from_array(X_np, chunks=(5000, m))
    labels = da.from_array(t_np, chunks=5000)
    losses, residual = uf(X @ w, labels)
    loss, grad = da.compute(losses.sum(), (X * residual[:, None]).sum(axis=0))
    zz = X_np @ w
    np.testing.assert_allclose(loss, np.sum(np.logaddexp(0, zz) - t_np * zz), rtol=1e-12)
    np.testing.assert_allclose(grad, X_np.T @ (1 / (1 + np.exp(-zz)) - t_np), rtol=1e-11)
    assert set(client.run(_cache_entries).values()) == {2}
