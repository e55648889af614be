"""Special functions by their SciPy names, elementwise on Tensors and SymPy scalars.

``ac.special.jv(nu, x)`` is ``sympy.besselj(nu, x)``: on SymPy scalars it returns
the SymPy expression, on Tensors a Tensor (broadcasting like NumPy).  Each
wrapper comes from a row of :mod:`algebrac.mathfuncs` (its ``api``), so
compiled code calls SciPy's own C implementation (``sinc`` and ``polygamma``
have C helpers of their own).

>>> import sympy as sp, algebrac as ac
>>> x = sp.Symbol("x")
>>> ac.special.jv(1, x), ac.special.gammainc(2, x)
(besselj(1, x), gammainc(2, x))
>>> ac.special.hyp2f1(1, 1, 2, ac.vector("z", 3)).body
hyp2f1(1, 1, 2, z[i_0])
>>> print(*sorted(__all__))
beta betainc binom gammainc gammaincc hyp0f1 hyp1f1 hyp2f1 iv jv kv polygamma sinc spence yv zeta
>>> ac.special.jv(1.0)
Traceback (most recent call last):
...
algebrac.errors.SignatureError: ac.special.jv(v, x) takes 2 arguments: missing a required argument: 'x'
"""
from __future__ import annotations

from .expr.elementwise import SPECIAL_WRAPPERS

# The wrappers are made in algebrac.expr.elementwise (one per table row with an
# ``api`` in ac.special); __test__ makes pytest run their doctests from here.
globals().update(SPECIAL_WRAPPERS)
__all__ = list(SPECIAL_WRAPPERS)
__test__ = dict(SPECIAL_WRAPPERS)
