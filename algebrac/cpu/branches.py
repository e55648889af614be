"""Plan a loop body with ``Piecewise`` as vectorisable passes over a block of elements.

A C loop whose body branches stays scalar: with SIMD the vectoriser evaluates
both sides and blends, so the untaken side's ``log`` of a negative or ``exp``
of a huge argument would raise floating-point flags NumPy never raises, and a
call under a condition has no libmvec variant anyway.  The plan here turns
each ``Piecewise`` into passes over a block of lanes that all vectorise:

1. the unconditional statements compute everything up to the ``Piecewise``;
   values that later passes need are stored in block arrays (inputs are
   read again instead); a pass finds which branch each lane takes (``sel``);
2. for each branch that some lane takes, one pass evaluates the branch in
   every lane, but lanes that do not take it get the inputs of a lane that
   does (the *representative*), so the pass raises exactly the flags the taken
   lanes raise anyway, and stores the result only where the branch is taken;
3. the statements after the ``Piecewise`` continue in the next pass.

Conditions after the first are evaluated in every lane, so they must raise
no flag: comparisons (quiet ``isgreater`` & co) and logic over symbols and
numbers.  Bodies outside this shape (a ``Piecewise`` inside a branch or a
non-trivial later condition) get ``None``: they stay a scalar loop.

>>> import sympy as sp
>>> from algebrac.lower.ir import Let
>>> from algebrac.dtypes import DType
>>> x, t = sp.symbols("_ac_x0 _ac_t0")
>>> pw = sp.Piecewise((sp.exp(-x), x > 0), (x, True))
>>> load = sp.IndexedBase("_ac_in0")[sp.Symbol("_ac_i")]
>>> body = (Let(x, load, DType.FLOAT64), Let(t, pw + 1, DType.FLOAT64))
>>> plan = plan_branches(body, DType.FLOAT64)
>>> [type(s).__name__ for s in plan.steps]
['Select', 'Group']
>>> plan.steps[0].symbol, sorted(plan.stored, key=str)
(_ac_pw0, [_ac_pw0])
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.logic.boolalg import BooleanAtom

from ..dtypes import DType
from ..lower.ir import Let
from ..simplify.order import as_written
from ..simplify.substitute import xreplace

__all__ = ["Group", "Select", "BranchPlan", "plan_branches"]

_QUIET_LOGIC = (sp.And, sp.Or, sp.Not)


@dataclass(frozen=True)
class Group:
    """Unconditional statements run together in one SIMD pass."""

    stmts: tuple


@dataclass(frozen=True)
class Select:
    """``symbol = Piecewise(...)``, computed by one pass per taken branch."""

    symbol: sp.Symbol
    piecewise: sp.Piecewise
    dtype: DType


@dataclass(frozen=True)
class BranchPlan:
    """The passes, and the symbols whose values cross passes (kept in block arrays)."""

    steps: tuple
    stored: frozenset
    dtypes: dict
    loads: dict     # symbol -> the input element it loads (read again where needed)


def _quiet(cond) -> bool:
    """True if evaluating ``cond`` in any lane raises no floating-point flag."""
    if isinstance(cond, (BooleanAtom, sp.Symbol)):
        return True
    if isinstance(cond, sp.core.relational.Relational):
        return all(a.is_Symbol or a.is_Number for a in cond.args)
    if isinstance(cond, _QUIET_LOGIC):
        return all(_quiet(a) for a in cond.args)
    return False


def _vectorisable(pw: sp.Piecewise) -> bool:
    for k, (value, cond) in enumerate(pw.args):
        if value.has(sp.Piecewise) or cond.has(sp.Piecewise):
            return False
        if k > 0 and not _quiet(cond):
            return False
    return True


def _outermost(expr):
    """The ``Piecewise`` nodes of ``expr`` that no other ``Piecewise`` contains."""
    found, stack = [], [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, sp.Piecewise):
            found.append(node)
        else:
            stack.extend(node.args)
    return found


def plan_branches(body: tuple, dtype: DType) -> BranchPlan | None:
    """The pass plan for a loop body, or ``None`` if it has no vectorisable shape.

    ``body`` is a flat tuple of ``Let`` and ``Assign`` statements (an
    elementwise loop body); every ``Let`` defines a new symbol.  ``dtype`` is
    the kernel's floating type (a ``Piecewise`` is a number of that type).
    """
    steps, current, names = [], [], {}
    dtypes, loads, stores = {}, {}, []
    for stmt in body:
        if not hasattr(stmt, "value"):
            return None
        value = stmt.value
        if isinstance(stmt, Let) and isinstance(value, sp.Indexed):
            loads[stmt.symbol] = value
            dtypes[stmt.symbol] = stmt.dtype
            continue
        for pw in _outermost(value):
            if not _vectorisable(pw):
                return None
            sym = names.get(pw)
            if sym is None:
                sym = names[pw] = sp.Symbol(f"_ac_pw{len(names)}")
                if current:
                    steps.append(Group(tuple(current)))
                    current = []
                steps.append(Select(sym, pw, dtype))
                dtypes[sym] = dtype
        if names:
            # the branch variable stands for its Piecewise: sums keep their order
            value = xreplace(value, names, None, as_written)
        stmt = type(stmt)(**{**stmt.__dict__, "value": value})
        if isinstance(stmt, Let):
            current.append(stmt)
            dtypes[stmt.symbol] = stmt.dtype
        else:
            stores.append(stmt)
    if not names:
        return None
    # Outputs are stored in the last pass only: NumPy lets an output be the very
    # array of an input (uf(x, out=x)), and later passes read the inputs again.
    current += stores
    if current:
        steps.append(Group(tuple(current)))
    # A symbol is stored if a pass other than the one defining it reads it.
    defined_in, stored = {}, set()
    for k, step in enumerate(steps):
        if isinstance(step, Select):
            defined_in[step.symbol] = k
            used = step.piecewise.free_symbols
        else:
            used = set().union(*(s.value.free_symbols for s in step.stmts))
        stored.update(s for s in used if defined_in.get(s, k) != k and s not in loads)
        if isinstance(step, Group):
            for s in step.stmts:
                if isinstance(s, Let):
                    defined_in[s.symbol] = k
    return BranchPlan(tuple(steps), frozenset(stored), dtypes, loads)
