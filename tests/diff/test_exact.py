"""On small concrete sizes, tensor gradients equal ``sympy.diff`` of the scalarized formula.

Every input element becomes its own SymPy symbol, every sum is written out;
the gradient computed in index notation (with its deltas eliminated and
boundary guards kept) must then agree exactly with SymPy's derivative of the
written-out formula, element by element.
"""
from __future__ import annotations

import pytest
import sympy as sp

import algebrac as ac
from algebrac.diff.rules import SIGMOID
from algebrac.simplify.rules import rewrite


def _equal(a: sp.Expr, b: sp.Expr) -> bool:
    d = a - b
    if d == 0 or sp.expand(d) == 0:
        return True
    if sp.expand(rewrite(d, [SIGMOID])) == 0:       # sigmoid(-z) = 1 - sigmoid(z)
        return True
    return sp.simplify(d.rewrite(sp.exp)) == 0     # tanh, logaddexp ... through exp


def _check(f, wrt, dims, scalarized):
    s = scalarized(dims)
    f_s = s.element(f, ())
    for var, g in zip(wrt, ac.grad(f, wrt)):
        if isinstance(var, ac.Tensor):
            elements = s.variable(var)
            got = s.all(g)
        else:
            elements = {(): var}
            got = {(): s.element(g, ())}
        assert set(got) == set(elements)
        for idx, sym in elements.items():
            want = sp.diff(f_s, sym)
            assert _equal(got[idx], want), (var, idx, got[idx], want)


@pytest.mark.parametrize("name", ["logistic", "softmax", "mlp", "gaussian", "chain", "rosenbrock"])
def test_zoo_matches_scalarized_sympy_diff(name, zoo, scalarized):
    f, wrt = zoo.formula(name)
    _check(f, wrt, zoo.small, scalarized)


n, m = ac.dim("n"), ac.dim("m")
x, y = ac.vector("x", n), ac.vector("y", m)
A = ac.matrix("A", (n, m))
S = ac.matrix("S", (n, n))
DIMS = {n: 3, m: 2}

CASES = {
    "concatenate": (ac.sum(ac.concatenate([x, y]) ** 3 * ac.concatenate([y, x])), [x, y]),
    "stack": (ac.sum(ac.stack([x, 2 * x**2]) ** 2), [x]),
    "reshape": (ac.sum(ac.sin(A.reshape(-1)) * ac.cos(A.T.reshape(-1))), [A]),
    "prod": (ac.prod(x) + ac.prod(ac.sin(A), axis=0) @ y, [x, A, y]),
    "step_slice": (ac.sum(x[::2] ** 3) + x[::-1] @ x, [x]),
    "integer_index": (x[0] * x[n - 1] + ac.sum(x[1:] * x[:-1]), [x]),
    "trace": (ac.einsum("ii", S) ** 2 + ac.sum(S @ S), [S]),
    "broadcast": (ac.sum((A - ac.mean(A, axis=0)) ** 2) + ac.sum((A.T + x) ** 2), [A, x]),
    "where": (ac.sum(ac.where(x > 0, x**2, -x**3)), [x]),
    "shift2": (ac.sum((x[2:] - 2 * x[1:-1] + x[:-2]) ** 2), [x]),
}


@pytest.mark.parametrize("name", CASES)
def test_operations_match_scalarized_sympy_diff(name, scalarized):
    f, wrt = CASES[name]
    _check(f, wrt, DIMS, scalarized)
