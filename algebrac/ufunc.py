"""``ac.compile``: scalar SymPy formulas → a callable that is (or acts as) a NumPy ufunc.

The CPU backend returns a wrapper around a real ``numpy.ufunc`` (``.ufunc``),
so broadcasting, ``out=``, ``where=``, ``dtype=``, ``casting=``, NEP 50
scalar promotion and ``__array_ufunc__`` dispatch are NumPy's own.  The
``"numpy"`` backend interprets the same loop IR and follows the same rules.

>>> import numpy as np, sympy as sp, algebrac as ac
>>> x, y = sp.symbols("x y")
>>> uf = ac.compile([x * y, x + y], [x, y])
>>> uf.nin, uf.nout
(2, 2)
>>> [a.tolist() for a in uf(np.array([1.0, 2.0]), 3.0)]
[[3.0, 6.0], [4.0, 5.0]]

A ``Ufunc`` pickles by its formula (:mod:`algebrac.pickling`), has a readable
unique ``__name__``, and takes Dask arrays (lazy results, one blockwise pass
for all outputs, :mod:`algebrac.dask`).
"""
from __future__ import annotations

import functools
import sys
import threading
import warnings

import numpy as np
import sympy as sp

from . import pickling
from .frontdoor import Memo
from . import progress
from .deep import key_text, run_deep, summary
from .dtypes import DType
from .errors import (BackendFallbackWarning, BackendUnavailable, DTypeError, ShapeError,
                     SignatureError)
from .lower import interp, passes
from .lower.elementwise import ElementwiseProgram, as_formula, lower_elementwise, prepare
from .lower.ir import pformat

__all__ = ["compile", "Ufunc", "Listing", "MAX_UFUNC_ARGS"]

# NumPy 2's NPY_MAXARGS: a ufunc takes at most this many inputs plus outputs.
MAX_UFUNC_ARGS = 64
BACKENDS = ("cpu", "numpy", "cuda")
_memo = Memo(256)
_fallback_warned = False
_float32_lock = threading.Lock()


