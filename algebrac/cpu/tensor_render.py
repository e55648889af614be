"""Render tensor kernels (loop nests) as a C library that makes a NumPy gufunc.

One C function per loop dtype computes the whole program for one set of core
arrays; the gufunc's inner loop calls it once per batch element, so NumPy
does broadcasting over leading axes, casting and ``out=``.  Every input and
output is addressed through its element strides (views, negative strides and
Fortran order need no copy); temporaries are contiguous and live in one scratch
block, which the module keeps for its next call (see ``KEEP``).

Parallel loops run in one OpenMP region: reductions over the parallel index
accumulate into per-thread partials that are combined in thread order after
the loop, so with a fixed thread count results are deterministic, and worker
threads hand their floating-point flags to the caller.  ``gemm`` calls go to
``scipy.linalg.cython_blas`` (no link-time BLAS); an operand whose rows are not
unit-stride is copied to a contiguous scratch matrix first.
"""
from __future__ import annotations

import sympy as sp

from ..dtypes import DType
from ..errors import UnsupportedError
from ..lower.ir import Buffer, Call, Kernel, Loop, LoopKind, Role
from ..lower.printing import NestPrinter
from ..lower.printing import stride_name as _stride
from ..lower.schedule import _values, _walk, reductions_of
from .render import (_GENERATED, _HEADER, _HIDDEN, _LOOP_ARGS, MAIN_FLAGS, CPrinter, Source,
                     _libraries, _simd_declarations, has_libmvec, main_head, ufunc_maker)
from .scipy_calls import scipy_parts

__all__ = ["TensorPrinter", "render_tensor_module", "gufunc_signature", "CUTOFF"]

CUTOFF = 32768  # iterations x inner work below which a parallel loop stays on one thread
_BLAS_TYPES = {
    "d": "typedef void (*_ac_gemm_d_t)(char *, char *, int *, int *, int *, double *, "
         "double *, int *, double *, int *, double *, double *, int *);",
    "s": "typedef void (*_ac_gemm_s_t)(char *, char *, int *, int *, int *, float *, "
         "float *, int *, float *, int *, float *, float *, int *);",
}


_PROG_HEAD = [_GENERATED, *_HEADER, "#include <stdlib.h>", '#include "algebrac_math.h"',
              '#include "algebrac_threads.h"']
# Scratch memory.  Arrays of 4 MiB and more are 2 MiB-aligned and ask for transparent huge
# pages, as NumPy does for its own data: a fresh 8 MB buffer then costs 4 page faults, not
# 2048 (four 8 MB buffers first written: 31 ms with malloc, 2.9 ms so, 0.9 ms reused, on
# this machine).  A kernel's temporaries live in one block, and the module keeps the last
# block (up to KEEP bytes) for the next call, which then writes memory already mapped.
# The kept block is taken and given back with an atomic exchange: calls running at once
# in several threads each get a block of their own.
KEEP = 256 << 20
_SCRATCH = f"""\
#include <sys/mman.h>
static void *_ac_scratch(size_t n)
{{
    void *p = NULL;
    if (n < ((size_t)4 << 20)) return malloc(n > 0 ? n : 1);
    if (posix_memalign(&p, (size_t)2 << 20, n) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}}
typedef struct {{ void *p; size_t n; }} _ac_block;
static _ac_block *_ac_kept = NULL;
static void _ac_drop(_ac_block *b) {{ if (b) {{ free(b->p); free(b); }} }}
static _ac_block *_ac_take(size_t n)
{{
    _ac_block *b = __atomic_exchange_n(&_ac_kept, NULL, __ATOMIC_ACQ_REL);
    if (b && b->n >= n) return b;
    _ac_drop(b);
    b = (_ac_block *)malloc(sizeof(_ac_block));
    if (b == NULL) return NULL;
    b->n = n;
    b->p = _ac_scratch(n);
    if (b->p == NULL) {{ free(b); return NULL; }}
    return b;
}}
static void _ac_give(_ac_block *b)
{{
    if (b == NULL) return;
    if (b->n > (size_t){KEEP}ULL) {{ _ac_drop(b); return; }}
    _ac_drop(__atomic_exchange_n(&_ac_kept, b, __ATOMIC_ACQ_REL));
}}"""


