"""The scheduling passes as Before/Expected pairs, plus the analysis they share."""
from __future__ import annotations

import sympy as sp

from algebrac.dtypes import DType
from algebrac.lower.ir import (Accumulate, Assign, Buffer, Call, Kernel, Let, Loop, LoopKind,
                               ReduceOp, Role, pformat)
from algebrac.lower.blas import (BLOCK_ELEMENTS, Gemm, block_rows, orient_temporaries,
                                 scale_into_gemm, use_blas)
from algebrac.lower.memory import reuse_temporaries, store_shared_calls
from algebrac.lower.schedule import (fuse_loops, hoist_invariants, mark_simd, reductions_of,
                                     scalarize)

F = DType.FLOAT64
n, m, h = (sp.Symbol(f"_ac_d{k}", integer=True, nonnegative=True) for k in range(3))
i, j, k, l = (sp.Symbol(f"_ac_j{q}", integer=True, nonnegative=True) for q in range(4))
X = Buffer("_ac_in0", F, (n, m), Role.IN)
w = Buffer("_ac_in1", F, (m,), Role.IN)
A = Buffer("_ac_in2", F, (n, m), Role.IN)
B = Buffer("_ac_in3", F, (m, h), Role.IN)
y = Buffer("_ac_out0", F, (n,), Role.OUT)
g = Buffer("_ac_out1", F, (m,), Role.OUT)
s0 = Buffer("_ac_out2", F, (), Role.OUT)
z = Buffer("_ac_tmp0", F, (n,), Role.TEMP)
C = Buffer("_ac_tmp1", F, (n, h), Role.TEMP)


def check(after, expected):
    assert after == expected, f"\nafter:\n{pformat(after)}\nexpected:\n{pformat(expected)}"


def kernel(params, *body):
    return Kernel("k", params, tuple(body), sizes=(n, m, h))


def test_fuse_loops_merges_producer_and_consumer():
    before = kernel((X, w, y, z),
                    Loop(i, n, (Assign(z[i], 0), Loop(k, m, (Accumulate(z[i], X[i, k] * w[k]),)))),
                    Loop(j, n, (Assign(y[j], sp.exp(z[j])),)))
    expected = kernel((X, w, y, z),
                      Loop(i, n, (Assign(z[i], 0), Loop(k, m, (Accumulate(z[i], X[i, k] * w[k]),)),
                                  Assign(y[i], sp.exp(z[i])))))
    check(fuse_loops(before), expected)


def test_fuse_loops_refuses_shifted_reads_and_other_extents():
    shifted = kernel((X, w, y, z), Loop(i, n, (Assign(z[i], w[0]),)),
                     Loop(j, n - 1, (Assign(y[j], z[j + 1]),)))
    assert fuse_loops(shifted) == shifted
    offset = kernel((X, w, y, z), Loop(i, n, (Assign(z[i], w[0]),)),
                    Loop(j, n, (Assign(y[j], z[0]),)))
    assert fuse_loops(offset) == offset


def test_fuse_loops_moves_a_loop_past_independent_statements():
    # The gradient loop (reads X) moves up past the loss store and joins the row loop.
    before = kernel((X, w, y, g, s0, z),
                    Loop(i, n, (Assign(z[i], X[i, 0]),)),
                    Assign(s0[0], 1),
                    Loop(j, n, (Loop(k, m, (Accumulate(g[k], z[j] * X[j, k]),)),)))
    after = fuse_loops(before)
    assert len(after.body) == 2 and isinstance(after.body[0], Loop)
    assert after.body[1] == Assign(s0[0], 1)


def test_scalarize_private_temporary_and_zero_d_output():
    before = kernel((X, w, s0, z),
                    Assign(s0[0], 0),
                    Loop(i, n, (Assign(z[i], 0), Loop(k, m, (Accumulate(z[i], X[i, k] * w[k]),)),
                                Accumulate(s0[0], z[i] ** 2))))
    za, sa = sp.Symbol("_ac_atmp0"), sp.Symbol("_ac_aout2")
    expected = kernel((X, w, s0),
                      Assign(sa, 0),
                      Loop(i, n, (Assign(za, 0), Loop(k, m, (Accumulate(za, X[i, k] * w[k]),)),
                                  Accumulate(sa, za ** 2))),
                      Assign(s0[0], sa))
    check(scalarize(before), expected)


