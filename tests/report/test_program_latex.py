"""Golden LaTeX for each Jupyter display form, every golden rendered by real KaTeX and MathJax."""
from __future__ import annotations

import time

import pytest
import sympy as sp

import algebrac as ac
from algebrac.expr import functions as af
from algebrac.function import function   # (not ac.function: pytest's doctest import of the
                                         # module algebrac/function.py can shadow it)
from algebrac.lower.elementwise import ElementwiseProgram
from algebrac.report import Equation, Program, program_latex

x, y = sp.symbols("x y")
F = sp.exp(-x**2 - y**2) * sp.sin(x * y)


def _math(display: str) -> str:
    """The math inside a Jupyter ``_repr_latex_`` string."""
    assert display.startswith(r"$\displaystyle ") and display.endswith("$"), display[:40]
    return display[len(r"$\displaystyle "):-1]


def value_and_gradient():
    uf = ac.compile([F, *ac.grad(F, [x, y])], [x, y], backend="numpy")
    return _math(uf._repr_latex_())


def stabilized_single_output():
    t = sp.Symbol("t")      # a user symbol starting with t: temporaries take another letter
    return ac.compile([sp.log(1 + sp.exp(x)) * t + sp.exp(x) - 1 + sp.sin(x * t) * sp.cos(x * t)],
                      [x, t], backend="numpy").latex(names=[r"\ell"])


def tensor_program():
    n, m = sp.symbols("n m", integer=True, positive=True)
    i, j, k = sp.symbols("_i _j _k", integer=True)
    X, w, t = sp.IndexedBase("X", (n, m)), sp.IndexedBase("w", (m,)), sp.IndexedBase("t", (n,))
    z, g = sp.IndexedBase("_ac_z", (n,)), sp.IndexedBase("g", (m,))
    eqs = (Equation(z[i], sp.Sum(X[i, k] * w[k], (k, 0, m - 1))),
           Equation(sp.Symbol("L"), sp.Sum(af.softplus(z[i]) - t[i] * z[i],
                                            (i, 0, n - 1)), output=True),
           Equation(g[j], sp.Sum(X[i, j] * (af.sigmoid(z[i]) - t[i]), (i, 0, n - 1)),
                    output=True))
    return program_latex(Program(eqs, {z.label: "z"}))


def logistic_function():
    n, m = ac.dim("n"), ac.dim("m")
    X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
    p = ac.sigmoid(X @ w)
    loss = -ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p))
    return _math(function([X, w, t], [loss, ac.grad(loss, w)], backend="numpy")._repr_latex_())


def function_with_scalar_and_max():
    n, m = ac.dim("n"), ac.dim("m")
    X, w, lam = ac.matrix("X", (n, m)), ac.vector("w", m), sp.Symbol("lambda")
    fn = function([X, w, lam], [lam * ac.sum(w**2) + ac.sum(ac.exp(X @ w)), ac.max(X, axis=1)],
                  backend="numpy")
    return fn.latex()


def stabilize_trace():
    return _math(ac.stabilize(sp.log(1 - 1 / (1 + sp.exp(-x))), explain=True)._repr_latex_())


def tensor_trace():
    z = ac.vector("Z", ac.dim("n"))
    return _math(ac.stabilize(ac.log(ac.exp(z) / ac.sum(ac.exp(z))), explain=True)._repr_latex_())


def folded():
    return program_latex(Program(tuple(Equation(sp.Symbol(f"t{k}"), x**k) for k in range(1, 1001))),
                         max_lines=4)


GOLDEN = {
    value_and_gradient: (
        r"\begin{aligned} t_{0} &= e^{- x^{2} - y^{2}} \\ t_{1} &= x y \\ "
        r"t_{2} &= \sin{\left(t_{1} \right)} \\ t_{3} &= \cos{\left(t_{1} \right)} \\ "
        r"t_{4} &= - 2 t_{2} \\ f &= t_{0} t_{2} \\ \frac{\partial f}{\partial x} &= t_{0} "
        r"\left(t_{3} y + t_{4} x\right) \\ \frac{\partial f}{\partial y} &= t_{0} "
        r"\left(t_{3} x + t_{4} y\right) \end{aligned}"),
    stabilized_single_output: (
        r"\begin{aligned} u_{0} &= x t \\ \ell &= t \operatorname{softplus}\left(x\right) + "
        r"\sin{\left(u_{0} \right)} \cos{\left(u_{0} \right)} + "
        r"\operatorname{expm1}\left(x\right) \end{aligned}"),
    tensor_program: (
        r"\begin{aligned} z_{i} &= \sum_{k} X_{i k} w_{k} \\ "
        r"L &= \sum_{k} \left(\operatorname{softplus}\left(z_{k}\right) - z_{k} t_{k}\right) \\ "
        r"g_{i} &= \sum_{k} \left(\sigma\left(z_{k}\right) - t_{k}\right) X_{k i} \end{aligned}"),
    logistic_function: (
        r"\begin{aligned} u_{i} &= \sum_{k} X_{i k} w_{k} \\ v &= \sum_{k} \left(- \left(1 - "
        r"t_{k}\right) \operatorname{softplus}\left(u_{k}\right) - \operatorname{softplus}"
        r"\left(- u_{k}\right) t_{k}\right) \\ f &= - v \\ \frac{\partial f}{\partial w_{i}} "
        r"&= \sum_{k} \left(\sigma\left(u_{k}\right) - t_{k}\right) X_{k i} \end{aligned}"),
    function_with_scalar_and_max: (
        r"\begin{aligned} u &= \sum_{k} w_{k}^{2} \\ v_{i} &= \sum_{k} X_{i k} w_{k} \\ "
        r"p &= \sum_{k} e^{v_{k}} \\ f &= \lambda u + p \\ g_{i} &= \max_{k} X_{i k} "
        r"\end{aligned}"),
    stabilize_trace: (
        r"\begin{array}{lll} \textbf{rule} & \textbf{before} & \textbf{after} \\ \hline "
        r"\texttt{reciprocal\_one\_plus\_exp\_to\_sigmoid} & \frac{1}{1 + e^{- x}} & "
        r"\sigma\left(x\right) \\ \texttt{one\_minus\_sigmoid\_to\_sigmoid} & "
        r"1 - \sigma\left(x\right) & \sigma\left(- x\right) \\ "
        r"\texttt{log\_of\_sigmoid\_to\_softplus} & \log{\left(\sigma\left(- x\right) \right)} & "
        r"- \operatorname{softplus}\left(x\right) \\ \hline \textbf{result} & & "
        r"- \operatorname{softplus}\left(x\right) \end{array}"),
    tensor_trace: (
        r"\begin{array}{lll} \textbf{rule} & \textbf{before} & \textbf{after} \\ \hline "
        r"\texttt{log\_of\_product\_split} & \log{\left(\frac{e^{Z_{i}}}{\sum_{k} e^{Z_{k}}} "
        r"\right)} & - \log{\left(\sum_{k} e^{Z_{k}} \right)} + Z_{i} \\ "
        r"\texttt{log\_of\_sum\_of\_exps\_to\_logsumexp} & \log{\left(\sum_{k} e^{Z_{k}} "
        r"\right)} & \operatorname{logsumexp}_{k} Z_{k} \\ \hline \textbf{result} & & "
        r"Z_{i} - \operatorname{logsumexp}_{k} Z_{k} \end{array}"),
    folded: (
        r"\begin{aligned} t_{1} &= x \\ t_{2} &= x^{2} \\ \vdots\; & \quad "
        r"\text{996 lines not shown} \\ t_{999} &= x^{999} \\ t_{1000} &= x^{1000} \end{aligned}"),
}


