"""Expression swell is controlled: value and gradient cost a small multiple of the value.

Counted as DESIGN's compiled kernels see them: the formulas written out at
small concrete sizes, joint branch-safe CSE (``algebrac.simplify.cse``), then
``sympy.count_ops``.  The gradient shares the primal's subexpressions
(``sigmoid(X w)``, ``tanh(X W1 + b1)``), so the value-and-gradient kernel stays
within 4x the value's operations.
"""
from __future__ import annotations

import pytest
import sympy as sp

import algebrac as ac
from algebrac.simplify.cse import cse

RATIO = 4.0


def ops(exprs) -> int:
    lets, outs = cse(list(exprs))
    return sum(sp.count_ops(v) for _, v in lets) + sum(sp.count_ops(e) for e in outs)


@pytest.mark.parametrize("name", ["logistic", "softmax", "mlp", "gaussian", "chain", "rosenbrock"])
def test_tensor_models(name, zoo, scalarized):
    f, wrt = zoo.formula(name)
    s = scalarized(zoo.small)
    value = [s.element(f, ())]
    grads = []
    for g in ac.grad(f, wrt):
        grads += list(s.all(g).values())
    assert ops(value + grads) <= RATIO * ops(value)


x, y, z = sp.symbols("x y z", real=True)
r2 = x**2 + y**2 + z**2


@pytest.mark.parametrize("f", [
    sp.exp(-x**2 - y**2) * sp.sin(x * y),
    (1 - x)**2 + 100 * (y - x**2)**2,
    4 * (r2**-6 - r2**-3),
    sp.log(sp.exp(x) + sp.exp(y) + sp.exp(z)),
    sp.atan2(y, x) * sp.sqrt(x**2 + y**2),
], ids=["gaussian_bump", "rosenbrock", "lennard_jones", "logsumexp", "polar"])
def test_scalar_models(f):
    syms = sorted(f.free_symbols, key=str)
    assert ops([f, *ac.grad(f, syms)]) <= RATIO * ops([f])