# gemm at call time.  A product of at least GEMM_SPLIT multiply-adds runs on the kernel's
# own threads: each takes a block of the contraction (when it is GEMM_DEEP times longer
# than C's sides) or of C's rows or columns (blocks start at multiples of 8 elements, one
# cache line of doubles), and calls the BLAS with its thread count held to one
# (algebrac._kernels).  Letting the BLAS start its own threads instead makes two pools
# share the cores, and libgomp's workers spin after each of our parallel regions exactly
# while OpenBLAS's want the CPUs: MLP forward+backward on 2 cores took 35 ms so, 16 ms
# split.  A BLAS whose thread count cannot be held runs as it likes.  A deep product (a
# gradient Xᵀ G over a batch) splits the contraction, so each thread reads its own rows of
# the operands; the partial products are added in thread order.
# _ac_gemm_<s> computes column-major C (m x n, ldc) = alpha op(A) op(B) + beta C (BLAS
# conventions).  OpenBLAS runs a product with a narrow first dimension at about half speed
# (softmax's gradient Xᵀ G, 10 x 100 over 10^5 rows: 22 ms, its transpose 13.5 ms): a
# narrow, long product (m <= 16, m < n <= k) is computed as Cᵀ into scratch and transposed
# (m*n moves beside m*n*k multiply-adds).  Sizes are known only there, at call time.
GEMM_SPLIT = 1 << 20
GEMM_DEEP = 8
_GEMM = """\
static void _ac_gemm_{s}_split(char ta, char tb, int m, int n, int k, {t} alpha, {t} *a,
                             int lda, {t} *b, int ldb, {t} beta, {t} *c, int ldc)
{{
    {t} zero = 0;
    const int nthr = _ac_nthreads();
    if (nthr < 2 || (double)m * (double)n * (double)k < {split}.0 || omp_in_parallel()
            || !_ac_blas_hold_ptr->hold((void *)_ac_{s}gemm)) {{
        _ac_{s}gemm(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
        return;
    }}
    const int deep = (double)k >= {deep}.0 * (m > n ? m : n);
    {t} *part = deep ? ({t} *)_ac_scratch(sizeof({t}) * (size_t)m * n * (nthr - 1)) : NULL;
    int fpe = 0;
    const int rows = m >= n;
    #pragma omp parallel if(!deep || part) num_threads(nthr) reduction(|:fpe)
    {{
        const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        const int total = deep ? k : rows ? m : n, step = ((total + nt - 1) / nt + 7) & ~7;
        const int lo = tid * step < total ? tid * step : total;
        int len = total - lo < step ? total - lo : step;
        if (tid) feclearexcept(_AC_FE_FLAGS);
        if (deep) {{
            {t} *dst = tid ? part + (size_t)(tid - 1) * m * n : c;
            int ldd = tid ? m : ldc;
            if (len > 0)
                _ac_{s}gemm(&ta, &tb, &m, &n, &len, &alpha,
                          a + (ta == 'N' ? (size_t)lo * lda : lo), &lda,
                          b + (tb == 'N' ? lo : (size_t)lo * ldb), &ldb, tid ? &zero : &beta,
                          dst, &ldd);
            else if (tid || beta == 0)
                for (npy_intp q = 0; q < n; q++) for (npy_intp r = 0; r < m; r++) dst[q*ldd+r] = 0;
            #pragma omp barrier
            #pragma omp for schedule(static)
            for (npy_intp q = 0; q < n; q++)
                for (int t = 1; t < nt; t++)
                    for (npy_intp r = 0; r < m; r++)
                        c[q * ldc + r] += part[((size_t)(t - 1) * n + q) * m + r];
        }} else if (len > 0 && rows)
            _ac_{s}gemm(&ta, &tb, &len, &n, &k, &alpha, a + (ta == 'N' ? lo : (size_t)lo * lda),
                      &lda, b, &ldb, &beta, c + lo, &ldc);
        else if (len > 0)
            _ac_{s}gemm(&ta, &tb, &m, &len, &k, &alpha, a, &lda,
                      b + (tb == 'N' ? (size_t)lo * ldb : lo), &ldb, &beta,
                      c + (size_t)lo * ldc, &ldc);
        if (tid) fpe |= fetestexcept(_AC_FE_FLAGS);
    }}
    free(part);
    _ac_blas_hold_ptr->release();
    if (fpe) feraiseexcept(fpe);
}}
static void _ac_gemm_{s}(char ta, char tb, int m, int n, int k, {t} alpha, {t} *a, int lda,
                       {t} *b, int ldb, {t} beta, {t} *c, int ldc)
{{
    {t} *ct = m > 0 && m <= 16 && m < n && n <= k ? ({t} *)_ac_scratch(sizeof({t}) * m * n) : NULL;
    if (m <= 0 || n <= 0) return;
    if (k <= 0 && beta == 0)
        for (npy_intp q = 0; q < n; q++) for (npy_intp r = 0; r < m; r++) c[q * ldc + r] = 0;
    else if (ct) {{
        _ac_gemm_{s}_split(tb == 'N' ? 'T' : 'N', ta == 'N' ? 'T' : 'N', n, m, k, alpha, b, ldb,
                         a, lda, ({t})0, ct, n);
        for (npy_intp q = 0; q < n; q++) for (npy_intp r = 0; r < m; r++)
            c[q*ldc + r] = beta == 0 ? ct[r*(npy_intp)n + q] : c[q*ldc + r] + ct[r*(npy_intp)n + q];
        free(ct);
    }} else if (k > 0) _ac_gemm_{s}_split(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}}"""


