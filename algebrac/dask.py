"""Compiled callables on Dask arrays: lazy results, one blockwise pass for all outputs.

``uf(dask_array, ...)`` returns a Dask array (a tuple for several outputs)
through :func:`dask.array.blockwise`: one task per block computes every
output, and each output is a cheap ``getitem`` of it.  Tasks carry the
compiled object, which pickles by formula (:mod:`algebrac.pickling`), so the
graph runs on threads and on ``dask.distributed`` alike; task names start with
its ``__name__``.  For ``uf.ufunc(dask_array)``, Dask's ``__array_ufunc__``
looks several-output ufuncs up by name in ``dask.array.ufunc``: algebrac files
them there once Dask is imported, so that path gives the same lazy tuple.

>>> import numpy as np, sympy as sp, dask.array as da, algebrac as ac
>>> x, y = sp.symbols("x y")
>>> uf = ac.compile([x * y, x + y], [x, y])
>>> p, s = uf(da.arange(6.0, chunks=3), 2.0)
>>> p.compute().tolist(), s.compute().tolist()
([0.0, 2.0, 4.0, 6.0, 8.0, 10.0], [2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
"""
from __future__ import annotations

import functools
import operator
import sys

import numpy as np
import sympy as sp

from .errors import SignatureError
from .expr.functions import LogSumExp, ReduceMax, ReduceMin

__all__ = ["has_dask_array", "call", "register_ufunc", "call_function"]

_KWARGS = ("dtype", "casting")


def has_dask_array(inputs) -> bool:
    """True when one of ``inputs`` is a ``dask.array.Array`` (never imports Dask)."""
    da = sys.modules.get("dask.array")
    array_type = getattr(da, "Array", None)
    return array_type is not None and any(isinstance(x, array_type) for x in inputs)


def call(uf, inputs: tuple, kwargs: dict):
    """``uf(*inputs, **kwargs)`` as lazy Dask arrays (a tuple for several outputs)."""
    import dask.array as da
    from dask.base import tokenize

    extra = sorted(set(kwargs) - set(_KWARGS))
    if extra:
        raise SignatureError(
            f"{', '.join(extra)} cannot be used with Dask arrays (Dask makes its own "
            "outputs); compute the result, or use dask.array.map_blocks with out= per block")
    dtypes = _result_dtypes(uf, inputs, kwargs)
    func = functools.partial(uf, **kwargs) if kwargs else uf
    args = [x if isinstance(x, da.Array) or type(x) in (bool, int, float) else np.asarray(x)
            for x in inputs]
    ndim = max(np.ndim(x) for x in args)
    pairs = []
    for x in args:  # NumPy's broadcasting aligns trailing axes: index them from the end
        pairs += [x, None] if np.ndim(x) == 0 else [x, tuple(range(x.ndim))[::-1]]
    out_ind = tuple(range(ndim))[::-1]
    token = tokenize(uf, *args, kwargs)
    empty = np.empty((0,) * ndim, dtypes[0])
    if uf.nout == 1:
        return da.blockwise(func, out_ind, *pairs, dtype=dtypes[0], meta=empty,
                            name=f"{uf.__name__}-{token}")
    # One task per block computes every output (a tuple); each output takes its item.
    both = da.blockwise(func, out_ind, *pairs, meta=np.empty((0,) * ndim, object),
                        name=f"{uf.__name__}-{token}")
    return tuple(both.map_blocks(operator.getitem, k, dtype=dt,
                                 meta=np.empty((0,) * ndim, dt),
                                 name=f"{uf.__name__}_{k}-{token}")
                 for k, dt in enumerate(dtypes))


def _result_dtypes(uf, inputs, kwargs) -> tuple:
    # NumPy's own type resolution on 0-d stand-ins (Python scalars stay weak).
    probes = [x if type(x) in (bool, int, float)
              else np.zeros((), x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype)
              for x in inputs]
    with np.errstate(all="ignore"):
        results = uf(*probes, **kwargs)
    results = results if isinstance(results, tuple) else (results,)
    return tuple(np.asarray(r).dtype for r in results)


def register_ufunc(uf) -> bool:
    """File a several-output compiled ufunc in ``dask.array.ufunc`` by its unique name.

    Returns whether Dask's module was there to file it in (one-output ufuncs need
    no filing: Dask maps those itself).
    """
    module = sys.modules.get("dask.array.ufunc")
    if module is None:
        return False
    if uf.ufunc is not None and uf.nout > 1 and not hasattr(module, uf.ufunc.__name__):
        setattr(module, uf.ufunc.__name__, _DaskEntry(uf))
    return True


class _DaskEntry:
    """What Dask's ``__array_ufunc__`` calls for ``uf.ufunc(dask_array, ...)``."""

    def __init__(self, uf):
        self.uf = uf
        self.__name__ = uf.__name__

    def __call__(self, *inputs, **kwargs):
        return call(self.uf, inputs, kwargs)


