"""Compiled formulas for SciPy's integrators, ODE solvers and optimizers.

SciPy calls back one point at a time, so these compile to one C function over
flat vectors (:mod:`algebrac.cpu.vecfunc`) instead of a ufunc:
``uf.low_level_callable()`` for ``quad``/``nquad`` (no Python call per point),
:func:`ode` (``fun``, a compiled sparse ``jac`` and ``jac_sparsity`` for
``solve_ivp``) and :func:`objective` (value and gradient in one call for
``minimize(..., jac=True)``, ``hessp`` from :func:`algebrac.hvp`).
``notebooks/06-scipy-and-dask.ipynb`` times each against lambdify.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from .errors import SignatureError
from .lower.elementwise import as_formula

__all__ = ["low_level_callable", "ode", "OdeSystem", "objective", "Objective"]


def _module(exprs, args, stabilize, limits=False):
    from .cpu.vecfunc import compile_vector

    return compile_vector(exprs, args, stabilize=stabilize, limits=limits)


def low_level_callable(uf):
    """A ``scipy.LowLevelCallable`` computing ``uf``'s single output at one point.

    Its C signature is ``double (int n, double *xx)``: ``quad`` passes the
    integration variable followed by its ``args``, ``nquad`` every variable and
    then the ``args``, in the order of ``uf.args``.  A call with another count
    returns NaN.

    >>> import sympy as sp, algebrac as ac
    >>> from scipy.integrate import quad
    >>> x, s = sp.symbols("x s")
    >>> gauss = ac.compile(sp.exp(-x**2 / (2 * s**2)), [x, s])
    >>> value, err = quad(gauss.low_level_callable(), -40, 40, args=(2.0,))
    >>> round(value / (2.0 * (2 * 3.141592653589793) ** 0.5), 12)
    1.0
    """
    from scipy import LowLevelCallable

    if uf.nout != 1:
        raise SignatureError(f"low_level_callable() needs a formula with one output; this one "
                             f"has {uf.nout}: compile the output you integrate on its own")
    module = _module(uf.exprs, uf.args, uf._stabilize, uf._limits)
    return LowLevelCallable(module.scalar_capsule)


def _index(symbols, what: str) -> dict:
    symbols = list(symbols)
    for s in symbols:
        if not isinstance(s, sp.Symbol):
            raise SignatureError(f"{what} must be SymPy symbols, got {s!r}")
    return {s: k for k, s in enumerate(symbols)}


class OdeSystem:
    """``dy/dt = rhs(t, y, *params)`` compiled for :func:`scipy.integrate.solve_ivp`.

    ``fun(t, y, *params)`` returns the derivative; ``jac(t, y, *params)`` the
    Jacobian as a ``scipy.sparse.csc_matrix`` holding only the structural
    non-zeros (BDF, Radau and LSODA then factor it sparsely); ``jac_sparsity``
    is that pattern, for solvers given no ``jac``; ``nnz`` counts it.  Entries
    that are constants are evaluated once, at construction; only the others
    are compiled (none, for a linear system).
    """

    def __init__(self, rhs, y, t=None, params=(), *, stabilize: bool = True):
        self.rhs = tuple(as_formula(e) for e in rhs)
        self.y, self.params = tuple(y), tuple(params)
        if len(self.rhs) != len(self.y):
            raise SignatureError(f"ode() needs one right-hand side per state: {len(self.rhs)} "
                                 f"expressions for {len(self.y)} states")
        self.t = t if t is not None else sp.Dummy("t")
        self._args = (self.t, *self.y, *self.params)
        index = _index(self.y, "ode() states")
        _index(self._args, "ode() arguments")
        n = len(self.y)
        entries = {}  # (column, row) -> derivative, so the data come out in CSC order
        states = set(index)
        for i, f in enumerate(self.rhs):
            for s in f.free_symbols & states:
                d = sp.diff(f, s)
                if d != 0:
                    entries[index[s], i] = d
        order = sorted(entries)
        from scipy import sparse

        rows = np.array([i for _, i in order], dtype=np.int32)
        cols = np.array([j for j, _ in order], dtype=np.int32)
        self.nnz = len(order)
        self.jac_sparsity = sparse.csc_matrix((np.ones(self.nnz), (rows, cols)), shape=(n, n))
        self._pattern = (self.jac_sparsity.indices.copy(), self.jac_sparsity.indptr.copy())
        self._stabilize = stabilize
        self._jac_exprs = [entries[k] for k in order]
        # Constant entries (the diffusion stencil of a discretised PDE: most of them) are
        # computed once here, correctly rounded; the compiled Jacobian computes the rest.
        self._varying = np.array([k for k, e in enumerate(self._jac_exprs)
                                  if e.free_symbols], dtype=np.intp)
        self._jac_data = np.array([0.0 if e.free_symbols else float(sp.N(e, 30))
                                   for e in self._jac_exprs])
        self._rhs_module = _module(self.rhs, self._args, stabilize)
        self._n = n

    @functools.cached_property
    def _jac_module(self):
        varying = [self._jac_exprs[k] for k in self._varying]
        return _module(varying, self._args, self._stabilize) if varying else None

    def _point(self, t, y, params):
        if len(params) != len(self.params):
            raise SignatureError(f"this system takes {len(self.params)} parameter(s) "
                                 f"{self.params}, got {len(params)}")
        return np.concatenate(([t], np.asarray(y, dtype=np.float64).ravel(), params))

    def fun(self, t, y, *params):
        """``dy/dt`` at ``(t, y)``."""
        out = np.empty(self._n)
        self._rhs_module.evaluate(self._point(t, y, params), out)
        return out

    def jac(self, t, y, *params):
        """The Jacobian ``d(dy/dt)/dy`` at ``(t, y)``, sparse (CSC)."""
        from scipy import sparse

        data = self._jac_data.copy()
        point = self._point(t, y, params)
        if self._jac_module is not None:
            varying = np.empty(len(self._varying))
            self._jac_module.evaluate(point, varying)
            data[self._varying] = varying
        indices, indptr = self._pattern
        return sparse.csc_matrix((data, indices, indptr), shape=(self._n, self._n))


def ode(rhs, y, t=None, params=(), *, stabilize: bool = True) -> OdeSystem:
    """Compile ``dy/dt = rhs`` for ``solve_ivp``: ``fun``, sparse ``jac``, ``jac_sparsity``.

    ``rhs``: one SymPy expression per state in ``y`` (symbols); ``t``: the time
    symbol if the system depends on it; ``params``: symbols passed through
    ``solve_ivp(..., args=(...))``.

    >>> import numpy as np, sympy as sp, algebrac as ac
    >>> from scipy.integrate import solve_ivp
    >>> u, v, k = sp.symbols("u v k")
    >>> osc = ac.ode([v, -k * u], [u, v], params=[k])
    >>> osc.jac_sparsity.toarray().tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    >>> sol = solve_ivp(osc.fun, (0, np.pi), [1.0, 0.0], args=(1.0,), jac=osc.jac,
    ...                 method="BDF", rtol=1e-10, atol=1e-12)
    >>> round(float(sol.y[0, -1]), 6)
    -1.0
    """
    return OdeSystem(rhs, y, t, params, stabilize=stabilize)


class Objective:
    """A scalar objective ``f(x, *params)`` compiled for :func:`scipy.optimize.minimize`.

    ``fun(x, *params)`` returns ``(value, gradient)`` from one compiled pass
    (pass ``jac=True``); ``value(x, *params)`` the value alone;
    ``hessp(x, p, *params)`` the Hessian-vector product (:func:`algebrac.hvp`,
    compiled on first use; no Hessian is formed).
    """

    def __init__(self, f, x, params=(), *, stabilize: bool = True):
        from .diff import grad

        self.f, self.x, self.params = as_formula(f), tuple(x), tuple(params)
        _index((*self.x, *self.params), "objective() arguments")
        self._n, self._stabilize = len(self.x), stabilize
        self.gradient = tuple(grad(self.f, list(self.x)))
        self._module = _module((self.f, *self.gradient), (*self.x, *self.params), stabilize)

    def _point(self, x, params):
        if len(params) != len(self.params):
            raise SignatureError(f"this objective takes {len(self.params)} parameter(s) "
                                 f"{self.params}, got {len(params)}")
        return np.concatenate((np.asarray(x, dtype=np.float64).ravel(), params))

    def fun(self, x, *params):
        """``(f(x), grad f(x))``, for ``minimize(obj.fun, x0, jac=True)``."""
        out = np.empty(self._n + 1)
        self._module.evaluate(self._point(x, params), out)
        return out[0], out[1:]

    def value(self, x, *params) -> float:
        """``f(x)`` alone."""
        return self.fun(x, *params)[0]

    @functools.cached_property
    def _hvp_module(self):
        from .diff import hvp

        v = sp.symbols(f"_ac_v0:{self._n}", real=True)
        return _module(hvp(self.f, list(self.x), list(v)), (*self.x, *v, *self.params),
                       self._stabilize)

    def hessp(self, x, p, *params):
        """The Hessian of ``f`` at ``x`` times the vector ``p``."""
        point = self._point(x, params)
        full = np.concatenate((point[:self._n], np.asarray(p, dtype=np.float64).ravel(),
                               point[self._n:]))
        out = np.empty(self._n)
        self._hvp_module.evaluate(full, out)
        return out


def objective(f, x, params=(), *, stabilize: bool = True) -> Objective:
    """Compile a scalar objective over the symbols ``x`` for ``scipy.optimize.minimize``.

    >>> import numpy as np, sympy as sp, algebrac as ac
    >>> from scipy.optimize import minimize
    >>> a, b = sp.symbols("a b")
    >>> rosen = ac.objective((1 - a)**2 + 100 * (b - a**2)**2, [a, b])
    >>> res = minimize(rosen.fun, [-1.2, 1.0], jac=True, hessp=rosen.hessp, method="trust-ncg")
    >>> np.round(res.x, 4).tolist()
    [1.0, 1.0]
    """
    return Objective(f, x, params, stabilize=stabilize)