def buf_ctype(dtype: DType) -> str:
    return {DType.INT64: "npy_int64", DType.BOOL: "npy_bool"}.get(dtype, dtype.c_name)


def gufunc_signature(kernel: Kernel):
    """``(signature, core-dim names, {size symbol: position in dims})`` for the kernel."""
    names, order = {}, []
    sizes = set(kernel.sizes)
    parts = []
    fresh = 0
    for p in _operands(kernel):
        axes = []
        for d in p.shape:
            d = sp.sympify(d)
            if d.is_Integer:   # NumPy numbers literal core dims too (by first appearance)
                name = str(int(d))
            elif d in sizes:
                name = "d" + d.name.removeprefix("_ac_d")
            else:
                name, fresh = f"e{fresh}", fresh + 1
            if name not in names:
                names[name] = len(order)
                order.append(name)
            if d in sizes:
                names.setdefault(d, names[name])
            axes.append(name)
        parts.append("(" + ",".join(axes) + ")")
    nin = sum(1 for p in _operands(kernel) if p.role is Role.IN)
    sig = ",".join(parts[:nin]) + "->" + ",".join(parts[nin:])
    positions = {}
    for s in kernel.sizes:
        if s not in names:
            raise UnsupportedError(
                f"the size {s} is not the plain size of any input axis (it appears only in "
                "expressions such as n + 1); add an input whose axis has exactly that size")
        positions[s] = names[s]
    return sig, tuple(order), positions


def _operands(kernel: Kernel):
    return [p for p in kernel.params if isinstance(p, Buffer) and p.role is not Role.TEMP]