# ---- ac.function on Dask arrays ----------------------------------------------------------

def call_function(fn, args: tuple):
    """``fn(*args)`` for a compiled tensor program when some arguments are Dask arrays.

    One task per block calls ``fn`` on NumPy blocks (every output at once):

    * chunks along the leading (batch) axes map blockwise, broadcasting as NumPy;
    * chunks along one core dimension ``n`` (the rows of a data matrix) give one
      task per chunk; each output is assembled by kind: rows indexed by ``n``
      concatenate, sums over ``n`` (a sum-type loss and its gradient) add, max,
      min and log-sum-exp combine with ``maximum``, ``minimum``, ``logaddexp``,
      and an output reading nothing along ``n`` comes from the first chunk;
    * any other output (a mean, a softmax over ``n``, ...), and other chunked
      core dimensions, are computed from inputs rechunked to one chunk, with a
      ``PerformanceWarning``: that task holds the whole axis in memory.
    """
    import dask.array as da

    arrays, loop = fn._arrays([_standin(a) for a in args])
    dims, batch = fn._bind(arrays)
    dtypes = [loop.numpy if o.dtype.is_float else o.dtype.numpy for o in fn.outputs]
    args = [a if type(a) in (bool, int, float) else da.asarray(a) for a in args]
    counts = {}
    for a, axis, d in _core_axes(fn, args):
        counts[d] = max(counts.get(d, 1), len(a.chunks[axis]))
    chunked = sorted((d for d in counts if counts[d] > 1), key=lambda d: (-counts[d], str(d)))
    n = chunked[0] if chunked else None
    kinds = [_combine_kind(o, n) if n is not None else "one" for o in fn.outputs]
    whole = [f"output {j} ({o.name or o.body})" for j, (o, kind) in
             enumerate(zip(fn.outputs, kinds)) if kind is None]
    if len(chunked) > 1 or whole:
        _warn_rechunk(n, chunked[1:], whole)
    nb = len(batch)
    results = [None] * len(kinds)
    if any(k is not None for k in kinds):
        parts = _partials(fn, args, n, nb)
        for j, kind in enumerate(kinds):
            if kind is not None:
                results[j] = _assemble(fn, parts, j, kind, n, nb, dims, dtypes[j])
    if whole:
        parts = _partials(fn, args, None, nb)
        for j, kind in enumerate(kinds):
            if kind is None:
                results[j] = _assemble(fn, parts, j, "one", None, nb, dims, dtypes[j])
    return results[0] if fn._single else tuple(results)


def _warn_rechunk(n, others, whole):
    import warnings

    from dask.array.core import PerformanceWarning

    said = [f"the core dimension(s) {', '.join(map(str, others))} are rechunked into one "
            f"chunk (algebrac splits one core dimension, here {n})"] if others else []
    if whole:
        said.append(f"{'; '.join(whole)} cannot be assembled from chunks along {n} (only "
                    f"rows indexed by {n}, sums, max, min and log-sum-exp over {n}, and "
                    f"outputs that read nothing along {n} can): they are computed from "
                    f"inputs rechunked into one chunk along {n}")
    warnings.warn("; ".join(said) + ", so one task holds a whole axis in memory. Compute "
                  "those outputs separately, or rechunk (x.rechunk({axis: -1})) to silence "
                  "this", PerformanceWarning, stacklevel=4)


def _standin(a):
    """A zero-memory array with ``a``'s shape and dtype (a Dask array is never computed)."""
    if type(a) in (bool, int, float):
        return a
    dtype = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype
    return np.broadcast_to(np.zeros((), dtype), np.shape(a))


def _core_axes(fn, args):
    """(argument, axis, dim) for every core axis of every array argument."""
    for t, (kind, _), a in zip(fn.inputs, fn._kinds, args):
        if kind != "tensor":
            continue
        lead = np.ndim(a) - t.ndim
        for j, d in enumerate(t.shape):
            yield a, lead + j, d