@pytest.mark.parametrize("build", list(GOLDEN), ids=lambda f: f.__name__)
def test_golden(build):
    assert build() == GOLDEN[build]


def test_every_golden_renders_in_katex_and_mathjax(tex_errors):
    texs = list(GOLDEN.values())
    assert tex_errors(texs) == [{"katex": None, "mathjax": None}] * len(texs)
    # The checkers are real: broken LaTeX is reported by both.
    for result in tex_errors([r"\frac{1", r"\notacommand x"]):
        assert result["katex"] and result["mathjax"]


def test_ten_thousand_line_program_displays_folded_and_fast():
    lets = [(sp.Symbol("_ac_t0"), sp.sin(sp.Symbol("_ac_x0")))]
    for k in range(1, 10_000):
        lets.append((sp.Symbol(f"_ac_t{k}"), lets[-1][0] ** 2))
    prog = ElementwiseProgram((sp.Symbol("_ac_x0"),), tuple(lets), (lets[-1][0] + 1,))
    uf = ac.compile(x, [x], backend="numpy")
    uf.__dict__["_program"] = prog           # as if prepare() had produced this program
    # CPU time of this thread, so a busy machine does not make the bound flaky; the
    # display costs ~0.06 s, and a display that printed every line would take minutes.
    start = time.thread_time()
    tex = uf._repr_latex_()
    elapsed = time.thread_time() - start
    assert elapsed < 1.0, f"display took {elapsed:.2f} s of CPU"
    assert r"\text{9\,961 lines not shown}" in tex
    assert tex.count(r"\\") == 40            # 20 + gap + 20 lines
    assert r"t_{0} &= \sin{\left(x \right)}" in tex and r"f &= t_{9999} + 1" in tex


def test_names_must_match_outputs():
    uf = ac.compile([x, y], [x, y], backend="numpy")
    assert uf.latex(names=["a", sp.Symbol("beta")]) == \
        r"\begin{aligned} a &= x \\ \beta &= y \end{aligned}"
    with pytest.raises(ac.SignatureError, match="one name per output"):
        uf.latex(names=["a"])
    v = ac.vector("v", ac.dim("n"))
    fn = function([v], [ac.sum(v), ac.exp(v)], backend="numpy")
    assert fn.latex(names=["s", "e"]) == \
        r"\begin{aligned} s &= \sum_{k} v_{k} \\ e_{i} &= e^{v_{i}} \end{aligned}"
    assert function([v], [ac.exp(v).rename("y")], backend="numpy").latex() == \
        r"\begin{aligned} y_{i} &= e^{v_{i}} \end{aligned}"
    with pytest.raises(ac.SignatureError, match="one name per output"):
        fn.latex(names=["s"])
    with pytest.raises(ac.SignatureError, match="max_lines"):
        program_latex(Program(()), max_lines=1)


def test_every_compilable_function_renders(tex_errors):
    from algebrac.mathfuncs import FUNCTIONS, REWRITES

    a, b, c = sp.symbols("a b c")
    texs = {}
    for cls, row in FUNCTIONS.items():
        args = (0, a) if cls is sp.polygamma else (a, b, c, sp.Symbol("d"))[:row.nargs]
        texs[cls.__name__] = program_latex(Program((Equation("f", cls(*args)),)))
    for cls in REWRITES:
        for args in ((a,), (a, b)):
            try:
                texs[cls.__name__] = program_latex(Program((Equation("f", cls(*args)),)))
                break
            except TypeError:
                continue
    assert len(texs) >= len(FUNCTIONS)
    bad = {name: err for name, err in zip(texs, tex_errors(list(texs.values())))
           if err != {"katex": None, "mathjax": None}}
    assert not bad
