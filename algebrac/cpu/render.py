"""Render elementwise kernels as a Cython module that builds a real ``numpy.ufunc``.

The hot loops are plain C inside a ``cdef extern from *`` block, because
Cython's ``prange`` emits no ``simd`` and its loops over libm calls stayed
scalar (DESIGN, speed facts).  Each kernel dtype becomes one ufunc inner loop
with three paths: unit strides (contiguous arrays), inputs of stride 0 or 1
element (broadcasting a row against a column), and arbitrary byte strides
(views).
Both run in an OpenMP parallel region with an ``if`` clause, so small calls
stay on one thread, and an ``omp for simd`` loop; worker threads hand their
floating-point flags to the caller so NumPy's warnings work at every size.
Math functions that glibc's libmvec vectorises are declared ``omp declare
simd`` unless they are called under a ``Piecewise`` condition.  The Cython part only registers the loops with
``PyUFunc_FromFuncAndData``.

>>> import sympy as sp
>>> from algebrac.lower.elementwise import prepare, lower_elementwise
>>> from algebrac.lower.passes import run
>>> x = sp.Symbol("x")
>>> k = run(lower_elementwise(prepare([sp.exp(x)], [x]), DType.FLOAT64), "cpu")
>>> print(render_loop(k, strided=False, cutoff=1000))
static void _ac_loop_d(char **args, npy_intp const *dims, npy_intp const *steps, void *data)
{
    const npy_intp _ac_n = dims[0];
    (void)data;
    if (steps[0] == sizeof(double) && steps[1] == sizeof(double)) {
        const double *_ac_in0 = (const double *)args[0];
        double *_ac_out0 = (double *)args[1];
        {
            int _ac_fpe = 0;
            #pragma omp parallel if(_ac_n > 1000) num_threads(_ac_nthreads()) reduction(|:_ac_fpe)
            {
                const int _ac_worker = omp_get_thread_num() != 0;
                if (_ac_worker) feclearexcept(_AC_FE_FLAGS);
                #pragma omp for simd schedule(static)
                for (npy_intp _ac_i = 0; _ac_i < _ac_n; _ac_i++) {
                    const double _ac_x0 = _ac_in0[_ac_i];
                    _ac_out0[_ac_i] = exp(_ac_x0);
                }
                if (_ac_worker) _ac_fpe |= fetestexcept(_AC_FE_FLAGS);
            }
            if (_ac_fpe) feraiseexcept(_ac_fpe);
        }
    }
}
"""
from __future__ import annotations

import ctypes.util
import functools
import platform
from dataclasses import dataclass

import sympy as sp

from ..dtypes import DType
from ..lower.ir import Buffer, Kernel, Loop, LoopKind, Role
from ..lower.printing import CFamilyPrinter
from .scipy_calls import scipy_parts

__all__ = ["Source", "CPrinter", "render_loop", "render_ufunc_module", "has_libmvec"]

UFUNC_NAME = "algebrac_ufunc"
_BUFSIZE = 8192  # NumPy's default buffer size, in elements
_QUIET_COMPARISONS = {">": "_ac_gt", ">=": "_ac_ge", "<": "_ac_lt", "<=": "_ac_le"}


@dataclass(frozen=True)
class Source:
    """A generated module: its ``.pyx`` text and what it links against."""

    text: str
    libraries: tuple = ("m",)


@functools.lru_cache(maxsize=None)
def has_libmvec() -> bool:
    """glibc's vector math library is available (x86-64 Linux)."""
    return platform.machine() in ("x86_64", "AMD64") and ctypes.util.find_library("mvec") is not None


