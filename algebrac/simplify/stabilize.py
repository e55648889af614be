"""Numerical stability by rewriting: the rule database and ``ac.stabilize``.

Rules live in three phases (PyTensor's canonicalize / stabilize / specialize,
without its optimisation modes), run in order and repeated until nothing
changes, since a rule may expose another phase's pattern:

* ``CANONICALIZE`` (:mod:`algebrac.simplify.stable_rules`) -- exact algebra that
  exposes patterns (``log(exp(a)*b) -> a + log(b)``, ``exp(a)*exp(b) -> exp(a + b)``);
* ``STABILIZE`` (same module) -- numerically motivated identities:
  ``log(1 + x) -> log1p(x)``, ``log(exp(a) + exp(b)) -> logaddexp(a, b)``,
  ``1/(1 + exp(-x)) -> sigmoid(x)``, ...;
* ``SPECIALIZE`` (:mod:`algebrac.simplify.specialize`) -- forms the backends
  compute directly (``sec -> 1/cos``, ``logaddexp(0, x) -> softplus(x)``).

Each rule is a small function filed under the SymPy class it rewrites; the
first line of its docstring is the identity with its domain.  Rules match
SymPy's canonical forms through :mod:`algebrac.simplify.patterns`, so
``1 - exp(x)``, ``2*exp(x) - 2`` and ``-(exp(x) - 1)`` all fire.  Every rule
is verified by the test suite (``tests/simplify/test_rules.py``): symbolically
where SymPy can decide it, against mpmath at 50 digits at random and extreme
points, and on an input where the naive float64 form is wrong and the
rewritten one is right.

Rules hold for every *real* value of their symbols, with NaN where the naive
form is NaN (outside its real domain): compiled code computes over floats.
``stabilize`` therefore treats free symbols of unknown domain as real.  Every
step is checked by :mod:`algebrac.simplify.guard` (nothing non-real comes in,
no NaN of a domain is dropped, by the rule or by SymPy re-evaluating the
nodes above it); a step that fails the check, or raises, is not taken.  Rules
that give a limit where the formula is NaN (``x*log(x)`` at 0) run only with
``limits=True``.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> stabilize(sp.log(1 + sp.exp(x)) - sp.log(sp.exp(x) + sp.exp(y)))
-logaddexp(x, y) + softplus(x)
>>> print(stabilize(sp.log(1 - 1 / (1 + sp.exp(-x))), explain=True))
reciprocal_one_plus_exp_to_sigmoid: 1/(1 + exp(-x))  ->  sigmoid(x)
one_minus_sigmoid_to_sigmoid: 1 - sigmoid(x)  ->  sigmoid(-x)
log_of_sigmoid_to_softplus: log(sigmoid(-x))  ->  -softplus(x)
"""
from __future__ import annotations

import functools

import sympy as sp

from .rules import RewriteLoopError, Step, Trace, rewrite
from .specialize import SPECIALIZE
from .substitute import xreplace
from .stable_rules import CANONICALIZE, STABILIZE

__all__ = ["CANONICALIZE", "STABILIZE", "SPECIALIZE", "PHASES", "stabilize", "all_rules", "rename"]

PHASES = (CANONICALIZE, STABILIZE, SPECIALIZE)
MAX_PASSES = 6   # rounds of the three phases (a rule may expose another phase's pattern)


# ---- driver --------------------------------------------------------------------------------
def all_rules() -> list:
    """Every registered rule of every phase, in phase order."""
    return [r for phase in PHASES for r in phase.rules]


def _realify(expr):
    """``expr``'s free symbols of unknown domain as real symbols of the same name, and back."""
    free = expr.free_symbols
    forward, back = {}, {}
    for s in sorted(free, key=sp.default_sort_key):
        if type(s) is not sp.Symbol or s.is_extended_real is not None:
            continue
        try:
            r = sp.Symbol(s.name, **{**s._assumptions_orig, "real": True})
        except ValueError:  # inconsistent assumptions (e.g. imaginary=True): leave it
            continue
        if r in free:       # the real namesake is already there: stay apart from it
            r = sp.Dummy(s.name, real=True)
        forward[s], back[r] = r, s
    return forward, back


