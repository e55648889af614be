"""Every tensor operation compiled by ac.function (cpu and numpy backends) vs the references.

The operations are grouped into a few programs with many outputs each, so the suite
pays for few cold compiles; each output is checked against ``ac.evaluate`` (the
independent oracle) and hand-written NumPy.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac import _kernels

n, m, h = ac.dim("n"), ac.dim("m"), ac.dim("h")
x, y = ac.vector("x", n), ac.vector("y", n)
A, B = ac.matrix("A", (n, m)), ac.matrix("B", (m, h))
a = sp.Symbol("a")
rng = np.random.default_rng(7)
XV, YV = rng.normal(size=5), rng.uniform(0.5, 2.0, size=5)
AV, BV = rng.normal(size=(5, 3)), rng.normal(size=(3, 4))
AVAL = 0.75

# name -> (tensor, numpy reference)
PROGRAM = {
    "elementwise": (ac.exp(x) * ac.sin(y) + a * x ** 3, np.exp(XV) * np.sin(YV) + AVAL * XV ** 3),
    "stable": (ac.log(1 + ac.exp(x)), np.logaddexp(0, XV)),
    "broadcast": (A + x[:, None] * 2, AV + XV[:, None] * 2),
    "matvec": (A.T @ x, AV.T @ XV),
    "matmul": (A @ B, AV @ BV),
    "matmul_t": (B.T @ A.T, (AV @ BV).T),
    "sum_axis": (ac.sum(A, axis=0), AV.sum(axis=0)),
    "mean": (ac.mean(A), AV.mean()),
    "prod": (ac.prod(y), np.prod(YV)),
    "max_axis": (ac.max(A, axis=1), AV.max(axis=1)),
    "min": (ac.min(x), XV.min()),
    "logsumexp": (ac.logsumexp(A, axis=1), np.log(np.exp(AV).sum(axis=1))),
    "softmax": (ac.softmax(A, axis=1), np.exp(AV) / np.exp(AV).sum(axis=1, keepdims=True)),
    "log_softmax": (ac.log_softmax(x), XV - np.log(np.exp(XV).sum())),
    "where": (ac.where(x > 0, x, -2 * y), np.where(XV > 0, XV, -2 * YV)),
    "slice": (x[1:] - x[:-1], np.diff(XV)),
    "rosen": (ac.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
              np.sum(100 * (XV[1:] - XV[:-1] ** 2) ** 2 + (1 - XV[:-1]) ** 2)),
    "concat": (ac.concatenate([x, y]), np.concatenate([XV, YV])),
    "stack": (ac.stack([x, y], axis=1), np.stack([XV, YV], axis=1)),
    "outer": (ac.outer(x, y), np.outer(XV, YV)),
    "pairwise": (ac.exp(-ac.sum((A[:, None, :] - A[None, :, :]) ** 2, axis=2)),
                 np.exp(-((AV[:, None, :] - AV[None, :, :]) ** 2).sum(axis=2))),
    "transpose_sum": (ac.sum(A.T * 3, axis=1), 3 * AV.sum(axis=0)),
    # a SciPy special function inside the fused loop (cython_special pointer)
    "special": (ac.sum(ac.Tensor(shape=(n,), body=sp.besselj(0, x.body) * y.body)),
                np.sum(__import__("scipy.special").special.j0(XV) * YV)),
    "grad_rosen": (None, None),  # filled below
}
ROSEN = PROGRAM["rosen"][0]
PROGRAM["grad_rosen"] = (ac.grad(ROSEN, x), None)
NAMES = list(PROGRAM)
# SciPy's special functions have no CUDA implementation (backend="cuda" refuses them).
GPU_NAMES = [k for k in NAMES if k != "special"]
INPUTS = [x, y, A, B, a]
VALUES = [XV, YV, AV, BV, AVAL]


@pytest.fixture(scope="module", params=["cpu", "numpy"])
def compiled(request):
    fn = ac.function(INPUTS, [PROGRAM[k][0] for k in NAMES], backend=request.param)
    return fn, fn(*VALUES)


def test_every_output_matches_evaluate_and_numpy(compiled):
    fn, results = compiled
    oracle = ac.evaluate([PROGRAM[k][0] for k in NAMES], dict(zip(INPUTS, VALUES)))
    for name, got, want in zip(NAMES, results, oracle):
        assert got.shape == np.shape(want), name
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14, err_msg=name)
        ref = PROGRAM[name][1]
        if ref is not None:
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13, err_msg=name)


def test_gradient_matches_finite_differences(compiled):
    fn, results = compiled
    g = results[NAMES.index("grad_rosen")]
    f = ac.function([x], ROSEN, backend=fn.backend)
    eps = 1e-6
    fd = [(f(XV + eps * e) - f(XV - eps * e)) / (2 * eps) for e in np.eye(5)]
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


def test_float32_inputs_compute_in_float32(compiled):
    fn, _ = compiled
    res = fn(*[np.asarray(v, np.float32) for v in VALUES[:4]], np.float32(AVAL))
    ref = fn(*VALUES)
    for name, got, want in zip(NAMES, res, ref):
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4, err_msg=name)


def test_batching_over_leading_axes(compiled):
    fn, _ = compiled
    xb = np.stack([XV, XV * 2, -XV])
    res = fn(xb, YV, AV, BV, AVAL)
    for b in range(3):
        single = fn(xb[b], YV, AV, BV, AVAL)
        for name, got, want in zip(NAMES, res, single):
            np.testing.assert_allclose(got[b], want, rtol=1e-13, atol=1e-14, err_msg=name)


def test_layouts_noncontiguous_readonly_fortran(compiled):
    fn, ref = compiled
    big = np.zeros((10, 7))
    big[::2, 1:7:2] = AV
    view = big[::2, 1:7:2]                    # strided rows and columns
    fortran = np.asfortranarray(BV)
    reversed_x = XV[::-1].copy()[::-1]        # negative stride
    ro = YV.copy()
    ro.flags.writeable = False
    res = fn(reversed_x, ro, view, fortran, AVAL)
    for name, got, want in zip(NAMES, res, ref):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14, err_msg=name)


def test_shape_errors_name_the_input(compiled):
    fn, _ = compiled
    with pytest.raises(ac.ShapeError, match=r"B: expected shape \(m, h\) with .*m=3 \(bound by A\), got \(4, 4\)"):
        fn(XV, YV, AV, np.ones((4, 4)), AVAL)
    with pytest.raises(ac.ShapeError, match="y"):
        fn(XV, np.ones(4), AV, BV, AVAL)
    with pytest.raises(ac.SignatureError, match="takes 5 argument"):
        fn(XV)
    with pytest.raises(ac.DTypeError, match="x"):
        fn(XV.astype(complex), YV, AV, BV, AVAL)


def test_empty_dimension():
    fn = ac.function([A, B], [A @ B, ac.sum(A, axis=1), ac.sum(A)])
    c, s1, s = fn(np.ones((2, 0)), np.ones((0, 3)))
    assert c.shape == (2, 3) and not c.any() and s1.tolist() == [0.0, 0.0] and s == 0
    c, s1, s = fn(np.ones((0, 4)), np.ones((4, 3)))
    assert c.shape == (0, 3) and s1.shape == (0,)
    with pytest.raises(ac.ShapeError, match="zero-size"):
        ac.function([x], ac.max(x))(np.ones(0))


def test_nan_propagates_through_max_and_min():
    fn = ac.function([x], [ac.max(x), ac.min(x)])
    with np.errstate(all="raise"):
        mx, mn = fn(np.array([1.0, np.nan, 3.0]))
    assert np.isnan(mx) and np.isnan(mn)


def test_compile_given_a_tensor_points_to_function():
    with pytest.raises(ac.SignatureError, match="ac.function"):
        ac.compile(ac.sum(x), [x])


def test_evaluate_stabilizes_by_default():
    z = ac.vector("z", n)
    f = ac.sum(ac.log(1 + ac.exp(z)))
    assert float(ac.evaluate(f, {z: np.array([800.0])})) == 800.0
    with np.errstate(over="ignore"):
        assert np.isinf(ac.evaluate(f, {z: np.array([800.0])}, stabilize=False))


def test_inspection():
    fn = ac.function([x], [ac.sum(x * x)])
    assert "kernel" in fn.kernel and "for" in fn.kernel
    assert fn.signature == "(d0)->()"
    assert "gufunc" in fn.source or fn.source is None
    if fn.gufunc is not None:
        assert isinstance(fn.gufunc, np.ufunc) and fn.gufunc.signature == "(d0)->()"
        np.testing.assert_allclose(fn.gufunc(np.ones((2, 3))), [3.0, 3.0])
    assert "Function" in repr(fn)


def test_evaluate_and_compiled_agree_on_loggamma_edges():
    # ac.evaluate stays an independent oracle (SciPy underneath); at the edges it
    # follows C99 lgamma and mpmath: -log(x) for subnormal x, +inf at -inf.
    import mpmath

    s = sp.Symbol("s")
    v = np.array([1e-310, -1e-310, -np.inf, np.inf, 1e-300, -2.5, 7.0])
    with np.errstate(divide="ignore"):
        ev = ac.evaluate(sp.loggamma(s), {s: v})
        cpu = ac.compile(sp.loggamma(s), [s])(v)
        ref = ac.compile(sp.loggamma(s), [s], backend="numpy")(v)
    exact = [float(mpmath.log(abs(mpmath.gamma(mpmath.mpf(t))))) if np.isfinite(t) else np.inf
             for t in v]
    for got in (ev, cpu, ref):
        np.testing.assert_allclose(got, exact, rtol=1e-14)


def test_kernel_stages_and_copy_notes():
    fn = ac.function([A, B], A @ B, backend="numpy")
    stages = fn.kernel_stages()
    assert list(stages)[0] == "lowered" and list(stages)[-1] == "finish"
    assert "gemm" not in stages["lowered"] and "gemm" in stages["use_blas"]
    assert "copied to a contiguous matrix" in fn.kernel


def test_signature_errors():
    with pytest.raises(ac.SignatureError, match="reads the tensor y"):
        ac.function([x], x + y)
    with pytest.raises(ac.SignatureError, match="symbol a"):
        ac.function([x], a * x)
    with pytest.raises(ac.SignatureError, match="repeat x"):
        ac.function([x, x], x)
    with pytest.raises(ac.SignatureError, match="computed"):
        ac.function([x * 2], x)


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_program_without_float_buffers(backend):
    # int64 in, bool and int64 out: the kernel computes in float64 (as integers do elsewhere)
    k = ac.vector("k", n, dtype="int64")
    gt, total = ac.function([k], [k > 1, ac.sum(k)], backend=backend)(np.array([1, 2, 3]))
    assert gt.dtype == bool and gt.tolist() == [False, True, True]
    assert total.dtype == np.int64 and int(total) == 6


def _blas_threads():
    from threadpoolctl import threadpool_info
    return sorted((i["filepath"], i["num_threads"]) for i in threadpool_info()
                  if i["user_api"] == "blas")


@pytest.mark.parametrize("threads", [1, 2])
def test_gemm_paths_match_numpy(threads):
    # A product with at most 16 columns over a long contraction (N <= 16, N < M <= K:
    # a gradient Xᵀ G) is computed transposed by BLAS and transposed back (OpenBLAS
    # runs the narrow orientation at about half speed); products of 2^20 multiply-adds
    # and more are split over the kernel's threads (the contraction when it is deep,
    # else C's rows or columns), with the BLAS held to one thread.  Every path, every transpose flag, float32, a strided
    # input and an empty contraction give NumPy's answer within the reassociation of
    # a K-term sum, and the BLAS's own thread count is back afterwards.
    from algebrac.cpu.tensor_render import GEMM_SPLIT

    k = ac.dim("k")
    X, G, E = ac.matrix("X", (n, m)), ac.matrix("G", (n, k)), ac.matrix("E", (k, n))
    fn = ac.function([X, G, E], [X.T @ G, X.T @ E.T, (G.T @ X).T])
    r = np.random.default_rng(3)
    sizes = [(300, 20, 3), (300, 20, 16), (300, 20, 17), (10, 20, 3), (0, 4, 2),
             (3000, 40, 9), (3000, 40, 20), (3000, 20, 41), (3000, 13, 100),   # split k
             (300, 100, 40), (300, 40, 100)]   # split C's columns, C's rows
    assert all(nv * mv * kv >= GEMM_SPLIT for nv, mv, kv in sizes[5:])
    before, old, holds = _blas_threads(), ac.get_num_threads(), _kernels.blas_holds()
    ac.set_num_threads(threads)
    try:
        _check_products(fn, r, sizes)
    finally:
        ac.set_num_threads(old)
    assert _blas_threads() == before
    # SciPy's wheels ship OpenBLAS, whose thread count can be held: 2 threads split
    # the 6 large sizes' products in 2 dtypes (2 products: (GᵀX)ᵀ is XᵀG, computed once).
    assert _kernels.blas_holds() - holds == (0 if threads == 1 else 6 * 2 * 2)


def test_split_gemm_restores_blas_threads_under_concurrent_calls():
    X = ac.matrix("X", (n, m))
    fn = ac.function([X], X.T @ X)
    XV = np.random.default_rng(5).normal(size=(2000, 30))
    before, old = _blas_threads(), ac.get_num_threads()
    ac.set_num_threads(2)
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: fn(XV), range(16)))
    finally:
        ac.set_num_threads(old)
    assert _blas_threads() == before
    for got in results:
        np.testing.assert_allclose(got, XV.T @ XV, rtol=1e-12, atol=1e-12)


def _check_products(fn, r, sizes):
    for (nv, mv, kv) in sizes:
        for dtype, eps in [(np.float64, 2.0 ** -52), (np.float32, 2.0 ** -23)]:
            XV = r.normal(size=(nv, 2 * mv)).astype(dtype)[:, ::2]   # strided rows
            GV = r.normal(size=(nv, kv)).astype(dtype)
            EV = np.ascontiguousarray(GV.T)
            bound = nv * eps * (np.abs(XV).T @ np.abs(GV)) + 1e-30
            ref = XV.astype(np.float64).T @ GV.astype(np.float64)
            for got in fn(XV, GV, EV):
                assert got.dtype == dtype and got.shape == (mv, kv)
                assert np.all(np.abs(got - ref) <= bound), (nv, mv, kv, dtype)
