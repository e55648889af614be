"""Render elementwise kernels as a C library that makes a real ``numpy.ufunc``.

The hot loops are plain C, because Cython's ``prange`` emits no ``simd`` and
its loops over libm calls stayed scalar (DESIGN, speed facts).  Each kernel
dtype becomes two C functions:

* ``_ac_block_<c>(n, in..., out...)`` holds the formula once, as an ``omp
  simd`` loop over ``n`` contiguous elements (``Piecewise`` bodies as the block
  passes of :mod:`algebrac.cpu.branches`);
* ``_ac_loop_<c>``, the ufunc inner loop, opens an OpenMP parallel region
  (with an ``if`` clause, so small calls stay on one thread) and calls the
  block on each thread's share of contiguous arrays, or on blocks of 256
  elements gathered from views (broadcast rows, transposes) and scattered back.
  Worker threads hand their floating-point flags to the caller, so NumPy's
  warnings work at every size.

One copy of the formula per dtype, not one per stride path, keeps the C
compiler's time proportional to the formula (an 800-term formula with its
gradient was 1.8 MB of C with six copies).  Math functions that glibc's
libmvec vectorises are declared ``omp declare simd`` unless they are called
under a condition in a scalar loop.  The main file only registers the loops
with ``PyUFunc_FromFuncAndData``; Python loads the library with ``ctypes``
(:mod:`algebrac.cpu.native`).  A long body is cut into part functions spread
over several C files (compiled in parallel), and its float32 loop is a module of
its own, built on the first float32 call (:func:`render_float32_module`).

>>> import sympy as sp
>>> from algebrac.lower.elementwise import prepare, lower_elementwise
>>> from algebrac.lower.passes import run
>>> x = sp.Symbol("x")
>>> k = run(lower_elementwise(prepare([sp.sqrt(x) + 1], [x]), DType.FLOAT64), "cpu")
>>> print("\\n".join(render_block(k, CPrinter({"dtype": DType.FLOAT64}))))
static void __attribute__((noinline)) _ac_block_d(const npy_intp _ac_n, const double *_ac_in0, double *_ac_out0)
{
    #pragma omp simd
    for (npy_intp _ac_i = 0; _ac_i < _ac_n; _ac_i++) {
        const double _ac_x0 = _ac_in0[_ac_i];
        _ac_out0[_ac_i] = sqrt(_ac_x0) + 1.0;
    }
}

A body that calls libmvec (``exp``, ``sin``, ...) runs it as ``_ac_vec_<c>`` on blocks
of 1024 elements and reruns a block that raised a floating-point flag through a scalar
copy, for the flags only (:func:`_flag_exact`).
"""
from __future__ import annotations

import ctypes.util
import functools
import platform
from dataclasses import dataclass

import sympy as sp

from ..dtypes import DType
from ..errors import VerifyError
from ..lower.ir import Buffer, Kernel, Let, Loop, LoopKind, Role
from ..lower.schedule import _values
from ..lower.printing import CFamilyPrinter
from . import parts
from .branches import Group, Select, plan_branches
from .scipy_calls import imports_line, scipy_parts

__all__ = ["Source", "CPrinter", "render_block", "render_loop", "render_kernel_files",
           "render_ufunc_module", "render_float32_module", "has_libmvec"]

_BUFSIZE = 8192  # NumPy's default buffer size, in elements
# Loop bodies longer than this compile at -O1 (see _opt_flags), in the order a part has
# (cpu/parts.py: long sums as partial sums, values computed just before their first
# reader): with few values live, gcc takes 20% less time, the loop 15% (a 100-term sum
# with its gradient; the same bits).
O1_STATEMENTS = 100
# Loop bodies longer than this become part functions (cpu/parts.py).  Only very long
# ones: values crossing parts cost loads and stores (a 360-statement body cut at 100
# measured up to 1.3x slower under load), and below this gcc's time is modest anyway.
SPLIT_STATEMENTS = 1000
PARTS_PER_FILE = 2     # part functions per C file (the files compile in parallel)
# Bodies longer than this build their float32 loop on first use (ac.compile(lazy=)).
LAZY_STATEMENTS = 1000
_QUIET_COMPARISONS = {">": "_ac_gt", ">=": "_ac_ge", "<": "_ac_lt", "<=": "_ac_le"}


@dataclass(frozen=True)
class Source:
    """A generated library: its main C file, the other C files, what it links against."""

    text: str
    libraries: tuple = ("m",)
    # (name, C text, extra compiler flags): compiled separately (in parallel), linked in
    c_files: tuple = ()
    main_flags: tuple = ()   # extra compiler flags for the main file

    @property
    def listing(self) -> str:
        """The main file and every other C file, as one text."""
        parts = [self.text] + [f"/* ---- {name}.c {' '.join(flags)} ---- */\n{text}"
                               for name, text, flags in self.c_files]
        return "\n".join(parts)


