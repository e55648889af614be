"""BLAS passes: contractions become ``gemm`` calls, and the calls absorb the work around them.

* ``use_blas`` turns a matrix-matrix contraction (a nest of three loops) into a
  :class:`Gemm` call;
* ``scale_into_gemm`` folds a following ``out = c * tmp`` copy of a gemm's result into
  the call (``alpha``), so the gemm writes the output directly;
* ``orient_temporaries`` lays out a gemm-written temporary the way the loops that
  read it walk it: a gemm writes ``C`` or ``Cᵀ`` at the same cost, a loop reading a
  matrix down its columns does not;
* ``block_rows`` runs a chain of gemms and row loops on blocks of rows held in the cache.

>>> import sympy as sp
>>> from algebrac.dtypes import DType
>>> from algebrac.lower.ir import Buffer, Call, Kernel, Loop, Assign, Role, pformat
>>> n, m, i, j = (sp.Symbol(s, integer=True) for s in ("_ac_d0", "_ac_d1", "_ac_j0", "_ac_j1"))
>>> A = Buffer("_ac_in0", DType.FLOAT64, (n, m), Role.IN)
>>> T = Buffer("_ac_tmp0", DType.FLOAT64, (m, m), Role.TEMP)
>>> G = Buffer("_ac_out0", DType.FLOAT64, (m, m), Role.OUT)
>>> k = Kernel("k", (A, G, T), (Call("gemm", (Gemm(T, A, A, True, False, m, m, n, 1),)),
...                             Loop(i, m, (Loop(j, m, (Assign(G[i, j], 2 * T[i, j]),)),))))
>>> print(pformat(scale_into_gemm(k)))
kernel k(in _ac_in0: float64[_ac_d0, _ac_d1], out _ac_out0: float64[_ac_d1, _ac_d1]):
  call gemm(_ac_out0[_ac_d1, _ac_d1] = 2 * _ac_in0ᵀ @ _ac_in0 (k=_ac_d0))
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from .ir import Accumulate, Assign, Buffer, Call, Kernel, Let, Loop, LoopKind, ReduceOp, Role
from .memory import _touches
from .schedule import _defined_inside, _rename, _walk, accesses, rewrite_buffer

__all__ = ["Gemm", "use_blas", "scale_into_gemm", "orient_temporaries", "block_rows"]


@dataclass(frozen=True)
class Gemm:
    """``c = alpha * op(a) @ op(b)`` on row-major 2-d buffers (``op`` transposes if asked);
    operands named in ``sliced`` start at row ``row0`` ("ab": C sums the blocks, ``+=``)."""

    c: Buffer
    a: Buffer
    b: Buffer
    trans_a: bool
    trans_b: bool
    m: sp.Expr
    n: sp.Expr
    k: sp.Expr
    alpha: sp.Expr
    sliced: str = ""
    row0: sp.Expr = sp.S.Zero

    def __str__(self) -> str:
        ta, tb = ("ᵀ" if self.trans_a else ""), ("ᵀ" if self.trans_b else "")
        rows = f" rows {self.sliced} from {self.row0}" if self.sliced else ""
        return (f"{self.c.name}[{self.m}, {self.n}] {'+' if 'b' in self.sliced else ''}= "
                f"{self.alpha} * {self.a.name}{ta} @ {self.b.name}{tb} (k={self.k}{rows})")

    def into_transpose(self, c: Buffer) -> "Gemm":
        """The same product written transposed into ``c``: ``Cᵀ = op(B)ᵀ op(A)ᵀ``."""
        return Gemm(c, self.b, self.a, not self.trans_b, not self.trans_a, self.n, self.m,
                    self.k, self.alpha)


def _perfect(stmt):
    """(loops, innermost statements) of a loop nest, allowing one init before the last loop."""
    loops, init = [], None
    s = stmt
    while isinstance(s, Loop):
        loops.append(s)
        body = s.body
        if len(body) == 2 and isinstance(body[0], Assign) and isinstance(body[1], Loop):
            if init is not None:
                return None
            init, s = body[0], body[1]
        elif len(body) == 1 and isinstance(body[0], Loop):
            s = body[0]
        else:
            return loops, init, body
    return None


def _match_gemm(stmt, buffers):
    loops, init, body = _perfect(stmt) or ((), None, ())
    if len(loops) != 3 or len(body) != 1 or not isinstance(body[0], Accumulate):
        return None
    (acc,) = body
    if acc.op is not ReduceOp.ADD or not isinstance(acc.target, sp.Indexed):
        return None
    if init is not None and (init.target != acc.target or init.value != 0):
        return None
    idx = [lp.index for lp in loops]
    ext = {lp.index: lp.extent for lp in loops}
    ci = tuple(acc.target.indices)
    if len(ci) != 2 or len(set(ci)) != 2 or not set(ci) <= set(idx):
        return None
    (k,) = [s for s in idx if s not in ci]
    p, q = ci
    reads = [f for f in sp.Mul.make_args(acc.value) if isinstance(f, sp.Indexed)]
    consts = [f for f in sp.Mul.make_args(acc.value) if not isinstance(f, sp.Indexed)]
    if len(reads) != 2 or any(c.free_symbols & set(idx) or c.has(sp.Indexed) for c in consts):
        return None
    a = next((r for r in reads if p in r.indices), None)
    b = next((r for r in reads if q in r.indices and r is not a), None)
    if a is None or b is None:
        return None
    ta, tb = tuple(a.indices) == (k, p), tuple(b.indices) == (q, k)
    if not (ta or tuple(a.indices) == (p, k)) or not (tb or tuple(b.indices) == (k, q)):
        return None
    bufs = [buffers.get(r.base.name) for r in (a, b)] + [buffers.get(acc.target.base.name)]
    if any(buf is None or len(buf.shape) != 2 for buf in bufs):
        return None
    return Gemm(bufs[2], bufs[0], bufs[1], ta, tb, ext[p], ext[q], ext[k],
                sp.Mul(*consts)), acc.target.base.name, init is None


def use_blas(kernel: Kernel) -> Kernel:
    """Turn matrix-matrix contractions (a nest of three loops) into a BLAS ``gemm`` call.

    Matrix-vector products stay loops: they are memory-bound, and fused with the
    loops that share their operand they read it once (DESIGN, worked example).
    """
    buffers = {p.name: p for p in kernel.params if isinstance(p, Buffer)}
    body = list(kernel.body)
    for pos, s in enumerate(list(body)):
        found = _match_gemm(s, buffers)
        if not found:
            continue
        gemm, target, separate_init = found
        body[pos] = Call("gemm", (gemm,))
        # gemm writes every element: drop the zero-fill nest
        fills = [q for q in range(pos) if separate_init and isinstance(body[q], Loop)
                 and [(a.name, a.kind) for a in accesses([body[q]]) if a.kind != "read"]
                 == [(target, "write")] and all(t.value == 0 for t in _walk([body[q]])
                                                 if hasattr(t, "value"))]
        if fills:
            body[fills[0]] = None
    if body == list(kernel.body):
        return kernel
    return replace(kernel, body=tuple(s for s in body if s is not None))


def _gemm_written(body, name):
    """Position of the one top-level gemm that writes ``name``, if nothing else writes it."""
    writers = [pos for pos, s in enumerate(body) if isinstance(s, Call) and s.args[0].c.name == name]
    others = [a for s in body if not isinstance(s, Call) for a in accesses([s])
              if a.name == name and a.kind != "read"]
    return writers[0] if len(writers) == 1 and not others else None


# ---- folding a scaled copy into the gemm ----------------------------------------------------

def _scaled_copy(stmt):
    """``(out, factor, tmp read)`` of a nest ``for p: for q: out[p, q] = factor * tmp[..]``."""
    loops, init, body = _perfect(stmt) or ((), 0, ())
    if len(loops) != 2 or init is not None or len(body) != 1 or not isinstance(body[0], Assign):
        return None
    (st,), (outer, inner) = body, loops
    p, q = outer.index, inner.index
    if not isinstance(st.target, sp.Indexed) or tuple(st.target.indices) != (p, q):
        return None
    reads = [f for f in sp.Mul.make_args(st.value) if isinstance(f, sp.Indexed)]
    factor = sp.Mul(*(f for f in sp.Mul.make_args(st.value) if not isinstance(f, sp.Indexed)))
    if len(reads) != 1 or factor.has(sp.Indexed) or factor.free_symbols & {p, q}:
        return None
    if set(reads[0].indices) != {p, q} or len(reads[0].indices) != 2:
        return None
    return st.target, factor, reads[0], (outer.extent, inner.extent)


def scale_into_gemm(kernel: Kernel) -> Kernel:
    """Let a gemm write ``c * tmp`` straight into its destination (``alpha`` absorbs ``c``).

    The gradient of a sum of squares is ``2 Xᵀ r``: the contraction goes to a
    temporary and a loop copies twice it into the output.  When the temporary is read
    only by that copy (in either orientation) and the output is written nowhere else,
    the gemm writes the output with ``alpha * c`` and the copy and the temporary go.
    BLAS scales its partial sums by ``alpha`` (as it reassociates them): exact for a
    power of two, within the reassociation of the sum otherwise.
    """
    body = list(kernel.body)
    buffers = {p.name: p for p in kernel.params if isinstance(p, Buffer)}
    dropped = set()
    for pos, s in enumerate(body):
        found = _scaled_copy(s)
        if found is None:
            continue
        target, factor, read, (ep, eq) = found
        out, tmp = buffers[target.base.name], buffers.get(read.base.name)
        if tmp is None or tmp.role is not Role.TEMP or out.role is Role.IN or (
                tmp.dtype != out.dtype or len(out.shape) != 2 or out.shape != (ep, eq)):
            continue
        wpos = _gemm_written(body, tmp.name)
        if wpos is None or wpos > pos:
            continue
        names = [a.name for a in accesses([t for t in body if t is not None])]
        bound = set(kernel.sizes) | {getattr(t, "symbol", getattr(t, "target", None))
                                     for t in body[:wpos] if isinstance(t, (Let, Assign))}
        if names.count(tmp.name) != 2 or names.count(out.name) != 1 or not (
                factor.free_symbols <= bound):   # the factor is known where the gemm runs
            continue   # and nothing else reads the temporary or touches the output
        g = body[wpos].args[0]
        g = g if tuple(read.indices) == tuple(target.indices) else g.into_transpose(out)
        new = replace(g, c=out, alpha=g.alpha * factor)
        if (new.m, new.n) != (ep, eq):
            continue
        body[wpos], body[pos] = Call("gemm", (new,)), None
        dropped.add(tmp.name)
    if not dropped:
        return kernel
    params = tuple(p for p in kernel.params if not (isinstance(p, Buffer) and p.name in dropped))
    return replace(kernel, params=params, body=tuple(s for s in body if s is not None))


# ---- choosing a temporary's layout ----------------------------------------------------------

def _walks(stmts, name) -> tuple:
    """(row reads, column reads) of ``name`` by loops: which axis the innermost loop moves."""
    moves = [(enc[-1] in sp.sympify(ix[-1]).free_symbols, enc[-1] in sp.sympify(ix[0]).free_symbols)
             for s in stmts for _, ix, kind, enc in _touches(s, {name})
             if kind == "read" and enc and ix is not None]
    return sum(last and not first for last, first in moves), sum(first and not last
                                                                  for last, first in moves)


def _transpose_reads(stmts, old: Buffer, new: Buffer):
    def flip(s):
        g = s.args[0]
        if g.a.name == old.name:
            g = replace(g, a=new, trans_a=not g.trans_a)
        if g.b.name == old.name:
            g = replace(g, b=new, trans_b=not g.trans_b)
        return replace(s, args=(g,))
    return rewrite_buffer(stmts, old.name, lambda x: new[tuple(x.indices)[::-1]], flip)


def orient_temporaries(kernel: Kernel) -> Kernel:
    """Store a gemm-written 2-d temporary transposed when loops read it down its columns.

    Lowering gives a reduction's temporary the axis order of the formula that reads
    it; in a backward pass that is often the transpose of how the loop consuming it
    walks memory (``(1 - H²) ∘ (W₂ rᵀ)ᵀ``).  A gemm writes either layout at the same
    cost (``Cᵀ = Bᵀ Aᵀ``), so the temporary takes the layout most of its loop readers
    walk along rows; gemm readers just flip their transpose flag.
    """
    body = list(kernel.body)
    params = list(kernel.params)
    for k, buf in enumerate(params):
        if not (isinstance(buf, Buffer) and buf.role is Role.TEMP and len(buf.shape) == 2):
            continue
        wpos = _gemm_written(body, buf.name)
        if wpos is None:
            continue
        rows, cols = _walks(body, buf.name)
        if cols <= rows:
            continue
        new = replace(buf, shape=buf.shape[::-1])
        g = body[wpos].args[0]
        body = _transpose_reads(body, buf, new)
        body[wpos] = Call("gemm", (g.into_transpose(new),))
        params[k] = new
    return replace(kernel, params=tuple(params), body=tuple(body))


# ---- blocks of rows -------------------------------------------------------------------------
# The MLP's backward pass is six steps over the batch rows (H = tanh(X W1), R = H W2 - Y,
# the loss, dZ = (1 - H²)(R W2ᵀ), and the sums Xᵀ dZ and Hᵀ R): run one after another over
# 4096 rows, each streams megabytes through the cache the next must fetch again.  Run on
# blocks of rows that fit in the L2 cache (block size chosen at call time from the rows'
# width), each step reads what the previous one has just written, and threads take whole
# blocks (one parallel region; each sums its blocks' products into its own partials).
BLOCK_ELEMENTS = 1 << 17   # elements of the rows a block touches: a share of the L2 cache


def _row_gemm(g: Gemm, rows) -> str:
    """Sliced on a block of ``rows``: "ac" (C's rows are A's), "ab" (C sums over them), or ""."""
    first = [getattr(g, t).shape[0] == rows for t in "abc"]
    if first == [True, False, True] and not g.trans_a and g.c.role is Role.TEMP:
        return "ac"
    return "ab" if first == [True, True, False] and g.trans_a and not g.trans_b else ""


def _row_loop(s: Loop, rows, bufs) -> bool:
    """Iteration ``i`` touches only row ``i`` of ``rows``-row buffers, sums only into scalars."""
    if s.extent != rows or any(isinstance(t, Call) for t in _walk(s.body)):
        return False
    private = _defined_inside(s.body)
    for a in accesses(s.body):
        buf = bufs.get(a.name)
        if buf is not None and buf.shape and buf.shape[0] == rows:
            if a.indices[0] != s.index or any(sp.sympify(e).has(s.index) for e in a.indices[1:]):
                return False
        elif a.kind != "read" and (buf is not None or a.kind == "write" and a.name not in private):
            return False
    return True


def _sums(s, sliced) -> set:
    """What a statement sums over the rows: no other statement of the chain may touch it."""
    return {s.args[0].c.name} if sliced == "ab" else {
        x.name for x in accesses([s]) if x.kind == "acc" and not x.indices}


def _blocked(run, rows, bufs, b) -> list:
    """Zero the sums, then one loop over blocks of rows running ``run`` on each."""
    names = {x.name for x in accesses([s for s, _ in run])}
    width = sp.Add(*(sp.Mul(*bufs[x].shape[1:]) for x in names
                     if x in bufs and bufs[x].shape and bufs[x].shape[0] == rows))
    size = 64 + sp.floor(BLOCK_ELEMENTS / (width + 1))   # rows per block (SymPy drops a Max)
    row0 = size * b
    count, body, zero = sp.Min(size, rows - row0), [], []
    for s, sliced in run:
        if isinstance(s, Loop):
            body.append(replace(s, extent=count,
                                body=tuple(_rename(s.body, s.index, row0 + s.index))))
            continue
        g = s.args[0]
        dims = {"m": count} if sliced == "ac" else {"k": count}
        body.append(Call("gemm", (replace(g, sliced=sliced, row0=row0, **dims),)))
        if sliced == "ab":
            p, q = (sp.Symbol(f"{b.name}_{g.c.name}{x}", integer=True) for x in "pq")
            zero.append(Loop(p, g.m, (Loop(q, g.n, (Assign(g.c[p, q], sp.S.Zero),)),)))
    return zero + [Loop(b, sp.floor((rows + size - 1) / size), tuple(body), LoopKind.PARALLEL)]


def block_rows(kernel: Kernel) -> Kernel:
    """Run a chain of gemms and row loops over one dimension on blocks of rows in the cache.

    Only chains with a gemm between temporaries change (a product of inputs alone gains
    nothing from blocks); any other statement ends a chain."""
    bufs = {p.name: p for p in kernel.params if isinstance(p, Buffer)}
    for rows in sorted({p.shape[0] for p in bufs.values() if p.role is Role.TEMP
                        and len(p.shape) == 2}, key=str):
        out, run, blocked = [], [], []   # run: (statement, sliced)

        def close():
            if len(run) > 1 and any(sl and all(getattr(s.args[0], t).role is Role.TEMP
                                               for t in sl) for s, sl in run):
                blocked.append(b := sp.Symbol(f"_ac_rb{len(out)}", integer=True))
                out.extend(_blocked(run, rows, bufs, b))
            else:
                out.extend(s for s, _ in run)
            run.clear()

        for s in kernel.body:
            sliced = _row_gemm(s.args[0], rows) if isinstance(s, Call) else ""
            if not sliced and not (isinstance(s, Loop) and _row_loop(s, rows, bufs)):
                close()
                out.append(s)
                continue
            names = [{x.name for x in accesses([t])} for t, _ in run + [(s, sliced)]]
            if _sums(s, sliced) & set().union(*names[:-1]) or set().union(
                    *(_sums(t, sl) for t, sl in run)) & names[-1]:
                close()
            run.append((s, sliced))
        close()
        if blocked:
            return replace(kernel, body=tuple(out))
    return kernel
