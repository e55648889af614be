"""``ac.function``: tensor formulas (a loss and its gradient) → one compiled program.

The outputs are lowered together into one loop-nest kernel (shared
temporaries, fused loops, BLAS for matrix products), compiled once per loop
dtype and wrapped as a NumPy gufunc whose core dimensions are the tensors'
shapes, so extra leading axes batch the call.

>>> import numpy as np, algebrac as ac
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
>>> fn = ac.function([X, w], [ac.sum(ac.exp(X @ w)), X @ w])
>>> total, z = fn(np.eye(2), np.array([0.0, 1.0]))
>>> float(total), z.tolist()
(3.718281828459045, [0.0, 1.0])
"""
from __future__ import annotations

import functools
import sys
import types

import numpy as np
import sympy as sp

from . import pickling, progress
from .dtypes import DType
from .errors import BackendUnavailable, DTypeError, ShapeError, SignatureError
from .expr.evaluate import _bind_dims, _fmt
from .expr.functions import LogSumExp, ReduceMax, ReduceMin
from .expr.tensor import Tensor
from .lower import interp, passes
from .lower.ir import Call, Role, pformat
from .lower.tensor import TensorProgram, _as_tensor_output, _label_of, lower_tensors, \
    check_signature, prepare_tensors
from .deep import key_text
from .frontdoor import Memo
from .ufunc import Listing, _resolve_backend

__all__ = ["function", "Function"]

BACKENDS = ("cpu", "numpy", "cuda")
_memo = Memo(256)


def function(inputs, outputs, *, backend: str = "cpu", stabilize: bool = True,
             limits: bool = False) -> "Function":
    """Compile tensor formulas into one callable computing every output in one program.

    Parameters
    ----------
    inputs : the input tensors and scalar SymPy symbols, in call order.
    outputs : a Tensor (the call returns one array; a 0-d output a 0-d array) or a
        list of them (a tuple).
    backend : ``"cpu"`` (generated C with OpenMP and BLAS), ``"numpy"`` (the
        reference interpreter of the same loop IR) or ``"cuda"`` (PyCUDA; device
        arrays such as ``GPUArray`` stay on the GPU, and so do their results).
    stabilize : rewrite into numerically stable forms first (``log(sigmoid(z))``
        becomes ``-softplus(-z)``); a rewrite that fails or runs past
        ``ALGEBRAC_SYMBOLIC_TIMEOUT`` leaves that output as written.
    limits : also apply the rules giving a limit where the formula is NaN
        (``x*log(x)`` is 0 at ``x = 0``); off by default, as in :func:`algebrac.compile`.

    Sizes are bound from the arrays at call time and checked; extra leading axes
    batch the call (gufunc semantics); float32 inputs compute in float32.

    >>> import numpy as np, algebrac as ac
    >>> n = ac.dim("n")
    >>> x = ac.vector("x", n)
    >>> norm2 = ac.function([x], ac.sum(x * x))
    >>> norm2(np.array([3.0, 4.0])), norm2(np.ones((2, 3))).tolist()
    (array(25.), [3.0, 3.0])
    >>> entropy = -ac.sum(x * ac.log(x))
    >>> with np.errstate(all="ignore"):   # log(0) = -inf, 0*-inf = NaN
    ...     ac.function([x], entropy)(np.array([0.0, 0.5]))
    array(nan)
    >>> round(float(ac.function([x], entropy, limits=True)(np.array([0.0, 0.5]))), 12)
    0.34657359028
    """
    single = not isinstance(outputs, (list, tuple))
    outs = (outputs,) if single else tuple(outputs)
    outs = tuple(_as_tensor_output(o, k) for k, o in enumerate(outs))
    if isinstance(inputs, (Tensor, sp.Symbol)):
        inputs = [inputs]
    ins = tuple(inputs)
    if backend not in BACKENDS:
        raise SignatureError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    key = (tuple((o.shape, o.dtype, o.body) for o in outs),
           tuple((_label_of(t), getattr(t, "shape", ())) for t in ins),
           single, backend, bool(stabilize), bool(limits))
    return _memo.get_or_build(
        key, lambda: Function(ins, outs, single=single, backend=backend, stabilize=stabilize,
                              limits=limits),
        keep=lambda fn: fn.backend == backend)


