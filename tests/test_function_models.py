"""``ac.function`` on whole models: the programs of benchmarks/bench_function.py at small sizes.

Logistic and softmax regression, a 2-layer tanh MLP, pairwise distances with a
Gaussian kernel and Rosenbrock over shifted slices, each a value and its
gradient(s) in one program, compiled on the ``cpu`` and ``numpy`` backends and
compared with ``ac.evaluate`` (the reference evaluator), with the same model
hand-written in NumPy, with itself in float32, and (gradients) with central
differences of its own compiled value.

Tolerances: float64 outputs agree to ``1e-12`` of the output's largest
magnitude: sums of at most a few hundred terms of size O(1) with O(1)
condition, where compiled loops, BLAS and NumPy differ by a few ULP per term in
summation order (a few hundred * 2.2e-16 < 1e-13).  float32 results are
compared with the float64 results on the same (float32-rounded) inputs to
``1e-5`` of the output's largest magnitude (~80 ULP of float32).  Central
differences with step ``h = 1e-6`` have truncation error ~h^2 * f''' and
rounding error ~eps * |f| / h ~ 1e-10 * |f|, so ``1e-6`` relative.

Each distinct program costs one cold C compile (~2-4 s): five programs, compiled
once each and shared by every test through ``ac.function``'s memo.
"""
from __future__ import annotations

import numpy as np
import pytest

import algebrac as ac
from algebrac.testing import verify_grad

n, m, k, h, d = (ac.dim(s) for s in "nmkhd")


# ---- the models, in algebrac and hand-written in NumPy -------------------------------------
def logistic():
    X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
    p = ac.sigmoid(X @ w)
    loss = -ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    return [X, w, t], [loss, ac.grad(loss, w)], [w]


def logistic_np(X, w, t):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - t * z), X.T @ (1 / (1 + np.exp(-z)) - t)


def softmax():
    X, W, T = ac.matrix("X", (n, m)), ac.matrix("W", (m, k)), ac.matrix("T", (n, k))
    loss = -ac.sum(T * ac.log_softmax(X @ W, axis=1))
    return [X, W, T], [loss, ac.grad(loss, W)], [W]


def softmax_np(X, W, T):
    z = X @ W
    z = z - z.max(axis=1, keepdims=True)
    s = np.exp(z).sum(axis=1, keepdims=True)
    return -np.sum(T * (z - np.log(s))), X.T @ (np.exp(z) / s * T.sum(1, keepdims=True) - T)


def mlp():
    X, Y = ac.matrix("X", (n, m)), ac.matrix("Y", (n, k))
    W1, W2 = ac.matrix("W1", (m, h)), ac.matrix("W2", (h, k))
    loss = ac.sum((ac.tanh(X @ W1) @ W2 - Y) ** 2)
    return [X, W1, W2, Y], [loss, *ac.grad(loss, [W1, W2])], [W1, W2]


def mlp_np(X, W1, W2, Y):
    H = np.tanh(X @ W1)
    r = H @ W2 - Y
    return np.sum(r * r), X.T @ (2 * (r @ W2.T) * (1 - H * H)), 2 * H.T @ r


def pairwise():
    A, B = ac.matrix("A", (n, d)), ac.matrix("B", (m, d))
    return [A, B], [ac.exp(-ac.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2))], []


def pairwise_np(A, B):
    return (np.exp(-np.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2)),)


def rosenbrock():
    x = ac.vector("x", n)
    f = ac.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    return [x], [f, ac.grad(f, x)], [x]


def rosenbrock_np(x):
    a, b = x[:-1], x[1:]
    u = b - a * a
    g = np.zeros_like(x)
    g[:-1] = -400 * a * u - 2 * (1 - a)
    g[1:] += 200 * u
    return np.sum(100 * u * u + (1 - a) ** 2), g


def data(kind: str, rng, rows: int = 23):
    """Small inputs, scaled so that no output is dominated by one huge term."""
    if kind == "logistic":
        return [rng.normal(size=(rows, 4)), rng.normal(size=4) / 2,
                (rng.random(rows) < 0.5).astype(float)]
    if kind == "softmax":
        return [rng.normal(size=(rows, 4)), rng.normal(size=(4, 3)) / 2,
                np.eye(3)[rng.integers(0, 3, rows)]]
    if kind == "mlp":
        return [rng.normal(size=(rows, 4)), rng.normal(size=(4, 5)) / 2,
                rng.normal(size=(5, 3)) / 2, rng.normal(size=(rows, 3))]
    if kind == "pairwise":
        return [rng.normal(size=(rows, 3)) / 2, rng.normal(size=(rows + 4, 3)) / 2]
    if kind == "rosenbrock":
        return [rng.uniform(-1.5, 1.5, rows)]
    raise ValueError(kind)


