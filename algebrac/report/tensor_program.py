r"""The :class:`~algebrac.report.program.Program` of a compiled tensor function (``fn.latex()``).

A tensor program is shown as the definitions the compiler materializes: every
shared reduction becomes a named intermediate over only the indices it
depends on (``u_{i} = \sum_{k} X_{i k} w_{k}``, computed once and read by the
loss and by its gradient), then the outputs, in index notation with
reductions as sums.  Inputs, sizes and scalars keep the user's names.

>>> import algebrac as ac
>>> from algebrac.function import function     # ac.function
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
>>> fn = function([X, w], [ac.sum(ac.exp(X @ w))], backend="numpy")
>>> print(fn.latex())
\begin{aligned} u_{i} &= \sum_{k} X_{i k} w_{k} \\ f &= \sum_{k} e^{u_{k}} \end{aligned}
"""
from __future__ import annotations

import sympy as sp

from ..dtypes import DType
from ..expr.functions import ReduceMax, ReduceMin
from ..expr.printing import IndexLatexPrinter
from ..expr.tensor import Tensor
from ..lower.ir import ReduceOp
from .program import Equation, Program, given_names

__all__ = ["tensor_program"]

_REDUCE = {ReduceOp.ADD: sp.Sum, ReduceOp.MUL: sp.Product, ReduceOp.MAX: ReduceMax,
           ReduceOp.MIN: ReduceMin}
_TEMP_LETTERS = ("u", "v", "p", "q", "r", "s", "a", "b", "c", "d", "z", "y")


def _derivative_labels(outputs, inputs, base: str) -> dict:
    """``{k: lhs}`` for outputs that are the gradient of the scalar output 0 by an input.

    Recognised by equality with what ``ac.grad`` returns, so a label is never a guess.
    """
    if len(outputs) < 2 or outputs[0].shape != ():
        return {}
    from ..diff import grad

    labels, printer = {}, IndexLatexPrinter()
    for t in inputs:
        if not (isinstance(t, Tensor) and t.dtype.is_float):
            continue
        try:
            g = grad(outputs[0], t)
        except Exception:  # noqa: BLE001 (a display label is never worth an error)
            continue
        for k in range(1, len(outputs)):
            if k not in labels and outputs[k].shape == g.shape and outputs[k].body == g.body:
                wrt = printer.doprint(t.label) + ("_{@}" if t.ndim else "")
                labels[k] = r"\frac{\partial %s}{\partial %s}" % (base, wrt)
    return labels


def tensor_program(fn, names=None) -> Program:
    """The materialized definitions of ``fn`` (an :class:`~algebrac.function.Function`)."""
    from ..lower.tensor import _Lowerer

    prog = fn._program
    lowerer = _Lowerer(prog, DType.FLOAT64)
    lowerer.lower()
    printer = IndexLatexPrinter()
    display: dict = {}
    user = [printer.doprint(getattr(t, "label", t)) for t in fn.inputs]
    for p, tex in zip(prog.params, user):
        display[sp.Symbol(p.buffer)] = tex                                   # an array
        display[sp.Symbol("_ac_s" + p.buffer.removeprefix("_ac_in"))] = tex  # a scalar
    for size, dim in zip(prog.sizes, prog.dims):
        display[size] = printer.doprint(dim)
    used = set(user) | {str(d) for d in prog.dims}

    if names is not None:
        out_tex = given_names(names, len(prog.outputs), printer)
    else:
        # Unnamed outputs get letters (f, g, h): an element of a vector output reads g_{i}.
        pool = [c for c in ("f", "g", "h", "F", "G", "H") if c not in used]
        labels = _derivative_labels(fn.outputs, fn.inputs, pool[0])
        letters_out = iter(pool)
        out_tex = [printer.doprint(sp.Symbol(o.name)) if o.name else labels[k] if k in labels
                   else next(letters_out, None) or rf"f_{{{k}}}" for k, o in enumerate(fn.outputs)]
    for k, o in enumerate(prog.outputs):
        display[sp.Symbol(o.buffer)] = out_tex[k]
    letters = iter([c for c in _TEMP_LETTERS if c not in used | set(out_tex)])

    scalar_reads = {}
    eqs = []
    for d in lowerer.defs:
        name = d.target.name
        if sp.Symbol(name) not in display:
            display[sp.Symbol(name)] = next(letters, None) or rf"\tau_{{{len(display)}}}"
        if not d.target.shape:
            scalar_reads[d.target.base[0]] = sp.Symbol(name)
        body = d.body.xreplace(scalar_reads)
        if d.op is not None:
            limits = [(r, 0, e - 1) for r, e in zip(d.red, d.red_extents)]
            body = _REDUCE[d.op](body, *reversed(limits))
        k = next((k for k, o in enumerate(prog.outputs) if o.buffer == name), None)
        if k is not None and "@" in out_tex[k]:      # the element of a gradient
            eqs.append(Equation(out_tex[k], body, output=True, indices=d.free))
            continue
        lhs = d.target.base[d.free] if d.free else sp.Symbol(name)
        eqs.append(Equation(lhs, body, output=k is not None))
    return Program(tuple(eqs), display)