def rename(expr, mapping: dict, memo: dict | None = None):
    """``expr`` with symbols replaced by ``mapping``, without re-evaluating any node.

    ``xreplace`` rebuilds every node above a replaced symbol through its
    constructor; with new assumptions SymPy may then fold or expand it
    (``log(-2*exp(x))`` becomes complex for real ``x``) or run for minutes.
    ``memo``: shared by the calls with one ``mapping`` (see :func:`xreplace`).
    """
    if not mapping:
        return expr
    with sp.evaluate(False):
        return xreplace(expr, mapping, memo)


def _stabilize_expr(expr, trace: Trace | None, assume_real: bool, limits: bool = False,
                    deadline=None, restore: bool = True, memos: dict | None = None):
    expr = sp.sympify(expr, strict=True)
    forward, back = _realify(expr) if assume_real else ({}, {})
    work = Trace() if trace is not None else None
    out = rename(expr, forward)
    memos = {} if memos is None else memos
    for _ in range(MAX_PASSES):
        before = out
        out = rewrite(out, PHASES, work, memos, limits=limits, deadline=deadline)
        if out == before or (deadline is not None and deadline.expired()):
            break
    else:
        raise RewriteLoopError(f"the rule phases did not reach a fixed point in {MAX_PASSES} "
                               "passes. This is a bug in algebrac's rule set.")
    if trace is not None:
        trace.extend(Step(s.rule, rename(s.before, back), rename(s.after, back)) for s in work)
    return rename(out, back) if restore else out


def _one(expr, run):
    """``run`` on a SymPy expression, or on a Tensor's body."""
    from ..expr.tensor import Tensor

    if isinstance(expr, Tensor):
        from dataclasses import replace

        body = run(expr.body)
        return expr if body == expr.body else replace(expr, body=body, origin=None)
    return run(expr)


def stabilize(expr, *, explain: bool = False, trace: Trace | None = None,
              assume_real: bool = True, limits: bool = False, timeout: float | None = None):
    """Rewrite ``expr`` into a numerically stable, mathematically equal form.

    Parameters
    ----------
    expr : a SymPy expression, a :class:`~algebrac.Tensor` (its body is
        rewritten) or a list/tuple of them.
    explain : return the :class:`~algebrac.simplify.rules.Trace` of the rules
        that fired instead (its ``.expr`` is the result); it renders as a
        before/after table in Jupyter.
    trace : a ``Trace`` to append the steps to.
    assume_real : treat free symbols of unknown domain as real numbers, as
        compiled code does (floats); symbols keep their names.
    limits : also apply the rules that replace a NaN of the formula as
        written by its limit: ``x*log(x) -> xlogy(x, x)`` (0 at ``x = 0``)
        and ``(1 + y)*log1p(y) -> xlog1py(1 + y, y)`` (0 at ``y = -1``).
        Off by default: the default result is NaN wherever the formula as
        written is NaN for finite inputs (see "Conventions" in the README).
    timeout : seconds after which rewriting stops; the parts not reached stay
        as written (``None``: no limit).

    Where the naive formula is already accurate the result is too: every rule
    is at least as accurate as the form it replaces.

    >>> import sympy as sp, algebrac as ac
    >>> x = sp.Symbol("x")
    >>> ac.stabilize(sp.log(1 + x**2) + sp.exp(x) - 1)
    expm1(x) + log1p(x**2)
    >>> ac.stabilize(x * sp.log(x)), ac.stabilize(x * sp.log(x), limits=True)
    (x*log(x), xlogy(x, x))
    """
    from .budget import Deadline

    record = Trace() if explain and trace is None else trace
    deadline = Deadline(timeout) if timeout is not None else None
    run = functools.partial(_stabilize_expr, trace=record, assume_real=assume_real,
                            limits=limits, deadline=deadline)
    out = type(expr)(_one(e, run) for e in expr) if isinstance(expr, (list, tuple)) \
        else _one(expr, run)
    if explain:
        record.expr = out
        return record
    return out