class Function:
    """A compiled tensor program: call it with one array per input.

    ``gufunc`` is the NumPy gufunc (cpu backend); ``__name__`` is unique, from the
    outputs.  It pickles by formula (:mod:`algebrac.pickling`) and maps over Dask
    arrays (:func:`algebrac.dask.call_function`).
    """

    def __init__(self, inputs: tuple, outputs: tuple, *, single: bool, backend: str,
                 stabilize: bool = True, limits: bool = False):
        self.inputs, self.outputs, self._single = inputs, outputs, single
        self._stabilize, self._limits = bool(stabilize), bool(limits)
        self._requested_backend = backend
        self._key_text = (key_text(tuple((o.shape, o.dtype.value, o.body) for o in outputs)),
                          key_text(tuple(getattr(t, "body", t) for t in inputs)),
                          str(single), str(self._stabilize),
                          *(["limits"] if self._limits else []))
        text = ", ".join(o.name or str(o.body) for o in outputs)
        self.__name__ = self.__qualname__ = pickling.readable_name(text, *self._key_text)
        self._kinds = [_label_of(t) for t in inputs]
        check_signature(inputs, outputs)   # cheap, also on a warm cache hit (no symbolic work)
        self.backend = _resolve_backend(backend)
        self.gufunc = None
        if self.backend == "cuda":
            from .cuda.launch import current_device

            current_device()  # BackendUnavailable now, not at the first call
            self._cuda  # noqa: B018
        elif self.backend == "cpu":
            self._build()
        else:
            self._kernels  # noqa: B018 (validate now, not at the first call)

    # Stages are computed on first use: a warm cache hit needs none of them.
    @functools.cached_property
    def _program(self) -> TensorProgram:
        return prepare_tensors(self.inputs, self.outputs, stabilize=self._stabilize,
                               limits=self._limits)

    @functools.cached_property
    def _kernels(self) -> dict:
        return {dt: passes.run(lower_tensors(self._program, dt), self._target)
                for dt in (DType.FLOAT32, DType.FLOAT64)}

    @property
    def _target(self) -> str:
        return self.backend if self.backend in ("cpu", "cuda") else "numpy"

    @functools.cached_property
    def _cuda(self):
        from .cuda.render import render_cuda

        return render_cuda([self._kernels[DType.FLOAT32], self._kernels[DType.FLOAT64]])

    @functools.cached_property
    def kernel(self) -> Listing:
        """The loop IR after every pass (float64 variant), pretty-printed.

        Notes at the end say where the compiled code copies an operand (a ``gemm``
        operand whose rows are not unit-stride is copied to a contiguous scratch).
        """
        k = self._kernels[DType.FLOAT64]
        notes = []
        for s in k.body:
            if isinstance(s, Call) and self.backend != "cuda":   # the GPU's gemm reads strides
                for b in (s.args[0].a, s.args[0].b, s.args[0].c):
                    if b.role is not Role.TEMP and b.name not in " ".join(notes):
                        notes.append(f"# {b.name}: copied to a contiguous matrix for gemm when "
                                     "its rows are not unit-stride")
        return Listing("\n".join([pformat(k), *notes]))

    def kernel_stages(self) -> dict:
        """The loop IR after each named pass (float64 variant): ``{pass name: listing}``.

        >>> import algebrac as ac
        >>> x = ac.vector("x", ac.dim("n"))
        >>> list(ac.function([x], ac.sum(x), backend="numpy").kernel_stages())[:3]
        ['lowered', 'use_blas', 'scale_into_gemm']
        """
        kernel = lower_tensors(self._program, DType.FLOAT64)
        stages = {"lowered": Listing(pformat(kernel))}
        for p in passes.PIPELINES[self._target]:
            kernel = p(kernel)
            stages[p.__name__] = Listing(pformat(kernel))
        return stages

    @functools.cached_property
    def source(self) -> Listing | None:
        """The generated C library, or CUDA C (``None`` on the numpy backend)."""
        if self.backend == "cuda":
            return Listing(self._cuda.text)
        if self.backend != "cpu":
            return None
        return Listing(self._render().text)

    @property
    def signature(self) -> str:
        """The gufunc signature: core dimensions of each input and output."""
        from .cpu.tensor_render import gufunc_signature

        return gufunc_signature(self._kernels[DType.FLOAT64])[0]

    def _render(self):
        from .cpu.tensor_render import render_tensor_module

        return render_tensor_module([self._kernels[DType.FLOAT32],
                                     self._kernels[DType.FLOAT64]])

    def _build(self) -> None:
        from .cpu import build

        try:
            fkey = build.formula_key("function", *self._key_text)
            module = build.load_indexed(fkey)
            if module is None:
                with progress.compiling(self.__name__) as bar:
                    bar.phase("simplify")
                    self._program  # noqa: B018
                    bar.phase("lower and schedule")
                    self._kernels  # noqa: B018
                    bar.phase("render C")
                    module = build.load(self._render(), fkey)
        except BackendUnavailable:
            self.backend = _resolve_backend("cpu")
            if self.backend != "numpy":
                raise
            return
        self.gufunc = module.gufunc

    # -- calling ---------------------------------------------------------------
    def __call__(self, *args):
        if len(args) != len(self.inputs):
            names = ", ".join(_name(t) for t in self.inputs)
            raise SignatureError(f"this function takes {len(self.inputs)} argument(s) "
                                 f"({names}), got {len(args)}")
        if "dask.array" in sys.modules:
            from . import dask as _dask

            if _dask.has_dask_array(args):
                return _dask.call_function(self, args)
        if self.backend == "cuda":
            from .cuda.call import call_tensor

            return call_tensor(self, self._cuda, args)
        arrays, loop = self._arrays(args)
        dims, batch = self._bind(arrays)
        outs = [np.empty(batch + core, dtype=dt) for core, dt in self._outputs(dims, loop)]
        if self.gufunc is not None:
            sig = tuple(a.dtype for a in arrays) + tuple(o.dtype for o in outs)
            self.gufunc(*arrays, out=tuple(outs), signature=sig, casting="unsafe")
        else:
            self._interpret(arrays, outs, loop, batch)
        return outs[0] if self._single else tuple(outs)

    def _arrays(self, args):
        arrays = [_real_array(t, a) for t, a in zip(self.inputs, args)]
        loop, targets = self._dtypes(args, arrays)
        return [a.astype(w, copy=False) for a, w in zip(arrays, targets)], loop

    def _dtypes(self, args, arrays):
        """The loop dtype (float32 when every float array is) and the dtype of each input."""
        strong = [a.dtype for x, a in zip(args, arrays)
                  if type(x) not in (bool, int, float) and a.dtype.kind == "f"]
        loop = DType.FLOAT32 if strong and all(d == np.float32 for d in strong) else DType.FLOAT64
        targets = []
        for t, (kind, _), arr in zip(self.inputs, self._kinds, arrays):
            want = t.dtype if kind == "tensor" else DType.FLOAT64
            if not want.is_float and arr.dtype.kind == "f":
                raise DTypeError(f"{_name(t)}: expected {want.value} values, got {arr.dtype}")
            targets.append(loop.numpy if want.is_float else want.numpy)
        return loop, targets

    def _outputs(self, dims, loop) -> list:
        """``(core shape, dtype)`` of every output once the sizes are bound."""
        out = []
        for o in self.outputs:
            core = tuple(int(sp.sympify(d).xreplace(dims)) for d in o.shape)
            if any(c < 0 for c in core):
                raise ShapeError(f"output {o.name or ''} would have the negative shape "
                                 f"{core} with {_show(dims)}")
            out.append((core, loop.numpy if o.dtype.is_float else o.dtype.numpy))
        return out

    def _bind(self, arrays):
        tensors, fake, batches = [], {}, []
        for t, (kind, key), arr in zip(self.inputs, self._kinds, arrays):
            nd = t.ndim if kind == "tensor" else 0
            if arr.ndim < nd:
                raise ShapeError(f"{_name(t)}: expected a {nd}-d array of shape "
                                 f"{_fmt(t.shape)}, got shape {_fmt(arr.shape)}")
            batches.append(arr.shape[:arr.ndim - nd])
            if kind == "tensor":
                tensors.append(t)
                fake[key] = types.SimpleNamespace(shape=arr.shape[arr.ndim - nd:])
        dims, source = {}, {}
        _bind_dims(tensors, fake, dims, source)
        needed, constraints, extrema = self._shape_rules
        for s in needed:
            if s not in dims:
                raise SignatureError(f"the size {s} is not bound by any input array")
        for c in constraints:
            lv, rv = int(c.lhs.xreplace(dims)), int(c.rhs.xreplace(dims))
            if lv != rv:
                raise ShapeError(f"{c.why}: {c.lhs}={lv} but {c.rhs}={rv}; they must be equal")
        for what, extent in extrema:
            if extent.xreplace(dims).is_positive is False:
                raise ShapeError(f"{what}: zero-size array to reduction operation which has "
                                 f"no identity (with {_show(dims)})")
        try:
            batch = np.broadcast_shapes(*batches)
        except ValueError as err:
            raise ShapeError(f"the leading (batch) axes of the inputs do not broadcast: "
                             f"{batches}") from err
        return dims, tuple(batch)

    @functools.cached_property
    def _shape_rules(self):
        """What every call checks once sizes are bound, read off the outputs once:
        the sizes they need, their constraints, and the extents of max/min reductions
        (empty ones have no value, as in NumPy)."""
        needed = sorted({s for o in self.outputs for s in o.dims}, key=str)
        constraints = [c for o in self.outputs for c in o.constraints]
        extrema = [(type(r).__name__, hi - lo + 1) for o in self.outputs
                   for r in o.body.atoms(ReduceMax, ReduceMin, LogSumExp)
                   for _, lo, hi in r.limits]
        return needed, constraints, extrema

    def _interpret(self, arrays, outs, loop, batch):
        kernel = self._kernels[loop]
        names = [p.buffer for p in self._program.params]
        onames = [o.buffer for o in self._program.outputs]
        cores = [a.shape[a.ndim - len(p.shape):] if p.shape else () for a, p in
                 zip(arrays, self._program.params)]
        full = [np.broadcast_to(a, batch + c) for a, c in zip(arrays, cores)]
        for idx in np.ndindex(*batch):
            res = interp.run(kernel, {n: a[idx] for n, a in zip(names, full)})
            for o, n in zip(outs, onames):
                o[idx] = res[n]

    # -- pickling and Dask -----------------------------------------------------
    def __reduce__(self):
        outs = self.outputs[0] if self._single else list(self.outputs)
        return (pickling.rebuilder(), ("function", (list(self.inputs), outs),
                                   {"backend": self._requested_backend,
                                    "stabilize": self._stabilize,
                                    **({"limits": True} if self._limits else {})}))

    def __dask_tokenize__(self):
        return ("algebrac.Function", self.__name__, self._key_text, self.backend)

    # -- display ---------------------------------------------------------------
    def __repr__(self) -> str:
        ins = ", ".join(_name(t) for t in self.inputs)
        outs = ", ".join(o.name or str(o.shape) for o in self.outputs)
        return f"<algebrac.Function ({ins}) -> ({outs}), backend={self.backend!r}>"

    def latex(self, names=None, max_lines: int | None = None) -> str:
        r"""The compiled program as LaTeX: shared reductions as named intermediates, then the
        outputs, in index notation with reductions as sums (see :mod:`algebrac.report`).

        ``names``: one LaTeX name (or symbol) per output; by default a named tensor's
        name, a gradient of the scalar first output as ``\partial f/\partial w_{i}``,
        else ``f``, ``g``, ``h``.  A program longer than ``max_lines`` (default 40) folds.
        """
        from .report.program import MAX_LINES, program_latex
        from .report.tensor_program import tensor_program

        return program_latex(tensor_program(self, names), max_lines=max_lines or MAX_LINES)

    def _repr_latex_(self) -> str:
        return r"$\displaystyle " + self.latex() + "$"


def _name(t) -> str:
    return t.name if isinstance(t, Tensor) else str(t)


def _real_array(t, x) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise DTypeError(f"{_name(t)}: expected a real array, got dtype {arr.dtype}")
    return arr


def _show(dims) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(dims.items(), key=lambda kv: str(kv[0])))
