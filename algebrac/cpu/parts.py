"""Split a long straight-line loop body into parts, so the C compiler's time stays linear.

gcc's register allocator and scheduler are superlinear in the size of a
function: an 800-term sum with its gradient (2200 statements in one loop
body) spent about 80% of a 58 s build there.  Cut into functions of a few
hundred statements each, the same work compiles in a fraction of that.

:func:`split` turns the body into parts:

1. Long sums (an output that adds up hundreds of common subexpressions) become
   chains of partial sums, ``c1 = t1 + ... + tK; c2 = c1 + ... ; out = cN + ...``,
   each printed exactly as the whole sum prints, term by term, so C evaluates
   the same additions in the same order: results are bit-identical.
2. The statements are ordered depth-first from the outputs (each output's chain
   pieces taken in turn, the least advanced first), so a value is computed
   shortly before it is used and few values cross from one part to the next.
3. The order is cut into parts of about ``size`` statements.  A value that is
   used in a later part than the one that computes it goes through a scratch
   slot (slots are reused once a value is dead); input loads are repeated in
   each part that reads them instead.  Each load comes just before its first
   reader in the part.

The renderers wrap each part in a ``noinline`` function (an ``omp simd`` loop
over a block of elements for ufuncs, one point for vector functions) that
reads its live-in values from the slots and writes its live-out values there.

>>> import sympy as sp
>>> from algebrac.dtypes import DType
>>> from algebrac.lower.ir import Let, Assign
>>> from algebrac.cpu.render import CPrinter
>>> t = sp.symbols("_ac_t0:4")
>>> out = sp.IndexedBase("_ac_out0")[sp.Symbol("_ac_i")]
>>> body = [Let(t[k], sp.Symbol("_ac_x0") * (k + 2), DType.FLOAT64) for k in range(4)]
>>> body.append(Assign(out, sp.Add(*t)))
>>> plan = split(body, CPrinter(), lambda k: f"w[{k}]", size=3, terms=2)
>>> for part in plan.parts:
...     print(" | ".join(part.lines))
const double _ac_t0 = 2.0*_ac_x0; | const double _ac_t1 = 3.0*_ac_x0; | const double _ac_c0 = _ac_t0 + _ac_t1; | w[0] = _ac_c0;
const double _ac_t2 = 4.0*_ac_x0; | const double _ac_t3 = 5.0*_ac_x0; | const double _ac_c0 = w[0]; | _ac_out0[_ac_i] = _ac_c0 + _ac_t2 + _ac_t3;
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.printing.precedence import precedence

from ..lower.ir import Assign, Let

__all__ = ["split", "Part", "Plan", "PART_STATEMENTS", "CHAIN_TERMS"]

PART_STATEMENTS = 300   # statements per part (see benchmarks/README.md, bench_compile --large)
CHAIN_TERMS = 32        # terms per partial sum of a long sum


@dataclass(frozen=True)
class Part:
    """One part's printed statements (slot loads first, slot stores last)."""

    lines: tuple
    symbols: frozenset   # every symbol its statements read (to find the inputs it loads)


@dataclass(frozen=True)
class Plan:
    parts: tuple
    slots: int           # scratch slots the parts share


@dataclass
class _Item:
    """A statement to print: ``symbol`` (a Let's, or None for an output) ``= text``."""

    symbol: object
    ctype: str
    head: str            # "const double _ac_t5" or "_ac_out0[_ac_i]"
    text: str
    uses: frozenset


def _terms(printer, expr) -> list:
    """The (sign, text) of each term of a sum, as SymPy's ``_print_Add`` prints them."""
    prec, out = precedence(expr), []
    for term in printer._as_ordered_terms(expr, order=None):
        t, sign = printer._print(term), "+"
        if t.startswith("-") and not term.is_Add:
            sign, t = "-", t[1:]
        if precedence(term) < prec or term.is_Add:
            t = f"({t})"
        out.append((sign, t, term.free_symbols))
    return out


def _items(stmt, printer, terms: int, counter: list) -> list:
    """``stmt`` as a chain of items: one, or partial sums when it adds many terms."""
    if isinstance(stmt, Let):
        ctype = printer.ctype(stmt.dtype)
        head, symbol = f"const {ctype} {printer._print(stmt.symbol)}", stmt.symbol
    elif isinstance(stmt, Assign):
        ctype, head, symbol = printer.ctype(printer.dtype), printer._print(stmt.target), None
    else:
        raise TypeError(f"split() takes Let and Assign statements, not {type(stmt).__name__}")
    value = stmt.value
    if not isinstance(value, sp.Add) or len(value.args) <= terms:
        return [_Item(symbol, ctype, head, printer._print(value),
                      frozenset(value.free_symbols))]
    pairs, items, prev = _terms(printer, value), [], None
    for lo in range(0, len(pairs), terms):
        chunk = pairs[lo:lo + terms]
        uses = frozenset().union(*(s for *_, s in chunk))
        if prev is None:
            text = " ".join(f"{s} {t}" for s, t, _ in chunk)
            text = text[2:] if text.startswith("+ ") else "-" + text[2:]
        else:   # C's + and - associate to the left: (c1 + t) - u is how the sum ran
            text = " ".join([prev.name] + [f"{s} {t}" for s, t, _ in chunk])
            uses |= {prev}
        if lo + terms >= len(pairs):
            items.append(_Item(symbol, ctype, head, text, uses))
        else:
            prev = sp.Symbol(f"_ac_c{counter[0]}")
            counter[0] += 1
            items.append(_Item(prev, ctype, f"const {ctype} {prev.name}", text, uses))
    return items