@functools.lru_cache(maxsize=None)
def has_libmvec() -> bool:
    """glibc's vector math library is available (x86-64 Linux)."""
    return platform.machine() in ("x86_64", "AMD64") and ctypes.util.find_library("mvec") is not None


class CPrinter(CFamilyPrinter):
    """C for the CPU: quiet comparisons, and array access at an optional block offset."""

    _default_settings = dict(CFamilyPrinter._default_settings, offset="")

    def _print_Indexed(self, expr):
        (index,) = expr.indices
        return f"{expr.base.name}[{self._settings['offset']}{self._print_index(index)}]"

    def _print_Relational(self, expr):
        # C's `x > 0` raises the invalid flag when x is NaN (NumPy then warns);
        # NumPy's comparisons are quiet, and so are the header's _ac_gt & co.
        # (which, unlike C's isgreater, stay quiet when gcc vectorises them).
        quiet = _QUIET_COMPARISONS.get(expr.rel_op)
        if quiet is None:  # == and != are quiet already
            return super()._print_Relational(expr)
        suffix = "f" if self.dtype is DType.FLOAT32 else ""
        return f"{quiet}{suffix}({self._print(expr.lhs)}, {self._print(expr.rhs)})"


def _buffers(kernel: Kernel):
    return [p for p in kernel.params if isinstance(p, Buffer)]


def _loop(kernel: Kernel) -> Loop:
    """The elementwise loop: the last statement, after loop-invariant ``Let``s."""
    *prelude, loop = kernel.body
    if not isinstance(loop, Loop) or loop.kind is not LoopKind.PARALLEL or any(
            not isinstance(s, Let) for s in prelude):
        raise VerifyError("render_block expects an elementwise kernel: hoisted lets, then "
                          "one parallel loop")
    return loop


def _block_name(sym) -> str:
    return "_ac_b" + sym.name.removeprefix("_ac")


def _rep_name(sym) -> str:
    return "_ac_r" + sym.name.removeprefix("_ac")


def _sel_name(sym) -> str:
    return "_ac_sel" + sym.name.removeprefix("_ac")


def render_block(kernel: Kernel, printer: CPrinter, parts_out: list | None = None) -> list:
    """``_ac_block_<c>(n, in..., out...)``: the loop body over ``n`` contiguous elements.

    This is the only copy of the formula in the module (per dtype): every
    stride path calls it, and ``noinline`` keeps the compiler from optimising
    it once per call site.  Without branches it is one ``omp simd`` loop; with
    ``Piecewise`` it is the block passes of :mod:`algebrac.cpu.branches`, or a
    scalar loop when the branches have no vectorisable shape.  A long body calls
    part functions; with ``parts_out`` (a list) they are appended to it, one list
    of lines each, for other C files, and only declared here.
    """
    loop, dtype = _loop(kernel), kernel.params[0].dtype
    t = dtype.c_name
    params = ", ".join(
        f"const {t} *{b.name}" if b.role is Role.IN else f"{t} *{b.name}"
        for b in _buffers(kernel))
    lines = [f"static void __attribute__((noinline)) _ac_block_{dtype.char}"
             f"(const npy_intp _ac_n, {params})", "{"]
    for stmt in kernel.body[:-1]:  # loop-invariant work: once per call
        lines += printer.statement(stmt, 1)
    i = printer._print(loop.index)
    header = f"for (npy_intp {i} = 0; {i} < _ac_n; {i}++)"
    plan = plan_branches(loop.body, dtype) if _has_branches(loop) else None
    if plan is not None:
        lines += _render_plan(plan, printer, loop.index)
    else:
        # A branchy body without a vectorisable shape stays scalar: with simd the
        # untaken side would run (and raise flags) on every lane.
        pragma = "" if _has_branches(loop) else "#pragma omp simd"
        if len(loop.body) > SPLIT_STATEMENTS:
            return _render_parts(kernel, printer, params, pragma, parts_out)
        if len(loop.body) > O1_STATEMENTS:   # one part: the order, not the cut
            part, pad = parts.split(loop.body, printer, None, size=1 << 30, terms=8).parts[0], "    "
            lines += [pad + pragma, f"{pad}{header} {{", *(pad * 2 + x for x in part.lines), pad + "}"]
        else:
            lines += printer.block(header, loop.body, 1, pragma)
    lines.append("}")
    vector = has_libmvec() and _simd_declarations([printer])
    return _flag_exact(kernel, printer, lines, params, header) if vector else lines