MODELS = {"logistic": (logistic, logistic_np), "softmax": (softmax, softmax_np),
          "mlp": (mlp, mlp_np), "pairwise": (pairwise, pairwise_np),
          "rosenbrock": (rosenbrock, rosenbrock_np)}

CASES = [pytest.param(kind, backend, id=f"{kind}-{backend}")
         for kind in MODELS for backend in ("cpu", "numpy")]


def build(kind: str, backend: str):
    """(inputs, outputs, gradient variables, compiled function): memoised by ac.function."""
    inputs, outputs, wrt = MODELS[kind][0]()
    return inputs, outputs, wrt, ac.function(inputs, outputs, backend=backend)


def assert_close(got, want, rtol, what):
    got, want = np.asarray(got), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = float(np.max(np.abs(want), initial=0.0))
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=rtol * scale,
                               err_msg=what)


# ---- float64: the compiled program against the reference evaluator and NumPy ---------------
@pytest.mark.parametrize("kind, backend", CASES)
def test_matches_evaluate_and_numpy(kind, backend):
    rng = np.random.default_rng(sum(map(ord, kind)))
    inputs, outputs, wrt, fn = build(kind, backend)
    assert fn.backend == backend
    arrays = data(kind, rng)
    got = fn(*arrays)
    assert isinstance(got, tuple) and len(got) == len(outputs)
    ref = ac.evaluate(outputs, dict(zip(inputs, arrays)))
    hand = MODELS[kind][1](*arrays)
    for j, (g, r, nh) in enumerate(zip(got, ref, hand)):
        assert g.dtype == np.float64
        assert_close(g, r, 1e-12, f"{kind} output {j} vs ac.evaluate")
        assert_close(g, nh, 1e-12, f"{kind} output {j} vs NumPy")
    # the same program on a different batch size: dims are bound per call
    arrays = data(kind, rng, rows=6)
    for j, (g, nh) in enumerate(zip(fn(*arrays), MODELS[kind][1](*arrays))):
        assert_close(g, nh, 1e-12, f"{kind} output {j} vs NumPy, 6 rows")


@pytest.mark.parametrize("kind, backend", CASES)
def test_float32_in_float32_out(kind, backend):
    rng = np.random.default_rng(1)
    *_, fn = build(kind, backend)
    arrays32 = [a.astype(np.float32) for a in data(kind, rng)]
    got = fn(*arrays32)
    want = fn(*[a.astype(np.float64) for a in arrays32])
    for j, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == np.float32, f"{kind} output {j}: {g.dtype}"
        assert_close(g, w, 1e-5, f"{kind} output {j}: float32 vs float64")


@pytest.mark.parametrize("kind, backend", [c for c in CASES if c.values[0] != "pairwise"])
def test_gradients_match_central_differences_of_the_compiled_value(kind, backend):
    """<g, v> from the program against (f(x + hv) - f(x - hv)) / 2h from the same program."""
    rng = np.random.default_rng(2)
    inputs, outputs, wrt, fn = build(kind, backend)
    arrays = data(kind, rng)
    value, *grads = fn(*arrays)
    for var, g in zip(wrt, grads):
        pos = inputs.index(var)
        v = rng.uniform(0.5, 1.5, g.shape) * rng.choice([-1.0, 1.0], g.shape)
        step = 1e-6 * max(1.0, float(np.max(np.abs(arrays[pos]))))
        shifted = []
        for sign in (1, -1):
            a = list(arrays)
            a[pos] = arrays[pos] + sign * step * v
            shifted.append(float(fn(*a)[0]))
        numeric = (shifted[0] - shifted[1]) / (2 * step)
        analytic = float(np.sum(g * v))
        assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(float(value))), \
            (kind, var.name, numeric, analytic)