def _combine_kind(o, n):
    """How the per-chunk results of output ``o`` combine along ``n``, or None.

    Sound only when every read of an input along an ``n`` axis goes through the one
    index that runs over ``n`` (the output's row index, or the reduction's variable)
    and that index appears nowhere else: a chunk then sees its rows renumbered from
    0 and nothing else changes.
    """
    along = {b.label: {k for k, d in enumerate(b.shape or ()) if d == n}
             for b in o.body.atoms(sp.IndexedBase)}
    # An IndexedBase carries its shape (n, m) among its free symbols: look past it.
    body = o.body.xreplace({b: sp.IndexedBase(b.label) for b in o.body.atoms(sp.IndexedBase)})

    def free(e) -> bool:
        return n not in e.free_symbols

    def reads_along(e, var) -> bool:
        hits = e.atoms(sp.Indexed)
        for a in hits:
            axes = along.get(a.base.label, set())
            for k, ix in enumerate(a.indices):
                if (ix != var) if k in axes else (var is not None and var in ix.free_symbols):
                    return False
        rest = e.xreplace({a: sp.Dummy() for a in hits})
        return var is None or var not in rest.free_symbols

    if any(not free(sp.sympify(d)) for d in o.shape if d != n):
        return None
    if n in o.shape:
        var = o.indices[o.shape.index(n)]
        return "rows" if o.shape.count(n) == 1 and free(body) and reads_along(body, var) else None
    if free(body) and reads_along(body, None):
        return "same"

    def over_n(e):
        """The variable of the one limit of ``e`` running over all of ``n``, if sound."""
        over = [lim for lim in e.limits if lim[1] == 0 and lim[2] == n - 1]
        rest = [lim for lim in e.limits if lim not in over]
        if len(over) != 1 or not free(e.function) or not all(free(sp.Tuple(*r)) for r in rest):
            return None
        var = over[0][0]
        ok = reads_along(e.function, var) and not any(var in sp.Tuple(*r).free_symbols
                                                      for r in rest)
        return var if ok else None

    if isinstance(body, tuple(_EXTREMA)) and len(body.limits) == 1:
        return _EXTREMA[type(body)] if over_n(body) is not None else None

    def additive(e) -> bool:
        if isinstance(e, sp.Sum):
            return over_n(e) is not None
        if isinstance(e, sp.Add):
            return all(additive(a) for a in e.args)
        if isinstance(e, sp.Mul):
            varying = [a for a in e.args if not (free(a) and reads_along(a, None))]
            return len(varying) == 1 and additive(varying[0])
        return False

    return "sum" if additive(body) else None


_EXTREMA = {ReduceMax: "max", ReduceMin: "min", LogSumExp: "logsumexp"}
_COMBINE = {"sum": sum,
            "max": functools.partial(functools.reduce, np.maximum),
            "min": functools.partial(functools.reduce, np.minimum),
            "logsumexp": functools.partial(functools.reduce, np.logaddexp)}


def _letter(d) -> str:
    return f"_d{d}"


def _partials(fn, args, n, nb):
    """Dask array (batch blocks [x chunks along n]) of tuples: every output of one call.

    Core axes other than ``n`` are rechunked into one chunk, and every ``n`` axis
    into the chunks of the input with the most of them."""
    import dask.array as da
    from dask.base import tokenize

    ref = None
    if n is not None:
        ref = max((a.chunks[axis] for a, axis, d in _core_axes(fn, args) if d == n), key=len)
    pairs = []
    for t, (kind, _), a in zip(fn.inputs, fn._kinds, args):
        if type(a) in (bool, int, float):
            pairs += [a, None]
            continue
        core = t.shape if kind == "tensor" else ()
        lead = a.ndim - len(core)
        a = a.rechunk({lead + j: ref if d == n else -1 for j, d in enumerate(core)})
        pairs += [a, tuple(f"_b{nb - lead + k}" for k in range(lead))
                  + tuple(_letter(d) for d in core)]
    index = tuple(f"_b{k}" for k in range(nb)) + ((_letter(n),) if n is not None else ())
    return da.blockwise(_Call(fn), index, *pairs, concatenate=True,
                        meta=np.empty((0,) * len(index), object),
                        name=f"{fn.__name__}-{tokenize(fn, n, *args)}")


def _assemble(fn, parts, j, kind, n, nb, dims, dtype):
    """Output ``j`` from the per-block tuples: taken blockwise, or combined along ``n``."""
    import dask.array as da
    from dask.base import tokenize

    o = fn.outputs[j]
    core = tuple(_letter(n) if d == n and kind == "rows" else f"_o{k}"
                 for k, d in enumerate(o.shape))
    sizes = {c: int(sp.sympify(d).xreplace(dims)) for c, d in zip(core, o.shape)
             if c.startswith("_o")}
    batch = tuple(f"_b{k}" for k in range(nb))
    index = batch + ((_letter(n),) if n is not None else ())
    func = operator.itemgetter(j) if kind in ("rows", "one") else _Combine(j, kind)
    return da.blockwise(func, batch + core, parts, index, new_axes=sizes,
                        concatenate=kind in ("rows", "one"), dtype=dtype,
                        meta=np.empty((0,) * (nb + len(core)), dtype),
                        name=f"{fn.__name__}_{j}-{tokenize(parts, j, kind)}")


class _Call:
    """A block task: every output of ``fn`` on NumPy blocks, as a tuple."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *blocks):
        out = self.fn(*blocks)
        return out if isinstance(out, tuple) else (out,)


class _Combine:
    """Output ``j`` of the chunks along ``n`` (a list), combined by ``kind``."""

    def __init__(self, j, kind):
        self.j, self.kind = j, kind

    def __call__(self, parts):
        items = [p[self.j] for p in parts]
        with np.errstate(invalid="ignore"):  # logaddexp of a NaN partial: NaN, quietly
            return np.asarray(items[0] if self.kind == "same" else _COMBINE[self.kind](items))