def test_scalarize_accumulates_fixed_target_in_a_register():
    before = kernel((X, y), Loop(i, n, (Assign(y[i], 0),
                                       Loop(k, m, (Accumulate(y[i], X[i, k]),)))))
    r = sp.Symbol("_ac_r0")
    expected = kernel((X, y), Loop(i, n, (Assign(y[i], 0), Assign(r, y[i]),
                                         Loop(k, m, (Accumulate(r, X[i, k]),)), Assign(y[i], r))))
    check(scalarize(before), expected)


def test_hoist_invariants_moves_work_out_of_inner_loop_but_not_out_of_branches():
    cond = sp.Piecewise((sp.log(w[0]), X[i, k] > 0), (0, True))
    before = kernel((X, w, g), Loop(i, n, (Loop(k, m, (Accumulate(g[k], sp.exp(X[i, 0]) * X[i, k]
                                                              + cond),)),)))
    after = hoist_invariants(before)
    outer = after.body[-1]
    let = outer.body[0]
    assert isinstance(let, Let) and let.value == sp.exp(X[i, 0])
    # log(w[0]) is invariant but sits in a branch that may not run: not hoisted.
    assert after.body[0] is outer and outer.body[1].body[0].value.has(sp.log(w[0]))


def test_use_blas_turns_matrix_product_into_gemm():
    before = kernel((A, B, C),
                    Loop(l, n, (Loop(j, h, (Assign(C[l, j], 0),)),)),
                    Loop(i, n, (Loop(k, m, (Loop(j, h, (Accumulate(C[i, j], 2 * A[i, k] * B[k, j]),)),)),)))
    expected = kernel((A, B, C), Call("gemm", (Gemm(C, A, B, False, False, n, h, m, 2),)))
    check(use_blas(before), expected)


def test_use_blas_sees_transposed_operands_and_leaves_matvec_alone():
    before = kernel((A, B, C),
                    Loop(i, n, (Loop(j, h, (Assign(C[i, j], 0),
                                            Loop(k, m, (Accumulate(C[i, j], A[i, k] * B[k, j]),)))),)))
    (call,) = use_blas(before).body
    assert call.args[0].trans_a is False and call.args[0].k == m
    matvec = kernel((X, w, y), Loop(i, n, (Assign(y[i], 0),
                                           Loop(k, m, (Accumulate(y[i], X[i, k] * w[k]),)))))
    assert use_blas(matvec) == matvec


def test_mark_simd_and_reductions_of():
    sa = sp.Symbol("_ac_a")
    inner = Loop(k, m, (Accumulate(sa, X[i, k] * w[k]),))
    assert reductions_of(inner) == {"_ac_a": ReduceOp.ADD}
    before = kernel((X, w), Loop(i, n, (Assign(sa, 0), inner)))
    assert mark_simd(before).body[0].body[1].kind is LoopKind.SIMD
    branchy = kernel((X, w, g), Loop(k, m, (Assign(g[k], sp.Piecewise((1 / w[k], w[k] > 0),
                                                                      (0, True))),)))
    assert mark_simd(branchy) == branchy  # the vectoriser would run the untaken branch


def test_verify_rejects_broken_kernels():
    import pytest

    from algebrac.errors import VerifyError
    from algebrac.lower.ir import verify

    with pytest.raises(VerifyError, match="input buffer"):
        verify(kernel((X, w), Loop(k, m, (Assign(w[k], 1),))))
    with pytest.raises(VerifyError, match="before it is initialised"):
        verify(kernel((X, y), Loop(i, n, (Accumulate(y[i], X[i, 0]),))))
    with pytest.raises(VerifyError, match="not integer arithmetic"):
        verify(kernel((X, y), Loop(i, n, (Assign(y[i / 2], 1),))))
    with pytest.raises(VerifyError, match="indices for a 2-d"):
        verify(kernel((X, y), Loop(i, n, (Assign(y[i], X[i]),))))
    sa = sp.Symbol("_ac_s")
    with pytest.raises(VerifyError, match="not initialised"):
        verify(kernel((X,), Loop(i, n, (Accumulate(sa, X[i, 0]),))))