class Listing(str):
    """A string that displays as itself (source code, IR listings) in Jupyter and the REPL."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(str(self))}</pre>"


def compile(exprs, args, *, backend: str = "cpu",  # noqa: A001 (public API name)
            stabilize: bool = True, limits: bool = False, lazy: bool = True) -> "Ufunc":
    """Compile scalar formulas into one elementwise, ufunc-like callable.

    Parameters
    ----------
    exprs : a SymPy expression (the call returns one array) or a list of them
        (the call returns a tuple); all are computed in one pass over the data,
        sharing common subexpressions (a DAG such as a symbolic LU solve costs its
        distinct operations, not its tree).  Over 64 inputs plus outputs (NumPy's
        ufunc limit), the cpu backend calls its loop without a ``numpy.ufunc``.
    args : the SymPy symbols that become the array arguments, in call order.
    backend : ``"cpu"`` (generated C, the default), ``"numpy"`` (the reference
        interpreter; needs no compiler) or ``"cuda"`` (an NVIDIA GPU through PyCUDA:
        ``pip install "algebrac[cuda]"``; NumPy inputs are copied to the device and
        back, device arrays stay there).  Without a working C compiler, ``"cpu"``
        warns once and uses ``"numpy"``; ``"cuda"`` without PyCUDA, a CUDA compiler
        (nvcc or NVRTC) or a GPU raises ``BackendUnavailable``.
    stabilize : rewrite the formulas into numerically stable forms first
        (:func:`algebrac.stabilize`: ``log(1 + exp(x))`` becomes ``softplus(x)``,
        ...); ``False`` compiles them as written.
    limits : also apply the rules that give a limit where the formula as
        written is NaN (``x*log(x)`` is 0 at ``x = 0``, see :func:`algebrac.stabilize`).
        Off by default: the result is the IEEE value of the formula as written
        there.  Needs ``stabilize=True``.
    lazy : a large formula (a loop body over 1000 statements after CSE) builds its
        float32 loop when first called with float32 inputs, not now: that halves
        the C compiler's work when only float64 is used (the raw ``.ufunc`` called
        with float32 before then computes in float64, on one thread, and rounds).
        ``False`` builds both loops now, in parallel.

    >>> import sympy as sp, algebrac as ac
    >>> x = sp.Symbol("x")
    >>> f = ac.compile(sp.Piecewise((1 / x, x > 0), (0, True)), [x])
    >>> f([0.0, 4.0]).tolist()
    [0.0, 0.25]
    >>> import numpy as np
    >>> with np.errstate(all="ignore"):   # log(0) = -inf, 0*-inf = NaN
    ...     ac.compile(x * sp.log(x), [x])([0.0, 2.0]).tolist()
    [nan, 1.3862943611198906]
    >>> ac.compile(x * sp.log(x), [x], limits=True)([0.0, 2.0]).tolist()
    [0.0, 1.3862943611198906]
    """
    single = not isinstance(exprs, (list, tuple))
    expr_list = (as_formula(exprs),) if single else tuple(as_formula(e) for e in exprs)
    if isinstance(args, sp.Basic) and not isinstance(args, sp.Tuple):
        args = [args]
    args = tuple(args)
    if backend not in BACKENDS:
        raise SignatureError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    key = (expr_list, args, single, backend, bool(stabilize), bool(limits), bool(lazy))
    # A fallback is not memoised: once a compiler appears, the formula compiles for real.
    return _memo.get_or_build(
        key, lambda: Ufunc(expr_list, args, single=single, backend=backend, stabilize=stabilize,
                           limits=limits, lazy=lazy),
        keep=lambda uf: uf.backend == backend)


def _resolve_backend(backend: str) -> str:
    global _fallback_warned
    if backend != "cpu":
        return backend
    from .cpu.build import compiler_available

    if compiler_available():
        return "cpu"
    if not _fallback_warned:
        _fallback_warned = True
        warnings.warn("algebrac: no working C compiler; the 'cpu' backend falls "
                      "back to the 'numpy' reference backend (much slower)",
                      # user -> compile/function -> Memo.get_or_build -> lambda
                      # -> Ufunc/Function.__init__ -> here
                      BackendFallbackWarning, stacklevel=6)
    return "numpy"


class Ufunc:
    """A compiled elementwise formula.  Call it like a NumPy ufunc.

    Attributes: ``exprs``, ``args``, ``nin``, ``nout``, ``backend``,
    ``ufunc`` (the ``numpy.ufunc``; ``None`` on the numpy backend),
    ``source`` (generated C), ``kernel`` (the loop IR, float64 variant),
    ``__name__`` (from the formula, unique, an identifier; also the ufunc's name).

    Inputs that need a cast (integers, big-endian arrays, float64 into a float32
    loop, ``out=`` of another dtype) go through NumPy's buffered loop in chunks of
    8192 elements; the compiled loop never opens a parallel region for a chunk
    that small, so they run at one thread's speed whatever the load.
    """

    def __init__(self, exprs: tuple, args: tuple, *, single: bool, backend: str,
                 stabilize: bool = True, limits: bool = False, lazy: bool = True):
        self.exprs, self.args, self._single = exprs, args, single
        self._stabilize, self._limits, self._lazy = bool(stabilize), bool(limits), bool(lazy)
        self._module, self._float32_pending = None, False
        self._requested_backend = backend
        # Printing recurses over the tree: deep formulas need run_deep's stack.
        self._key_text, text = run_deep(exprs, lambda: (
            (key_text(exprs), key_text(args), str(single), str(self._stabilize),
             *(["limits"] if self._limits else [])), summary(exprs)))
        self.__name__ = self.__qualname__ = pickling.readable_name(text, *self._key_text)
        self._dask_registered = False
        self.nin, self.nout = len(args), len(exprs)
        if self.nin + self.nout > MAX_UFUNC_ARGS and backend == "cuda":
            raise SignatureError(
                f"the cuda backend takes at most {MAX_UFUNC_ARGS} inputs plus outputs; this "
                f"formula has {self.nin} inputs and {self.nout} outputs. Split the outputs "
                "into several compile() calls."
            )
        self.backend = _resolve_backend(backend)
        self.ufunc, self._wide = None, False
        self._cache: dict = {}
        # Deep formulas (hundreds of levels) need more stack than SymPy's recursion has.
        if self.backend == "cuda":
            from .cuda.launch import current_device

            current_device()  # BackendUnavailable now, not at the first call
            run_deep(self.exprs, lambda: self._cuda)
        elif self.backend == "cpu":
            run_deep(self.exprs, self._build)
        else:  # validate the formula now, not at first call
            run_deep(self.exprs, lambda: self._kernels)

    # Stages are computed on first use: a warm cache hit needs none of them.
    @functools.cached_property
    def _program(self) -> ElementwiseProgram:
        return prepare(self.exprs, self.args, stabilize=self._stabilize, limits=self._limits)

    @functools.cached_property
    def _kernels(self) -> dict:
        target = self.backend if self.backend in ("cpu", "cuda") else "numpy"
        return {dt: passes.run(lower_elementwise(self._program, dt), target)
                for dt in (DType.FLOAT32, DType.FLOAT64)}

    @functools.cached_property
    def _cuda(self):
        from .cuda.render import render_cuda

        return render_cuda([self._kernels[DType.FLOAT32], self._kernels[DType.FLOAT64]])

    @functools.cached_property
    def kernel(self) -> Listing:
        """The loop IR (float64 variant), pretty-printed."""
        return Listing(pformat(self._kernels[DType.FLOAT64]))

    @functools.cached_property
    def source(self) -> Listing | None:
        """The generated C library (main file, then the others), or CUDA C (``None`` on
        the numpy backend)."""
        if self.backend == "cuda":
            return Listing(self._cuda.text)
        if self.backend != "cpu":
            return None
        main = self._render()
        if "_ac_set_loop_f" not in main.text:
            return Listing(main.listing)
        return Listing(main.listing + "\n/* ==== the float32 loop: a library of its own, built "
                       "on the first float32 call ==== */\n" + self._render_float32().listing)

    def _render(self):
        from .cpu.render import render_ufunc_module

        return render_ufunc_module([self._kernels[DType.FLOAT32], self._kernels[DType.FLOAT64]],
                                   self.nin, self.nout, lazy=self._lazy)

    def _render_float32(self):
        from .cpu.render import render_float32_module

        return render_float32_module(self._kernels[DType.FLOAT32])

    def _describe(self) -> str:
        outs = "1 output" if self.nout == 1 else f"{self.nout} outputs"
        names = ", ".join(str(a) for a in self.args)
        return f"{outs} of ({names[:40]})"

    def _build(self) -> None:
        from .cpu import build

        try:
            fkey = build.formula_key("ufunc", *self._key_text, *([] if self._lazy else ["eager"]))
            module = build.load_indexed(fkey)
            if module is None:
                module = self._compile_cpu(self._describe(), self._render, fkey)
        except BackendUnavailable:
            self.backend = _resolve_backend("cpu")
            if self.backend != "numpy":
                raise
            self.__dict__.pop("_kernels", None)  # lowered for the cpu target
            return
        self._module, self._wide = module, module.ufunc is None   # wide: _interpret runs it
        self.ufunc = None if self._wide else module.make_ufunc(self.__name__)
        if getattr(module, "float32_loop", False) is None:  # lazy, and not set yet
            loop = build.load_indexed(self._float32_key())  # built by an earlier process
            if loop is not None:
                module.set_float32_loop(loop.loop)
            self._float32_pending = loop is None

    def _compile_cpu(self, what: str, render, fkey: str):
        from .cpu import build

        with progress.compiling(what) as bar:
            bar.phase("simplify and CSE")
            self._program  # noqa: B018
            bar.phase("lower")
            self._kernels  # noqa: B018
            bar.phase("render C")
            return build.load(render(), fkey)

    def _float32_key(self) -> str:
        from .cpu import build

        return build.formula_key("ufunc float32", *self._key_text)

    def _build_float32(self) -> None:
        """Build (or load from the cache) the float32 loop of a lazy module and plug it in."""
        from .cpu import build

        with _float32_lock:
            if self._module.float32_loop is not None:  # another Ufunc over this module did
                self._float32_pending = False
                return
            fkey = self._float32_key()
            module = build.load_indexed(fkey) or self._compile_cpu(
                f"float32 loop of {self._describe()}", self._render_float32, fkey)
            self._module.set_float32_loop(module.loop)
            self._float32_pending = False

    # -- calling ---------------------------------------------------------
    def __call__(self, *inputs, **kwargs):
        if len(inputs) != self.nin:
            names = ", ".join(str(a) for a in self.args)
            raise SignatureError(
                f"this formula takes {self.nin} argument(s) ({names}), got {len(inputs)}"
            )
        if "dtype" not in kwargs and "signature" not in kwargs and _all_integral(inputs):
            # Integer and bool inputs compute in float64 (documented in DType.result).
            kwargs["dtype"] = np.float64
        if "dask.array" in sys.modules:
            from . import dask as _dask

            if not self._dask_registered:
                self._dask_registered = _dask.register_ufunc(self)
            if _dask.has_dask_array(inputs):
                return self._finish(_dask.call(self, inputs, kwargs))
        if self.backend == "cuda":
            from .cuda.call import call_elementwise

            result = call_elementwise(self, self._cuda, inputs, kwargs)
        elif self.ufunc is not None:
            if self._float32_pending and _may_use_float32(inputs, kwargs):
                run_deep(self.exprs, self._build_float32)
            try:
                result = self.ufunc(*inputs, **kwargs)
            except TypeError as err:
                # A ufunc with fixed loops (ours) reports "no loop" as a plain
                # TypeError ("not supported for the input types").
                if type(err).__name__ in ("_UFuncNoLoopError", "_UFuncInputCastingError",
                                          "_UFuncOutputCastingError") or (
                        "not supported for the input types" in str(err)
                        or "Cannot cast ufunc" in str(err)):  # NumPy 2.4: UFuncTypeError
                    raise DTypeError(f"{err}; algebrac computes in float32 or float64: pass "
                                     "real arrays (or dtype=/casting=)") from err
                raise
            except ValueError as err:
                if "broadcast" in str(err):
                    raise ShapeError(f"arguments do not broadcast together: {err}") from err
                raise
        else:
            result = self._interpret(inputs, **kwargs)
        return self._finish(result)

    def _finish(self, result):
        if self._single or self.nout > 1 or isinstance(result, tuple):
            return result
        return (result,)

    def _interpret(self, inputs, out=None, where=True, dtype=None, casting="same_kind",
                   **extra):
        if extra:
            raise SignatureError(f"unsupported keyword(s) for the numpy backend or more than "
                                 f"{MAX_UFUNC_ARGS} inputs plus outputs: {sorted(extra)}")
        arrays = [np.asarray(a) for a in inputs]
        for a in arrays:
            if a.dtype.kind not in "biuf":
                raise DTypeError(f"cannot compute with {a.dtype} input; algebrac computes "
                                 "in float32 or float64")
        loop = DType.from_numpy(dtype) if dtype is not None else _loop_dtype(inputs, arrays)
        for k, (x, a) in enumerate(zip(inputs, arrays)):  # as the ufunc checks its inputs
            if type(x) not in (bool, int, float) and not np.can_cast(a.dtype, loop.numpy,
                                                                     casting):
                raise DTypeError(f"cannot cast input {k} from {a.dtype} to {loop.numpy} "
                                 f"with casting={casting!r}")
        try:
            shape = np.broadcast_shapes(*[a.shape for a in arrays])
        except ValueError as err:
            raise ShapeError(f"arguments do not broadcast together: {err}") from err
        if self._wide:
            outs = self._run_wide(arrays, loop, shape)
        else:
            flat = {f"_ac_in{k}": np.broadcast_to(a, shape).astype(loop.numpy).ravel()
                    for k, a in enumerate(arrays)}
            results = interp.run(self._kernels[loop], flat)
            outs = [results[f"_ac_out{k}"].reshape(shape) for k in range(self.nout)]
        if out is None:
            if where is True:
                final = [o if o.ndim else o[()] for o in outs]
                return final[0] if self._single else tuple(final)
            out = tuple(np.empty(shape, loop.numpy) for _ in outs)
        out = out if isinstance(out, tuple) else (out,)
        if len(out) != self.nout:
            raise SignatureError(f"out= needs one array per output ({self.nout}), got {len(out)}")
        for o, r in zip(out, outs):
            try:
                np.copyto(o, r, casting=casting, where=where)
            except ValueError as err:
                raise ShapeError(f"out= does not broadcast with the arguments: {err}") from err
            except TypeError as err:
                raise DTypeError(f"cannot store the result in out=: {err}") from err
        return out[0] if self._single else tuple(out)

    def _run_wide(self, arrays, loop: DType, shape) -> list:
        """The compiled loop called directly, for more operands than a NumPy ufunc
        takes: inputs flat (one value, or broadcast and copied), outputs in one block;
        floating-point flags reported as NumPy reports a ufunc's (``np.errstate``)."""
        size = int(np.prod(shape))
        flat = [np.ascontiguousarray(a, loop.numpy).reshape(1) if a.size == 1 else
                np.ascontiguousarray(np.broadcast_to(a, shape), loop.numpy).reshape(-1)
                for a in arrays]
        block = np.empty((self.nout, size), loop.numpy)
        if self._float32_pending and loop is DType.FLOAT32:
            run_deep(self.exprs, self._build_float32)
        if size:
            ptrs = np.array([a.ctypes.data for a in [*flat, *block]], np.uintp)
            steps = np.array([a.strides[0] if a.size > 1 else 0 for a in [*flat, *block]], np.intp)
            flags = self._module.run(int(loop is DType.FLOAT64), ptrs.ctypes.data, size,
                                     steps.ctypes.data)
            for bit, (what, text) in enumerate(_FPE_TEXT.items()):   # as NumPy reports
                mode, text = np.geterr()[what], f"{text} encountered in {self.__name__}"
                if flags >> bit & 1 and mode == "raise":
                    raise FloatingPointError(text)
                if flags >> bit & 1 and mode == "call":
                    np.geterrcall()(text, 1 << bit)
                elif flags >> bit & 1 and mode != "ignore":   # warn; print and log as warn
                    warnings.warn(text, RuntimeWarning, stacklevel=4)
        return [row.reshape(shape) for row in block]

    def low_level_callable(self):
        """A ``scipy.LowLevelCallable`` of this (one-output) formula for ``quad``/``nquad``:
        a C function pointer, no Python call per point (:func:`algebrac.solvers.low_level_callable`)."""
        from .solvers import low_level_callable

        return low_level_callable(self)

    # -- pickling and Dask ------------------------------------------------
    def __reduce__(self):
        exprs = self.exprs[0] if self._single else list(self.exprs)
        return (pickling.rebuilder(), ("ufunc", (exprs, list(self.args)),
                                   {"backend": self._requested_backend,
                                    "stabilize": self._stabilize,
                                    **({"limits": True} if self._limits else {}),
                                    **({} if self._lazy else {"lazy": False})}))

    def __dask_tokenize__(self):
        return ("algebrac.Ufunc", self.__name__, self._key_text, self.backend)

    # -- display ---------------------------------------------------------
    def __repr__(self) -> str:
        sig = ", ".join(str(a) for a in self.args)
        body = run_deep(self.exprs, lambda: summary(self.exprs))
        body = body if self._single else f"({body})"
        return f"<algebrac.Ufunc ({sig}) -> {body}, backend={self.backend!r}>"

    def latex(self, names=None, max_lines: int | None = None) -> str:
        r"""The compiled program (after stabilize and CSE) as LaTeX ``aligned`` equations.

        ``names``: one LaTeX name (or symbol) per output; by default ``f``, with
        derivatives of the first output shown as ``\partial f/\partial x``.  A
        program longer than ``max_lines`` (default 40) shows its first and last
        lines and a count of the others.

        >>> import sympy as sp, algebrac as ac
        >>> x = sp.Symbol("x")
        >>> print(ac.compile(sp.log(1 + sp.exp(x)) / x, [x], backend="numpy").latex())
        \begin{aligned} f &= \frac{\operatorname{softplus}\left(x\right)}{x} \end{aligned}
        """
        from .report.program import MAX_LINES, elementwise_program, program_latex

        prog = elementwise_program(self.exprs, self.args, self._program, names)
        return program_latex(prog, max_lines=max_lines or MAX_LINES)

    def _repr_latex_(self) -> str:
        return r"$\displaystyle " + self.latex() + "$"


_FPE_TEXT = {"divide": "divide by zero", "over": "overflow", "under": "underflow",
             "invalid": "invalid value"}


def _is_integral(x) -> bool:
    if isinstance(x, (bool, int, np.integer, np.bool_)):
        return True
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in "biu"


def _all_integral(inputs) -> bool:
    return all(_is_integral(x) for x in inputs)


def _may_use_float32(inputs, kwargs) -> bool:
    """NumPy may pick the float32 loop for this call: a float32 (or float16) input,
    ``dtype=float32`` or any ``signature=``.  It errs towards yes; where it errs
    towards no, the stand-in loop still computes the right answer, only slower."""
    dt = kwargs.get("dtype")
    if kwargs.get("signature") is not None or dt is not None:
        return dt is None or np.dtype(dt) == np.float32
    return any(isinstance(d, np.dtype) and d.kind == "f" and d.itemsize <= 4
               for d in (getattr(x, "dtype", None) for x in inputs))


def _loop_dtype(inputs, arrays) -> DType:
    """The loop NumPy's type resolution would pick among (float32, float64)."""
    # Python scalars are weak (NEP 50).  np.float64 subclasses float but is a
    # strong NumPy scalar, hence type() rather than isinstance().
    strong = [a.dtype for x, a in zip(inputs, arrays) if type(x) not in (bool, int, float)]
    if strong and all(np.can_cast(d, np.float32, "safe") for d in strong) and any(
        d.kind == "f" for d in strong
    ):
        return DType.FLOAT32
    return DType.FLOAT64
