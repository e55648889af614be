"""backend="cuda" without a GPU: every kernel through nvcc (PTX for sm_80 and sm_90) and the
same text run on the CPU emulator (emulate.h), compared with the numpy reference backend.

The emulator runs the whole call path (argument handling, launch plan, device memory,
``__cuda_array_interface__`` inputs) with a small ``max_blocks`` so grid-stride loops and
multi-block reductions are exercised.  Without nvcc the PTX half is skipped with a reason;
the emulator half still compiles the identical text (as C++) and checks every value.
Tests marked ``cuda`` need PyCUDA and a GPU and skip cleanly without them.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.cuda import launch
from algebrac.cuda.emulate import EmulatedDevice
from algebrac.errors import BackendUnavailable, CompileError, DTypeError, ShapeError
from algebrac.testing import DEFAULT_RTOL, assert_values_match

HERE = Path(__file__).resolve().parent
_checked: set = set()


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


corpus = _load(HERE.parent / "test_corpus.py", "_ac_corpus_for_cuda")
ops = _load(HERE.parent / "function" / "test_ops.py", "_ac_ops_for_cuda")


def _nvcc_available() -> bool:
    try:
        launch.nvcc()
    except BackendUnavailable:
        return False
    return True


def check_ptx(obj) -> None:
    """Compile the object's CUDA source for sm_80 and sm_90; a compile error fails the test."""
    text = obj.source
    assert 'extern "C"' in text and "__global__" in text
    if text in _checked or not _nvcc_available():
        return
    ptx = launch.check_ptx(text)
    for arch, code in ptx.items():
        assert f".target {arch}" in code
        for name in obj._cuda.kernel_names:
            assert f".entry {name}(" in code
    _checked.add(text)


@pytest.fixture
def emulator():
    dev = EmulatedDevice(max_blocks=3)
    with launch.use_device(dev):
        yield dev


def _compare(got, want, dtype, scale=0.0, label=""):
    rtol = DEFAULT_RTOL[np.dtype(dtype)]
    assert got.dtype == want.dtype and got.shape == want.shape, label
    assert_values_match(got, want, rtol=rtol, atol=rtol * scale, label=label)


@pytest.mark.parametrize("chunks", [("real", "unit"), ("positive", "scalar")])
def test_elementwise_corpus_matches_numpy_backend(chunks, emulator):
    # Two chunks per module (one cold build each); each chunk is checked on its own domain.
    forms = [f for c in chunks for f in corpus.CHUNKS[c][1]]
    exprs = [e for e, _ in forms]
    f = ac.compile(exprs, corpus.ARGS, backend="cuda")
    check_ptx(f)
    ref = ac.compile(exprs, corpus.ARGS, backend="numpy")
    rng = np.random.default_rng(3)
    start = 0
    for chunk in chunks:
        (lo, hi), mine = corpus.CHUNKS[chunk]
        vals = [rng.uniform(lo, hi, 700) for _ in corpus.ARGS]
        for dtype in (np.float64, np.float32):
            inputs = [v.astype(dtype) for v in vals]
            with np.errstate(all="ignore"):   # the other chunk's formulas off their domain
                got, want = f(*inputs), ref(*inputs)
            # atol: terms are at least O(1); with other draws than the corpus's, sums like
            # acosh(y + 2) + asinh(x) come near 0 (two 1-ulp errors of O(1) terms).
            for k in range(start, start + len(mine)):
                _compare(got[k], want[k], dtype, max(forms[k][1], 1.0),
                         f"{chunk} {exprs[k]} {dtype.__name__}")
        start += len(mine)