class CPrinter(CFamilyPrinter):
    """C for the CPU: OpenMP pragmas and ufunc-style (pointer, stride) array access."""

    _default_settings = dict(CFamilyPrinter._default_settings, mode="unit", cutoff=32768)

    def _print_Indexed(self, expr):
        name = expr.base.name
        (index,) = expr.indices
        i = self._print_index(index)
        mode = self._settings["mode"]
        if mode == "strided":
            return f"(*({self.dtype.c_name} *)({name} + {i}*{_stride(name)}))"
        if mode == "broadcast" and name.startswith("_ac_in"):
            return f"{name}[{i}*{_stride(name)}]"
        return f"{name}[{i}]"

    def _print_Relational(self, expr):
        # C's `x > 0` raises the invalid flag when x is NaN (NumPy then warns);
        # NumPy's comparisons are quiet, and so are the header's _ac_gt & co.
        # (which, unlike C's isgreater, stay quiet when gcc vectorises them).
        quiet = _QUIET_COMPARISONS.get(expr.rel_op)
        if quiet is None:  # == and != are quiet already
            return super()._print_Relational(expr)
        suffix = "f" if self.dtype is DType.FLOAT32 else ""
        return f"{quiet}{suffix}({self._print(expr.lhs)}, {self._print(expr.rhs)})"

    def _stmt_Loop(self, loop: Loop, depth):
        if loop.kind is not LoopKind.PARALLEL:
            return super()._stmt_Loop(loop, depth)
        # Threads each have their own floating-point status flags; NumPy reads only
        # the calling thread's after the loop.  Worker threads therefore collect
        # theirs into a reduction that is raised in the calling thread, so
        # overflow/invalid warnings (and np.errstate) behave the same at every size.
        pad, inner = self.indent_unit * depth, self.indent_unit * (depth + 1)
        n = self._print_index(loop.extent)
        # With ``simd`` the vectoriser evaluates both sides of a branch and
        # blends: an untaken branch would raise flags (log of a negative that
        # Piecewise excluded).  Loops with branches stay exact.
        simd = "" if _has_branches(loop) else " simd"
        i = self._print(loop.index)
        lines = [f"{pad}{{",
                 f"{inner}int _ac_fpe = 0;",
                 f"{inner}#pragma omp parallel if({n} > {self._settings['cutoff']}) "
                 "num_threads(_ac_nthreads()) reduction(|:_ac_fpe)",
                 f"{inner}{{",
                 f"{inner}{self.indent_unit}const int _ac_worker = omp_get_thread_num() != 0;",
                 f"{inner}{self.indent_unit}if (_ac_worker) feclearexcept(_AC_FE_FLAGS);"]
        header = f"for (npy_intp {i} = 0; {i} < {n}; {i}++)"
        lines += self.block(header, loop.body, depth + 2, f"#pragma omp for{simd} schedule(static)")
        lines += [f"{inner}{self.indent_unit}if (_ac_worker) _ac_fpe |= fetestexcept(_AC_FE_FLAGS);",
                  f"{inner}}}",
                  f"{inner}if (_ac_fpe) feraiseexcept(_ac_fpe);",
                  f"{pad}}}"]
        return lines


def _has_branches(loop: Loop) -> bool:
    return any(v.has(sp.Piecewise) for v in _values(loop.body))


def _stride(name: str) -> str:
    return "_ac_stride_" + name.removeprefix("_ac_")


def _buffers(kernel: Kernel):
    return [p for p in kernel.params if isinstance(p, Buffer)]


def render_loop(kernel: Kernel, *, strided: bool = True, cutoff: int = 32768,
                printer_out: list | None = None) -> str:
    """The ufunc inner loop for one kernel: the unit-stride path, plus (``strided``)
    the broadcast and arbitrary-stride paths."""
    t = kernel.params[0].dtype.c_name
    bufs = _buffers(kernel)
    lines = [
        f"static void _ac_loop_{kernel.params[0].dtype.char}"
        "(char **args, npy_intp const *dims, npy_intp const *steps, void *data)",
        "{",
        "    const npy_intp _ac_n = dims[0];",
        "    (void)data;",
    ]
    unit = " && ".join(f"steps[{k}] == sizeof({t})" for k in range(len(bufs)))
    # Broadcasting (a row against a column) gives inputs of stride 0 or one
    # element: still a typed-pointer loop the vectoriser handles.
    bcast = " && ".join(
        f"(steps[{k}] == sizeof({t}) || steps[{k}] == 0)" if b.role is Role.IN
        else f"steps[{k}] == sizeof({t})" for k, b in enumerate(bufs))
    paths = [("unit", f"if ({unit})")]
    if strided:
        paths += [("broadcast", f"else if ({bcast})"), ("strided", "else")]
    for mode, header in paths:
        p = CPrinter({"dtype": kernel.params[0].dtype, "mode": mode, "cutoff": cutoff})
        decls = []
        for k, b in enumerate(bufs):
            const = "const " if b.role is Role.IN else ""
            if mode == "strided":
                decls.append(f"char *{b.name} = args[{k}];")
                decls.append(f"const npy_intp {_stride(b.name)} = steps[{k}];")
            else:
                decls.append(f"{const}{t} *{b.name} = ({const}{t} *)args[{k}];")
                if mode == "broadcast" and b.role is Role.IN:
                    decls.append(f"const npy_intp {_stride(b.name)} = steps[{k}] != 0;")
        body = [" " * 8 + d for d in decls]
        for stmt in kernel.body:
            body.extend(p.statement(stmt, 2))
        lines.append(f"    {header} {{")
        lines.extend(body)
        lines.append("    }")
        if printer_out is not None:
            printer_out.append(p)
    lines.append("}")
    return "\n".join(lines)


def _cost(kernel: Kernel) -> int:
    """Rough work per element: a call counts 20 operations."""
    total = 0
    for node in sp.preorder_traversal(sp.Tuple(*_values(kernel.body))):
        if isinstance(node, sp.Function):
            total += 20
        elif node.args:
            total += 1
    return max(total, 1)


def _values(stmts):
    for s in stmts:
        if isinstance(s, Loop):
            yield from _values(s.body)
        elif hasattr(s, "value"):
            yield s.value


