"""Memory planning: temporaries whose lifetimes do not overlap share one buffer, and a
costly value two loops compute is stored by the first where the second writes.

A backward pass makes several temporaries of one shape (an activation, its
derivative, the product feeding the next gemm).  Each fresh one costs page faults
when first written and pushes the others out of the cache; sharing storage keeps
the working set to what is live at once.

>>> import sympy as sp
>>> from algebrac.dtypes import DType
>>> from algebrac.lower.ir import Buffer, Kernel, Loop, Assign, Role, pformat
>>> n, i = sp.Symbol("_ac_d0", integer=True), sp.Symbol("_ac_j0", integer=True)
>>> x = Buffer("_ac_in0", DType.FLOAT64, (n,), Role.IN)
>>> y = Buffer("_ac_out0", DType.FLOAT64, (n,), Role.OUT)
>>> t0, t1 = (Buffer(f"_ac_tmp{k}", DType.FLOAT64, (n,), Role.TEMP) for k in (0, 1))
>>> k = Kernel("k", (x, y, t0, t1), (Loop(i, n, (Assign(t0[i], 2 * x[i]),)),
...                                  Loop(i, n, (Assign(t1[i], sp.exp(t0[i])),)),
...                                  Loop(i, n, (Assign(y[i], t1[i] + 1),))))
>>> print(pformat(reuse_temporaries(k)))
kernel k(in _ac_in0: float64[_ac_d0], out _ac_out0: float64[_ac_d0], temp _ac_tmp0: float64[_ac_d0]):
  for _ac_j0 in 0.._ac_d0 (serial):
    _ac_tmp0[_ac_j0] = 2*_ac_in0[_ac_j0]
  for _ac_j0 in 0.._ac_d0 (serial):
    _ac_tmp0[_ac_j0] = exp(_ac_tmp0[_ac_j0])
  for _ac_j0 in 0.._ac_d0 (serial):
    _ac_out0[_ac_j0] = _ac_tmp0[_ac_j0] + 1
"""
from __future__ import annotations

import itertools
from dataclasses import replace

import sympy as sp

from .ir import Accumulate, Assign, Buffer, Call, Kernel, Let, Loop, Role
from .schedule import accesses, rewrite_buffer

__all__ = ["reuse_temporaries", "store_shared_calls"]


def _touches(stmt, names, enclosing=()):
    """(name, indices, kind, enclosing loop indices) of each access to ``names``, in order."""
    if isinstance(stmt, Loop):
        for s in stmt.body:
            yield from _touches(s, names, enclosing + (stmt.index,))
    elif isinstance(stmt, Call):
        for a in accesses([stmt]):
            if a.name in names:
                yield a.name, None, a.kind, enclosing
    elif isinstance(stmt, (Let, Assign, Accumulate)):
        for a in accesses([stmt]):
            if a.name in names:
                yield a.name, a.indices, a.kind, enclosing


def _in_place(stmt, old: set, new: str) -> bool:
    """``stmt`` can write ``new`` over ``old``'s storage as it reads it.

    True for a nest whose iterations each own one element: every access to ``old``
    and ``new`` names the same element, indexed by exactly the loops around it, the
    accesses to ``old`` are reads, and the one write of ``new`` comes after them.
    """
    acc = list(_touches(stmt, old | {new}))
    if not acc or acc[-1][0] != new or acc[-1][2] != "write":
        return False
    if sum(1 for a in acc if a[0] == new) != 1 or any(a[2] != "read" for a in acc[:-1]):
        return False
    idx = acc[-1][1]
    return idx is not None and all(len(set(idx)) == len(idx) and a[1] == idx
                                   and set(a[3]) == set(idx) for a in acc)


def reuse_temporaries(kernel: Kernel) -> Kernel:
    """Let a temporary take the storage of one of the same shape whose last use is over.

    Lifetimes are spans of top-level statements.  A temporary first written by the
    statement that last reads another may also take its storage when that statement
    writes element by element over what it has just read (``H = tanh(Z)`` in place).
    """
    body = kernel.body
    temps = [p for p in kernel.params if isinstance(p, Buffer) and p.role is Role.TEMP
             and p.shape]
    span = {}
    for pos, s in enumerate(body):
        for a in accesses([s]):
            if a.name in {t.name for t in temps}:
                first, _ = span.get(a.name, (pos, pos))
                span[a.name] = (first, pos)
    storages: list = []   # [buffer, names sharing it, last use]
    where: dict = {}
    for t in sorted((t for t in temps if t.name in span), key=lambda t: span[t.name][0]):
        first, last = span[t.name]
        for st in storages:
            buf, names, end = st
            if buf.shape != t.shape or buf.dtype != t.dtype:
                continue
            if end < first or (end == first and _in_place(body[first], names, t.name)):
                names.add(t.name)
                st[2] = last
                where[t.name] = buf
                break
        else:
            storages.append([t, {t.name}, last])
    if not where:
        return kernel

    def rename(s, old, buf):
        g = s.args[0]
        return replace(s, args=(replace(g, **{f: buf for f in ("a", "b", "c")
                                             if getattr(g, f).name == old}),))

    body = list(body)
    for old, buf in where.items():
        body = rewrite_buffer(body, old, lambda x, buf=buf: buf[tuple(x.indices)],
                              lambda s, old=old, buf=buf: rename(s, old, buf))
    params = tuple(p for p in kernel.params if not (isinstance(p, Buffer) and p.name in where))
    return replace(kernel, params=params, body=tuple(body))