def test_every_table_function_compiles_for_cuda(emulator):
    """Every row of the function table with a CUDA column, on the row's sample points (as
    tests/test_mathfuncs.py draws them); the SciPy-only rows are refused clearly."""
    mf = _load(HERE.parent / "test_mathfuncs.py", "_ac_mathfuncs_for_cuda")
    rows = [r for r in mf.ROWS if r.cuda64 is not None]
    assert len(rows) <= ac.ufunc.MAX_UFUNC_ARGS - len(mf.ARGS)
    exprs = [mf._expr(r) for r in rows]
    f = ac.compile(exprs, mf.ARGS, backend="cuda")
    check_ptx(f)
    ref = ac.compile(exprs, mf.ARGS, backend="numpy")
    rng = np.random.default_rng(11)
    for k, row in enumerate(rows):
        pts = mf._points(row, rng)
        with np.errstate(all="ignore"):
            got, want = f(*pts)[k], ref(*pts)[k]
        _compare(got, want, np.float64, 1.0, row.sympy.__name__)
    for row in (r for r in mf.ROWS if r.cuda64 is None):
        with pytest.raises(ac.errors.UnsupportedError, match="no CUDA implementation"):
            ac.compile(mf._expr(row), mf.ARGS, backend="cuda")


def test_edge_values_broadcasting_and_scalars(emulator):
    x, y = sp.symbols("x y")
    exprs = [sp.log(1 + sp.exp(x)), x / y, sp.Max(x, y), sp.sqrt(x)]
    f = ac.compile(exprs, [x, y], backend="cuda")
    ref = ac.compile(exprs, [x, y], backend="numpy")
    xs = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e308, 5e-324, 50.0, -3.0])
    col = xs[:, None]
    with np.errstate(all="ignore"):
        for args in ((col, xs[::-1]), (xs, 2.0), (np.float64(3.0), xs[:0])):
            for g, w in zip(f(*args), ref(*args)):
                _compare(np.asarray(g), np.asarray(w), np.float64)
    assert isinstance(f(1.0, 2.0)[0], np.float64)
    with pytest.raises(ShapeError):
        f(np.ones(3), np.ones(4))
    check_ptx(f)


def test_device_arrays_are_read_in_place_and_results_stay(emulator):
    x = sp.Symbol("x")
    f = ac.compile(x * x + 1, [x], backend="cuda")
    dev = emulator.upload(np.arange(6.0))
    arr = emulator.wrap(dev, (6,), np.float64)
    out = f(arr)
    assert hasattr(out, "__cuda_array_interface__")
    np.testing.assert_array_equal(out.get(), np.arange(6.0) ** 2 + 1)
    with pytest.raises(DTypeError):
        f(emulator.wrap(emulator.upload(np.arange(6.0, dtype=np.float32)), (6,), np.float32),
          dtype=np.float64)


@pytest.fixture(scope="module")
def tensor_programs():
    dev = EmulatedDevice(max_blocks=3)
    with launch.use_device(dev):
        outs = [ops.PROGRAM[k][0] for k in ops.GPU_NAMES]
        fc = ac.function(ops.INPUTS, outs, backend="cuda")
        fr = ac.function(ops.INPUTS, outs, backend="numpy")
    return dev, fc, fr


def test_tensor_program_matches_numpy_backend(tensor_programs):
    dev, fc, fr = tensor_programs
    check_ptx(fc)
    with launch.use_device(dev):
        for dtype in (np.float64, np.float32):
            vals = [np.asarray(v, dtype) if isinstance(v, np.ndarray) else v for v in ops.VALUES]
            for name, g, w in zip(ops.GPU_NAMES, fc(*vals), fr(*vals)):
                _compare(g, w, dtype, 10.0, f"{name} {dtype.__name__}")
        # batching over a leading axis, non-contiguous and negative-stride inputs
        XB = np.stack([ops.XV, -ops.XV])
        A_f = np.asfortranarray(ops.AV)
        vals = [XB, ops.YV[::-1].copy()[::-1], A_f, ops.BV[:, ::-1][:, ::-1], ops.AVAL]
        for name, g, w in zip(ops.GPU_NAMES, fc(*vals), fr(*vals)):
            _compare(g, w, np.float64, 10.0, f"batched {name}")
        with pytest.raises(ShapeError, match="A"):
            fc(ops.XV, ops.YV, np.ones((4, 3)), ops.BV, ops.AVAL)