# ---- the passes after use_blas: the gemm takes over the work around it ----------------------
Wt = Buffer("_ac_in4", F, (h, m), Role.IN)
G = Buffer("_ac_out3", F, (n, h), Role.OUT)
Gt = Buffer("_ac_out4", F, (h, n), Role.OUT)


def test_scale_into_gemm_writes_the_output_with_alpha_in_either_orientation():
    prod = Gemm(C, A, B, False, False, n, h, m, 1)
    before = kernel((A, B, G, C), Call("gemm", (prod,)),
                    Loop(i, n, (Loop(j, h, (Assign(G[i, j], 2 * C[i, j]),)),)))
    expected = kernel((A, B, G), Call("gemm", (Gemm(G, A, B, False, False, n, h, m, 2),)))
    check(scale_into_gemm(before), expected)
    # out[j, i] = -C[i, j]/3: the gemm writes Cᵀ = Bᵀ Aᵀ into the output
    before = kernel((A, B, Gt, C), Call("gemm", (prod,)),
                    Loop(j, h, (Loop(i, n, (Assign(Gt[j, i], -C[i, j] / 3),)),)))
    expected = kernel((A, B, Gt), Call("gemm", (Gemm(Gt, B, A, True, True, h, n, m,
                                                     sp.Rational(-1, 3)),)))
    check(scale_into_gemm(before), expected)


def test_scale_into_gemm_leaves_temporaries_that_are_read_elsewhere():
    prod = Call("gemm", (Gemm(C, A, B, False, False, n, h, m, 1),))
    copy = Loop(i, n, (Loop(j, h, (Assign(G[i, j], 2 * C[i, j]),)),))
    also_read = kernel((A, B, G, y, C), prod, copy,
                       Loop(i, n, (Assign(y[i], C[i, 0]),)))
    assert scale_into_gemm(also_read) == also_read
    not_a_copy = kernel((A, B, G, C), prod,
                        Loop(i, n, (Loop(j, h, (Assign(G[i, j], C[i, j] ** 2),)),)))
    assert scale_into_gemm(not_a_copy) == not_a_copy
    # the factor reads a scalar bound only after the gemm: it cannot move into alpha
    late = sp.Symbol("_ac_s9")
    bound_late = kernel((A, B, G, C), prod, Let(late, A[0, 0], F),
                        Loop(i, n, (Loop(j, h, (Assign(G[i, j], late * C[i, j]),)),)))
    assert scale_into_gemm(bound_late) == bound_late


def test_orient_temporaries_lays_a_gemm_result_out_the_way_loops_walk_it():
    # T[h, n] = Wt @ Aᵀ is read as T[j, i] inside the loop over j: down its columns.
    T = Buffer("_ac_tmp2", F, (h, n), Role.TEMP)
    Tt = Buffer("_ac_tmp2", F, (n, h), Role.TEMP)
    D = Buffer("_ac_tmp3", F, (h, h), Role.TEMP)
    read = Loop(i, n, (Loop(j, h, (Assign(G[i, j], sp.tanh(T[j, i])),)),))
    gemm_reader = Call("gemm", (Gemm(D, T, A, False, False, h, h, n, 1),))
    before = kernel((A, Wt, G, T, D), Call("gemm", (Gemm(T, Wt, A, False, True, h, n, m, 1),)),
                    read, gemm_reader)
    expected = kernel((A, Wt, G, Tt, D),
                      Call("gemm", (Gemm(Tt, A, Wt, False, True, n, h, m, 1),)),
                      Loop(i, n, (Loop(j, h, (Assign(G[i, j], sp.tanh(Tt[i, j])),)),)),
                      Call("gemm", (Gemm(D, Tt, A, True, False, h, h, n, 1),)))
    check(orient_temporaries(before), expected)
    # read along its rows already, or written by a loop: unchanged
    rows = kernel((A, Wt, Gt, T), Call("gemm", (Gemm(T, Wt, A, False, True, h, n, m, 1),)),
                  Loop(j, h, (Loop(i, n, (Assign(Gt[j, i], T[j, i]),)),)))
    assert orient_temporaries(rows) == rows
    looped = kernel((A, Gt, C), Loop(i, n, (Loop(j, h, (Assign(C[i, j], A[i, 0]),)),)),
                    Loop(j, h, (Loop(i, n, (Assign(Gt[j, i], C[i, j]),)),)))
    assert orient_temporaries(looped) == looped


