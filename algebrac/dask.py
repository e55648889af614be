"""Compiled callables on Dask arrays: lazy results, one blockwise pass for all outputs.

``uf(dask_array, ...)`` returns a Dask array (a tuple of them for several
outputs) through :func:`dask.array.blockwise`: one task per block computes
every output at once, and each output array is a cheap ``getitem`` of it.
NumPy arrays and scalars among the arguments broadcast as they do for NumPy.
Tasks carry the compiled object itself, which pickles by formula (see
:mod:`algebrac.pickling`), so the same graph runs on the threaded scheduler
and on a ``dask.distributed`` cluster.  Task names start with the callable's
``__name__``, so dashboards and profiles say which formula runs.

NumPy hands ``uf.ufunc(dask_array)`` (the raw ``numpy.ufunc``) to Dask's own
``__array_ufunc__``, which knows one-output ufuncs and looks several-output
ones up by name in ``dask.array.ufunc``; algebrac files its several-output
ufuncs there (under their unique names) as soon as it sees Dask imported, so
that path gives the same lazy tuple.

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

from .errors import ShapeError, SignatureError

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

    * Chunks along the **leading (batch) axes** only: one task per block through
      :func:`dask.array.apply_gufunc` with ``fn.signature`` (core axes stay whole).
    * Chunks along **one core dimension** ``n`` (the rows of a data matrix): one task
      per chunk along ``n`` (every input with an ``n`` axis is sliced alike), then
      the outputs are combined by kind: an output with an ``n`` axis whose formula
      does not otherwise involve ``n`` is concatenated; a sum over ``n`` (times
      factors free of ``n``, plus other such sums: a sum-type loss and its gradient)
      is the sum of the per-chunk results; an output free of ``n`` comes from the
      first chunk.  Any other output (a mean, a max, a log-sum-exp or a centring over
      ``n``) cannot be assembled from chunks: that raises :class:`ShapeError`
      naming it, and rechunking that axis into one chunk is the remedy.
    """
    import dask.array as da

    standins = [_standin(a) for a in args]
    arrays, loop = fn._arrays(standins)
    dims, batch = fn._bind(arrays)
    dtypes = [loop.numpy if o.dtype.is_float else o.dtype.numpy for o in fn.outputs]
    chunked = _chunked_core_dims(fn, args)
    if not chunked:
        sig = fn.signature
        result = da.apply_gufunc(fn, sig, *args, output_dtypes=dtypes if len(dtypes) > 1
                                 else dtypes[0], vectorize=False)
        return result if fn._single or isinstance(result, tuple) else (result,)
    if len(chunked) > 1:
        raise ShapeError(f"the inputs are chunked along several core dimensions "
                         f"({', '.join(sorted(map(str, chunked)))}); algebrac combines chunks "
                         "along one: rechunk the others into one chunk (x.rechunk({axis: -1}))")
    (n,) = chunked
    if batch:
        raise ShapeError(f"chunks along the core dimension {n} and leading batch axes "
                         f"{batch} together are not supported: rechunk {n} into one chunk "
                         "or drop the batch axes")
    kinds = [_combine_kind(o, n) for o in fn.outputs]
    bad = [f"output {k} ({o.name or o.body})" for k, (o, kind) in
           enumerate(zip(fn.outputs, kinds)) if kind is None]
    if bad:
        raise ShapeError(
            f"{'; '.join(bad)} cannot be computed chunk by chunk along {n}: only outputs "
            f"indexed by {n}, sums over {n} (a sum-type loss, its gradient) and outputs "
            f"free of {n} combine from chunks. Rechunk that axis into one chunk "
            "(x.rechunk({axis: -1})) or compute this output separately")
    return _chunked_call(fn, args, n, kinds, dims, dtypes)


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


def _chunked_core_dims(fn, args) -> set:
    out = set()
    for a, axis, d in _core_axes(fn, args):
        chunks = getattr(a, "chunks", None)
        if chunks is not None and len(chunks[axis]) > 1:
            out.add(d)
    return out


def _combine_kind(o, n):
    """How chunk results of output ``o`` combine along ``n``: rows/sum/same, or None."""
    # An IndexedBase carries its shape (n, m) among its free symbols: look past it.
    body = o.body.xreplace({b: sp.IndexedBase(b.label) for b in o.body.atoms(sp.IndexedBase)})

    def mentions(e) -> bool:
        return n in e.free_symbols

    if n in o.shape:
        return "rows" if not mentions(body) and o.shape.count(n) == 1 else None
    if not mentions(body):
        return "same"

    def additive(e) -> bool:
        if isinstance(e, sp.Sum):
            over = [lim for lim in e.limits if lim[1] == 0 and lim[2] == n - 1]
            rest = [lim for lim in e.limits if lim not in over]
            return len(over) == 1 and not mentions(e.function) and not any(
                mentions(sp.Tuple(*lim)) for lim in rest)
        if isinstance(e, sp.Add):
            return all(additive(a) for a in e.args)
        if isinstance(e, sp.Mul):
            varying = [a for a in e.args if mentions(a)]
            return len(varying) == 1 and additive(varying[0])
        return False

    return "sum" if additive(body) else None


def _chunked_call(fn, args, n, kinds, dims, dtypes):
    import dask
    import dask.array as da
    from dask.base import tokenize

    bounds, axes = None, []
    for a, axis, d in _core_axes(fn, args):
        if d == n:
            axes.append((a, axis))
            chunks = getattr(a, "chunks", None)
            if bounds is None and chunks is not None and len(chunks[axis]) > 1:
                bounds = np.cumsum((0,) + chunks[axis])  # other inputs are sliced alike
    token = tokenize(fn, *args)
    call = dask.delayed(fn, pure=True)
    parts = []
    for c, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        sliced = list(args)
        for k, a in enumerate(args):
            for b, axis in axes:
                if b is a:
                    sliced[k] = sliced[k][(slice(None),) * axis + (slice(int(lo), int(hi)),)]
        parts.append(call(*sliced, dask_key_name=f"{fn.__name__}-{token}-{c}"))
    results = []
    for j, (o, kind, dt) in enumerate(zip(fn.outputs, kinds, dtypes)):
        item = [p if fn._single else p[j] for p in parts]

        def shape(rows=None):
            local = dict(dims) if rows is None else {**dims, n: rows}
            return tuple(int(sp.sympify(d).xreplace(local)) for d in o.shape)

        if kind == "rows":
            axis = o.shape.index(n)
            results.append(da.concatenate(
                [da.from_delayed(it, shape=shape(int(hi - lo)), dtype=dt)
                 for it, lo, hi in zip(item, bounds[:-1], bounds[1:])], axis=axis))
        elif kind == "sum":
            total = dask.delayed(sum, pure=True)(item, dask_key_name=f"{fn.__name__}_{j}"
                                                 f"-sum-{token}")
            results.append(da.from_delayed(total, shape=shape(), dtype=dt,
                                           name=f"{fn.__name__}_{j}-{token}"))
        else:
            results.append(da.from_delayed(item[0], shape=shape(), dtype=dt,
                                           name=f"{fn.__name__}_{j}-{token}"))
    return results[0] if fn._single else tuple(results)

