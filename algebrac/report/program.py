r"""A compiled program as LaTeX: named intermediates, named outputs, folded when long.

:class:`Program` is a neutral description: :class:`Equation` lines
``lhs = rhs`` over the previous lines' symbols, plus display names (the user's
names for mangled ones).  Elementwise programs (``uf.latex()``) and tensor
programs (``Indexed`` left sides, reductions as sums) both reduce to it.  Long
programs fold to their first and last lines, and only shown lines are
printed, so any length displays in constant time.

>>> import sympy as sp
>>> x, t0 = sp.symbols("x _ac_t0")
>>> prog = Program((Equation(t0, x**2), Equation("f", sp.exp(-t0) * t0, output=True)),
...                names={t0: "t_{0}"})
>>> print(program_latex(prog))
\begin{aligned} t_{0} &= x^{2} \\ f &= t_{0} e^{- t_{0}} \end{aligned}
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Union

import sympy as sp

from ..errors import SignatureError
from ..expr.printing import IndexLatexPrinter, index_names

__all__ = ["Equation", "Program", "program_latex", "elementwise_program", "fold", "MAX_LINES"]

MAX_LINES = 40     # a longer program shows its first and last MAX_LINES // 2 lines

Lhs = Union[sp.Symbol, sp.Indexed, str]


@dataclass(frozen=True)
class Equation:
    r"""One program line ``lhs = rhs``.

    ``lhs`` is a SymPy ``Symbol``, an ``Indexed`` (a tensor element in index
    notation; its indices are the line's free indices) or a LaTeX string
    (``r"\frac{\partial f}{\partial x}"``); a string's free ``indices`` are
    given separately and their display names replace ``@`` in it
    (``r"\frac{\partial f}{\partial w_{@}}"``).  ``output`` marks a program result.
    """

    lhs: Lhs
    rhs: sp.Basic
    output: bool = False
    indices: tuple = ()


@dataclass(frozen=True)
class Program:
    """Lines in evaluation order and the LaTeX names of their symbols (``{symbol: tex}``)."""

    equations: tuple
    names: dict = field(default_factory=dict)


def _line(eq: Equation, names: dict, taken: frozenset) -> str:
    free = eq.lhs.indices if isinstance(eq.lhs, sp.Indexed) else tuple(eq.indices)
    rhs = sp.sympify(eq.rhs)
    index = index_names(rhs, free, taken=taken) if (free or rhs.has(sp.Sum, sp.Indexed)) else {}
    printer = IndexLatexPrinter({**names, **index})
    if isinstance(eq.lhs, str):
        lhs = eq.lhs.replace("@", " ".join(index[i] for i in free))
    else:
        lhs = printer.doprint(eq.lhs)
    return f"{lhs} &= {printer.doprint(rhs)}"


def program_latex(program: Program, *, max_lines: int = MAX_LINES) -> str:
    r"""The program as one ``aligned`` block; more than ``max_lines`` lines fold.

    A folded program shows its first ``max_lines // 2`` lines, a line
    ``\vdots`` with the number of hidden lines, and its last lines (where the
    outputs are).  Only standard commands are used (MathJax and KaTeX).

    >>> import sympy as sp
    >>> t = sp.symbols("t0:100")
    >>> eqs = [Equation(t[0], sp.Symbol("x"))] + [Equation(t[k], t[k-1]**2) for k in range(1, 100)]
    >>> tex = program_latex(Program(tuple(eqs)), max_lines=4)
    >>> tex.count(r"\\"), r"\text{96 lines not shown}" in tex
    (4, True)
    """
    names = dict(program.names)
    taken = frozenset(names.values())
    lines = fold(program.equations, max_lines, lambda e: _line(e, names, taken),
                 lambda hidden: r"\vdots\; & \quad \text{%s lines not shown}" % hidden)
    return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"


def fold(items, max_lines: int, render, gap) -> list:
    """``render`` of every item, or of the first and last ``max_lines // 2`` and ``gap(count)``.

    Only the shown items are rendered; ``count`` is the number of hidden items
    as LaTeX (thin-space thousands separators).
    """
    if max_lines < 2:
        raise SignatureError(f"max_lines must be at least 2, got {max_lines}")
    if len(items) <= max_lines:
        return [render(x) for x in items]
    head = max_lines // 2
    tail = max_lines - head
    hidden = f"{len(items) - head - tail:,}".replace(",", r"\,")
    return ([render(x) for x in items[:head]] + [gap(hidden)]
            + [render(x) for x in items[len(items) - tail:]])


# ---- elementwise programs (Ufunc) -------------------------------------------------------------
def given_names(names, nout: int, printer) -> list:
    """The LaTeX of the output names a user gave (``names=``), one per output."""
    names = list(names)
    if len(names) != nout:
        raise SignatureError(f"names= needs one name per output ({nout}), got {len(names)}")
    return [n if isinstance(n, str) else printer.doprint(n) for n in names]


def _fresh_letter(pool, used: set) -> str:
    return next((c for c in pool if c not in used), pool[-1])


def _derivative_labels(exprs, args, base: str) -> dict:
    r"""``{output k: "\\frac{\\partial f}{\\partial x}"}`` for outputs that are derivatives of output 0.

    Recognised by structure (what ``sympy.diff`` or ``ac.grad`` returns), so a
    label is never a guess; formulas too big to differentiate quickly are skipped.
    """
    if len(exprs) < 2 or len(list(itertools.islice(sp.preorder_traversal(exprs[0]), 2001))) > 2000:
        return {}
    from ..diff import grad

    labels = {}
    printer = IndexLatexPrinter()
    for a in args:
        try:
            forms = {sp.diff(exprs[0], a), grad(exprs[0], a)}
        except Exception:  # noqa: BLE001 (a display label is never worth an error)
            continue
        for k in range(1, len(exprs)):
            if k not in labels and exprs[k] in forms:
                labels[k] = r"\frac{\partial %s}{\partial %s}" % (base, printer.doprint(a))
    return labels


def elementwise_program(exprs, args, prepared, names=None) -> Program:
    r"""The :class:`Program` of a compiled elementwise formula.

    ``prepared`` is the :class:`~algebrac.lower.elementwise.ElementwiseProgram` of
    ``exprs``/``args`` after stabilize and CSE.  Temporaries show as ``t_{0}, ...``
    (another letter if a user symbol starts with ``t``); outputs as ``names``, else
    ``f``, ``\partial f/\partial x`` for derivatives of the first, or ``f_{k}``.
    """
    printer = IndexLatexPrinter()
    display = {m: printer.doprint(a) for m, a in zip(prepared.inputs, args)}
    used = {str(a)[:1] for a in args}
    letter = _fresh_letter(("t", "u", "v", "w", "s", "q", r"\tau"), used)
    for k, (sym, _) in enumerate(prepared.lets):
        display[sym] = f"{letter}_{{{k}}}"
    nout = len(prepared.outputs)
    if names is not None:
        out_tex = given_names(names, nout, printer)
    else:
        base = _fresh_letter(("f", "g", "h", "F"), used)
        labels = _derivative_labels(exprs, args, base)
        if nout == 1 or labels:
            out_tex = [base] + [labels.get(k, f"{base}_{{{k}}}") for k in range(1, nout)]
        else:
            out_tex = [f"{base}_{{{k}}}" for k in range(nout)]
    eqs = [Equation(sym, value) for sym, value in prepared.lets]
    eqs += [Equation(t, e, output=True) for t, e in zip(out_tex, prepared.outputs)]
    return Program(tuple(eqs), display)
