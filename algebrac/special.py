"""Special functions by their SciPy names, elementwise on Tensors and SymPy scalars.

``ac.special.jv(nu, x)`` is ``sympy.besselj(nu, x)``: on SymPy scalars it returns
the SymPy expression, on Tensors a Tensor (broadcasting like NumPy).  Each
wrapper comes from a row of :mod:`algebrac.mathfuncs` (its ``api`` name), so
compiled code calls SciPy's own C implementation.

>>> import sympy as sp, algebrac as ac
>>> x = sp.Symbol("x")
>>> ac.special.jv(1, x), ac.special.gammainc(2, x)
(besselj(1, x), gammainc(2, x))
>>> ac.special.hyp2f1(1, 1, 2, ac.vector("z", 3)).body
hyp2f1(1, 1, 2, z[i_0])
>>> sorted(__all__)[:4]
['beta', 'betainc', 'gammainc', 'gammaincc']
"""
from __future__ import annotations

from .expr.elementwise import FLOAT, apply
from .mathfuncs import FUNCTIONS

__all__: list = []


def _wrapper(row):
    def wrapper(*args):
        if len(args) != row.nargs:
            from .errors import SignatureError

            raise SignatureError(f"ac.special.{row.api} takes {row.nargs} arguments, "
                                 f"got {len(args)}")
        return apply(row.api, row.sympy, args, FLOAT)

    wrapper.__name__ = wrapper.__qualname__ = row.api
    wrapper.__doc__ = (f"SciPy's ``{row.api}`` elementwise: ``{row.sympy.__module__}."
                       f"{row.sympy.__name__}`` in SymPy.")
    return wrapper


for _row in FUNCTIONS.values():
    if _row.api:
        globals()[_row.api] = _wrapper(_row)
        __all__.append(_row.api)
