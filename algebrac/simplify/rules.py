"""Rewrite rules filed by phase and by the SymPy head they rewrite, and their driver.

A rule is a small function ``node -> new node or None`` registered with
``@PHASE.rule(tracks=(HeadClass, ...))``; its docstring's first line states
the identity and its domain.  ``rewrite`` walks an expression bottom-up once
per round, trying at each node only the rules filed under that node's class
(PyTensor's ``tracks``, tinygrad's ``pdict``), and repeats until nothing
changes.  A round cap turns a rule cycle into a clear error naming the rules
that kept firing.

>>> import sympy as sp
>>> from sympy.codegen.cfunctions import log1p
>>> demo = Phase("demo")
>>> @demo.rule(tracks=(sp.log,))
... def log_one_plus_to_log1p(node):
...     "log(1 + x) = log1p(x) for x > -1."
...     arg = node.args[0]
...     return log1p(arg - 1) if isinstance(arg, sp.Add) and 1 in arg.args else None
>>> x = sp.Symbol("x")
>>> trace = Trace()
>>> rewrite(2 * sp.log(1 + x**2), [demo], trace)
2*log1p(x**2)
>>> [step.rule.name for step in trace]
['log_one_plus_to_log1p']
"""
from __future__ import annotations

import collections
import functools
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from ..errors import AlgebracError
from .guard import admissible, constraints, nonreal

__all__ = ["Rule", "Phase", "Step", "Trace", "rewrite", "RewriteLoopError"]

MAX_ROUNDS = 30


class RewriteLoopError(AlgebracError):
    """Rules kept rewriting an expression without reaching a fixed point."""


@dataclass(frozen=True)
class Rule:
    name: str
    func: Callable
    tracks: tuple
    phase: str
    limit: bool = False

    @property
    def identity(self) -> str:
        """The first line of the rule's docstring: the identity and its domain."""
        return (self.func.__doc__ or "").strip().splitlines()[0] if self.func.__doc__ else ""

    def __call__(self, node):
        return self.func(node)


@dataclass
class Phase:
    """A named set of rules, indexed by the classes they track."""

    name: str
    rules: list = field(default_factory=list)
    _by_head: dict = field(default_factory=dict)

    def rule(self, tracks: tuple, limit: bool = False) -> Callable:
        """Decorator: register a rule for nodes whose class is (a subclass of) ``tracks``.

        ``limit=True`` files a rule that gives a limit where the formula as
        written is NaN (``x*log(x)`` at 0); it runs only on request.
        """

        def register(func):
            r = Rule(func.__name__, func, tuple(tracks), self.name, limit)
            self.rules.append(r)
            self._by_head.clear()
            return func

        return register

    def for_head(self, head: type) -> list:
        hit = self._by_head.get(head)
        if hit is None:
            hit = [r for r in self.rules if issubclass(head, r.tracks)]
            self._by_head[head] = hit
        return hit


@dataclass(frozen=True)
class Step:
    """One rule application: which rule, the node before and after."""

    rule: Rule
    before: sp.Basic
    after: sp.Basic


class Trace(list):
    """The steps a rewrite took; renders as a before/after table in Jupyter (LaTeX).

    ``expr`` is the final result when the trace comes from ``stabilize(...,
    explain=True)`` (``None`` otherwise).
    """

    expr = None

    def __repr__(self) -> str:
        return f"<Trace of {len(self)} rewrite(s)>" + ("\n" + str(self) if self else "")

    def _repr_latex_(self) -> str:
        from ..report.trace import trace_latex

        return r"$\displaystyle " + trace_latex(self) + "$"

    def __str__(self) -> str:
        return "\n".join(f"{s.rule.name}: {s.before}  ->  {s.after}" for s in self)


class _Walk:
    """One rewrite's state: the rules in force, the trace, and the guards' memo."""

    def __init__(self, trace, limits: bool, deadline):
        self.trace, self.limits, self.deadline = trace, limits, deadline
        self.guard_memo: dict = {}

    def expired(self) -> bool:
        return self.deadline is not None and self.deadline.expired()


