r"""Symbolic derivatives: exact gradients you can read, check, print and then compile.

* :func:`diff`, :func:`grad`, :func:`jacobian`, :func:`hessian` -- derivatives of
  plain SymPy formulas and of Tensors;
* :func:`jvp`, :func:`vjp`, :func:`hvp` -- products with the Jacobian or the
  Hessian, computed without forming them.

Tensor derivatives are taken in index notation and every Kronecker delta is
eliminated using the ranges of the indices; boundaries that are real (a
shifted slice) stay as guards.  Results are ordinary formulas: they print,
substitute, evaluate (``ac.evaluate``) and compile.

>>> import sympy as sp, algebrac as ac
>>> x, y = sp.symbols("x y")
>>> f = sp.exp(-x**2 - y**2) * sp.sin(x * y)
>>> ac.grad(f, [x, y])[0]
(-2*x*sin(x*y) + y*cos(x*y))*exp(-x**2 - y**2)
"""
from __future__ import annotations

import sys
import types

from .api import diff, grad, hessian, hvp, jacobian, jvp, vjp

__all__ = ["diff", "grad", "hessian", "hvp", "jacobian", "jvp", "vjp"]


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`diff`.

    NOTE: ``ac.diff`` must be both this package (``import algebrac.diff.api``
    resolves attributes along the dotted path, and importing a submodule
    rebinds ``algebrac.diff`` to the package) and the public function.  So
    ``algebrac.diff`` is the package, and calling it calls :func:`diff`.
    """

    def __call__(self, expr, var, n: int = 1):
        """``ac.diff(expr, var, n=1)``: see :func:`algebrac.diff.api.diff`."""
        return diff(expr, var, n)


sys.modules[__name__].__class__ = _CallableModule