class TensorPrinter(NestPrinter, CPrinter):
    """C for a loop-nest kernel: strided operands, private temporaries, OpenMP partials."""

    def ctype_of(self, dtype: DType) -> str:
        return buf_ctype(dtype)

    def _stmt_Loop(self, loop: Loop, depth):
        if loop.kind is LoopKind.PARALLEL:
            return self._parallel(loop, depth)
        inner = self._short_inner(loop)
        if inner is not None:
            return self._versioned(loop, inner, depth)
        pragma = ""
        if loop.kind is LoopKind.SIMD and not self._outer_simd:
            red = reductions_of(loop) or {}
            clauses = "".join(f" reduction({op.value}:{self._print(sp.Symbol(n))})"
                              for n, op in sorted(red.items(), key=lambda kv: kv[0]))
            pragma = "#pragma omp simd" + clauses
        return super()._stmt_Loop(loop, depth) if not pragma else self.block(
            self._for(loop), loop.body, depth, pragma)

    _outer_simd = threads = False   # threads: printing a parallel loop's body
    SHORT = 8   # an inner trip count below this vectorises better across the outer loop

    def _short_inner(self, loop: Loop):
        """The one SIMD inner loop of a serial loop whose iterations are independent."""
        if loop.kind is not LoopKind.SERIAL or self._outer_simd:
            return None
        loops = [s for s in loop.body if isinstance(s, Loop)]
        if len(loops) != 1 or loops[0].kind is not LoopKind.SIMD or any(
                isinstance(s, Loop) for s in loops[0].body):
            return None
        if reductions_of(loop) != {} or any(v.has(sp.Piecewise) for v in _values(loop.body)):
            return None
        return loops[0]

    def _versioned(self, loop: Loop, inner: Loop, depth):
        """Two copies of the nest, chosen at run time by the inner trip count.

        A short inner loop (pairwise distances over 3 coordinates) leaves its vector
        lanes idle; vectorising the outer loop instead (every lane runs the short inner
        loop for one outer iteration, so results are bit-identical) keeps them full.
        """
        pad = self.indent_unit * depth
        declared = set(self.declared)
        self._outer_simd = True
        try:
            short = self.block(self._for(loop), loop.body, depth + 1, "#pragma omp simd")
        finally:
            self._outer_simd = False
        self.declared = declared
        long = self.block(self._for(loop), loop.body, depth + 1)
        n = self._print_index(inner.extent)
        return [f"{pad}if (({n}) < {self.SHORT}) {{", *short, f"{pad}}} else {{", *long,
                f"{pad}}}"]

    def _work(self, loop: Loop) -> sp.Expr:
        inner = [self._work(s) for s in loop.body if isinstance(s, Loop)]
        return sp.sympify(loop.extent) * (1 + sp.Add(*inner))

    def _parallel(self, loop: Loop, depth):
        pad = self.indent_unit * depth
        p1, p2 = pad + self.indent_unit, pad + 2 * self.indent_unit
        t = self.dtype.c_name
        reductions = sorted((reductions_of(loop) or {}).items())
        # The thread count is read once (ac.set_num_threads may change it meanwhile):
        # it sizes the per-thread partials and bounds the team.
        # Threads that call the BLAS themselves hold its own threads to one (as _ac_gemm).
        blas = any(isinstance(s, Call) for s in _walk(loop.body))
        hold = f" && _ac_blas_hold_ptr->hold((void *)_ac_{'s' if t == 'float' else 'd'}gemm)"
        lines = [f"{pad}{{", f"{p1}int _ac_fpe = 0, _ac_nt = 1;", f"{p1}const int _ac_nthr = "
                 f"_ac_nthreads() > 1{hold if blas else ''} ? _ac_nthreads() : 1;"]
        parts = []
        for name, op in reductions:
            k = self.counter
            self.counter += 1
            buf = self.buffers.get(name)
            size = sp.Mul(*buf.shape) if buf is not None else sp.S.One
            size_c = self._print_index(size) if buf is not None and buf.shape else "1"
            parts.append((name, op, buf, size_c, k))
            lines += [f"{p1}{t} *_ac_part{k} = ({t} *)malloc(sizeof({t}) * "
                      f"(size_t)_ac_nthr * (size_t)(({size_c}) > 0 ? ({size_c}) : 1));",
                      f"{p1}if (!_ac_part{k}) {{ _ac_status = -1; }}"]
        lines.append(f"{p1}if (_ac_status == 0) {{")
        work = self._print_index(self._work(loop).xreplace({loop.index: 0}))   # block 0's
        lines += [f"{p1}#pragma omp parallel if(({work}) > {CUTOFF}) num_threads(_ac_nthr) "
                  "reduction(|:_ac_fpe)",
                  f"{p1}{{",
                  f"{p2}const int _ac_tid = omp_get_thread_num();",
                  f"{p2}if (_ac_tid) feclearexcept(_AC_FE_FLAGS);",
                  f"{p2}if (_ac_tid == 0) _ac_nt = omp_get_num_threads();"]
        saved = dict(self.redirect)
        ident = {op: self._print(op.identity) for _, op, _, _, _ in parts}
        for name, op, buf, size_c, k in parts:
            if buf is not None:
                lines += [f"{p2}{t} *_ac_pp{k} = _ac_part{k} + (size_t)_ac_tid * ({size_c});",
                          f"{p2}for (npy_intp _ac_e = 0; _ac_e < {size_c}; _ac_e++) "
                          f"_ac_pp{k}[_ac_e] = {ident[op]};"]
                self.redirect[name] = (f"_ac_pp{k}[{{}}]", True)
            else:
                lines.append(f"{p2}{t} _ac_pv{k} = {ident[op]};")
                self.redirect[name] = (f"_ac_pv{k}", False)
        simd = not any(isinstance(t, Loop) for t in loop.body) and not any(
            v.has(sp.Piecewise) for v in _values(loop.body))
        if any(buf is None and op.value not in "+*" for _, op, buf, _, _ in parts):
            simd = False   # NaN-propagating max/min have no OpenMP simd reduction
        clauses = "".join(f" reduction({op.value}:_ac_pv{k})" for name, op, buf, _, k in parts
                          if buf is None)
        # Each thread takes one contiguous block (static schedule computed here, so the
        # block's loop can carry a simd reduction into the thread's private partial).
        n = self._print_index(loop.extent)
        lines += [f"{p2}const npy_intp _ac_n = {n}, _ac_nth = omp_get_num_threads();",
                  f"{p2}const npy_intp _ac_chunk = _ac_n / _ac_nth, _ac_rem = _ac_n % _ac_nth;",
                  f"{p2}const npy_intp _ac_lo = _ac_tid * _ac_chunk + "
                  "(_ac_tid < _ac_rem ? _ac_tid : _ac_rem);",
                  f"{p2}const npy_intp _ac_hi = _ac_lo + _ac_chunk + (_ac_tid < _ac_rem);"]
        i = self._print(loop.index)
        header = f"for (npy_intp {i} = _ac_lo; {i} < _ac_hi; {i}++)"
        self.threads = True
        lines += self.block(header, loop.body, depth + 2,
                            f"#pragma omp simd{clauses}" if simd else "")
        self.redirect, self.threads = saved, False
        for name, op, buf, size_c, k in parts:
            if buf is None:
                lines.append(f"{p2}_ac_part{k}[_ac_tid] = _ac_pv{k};")
        lines.append(f"{p2}#pragma omp barrier")
        for name, op, buf, size_c, k in parts:
            lines += self._combine(name, op, buf, size_c, k, depth + 2)
        lines += [f"{p2}if (_ac_tid) _ac_fpe |= fetestexcept(_AC_FE_FLAGS);",
                  f"{p1}}}",
                  f"{p1}}}",
                  f"{p1}if (_ac_fpe) feraiseexcept(_ac_fpe);"]
        lines += [f"{p1}free(_ac_part{k});" for *_, k in parts]
        lines += [f"{p1}if (_ac_nthr > 1) _ac_blas_hold_ptr->release();"] if blas else []
        lines.append(f"{pad}}}")
        return lines

    def _combine(self, name, op, buf, size_c, k, depth):
        """Fold the per-thread partials into the shared target, in thread order."""
        pad = self.indent_unit * depth
        p1 = pad + self.indent_unit
        fold = self.fold(op)
        if buf is None:
            target = self._print(sp.Symbol(name))
            return [f"{pad}#pragma omp single",
                    f"{pad}for (int _ac_t = 0; _ac_t < _ac_nt; _ac_t++) "
                    f"{target} = {fold(target, f'_ac_part{k}[_ac_t]')};"]
        # Unravel the flat element number into the target's (strided) indices.
        elem = self.unravel(buf, "_ac_e")
        return [f"{pad}#pragma omp for schedule(static)",
                f"{pad}for (npy_intp _ac_e = 0; _ac_e < {size_c}; _ac_e++) {{",
                f"{p1}{buf_ctype(buf.dtype)} _ac_v = {elem};",
                f"{p1}for (int _ac_t = 0; _ac_t < _ac_nt; _ac_t++) "
                f"_ac_v = {fold('_ac_v', f'_ac_part{k}[(size_t)_ac_t * ({size_c}) + _ac_e]')};",
                f"{p1}{elem} = _ac_v;",
                f"{pad}}}"]

    def _stmt_Call(self, stmt: Call, depth):
        (g,) = stmt.args
        pad = self.indent_unit * depth
        p1 = pad + self.indent_unit
        t = self.dtype.c_name
        blas = "_ac_gemm_s" if self.dtype is DType.FLOAT32 else "_ac_gemm_d"
        lines = [f"{pad}{{"]
        m, n, k = (self._print_index(x) for x in (g.m, g.n, g.k))
        lines += [f"{p1}int _ac_M = (int)({m}), _ac_N = (int)({n}), _ac_K = (int)({k});",
                  f"{p1}{t} _ac_alpha = {self._print(g.alpha)};",
                  f"{p1}{t} *_ac_a_copy = NULL, *_ac_b_copy = NULL, *_ac_c_copy = NULL;",
                  f"{p1}int _ac_ok = 1;"]
        for tag, buf in (("a", g.a), ("b", g.b), ("c", g.c)):
            rows, cols = (self._print_index(d) for d in buf.shape)
            dense = buf.role is Role.TEMP or buf.name in self.redirect   # a thread's partial
            s0, s1 = (cols, 1) if dense else (_stride(buf.name, 0), _stride(buf.name, 1))
            src = self.redirect.get(buf.name, (buf.name,))[0].split("[")[0]
            if tag in g.sliced:   # a block of rows (of the rows gemm m or k runs over)
                rows = m if tag == "c" or (tag == "a") != g.trans_a else k
                src = f"({buf.name} + (npy_intp)({self._print_index(g.row0)})*{s0})"
            ld = f"_ac_ld{tag}"
            lines += [f"{p1}int {ld} = (int)(({cols}) > 0 ? ({cols}) : 1);",
                      f"{p1}{t} *_ac_{tag} = ({t} *){src};"]
            if dense:
                continue
            # An operand whose rows are not unit-stride goes through a contiguous copy
            # (an output is copied back after the call, and in first when C accumulates).
            fill = [] if tag == "c" and "b" not in g.sliced else _copy(
                p1 + "        ", rows, cols, f"_ac_{tag}_copy", src, s0, s1, True)
            lines += [
                f"{p1}if ({s1} == 1 && {s0} >= ({cols}) && {s0} > 0) {{ {ld} = (int){s0}; }}",
                f"{p1}else if (({rows}) > 0 && ({cols}) > 0) {{",
                f"{p1}    _ac_{tag}_copy = ({t} *)_ac_scratch(sizeof({t}) * (size_t)({rows}) "
                f"* (size_t)({cols}));",
                f"{p1}    if (_ac_{tag}_copy == NULL) _ac_ok = 0;",
                f"{p1}    else {{",
                *fill,
                f"{p1}        _ac_{tag} = _ac_{tag}_copy;",
                f"{p1}    }}",
                f"{p1}}}"]
        ta, tb = ("'T'" if g.trans_a else "'N'"), ("'T'" if g.trans_b else "'N'")
        # Row-major C = op(A) op(B) is the column-major call Cᵀ = op(B)ᵀ op(A)ᵀ.
        lines.append(f"{p1}if (_ac_ok) {blas}({tb}, {ta}, _ac_N, _ac_M, _ac_K, _ac_alpha, _ac_b, "
                     f"_ac_ldb, _ac_a, _ac_lda, {int('b' in g.sliced)}, _ac_c, _ac_ldc);")
        if not dense:   # C, the last operand above
            lines += [f"{p1}if (_ac_ok && _ac_c_copy) {{",
                      *_copy(p1 + "    ", rows, cols, "_ac_c_copy", src, s0, s1, False),
                      f"{p1}}}"]
        lines += [f"{p1}free(_ac_a_copy); free(_ac_b_copy); free(_ac_c_copy);",
                  f"{p1}if (!_ac_ok) __atomic_store_n(&_ac_status, -1, __ATOMIC_RELAXED);"
                  if self.threads else f"{p1}if (!_ac_ok) {{ _ac_status = -1; goto _ac_done; }}",
                  f"{pad}}}"]
        return lines