def test_large_reductions_and_contractions_use_many_blocks(emulator):
    n, m, k = ac.dim("n"), ac.dim("m"), ac.dim("k")
    X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
    B = ac.matrix("B", (m, k))
    p = ac.sigmoid(X @ w)
    loss = -ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    outs = [loss, ac.grad(loss, w), ac.max(X), ac.min(X @ w), ac.prod(1 + w / 100),
            X @ B, -3 * (X.T @ X), ac.sum(X, axis=0), 2 * (X @ B).T]   # gemms with alpha
    fc = ac.function([X, w, t, B], outs, backend="cuda")
    fr = ac.function([X, w, t, B], outs, backend="numpy")
    check_ptx(fc)
    rng = np.random.default_rng(5)
    vals = [rng.normal(size=(2000, 5)), rng.normal(size=5), (rng.random(2000) > 0.5) * 1.0,
            rng.normal(size=(5, 17))]
    for g, r in zip(fc(*vals), fr(*vals)):
        _compare(g, r, np.float64, 1e3)
    Xv, Bv = vals[0], vals[3]
    _compare(fr(*vals)[6], -3 * (Xv.T @ Xv), np.float64, 1e3)
    _compare(fr(*vals)[8], 2 * (Xv @ Bv).T, np.float64, 1e3)
    # -3 X^T X: the gemm writes the output with alpha = -3; (X B)^T reads the X B output
    assert fc.kernel.count("call gemm") == 2 and "-3 * _ac_in0ᵀ @ _ac_in0" in fc.kernel
    kinds = {lc.kind for lc in fc._cuda.programs[ac.dtypes.DType.FLOAT64].launches}
    assert {"reduce", "combine", "gemm", "grid", "serial"} <= kinds
    assert max(g for _, g, _ in emulator.launches) == 3   # several blocks, grid-stride beyond
    again = fc(*vals)
    for g, r in zip(again, fc(*vals)):   # a fixed launch configuration: identical bits
        np.testing.assert_array_equal(g, r)
    vals[0][17, 3] = np.nan
    assert np.isnan(fc(*vals)[2])


def test_empty_dimensions_and_inspection(emulator):
    n, m, k = ac.dim("n"), ac.dim("m"), ac.dim("k")
    x, A, B = ac.vector("x", n), ac.matrix("A", (n, m)), ac.matrix("B", (m, k))
    outs = [ac.sum(x), 2 * x, A @ B, ac.sum(A, axis=1)]
    fc = ac.function([x, A, B], outs, backend="cuda")
    fr = ac.function([x, A, B], outs, backend="numpy")
    check_ptx(fc)
    for nn, mm, kk in ((0, 3, 2), (4, 0, 2), (3, 2, 0)):
        vals = [np.ones(nn), np.ones((nn, mm)), np.ones((mm, kk))]
        for g, r in zip(fc(*vals), fr(*vals)):
            _compare(g, r, np.float64)
    assert "__global__" in fc.source and "__syncthreads" in fc.source
    assert "mark_simd" not in fc.kernel_stages() and "use_blas" in fc.kernel_stages()
    assert "call gemm" in fc.kernel and "copied" not in fc.kernel   # strided on the GPU


def test_cubins_are_cached_by_source_and_architecture(private_cache):
    if not _nvcc_available():
        pytest.skip("nvcc not found: building cubins needs the CUDA toolkit")
    from algebrac.cuda.render import PRELUDE

    text = PRELUDE + 'extern "C" __global__ void _ac_k(double *_ac_x) { _ac_x[0] = 1.0; }\n'
    first = launch.build_cubin(text, "sm_80")
    assert first[:4] == b"\x7fELF"
    entries = {p.parent for p in private_cache.rglob("kernel.cubin")}
    assert launch.build_cubin(text, "sm_80") == first           # a hit: nothing new built
    assert {p.parent for p in private_cache.rglob("kernel.cubin")} == entries
    launch.build_cubin(text, "sm_90")
    assert len({p.parent for p in private_cache.rglob("kernel.cubin")}) == 2
    (entry,) = entries
    (entry / "kernel.cubin").write_bytes(b"tampered")        # never loaded: rebuilt instead
    assert launch.build_cubin(text, "sm_80") == first


