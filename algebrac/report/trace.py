r"""A rewrite trace (``ac.stabilize(expr, explain=True)``) as a before/after table in LaTeX.

The table is a LaTeX ``array``, so every notebook front-end renders it
(MathJax in Jupyter, KaTeX in VS Code), not only those that typeset math
inside HTML.  Long traces fold like long programs.

>>> import sympy as sp, algebrac as ac
>>> x = sp.Symbol("x")
>>> print(trace_latex(ac.stabilize(sp.exp(x) - 1, explain=True)))
\begin{array}{lll} \textbf{rule} & \textbf{before} & \textbf{after} \\ \hline \texttt{exp\_minus\_one\_to\_expm1} & e^{x} - 1 & \operatorname{expm1}\left(x\right) \\ \hline \textbf{result} & & \operatorname{expm1}\left(x\right) \end{array}
"""
from __future__ import annotations

import sympy as sp

from ..expr.printing import IndexLatexPrinter, index_names, latex
from ..expr.symbols import is_index_symbol
from .program import MAX_LINES, fold

__all__ = ["trace_latex"]


def _step_tex(before, after) -> tuple:
    """Both sides of a step, with the tensor indices named alike (``i``, ``k``) on both."""
    both = sp.Tuple(before, after)
    free = sorted((s for s in both.free_symbols if is_index_symbol(s)), key=sp.default_sort_key)
    printer = IndexLatexPrinter(index_names(both, tuple(free)) if both.has(sp.Indexed) else {})
    return printer.doprint(before), printer.doprint(after)


def trace_latex(trace, *, max_lines: int = MAX_LINES) -> str:
    """The steps of ``trace`` as rows ``rule | before | after``, then the result if known."""
    def row(step) -> str:
        name = step.rule.name.replace("_", r"\_")
        return rf"\texttt{{{name}}} & %s & %s" % _step_tex(step.before, step.after)

    rows = fold(list(trace), max_lines, row,
                lambda hidden: r"\vdots & \text{%s steps not shown} &" % hidden)
    if not rows:
        rows = [r"\text{no rule applies} & &"]
    body = r"\textbf{rule} & \textbf{before} & \textbf{after} \\ \hline " + r" \\ ".join(rows)
    if trace.expr is not None:
        body += r" \\ \hline \textbf{result} & & " + latex(trace.expr)
    return r"\begin{array}{lll} " + body + r" \end{array}"
