"""Scheduling passes for loop nests: fusion, scalar replacement, hoisting, parallelism.

Each pass is a pure ``Kernel -> Kernel`` function; :mod:`algebrac.lower.passes`
lists them in pipeline order (BLAS passes: :mod:`algebrac.lower.blas`; shared storage
for temporaries: :mod:`algebrac.lower.memory`).  They rely on one analysis, :func:`accesses`:
which buffers and scalars a statement reads and writes, and at which indices.

>>> import sympy as sp
>>> from algebrac.lower.ir import Buffer, Kernel, Loop, Assign, Role, pformat
>>> from algebrac.dtypes import DType
>>> n = sp.Symbol("_ac_d0", integer=True)
>>> i, j = sp.Symbol("_ac_j0", integer=True), sp.Symbol("_ac_j1", integer=True)
>>> x = Buffer("_ac_in0", DType.FLOAT64, (n,), Role.IN)
>>> a, b = (Buffer(f"_ac_out{k}", DType.FLOAT64, (n,), Role.OUT) for k in (0, 1))
>>> k = Kernel("k", (x, a, b), (Loop(i, n, (Assign(a[i], 2 * x[i]),)),
...                             Loop(j, n, (Assign(b[j], a[j] + 1),))))
>>> print(pformat(fuse_loops(k)))
kernel k(in _ac_in0: float64[_ac_d0], out _ac_out0: float64[_ac_d0], out _ac_out1: float64[_ac_d0]):
  for _ac_j0 in 0.._ac_d0 (serial):
    _ac_out0[_ac_j0] = 2*_ac_in0[_ac_j0]
    _ac_out1[_ac_j0] = _ac_out0[_ac_j0] + 1
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, replace

import sympy as sp

from .ir import (Accumulate, compute_dtype, Assign, Buffer, Call, Kernel, Let, Loop, LoopKind, ReduceOp,
                 Role)

__all__ = ["Access", "accesses", "rewrite_buffer", "fuse_loops", "scalarize", "hoist_invariants",
           "mark_parallel", "mark_simd", "reductions_of"]


@dataclass(frozen=True)
class Access:
    name: str        # buffer name, or scalar symbol name
    indices: tuple   # () for scalars
    kind: str        # "read", "write" or "acc" (an Accumulate)
    op: ReduceOp | None = None


def _reads(expr, out: list) -> None:
    out.extend(_reads_of(sp.sympify(expr)))


@functools.lru_cache(maxsize=1 << 16)   # each pass asks again of the statements it kept
def _reads_of(expr) -> tuple:
    out, bases = [], set()
    for ix in expr.atoms(sp.Indexed):
        bases.add(ix.base.name)
        out.append(Access(ix.base.name, tuple(ix.indices), "read"))
    for s in expr.free_symbols:
        if type(s) is sp.Symbol and s.name not in bases:
            out.append(Access(s.name, (), "read"))
    return tuple(out)


def _target(t) -> tuple:
    if isinstance(t, sp.Indexed):
        return t.base.name, tuple(t.indices)
    return t.name, ()


def accesses(stmts) -> list:
    """Every buffer/scalar access of ``stmts`` (recursively), in program order."""
    out: list = []
    for s in stmts:
        if isinstance(s, Loop):
            _reads(s.extent, out)
            out += accesses(s.body)
        elif isinstance(s, Let):
            _reads(s.value, out)
            out.append(Access(s.symbol.name, (), "write"))
        elif isinstance(s, (Assign, Accumulate)):
            _reads(s.value, out)
            if isinstance(s.target, sp.Indexed):
                for i in s.target.indices:
                    _reads(i, out)
            name, idx = _target(s.target)
            out.append(Access(name, idx, "write" if isinstance(s, Assign) else "acc",
                              getattr(s, "op", None)))
        elif isinstance(s, Call):
            g = s.args[0]
            out += [Access(g.a.name, (), "read"), Access(g.b.name, (), "read"),
                    Access(g.c.name, (), "write")]
    return out


def _defined_inside(stmts) -> set:
    """Scalar names first bound inside ``stmts`` (private to each iteration)."""
    found = set()
    for s in stmts:
        if isinstance(s, Let):
            found.add(s.symbol.name)
        elif isinstance(s, Assign) and isinstance(s.target, sp.Symbol):
            found.add(s.target.name)
        elif isinstance(s, Loop):
            found.add(s.index.name)
            found |= _defined_inside(s.body)
    return found


def map_exprs(stmts, f, call=None) -> list:
    """``stmts`` with ``f`` applied to every expression (loop extents, values, targets), and
    every ``Call`` rebuilt by ``call(call)`` if given."""
    out = []
    for s in stmts:
        if isinstance(s, Loop):
            s = replace(s, extent=f(sp.sympify(s.extent)), body=tuple(map_exprs(s.body, f, call)))
        elif isinstance(s, Let):
            s = replace(s, value=f(s.value))
        elif isinstance(s, (Assign, Accumulate)):
            s = replace(s, target=f(s.target), value=f(s.value))
        elif call is not None:
            s = call(s)
        out.append(s)
    return out


def _rename(stmts, old, new):
    """Substitute a loop index in statements."""
    return map_exprs(stmts, lambda e: sp.sympify(e).xreplace({old: new}))


# ---- fusion -----------------------------------------------------------------------------

def _names(acc, kinds):
    return {a.name for a in acc if a.kind in kinds}


def _fusable(l1: Loop, l2: Loop) -> bool:
    if sp.sympify(l1.extent) != sp.sympify(l2.extent) or l1.kind != l2.kind:
        return False
    if any(isinstance(s, Call) for s in l1.body + l2.body):
        return False
    a = l1.index
    acc1, acc2 = accesses(l1.body), accesses(_rename(l2.body, l2.index, a))
    w1, w2 = _names(acc1, ("write", "acc")), _names(acc2, ("write", "acc"))
    r1, r2 = _names(acc1, ("read",)), _names(acc2, ("read",))
    return all(_owned([x for x in acc1 + acc2 if x.name == name], a)
               for name in (w1 & (r2 | w2)) | (w2 & r1))


def _owned(acc, a) -> bool:
    """Every access indexes ``a`` at one fixed position and nowhere else: each iteration of
    the loop over ``a`` owns a slice."""
    positions = set()
    for x in acc:
        pos = [k for k, e in enumerate(x.indices) if e == a]
        if len(pos) != 1 or any(e != a and sp.sympify(e).has(a) for e in x.indices):
            return False
        positions.add(pos[0])
    return len(positions) == 1


def _independent(stmt, others) -> bool:
    """``stmt`` can move before ``others`` (no dependence either way)."""
    mine = accesses([stmt])
    theirs = accesses(others)
    w_mine, w_theirs = _names(mine, ("write", "acc")), _names(theirs, ("write", "acc"))
    all_mine, all_theirs = {x.name for x in mine}, {x.name for x in theirs}
    return not (w_mine & all_theirs) and not (w_theirs & all_mine)


def _fuse_list(stmts) -> tuple:
    stmts = list(stmts)
    while pair := next(((i, j) for j, s in enumerate(stmts) if isinstance(s, Loop)
                        for i in range(j - 1, -1, -1) if isinstance(stmts[i], Loop)
                        and _fusable(stmts[i], s) and _independent(s, stmts[i + 1:j])), None):
        i, j = pair
        t, s = stmts[i], stmts.pop(j)
        stmts[i] = replace(t, body=t.body + tuple(_rename(s.body, s.index, t.index)))
    return tuple(replace(s, body=_fuse_list(s.body)) if isinstance(s, Loop) else s
                 for s in stmts)


def fuse_loops(kernel: Kernel) -> Kernel:
    """Merge loops over the same range when no iteration needs another's result.

    A later loop may move up past statements it does not depend on, so a matrix-vector
    product, the loss that reads it and the gradient that reads the same matrix share
    one pass over the rows.
    """
    return replace(kernel, body=_fuse_list(kernel.body))


# ---- scalar replacement -------------------------------------------------------------------

def _scalar_for(name: str) -> sp.Symbol:
    return sp.Symbol("_ac_a" + name.removeprefix("_ac_"))


def rewrite_buffer(stmts, name: str, access, call=None) -> list:
    """``stmts`` with every access ``name[...]`` (read or target) replaced by ``access(it)``,
    and every ``Call`` rebuilt by ``call(call)`` if given."""
    return map_exprs(stmts, lambda e: sp.sympify(e).replace(
        lambda x: isinstance(x, sp.Indexed) and x.base.name == name, access), call)


def _substitute_buffer(stmts, name: str, sym: sp.Symbol):
    return rewrite_buffer(stmts, name, lambda x: sym)


def _first_is_top_assign(body, name) -> bool:
    for s in body:
        acc = [a for a in accesses([s]) if a.name == name]
        if acc:
            return isinstance(s, Assign) and acc[0].kind == "write" and len(acc) == 1
    return False


def scalarize(kernel: Kernel) -> Kernel:
    """Keep temporaries that live within one iteration (or are 0-d) in registers.

    A 0-d temporary becomes a scalar; a 1-d temporary written and read only as
    ``t[i]`` inside the loop over ``i`` becomes a scalar private to each iteration;
    a 0-d output accumulated in a loop is accumulated in a scalar and stored once, last.
    """
    body = list(kernel.body)
    drop = set()
    bufs = [p for p in kernel.params if isinstance(p, Buffer)]
    for buf in bufs:
        if buf.role is not Role.TEMP and (buf.role is not Role.OUT or buf.shape):
            continue  # inputs and shaped outputs stay in memory (no walk: n buffers, n statements)
        total = [a.name for a in accesses(body)].count(buf.name)
        if not total:
            continue
        if buf.role is Role.TEMP and not buf.shape:
            body = _substitute_buffer(body, buf.name, _scalar_for(buf.name))
            drop.add(buf.name)
        elif buf.role is Role.OUT and not buf.shape and any(
                a.kind == "acc" and a.name == buf.name for a in accesses(body)):
            sym = _scalar_for(buf.name)
            body = _substitute_buffer(body, buf.name, sym) + [Assign(buf[0], sym)]   # at the end
        elif buf.role is Role.TEMP:
            body = _private_in_loop(body, buf, total, frozenset())
            if buf.name not in {a.name for a in accesses(body)}:
                drop.add(buf.name)
    params = tuple(p for p in kernel.params if not (isinstance(p, Buffer) and p.name in drop))
    return replace(kernel, params=params, body=_registers(tuple(body), itertools.count()))


def _registers(stmts, counter) -> tuple:
    """``t[i] += ...`` over an inner loop that does not move ``i``: accumulate in a register."""
    out = []
    for s in stmts:
        if not isinstance(s, Loop):
            out.append(s)
            continue
        s = replace(s, body=_registers(s.body, counter))
        inside = accesses(s.body)
        private = _defined_inside(s.body) | {s.index.name}
        targets = {}
        for t in _walk(s.body):
            if isinstance(t, Accumulate) and isinstance(t.target, sp.Indexed):
                names = {x.name for x in t.target.free_symbols if type(x) is sp.Symbol}
                if names & private:
                    continue
                same = [x for x in inside if x.name == t.target.base.name]
                if all(x.kind == "acc" and x.indices == tuple(t.target.indices) for x in same):
                    targets[t.target] = sp.Symbol(f"_ac_r{next(counter)}")
        for target, sym in targets.items():
            s = replace(s, body=tuple(map_exprs(s.body, lambda e: e.xreplace({target: sym}))))
            out.append(Assign(sym, target))
        out.append(s)
        out += [Assign(target, sym) for target, sym in targets.items()]
    return tuple(out)


def _private_in_loop(stmts, buf, total, enclosing):
    """Replace ``buf`` by a scalar inside the loop whose iterations each own one element.

    That is the loop holding every access, where all accesses name the same element,
    indexed by that loop and the loops around it, and the first is a plain store.
    """
    out = []
    for s in stmts:
        if isinstance(s, Loop):
            here = enclosing | {s.index}
            inside = [a for a in accesses(s.body) if a.name == buf.name]
            idx = {a.indices for a in inside}
            if (len(inside) == total and len(idx) == 1 and s.index in next(iter(idx))
                    and set(next(iter(idx))) <= here
                    and len(set(next(iter(idx)))) == len(buf.shape)
                    and _first_is_top_assign(s.body, buf.name)):
                s = replace(s, body=tuple(_substitute_buffer(s.body, buf.name,
                                                            _scalar_for(buf.name))))
            else:
                s = replace(s, body=tuple(_private_in_loop(s.body, buf, total, here)))
        out.append(s)
    return out


# ---- hoisting -----------------------------------------------------------------------------

class _Hoister:
    def __init__(self, dtype):
        self.dtype = dtype
        self.counter = itertools.count()

    def run(self, stmts) -> tuple:
        out = []
        for s in stmts:
            if isinstance(s, Loop):
                s = replace(s, body=self.run(s.body))
                lets, s = self.hoist(s)
                out += lets
            out.append(s)
        return tuple(out)

    def hoist(self, loop: Loop):
        bound = {loop.index.name} | _defined_inside(loop.body)
        written = _names(accesses(loop.body), ("write", "acc"))
        lets: list = []
        memo: dict = {}

        def invariant(e) -> bool:
            names = {s.name for s in e.free_symbols if isinstance(s, sp.Symbol)}
            names |= {ix.base.name for ix in e.atoms(sp.Indexed)}
            return not (names & bound) and not (names & written)

        def worth(e) -> bool:
            if e.is_Atom or isinstance(e, sp.Indexed) or not e.args:
                return False
            if isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0].is_Number and (
                    e.args[1].is_Atom or isinstance(e.args[1], sp.Indexed)):
                return False
            return not isinstance(e, (sp.Piecewise, sp.logic.boolalg.Boolean))

        def visit(e):
            if worth(e) and invariant(e):
                if e not in memo:
                    sym = sp.Symbol(f"_ac_h{next(self.counter)}")
                    memo[e] = sym
                    lets.append(Let(sym, e, self.dtype))
                return memo[e]
            if isinstance(e, sp.Piecewise):
                # Only the first condition runs for every iteration.
                (v0, c0), *rest = e.args
                return sp.Piecewise((v0, visit(c0)), *rest)
            if not e.args or isinstance(e, sp.Indexed):
                return e
            args = tuple(visit(a) for a in e.args)
            return e.func(*args) if args != e.args else e

        body = tuple(self.rewrite(s, visit) for s in loop.body)
        return lets, replace(loop, body=body)

    def rewrite(self, s, visit):
        if isinstance(s, Loop):
            return replace(s, body=tuple(self.rewrite(t, visit) for t in s.body))
        if isinstance(s, Let):
            return replace(s, value=visit(s.value))
        if isinstance(s, (Assign, Accumulate)):
            return replace(s, value=visit(s.value))
        return s


def hoist_invariants(kernel: Kernel) -> Kernel:
    """Compute loop-invariant subexpressions once, before the loop (``let``).

    Nothing is hoisted out of an untaken ``Piecewise`` branch, and nothing that
    reads a buffer the loop writes.
    """
    dtype = compute_dtype(kernel)
    return replace(kernel, body=_Hoister(dtype).run(kernel.body))


# ---- parallelism --------------------------------------------------------------------------

def reductions_of(loop: Loop) -> dict:
    """Targets the loop reduces over (name -> ReduceOp), or ``None`` if iterations conflict.

    A written name is fine when every access to it indexes the loop variable at one
    fixed position (each iteration owns a slice), when it is a scalar bound inside
    the body (private), or when every access is an ``Accumulate`` with one operator
    (a reduction: per-thread partials combined after the loop).
    """
    acc = accesses(loop.body)
    if any(isinstance(s, Call) for s in _walk(loop.body)):   # blas.block_rows made it parallel
        return None if loop.kind is not LoopKind.PARALLEL else {
            **{x.name: x.op for x in acc if x.kind == "acc" and not x.indices},
            **{s.args[0].c.name: ReduceOp.ADD for s in _walk(loop.body)
               if isinstance(s, Call) and "b" in s.args[0].sliced}}
    private = _private(acc, loop.body)
    reductions = {}
    a = loop.index
    for name in _names(acc, ("write", "acc")):
        if name in private:
            continue
        mine = [x for x in acc if x.name == name]
        if _owned(mine, a):
            continue
        ops = {x.op for x in mine}
        if all(x.kind == "acc" for x in mine) and len(ops) == 1:
            reductions[name] = ops.pop()
            continue
        return None
    return reductions


def _private(acc, body) -> set:
    """Scalars bound inside the body before any read there: each iteration has its own."""
    first: dict = {}
    for x in acc:
        if not x.indices:
            first.setdefault(x.name, x.kind)
    return {name for name in _defined_inside(body) if first.get(name) == "write"}


def _walk(stmts):
    for s in stmts:
        yield s
        if isinstance(s, Loop):
            yield from _walk(s.body)


def _mark(stmts, inside_parallel: bool) -> tuple:
    out = []
    for s in stmts:
        if isinstance(s, Loop):
            if s.kind is LoopKind.PARALLEL or not inside_parallel and reductions_of(s) is not None:
                s = replace(s, kind=LoopKind.PARALLEL, body=_mark(s.body, True))
            else:
                s = replace(s, body=_mark(s.body, inside_parallel))
        out.append(s)
    return tuple(out)


def mark_parallel(kernel: Kernel) -> Kernel:
    """Mark the outermost loops whose iterations can run on different threads PARALLEL."""
    return replace(kernel, body=_mark(kernel.body, False))


def _simd(stmts) -> tuple:
    out = []
    for s in stmts:
        if isinstance(s, Loop):
            inner = any(isinstance(t, Loop) for t in s.body)
            if inner:
                s = replace(s, body=_simd(s.body))
            elif s.kind is LoopKind.SERIAL:
                red = reductions_of(s)
                ok = red is not None and all(
                    op in (ReduceOp.ADD, ReduceOp.MUL) and not name.startswith("_ac_tmp")
                    and not name.startswith("_ac_out") for name, op in red.items())
                branchy = any(v.has(sp.Piecewise) for v in _values(s.body))
                if ok and not branchy:
                    s = replace(s, kind=LoopKind.SIMD)
        out.append(s)
    return tuple(out)


def _values(stmts):
    for s in _walk(stmts):
        if hasattr(s, "value"):
            yield sp.sympify(s.value)


def mark_simd(kernel: Kernel) -> Kernel:
    """Mark innermost serial loops that vectorise safely (no branches, scalar +/* reductions)."""
    return replace(kernel, body=_simd(kernel.body))
