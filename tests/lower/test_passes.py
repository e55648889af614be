"""Passes as Before/Expected pairs (frozen dataclasses compare structurally)."""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from algebrac.dtypes import DType
from algebrac.lower.ir import (Accumulate, Assign, Buffer, Kernel, Loop, LoopKind, Role, Stage,
                               pformat)
from algebrac.lower.passes import PIPELINES, finish, mark_parallel, run

i, j, n = sp.Symbol("_ac_i", integer=True), sp.Symbol("_ac_j", integer=True), sp.Symbol("_ac_n")
X = Buffer("_ac_in0", DType.FLOAT64, (n,), Role.IN)
Y = Buffer("_ac_out0", DType.FLOAT64, (n,), Role.OUT)


def check(after, expected):
    assert after == expected, f"\nafter:\n{pformat(after)}\nexpected:\n{pformat(expected)}"


def test_mark_parallel_marks_independent_loop():
    before = Kernel("k", (X, Y), (Loop(i, n, (Assign(Y[i], X[i] ** 2),)),), sizes=(n,))
    expected = Kernel("k", (X, Y), (Loop(i, n, (Assign(Y[i], X[i] ** 2),), LoopKind.PARALLEL),),
                      sizes=(n,))
    check(mark_parallel(before), expected)


def test_mark_parallel_outer_loop_with_inner_reduction():
    # y[i] = sum_j x[j]: each i owns y[i], so the outer loop is parallel; the inner
    # loop reduces into a fixed element and stays inside one thread.
    inner = Loop(j, n, (Accumulate(Y[i], X[j]),))
    before = Kernel("k", (X, Y), (Loop(i, n, (inner,)),), sizes=(n,))
    after = mark_parallel(before)
    assert after.body[0].kind is LoopKind.PARALLEL
    assert after.body[0].body[0].kind is LoopKind.SERIAL


def test_mark_parallel_refuses_loop_carried_scalar():
    s = sp.Symbol("_ac_s")
    loop = Loop(i, n, (Assign(s, s * 2 + X[i]), Assign(Y[i], s)))
    before = Kernel("k", (X, Y), (Assign(s, 0), loop), sizes=(n,))
    assert mark_parallel(before).body[1].kind is LoopKind.SERIAL


def test_mark_parallel_allows_scalar_reduction():
    s = sp.Symbol("_ac_s")
    loop = Loop(i, n, (Accumulate(s, X[i]),))
    before = Kernel("k", (X, Y), (Assign(s, 0), loop), sizes=(n,))
    assert mark_parallel(before).body[1].kind is LoopKind.PARALLEL


def test_mark_parallel_refuses_reading_a_reduction_in_its_loop():
    s = sp.Symbol("_ac_s")
    loop = Loop(i, n, (Accumulate(Y[0], X[i]), Assign(Y[i], Y[0])))
    before = Kernel("k", (X, Y), (loop,), sizes=(n,))
    assert mark_parallel(before).body[0].kind is LoopKind.SERIAL


def test_finish_marks_ready_and_run_applies_pipeline():
    before = Kernel("k", (X, Y), (Loop(i, n, (Assign(Y[i], X[i]),)),), sizes=(n,))
    assert finish(before).stage is Stage.READY
    ready = run(before, "cpu")
    assert ready.stage is Stage.READY and ready.body[0].kind is LoopKind.PARALLEL
    assert run(before, "numpy") == ready  # one schedule: the interpreter runs what compiles


def test_every_pipeline_ends_verified():
    for passes in PIPELINES.values():
        assert passes[-1] is finish
