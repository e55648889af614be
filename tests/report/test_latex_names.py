"""Symbol names with LaTeX's special characters, and every table function, render in real
KaTeX and MathJax (tools/texcheck, as the notebooks display them)."""
from __future__ import annotations

import sympy as sp

import algebrac as ac
from algebrac.mathfuncs import FUNCTIONS

HOSTILE = ["x}", "a%b", "#x", "a&b", "x$", "a~b", "a\\b", "{x", "}{", "a\"b", "<x>", "x_1",
           "x_{1}", "alpha_2", "a^b", "a b"]


def test_hostile_names_and_every_table_function_render(tex_errors):
    x = sp.Symbol("x")
    texs = [ac.latex(sp.Symbol(n) ** 2 + sp.sin(sp.Symbol(n))) for n in HOSTILE]
    args = sp.symbols("a0:4")
    texs += [ac.latex(row.sympy(*args[:row.nargs])) for row in FUNCTIONS.values()]
    texs += [ac.latex(ac.stabilize(sp.erf(x) / 2 + sp.S.Half)),
             ac.latex(ac.stabilize(sp.atan(x) / sp.pi + sp.S.Half))]
    errors = [(t, e) for t, e in zip(texs, tex_errors(texs)) if e["katex"] or e["mathjax"]]
    assert errors == []


def test_unescaped_names_would_be_refused(tex_errors):
    """The check has teeth: SymPy's own LaTeX of these names does not render in KaTeX."""
    errs = tex_errors([sp.latex(sp.Symbol(n)) for n in ("x}", "a%b", "#x", "a&b")])
    assert all(e["katex"] for e in errs)
