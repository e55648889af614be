"""The parts of the derivative engine: range reasoning, delta elimination, scopes, rules, notation."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.diff.assemble import hoist, tidy
from algebrac.diff.delta import Term, eliminate
from algebrac.diff.notation import with_notation
from algebrac.diff.ranges import bounds, decide, simplify_indices
from algebrac.diff.ranges import tidy as tidy_rel
from algebrac.diff.reverse import Leaf
from algebrac.diff.rules import SIGMOID, partials
from algebrac.diff.scope import Fresh, depth_normal, deshadow, subs_free
from algebrac.expr.functions import sigmoid, softplus

n = sp.Symbol("n", integer=True, positive=True)
m = sp.Symbol("m", integer=True, positive=True)
i, j = sp.symbols("i_0 i_1", integer=True)
k, l = sp.symbols("k_0 k_1", integer=True)
x = sp.IndexedBase("x")
R = {i: (sp.S.Zero, n - 1)}


# ---- ranges ------------------------------------------------------------------------------
@pytest.mark.parametrize("cond, verdict", [
    (sp.Ge(i, 0), True), (sp.Le(i, n - 1), True), (sp.Lt(i, n), True), (sp.Gt(i, n - 1), False),
    (sp.Ge(i - 1, 0), None), (sp.Le(i + 1, n - 1), None), (sp.Eq(i, n), False),
    (sp.Ne(i, -1), True), (sp.And(sp.Ge(i, 0), sp.Le(i, 5)), None),
    (sp.Or(sp.Ge(i, 0), sp.Le(i, 5)), True), (sp.Gt(x[i], 0), None),
])
def test_decide(cond, verdict):
    assert decide(cond, R) is verdict


def test_bounds_and_tidy_forms():
    assert bounds(2 * i - 1, R) == (-1, 2 * n - 3)
    assert bounds(sp.Mod(i, 3), R) == (0, 2)
    assert bounds(x[i], R) is None
    assert tidy_rel(sp.Ge(i - 1, 0), R) == sp.Ge(i, 1)
    assert tidy_rel(sp.Lt(-i, 2 - n), R) == sp.Ge(i, n - 1)
    assert simplify_indices(sp.Mod(m * k + l, m), {k: (0, n - 1), l: (0, m - 1)}) == l


# ---- delta elimination -----------------------------------------------------------------------
def _eliminate(limits, indices, wrt=(i,), ranges=R, guards=()):
    return eliminate(Leaf(tuple(limits), x[k] ** 2, tuple(guards), tuple(indices)), wrt, ranges,
                     Fresh([x[k], *wrt]))


def test_full_range_read_eliminates_without_guard():
    assert _eliminate([(k, 0, n - 1)], [k]) == Term((), (), (), (), x[i] ** 2)


def test_shifted_read_keeps_the_boundary():
    term = _eliminate([(k, 0, n - 2)], [k + 1])
    assert term.outer == (sp.Ge(i, 1),) and term.factor == x[i - 1] ** 2 and not term.limits


def test_out_of_range_read_vanishes():
    assert _eliminate([(k, 0, n - 1)], [n]) is None


def test_step_read_needs_divisibility():
    term = _eliminate([(k, 0, n - 1)], [2 * k])
    assert sp.Eq(sp.Mod(i, 2), 0) in term.outer and term.factor == x[i / 2] ** 2


def test_reshape_digits_eliminate():
    ranges = {i: (sp.S.Zero, n - 1), j: (sp.S.Zero, m - 1)}
    term = _eliminate([(k, 0, n * m - 1)], [sp.floor(k / m), sp.Mod(k, m)], (i, j), ranges)
    assert term is not None and not term.limits and not term.deltas
    assert term.factor == x[m * i + j] ** 2          # the flat position of element (i, j)
    flat = _eliminate([(k, 0, n - 1), (l, 0, m - 1)], [m * k + l], (i,), {i: (0, n * m - 1)})
    assert flat is not None and not flat.limits and not flat.outer
    assert flat.factor == x[sp.floor(i / m)] ** 2


def test_equation_without_summation_variable_is_a_delta():
    term = _eliminate([], [j], (i,), {i: (0, n - 1), j: (0, n - 1)})
    assert term.deltas == ((j, i),)


def test_branch_equation_is_eliminated_too():
    term = _eliminate([(k, 0, 1), (l, 0, n - 1)], [l], guards=[sp.Eq(k, 0)])
    assert not term.limits and not term.inner and not term.outer


# ---- scopes --------------------------------------------------------------------------------
def test_substitution_respects_binding_and_avoids_capture():
    e = x[k] * sp.Sum(x[k] * x[l], (l, 0, 3))
    out = subs_free(e, {k: l + 1}, Fresh([e]))
    (inner,) = out.atoms(sp.Sum)
    assert inner.variables[0] != l and out.has(x[l + 1])
    assert depth_normal(sp.Sum(x[k], (k, 0, 2))) == depth_normal(sp.Sum(x[l], (l, 0, 2)))
    shadowed = sp.Sum(x[k] * sp.Sum(x[k], (k, 0, 1)), (k, 0, 2))
    fixed = deshadow(shadowed, frozenset(), Fresh([shadowed]))
    assert len({s.variables[0] for s in fixed.atoms(sp.Sum)}) == 2


def test_sympy_sum_no_longer_folds_piecewise_out_of_inner_sums():
    inner = sp.Sum(sp.Piecewise((x[k], sp.Eq(k, l)), (0, True)), (k, 0, 1))
    outer = sp.Sum(x[l] * inner, (l, 0, 3))
    assert outer.function.has(sp.Sum) and not outer.function.is_Piecewise
    assert outer.doit() == sum(x[q] * x[q] for q in range(2))


# ---- rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", SIGMOID.rules, ids=lambda r: r.name)
def test_sigmoid_rules_are_identities(rule):
    """Both sides agree at 50 digits on random points (GUIDE: rewrite soundness)."""
    a = sp.Symbol("a", real=True)
    head = rule.tracks[0]
    before = head(-a)
    after = rule(before)
    assert after is not None and rule.identity
    f0, f1 = (sp.lambdify(a, e.rewrite(sp.exp), "mpmath") for e in (before, after))
    with mpmath.workdps(50):
        for v in np.random.default_rng(0).normal(scale=5, size=8):
            assert abs(f0(mpmath.mpf(v)) - f1(mpmath.mpf(v))) < mpmath.mpf(10) ** -45


def test_tidy_and_hoist():
    z, t = sp.symbols("z t", real=True)
    assert tidy(-t * sigmoid(-z) + (1 - t) * sigmoid(z)) == sigmoid(z) - t
    assert tidy(sigmoid(z) * sigmoid(-z)) == sigmoid(z) * sigmoid(-z)
    assert tidy(softplus(-z) + z) == softplus(z)
    assert hoist(2 * t * x[k], ((k, 0, n - 1),)) == 2 * t * sp.Sum(x[k], (k, 0, n - 1))
    assert hoist(t, ((k, 0, n - 1),)) == n * t


def test_partials_of_unknown_functions_are_unsupported():
    f = sp.Function("f")
    (_, partial, _), = partials(f(sp.Symbol("a")))   # an error once the chain rule uses it
    with pytest.raises(ac.UnsupportedError, match="no closed-form derivative"):
        partial * sp.Symbol("b")
    with pytest.raises(ac.UnsupportedError, match="no closed-form derivative"):
        ac.grad(f(sp.Symbol("a")), [sp.Symbol("a")])


def test_notation_falls_back_to_index_notation():
    X = ac.matrix("X", (n, n))
    g = ac.Tensor(shape=(n,), body=(X @ ac.exp(X[0])).body)       # reads a fixed row
    assert with_notation(g) is g or with_notation(g).origin is not None
    h = ac.grad(ac.sum((X[1:] - X[:-1]) ** 2), X)
    assert h.origin is None and ac.latex(h).startswith(r"\begin{cases}")
