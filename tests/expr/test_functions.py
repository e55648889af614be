"""sigmoid, softplus, relu and the ReduceMax/ReduceMin nodes as SymPy objects."""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from algebrac.expr.functions import ReduceMax, ReduceMin, relu, sigmoid, softplus

x = sp.Symbol("x", real=True)


@pytest.mark.parametrize("f, point, value", [
    (sigmoid, 0, sp.Rational(1, 2)), (sigmoid, sp.oo, 1), (sigmoid, -sp.oo, 0),
    (softplus, 0, sp.log(2)), (softplus, sp.oo, sp.oo), (softplus, -sp.oo, 0),
    (relu, 3, 3), (relu, -2, 0), (relu, 0, 0), (relu, sp.Rational(1, 2), sp.Rational(1, 2)),
])
def test_exact_values(f, point, value):
    assert f(point) == value


def test_symbolic_arguments_stay_unevaluated():
    assert isinstance(sigmoid(x), sigmoid) and isinstance(softplus(2 * x), softplus)
    assert isinstance(relu(x), relu)
    assert relu(sp.Symbol("p", positive=True)) == sp.Symbol("p", positive=True)
    assert relu(-sp.Symbol("p", positive=True)) == 0


@pytest.mark.parametrize("f, mp", [
    (sigmoid, lambda v: 1 / (1 + mpmath.exp(-v))),
    (softplus, lambda v: mpmath.log(1 + mpmath.exp(v))),
    (relu, lambda v: max(v, 0)),
])
@pytest.mark.parametrize("point", ["-3.5", "0.25", "2", "40"])
def test_numeric_evaluation_matches_mpmath(f, mp, point):
    with mpmath.workdps(40):
        expected = mp(mpmath.mpf(point))
        got = f(sp.Rational(point)).evalf(35)
        assert abs(float(got) - float(expected)) <= 1e-15 * max(1, abs(float(expected)))
        # Float arguments evaluate immediately, as for SymPy's own functions
        assert f(sp.Float(point)).is_Number


@pytest.mark.parametrize("f", [sigmoid, softplus, relu])
@pytest.mark.parametrize("point", [-2.3, 0.7, 3.1])
def test_derivative_matches_finite_differences(f, point):
    h = 1e-6
    d = f(x).diff(x)
    numeric = (f(sp.Float(point + h)) - f(sp.Float(point - h))) / (2 * h)
    assert abs(float(d.subs(x, point).evalf()) - float(numeric)) < 1e-8


def test_derivative_forms_and_rewrites():
    s = sigmoid(x)
    assert s.diff(x) == s * sigmoid(-x)   # stable: no 1 - sigmoid(x) cancellation
    assert softplus(x).diff(x) == sigmoid(x)
    assert relu(x).diff(x) == sp.Heaviside(x, 0)
    assert sigmoid(x).rewrite(sp.exp) == 1 / (1 + sp.exp(-x))
    assert softplus(x).rewrite(sp.exp) == sp.log(1 + sp.exp(x))
    assert softplus(x).rewrite(sp.log) == sp.log(1 + sp.exp(x))
    assert relu(x).rewrite(sp.Max) == sp.Max(0, x)
    assert sp.simplify(sigmoid(x).rewrite(sp.exp).diff(x) - s.diff(x).rewrite(sp.exp)) == 0


def test_assumptions_and_latex():
    assert sigmoid(x).is_real and sigmoid(x).is_positive
    assert softplus(x).is_positive and relu(x).is_nonnegative
    assert sp.latex(sigmoid(x)) == r"\sigma\left(x\right)"
    assert sp.latex(softplus(x) ** 2) == r"\operatorname{softplus}\left(x\right)^{2}"
    assert sp.latex(relu(x)) == r"\operatorname{relu}\left(x\right)"


def test_range_reductions():
    k = sp.Symbol("k", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    f = (k - 2) ** 2
    assert ReduceMax(f, (k, 0, 4)).doit() == 4
    assert ReduceMin(f, (k, 0, 4)).doit() == 0
    assert ReduceMax(f, (k, 0, n)).doit() == ReduceMax(f, (k, 0, n))
    assert ReduceMax(x * k, (k, 0, n)).free_symbols == {x, n}
    assert ReduceMax(ReduceMax(k, (k, 0, 2)), (x, 0, 1)).limits == ((k, 0, 2), (x, 0, 1))
    assert sp.latex(ReduceMin(k, (k, 1, n))) == r"\min_{1 \le k \le n} k"
    with pytest.raises(ValueError):
        ReduceMax(k, (k, 1, 0)).doit()
