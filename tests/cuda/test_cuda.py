"""backend="cuda" without a GPU: every kernel through nvcc and NVRTC (PTX for sm_80 and sm_90)
and the same text run on the CPU emulator (emulate.h), compared with the numpy reference backend.

The emulator runs the whole call path (argument handling, launch plan, device memory,
``__cuda_array_interface__`` inputs) with a small ``max_blocks`` so grid-stride loops and
multi-block reductions are exercised.  Without either compiler the PTX half is skipped with a
reason; the emulator half still compiles the identical text (as C++) and checks every value.
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


COMPILERS = launch.compilers()   # nvcc and NVRTC (the test extra installs cuda-bindings)


def _nvcc_available() -> bool:
    return "nvcc" in COMPILERS


def check_ptx(obj) -> None:
    """Compile the object's CUDA source for sm_80 and sm_90 with every CUDA compiler found;
    a compile error fails the test."""
    text = obj.source
    assert 'extern "C"' in text and "__global__" in text
    for using in COMPILERS:
        if (text, using) in _checked:
            continue
        ptx = launch.check_ptx(text, using=using)
        for arch, code in ptx.items():
            assert f".target {arch}" in code
            for name in obj._cuda.kernel_names:
                assert f".entry {name}(" in code
        _checked.add((text, using))


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


def test_integer_order_bessel_functions_use_cudas_math_library(emulator):
    """besselj/bessely of constant orders 0, 1, n and besseli of orders 0, 1 become CUDA's
    j0/j1/jn, y0/y1/yn, cyl_bessel_i0/i1 (checked against SciPy's jv/yv/iv, what the CPU
    backend calls); real orders, other I orders and besselk are refused by name."""
    x = sp.Symbol("x")
    exprs = [sp.besselj(0, x), sp.besselj(1, x), sp.besselj(4, x), sp.bessely(0, x),
             sp.bessely(1, x), sp.bessely(3, x), sp.besseli(0, x), sp.besseli(1, x)]
    f = ac.compile(exprs, [x], backend="cuda")
    ref = ac.compile(exprs, [x], backend="numpy")
    check_ptx(f)
    for name in ("j0(", "j1(", "jn(4, ", "y0(", "y1(", "yn(3, ", "cyl_bessel_i0(",
                 "cyl_bessel_i1(", "jnf(4, ", "cyl_bessel_i1f("):
        assert name in f.source
    xs = np.concatenate([np.linspace(0.25, 12, 300), [np.inf, np.nan]])
    for dtype in (np.float64, np.float32):
        v = xs.astype(dtype)
        with np.errstate(all="ignore"):
            got, want = f(v), ref(v)
        for k, (g, w) in enumerate(zip(got, want)):
            # atol: absolute errors of an O(1) oscillating function near its zeros
            _compare(g[:-2], w[:-2], dtype, 1.0, f"{exprs[k]} {dtype.__name__}")
            assert np.isnan(g[-1])
    signs = f(np.array([-2.0]))   # I0 even, I1 odd (the emulator's C++17 functions take |x|)
    assert signs[6][0] > 0 > signs[7][0]
    for e, why in ((sp.besselj(sp.Rational(1, 2), x), "integer orders 0 and up"),
                   (sp.besseli(2, x), "orders 0 and 1 only"), (sp.besselk(0, x), "kv"),
                   (sp.bessely(x, 2), "y0, y1, yn")):
        with pytest.raises(ac.errors.UnsupportedError, match=f"{type(e).__name__} has no CUDA "
                           f"implementation for these arguments.*{why}"):
            ac.compile(e, [x], backend="cuda")


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


@pytest.mark.parametrize("order", [0, 1])
def test_rows_of_32_or_more_get_a_warp_each(order):
    """Matrix-vector products and row reductions over the contiguous axis: long rows are
    split across a warp's lanes (coalesced reads, shuffle trees), short ones keep a thread;
    both match the reference, in both thread orders, with identical bits on a rerun."""
    n, m = ac.dim("n"), ac.dim("m")
    X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
    p = ac.sigmoid(X @ w)
    loss = -ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    outs = [X @ w, ac.max(X, axis=1), loss, ac.grad(loss, w), ac.sum(X), ac.sum(X, axis=0)]
    dev = EmulatedDevice(max_blocks=3, order=order)
    with launch.use_device(dev):
        pairs = [(ac.function(ins, o, backend="cuda"), ac.function(ins, o, backend="numpy"))
                 for ins, o in (([X, w, t], outs), ([X, w], outs[:2]))]   # reduce; grid
        for fc, _ in pairs:
            check_ptx(fc)
            assert "_ac_warp_" in fc.source and "__syncwarp()" in fc.source
        kinds = [{lc.kind: lc.kernel for lc in fc._cuda.programs[ac.dtypes.DType.FLOAT64].launches
                  if lc.row != 0} for fc, _ in pairs]
        assert [set(k) for k in kinds] == [{"reduce"}, {"grid"}]
        rng = np.random.default_rng(8)
        for (nn, mm), dtype in (((40, 70), np.float64), ((40, 70), np.float32),
                                ((40, 5), np.float64), ((2, 33), np.float64)):
            vals = [rng.normal(size=(nn, mm)), rng.normal(size=mm),
                    (rng.random(nn) > 0.5) * 1.0]
            vals[0][1, mm - 1] = np.nan          # a NaN in the last lane's elements
            vals[0][nn - 1, :] = -np.inf
            vals = [v.astype(dtype) for v in vals]
            for (fc, fr), kind in zip(pairs, kinds):
                args = vals[:len(fc.inputs)]
                dev.launches.clear()
                with np.errstate(all="ignore"):
                    got, want = fc(*args), fr(*args)
                # Rows of 32 or more: a warp each, so more blocks than a thread per row needs.
                (name,) = [lc.kernel for lc in fc._cuda.programs[
                    ac.dtypes.DType.from_numpy(dtype)].launches if lc.row != 0]
                grid = [g for k, g, _ in dev.launches if k == name]
                assert grid == [min(3, -(-nn * (32 if mm >= 32 else 1) // 256))]
                for k, (g, r) in enumerate(zip(got, want)):
                    _compare(g, r, dtype, 100.0, f"output {k} at {(nn, mm)} {dtype.__name__}")
                with np.errstate(all="ignore"):
                    for g, r in zip(fc(*args), got):
                        np.testing.assert_array_equal(g, r)


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


@pytest.mark.parametrize("using", ["nvcc", "nvrtc"])
def test_cubins_are_cached_by_source_architecture_and_compiler(private_cache, using):
    if using not in COMPILERS:
        pytest.skip(f"{using} not found: pip install -e '.[test]' brings NVRTC, the CUDA "
                    "toolkit nvcc")
    from algebrac.cuda.render import PRELUDE

    text = PRELUDE + 'extern "C" __global__ void _ac_k(double *_ac_x) { _ac_x[0] = 1.0; }\n'
    first = launch.build_cubin(text, "sm_80", using)
    assert first[:4] == b"\x7fELF"
    entries = {p.parent for p in private_cache.rglob("kernel.cubin")}
    assert launch.build_cubin(text, "sm_80", using) == first     # a hit: nothing new built
    assert {p.parent for p in private_cache.rglob("kernel.cubin")} == entries
    launch.build_cubin(text, "sm_90", using)
    assert len({p.parent for p in private_cache.rglob("kernel.cubin")}) == 2
    (entry,) = entries
    (entry / "kernel.cubin").write_bytes(b"tampered")        # never loaded: rebuilt instead
    assert launch.build_cubin(text, "sm_80", using) == first


def test_nvrtc_builds_when_nvcc_is_absent(monkeypatch, private_cache):
    if "nvrtc" not in COMPILERS:
        pytest.skip("NVRTC not installed (pip install -e '.[test]' brings cuda-bindings)")

    def no_nvcc():
        raise BackendUnavailable("nvcc was not found")

    monkeypatch.setattr(launch, "nvcc", no_nvcc)
    assert launch.compilers() == ["nvrtc"] and launch.compiler() == "nvrtc"
    from algebrac.cuda.render import PRELUDE

    text = PRELUDE + ('extern "C" __global__ void _ac_k(float *_ac_x) '
                      '{ _ac_x[threadIdx.x] = _ac_sigmoidf(_ac_x[threadIdx.x]) + INFINITY; }\n')
    assert launch.build_cubin(text, "sm_90")[:4] == b"\x7fELF"
    assert ".entry _ac_k(" in launch.check_ptx(text, ("sm_90",))["sm_90"]
    monkeypatch.setattr(launch, "nvrtc", no_nvcc)
    with pytest.raises(BackendUnavailable, match="found none.*nvcc.*cuda-bindings"):
        launch.compiler()


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


def test_pycuda_without_a_driver_is_not_called_missing(monkeypatch):
    """PyCUDA installed on a machine with no NVIDIA driver: its extension fails to import
    for want of libcuda.so.1; the message says the driver is missing, not PyCUDA."""
    import builtins
    import importlib.machinery

    real, real_find = builtins.__import__, importlib.util.find_spec

    def driverless(name, *a, **k):
        if name.startswith("pycuda"):
            raise ImportError("libcuda.so.1: cannot open shared object file: No such file or "
                              "directory")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", driverless)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        importlib.machinery.ModuleSpec(name, None) if name == "pycuda" else real_find(name, *a)))
    launch._default_device.cache_clear()
    try:
        with pytest.raises(BackendUnavailable, match=r"(?s)PyCUDA is installed but does not "
                           r"load \(libcuda\.so\.1.*no usable NVIDIA GPU driver"):
            launch.current_device()
    finally:
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


@pytest.mark.parametrize("using", ["nvcc", "nvrtc"])
def test_compile_errors_are_reported(using):
    if using not in COMPILERS:
        pytest.skip(f"{using} not found: the PTX check needs the CUDA toolkit or cuda-bindings")
    with pytest.raises(CompileError, match=f"(?si){using} rejected.*undefined_thing"):
        launch.check_ptx('extern "C" __global__ void _ac_bad() { undefined_thing(); }',
                         archs=("sm_80",), using=using)


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