def test_backend_unavailable_says_what_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pycuda(name, *a, **k):
        if name.startswith("pycuda"):
            raise ImportError("No module named 'pycuda'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pycuda)
    launch._default_device.cache_clear()
    x = sp.Symbol("x")
    with pytest.raises(BackendUnavailable, match=r'pip install "algebrac\[cuda\]"'):
        ac.compile(x + 1, [x], backend="cuda")
    with pytest.raises(BackendUnavailable, match="PyCUDA"):
        ac.function([ac.vector("v", ac.dim("n"))], ac.sum(ac.vector("v", ac.dim("n"))),
                    backend="cuda")
    launch._default_device.cache_clear()


def test_pycuda_glue_on_a_fake_driver(monkeypatch):
    """PyCudaDevice and the call paths against a stand-in PyCUDA (see fake_pycuda.py):
    context discipline, argument packing, GPUArray in and out, launch configuration."""
    fake = _load(HERE / "fake_pycuda.py", "_ac_fake_pycuda")
    state, GPUArray = fake.install(monkeypatch)
    try:
        x, y = sp.symbols("x y")
        f = ac.compile([sp.exp(x) * y, x - y], [x, y], backend="cuda")
        v, w = np.linspace(-2, 2, 1000), np.linspace(0, 1, 1000)
        for g, r in zip(f(v, w), (np.exp(v) * w, v - w)):
            _compare(g, r, np.float64)
        dev = launch.current_device()
        assert dev.name == "fake GPU" and dev.arch == "sm_80" and dev.max_blocks == 12
        with dev.active():
            gv = GPUArray(v.shape, v.dtype, dev.upload(v))
        out = f(gv, 0.5)
        assert isinstance(out[0], GPUArray)
        with dev.active():
            _compare(out[0].get(), np.exp(v) * 0.5, np.float64)
        n, m = ac.dim("n"), ac.dim("m")
        X, u = ac.matrix("X", (n, m)), ac.vector("u", m)
        fn = ac.function([X, u], [ac.sum(ac.tanh(X @ u)), X.T @ X], backend="cuda")
        Xv, uv = np.random.default_rng(1).normal(size=(900, 4)), np.ones(4)
        for g, r in zip(fn(Xv, uv), (np.tanh(Xv @ uv).sum(), Xv.T @ Xv)):
            _compare(g, r, np.float64, 100.0)
        assert state["depth"] == 0 and state["launches"] > 5
    finally:
        launch._default_device.cache_clear()


@pytest.mark.parametrize("count, init_error, message", [
    (1, "cuInit failed: no CUDA-capable device is detected", "no usable NVIDIA driver"),
    (0, None, "found 0 CUDA device"),
])
def test_backend_unavailable_without_a_gpu(monkeypatch, count, init_error, message):
    fake = _load(HERE / "fake_pycuda.py", "_ac_fake_pycuda")
    fake.install(monkeypatch, count=count, init_error=init_error)
    try:
        with pytest.raises(BackendUnavailable, match=message):
            ac.compile(sp.Symbol("x") * 3, [sp.Symbol("x")], backend="cuda")
    finally:
        launch._default_device.cache_clear()


TINY = {  # hand-written kernels testing the emulator itself, built as one module
    # Each thread reads a neighbour's shared value: right only with the barrier.  Without
    # it, threads run to completion one by one and read stale (zero) shared memory: the
    # forward order breaks "read the next thread's value", the backward one "the previous".
    **{f"_ac_{sync}{d}": f"""    __shared__ double s[64];
    const unsigned t = threadIdx.x;
    s[t] = t;
    {"__syncthreads();" if sync == "sync" else ""}
    _ac_out0[t] = s[(t + {d}) % 64];""" for sync in ("sync", "nosync") for d in (1, 63)},
    "_ac_tree": """    double v = threadIdx.x;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    _ac_out0[threadIdx.x] = v;""",
    "_ac_one": "    _ac_out0[threadIdx.x] = __shfl_down_sync(0xffffffffu, (double)threadIdx.x, 1);",
    "_ac_deadlock": """    if (threadIdx.x < 3) __syncthreads();
    if (threadIdx.x >= 3) __shfl_down_sync(0xffffffffu, 1.0, 1);""",
}


@pytest.fixture(scope="module")
def tiny():
    from algebrac.cuda.render import PRELUDE, CudaSource, Launch, Program
    from algebrac.dtypes import DType

    params = (("double *", "_ac_out0", None), ("long long", "_ac_n", None))
    text = PRELUDE + 'extern "C" {\n' + "".join(
        f"__global__ void {name}(double * _ac_out0, long long _ac_n)\n{{\n{body}\n}}\n"
        for name, body in TINY.items()) + "}\n"
    launches = tuple(Launch(name, "grid") for name in TINY)
    src = CudaSource(text, {DType.FLOAT64: Program(DType.FLOAT64, params, launches, 0, ())})
    return EmulatedDevice().load(src)


def _run_tiny(lib, name, threads=64, order=0):
    dev = EmulatedDevice(order=order)
    out = np.zeros(threads)
    mem = dev.upload(out)
    dev.launch(lib, name, 1, threads, [(True, mem.ptr), (False, threads)])
    dev.download(mem, out)
    return out


def test_emulator_is_block_synchronous(tiny):
    for order, d in ((0, 1), (1, 63)):
        good = _run_tiny(tiny, f"_ac_sync{d}", order=order)
        np.testing.assert_array_equal(good, (np.arange(64) + d) % 64)
        bad = _run_tiny(tiny, f"_ac_nosync{d}", order=order)
        assert not np.array_equal(bad, good)


def test_emulator_shuffles_exchange_lane_values_and_finds_deadlocks(tiny):
    out = _run_tiny(tiny, "_ac_tree")
    assert out[0] == sum(range(32)) and out[32] == sum(range(32, 64))
    one = _run_tiny(tiny, "_ac_one")
    np.testing.assert_array_equal(one[:31], np.arange(1, 32))
    assert one[31] == 31   # beyond the warp: the lane keeps its own value
    with pytest.raises(RuntimeError, match="deadlock"):
        _run_tiny(tiny, "_ac_deadlock")


def test_compile_errors_are_reported():
    if not _nvcc_available():
        pytest.skip("nvcc not found: the PTX check needs the CUDA toolkit")
    with pytest.raises(CompileError, match="nvcc"):
        launch.check_ptx('extern "C" __global__ void _ac_bad() { undefined_thing(); }',
                         archs=("sm_80",))


def _gpu_available() -> bool:
    try:
        launch.PyCudaDevice(0)
    except BackendUnavailable:
        return False
    return True


@pytest.mark.cuda
@pytest.mark.skipif(not _gpu_available(), reason="needs PyCUDA and an NVIDIA GPU")
def test_on_a_real_gpu_elementwise_and_tensor_programs():
    from pycuda import gpuarray

    x = sp.Symbol("x")
    f = ac.compile(sp.exp(-x * x) * sp.sin(x), [x], backend="cuda")
    v = np.linspace(-3, 3, 100001)
    assert_values_match(f(v), np.exp(-v * v) * np.sin(v), rtol=1e-14)
    dev = launch.current_device()
    with dev.active():
        g = gpuarray.to_gpu(v)
    out = f(g)
    assert isinstance(out, gpuarray.GPUArray)
    with dev.active():
        np.testing.assert_allclose(out.get(), f(v), rtol=1e-15)
    outs = [ops.PROGRAM[k][0] for k in ops.GPU_NAMES]
    fc = ac.function(ops.INPUTS, outs, backend="cuda")
    fr = ac.function(ops.INPUTS, outs, backend="numpy")
    for name, g, w in zip(ops.GPU_NAMES, fc(*ops.VALUES), fr(*ops.VALUES)):
        assert_values_match(g, w, rtol=1e-12, atol=1e-12, label=name)
