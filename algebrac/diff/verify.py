"""``verify_grad``: check symbolic gradients against central differences along random directions.

After PyTensor's ``verify_grad`` and JAX's ``check_jvp``: per variable and test,
``<grad, v>`` for a random direction ``v`` (entries of magnitude in [0.5, 1.5),
random signs) is compared with ``(f(x + h v) - f(x - h v)) / 2h``, computed in
float64 with a tolerance for the gradient's dtype.  A non-scalar Tensor is
first projected to ``sum(u * f)`` with random weights ``u``; a plain SymPy
formula over arrays is checked element by element.

>>> import numpy as np, algebrac as ac
>>> from algebrac.testing import verify_grad
>>> x = ac.vector("x", ac.dim("n"))
>>> errors = verify_grad(ac.sum(ac.sin(x) ** 2), x, {x: np.linspace(0, 1, 5)})
>>> errors["x"] < 1e-7
True
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..dtypes import DType
from ..errors import AlgebracError, SignatureError
from ..expr.evaluate import evaluate
from ..expr.tensor import Tensor

__all__ = ["TOLERANCES", "GradientError", "verify_grad"]

# (rtol, atol) by the dtype the gradient is delivered in; atol is scaled by max(1, |f|).
TOLERANCES = {DType.FLOAT64: (1e-6, 1e-8), DType.FLOAT32: (2e-3, 1e-4)}
STEP = 2.0 ** -17   # about 7.6e-6, times max(1, |x|): central differences in float64


class GradientError(AlgebracError, AssertionError):
    """A symbolic gradient disagrees with finite differences.

    Attributes: ``variable`` (its name), ``test``, ``analytic``, ``numeric``,
    ``abs_err``, ``rel_err``, ``rtol``, ``atol``, ``step`` and ``where`` (the
    element index for elementwise formulas, else None).
    """

    def __init__(self, variable, test, analytic, numeric, rtol, atol, step, where=None,
                 note=""):
        self.variable, self.test, self.where = variable, test, where
        self.analytic, self.numeric = float(analytic), float(numeric)
        self.abs_err = abs(self.analytic - self.numeric)
        scale = max(abs(self.analytic), abs(self.numeric))
        self.rel_err = self.abs_err / scale if scale else float(self.abs_err > 0) * np.inf
        self.rtol, self.atol, self.step = rtol, atol, step
        at = "" if where is None else f" at element {where}"
        super().__init__(
            f"gradient with respect to {variable} disagrees with central differences{at} "
            f"(test {test}): symbolic directional derivative {self.analytic!r}, numeric "
            f"{self.numeric!r}; abs error {self.abs_err:.3g}, rel error {self.rel_err:.3g} "
            f"(allowed: atol {atol:.3g} + rtol {rtol:.3g} * |value|; step {step:.3g}). "
            f"{note}Print ac.grad(f, {variable}) and compare it with a hand derivation, or "
            "evaluate both on a smaller input.")


def _name(x) -> str:
    return x.name if isinstance(x, (Tensor, sp.Symbol)) else str(x)


def _key(bindings: dict, x):
    """The key under which ``bindings`` holds the value of variable ``x``."""
    candidates = [x]
    if isinstance(x, Tensor) and x.is_input:
        candidates += [x.label, x.name]
    elif isinstance(x, sp.Symbol):
        candidates.append(x.name)
    for c in candidates:
        if c in bindings:
            return c
    raise SignatureError(f"verify_grad: no value for {_name(x)} in bindings")


def _float64(t):
    return Tensor(shape=t.shape, dtype=DType.FLOAT64, body=t.body, constraints=t.constraints)


def _projected(f, bindings, rng):
    """A scalar cost from ``f``: a non-scalar Tensor is weighted by a random ``u``."""
    if not isinstance(f, Tensor) or f.ndim == 0:
        return f, bindings
    from ..expr.reductions import sum as ac_sum
    from ..expr.tensor import tensor

    shape = np.shape(evaluate(f, bindings))
    u = tensor("_ac_u", f.shape)
    bindings = dict(bindings)
    bindings[u] = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return ac_sum(u * f), bindings


def verify_grad(f, wrt, bindings: dict, rng=None, *, n_tests: int = 2, grads=None,
                step: float | None = None, rtol: float | None = None,
                atol: float | None = None) -> dict:
    """Check ``ac.grad(f, wrt)`` (or the given ``grads``) by central differences.

    Parameters
    ----------
    f : a Tensor or a SymPy formula
    wrt : a variable (input tensor or SymPy symbol) or a list of them
    bindings : values of every input, as for ``ac.evaluate``
    rng : a ``numpy.random.Generator`` or a seed (default: a fixed seed)
    n_tests : random directions per variable
    grads : symbolic gradients to check instead of ``ac.grad(f, wrt)`` (mirroring ``wrt``)
    step, rtol, atol : override the step and the dtype-dependent tolerances

    Returns
    -------
    dict mapping each variable's name to the largest relative error seen.

    Raises
    ------
    GradientError
        naming the variable, the test, both values and the tolerance.
    """
    from .api import grad

    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng or 0)
    items = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    cost, bindings = _projected(f, dict(bindings), rng)
    if grads is None:
        grads = grad(cost, items)
    else:
        grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    dtype = f.dtype if isinstance(f, Tensor) else DType.FLOAT64
    d_rtol, d_atol = TOLERANCES.get(dtype, TOLERANCES[DType.FLOAT64])
    rtol = d_rtol if rtol is None else rtol
    cost64 = _float64(cost) if isinstance(cost, Tensor) else cost
    scale = max(1.0, float(np.max(np.abs(evaluate(cost64, bindings)), initial=0.0)))
    atol = d_atol * scale if atol is None else atol
    worst = {}
    for x, g in zip(items, grads):
        key = _key(bindings, x)
        x0 = np.asarray(bindings[key], dtype=np.float64)
        h = (step or STEP) * max(1.0, float(np.max(np.abs(x0), initial=0.0)))
        g_val = np.asarray(evaluate(g, bindings), dtype=np.float64)
        worst[_name(x)] = 0.0
        for test in range(1, n_tests + 1):
            v = rng.uniform(0.5, 1.5, x0.shape) * rng.choice([-1.0, 1.0], x0.shape)
            plus = np.asarray(evaluate(cost64, {**bindings, key: x0 + h * v}), np.float64)
            minus = np.asarray(evaluate(cost64, {**bindings, key: x0 - h * v}), np.float64)
            numeric = (plus - minus) / (2 * h)
            elementwise = not isinstance(cost, Tensor) and numeric.ndim > 0
            analytic = g_val * v if elementwise else np.sum(g_val * v)
            numeric, analytic = np.broadcast_arrays(numeric, analytic)
            err = np.abs(numeric - analytic)
            big = np.maximum(np.abs(numeric), np.abs(analytic))
            bad = ~(err <= atol + rtol * big)      # NaN counts as a failure
            with np.errstate(all="ignore"):
                rel = np.where(big > 0, err / big, 0.0)
            if np.any(bad):
                idx = tuple(int(i) for i in np.argwhere(bad)[0]) if numeric.ndim else ()
                note = "" if np.all(np.isfinite(big)) else "(a value is not finite) "
                raise GradientError(_name(x), test, analytic[idx], numeric[idx], rtol, atol, h,
                                    where=idx if elementwise else None, note=note)
            worst[_name(x)] = max(worst[_name(x)], float(np.max(rel, initial=0.0)))
    return worst