# ---- a costly value computed by two loops ---------------------------------------------------

def store_shared_calls(kernel: Kernel) -> Kernel:
    """Compute once a costly call that a later loop over the same range computes again.

    Softmax's gradient needs ``exp(z - max)`` for the row sum and again for each output
    element of the row.  The first loop stores the value into the element the second
    loop writes (nothing reads that element in between) and the second reads it back:
    one ``exp`` per element instead of two (the same value, so the same result).

    >>> import sympy as sp
    >>> from algebrac.dtypes import DType
    >>> from algebrac.lower.ir import Buffer, Kernel, Loop, Assign, Accumulate, Role, pformat
    >>> n, i, j = (sp.Symbol(s, integer=True) for s in ("_ac_d0", "_ac_j0", "_ac_j1"))
    >>> x = Buffer("_ac_in0", DType.FLOAT64, (n,), Role.IN)
    >>> y = Buffer("_ac_out0", DType.FLOAT64, (n,), Role.OUT)
    >>> s = sp.Symbol("_ac_atmp0")
    >>> k = Kernel("k", (x, y), (Assign(s, 0), Loop(i, n, (Accumulate(s, sp.exp(x[i])),)),
    ...                          Loop(j, n, (Assign(y[j], sp.exp(x[j]) / s),))))
    >>> print(pformat(store_shared_calls(k)))
    kernel k(in _ac_in0: float64[_ac_d0], out _ac_out0: float64[_ac_d0]):
      _ac_atmp0 = 0
      for _ac_j0 in 0.._ac_d0 (serial):
        let _ac_c0: float64 = exp(_ac_in0[_ac_j0])
        _ac_out0[_ac_j0] = _ac_c0
        _ac_atmp0 += _ac_c0
      for _ac_j1 in 0.._ac_d0 (serial):
        _ac_out0[_ac_j1] = _ac_out0[_ac_j1]/_ac_atmp0
    """
    bufs = {p.name: p for p in kernel.params if isinstance(p, Buffer)}
    return replace(kernel, body=_share(kernel.body, bufs, itertools.count()))


def _costly(expr, index):
    """Calls in ``expr`` on ``index``, outermost first (Piecewise/Min/Max only select)."""
    return [c for c in sp.preorder_traversal(expr)
            if isinstance(c, sp.Function) and not isinstance(c, (sp.Piecewise, sp.Min, sp.Max))
            and index in c.free_symbols]


def _share(stmts, bufs, counter) -> tuple:
    out = [replace(s, body=_share(s.body, bufs, counter)) if isinstance(s, Loop) else s
           for s in stmts]
    for b, l2 in enumerate(out):
        st = l2.body[0] if isinstance(l2, Loop) and len(l2.body) == 1 else None
        if not (isinstance(st, Assign) and isinstance(st.target, sp.Indexed)):
            continue
        buf = bufs.get(st.target.base.name)
        idx = st.target.indices
        if (buf is None or buf.role is Role.IN or not buf.dtype.is_float
                or l2.index not in idx or sum(ix.has(l2.index) for ix in idx) != 1
                or any(x.base.name == buf.name and x != st.target
                       for x in st.value.atoms(sp.Indexed))):
            continue    # each iteration must own its element of a float buffer
        for a in range(b):
            l1 = out[a]
            if not (isinstance(l1, Loop) and sp.sympify(l1.extent) == sp.sympify(l2.extent)
                    and not any(isinstance(t, Loop) for t in l1.body)
                    and all(x.name != buf.name for x in accesses(out[a:b]))):
                continue
            written = {x.name for x in accesses([*l1.body, *out[a + 1:b]]) if x.kind != "read"}
            for c2 in _costly(st.value, l2.index):
                c1 = c2.xreplace({l2.index: l1.index})
                reads = accesses([Assign(sp.Dummy(), c1), Assign(sp.Dummy(), st.target)])
                if not any(getattr(t, "value", sp.S.Zero).has(c1) for t in l1.body) or any(
                        x.name in written for x in reads if x.kind == "read"):
                    continue
                e = sp.Symbol(f"_ac_c{next(counter)}")
                body = [replace(t, value=t.value.xreplace({c1: e})) for t in l1.body]
                slot = st.target.xreplace({l2.index: l1.index})
                out[a] = replace(l1, body=(Let(e, c1, buf.dtype), Assign(slot, e), *body))
                out[b] = replace(l2, body=(replace(st, value=st.value.xreplace({c2: st.target})),))
                break
            if out[b] is not l2:
                break
    return tuple(out)
