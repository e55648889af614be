"""Every derivative we generate, checked by central differences (``verify_grad``).

Scalar SymPy formulas over every function the compiler supports, tensor
formulas through every tensor operation, and the model zoo (logistic and
softmax regression, a 2-layer MLP, a Gaussian log-likelihood with a
covariance matrix, a particle chain over shifted slices).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.testing import GradientError, verify_grad

x, y, z = sp.symbols("x y z", real=True)

# name: (formula, variables, values): values are arrays (checked elementwise)
SCALAR = {
    "polynomial": (x**3 * y - 2 * x * y**2 + 7, [x, y], {x: 0.7, y: -1.3}),
    "gaussian_bump": (sp.exp(-x**2 - y**2) * sp.sin(x * y), [x, y], {x: 0.4, y: 0.9}),
    "log_sqrt": (sp.log(1 + x**2) * sp.sqrt(y), [x, y], {x: 1.5, y: 2.0}),
    "trig": (sp.tan(x) * sp.cos(y) + sp.asin(x / 2) * sp.acos(y / 3), [x, y], {x: 0.3, y: 0.5}),
    "atan2_hypot": (ac.arctan2(y, x) * ac.hypot(x, y), [x, y], {x: 0.8, y: -0.6}),
    "hyperbolic": (sp.tanh(x) * sp.cosh(y) + sp.asinh(x * y) + sp.atanh(x / 2), [x, y],
                   {x: 0.5, y: 0.7}),
    "acosh_atan": (sp.acosh(1 + x**2) + sp.atan(x * y) * sp.sinh(y), [x, y], {x: 0.9, y: 0.2}),
    "power": (x**y + y**sp.Rational(3, 2), [x, y], {x: 1.7, y: 0.6}),
    "log1p_expm1": (ac.log1p(x**2) * ac.expm1(y) + ac.exp2(x) + ac.log2(y) + ac.log10(x + y),
                    [x, y], {x: 0.4, y: 0.8}),
    "erf_gamma": (ac.erf(x) * ac.erfc(y) + ac.gamma(x + 2) + ac.lgamma(y + 1), [x, y],
                  {x: 0.6, y: 1.1}),
    "sigmoid_softplus": (ac.sigmoid(x * y) + ac.softplus(x - y), [x, y], {x: 0.5, y: -1.0}),
    "cbrt_abs": (ac.cbrt(x) * ac.abs(y), [x, y], {x: np.array([-2.0, 0.5]), y: np.array([-1.0, 2.0])}),
    "piecewise": (sp.Piecewise((sp.log(x), x > 0), (x**2, True)) * y, [x, y],
                  {x: np.array([-1.5, 0.7, 2.0]), y: 1.3}),
    "max_min": (ac.maximum(x, y**2) + ac.minimum(x * y, 1), [x, y],
                {x: np.array([0.3, 2.0]), y: np.array([0.9, 0.4])}),
    "relu_mod": (ac.relu(x - y) + ac.mod(x, 1.5) * y, [x, y],
                 {x: np.array([0.3, 2.2]), y: np.array([-0.4, 0.9])}),
}


@pytest.mark.parametrize("name", SCALAR)
def test_scalar_gradients(name, rng):
    f, wrt, values = SCALAR[name]
    errors = verify_grad(f, wrt, values, rng)
    assert set(errors) == {s.name for s in wrt}


n, m = ac.dim("n"), ac.dim("m")
v, u = ac.vector("v", n), ac.vector("u", n)
A, B = ac.matrix("A", (n, m)), ac.matrix("B", (m, n))
S = ac.matrix("S", (n, n))
T3 = ac.tensor("T", (2, n, m))
a = ac.scalar("a")
lam = sp.Symbol("lam", real=True)


def _values(rng, N=5, M=3):
    return {v: rng.normal(size=N), u: rng.uniform(0.5, 2.0, size=N), A: rng.normal(size=(N, M)),
            B: rng.normal(size=(M, N)), S: rng.normal(size=(N, N)), a: 0.7, lam: 1.3,
            T3: rng.normal(size=(2, N, M))}


# name: (formula, variables)
TENSOR = {
    "sum_of_squares": (ac.sum(v**2), [v]),
    "dot": (v @ u, [v, u]),
    "norm": (ac.sqrt(ac.sum(v**2) + 1), [v]),
    "matvec": (ac.sum(ac.sin(A.T @ v)), [A, v]),
    "matmul": (ac.sum(ac.tanh(A @ B)), [A, B]),
    "quadratic_form": (v @ S @ v, [v, S]),
    "mean_var": (ac.mean((v - ac.mean(v)) ** 2), [v]),
    "prod": (ac.prod(u), [u]),
    "max": (ac.max(v * u), [v, u]),
    "min_axis": (ac.sum(ac.min(A, axis=0) ** 2), [A]),
    "where_log": (ac.sum(ac.where(v > 0, ac.log(v), -v)), [v]),
    "where_sqrt_nan_safe": (ac.sum(ac.where(v > 0, ac.sqrt(v), 0) + u), [v]),
    "clip_abs": (ac.sum(ac.clip(v, -0.5, 0.5) * ac.abs(u - 1)), [v, u]),
    "maximum_relu": (ac.sum(ac.maximum(v, u) + ac.relu(v)), [v, u]),
    "concatenate": (ac.sum(ac.concatenate([v, u[1:]]) ** 3), [v, u]),
    "stack": (ac.sum(ac.stack([v, u * v], axis=1) ** 2), [v, u]),
    "reshape": (ac.sum(ac.cos(A.reshape(-1)) * ac.sin(A.reshape(-1))), [A]),
    "transpose_broadcast": (ac.sum((A - ac.mean(A, axis=0, keepdims=True)) ** 2), [A]),
    "row_broadcast": (ac.sum((A + v[:3]) ** 2 * a), [v, a]),
    "step_slice": (ac.sum(v[::2][:2] * v[1::2][:2]) + ac.sum(v[::-1] * u), [v, u]),
    "integer_index": (v[0] * v[n - 1] + ac.sum(v[1:-1]) ** 2, [v]),
    "einsum_trace": (ac.einsum("ii", S) ** 2 + ac.einsum("ij,ji->", S, S), [S]),
    "outer_tensordot": (ac.sum(ac.outer(v, u) * S) + ac.sum(ac.tensordot(T3, A, axes=([1, 2], [0, 1]))),
                        [v, u, S, T3, A]),
    "batched_matmul": (ac.sum(ac.exp(T3 @ B / 4)), [T3, B]),
    "scalar_parameter": (lam * ac.sum(v**2) + ac.exp(lam * a), [v, lam, a]),
    "logsumexp_manual": (ac.log(ac.sum(ac.exp(v))), [v]),
}


@pytest.mark.parametrize("name", TENSOR)
def test_tensor_gradients(name, rng):
    f, wrt = TENSOR[name]
    verify_grad(f, wrt, _values(rng), rng)


def test_non_scalar_formula_is_projected(rng):
    verify_grad(ac.exp(A.T @ v), [A, v], _values(rng), rng)


def test_float32_formula_gets_float32_tolerance(rng):
    w = ac.vector("w", n, dtype="float32")
    values = {w: rng.normal(size=6).astype(np.float32)}
    errors = verify_grad(ac.sum(ac.exp(w) * w), w, values, rng)
    assert ac.grad(ac.sum(ac.exp(w) * w), w).dtype.value == "float32"
    assert errors["w"] < 1e-3


@pytest.mark.parametrize("name", ["logistic", "softmax", "mlp", "gaussian", "chain", "rosenbrock"])
def test_model_zoo(name, zoo, rng):
    f, wrt, values = zoo.build(name, rng)
    errors = verify_grad(f, wrt, values, rng, n_tests=3)
    assert max(errors.values()) < 1e-5


def test_wrong_gradient_is_reported(rng):
    values = _values(rng)
    wrong = ac.cos(v) * 1.01          # d/dv sum(sin(v)) is cos(v)
    with pytest.raises(GradientError) as info:
        verify_grad(ac.sum(ac.sin(v)), v, values, rng, grads=[wrong])
    err = info.value
    assert err.variable == "v" and err.test == 1 and err.rel_err > 1e-3
    message = str(err)
    assert "gradient with respect to v" in message and "rel error" in message
    assert isinstance(err, AssertionError) and isinstance(err, ac.AlgebracError)


def test_wrong_elementwise_gradient_names_the_element():
    with pytest.raises(GradientError, match="at element"):
        verify_grad(x**2, x, {x: np.array([1.0, 2.0, 3.0])}, grads=[2 * x + sp.Piecewise((1, x > 2.5), (0, True))])


def test_missing_value_is_a_clear_error(rng):
    with pytest.raises(ac.SignatureError, match="no value for y"):
        verify_grad(x * y, [x, y], {x: 1.0})