def test_block_rows_runs_a_gemm_chain_and_its_row_loops_on_blocks_of_rows():
    # Z = tanh(A B), P = Z Wt as in the MLP: two products chained through temporaries, a
    # row loop between, a sum over the rows (Aᵀ P), then a statement that ends the chain.
    Z = Buffer("_ac_tmp4", F, (n, h), Role.TEMP)
    P = Buffer("_ac_tmp5", F, (n, m), Role.TEMP)
    S = Buffer("_ac_out5", F, (m, m), Role.OUT)
    acc = sp.Symbol("_ac_aout9")
    params = (A, B, Wt, S, s0, Z, P)
    before = kernel(params, Assign(acc, 0),
                    Call("gemm", (Gemm(Z, A, B, False, False, n, h, m, 1),)),
                    Loop(i, n, (Loop(j, h, (Assign(Z[i, j], sp.tanh(Z[i, j])),
                                            Accumulate(acc, Z[i, j]))),)),
                    Call("gemm", (Gemm(P, Z, Wt, False, False, n, m, h, 1),)),
                    Call("gemm", (Gemm(S, A, P, True, False, m, m, n, 2),)),
                    Assign(s0[0], acc))
    b = sp.Symbol("_ac_rb1", integer=True)
    size = 64 + sp.floor(BLOCK_ELEMENTS / (2 * m + h + 1))   # the rows of A, Z and P
    r0, rows = size * b, sp.Min(size, n - size * b)
    p, q = (sp.Symbol(f"_ac_rb1__ac_out5{x}", integer=True) for x in "pq")
    expected = kernel(params, Assign(acc, 0),
                      Loop(p, m, (Loop(q, m, (Assign(S[p, q], 0),)),)),
                      Loop(b, sp.floor((n + size - 1) / size), (
                          Call("gemm", (Gemm(Z, A, B, False, False, rows, h, m, 1, "ac", r0),)),
                          Loop(i, rows, (Loop(j, h, (Assign(Z[r0 + i, j], sp.tanh(Z[r0 + i, j])),
                                                     Accumulate(acc, Z[r0 + i, j]))),)),
                          Call("gemm", (Gemm(P, Z, Wt, False, False, rows, m, h, 1, "ac", r0),)),
                          Call("gemm", (Gemm(S, A, P, True, False, m, m, rows, 2, "ab", r0),))),
                           LoopKind.PARALLEL),
                      Assign(s0[0], acc))
    check(block_rows(before), expected)
    # one product of an input and a loop: nothing to keep in the cache between products
    single = kernel(params, *before.body[:3])
    assert block_rows(single) == single
    # a loop reading another row of Z ends the chain, here before the product reading Z
    shifted = Loop(i, n - 1, (Assign(Z[i, 0], Z[i + 1, 0]),))
    cut = block_rows(kernel(params, *before.body[1:3], shifted, *before.body[3:5]))
    assert cut.body[:3] == (*before.body[1:3], shifted)
    assert cut.body[4].kind is LoopKind.PARALLEL and len(cut.body[4].body) == 2


# ---- memory planning -------------------------------------------------------------------------
def test_reuse_temporaries_shares_storage_in_place_and_after_a_lifetime_ends():
    Z = Buffer("_ac_tmp4", F, (n, h), Role.TEMP)
    H = Buffer("_ac_tmp5", F, (n, h), Role.TEMP)
    D = Buffer("_ac_tmp6", F, (n, h), Role.TEMP)
    before = kernel((A, B, G, Z, H, D),
                    Call("gemm", (Gemm(Z, A, B, False, False, n, h, m, 1),)),
                    Loop(i, n, (Loop(j, h, (Assign(H[i, j], sp.tanh(Z[i, j])),)),)),
                    Loop(i, n, (Loop(j, h, (Assign(D[i, j], 1 - H[i, j] ** 2),)),)),
                    Loop(i, n, (Loop(j, h, (Assign(G[i, j], D[i, j] * H[i, j]),)),)))
    # H = tanh(Z) overwrites Z as it reads it; D needs storage while H is still live.
    expected = kernel((A, B, G, Z, D),
                      Call("gemm", (Gemm(Z, A, B, False, False, n, h, m, 1),)),
                      Loop(i, n, (Loop(j, h, (Assign(Z[i, j], sp.tanh(Z[i, j])),)),)),
                      Loop(i, n, (Loop(j, h, (Assign(D[i, j], 1 - Z[i, j] ** 2),)),)),
                      Loop(i, n, (Loop(j, h, (Assign(G[i, j], D[i, j] * Z[i, j]),)),)))
    check(reuse_temporaries(before), expected)


