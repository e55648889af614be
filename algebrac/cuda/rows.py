"""A warp per row: rows that reduce along the contiguous axis, split over a warp's lanes.

``X @ w``, ``sum(X, axis=1)`` or a logistic loss's fused row loop read a row of
a C-contiguous matrix per parallel iteration: with a thread per row a warp's
reads are a row apart (uncoalesced), with a warp per row they are neighbours.
:func:`row_plan` decides at render time whether a loop body can be split so;
the launcher picks per call, from the row length, ``_ac_ln`` = 32 lanes or 1.

In a row every lane computes the scalar statements; inner loops stride by
lane; their scalar reductions fold per-lane partials by a fixed shuffle tree
whose result lane 0 hands to all (lanes agree bitwise; the order is fixed for
a launch configuration); elements indexed by the inner index are stored by
their lane, every other store and the parallel loop's reductions by lane 0.
``__syncwarp`` orders lanes wherever one may touch memory another used.
"""
from __future__ import annotations

import sympy as sp

from ..lower.ir import Accumulate, Assign, Let, Loop
from ..lower.schedule import accesses

__all__ = ["LANES", "WARP_REDUCE", "RowWriter", "row_plan", "slot"]

LANES = 32   # lanes per row when a row has at least this many elements

WARP_REDUCE = """\
static __device__ inline {t} _ac_warp_{op}{suf}({t} v, long long lanes)
{{
    // One row's lane partials: a fixed shuffle tree to lane 0, then lane 0's value to
    // every lane (a butterfly could leave lanes disagreeing on the sign of a zero).
    if (lanes == 1) return v;
    for (int o = 16; o > 0; o >>= 1) v = {fold_v};
    return __shfl_sync(0xffffffffu, v, 0);
}}
"""


def slot(e: str, w: str, rows) -> str:
    """Where worker ``w`` (a thread number) keeps element ``e`` of an array partial.

    A thread per row: ``e * _ac_nw + w``, a column per thread, so a warp's stores are
    coalesced.  A warp per row (``rows``): a column per warp in runs of ``_ac_ln`` elements
    with lane ``e % _ac_ln`` at offset ``e % _ac_ln``, so lanes storing neighbouring
    elements hit neighbouring addresses (the same as the first when ``_ac_ln`` is 1).
    """
    if not rows:
        return f"({e})*_ac_nw + {w}"
    # _ac_ln is 1 or LANES: constant divisors (shifts), not a 64-bit division per access.
    return (f"(_ac_ln == 1 ? ({e})*_ac_nw + {w} : ({e}) / {LANES} * _ac_nw + "
            f"({w}) / {LANES} * {LANES} + ({e}) % {LANES})")


def row_plan(loop: Loop):
    """The row length when ``loop``'s rows can be split across the lanes of a warp, else None.

    The body holds Lets, Assigns, Accumulates and inner loops of those only.  Every
    inner loop either accumulates into a scalar (a partial per lane, then a warp tree)
    or writes an element indexed by its own index (so lanes write distinct elements),
    and one of them reads an array with its index on the last (contiguous) axis, or a
    warp per row buys nothing.
    """
    row = None
    for s in loop.body:
        if not isinstance(s, Loop):
            if not isinstance(s, (Let, Assign, Accumulate)):
                return None
            continue
        if any(not isinstance(b, (Let, Assign, Accumulate)) for b in s.body):
            return None
        k, ops, written = s.index, {}, {}
        for b in s.body:
            if isinstance(b, Let):
                continue
            if isinstance(b, Accumulate) and isinstance(b.target, sp.Symbol):
                if ops.setdefault(b.target.name, b.op) is not b.op:
                    return None
            elif isinstance(b.target, sp.Indexed) and k in b.target.indices:
                written[b.target.base.name] = b.target.indices
            else:
                return None
        if any((x.name in written and x.indices != written[x.name]) or
               (x.kind == "read" and x.name in ops) for x in accesses(s.body)):
            return None   # another lane's element, or a running value (lanes hold partials)
        if row is None and any(ix.indices[-1] == k and len(ix.indices) > 1 for b in s.body
                               for ix in sp.sympify(b.value).atoms(sp.Indexed)):
            row = sp.sympify(s.extent)
    return row


class RowWriter:
    """The row-splitting half of the CUDA module writer (needs ``self.p``, its printer)."""

    def row_grid_loop(self, loop: Loop, start: str, step: str, red) -> list:
        """The grid-stride loop over rows: a warp (or a thread, ``_ac_ln`` == 1) per row;
        the barrier closing each row orders its lanes' partial slots before the next's."""
        head = self.p._for(loop, f"{start} / _ac_ln", f"{step} / _ac_ln")
        return [f"    {head} {{", *self.row_body(loop.body, red),
                "        if (_ac_ln > 1) __syncwarp();", "    }"]

    def row_body(self, stmts, red) -> list:
        """A row's statements split over its lanes (see :func:`row_plan`)."""
        p, out, reads, writes, pad = self.p, [], set(), set(), "        "
        for s in stmts:
            acc = [x for x in accesses([s]) if x.name in p.buffers]
            r = {x.name for x in acc if x.kind == "read"}
            w = {x.name for x in acc if x.kind != "read"}
            if w & (reads | writes) or r & writes:   # another lane's memory: order it
                out.append(pad + "if (_ac_ln > 1) __syncwarp();")
                reads, writes = set(), set()
            reads, writes = reads | r, writes | w
            if isinstance(s, Loop):
                out += self.row_loop(s, red)
            elif isinstance(s, Let) or (isinstance(s.target, sp.Symbol) and (
                    isinstance(s, Assign) or s.target.name not in red)):
                out += p.statement(s, 2)     # every lane computes the same registers
            else:
                out += [pad + "if (_ac_lane == 0) {", *p.statement(s, 3), pad + "}"]
        return out

    def row_loop(self, loop: Loop, red) -> list:
        """An inner loop strided by lane; its scalar reductions through lane partials."""
        p, pad = self.p, "        "
        head = p._for(loop, "_ac_lane", "_ac_ln")
        targets = {b.target.name: b.op for b in loop.body
                   if isinstance(b, Accumulate) and isinstance(b.target, sp.Symbol)}
        if not targets:
            return p.block(head, loop.body, 2)
        lines, saved, lanes = [pad + "{"], dict(p.redirect), []
        for name, op in targets.items():
            lv = f"_ac_lv{p.counter}"
            p.counter += 1
            lines.append(f"{pad}    {p.dtype.c_name} {lv} = {p._print(op.identity)};")
            p.redirect[name] = (lv, False)
            lanes.append((name, op, lv))
        lines += p.block(head, loop.body, 3)
        p.redirect = saved
        for name, op, lv in lanes:   # every lane shuffles; lane 0 alone adds to a partial
            tgt = p._print(sp.Symbol(name))
            lines += [f"{pad}    {lv} = {p.block_reduce(op, lv, 'warp')};",
                      f"{pad}    {'if (_ac_lane == 0) ' if name in red else ''}"
                      f"{tgt} = {p.fold(op)(tgt, lv)};"]
        return lines + [pad + "}"]

