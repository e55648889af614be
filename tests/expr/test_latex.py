"""LaTeX goldens in index and matrix notation; change them deliberately."""
from __future__ import annotations

import re

import pytest
import sympy as sp

import algebrac as ac
from algebrac.errors import SignatureError, UnsupportedError

n, m = ac.dim("n"), ac.dim("m")
X, w, y, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("y", n), ac.vector("t", n)
A, x, b = ac.matrix("A", (n, n)), ac.vector("x", n), ac.scalar("b")
lam = sp.Symbol("lambda")
p = ac.sigmoid(X @ w + b)

# name: (tensor, matrix notation, index notation)
GOLDEN = {
    "matvec": (X @ w, r"X w", r"\sum_{k} X_{i k} w_{k}"),
    "transposed": (X.T @ y, r"X^{T} y", r"\sum_{k} X_{k i} y_{k}"),
    "gram": (A @ A.T, r"A A^{T}", r"\sum_{k} A_{i k} A_{j k}"),
    "sum": (ac.sum(x), r"\mathbf{1}^{T} x", r"\sum_{k} x_{k}"),
    "mean": (ac.mean(x), r"\frac{1}{n} \mathbf{1}^{T} x", r"\frac{\sum_{k} x_{k}}{n}"),
    "column_sums": (ac.sum(X, axis=0), r"X^{T} \mathbf{1}", r"\sum_{k} X_{k i}"),
    "logistic_grad": (
        X.T @ (p - t),
        r"X^{T} \left(\sigma\left(X w + b \mathbf{1}\right) - t\right)",
        r"\sum_{k} \left(\sigma\left(b + \sum_{l} X_{k l} w_{l}\right) - t_{k}\right) X_{k i}"),
    "logistic_loss": (
        -ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p)),
        (r"-\mathbf{1}^{T} \left(t \odot \log\left(\sigma\left(X w + b \mathbf{1}\right)\right)"
        r" + \left(\mathbf{1} - t\right) \odot \log\left(\mathbf{1} - \sigma\left(X w + b "
        r"\mathbf{1}\right)\right)\right)"),
        (r"- \sum_{k} \left(\left(1 - t_{k}\right) \log{\left(1 - \sigma\left(b + \sum_{l} "
        r"X_{k l} w_{l}\right) \right)} + \log{\left(\sigma\left(b + \sum_{l} X_{k l} w_{l}"
        r"\right) \right)} t_{k}\right)")),
    "ridge": (
        ac.sum((X @ w - y) ** 2) / 2 + lam * (w @ w),
        r"\frac{\mathbf{1}^{T} \left(X w - y\right)^{\circ 2}}{2} + \lambda w^{T} w",
        (r"\lambda \sum_{l} w_{l}^{2} + \frac{\sum_{k} \left(- y_{k} + \sum_{l} X_{k l} "
        r"w_{l}\right)^{2}}{2}")),
    "quadratic_form": (x @ A @ x, r"x^{T} A x", r"\sum_{k} x_{k} \sum_{l} A_{l k} x_{l}"),
    "outer": (ac.outer(x, y), r"x y^{T}", r"x_{i} y_{j}"),
    "hadamard": (x * y / (1 + ac.exp(-x)),
                 r"x \odot y \oslash \left(\mathbf{1} + \exp\left(-x\right)\right)",
                 r"\frac{x_{i} y_{i}}{1 + e^{- x_{i}}}"),
    "softmax": (ac.exp(x) / ac.sum(ac.exp(x)),
                r"\frac{\exp\left(x\right)}{\mathbf{1}^{T} \exp\left(x\right)}",
                r"\frac{e^{x_{i}}}{\sum_{k} e^{x_{k}}}"),
    "named": ((X @ w).rename("z"), r"z = X w", r"z_{i} = \sum_{k} X_{i k} w_{k}"),
}


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_matrix_and_index_notation(name):
    tensor, matrix, index = GOLDEN[name]
    assert ac.latex(tensor, notation="matrix") == matrix
    assert ac.latex(tensor, notation="index") == index
    assert ac.latex(tensor) == matrix                       # auto prefers matrix notation
    assert tensor._repr_latex_() == "$\\displaystyle " + matrix + "$"


