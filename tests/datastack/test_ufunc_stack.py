"""Compiled ufuncs in the Python data stack: names, pickling, process pools, Dask, xarray."""
from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import sympy as sp

import algebrac as ac

x, y = sp.symbols("x y")
# Two compiles serve the whole module: one output, and three outputs.
F1 = sp.exp(-x / 3) * sp.cos(y) + sp.Rational(1, 7)
F3 = [x * y, x + y, sp.sin(x) * sp.exp(-y * y)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def uf1():
    return ac.compile(F1, [x, y])


@pytest.fixture(scope="module")
def uf3():
    return ac.compile(F3, [x, y])


def ref1(a, b):
    return np.exp(-a / 3) * np.cos(b) + 1 / 7


def ref3(a, b):
    return a * b, a + b, np.sin(a) * np.exp(-b * b)


def test_names_are_readable_unique_identifiers(uf1, uf3):
    assert uf1.__name__.startswith("f_1_7_exp_x_3_cos_y_")
    assert uf3.__name__.startswith("x_y_x_y_exp_y_2_sin_x_")
    for uf in (uf1, uf3):
        assert uf.__name__.isidentifier() and uf.__name__.isascii()
        assert uf.ufunc.__name__ == uf.__name__  # the numpy.ufunc says it too
        assert uf.__name__ not in uf.source  # not in the source: formulas rendering alike
        #                                      share one module (and cache entry)
    # Same text, different formula (argument order): different names.
    swapped = ac.compile(F1, [y, x], backend="numpy")
    assert swapped.__name__ != uf1.__name__
    # The name is a pure function of the formula and options.
    assert ac.compile(F1, [x, y], backend="numpy").__name__ == uf1.__name__
    assert ac.compile(F1, [x, y], backend="numpy", stabilize=False).__name__ != uf1.__name__
    weird = sp.Symbol("α β")
    assert ac.compile(weird + 1, [weird], backend="numpy").__name__.isidentifier()


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_pickle_round_trip_in_process(uf1, uf3, dumps):
    for uf in (uf1, uf3):
        blob = dumps(uf)
        assert b"ELF" not in blob  # by formula, never machine code
        assert pickle.loads(blob) is uf  # the front-door memo answers
    numpy_backend = ac.compile(F3, [x, y], backend="numpy")
    again = pickle.loads(dumps(numpy_backend))
    assert again.backend == "numpy" and again(1.0, 2.0) == numpy_backend(1.0, 2.0)


def _worker_cold_cache_script(n_threads: int) -> str:
    return textwrap.dedent(f"""
        import json, pickle, sys, threading
        import numpy as np
        blob = sys.stdin.buffer.read()
        results, errors = [None] * {n_threads}, []
        barrier = threading.Barrier({n_threads})
        def work(k):
            try:
                barrier.wait()
                uf = pickle.loads(blob)
                results[k] = (id(uf), uf(np.arange(5.0), 0.5).tolist())
            except Exception as err:
                errors.append(repr(err))
        threads = [threading.Thread(target=work, args=(k,)) for k in range({n_threads})]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps({{"results": results, "errors": errors}}))
    """)


@pytest.mark.slow
def test_cold_worker_unpickles_many_tasks_and_compiles_once(uf1, tmp_path):
    """A fresh process with an empty cache: 8 threads unpickle at once, one build."""
    cache = tmp_path / "cold"
    env = dict(os.environ, ALGEBRAC_CACHE_DIR=str(cache), ALGEBRAC_DEBUG="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", _worker_cold_cache_script(8)],
                          input=pickle.dumps(uf1), capture_output=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert not report["errors"], report["errors"]
    assert len({r[0] for r in report["results"]}) == 1  # one object for every task
    expected = ref1(np.arange(5.0), 0.5)
    for _, values in report["results"]:
        np.testing.assert_allclose(values, expected, rtol=1e-14, atol=4e-16)
    log = proc.stderr.decode()
    assert log.count("cache miss, built") == 1, log
    assert len(list(cache.rglob("meta.json"))) == 1


@pytest.mark.slow
def test_process_pool_and_joblib(uf1, uf3):
    import joblib

    chunks = [np.linspace(-1, 1, 1000) + k for k in range(4)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        out = pool.starmap(uf1, [(c, 0.25) for c in chunks])
        out3 = pool.starmap(uf3, [(c, 0.25) for c in chunks[:2]])
    for c, o in zip(chunks, out):
        np.testing.assert_allclose(o, ref1(c, 0.25), rtol=1e-14, atol=4e-16)
    for c, o in zip(chunks, out3):
        for got, want in zip(o, ref3(c, 0.25)):
            np.testing.assert_allclose(got, want, rtol=1e-15)
    got = joblib.Parallel(n_jobs=2)(joblib.delayed(uf1)(c, 0.5) for c in chunks)
    for c, o in zip(chunks, got):
        np.testing.assert_allclose(o, ref1(c, 0.5), rtol=1e-14, atol=4e-16)
    # A tensor program through joblib's process pool too.
    v = ac.vector("v", ac.dim("n"))
    norm2 = ac.function([v], ac.sum(v * v))
    norms = joblib.Parallel(n_jobs=2)(joblib.delayed(norm2)(c) for c in chunks)
    np.testing.assert_allclose(norms, [c @ c for c in chunks], rtol=1e-13)


def test_dask_one_and_several_outputs(uf1, uf3, rng):
    import dask
    import dask.array as da

    a_np = rng.uniform(-2, 2, (40, 30))
    b_np = rng.uniform(-2, 2, (30,))
    a = da.from_array(a_np, chunks=(15, 10))
    one = uf1(a, b_np)  # a NumPy argument broadcasts against the Dask one
    assert isinstance(one, da.Array) and one.dtype == np.float64
    assert one.name.startswith(uf1.__name__)
    np.testing.assert_allclose(one.compute(), ref1(a_np, b_np), rtol=1e-14, atol=4e-16)
    outs = uf3(a, da.from_array(b_np, chunks=7))  # mismatched chunks are unified
    assert isinstance(outs, tuple) and len(outs) == 3
    # One blockwise pass shared by the outputs, each output an item of it.
    passes = {name for o in outs for name in o.dask.layers if name.startswith(uf3.__name__ + "-")}
    assert len(passes) == 1
    assert [o.name.split("-")[0] for o in outs] == [f"{uf3.__name__}_{k}" for k in range(3)]
    for got, want in zip(dask.compute(*outs), ref3(a_np, b_np)):
        np.testing.assert_allclose(got, want, rtol=1e-14)
    # The raw numpy.ufunc on a Dask array: Dask's __array_ufunc__ finds ours too.
    raw = uf3.ufunc(a, 2.0)
    assert isinstance(raw, tuple) and all(isinstance(r, da.Array) for r in raw)
    for got, want in zip(dask.compute(*raw), ref3(a_np, 2.0)):
        np.testing.assert_allclose(got, want, rtol=1e-14)
    assert isinstance(uf1.ufunc(a, 2.0), da.Array)
    # float32 stays float32; dtype= passes through; out= has no meaning here.
    f32 = uf1(a.astype(np.float32), np.float32(0.5))
    assert f32.dtype == np.float32 and f32.compute().dtype == np.float32
    assert uf1(a.astype(np.float32), 0.5, dtype=np.float64).dtype == np.float64
    with pytest.raises(ac.SignatureError, match="out"):
        uf1(a, 0.5, out=np.empty(a.shape))


def test_xarray_keeps_coordinates_and_runs_parallelized(uf1, uf3):
    import xarray as xr

    t = np.linspace(0, 1, 12)
    a = xr.DataArray(np.sin(7 * t), dims="t", coords={"t": t}, name="a")
    b = xr.DataArray(np.arange(3.0), dims="k", coords={"k": [10, 20, 30]})
    one = uf1(a, b)  # broadcasting by dimension name, NumPy protocol
    assert one.dims == ("t", "k") and np.array_equal(one.coords["k"], [10, 20, 30])
    np.testing.assert_allclose(one.values, ref1(a.values[:, None], b.values), rtol=1e-14, atol=4e-16)
    three = uf3(a, 2.0)
    assert len(three) == 3 and all(np.array_equal(r.coords["t"], t) for r in three)
    lazy = xr.apply_ufunc(uf1, a.chunk(t=5), b, dask="parallelized")
    np.testing.assert_allclose(lazy.compute().values, one.values, rtol=1e-15, atol=4e-16)
    lazy3 = xr.apply_ufunc(uf3, a.chunk(t=5), b, dask="parallelized",
                           output_core_dims=[[], [], []])
    for got, want in zip(lazy3, ref3(a.values[:, None], b.values)):
        np.testing.assert_allclose(got.compute().values, want, rtol=1e-14)
    chunked3 = uf3(a.chunk(t=4), b)  # a Dask-backed DataArray through the raw ufunc
    np.testing.assert_allclose(chunked3[2].compute().values,
                               ref3(a.values[:, None], b.values)[2], rtol=1e-14)


def test_inputs_that_need_a_cast_give_the_float64_results(uf1, uf3):
    n = 50_000  # several NumPy buffers of 8192
    ints = np.arange(n, dtype=np.int64) % 200 - 100
    floats = ints.astype(np.float64)
    assert np.array_equal(uf1(ints, 0.5), uf1(floats, 0.5))
    big_endian = floats.astype(">f8")
    assert np.array_equal(uf1(big_endian, 0.5), uf1(floats, 0.5))
    mixed = uf3(floats.astype(np.float32), floats)  # float32 with float64: float64 loop
    assert all(np.array_equal(m, r) for m, r in zip(mixed, uf3(floats.astype(np.float32)
                                                                .astype(np.float64), floats)))
    out32 = np.full(n, -1.0, np.float32)
    mask = ints % 3 == 0
    uf1(floats, 0.5, out=out32, where=mask)
    want = uf1(floats, 0.5).astype(np.float32)
    assert np.array_equal(out32[mask], want[mask]) and np.all(out32[~mask] == -1.0)
    outs = (np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.float32))
    assert uf3(ints, 0.5, out=outs) is outs or uf3(ints, 0.5, out=outs)[0] is outs[0]
    np.testing.assert_array_equal(outs[2], uf3(floats, 0.5)[2].astype(np.float32))
    with pytest.raises(ac.DTypeError):  # float64 results do not fit an int64 out
        uf1(floats, 0.5, out=np.empty(n, np.int64))
    with pytest.raises(ac.DTypeError):  # casting rules are NumPy's
        uf1(floats, 0.5, dtype=np.float32, casting="safe")


def test_generated_loops_never_thread_a_numpy_buffer(uf1):
    from algebrac.cpu.render import render_ufunc_module

    source = render_ufunc_module([uf1._kernels[ac.DType.FLOAT64]], 2, 1)
    text = "\n".join([source.text, *(c for _, c, _ in source.c_files)])
    cutoffs = [int(c) for c in re.findall(r"if\(_ac_n > (\d+)\)", text)]
    assert cutoffs and min(cutoffs) >= 8192
    assert "num_threads(_ac_nthreads())" in text
