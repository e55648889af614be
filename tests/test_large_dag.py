"""Formulas whose trees dwarf their DAG (a symbolic LU solve, as in a multibody model).

``M.LUsolve(F)`` of a dense symbolic matrix reuses each pivot in every later entry: the
7x7 system below and its Jacobian have 2,452 distinct operations but 1.2e10 as a tree.
Every compile phase must walk the DAG (cache key, name, cut into shared parts, CSE),
and 70 inputs plus outputs are more than a NumPy ufunc takes.  Checked against NumPy's
own solve, with the Jacobian by complex steps (exact to rounding): counts of work here,
timings in ``benchmarks/bench_compile.py --large "pendulum 8"``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

import algebrac as ac
from algebrac.deep import CUT_NODES, cut_shared, key_text, summary
from algebrac.lower.elementwise import prepare

N = 7


def _matrix(x, m, cos):
    return [[cos(x[i] - x[j]) * m[max(i, j)] + (2 if i == j else 0) for j in range(N)]
            for i in range(N)]


def _system():
    """The solution of A(x, m) s = b(x, m) and its Jacobian in x, as SymPy formulas."""
    x, m = sp.symbols(f"x:{N}"), sp.symbols(f"m:{N}")
    A = sp.Matrix(_matrix(x, m, sp.cos))
    b = sp.Matrix([sp.sin(x[i]) * m[i] for i in range(N)])
    sol = A.LUsolve(b)
    jac = A.LUsolve(b.jacobian(x) - sp.Matrix.hstack(*[A.diff(v) * sol for v in x]))
    return [*sol, *jac], [*x, *m]


def _reference(xs, ms):
    """NumPy's solve at each point; d/dx_k by a complex step of 1e-30."""
    sols, jacs = [], []
    for x, m in zip(xs.T, ms.T):
        def solve(z):
            return np.linalg.solve(np.array(_matrix(z, m, np.cos)), np.sin(z) * m)
        sols.append(solve(x))
        jacs.append([solve(x + 1e-30j * (np.arange(N) == k)).imag / 1e-30 for k in range(N)])
    return np.array(sols).T, np.array(jacs).transpose(2, 1, 0).reshape(N * N, -1)


@pytest.fixture(scope="module")
def system():
    return _system()


def _distinct(exprs) -> set:
    seen, stack = set(), list(exprs)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(node.args)
    return seen


def _dag_ops(exprs) -> int:
    return sum(max(len(n.args) - 1, 1) for n in _distinct(exprs) if n.args)


def _tree_ops(exprs) -> int:
    """Operations as ``count_ops`` counts the tree (an n-ary sum is n-1 additions)."""
    memo: dict = {}
    stack = list(exprs)
    while stack:
        node = stack[-1]
        pending = [a for a in node.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[node] = (max(len(node.args) - 1, 1) if node.args else 0) + sum(
            memo[a] for a in node.args)
    return sum(memo[e] for e in exprs)


def test_cut_parts_add_up_to_the_dag(system):
    exprs, _ = system
    lets, outs = cut_shared(exprs)
    dag = _dag_ops(exprs)
    parts = sum(_tree_ops([v]) for _, v in lets) + _tree_ops(outs)
    assert _tree_ops(exprs) > 10**6 * dag               # the tree: 1.2e10 operations
    assert 200 < len(lets) and dag <= parts <= 1.5 * dag   # small parts copied
    # a shared 1/b is cut at b: x/b still divides (one rounding, as NumPy's x/b)
    assert not any(v.is_Pow and v.exp.is_negative for _, v in lets)
    # after CSE the compiled program does the DAG's work (x/b divides where SymPy's DAG
    # shares 1/b: a few more operations, one rounding each)
    prog = prepare(exprs, system[1], stabilize=True)
    assert sum(_tree_ops([v]) for _, v in prog.lets) + _tree_ops(prog.outputs) <= 1.1 * dag


def test_small_or_branch_only_sharing_is_not_cut():
    x, y = sp.symbols("x y")
    f = x
    for _ in range(30):
        f = sp.sin(f) * y + f * x
    assert _tree_ops([f]) > CUT_NODES
    small = sp.sin(x) ** 2 + sp.sin(x) * y
    assert cut_shared([small]) == ([], [small])
    branch = sp.Piecewise((f, x > 0), (0, True))  # computed only where x > 0: never hoisted
    assert cut_shared([branch]) == ([], [branch])
    lets, (g,) = cut_shared([f * branch])        # f is computed anyway: the branch shares it
    s = lets[-1][0]
    assert len(lets) == 30 and g == s * sp.Piecewise((s, x > 0), (0, True))


def test_key_text_is_the_dag(system):
    exprs, args = system
    text = key_text(tuple(exprs))
    assert text == key_text(tuple(_system()[0]))    # rebuilt: same key
    assert len(text.splitlines()) == len(_distinct(exprs)) + 1   # and the tuple
    a, b = sp.Symbol("a"), sp.Symbol("a", positive=True)
    assert key_text((a + 1,)) != key_text((b + 1,))  # assumptions are part of the key
    assert key_text((sp.Float("0.1", 15),)) != key_text((sp.Float("0.1", 30),))
    assert summary(exprs).startswith("large formula: 56 output(s), ")


@pytest.mark.slow
def test_lu_solve_and_jacobian_compile_as_one_loop(system):
    exprs, args = system
    f = ac.compile(exprs, args)
    assert f.nin + f.nout == 70 and f.ufunc is None   # more than a ufunc: the loop itself
    assert f.__name__.startswith("large_formula_") and "large formula" in repr(f)
    rng = np.random.default_rng(1)
    xs, ms = rng.uniform(-3, 3, (N, 40)), rng.uniform(0.1, 0.3, (N, 40))
    sol, jac = _reference(xs, ms)
    got = np.array(f(*xs, *ms))
    np.testing.assert_allclose(got[:N], sol, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got[N:], jac, rtol=1e-9, atol=1e-12)
    # broadcasting, a non-contiguous input, out=, float32, empty arrays, NaN
    rows = f(*xs[:, ::2][:, None, :], *ms[:, 0])
    ref = np.array(f(*xs[:, ::2], *np.repeat(ms[:, :1], 20, axis=1)))
    assert rows[0].shape == (1, 20) and np.array_equal(np.array(rows)[:, 0], ref)
    out = tuple(np.empty(40) for _ in exprs)
    assert f(*xs, *ms, out=out) is out and np.array_equal(np.array(out), got)
    low = np.array(f(*xs.astype(np.float32), *ms.astype(np.float32)))
    assert low.dtype == np.float32
    np.testing.assert_allclose(low[:N], sol, rtol=2e-4, atol=1e-5)
    assert f(*[np.empty(0)] * 14)[5].shape == (0,)
    assert np.isnan(f(np.nan, *xs[1:, 0], *ms[:, 0])).all()
    # m0 = -2 makes the first pivot 0: NumPy's rules for the division flag
    point = [*xs[:, 0], -2.0, *ms[1:, 0]]
    with np.errstate(divide="raise", invalid="raise"), pytest.raises(FloatingPointError,
                                                                      match=f.__name__):
        f(*point)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f(*point)
    assert caught and all(w.category is RuntimeWarning for w in caught)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        f(*point)