def _copy(pad, rows, cols, dense, strided, s0, s1, into_dense: bool) -> list:
    """C copying a strided ``rows x cols`` matrix into a dense one, or back."""
    a, b = f"{dense}[_ac_r*({cols}) + _ac_q]", f"{strided}[_ac_r*{s0} + _ac_q*{s1}]"
    return [f"{pad}for (npy_intp _ac_r = 0; _ac_r < {rows}; _ac_r++)",
            f"{pad}    for (npy_intp _ac_q = 0; _ac_q < {cols}; _ac_q++)",
            f"{pad}        {a} = {b};" if into_dense else f"{pad}        {b} = {a};"]


def render_kernel(kernel: Kernel, printers: list) -> str:
    """The C function computing ``kernel`` for one set of core arrays."""
    p = TensorPrinter(kernel)
    printers.append(p)
    t = p.dtype.c_name
    sig, order, positions = gufunc_signature(kernel)
    ops = _operands(kernel)
    head = [f"    const npy_intp {s.name} = _ac_dims[{positions[s]}];" for s in kernel.sizes]
    general, unit_defs, unit_checks = [], [], []
    step = 0
    for k, b in enumerate(ops):
        ct = buf_ctype(b.dtype)
        const = "const " if b.role is Role.IN else ""
        # restrict: NumPy hands a gufunc non-overlapping operands (it copies overlaps).
        head.append(f"    {const}{ct} *restrict {b.name} = ({const}{ct} *)_ac_args[{k}];")
        for a in range(len(b.shape)):
            decl = (f"    const npy_intp {_stride(b.name, a)} = _ac_steps[{step}] / "
                    f"(npy_intp)sizeof({ct});")
            general.append(decl)
            if a == len(b.shape) - 1:
                unit_defs.append(_stride(b.name, a))
                unit_checks.append(f"_ac_steps[{step}] == (npy_intp)sizeof({ct})")
            else:
                head.append(decl)
            step += 1
    temps = [b for b in kernel.params if isinstance(b, Buffer) and b.role is Role.TEMP]
    body = []
    if temps:   # one block, each temporary at a 64-byte aligned offset
        body.append("    size_t _ac_off[%d];" % (len(temps) + 1))
        body.append("    _ac_off[0] = 0;")
        for q, b in enumerate(temps):
            size = p._print_index(sp.Mul(*b.shape)) if b.shape else "1"
            body.append(f"    _ac_off[{q + 1}] = _ac_off[{q}] + ((sizeof({t}) * (size_t)({size}) "
                        "+ 63) & ~(size_t)63);")
        body += [f"    _ac_block *_ac_blk = _ac_take(_ac_off[{len(temps)}]);",
                 "    if (_ac_blk == NULL) return -1;"]
        body += [f"    {t} *restrict {b.name} = ({t} *)((char *)_ac_blk->p + _ac_off[{q}]);"
                 for q, b in enumerate(temps)]
    for s in kernel.body:
        body += p.statement(s, 1)
    body.append("_ac_done: __attribute__((unused));")   # a failed scratch allocation
    if temps:
        body.append("    _ac_give(_ac_blk);")
    body += ["    (void)_ac_steps; (void)_ac_dims;", "    return _ac_status;", "}"]
    # The body is emitted twice.  In the first copy the last-axis strides are the
    # literal 1 (a macro, so it reaches the OpenMP-outlined loops too), and inner loops
    # vectorise with plain vector loads; the second takes any strides (views, F order).
    sig_c = "(char **_ac_args, npy_intp const *_ac_dims, npy_intp const *_ac_steps)"
    last_decls = [d for d in general if any(f" {n} =" in d for n in unit_defs)]
    lines = [*(f"#define {n} ((npy_intp)1)" for n in unit_defs),
             f"static int {kernel.name}_unit{sig_c}", "{", "    int _ac_status = 0;",
             *head, *body,
             *(f"#undef {n}" for n in unit_defs),
             f"static int {kernel.name}_any{sig_c}", "{", "    int _ac_status = 0;",
             *head, *last_decls, *body]
    unit = " && ".join(unit_checks) or "1"
    lines += [f"static int {kernel.name}{sig_c}",
              "{",
              f"    if ({unit}) return {kernel.name}_unit(_ac_args, _ac_dims, _ac_steps);",
              f"    return {kernel.name}_any(_ac_args, _ac_dims, _ac_steps);",
              "}"]
    return "\n".join(lines)


