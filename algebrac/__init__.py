"""algebrac: a computer-algebra-first compiler for numeric formulas.

>>> import sympy as sp, numpy as np, algebrac as ac
>>> x, y = sp.symbols("x y")
>>> uf = ac.compile(sp.sin(x) * y, [x, y])
>>> bool(uf(0.5, 2.0) == 2.0 * np.sin(0.5))
True
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import errors
from .errors import *  # noqa: F401,F403
from .dtypes import DType
from .expr import *  # noqa: F401,F403  (tensor API)
from . import config
from ._kernels import get_num_threads, set_num_threads
from .threads import register_with_threadpoolctl as _register_threads
from .cpu import cache
from . import simplify  # noqa: E402  (the package is callable: ac.simplify(expr))
from .simplify import cse, stabilize  # noqa: E402
from .ufunc import Ufunc, compile  # noqa: A004
from .function import Function, function  # noqa: E402
from . import special  # noqa: E402  (ac.special.jv, ac.special.gammainc, ...)
from . import diff  # noqa: E402  (the package is callable: ac.diff(expr, var, n))
from .diff import grad, hessian, hvp, jacobian, jvp, vjp  # noqa: E402
from .report.precision import precision  # noqa: E402
from .solvers import objective, ode  # noqa: E402

_register_threads()
