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

from .errors import SignatureError

__all__ = ["has_dask_array", "call", "register_ufunc"]

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
