"""Shared helpers for the derivative tests: scalarization at concrete sizes, random data."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp

import algebrac as ac


def _element_symbols(t: ac.Tensor) -> dict:
    """One real SymPy symbol per element of a concrete-shape input tensor."""
    shape = tuple(int(d) for d in t.shape)
    return {idx: sp.Symbol(f"{t.name}_{'_'.join(map(str, idx))}" if idx else t.name, real=True)
            for idx in itertools.product(*(range(d) for d in shape))}


class Scalarized:
    """A tensor formula written out element by element with one symbol per input element."""

    def __init__(self, dims: dict):
        self.dims = dims
        self.symbols: dict = {}     # InputLabel -> {index tuple: Symbol}

    def inputs(self, t: ac.Tensor):
        for inp in t.subs(self.dims).inputs:
            self.symbols.setdefault(inp.label, _element_symbols(inp))

    def element(self, t: ac.Tensor, idx: tuple) -> sp.Expr:
        t = t.subs(self.dims)
        self.inputs(t)
        body = ac.Tensor(shape=t.shape, dtype=t.dtype, body=t.body).body
        e = body.xreplace(dict(zip(t.indices, map(sp.Integer, idx)))).doit()
        reads = {}
        for node in e.atoms(sp.Indexed):
            reads[node] = self.symbols[node.base.label][tuple(int(i) for i in node.indices)]
        for label, table in self.symbols.items():
            if () in table:
                reads[label] = table[()]
        return e.xreplace(reads)

    def all(self, t: ac.Tensor) -> dict:
        shape = tuple(int(d) for d in t.subs(self.dims).shape)
        return {idx: self.element(t, idx) for idx in itertools.product(*(range(d) for d in shape))}

    def variable(self, x: ac.Tensor) -> dict:
        self.inputs(x)
        return self.symbols[x.subs(self.dims).label]


@pytest.fixture
def scalarized():
    return Scalarized


@pytest.fixture
def rng():
    return np.random.default_rng(20261201)


# ---- the model zoo: the formulas the derivative tests share ---------------------------------
n, m, h, c = ac.dim("n"), ac.dim("m"), ac.dim("h"), ac.dim("c")
SIZES = {n: 5, m: 3, h: 4, c: 3}          # numerical checks
SMALL = {n: 3, m: 2, h: 2, c: 2}          # exact checks against scalarized SymPy


def _logistic():
    X, w, t, b = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n), ac.scalar("b")
    p = ac.sigmoid(X @ w + b)
    loss = -ac.mean(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    return loss, [w, b], {X: "normal", w: "normal", t: "binary", b: "normal"}


def _softmax():
    X, W, Y = ac.matrix("X", (n, m)), ac.matrix("W", (m, c)), ac.matrix("Y", (n, c))
    Z = X @ W
    loss = -ac.sum(Y * (Z - ac.log(ac.sum(ac.exp(Z), axis=1, keepdims=True))))
    return loss, [W], {X: "normal", W: "normal", Y: "onehot"}


def _mlp():
    X, y = ac.matrix("X", (n, m)), ac.vector("y", n)
    W1, b1, W2, b2 = ac.matrix("W1", (m, h)), ac.vector("b1", h), ac.vector("W2", h), ac.scalar("b2")
    pred = ac.tanh(X @ W1 + b1) @ W2 + b2
    return (ac.mean((pred - y) ** 2), [W1, b1, W2, b2],
            {X: "normal", y: "normal", W1: "normal", b1: "normal", W2: "normal", b2: "normal"})


def _gaussian():
    """Log-likelihood of n points in the plane under N(mu, S), S a 2x2 covariance matrix."""
    D, mu, S = ac.matrix("D", (n, 2)), ac.vector("mu", 2), ac.matrix("S", (2, 2))
    det = S[0, 0] * S[1, 1] - S[0, 1] * S[1, 0]
    P = ac.stack([ac.stack([S[1, 1], -S[0, 1]]), ac.stack([-S[1, 0], S[0, 0]])]) / det
    R = D - mu
    loglik = -ac.sum((R @ P) * R) / 2 - n * ac.log(det) / 2 - n * sp.log(2 * sp.pi)
    return loglik, [mu, S], {D: "normal", mu: "normal", S: "spd"}


def _chain():
    """A particle chain: harmonic bonds and a repulsion between next neighbours."""
    x = ac.vector("x", n)
    k, r0 = sp.Symbol("k", positive=True), sp.Rational(1, 2)
    bonds = k / 2 * ac.sum((x[1:] - x[:-1] - r0) ** 2)
    repulsion = ac.sum(1 / (x[2:] - x[:-2]) ** 2)
    return bonds + repulsion, [x, k], {x: "increasing", k: "positive"}


def _rosenbrock():
    x = ac.vector("x", n)
    return ac.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2), [x], {x: "normal"}


ZOO = {"logistic": _logistic, "softmax": _softmax, "mlp": _mlp, "gaussian": _gaussian,
       "chain": _chain, "rosenbrock": _rosenbrock}


def draw(kind: str, shape: tuple, rng) -> np.ndarray:
    """Test data of a given kind and concrete shape."""
    if kind == "normal":
        return rng.normal(size=shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if kind == "binary":
        return (rng.uniform(size=shape) > 0.5).astype(float)
    if kind == "onehot":
        return np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
    if kind == "increasing":
        return np.cumsum(rng.uniform(0.5, 1.5, size=shape))
    if kind == "spd":
        a = rng.normal(size=shape)
        return a @ a.T + shape[0] * np.eye(shape[0])
    raise ValueError(kind)


def bind(kinds: dict, sizes: dict, rng) -> dict:
    """Random values for every input (and scalar symbol) of a model at concrete sizes."""
    out = {}
    for x, kind in kinds.items():
        shape = tuple(int(sp.sympify(d).subs(sizes)) for d in x.shape) if isinstance(
            x, ac.Tensor) else ()
        value = draw(kind, shape, rng)
        out[x] = value if shape else float(value)
    return out


class Zoo:
    """The model zoo as a fixture: ``zoo.build(name, rng)`` gives ``(f, wrt, bindings)``."""

    names = tuple(ZOO)
    sizes, small = SIZES, SMALL

    @staticmethod
    def formula(name: str):
        f, wrt, _ = ZOO[name]()
        return f, wrt

    @staticmethod
    def build(name: str, rng, sizes: dict = SIZES):
        f, wrt, kinds = ZOO[name]()
        return f, wrt, bind(kinds, sizes, rng)


@pytest.fixture
def zoo():
    return Zoo