def _try_rule(r: Rule, node, walk: _Walk, args_constraints):
    """``r(node)``, or ``None`` when the rule fails or its result is not admissible."""
    if r.limit and not walk.limits:
        return None
    try:
        new = r(node)
    except Exception:  # noqa: BLE001 (a failing match is a non-match: keep the node as written)
        return None
    if new is None or new == node:
        return None
    try:
        ok = admissible(node, new, args_constraints(), walk.guard_memo)
    except Exception:  # noqa: BLE001
        ok = False
    return new if ok else None


def _apply(node, phase: Phase, walk: _Walk, fired):
    for _ in range(MAX_ROUNDS):
        rules = phase.for_head(type(node))
        if not rules or walk.expired():
            return node
        # the arguments' constraints ask SymPy's assumptions: found once a rule fires
        inputs = functools.cache(lambda n=node: frozenset().union(
            *(constraints(a, walk.guard_memo) for a in n.args)))
        for r in rules:
            new = _try_rule(r, node, walk, inputs)
            if new is not None:
                if walk.trace is not None:
                    walk.trace.append(Step(r, node, new))
                fired[r.name] += 1
                node = new
                break
        else:
            return node
    return node


def _rebuild(expr, args, walk: _Walk):
    """``expr`` with new ``args``, re-evaluated by SymPy; ``expr`` itself if that fails.

    SymPy's evaluation knows the reals, not floats: it may fold a NaN away or
    take a complex branch (see :mod:`algebrac.simplify.guard`), and comparing
    a non-real value (``Min``, ``Piecewise`` conditions) raises.  Then the node
    stays as written, with its original arguments.
    """
    try:
        node = expr.func(*args)
    except Exception:  # noqa: BLE001 (SymPy raises TypeError/ValueError/... on these)
        return expr
    try:
        try:
            unevaluated = expr.func(*args, evaluate=False)
        except TypeError:  # a class without evaluate=False: nothing non-real may appear
            return node if nonreal(node) <= frozenset().union(*map(nonreal, args)) else expr
        ok = node == unevaluated or admissible(unevaluated, node, None, walk.guard_memo)
    except Exception:  # noqa: BLE001
        ok = False
    return node if ok else expr


def _walk(expr, phase: Phase, walk: _Walk, fired, memo):
    hit = memo.get(expr)
    if hit is not None:
        return hit
    if walk.expired():  # out of time: the rest stays as written
        return expr
    if expr.args and not isinstance(expr, (sp.Symbol, sp.Indexed)):
        args = tuple(_walk(a, phase, walk, fired, memo) for a in expr.args)
        node = _rebuild(expr, args, walk) if args != expr.args else expr
    else:
        node = expr
    out = _apply(node, phase, walk, fired)
    memo[expr] = out
    return out


def rewrite(expr, phases, trace: Trace | None = None, memos: dict | None = None, *,
            limits: bool = False, deadline=None):
    """Apply each phase's rules bottom-up until a fixed point, phase by phase.

    ``memos`` (phase name -> dict) carries what each phase made of every
    subexpression from one call to the next: rules are deterministic, so a
    later round or pass walks only what changed (near-linear, not one full
    walk of a large formula per round).  ``limits`` enables the rules filed
    with ``limit=True`` (a limit instead of the IEEE value at a point, e.g.
    ``x*log(x) = 0`` at 0).  ``deadline`` (a
    :class:`~algebrac.simplify.budget.Deadline`) stops rewriting when it
    expires: what is not rewritten by then stays as written.
    """
    memos = {} if memos is None else memos
    walk = _Walk(trace, limits, deadline)
    for phase in phases:
        memo = memos.setdefault(phase.name, {})
        for _ in range(MAX_ROUNDS):
            fired: collections.Counter = collections.Counter()
            new = _walk(expr, phase, walk, fired, memo)
            if new == expr or walk.expired():
                expr = new
                break
            expr = new
        else:
            top = ", ".join(name for name, _ in fired.most_common(3))
            raise RewriteLoopError(
                f"phase {phase.name!r} did not reach a fixed point after {MAX_ROUNDS} rounds; "
                f"rules still firing: {top}. This is a bug in algebrac's rule set."
            )
    return expr