def _flag_exact(kernel: Kernel, printer: CPrinter, vector: list, params: str, header) -> list:
    """libmvec raises flags NumPy does not (invalid at exp(+-inf), overflow at sin(1e308)):
    a block of ``_AC_CHECK`` elements whose vector run (``vector``, as ``_ac_vec_<c>``) raised
    one reruns through a scalar copy, for libm's (NumPy's) flags; values stay the vector's."""
    loop, c, bufs, pad = _loop(kernel), kernel.params[0].dtype.char, _buffers(kernel), "    "
    # A printer of its own: the copy's branches would mark the vector run's calls
    # conditional (no simd), and block passes leave an offset in the printer they used.
    scalar = CPrinter({"dtype": printer.dtype})
    opt = "no-tree-vectorize" if len(loop.body) <= O1_STATEMENTS else "O0"  # runs rarely
    one = [f'static void __attribute__((noinline, optimize("{opt}"))) _ac_one_{c}'
           f"(const npy_intp _ac_n, {params})", "{",
           *[x for stmt in kernel.body[:-1] for x in scalar.statement(stmt, 1)],
           *scalar.block(header, loop.body, 1), "}"]
    at, ins = [f"{b.name} + _ac_s" for b in bufs], [b.role is Role.IN for b in bufs]
    # An output written over an input (out=x): the rerun reads a copy of the input block.
    alias = " || ".join(f"((const char *){o.name} < (const char *)({n.name} + _ac_n) && (const "
                        f"char *){n.name} < (const char *)({o.name} + _ac_n))" for o in bufs
                        for n in bufs if o.role is Role.OUT and n.role is Role.IN) or "0"
    t, keep = printer.ctype(printer.dtype), [f"_ac_keep[{j}]" for j in range(sum(ins))]
    rerun = [f"_ac_alias ? {keep.pop(0)} : {a}" if i else "_ac_junk" for a, i in zip(at, ins)]
    return [vector[0].replace(f"_ac_block_{c}", f"_ac_vec_{c}"), *vector[1:], *one,
            f"static void __attribute__((noinline)) _ac_block_{c}(const npy_intp _ac_n, {params})",
            "{", f"{pad}const int _ac_alias = {alias};",
            f"{pad}for (npy_intp _ac_s = 0; _ac_s < _ac_n; _ac_s += _AC_CHECK) {{",
            f"{pad * 2}const npy_intp _ac_m = _ac_n - _ac_s < _AC_CHECK ? _ac_n - _ac_s : _AC_CHECK;",
            f"{pad * 2}{t} _ac_keep[_ac_alias ? {sum(ins)} : 1][_AC_CHECK], _ac_junk[_AC_CHECK];",
            f"{pad * 2}if (_ac_alias) {{ " + " ".join(
                f"__builtin_memcpy(_ac_keep[{j}], {a}, _ac_m * sizeof({t}));"
                for j, a in enumerate(a for a, i in zip(at, ins) if i)) + " }",
            f"{pad * 2}const unsigned _ac_had = _ac_flags_take();",
            f"{pad * 2}_ac_vec_{c}(_ac_m, {', '.join(at)});",
            f"{pad * 2}if (_ac_flags_take()) _ac_one_{c}(_ac_m, {', '.join(rerun)});",
            f"{pad * 2}_ac_flags_put(_ac_had);", pad + "}", "}"]


