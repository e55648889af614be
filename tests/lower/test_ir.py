"""The loop IR: structural equality, printing and verify."""
from __future__ import annotations

import pytest
import sympy as sp

from algebrac.dtypes import DType
from algebrac.errors import VerifyError
from algebrac.lower.ir import (Accumulate, Assign, Buffer, Call, Kernel, Let, Loop, LoopKind,
                               ReduceOp, Role, pformat, verify)

i, j, n = sp.Symbol("_ac_i", integer=True), sp.Symbol("_ac_j", integer=True), sp.Symbol("_ac_n")
X = Buffer("_ac_in0", DType.FLOAT64, (n,), Role.IN)
Y = Buffer("_ac_out0", DType.FLOAT64, (n,), Role.OUT)
t = sp.Symbol("_ac_t0")


def kernel(value=None):
    value = 2 * t if value is None else value
    body = (Let(t, X[i] + 1), Assign(Y[i], value))
    return Kernel("k", (X, Y), (Loop(i, n, body),), sizes=(n,))


def test_structural_equality_and_hash():
    assert kernel() == kernel()
    assert hash(kernel()) == hash(kernel())
    assert kernel() != kernel(3 * t)


def test_nodes_are_immutable():
    with pytest.raises(AttributeError):
        kernel().name = "other"


def test_pformat_golden():
    assert pformat(kernel()) == (
        "kernel k(in _ac_in0: float64[_ac_n], out _ac_out0: float64[_ac_n]):\n"
        "  for _ac_i in 0.._ac_n (serial):\n"
        "    let _ac_t0: float64 = _ac_in0[_ac_i] + 1\n"
        "    _ac_out0[_ac_i] = 2*_ac_t0"
    )
    assert str(kernel()) == pformat(kernel())


def test_pformat_accumulate_and_call():
    acc = Accumulate(Y[i], X[j], ReduceOp.MAX)
    assert pformat(acc) == "_ac_out0[_ac_i] max= _ac_in0[_ac_j]"
    assert pformat(Call("dot", (X.name, Y.name))) == "call dot(_ac_in0, _ac_out0)"


def test_reduce_identities():
    assert [op.identity for op in ReduceOp] == [0, 1, -sp.oo, sp.oo]


def test_verify_accepts_well_formed_kernel():
    k = kernel()
    assert verify(k) is k


def test_verify_rejects_unbound_symbol():
    stray = sp.Symbol("_ac_t9")
    with pytest.raises(VerifyError, match="(?s)_ac_t9 used before it is bound.*bug in algebrac"):
        verify(kernel(stray))


def test_verify_rejects_index_used_outside_its_loop():
    k = Kernel("k", (X, Y), (Assign(Y[i], X[i]),), sizes=(n,))
    with pytest.raises(VerifyError, match="_ac_i"):
        verify(k)