def render_tensor_module(kernels: list) -> Source:
    """The library whose ``_ac_make_gufunc`` makes the compiled program's gufunc.

    ``kernels``: one tensor kernel per loop dtype (float32 first), same signature.
    """
    from ..errors import VerifyError
    from ..lower.ir import Stage

    for k in kernels:
        if k.stage is not Stage.READY:
            raise VerifyError(f"render_tensor_module: kernel {k.name} is {k.stage.name}, "
                              "not READY (run algebrac.lower.passes.run first)")
    sig, _, _ = gufunc_signature(kernels[0])
    ops = _operands(kernels[0])
    nin = sum(1 for b in ops if b.role is Role.IN)
    nargs = len(ops)
    # One C file per dtype, compiled in parallel; the main file registers their loops.
    files, rows, use_blas = [], set(), False
    for k in kernels:
        printers: list = []
        body = render_kernel(k, printers)
        used = set(getattr(printers[0], "used_scipy", {}).values())
        blas = any(isinstance(s, Call) for s in _walk(k.body))
        rows, use_blas = rows | used, use_blas or blas
        ch, t = ("s", "float") if printers[0].dtype is DType.FLOAT32 else ("d", "double")
        files.append((f"prog{len(files)}", "\n".join([
            *_PROG_HEAD, *scipy_parts(used)[0],
            *(_simd_declarations(printers) if has_libmvec() else []),
            _BLAS_TYPES[ch], f"_AC_SHARED _ac_gemm_{ch}_t _ac_{ch}gemm;", _SCRATCH,
            *([_GEMM.format(s=ch, t=t, split=GEMM_SPLIT, deep=GEMM_DEEP)] if blas else []),
            body,
            f"{_HIDDEN}void _ac_loop_{k.name}{_LOOP_ARGS}",
            "{",
            f"    char *_ac_a[{nargs}];",
            "    (void)data;",
            "    for (npy_intp _ac_b = 0; _ac_b < dims[0]; _ac_b++) {",
            f"        for (int _ac_k = 0; _ac_k < {nargs}; _ac_k++) "
            "_ac_a[_ac_k] = args[_ac_k] + _ac_b * steps[_ac_k];",
            f"        if ({k.name}(_ac_a, dims + 1, steps + {nargs}) != 0) {{",
            "            NPY_ALLOW_C_API_DEF",
            "            NPY_ALLOW_C_API",
            "            PyErr_NoMemory();",
            "            NPY_DISABLE_C_API",
            "            return;",
            "        }",
            "    }",
            "}", ""]), ()))
    types = [[b.dtype.npy_type for b in _operands(k)] for k in kernels]
    funcs = ", ".join(f"_ac_loop_{k.name}" for k in kernels)
    # SciPy's special functions and BLAS: pointers the loader sets (see cpu/scipy_calls.py).
    sf_c, imports = scipy_parts(rows)
    if use_blas:
        imports += [f"scipy.linalg.cython_blas {f} _ac_{f} -1" for f in ("dgemm", "sgemm")]
    c = [
        *main_head(imports), *[line for line in sf_c if line.startswith("_AC_SHARED")],
        _BLAS_TYPES["d"], _BLAS_TYPES["s"],
        "_AC_SHARED _ac_gemm_d_t _ac_dgemm;", "_AC_SHARED _ac_gemm_s_t _ac_sgemm;",
        *(f"void _ac_loop_{k.name}{_LOOP_ARGS};" for k in kernels),
        f"static PyUFuncGenericFunction _ac_funcs[] = {{{funcs}}};",
        *ufunc_maker(types, nin, nargs - nin, sig),
    ]
    return Source("\n".join(c) + "\n", _libraries(), tuple(files), MAIN_FLAGS)