def test_symbolic_gradients_match_central_differences():
    """The formulas compiled above (ac.grad's output) are right, by verify_grad."""
    rng = np.random.default_rng(3)
    for kind in ("logistic", "softmax", "mlp", "rosenbrock"):
        inputs, outputs, wrt, _ = build(kind, "numpy")
        verify_grad(outputs[0], wrt, dict(zip(inputs, data(kind, rng, rows=5))), rng)


# ---- layouts and hard values on the logistic program (no extra compile) ---------------------
@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_logistic_layouts_and_saturated_logits(backend):
    rng = np.random.default_rng(4)
    *_, fn = build("logistic", backend)
    X, w, t = data("logistic", rng, rows=9)
    want = logistic_np(X, w, t)
    wide = np.zeros((9, 8))
    wide[:, ::2] = X                              # a strided view
    ro = X.copy()
    ro.flags.writeable = False                    # read-only
    for Xv in (wide[:, ::2], np.asfortranarray(X), ro, X[::-1][::-1]):
        for g, r in zip(fn(Xv, w, t), want):
            assert_close(g, r, 1e-12, f"logistic, layout {Xv.flags}")
    # logits of +-800: the naive log(sigmoid) is -inf / nan, the stabilised program is exact
    Xs = np.ones((2, 4))
    ws = np.full(4, 200.0)
    ts = np.array([0.0, 1.0])
    loss, grad = fn(Xs, ws, ts)
    assert loss == 800.0                          # softplus(800) - 0 + softplus(800) - 800
    np.testing.assert_array_equal(grad, np.ones(4))   # sigmoid(800) - 0 + sigmoid(800) - 1
    # no rows: the loss is an empty sum, the gradient zero
    loss, grad = fn(np.zeros((0, 4)), w, np.zeros(0))
    assert loss == 0.0 and np.array_equal(grad, np.zeros(4))


def test_pairwise_with_a_literal_coordinate_count():
    """``(n, 3)`` and ``(m, 3)`` inputs: signature ``(d1,3),(d0,3)->(d1,d0)``.

    NumPy numbers the core dimensions in order of first appearance, the literal 3
    included (d1 -> 0, 3 -> 1, d0 -> 2); reading d0 from ``dims[1]`` (the 3) once
    computed only the first 3 columns.  m >= 3 keeps every access in bounds even then.
    """
    A, B = ac.matrix("A", (n, 3)), ac.matrix("B", (m, 3))
    fn = ac.function([A, B], ac.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2))
    rng = np.random.default_rng(5)
    Av, Bv = rng.normal(size=(6, 3)), rng.normal(size=(7, 3))
    assert_close(fn(Av, Bv), np.sum((Av[:, None, :] - Bv[None, :, :]) ** 2, axis=2), 1e-12,
                 "pairwise distances with a literal 3")


def test_mlp_with_large_temporaries_across_calls_and_threads():
    """Temporaries of several MiB (huge-page scratch, kept by the module between calls):
    a call after a larger one reuses the kept block, a larger one replaces it, and
    calls running at once in several threads each compute their own result."""
    from concurrent.futures import ThreadPoolExecutor

    *_, fn = build("mlp", "cpu")
    rng = np.random.default_rng(6)

    def inputs(rows, hidden):
        return [rng.normal(size=(rows, 4)), rng.normal(size=(4, hidden)) / 2,
                rng.normal(size=(hidden, 3)) / 4, rng.normal(size=(rows, 3))]

    cases = [inputs(2100, 300), inputs(50, 7), inputs(3000, 400), inputs(2100, 300)]
    for arrays in cases:   # 2100 x 300 doubles: 5 MB per temporary
        for j, (g, r) in enumerate(zip(fn(*arrays), mlp_np(*arrays))):
            assert_close(g, r, 1e-12, f"mlp output {j}, {arrays[0].shape[0]} rows")
    # Blocks of rows (block_rows) read a block of X in place, or copied when its rows
    # are strided.
    X, W1, W2, Y = cases[0]
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    for x in (wide[:, ::2], np.asfortranarray(X)):
        for j, (g, r) in enumerate(zip(fn(x, W1, W2, Y), mlp_np(X, W1, W2, Y))):
            assert_close(g, r, 1e-12, f"mlp output {j}, X strides {x.strides}")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda a: fn(*a), cases * 2))
    for arrays, got in zip(cases * 2, results):
        for j, (g, r) in enumerate(zip(got, mlp_np(*arrays))):
            assert_close(g, r, 1e-12, f"mlp output {j} computed in a thread")