# Not matrix algebra: "auto" falls back to index notation, "matrix" refuses.
INDEX_ONLY = [
    (ac.max(X, axis=1), r"\max_{k} X_{i k}"),
    (ac.where(x > 0, x, 0), (r"\begin{cases} x_{i} & \text{for}\: x_{i} > 0 \\0 & "
                            r"\text{otherwise} \end{cases}")),
    (x[1:] - x[:-1], r"x_{i + 1} - x_{i}"),
    (ac.einsum("ii", A), r"\sum_{k} A_{k k}"),
    (ac.sum(x > 0), r"\sum_{k} \left[x_{k} > 0\right]"),
    (ac.prod(x), r"\prod_{k} x_{k}"),
    (ac.where(ac.vector("mask", n, dtype=bool), x, -x),
     r"\begin{cases} x_{i} & \text{for}\: mask_{i} \\- x_{i} & \text{otherwise} \end{cases}"),
    (X.reshape(-1), r"X_{\left\lfloor{\frac{i}{m}}\right\rfloor, i \bmod m}"),
    (ac.tensor("C", (2, 3, 4)).transpose(1, 0, 2), r"C_{j i l}"),
    (ac.hypot(x, y), r"\operatorname{hypot}\left(x_{i}, y_{i}\right)"),
]


@pytest.mark.parametrize("tensor, index", INDEX_ONLY, ids=lambda v: str(v)[:30])
def test_auto_falls_back_to_index_notation(tensor, index):
    assert ac.latex(tensor) == index == ac.latex(tensor, notation="index")
    with pytest.raises(UnsupportedError, match="not matrix algebra"):
        ac.latex(tensor, notation="matrix")


def test_partial_ranges_are_printed_in_full():
    i, k = sp.Symbol("i_0", integer=True), sp.Symbol("k_0", integer=True)
    partial = ac.Tensor(shape=(n,), body=sp.Sum(x.body.xreplace({x.indices[0]: k}), (k, 0, i)))
    assert ac.latex(partial) == r"\sum_{k=0}^{i} x_{k}"
    assert ac.latex(ac.max(x[1:])) == r"\max_{0 \le k \le n - 2} x_{k + 1}"


def test_plain_sympy_lists_and_functions():
    a, z = sp.symbols("a z")
    assert ac.latex(sp.exp(a) + 1) == sp.latex(sp.exp(a) + 1)
    assert ac.latex([a, ac.sum(x)]) == r"\left[ a, \  \mathbf{1}^{T} x\right]"
    assert ac.latex((a, z), notation="index") == r"\left( a, \  z\right)"
    assert ac.latex(ac.sigmoid(a) * ac.softplus(z)) == \
        r"\sigma\left(a\right) \operatorname{softplus}\left(z\right)"
    assert ac.latex(ac.log1p(a)) == r"\operatorname{log1p}\left(a\right)"
    assert ac.latex(ac.log2(a) + ac.log10(a)) == r"\log_{10}\left(a\right) + \log_{2}\left(a\right)"
    assert ac.latex(ac.arctan2(a, z)) == r"\operatorname{atan2}\left(a, z\right)"
    assert ac.latex(ac.lgamma(a)) == r"\log\Gamma\left(a\right)"
    assert ac.latex(ac.exp2(a)) == r"2^{a}"
    with pytest.raises(SignatureError):
        ac.latex(a, notation="tensor")


def test_inputs_and_scalars():
    assert ac.latex(X) == "X" and ac.latex(X, notation="index") == r"X_{i j}"
    assert ac.latex(ac.vector("x_1", n), notation="index") == r"{x_{1}}_{i}"
    assert ac.latex(ac.scalar("alpha")) == r"\alpha"
    assert ac.latex(2 * b + 1) == r"2 b + 1"
    assert ac.latex(ac.vector("t", n, dtype=bool), notation="index") == r"t_{i}"


# Commands that both MathJax and KaTeX render without extensions or macros.
ALLOWED = {
    "left", "right", "sum", "prod", "max", "min", "frac", "sqrt", "mathbf", "odot", "oslash",
    "circ", "exp", "log", "sigma", "operatorname", "lfloor", "rfloor", "lceil", "rceil",
    "bmod", "begin", "end", "text", "le", "lambda", "alpha", "Gamma", "cdot", "displaystyle",
    "sin", "cos", "tan", "tanh", "arcsin", "theta", "neq", "wedge", "vee",
}


def test_latex_uses_only_standard_commands():
    samples = [g[1] for g in GOLDEN.values()] + [g[2] for g in GOLDEN.values()]
    samples += [i for _, i in INDEX_ONLY]
    samples += [ac.latex(e) for e in (
        ac.floor(x) + ac.ceil(x), ac.sqrt(ac.abs(x)), ac.cbrt(x), ac.relu(X @ w), ac.tanh(x),
        ac.gamma(x), ac.heaviside(x, 0.5), (x > 0) & (y < 1), ac.clip(x, 0, 1), ac.mod(x, 2),
        ac.arcsin(x), ac.mean(X, axis=1), X - ac.mean(X, axis=0))]
    for tex in samples:
        assert set(re.findall(r"\\([A-Za-z]+)", tex)) <= ALLOWED, tex
        assert tex.count("{") == tex.count("}"), tex
        assert tex.count(r"\left") == tex.count(r"\right"), tex