def test_reuse_temporaries_refuses_overlapping_reads():
    Z = Buffer("_ac_tmp4", F, (n, h), Role.TEMP)
    H = Buffer("_ac_tmp5", F, (n, h), Role.TEMP)
    fill = Loop(i, n, (Loop(j, h, (Assign(Z[i, j], A[i, 0]),)),))
    out = Loop(i, n, (Loop(j, h, (Assign(G[i, j], H[i, j]),)),))
    # iteration (i, j) reads Z[j, i]: a write of H over Z would clobber a later read
    transposed = kernel((A, G, Z, H), fill,
                        Loop(i, n, (Loop(j, h, (Assign(H[i, j], Z[j, i]),)),)), out)
    # a loop around the nest that does not index the element repeats every read
    repeated = kernel((A, G, Z, H), fill,
                      Loop(k, m, (Loop(i, n, (Loop(j, h, (Assign(H[i, j], Z[i, j]),)),)),)), out)
    # Z is read after H is written in the same iteration
    late = kernel((A, G, y, Z, H), fill,
                  Loop(i, n, (Loop(j, h, (Assign(H[i, j], 2 * A[i, 0]),
                                          Assign(y[i], Z[i, j] + H[i, j]))),)), out)
    # a gemm reading Z while writing H: BLAS operands must not alias
    S = Buffer("_ac_in5", F, (h, h), Role.IN)
    aliased = kernel((A, S, G, Z, H), fill,
                     Call("gemm", (Gemm(H, Z, S, False, False, n, h, h, 1),)), out)
    for k_ in (transposed, repeated, late, aliased):
        assert reuse_temporaries(k_) == k_


def _softmax_rows(*between, target=C, value=None):
    """Row i: a sum of exp over the row, then C[i, j] = exp(...) / sum (softmax's shape)."""
    t = sp.Symbol("_ac_atmp0")
    e = sp.exp(A[i, k] - w[0])
    return kernel((A, w, y, C, Buffer("_ac_out3", DType.INT64, (n, h), Role.OUT)),
                  Loop(i, n, (Assign(t, 0), Loop(k, h, (Accumulate(t, e),)), *between,
                              Loop(l, h, (Assign(target[i, l], value if value is not None
                                                 else e.xreplace({k: l}) / t),)))))


def test_store_shared_calls_computes_exp_once_for_sum_and_softmax():
    t, c = sp.Symbol("_ac_atmp0"), sp.Symbol("_ac_c0")
    e = sp.exp(A[i, k] - w[0])
    expected = kernel(_softmax_rows().params,
                      Loop(i, n, (Assign(t, 0),
                                  Loop(k, h, (Let(c, e), Assign(C[i, k], c), Accumulate(t, c))),
                                  Loop(l, h, (Assign(C[i, l], C[i, l] / t),)))))
    check(store_shared_calls(_softmax_rows()), expected)


def test_store_shared_calls_keeps_both_calls_when_storing_would_change_a_value():
    t = sp.Symbol("_ac_atmp0")
    int_out = Buffer("_ac_out3", DType.INT64, (n, h), Role.OUT)
    unchanged = [
        _softmax_rows(Assign(y[i], C[i, 0])),                       # C read in between
        _softmax_rows(Assign(w[0], 1)),                             # an operand written
        _softmax_rows(target=A),                                    # an input
        _softmax_rows(target=int_out),                              # an integer output
        _softmax_rows(value=sp.exp(A[i, l] - w[0]) + t + C[i, 0]),  # not one element each
        _softmax_rows(value=sp.exp(A[i, l]) / t),                   # another call
    ]
    for before in unchanged:
        assert store_shared_calls(before) == before, pformat(before)
    other_extent = kernel((A, w, C), Loop(i, n, (Loop(k, m, (Assign(t, sp.exp(A[i, k])),)),
                                                 Loop(l, h, (Assign(C[i, l], sp.exp(A[i, l])),)))))
    assert store_shared_calls(other_extent) == other_extent