def _simd_declarations(printers) -> list:
    used = {}
    for p in printers:
        used.update(p.used_functions)
    lines = []
    for name in sorted(used):
        simd, nargs, t, conditional = used[name]
        # A function called under a condition gets no vector variant: the
        # vectoriser would call it on every lane (log of the negatives that
        # Piecewise excluded) and raise floating-point flags for untaken branches.
        if simd and not conditional:
            args = ", ".join([t] * nargs)
            # const: with -fno-builtin-sin gcc no longer knows sin is pure and
            # would refuse to if-convert helpers (min, sign, ...) in the same loop.
            lines += ["#pragma omp declare simd notinbranch",
                      f"{t} {name}({args}) __attribute__((const));"]
    return lines


def render_ufunc_module(kernels: list, nin: int, nout: int) -> Source:
    """The ``.pyx`` of a module whose attribute ``ufunc`` is the compiled ufunc.

    ``kernels`` holds one elementwise kernel per loop dtype, in NumPy's
    resolution order (float32 first, so float32 inputs stay float32).
    ``make_ufunc(name)`` gives a ufunc over the same loops under another name
    (the name is not in the source, so formulas that render alike share a module).
    """
    printers: list = []
    loops = []
    for k in kernels:
        # Threads pay off above ~20 us of work per call.  Never at or below NumPy's
        # buffer size (8192): inputs that need a cast arrive in 8192-element
        # chunks, and a parallel region per chunk costs a scheduler slice each
        # when the machine is busy (seconds for 1e7 elements).
        cutoff = max(_BUFSIZE, min(1 << 17, 100000 // _cost(k)))
        loops.append(render_loop(k, strided=True, cutoff=cutoff, printer_out=printers))
    simd = _simd_declarations(printers) if has_libmvec() else []
    sf_c, sf_extern, sf_cython = scipy_parts({r for p in printers for r in p.used_scipy.values()})
    nk = len(kernels)
    types = ", ".join(
        ", ".join([k.params[0].dtype.npy_type] * (nin + nout)) for k in kernels
    )
    funcs = ", ".join(f"_ac_loop_{k.params[0].dtype.char}" for k in kernels)
    c = [
        "#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION",
        "#include <math.h>",
        "#include <fenv.h>",
        "#include <omp.h>",
        "#define _AC_FE_FLAGS (FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW | FE_INVALID)",
        "#include <numpy/ndarraytypes.h>",
        "#include <numpy/ufuncobject.h>",
        '#include "algebrac_math.h"',
        '#include "algebrac_threads.h"',
        *sf_c,
        *simd,
        *loops,
        f"static PyUFuncGenericFunction _ac_funcs[{nk}] = {{{funcs}}};",
        f"static void *_ac_data[{nk}] = {{{', '.join(['NULL'] * nk)}}};",
        f"static char _ac_types[{nk * (nin + nout)}] = {{{types}}};",
        "static PyObject *_ac_make_ufunc(const char *name)",
        "{",
        "    if (PyArray_ImportNumPyAPI() < 0) return NULL;",
        "    if (PyUFunc_ImportUFuncAPI() < 0) return NULL;",
        "    if (_ac_bind_threads() < 0) return NULL;",
        f"    return PyUFunc_FromFuncAndData(_ac_funcs, _ac_data, _ac_types, {nk}, {nin}, "
        f'{nout}, PyUFunc_None, name, "A formula compiled by algebrac.", 0);',
        "}",
    ]
    body = "\n".join("    " + line if line else "" for line in "\n".join(c).splitlines())
    text = (
        "# cython: language_level=3\n"
        "# Generated by algebrac. Every identifier is algebrac's own (_ac_ prefix).\n"
        "cdef extern from *:\n"
        '    """\n'
        f"{body}\n"
        '    """\n'
        + "".join(f"    {line}\n" for line in sf_extern) +
        "    object _ac_make_ufunc(const char *name)\n"
        "\n"
        + "".join(f"{line}\n" for line in sf_cython) +
        "_named = {}\n"
        "\n"
        "def make_ufunc(str name):\n"
        '    """The ufunc under ``name`` (an ASCII identifier), made once per name."""\n'
        "    if not (name.isascii() and name.isidentifier()):\n"
        "        raise ValueError(f'a ufunc name must be an ASCII identifier, got {name!r}')\n"
        "    key = name.encode()\n"
        "    if key not in _named:\n"
        "        # NumPy keeps the char pointer: the bytes object lives in _named with it.\n"
        "        _named.setdefault(key, (key, _ac_make_ufunc(key)))\n"
        "    return _named[key][1]\n"
        "\n"
        f'ufunc = make_ufunc("{UFUNC_NAME}")\n'
    )
    libs = ("mvec", "m") if has_libmvec() else ("m",)
    return Source(text, libs)
