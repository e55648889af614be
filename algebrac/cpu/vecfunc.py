r"""Scalar formulas → one C function over flat float64 vectors (for SciPy's callbacks).

A ufunc maps arrays elementwise; SciPy's integrators, ODE solvers and
optimizers instead call back with one point at a time: a vector ``in`` of
the arguments, wanting a vector ``out`` of the outputs.  This module renders
the same stabilized, CSE'd loop body as a ufunc (serial, one element) into::

    void _ac_eval(const double *_ac_in, double *_ac_out);
    static double _ac_scalar(int n, double *xx);  /* out[0]; NaN if n != nin */

and builds it through the disk cache.  The library offers ``evaluate(in, out)``
(contiguous float64 arrays; no allocation, GIL released), ``scalar_capsule`` (a ``PyCapsule`` named with
SciPy's ``"double (int, double *)"`` signature, for ``scipy.LowLevelCallable``)
and ``NIN``/``NOUT``.  There is no ufunc argument limit here, so a system of a
thousand equations is one function.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> kernel = passes.run(lower_elementwise(prepare([x * y, x + y], [x, y]), DType.FLOAT64), "numpy")
>>> text = render_vector_module(kernel, 2, 2).text
>>> print("\n".join(line.strip() for line in text.splitlines() if "_ac_out[" in line))
_ac_out[0] = _ac_x0*_ac_x1;
_ac_out[1] = _ac_x0 + _ac_x1;
"""
from __future__ import annotations

from ..dtypes import DType
from ..lower import passes
from ..deep import key_text
from ..lower.elementwise import as_formula, lower_elementwise, prepare
from ..lower.ir import Loop
from . import parts
from .render import CPrinter, Source, main_head
from .scipy_calls import scipy_parts

__all__ = ["render_vector_module", "compile_vector"]


class _Printer(CPrinter):
    """Input ``k`` is ``_ac_in[k]`` and output ``k`` is ``_ac_out[k]``: one point."""

    def _print_Indexed(self, expr):
        name = expr.base.name
        for prefix in ("_ac_in", "_ac_out"):
            if name.startswith(prefix) and name[len(prefix):].isdigit():
                return f"{prefix}[{int(name[len(prefix):])}]"
        return super()._print_Indexed(expr)


def render_vector_module(kernel, nin: int, nout: int) -> Source:
    """The library of a vector function: one serial float64 kernel."""
    # One point: what was hoisted out of the loop (constants like sqrt(2)), then its body.
    body = [inner for stmt in kernel.body
            for inner in (stmt.body if isinstance(stmt, Loop) else (stmt,))]
    printer = _Printer({"dtype": DType.FLOAT64})
    head = "(const double *_ac_in, double *_ac_out"
    if len(body) > parts.PART_STATEMENTS:
        # A long body (a system of a thousand equations) as part functions, so the
        # C compiler's time stays linear; values crossing parts go through _ac_w.
        plan = parts.split(body, printer, lambda k: f"_ac_w[{k}]")
        lines = []
        for k, part in enumerate(plan.parts):
            lines += [f"static void __attribute__((noinline)) _ac_eval{k}{head}, double *_ac_w)",
                      "{"] + ["    " + x for x in part.lines] + ["}"]
        lines += [f"_AC_EXPORT void _ac_eval{head})", "{",
                  f"    double _ac_w[{max(plan.slots, 1)}];"]
        lines += [f"    _ac_eval{k}(_ac_in, _ac_out, _ac_w);" for k in range(len(plan.parts))]
        lines += ["}"]
    else:
        lines = [f"_AC_EXPORT void _ac_eval{head})", "{"]
        for stmt in body:
            lines += printer.statement(stmt, 1)
        lines += ["}"]
    lines += ["static double _ac_scalar(int n, double *xx)", "{",
              f"    double out[{nout}];",
              f"    if (n != {nin}) return NAN;  /* quad passes x and its args */",
              "    _ac_eval(xx, out);", "    return out[0];", "}",
              "_AC_EXPORT PyObject *_ac_scalar_capsule(void)",
              '{ return PyCapsule_New((void *)_ac_scalar, "double (int, double *)", NULL); }',
              f"_AC_EXPORT const int _ac_nin = {nin}, _ac_nout = {nout};"]
    sf_c, imports = scipy_parts(set(printer.used_scipy.values()))
    c = [*main_head(imports, numpy=False), '#include "algebrac_math.h"', *sf_c, *lines]
    return Source("\n".join(c) + "\n", ("m",))


def compile_vector(exprs, args, *, stabilize: bool = True, limits: bool = False):
    """Build (or load from the cache) the vector-function module of ``exprs`` over ``args``."""
    from . import build

    exprs = tuple(as_formula(e) for e in exprs)
    args = tuple(args)
    fkey = build.formula_key("vector", key_text(exprs), key_text(args), str(bool(stabilize)),
                              *(["limits"] if limits else []))
    module = build.load_indexed(fkey)
    if module is not None:
        return module
    program = prepare(exprs, args, stabilize=stabilize, limits=limits)
    kernel = passes.run(lower_elementwise(program, DType.FLOAT64), "numpy")
    return build.load(render_vector_module(kernel, len(args), len(exprs)), fkey)