def _render_parts(kernel: Kernel, printer: CPrinter, params: str, pragma: str,
                  parts_out: list | None) -> list:
    """A long body as ``noinline`` part functions (:mod:`algebrac.cpu.parts`), each a
    loop over a sub-block of ``_AC_PART`` elements; values that cross parts go
    through a scratch array of ``_AC_PART`` elements per slot."""
    loop, c = _loop(kernel), kernel.params[0].dtype.char
    t, pad = printer.ctype(printer.dtype), printer.indent_unit
    i = printer._print(loop.index)
    # Half the vector function's part size: gcc's time per statement grows with the
    # part, and vector code sooner (sum 800: 6.5 s of gcc CPU at 150, 8.0 s at 300,
    # the same run time).
    plan = parts.split(loop.body, printer, lambda k: f"_ac_w[{k}*_AC_PART + {i}]",
                       size=parts.PART_STATEMENTS // 2)
    prelude = {s.symbol: s for s in kernel.body[:-1]}
    names = [b.name for b in _buffers(kernel)]
    scratch = f"{t} *_ac_w" if plan.slots else ""
    lines = []
    for k, part in enumerate(plan.parts):
        # The hoisted loop-invariant lets this part reads (and those they read).
        need, todo = set(), [s for s in part.symbols if s in prelude]
        while todo:
            s = todo.pop()
            if s not in need:
                need.add(s)
                todo += [u for u in prelude[s].value.free_symbols if u in prelude]
        head = (f"void __attribute__((noinline)) _ac_part_{c}{k}"
                f"(const npy_intp _ac_m, {params}{', ' if scratch else ''}{scratch})")
        fn = [(_HIDDEN if parts_out is not None else "static ") + head, "{"]
        for s in kernel.body[:-1]:
            if s.symbol in need:
                fn += printer.statement(s, 1)
        fn += [pad + pragma] if pragma else []
        fn += [f"{pad}for (npy_intp {i} = 0; {i} < _ac_m; {i}++) {{"]
        fn += [pad * 2 + x for x in part.lines] + [pad + "}", "}"]
        if parts_out is None:
            lines += fn
        else:
            parts_out.append(fn)
            lines.append(_HIDDEN + head + ";")
    calls = ", ".join([f"{n} + _ac_s" for n in names] + (["_ac_w"] if plan.slots else []))
    lines += [f"static void __attribute__((noinline)) _ac_block_{c}"
              f"(const npy_intp _ac_n, {params})", "{"]
    if plan.slots:
        lines += [f"{pad}{t} _ac_w[{plan.slots}*_AC_PART] __attribute__((aligned(64)));"]
    lines += [f"{pad}for (npy_intp _ac_s = 0; _ac_s < _ac_n; _ac_s += _AC_PART) {{",
              f"{pad * 2}const npy_intp _ac_m = _ac_n - _ac_s < _AC_PART ? _ac_n - _ac_s "
              ": _AC_PART;"]
    lines += [f"{pad * 2}_ac_part_{c}{k}(_ac_m, {calls});" for k in range(len(plan.parts))]
    return lines + [pad + "}", "}"]


def _render_plan(plan, printer: CPrinter, loop_index) -> list:
    """The passes of a branch plan over sub-blocks of ``_AC_BLOCK`` lanes."""
    pad, i = printer.indent_unit, printer._print(loop_index)
    printer._settings["offset"] = "_ac_s + "
    ctype = {s: printer.ctype(d) for s, d in plan.dtypes.items()}
    loop = f"for (npy_intp {i} = 0; {i} < _ac_m; {i}++)"
    lines = [f"{pad}for (npy_intp _ac_s = 0; _ac_s < _ac_n; _ac_s += _AC_BLOCK) {{",
             f"{pad * 2}const npy_intp _ac_m = _ac_n - _ac_s < _AC_BLOCK ? _ac_n - _ac_s "
             ": _AC_BLOCK;"]
    # A branch variable is never stored: whoever reads it selects among the
    # branches' values (a blend), so no pass merges them into one array.
    selects = {st.symbol: st for st in plan.steps if isinstance(st, Select)}
    lines += [f"{pad * 2}{ctype[s]} {_block_name(s)}[_AC_BLOCK];"
              for s in sorted(plan.stored - set(selects), key=lambda s: s.name)]
    body = []

    def element(s, at: str) -> str:
        if s in plan.loads:
            return printer._print(plan.loads[s].xreplace({loop_index: sp.Symbol(at)}))
        if s in selects:
            pick = "NAN"  # no condition holds
            for k, (value, cond) in reversed(list(enumerate(selects[s].piecewise.args))):
                if value.is_Symbol or value.is_Number:
                    value = element(value, at) if value.is_Symbol else printer._print(value)
                else:
                    value = f"{_block_name(s)}_v{k}[{at}]"
                pick = (value if cond == sp.true
                        else f"({_sel_name(s)}[{at}] == {k} ? {value} : {pick})")
            return pick
        return f"{_block_name(s)}[{at}]"

    def needed(symbols):
        return sorted(symbols & (plan.stored | set(plan.loads)), key=lambda s: s.name)

    def loads(symbols, rep: str = ""):
        out = []
        for s in needed(symbols):
            value = element(s, i)
            if rep:
                value = f"{rep} ? {value} : {_rep_name(s)}"
            out.append(f"const {ctype[s]} {s.name} = {value};")
        return out

    def simd(stmts):
        body.extend(["#pragma omp simd", loop + " {"] + [pad + x for x in stmts] + ["}"])

    for step in plan.steps:
        if isinstance(step, Group):
            defined = {s.symbol for s in step.stmts if isinstance(s, Let)}
            used = set().union(*(s.value.free_symbols for s in step.stmts))
            stmts = loads(used - defined)
            for s in step.stmts:
                stmts += [x.strip() for x in printer.statement(s, 0)]
            stmts += [f"{_block_name(s)}[{i}] = {s.name};"
                      for s in sorted(defined & plan.stored, key=lambda s: s.name)]
            simd(stmts)
            continue
        pw, sel = step.piecewise, _sel_name(step.symbol)
        conds = [c for _, c in pw.args]
        pick = str(len(conds) - 1 if conds[-1] == sp.true else len(conds))  # NaN if none
        for k in reversed(range(len(conds))):
            if conds[k] != sp.true:
                pick = f"{printer._print(conds[k])} ? {k} : ({pick})"
        # The lane index as wide as the float, so mask and values share one vector.
        wide = "int64_t" if printer.dtype is DType.FLOAT64 else "int32_t"
        lines.append(f"{pad * 2}{wide} {sel}[_AC_BLOCK];")
        simd(loads(set().union(*(c.free_symbols for c in conds))) + [f"{sel}[{i}] = {pick};"])
        for k, (value, _) in enumerate(pw.args):
            if value.is_Symbol or value.is_Number:  # read in place by the select
                continue
            # The branch runs in every lane; lanes that do not take it compute on
            # the inputs of one that does, so no flag is raised that the taken
            # lanes do not raise.  Its own array keeps the calls out of the select
            # (gcc would sink them into a branch); a branch no lane takes leaves
            # its array unwritten and the select never reads it.
            val = f"{_block_name(step.symbol)}_v{k}"
            lines.append(f"{pad * 2}{printer.ctype(printer.dtype)} {val}[_AC_BLOCK];")
            body += [f"for (_ac_rep = 0; _ac_rep < _ac_m && {sel}[_ac_rep] != {k}; "
                     "_ac_rep++) {}",
                     "if (_ac_rep < _ac_m) {"]
            body += [f"{pad}const {ctype[s]} {_rep_name(s)} = {element(s, '_ac_rep')};"
                     for s in needed(value.free_symbols)]
            pass_ = loads(value.free_symbols, f"{sel}[{i}] == {k}")
            pass_.append(f"{val}[{i}] = {printer._print(value)};")
            body += [pad + x for x in ["#pragma omp simd", loop + " {"]
                     + [pad + x for x in pass_] + ["}"]]
            body.append("}")
    if "_ac_rep" in "".join(body):
        lines.append(f"{pad * 2}npy_intp _ac_rep;")
    lines += [pad * 2 + x for x in body]
    printer._settings["offset"] = ""
    return lines + [pad + "}"]


def _has_branches(loop: Loop) -> bool:
    return any(v.has(sp.Piecewise) for v in _values(loop.body))


def render_loop(kernel: Kernel, *, cutoff: int = 32768) -> str:
    """The ufunc inner loop for one kernel: it calls ``_ac_block_<c>`` on each thread's
    share of contiguous arrays, and on blocks gathered from strided ones."""
    dtype = kernel.params[0].dtype
    t, c = dtype.c_name, dtype.char
    bufs = _buffers(kernel)
    unit = " && ".join(f"steps[{k}] == sizeof({t})" for k in range(len(bufs)))
    contiguous = ", ".join(
        f"({'const ' if b.role is Role.IN else ''}{t} *)args[{k}] + _ac_lo"
        for k, b in enumerate(bufs))
    views, scatter = [], []
    for k, b in enumerate(bufs):
        at = f"args[{k}] + _ac_j*steps[{k}]"
        if b.role is Role.IN:
            views.append(f"_ac_gather_{c}({at}, steps[{k}], _ac_m, _ac_buf[{k}])")
        else:
            views.append(f"_ac_view_{c}({at}, steps[{k}], _ac_buf[{k}])")
            scatter.append(f"if (steps[{k}] != sizeof({t})) "
                           f"_ac_scatter_{c}({at}, steps[{k}], _ac_m, _ac_buf[{k}]);")
    pad = " " * 12
    lines = [
        f"static void _ac_loop_{c}"
        "(char **args, npy_intp const *dims, npy_intp const *steps, void *data)",
        "{",
        "    const npy_intp _ac_n = dims[0];",
        "    int _ac_fpe = 0;",
        "    (void)data;",
        # Threads each have their own floating-point status flags; NumPy reads only
        # the calling thread's, so workers hand theirs to a reduction raised below.
        f"    #pragma omp parallel if(_ac_n > {cutoff}) num_threads(_ac_nthreads()) "
        "reduction(|:_ac_fpe)",
        "    {",
        "        const int _ac_worker = omp_get_thread_num() != 0;",
        "        if (_ac_worker) feclearexcept(_AC_FE_FLAGS);",
        f"        if ({unit}) {{",
        "            npy_intp _ac_lo, _ac_hi;",
        "            _ac_share(_ac_n, &_ac_lo, &_ac_hi);",
        f"            if (_ac_hi > _ac_lo) _ac_block_{c}(_ac_hi - _ac_lo, {contiguous});",
        "        } else {",
        # Views (broadcast rows, transposes, casts) go through small contiguous
        # blocks, so the one vectorised body serves every layout.
        f"            {t} _ac_buf[{len(bufs)}][_AC_BLOCK];",
        "            #pragma omp for schedule(static)",
        "            for (npy_intp _ac_j = 0; _ac_j < _ac_n; _ac_j += _AC_BLOCK) {",
        f"{pad}    const npy_intp _ac_m = _ac_n - _ac_j < _AC_BLOCK ? _ac_n - _ac_j "
        ": _AC_BLOCK;",
        f"{pad}    _ac_block_{c}(_ac_m, {', '.join(views)});",
        *[f"{pad}    {x}" for x in scatter],
        f"{pad}}}",
        "        }",
        "        if (_ac_worker) _ac_fpe |= fetestexcept(_AC_FE_FLAGS);",
        "    }",
        "    if (_ac_fpe) feraiseexcept(_ac_fpe);",
        "}",
    ]
    return "\n".join(lines)


# Helpers shared by every dtype's loop: a thread's share of a contiguous range
# (rounded to 64 elements so each share starts on a cache line), and the
# gather/scatter between a strided view and a contiguous block.
_PRELUDE = r"""#define _AC_BLOCK 256
#define _AC_PART 64
#define _AC_CHECK 1024
/* Take (read, clear) and put back the flags of vector code (_flag_exact, with libmvec:
   x86-64): invalid, divide, overflow, underflow in MXCSR, written only if need be (slow). */
#if defined(__SSE__)
#include <xmmintrin.h>
static inline unsigned _ac_flags_take(void)
{ const unsigned c = _mm_getcsr(); if (c & 0x1du) _mm_setcsr(c & ~0x1du); return c & 0x1du; }
static inline void _ac_flags_put(unsigned f) { if (f) _mm_setcsr(_mm_getcsr() | f); }
#endif
static inline void _ac_share(npy_intp n, npy_intp *lo, npy_intp *hi)
{
    const npy_intp nt = omp_get_num_threads(), t = omp_get_thread_num();
    const npy_intp per = ((n + nt - 1) / nt + 63) & ~(npy_intp)63;
    *lo = t * per < n ? t * per : n;
    *hi = *lo + per < n ? *lo + per : n;
}
#define _AC_VIEWS(T, C) \
static inline const T *_ac_gather_##C(const char *p, npy_intp s, npy_intp m, T *buf) \
{ \
    if (s == sizeof(T)) return (const T *)p; \
    for (npy_intp k = 0; k < m; k++) buf[k] = *(const T *)(p + k*s); \
    return buf; \
} \
static inline T *_ac_view_##C(char *p, npy_intp s, T *buf) \
{ \
    return s == sizeof(T) ? (T *)p : buf; \
} \
static inline void _ac_scatter_##C(char *p, npy_intp s, npy_intp m, const T *buf) \
{ \
    for (npy_intp k = 0; k < m; k++) *(T *)(p + k*s) = buf[k]; \
}
_AC_VIEWS(float, f)
_AC_VIEWS(double, d)"""


def _cost(kernel: Kernel) -> int:
    """Rough work per element: a call counts 20 operations."""
    total = 0
    for node in sp.preorder_traversal(sp.Tuple(*_values(kernel.body))):
        if isinstance(node, sp.Function):
            total += 20
        elif node.args:
            total += 1
    return max(total, 1)


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


# Loop and part files need no Python or NumPy header (parsing them costs gcc 80 ms a
# file); npy_intp is NumPy's intptr_t.
_C_HEADER = ["#include <math.h>", "#include <fenv.h>", "#include <omp.h>",
             "#define _AC_FE_FLAGS (FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW | FE_INVALID)"]
_LOOP_HEADER = ["#include <stddef.h>", "#include <stdint.h>", *_C_HEADER, "typedef intptr_t npy_intp;"]
_HEADER = ["#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION", "#include <Python.h>", *_C_HEADER,
           "#include <numpy/ndarraytypes.h>"]
# The main file only registers loops: -O1 is plenty.
MAIN_FLAGS = ("-O1",)
_LOOP_ARGS = "(char **args, npy_intp const *dims, npy_intp const *steps, void *data)"
_HIDDEN = '__attribute__((visibility("hidden"))) '  # shared by the library's files only
_GENERATED = "/* Generated by algebrac. Every identifier is algebrac's own (_ac_ prefix). */"


def render_kernel_files(kernel: Kernel, standin: bool = False) -> tuple:
    """One dtype's C files, with the flags they compile with, and the SciPy function
    rows they call: ``loop_<c>`` (the block function and the ufunc inner loop),
    preceded by ``parts_<c><k>`` files of at most :data:`PARTS_PER_FILE` part functions
    each when the body is split.

    The files compile in parallel; the loop and the parts are hidden
    (module-internal) symbols.  ``standin`` adds the float32 stand-in loop of a
    module whose float32 loop is built on first use (:func:`render_float32_module`).
    """
    # Threads pay off above ~20 us of work per call.  Never at or below NumPy's
    # buffer size (8192): inputs that need a cast arrive in 8192-element chunks,
    # and a parallel region per chunk costs a scheduler slice each when the
    # machine is busy (seconds for 1e7 elements).
    cutoff = max(_BUFSIZE, min(1 << 17, 100000 // _cost(kernel)))
    p, parts_out = CPrinter({"dtype": kernel.params[0].dtype}), []
    block = render_block(kernel, p, parts_out)
    loop = render_loop(kernel, cutoff=cutoff).replace("static void _ac_loop_",
                                                      _HIDDEN + "void _ac_loop_", 1)
    simd = _simd_declarations([p]) if has_libmvec() else []
    rows = set(p.used_scipy.values())
    sf_c = scipy_parts(rows)[0]
    head = [_GENERATED, *_LOOP_HEADER, '#include "algebrac_math.h"', '#include "algebrac_threads.h"', *sf_c,
            *simd, _PRELUDE]
    c, flags = kernel.params[0].dtype.char, _opt_flags(kernel)
    nfiles = -(-len(parts_out) // PARTS_PER_FILE)  # parts spread evenly over the files
    files = [(f"parts_{c}{f}", "\n".join(head + [line for k, fn in enumerate(parts_out)
                                                 if k * nfiles // len(parts_out) == f
                                                 for line in fn] + [""]), flags)
             for f in range(nfiles)]
    tail = [_standin_loop(kernel)] if standin else []
    files.append((f"loop_{c}", "\n".join(head + block + [loop, *tail, ""]), flags))
    return files, rows


def _standin_loop(kernel: Kernel) -> str:
    """The float32 loop of a module whose real one is built on first use: it calls the
    real loop once its module has set ``_ac_loop_f_ptr``; called before (the raw
    ``numpy.ufunc`` used directly), it computes in float64 on one thread and rounds
    once, so the answer is right, only slower."""
    bufs = _buffers(kernel)
    nin = sum(b.role is Role.IN for b in bufs)
    at = "(args[{k}] + (_ac_j + _ac_e)*steps[{k}])"
    loads = [f"        for (npy_intp _ac_e = 0; _ac_e < _ac_m; _ac_e++) _ac_buf[{k}][_ac_e] = "
             f"*(const float *){at.format(k=k)};" for k in range(nin)]
    stores = [f"        for (npy_intp _ac_e = 0; _ac_e < _ac_m; _ac_e++) *(float *)"
              f"{at.format(k=k)} = (float)_ac_buf[{k}][_ac_e];" for k in range(nin, len(bufs))]
    args = ", ".join(f"_ac_buf[{k}]" for k in range(len(bufs)))
    return "\n".join([
        f"typedef void (*_ac_loop_t){_LOOP_ARGS};",
        _HIDDEN + "_ac_loop_t _ac_loop_f_ptr = NULL;",
        f"{_HIDDEN}void _ac_loop_f{_LOOP_ARGS}",
        "{",
        "    const _ac_loop_t _ac_real = __atomic_load_n(&_ac_loop_f_ptr, __ATOMIC_ACQUIRE);",
        "    if (_ac_real) { _ac_real(args, dims, steps, data); return; }",
        f"    double _ac_buf[{len(bufs)}][_AC_BLOCK];",
        "    for (npy_intp _ac_j = 0; _ac_j < dims[0]; _ac_j += _AC_BLOCK) {",
        "        const npy_intp _ac_m = dims[0] - _ac_j < _AC_BLOCK ? dims[0] - _ac_j "
        ": _AC_BLOCK;",
        *loads, f"        _ac_block_d(_ac_m, {args});", *stores,
        "    }",
        "}"])


def _opt_flags(kernel: Kernel) -> tuple:
    """``-O1`` for long loop bodies: both vectorise (``omp simd``), and register pressure,
    not optimisation, bounds them (benchmarks/README.md, issue 14: gcc -25 to -30%, the
    same run time).  Bodies of up to 100 statements (every benchmark row) keep -O3."""
    return ("-O1",) if len(_loop(kernel).body) > O1_STATEMENTS else ()


def main_head(imports, numpy: bool = True) -> list:
    """The first lines of a library's main file (:mod:`algebrac.cpu.native`): headers,
    the shared pointers defined, ``_ac_imports`` (``imports``: lines of
    :func:`~algebrac.cpu.scipy_calls.scipy_parts`, or BLAS)."""
    return [_GENERATED, *_HEADER, *(["#include <numpy/ufuncobject.h>"] if numpy else []),
            "#define ALGEBRAC_THREADS_DEFINE", '#include "algebrac_threads.h"',
            imports_line(imports)]


def _registration(kernels: list, rows: set) -> list:
    """What a ufunc library's and a float32 library's main files share: headers, the
    shared pointers and the loops declared."""
    sf_c, imports = scipy_parts(rows)
    return [*main_head(imports), *[line for line in sf_c if line.startswith("_AC_SHARED")],
            *[f"void _ac_loop_{k.params[0].dtype.char}{_LOOP_ARGS};" for k in kernels]]


def ufunc_maker(types: list, nin: int, nout: int, signature: str | None = None) -> list:
    """C lines after ``_ac_funcs`` (the loops; ``types``: each loop's operand types) that
    define ``_ac_make_ufunc(name)``, or with a gufunc ``signature`` ``_ac_make_gufunc``."""
    args = (f"_ac_funcs, _ac_data, _ac_types, {len(types)}, {nin}, {nout}, PyUFunc_None, "
            'name, "Compiled by algebrac.", 0')
    make = (f"PyUFunc_FromFuncAndData({args})" if signature is None else
            f'PyUFunc_FromFuncAndDataAndSignature({args}, "{signature}")')
    return [f"static void *_ac_data[{len(types)}];",
            f"static char _ac_types[] = {{{', '.join(t for row in types for t in row)}}};",
            f"_AC_EXPORT PyObject *_ac_make_{'g' if signature else ''}ufunc(const char *name)",
            "{",
            "    if (PyArray_ImportNumPyAPI() < 0 || PyUFunc_ImportUFuncAPI() < 0) return NULL;",
            f"    return {make};",
            "}"]


def render_ufunc_module(kernels: list, nin: int, nout: int, lazy: bool = False) -> Source:
    """The library that makes the compiled ufunc: a main file that registers the
    loops, and C files per dtype (:func:`render_kernel_files`).

    ``kernels`` holds one elementwise kernel per loop dtype, in NumPy's
    resolution order (float32 first, so float32 inputs stay float32).
    ``_ac_make_ufunc(name)`` gives a ufunc over the same loops under a name (not
    in the source, so formulas that render alike share a library); more operands
    than a ufunc takes (NPY_MAXARGS) leave it out, and Python calls ``_ac_run``.
    ``lazy`` leaves the float32 kernel of a body over :data:`LAZY_STATEMENTS` out: a
    stand-in loop takes its place until ``_ac_set_loop_f`` hands it the real one
    (the ``_ac_loop_f`` of :func:`render_float32_module`'s library).
    """
    lazy = lazy and len(kernels) == 2 and len(_loop(kernels[1]).body) > LAZY_STATEMENTS
    files, rows = [], set()
    for k in kernels[1:] if lazy else kernels:
        more, used = render_kernel_files(k, standin=lazy)
        files += more
        rows |= used
    c = _registration(kernels, rows)
    types = [[k.params[0].dtype.npy_type] * (nin + nout) for k in kernels]
    c += [
        f"static PyUFuncGenericFunction _ac_funcs[] = "
        f"{{{', '.join(f'_ac_loop_{k.params[0].dtype.char}' for k in kernels)}}};",
        # Python calls the loop itself on flat arrays; it returns the FP flags in NumPy's
        # order (divide, over, under, invalid).
        "_AC_EXPORT int _ac_run(int k, char **args, npy_intp n, npy_intp *steps)",
        "{",
        "    feclearexcept(_AC_FE_FLAGS);",
        "    _ac_funcs[k](args, &n, steps, NULL);",
        "    return (fetestexcept(FE_DIVBYZERO) ? 1 : 0) | (fetestexcept(FE_OVERFLOW) ? 2 : 0)"
        " | (fetestexcept(FE_UNDERFLOW) ? 4 : 0) | (fetestexcept(FE_INVALID) ? 8 : 0);",
        "}",
    ]
    if nin + nout <= 64:  # NumPy refuses a ufunc of more operands (NPY_MAXARGS)
        c += ufunc_maker(types, nin, nout)
    if lazy:
        c += [f"typedef void (*_ac_loop_t){_LOOP_ARGS};",
              "extern _ac_loop_t _ac_loop_f_ptr;",
              "_AC_EXPORT void _ac_set_loop_f(void *loop)",
              "{ __atomic_store_n(&_ac_loop_f_ptr, (_ac_loop_t)loop, __ATOMIC_RELEASE); }"]
    return Source("\n".join(c) + "\n", _libraries(), tuple(files), MAIN_FLAGS)


def render_float32_module(kernel: Kernel) -> Source:
    """The float32 loop of a lazy library (:func:`render_ufunc_module`) as a library of
    its own, whose exported ``_ac_loop_f`` goes to ``_ac_set_loop_f``."""
    files, rows = render_kernel_files(kernel)
    files = [(n, t.replace(_HIDDEN + "void _ac_loop_f", "_AC_EXPORT void _ac_loop_f"), fl)
             for n, t, fl in files]
    return Source("\n".join(_registration([kernel], rows)) + "\n", _libraries(),
                  tuple(files), MAIN_FLAGS)


def _libraries() -> tuple:
    return ("mvec", "m") if has_libmvec() else ("m",)