def _order(chains, outputs) -> list:
    """Depth-first from the outputs' chains (the least advanced taken first): an item
    follows the items it reads and comes soon before its first reader."""
    items = [it for chain in chains for it in chain]
    index = {id(it): k for k, it in enumerate(items)}
    by_symbol = {it.symbol: it for it in items if it.symbol is not None}
    done, out = set(), []

    def emit(root):
        stack = [(root, False)]
        while stack:
            it, expanded = stack.pop()
            if id(it) in done:
                continue
            if expanded:
                done.add(id(it))
                out.append(it)
                continue
            stack.append((it, True))
            deps = [by_symbol[s] for s in it.uses if s in by_symbol]
            stack.extend((d, False) for d in sorted(deps, key=lambda d: -index[id(d)])
                         if id(d) not in done)

    progress = {k: 0 for k in outputs}
    while progress:
        k = min(progress, key=lambda k: (progress[k] / len(chains[k]), k))
        emit(chains[k][progress[k]])
        progress[k] += 1
        if progress[k] == len(chains[k]):
            del progress[k]
    for it in items:   # values no output reads (the CSE leaves none; kept all the same)
        emit(it)
    return out


def _recomputed(stmts) -> dict:
    """The Lets each part recomputes rather than passing through a slot: input loads,
    and one operation on those and numbers (``x*x``, ``0.25*x``, ``x + y``), transitively.
    A slot would cost a store and a load, and each memory access costs gcc's
    induction-variable pass time (it was 40% of a split body's compile)."""
    out = {}
    for s in stmts:
        if isinstance(s, Let) and (isinstance(s.value, sp.Indexed) or (
                isinstance(s.value, (sp.Add, sp.Mul, sp.Pow)) and len(s.value.args) == 2
                and all(a.is_Number or a in out for a in s.value.args)
                and not (s.value.is_Pow and s.value.exp != 2))):
            out[s.symbol] = s
    return out


def split(stmts, printer, slot, *, size: int | None = None, terms: int | None = None) -> Plan:
    """Parts of about ``size`` statements (default :data:`PART_STATEMENTS`) computing
    ``stmts`` (Lets and Assigns, in order), sums cut every ``terms`` terms.

    ``slot(k)`` is the C lvalue of scratch slot ``k``.  Cheap values (input loads,
    see :func:`_recomputed`) are recomputed by each part that reads them.
    """
    size, terms = size or PART_STATEMENTS, terms or CHAIN_TERMS
    remat = _recomputed(stmts)
    counter, chains, outputs = [0], [], []
    for stmt in stmts:
        if isinstance(stmt, Let) and stmt.symbol in remat:
            continue
        if isinstance(stmt, Assign):
            outputs.append(len(chains))
        chains.append(_items(stmt, printer, terms, counter))
    ordered = _order(chains, outputs)
    cuts = list(range(0, len(ordered), size)) + [len(ordered)]
    groups = [ordered[a:b] for a, b in zip(cuts, cuts[1:])] or [[]]
    part_of = {it.symbol: (p, it) for p, group in enumerate(groups) for it in group
               if it.symbol is not None}
    last = {}   # value -> the last part reading it, for values read beyond their part
    for p, group in enumerate(groups):
        for it in group:
            for s in it.uses:
                if s in part_of and part_of[s][0] != p:
                    last[s] = p
    # A value crossing a part boundary holds a slot from its part to its last reader.
    slots, free, taken, nslots = {}, [], {}, 0
    for p, group in enumerate(groups):
        for s in [s for s, q in taken.items() if q < p]:
            free.append(slots[s])
            del taken[s]
        free.sort(reverse=True)
        for it in group:
            if it.symbol in last:
                if free:
                    slots[it.symbol] = free.pop()
                else:
                    slots[it.symbol], nslots = nslots, nslots + 1
                taken[it.symbol] = last[it.symbol]
    parts = []
    for p, group in enumerate(groups):
        used = frozenset().union(*(it.uses for it in group))
        # Each input or slot value is loaded just before its first reader: loaded
        # all at the top, they would all be live at once (and spilled around every
        # vector math call), which costs the register allocator, and the run, more.
        lines, loaded = [], set()

        def load(s):
            if s in loaded:
                return
            loaded.add(s)
            if s in remat:
                for u in sorted(remat[s].value.free_symbols, key=sp.default_sort_key):
                    load(u)
                lines.extend(printer.statement(remat[s], 0))
            elif s in part_of and part_of[s][0] != p:
                lines.append(f"const {part_of[s][1].ctype} {s.name} = {slot(slots[s])};")

        for it in group:
            for s in sorted(it.uses, key=sp.default_sort_key):
                load(s)
            lines.append(f"{it.head} = {it.text};")
        lines += [f"{slot(slots[it.symbol])} = {it.symbol.name};" for it in group
                  if it.symbol in last]
        parts.append(Part(tuple(lines), used))
    return Plan(tuple(parts), nslots)
