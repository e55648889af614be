"""Scalar formulas → an elementwise loop kernel.

``prepare`` checks and normalises what the user gave (every free symbol is an
argument, every node is something a backend can compute), renames the
arguments to safe identifiers, applies the exact specialisations and runs the
joint CSE.  ``lower_elementwise`` turns the result into one loop over the
flattened elements that loads each input once, computes the shared
temporaries once and stores every output: one pass over the data however
many outputs there are.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> prog = prepare([sp.sin(x*y), sp.cos(x*y)], [x, y])
>>> print(pformat(lower_elementwise(prog, DType.FLOAT64)))
kernel _ac_kernel_d(in _ac_in0: float64[_ac_n], in _ac_in1: float64[_ac_n], out _ac_out0: float64[_ac_n], out _ac_out1: float64[_ac_n]):
  for _ac_i in 0.._ac_n (serial):
    let _ac_x0: float64 = _ac_in0[_ac_i]
    let _ac_x1: float64 = _ac_in1[_ac_i]
    let _ac_t0: float64 = _ac_x0*_ac_x1
    _ac_out0[_ac_i] = sin(_ac_t0)
    _ac_out1[_ac_i] = cos(_ac_t0)
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.logic.boolalg import Boolean, BooleanAtom

from ..deep import cut_shared, postorder
from ..dtypes import DType
from ..errors import SignatureError, UnsupportedError
from ..config import log, symbolic_budget
from ..mathfuncs import REWRITES, resolve_names, unsupported_reason
from ..simplify import cse, specialize
from ..simplify.budget import Deadline, SymbolicTimeout, hard_limit
from ..simplify.guard import nonreal
from ..simplify.stabilize import _realify, _stabilize_expr, rename
from ..simplify.sums import expand_sums, sum_reason
from .ir import Assign, Buffer, Kernel, Let, Loop, Role, pformat  # noqa: F401 (doctest)

__all__ = ["ElementwiseProgram", "as_formula", "prepare", "lower_elementwise", "rewritten",
           "INDEX", "SIZE"]

GRACE = 5.0  # seconds a single SymPy call may overrun the soft deadline before it is stopped

INDEX = sp.Symbol("_ac_i", integer=True, nonnegative=True)
SIZE = sp.Symbol("_ac_n", integer=True, nonnegative=True)

# Nodes every backend computes: atoms, arithmetic, branches, logic and comparisons.
_COMPUTABLE = (sp.NumberSymbol, BooleanAtom, sp.Symbol, sp.Tuple,
               sp.functions.elementary.piecewise.ExprCondPair, sp.Add, sp.Mul, sp.Pow,
               sp.Piecewise, sp.And, sp.Or, sp.Not, sp.Xor, sp.ITE, sp.Implies, sp.Equivalent,
               sp.StrictGreaterThan, sp.StrictLessThan, sp.GreaterThan, sp.LessThan,
               sp.Equality, sp.Unequality)


@dataclass(frozen=True)
class ElementwiseProgram:
    """What ``prepare`` hands to lowering: safe names, CSE done."""

    inputs: tuple      # the mangled scalar symbols, one per argument
    lets: tuple        # (symbol, value) pairs, evaluated unconditionally in order
    outputs: tuple     # one SymPy expression per output


class _Where:
    """Names an output in error messages; printed only when one is raised (a large
    formula takes seconds to print)."""

    def __init__(self, k: int, expr):
        self.k, self.expr = k, expr

    def __str__(self) -> str:
        return f"output {self.k} ({str(self.expr)[:60]})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _short(node) -> str:
    text = sp.srepr(node)
    return text if len(text) <= 120 else text[:117] + "..."


def _nodes(expr):
    """Pre-order nodes, each distinct one once; a function computed through REWRITES is
    seen as its rewrite (``exp_polar(2*I*pi)`` is 1, not the complex constant ``I``)."""
    stack, seen = [expr], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if type(node) in REWRITES and unsupported_reason(node) is None:
            node = REWRITES[type(node)](*node.args)
        yield node
        stack.extend(reversed(node.args))


def _derivative_reason(node) -> str:
    inner = node.expr
    what = (f"the derivative of {type(inner).__name__} in "
            + ", ".join(f"argument {i + 1} ({a})" for i, a in enumerate(inner.args)
                        if any(a.has(v) for v, _ in node.variable_count))
            if isinstance(inner, sp.Function) else "this derivative")
    return (f"SymPy knows no closed form for {what}, so it stays unevaluated; compile the "
            f"derivatives that have one, or approximate this one by a difference quotient "
            f"such as (f(v + h) - f(v - h))/(2*h)")


def _check_supported(expr, where: str) -> None:
    """Raise UnsupportedError listing every node of ``expr`` that no backend computes."""
    problems: dict = {}   # what -> why, in order of appearance
    for node in _nodes(expr):
        if isinstance(node, sp.Number):
            if node.is_extended_real or node is sp.nan:
                continue
        elif isinstance(node, _COMPUTABLE):
            continue
        elif isinstance(node, (sp.Function, sp.Min, sp.Max)):   # Min/Max are not Functions
            why = unsupported_reason(node)
            if why is not None:
                problems.setdefault(type(node).__name__, f"{_short(node)}: {why}")
            continue
        elif isinstance(node, sp.Sum):
            problems.setdefault("Sum", f"{_short(node)}: {sum_reason(node)}")
            continue
        elif isinstance(node, sp.Derivative):
            problems.setdefault("Derivative", f"{_short(node)}: {_derivative_reason(node)}")
            continue
        if node.is_number and node.is_extended_real is False:
            problems.setdefault(str(node), f"the complex constant {node} ({_short(node)}); "
                                "algebrac compiles real-valued formulas only")
            continue
        problems.setdefault(type(node).__name__, _short(node))
    if problems:
        listing = "; ".join(f"{name} ({why})" for name, why in problems.items())
        err = UnsupportedError(
            f"{where} contains what algebrac cannot compile: {listing}. Rewrite it with "
            "supported functions (see algebrac.mathfuncs.FUNCTIONS) or evaluate it first "
            "(e.g. .doit()).")
        err.functions = tuple(problems)   # the names, for tools that tally them
        raise err


def as_formula(e) -> sp.Basic:
    """``e`` as a SymPy object; text is refused (``sympify`` would ``eval`` it)."""
    from ..expr.tensor import Tensor

    if isinstance(e, Tensor):
        raise SignatureError(
            f"ac.compile() takes scalar formulas, and {e} is a Tensor of shape {e.shape}; "
            "compile tensor programs with ac.function(inputs, outputs)")
    try:
        return sp.sympify(e, strict=True)
    except sp.SympifyError as err:
        raise SignatureError(
            f"cannot use {e!r} ({type(e).__name__}) as a formula: pass SymPy expressions or "
            "numbers, not strings (algebrac never evaluates text; parse trusted text "
            "yourself with sympy.parse_expr)") from err


def prepare(exprs, args, stabilize: bool = False, limits: bool = False) -> ElementwiseProgram:
    """Validate, rename, (stabilize,) specialise and CSE scalar formulas over ``args``.

    ``limits`` lets the stabilizer apply the limit rules (see :func:`algebrac.stabilize`).

    Never fails or hangs because of a rewrite: an output whose rewrite raises,
    leaves the reals or runs past ``ALGEBRAC_SYMBOLIC_TIMEOUT`` (plus ``GRACE``
    for one stuck SymPy call) is compiled as written (see :func:`_symbolic`).
    """
    args = list(args)
    for a in args:
        if not isinstance(a, sp.Symbol):
            raise SignatureError(
                f"compile() arguments must be SymPy symbols, got {a!r} ({type(a).__name__})")
    if len(set(args)) != len(args):
        dup = sorted({str(a) for a in args if args.count(a) > 1})
        raise SignatureError(f"compile() arguments repeat {', '.join(dup)}; list each once")
    # A formula whose tree dwarfs its DAG (a solved multibody model) is cut into
    # shared parts first: every later step walks trees.
    cut, exprs = cut_shared([as_formula(e) for e in exprs])
    exprs = [expand_sums(resolve_names(e)) for e in exprs]
    cut = [(s, expand_sums(resolve_names(v))) for s, v in cut]
    if not exprs:
        raise SignatureError("compile() needs at least one expression")
    argset = set(args) | {s for s, _ in cut}
    for k, e in [*enumerate(exprs), *((f"part {s}", v) for s, v in cut)]:
        where = _Where(k, e)
        if isinstance(e, Boolean) and not isinstance(e, sp.Symbol):
            raise UnsupportedError(
                f"{where} is a condition, not a number; wrap it as "
                "sympy.Piecewise((1, cond), (0, True)) to get 1.0/0.0")
        if not isinstance(e, sp.Expr):
            raise UnsupportedError(f"{where} is a {type(e).__name__}, not a scalar expression")
        missing = e.free_symbols - argset
        if missing:
            names = ", ".join(sorted(str(s) for s in missing))
            raise SignatureError(
                f"{where} depends on {names}, which is not among the arguments; "
                "add it to args or substitute a value with .subs()")
        _check_supported(e, where)
    return _symbolic(exprs, args, stabilize, limits, cut)


def _symbolic(exprs, args, stabilize, limits=False, cut=()):
    """Each output's rewrite (:func:`rewritten`), renaming (which never re-evaluates a node)
    and a joint CSE, skipped if it fails or runs past the time budget.  The parts ``cut``
    (``(symbol, value)`` from :func:`~algebrac.deep.cut_shared`) are rewritten one by one
    and join the CSE, their values defined before their first use.
    """
    deadline = Deadline(budget := symbolic_budget())
    # The mangled symbols carry the user's assumptions: a later pass that rebuilds a node
    # evaluates it as SymPy did the user's own formula (realified, x < x would be False).
    mangled = tuple(sp.Symbol(f"_ac_x{k}", **a._assumptions_orig) for k, a in enumerate(args))
    names = [s for s, _ in cut]
    exprs = [*(v for _, v in cut), *exprs]
    if stabilize:  # treat unknown-domain symbols as the reals floats stand for
        forward, _ = _realify(sp.Tuple(*args))
        memo: dict = {}
        exprs = [rename(e, forward, memo) for e in exprs]
        args = [forward.get(a, a) for a in args]
    labels = [*(f"part {s}" for s in names), *range(len(exprs) - len(names))]
    memos: dict = {}  # the outputs share subexpressions (a gradient its function's): rewrite each once
    exprs = [rewritten(e, k, stabilize, deadline, limits=limits, memos=memos)
             for k, e in zip(labels, exprs)]
    to_mangled, memo = dict(zip(args, mangled)), {}
    exprs = [rename(e, to_mangled, memo) for e in exprs]
    try:
        with hard_limit(None if budget is None else deadline.left() + GRACE):
            lets, reduced = cse(exprs)
    except (Exception, SymbolicTimeout) as err:  # noqa: BLE001 (CSE is an optimisation)
        log(1, f"common subexpressions skipped ({type(err).__name__}: {err})")
        lets, reduced = [], exprs
    if names:
        lets, reduced = _in_order([*lets, *zip(names, reduced)]), reduced[len(names):]
    return ElementwiseProgram(mangled, tuple(lets), tuple(reduced))


def _in_order(lets) -> list:
    """``lets`` (CSE's temporaries and cut parts) each after the lets it uses."""
    value = dict(lets)
    order = postorder(list(value), lambda s: sorted(value[s].free_symbols & value.keys(), key=str))
    return [(s, value[s]) for s in order]


def rewritten(e, k, stabilize, deadline, *, limits=False, assume_real=False,
              check=_check_supported, memos=None):
    """Output ``k`` stabilized or specialized; as written (specialized only) if that fails.

    Shared by scalar and tensor programs: a rewrite that raises, brings in a
    non-real value, makes a node ``check`` refuses, or runs past ``deadline``
    (plus ``GRACE`` for one stuck SymPy call) leaves the output as written.
    ``memos``: what the rules made of each subexpression, shared by the outputs of one
    compile (see :func:`~algebrac.simplify.rules.rewrite`).
    """
    try:
        with hard_limit(None if deadline.at is None else deadline.left() + GRACE):
            out = (_stabilize_expr(e, None, assume_real, limits=limits, deadline=deadline,
                                   memos=memos)
                   if stabilize else specialize(e, deadline=deadline, memos=memos))
        if deadline.expired():  # the parts not reached still need the table forms (re(x) -> x)
            with sp.evaluate(False):
                out = specialize(out)
        if nonreal(out) <= nonreal(e):
            check(out, f"output {k}")
            return out
        reason = f"it brought in {sorted(map(str, nonreal(out) - nonreal(e)))}"
    except (Exception, SymbolicTimeout) as err:  # noqa: BLE001 (never worse than as written)
        reason = f"{type(err).__name__}: {str(err)[:200]}"
    log(1, f"output {k} compiled as written: the rewrite failed ({reason})")
    with sp.evaluate(False):  # only the table forms the printers need; nothing re-evaluated
        return specialize(e)


def _bool_or(dtype: DType, value) -> DType:
    # a Symbol is a Boolean to SymPy: a let may copy another (a cut part CSE found whole)
    return DType.BOOL if isinstance(value, Boolean) and not value.is_Symbol else dtype


def lower_elementwise(prog: ElementwiseProgram, dtype: DType, name: str = "") -> Kernel:
    """One loop over ``_ac_n`` flattened elements computing every output of ``prog``."""
    ins = tuple(Buffer(f"_ac_in{k}", dtype, (SIZE,), Role.IN) for k in range(len(prog.inputs)))
    outs = tuple(Buffer(f"_ac_out{k}", dtype, (SIZE,), Role.OUT)
                 for k in range(len(prog.outputs)))
    body = [Let(sym, buf[INDEX], dtype) for sym, buf in zip(prog.inputs, ins)]
    body += [Let(sym, value, _bool_or(dtype, value)) for sym, value in prog.lets]
    body += [Assign(buf[INDEX], value) for buf, value in zip(outs, prog.outputs)]
    return Kernel(name or f"_ac_kernel_{dtype.char}", ins + outs,
                  (Loop(INDEX, SIZE, tuple(body)),), sizes=(SIZE,))
