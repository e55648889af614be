"""Substitution on tensors: ``Tensor.subs`` for scalars and dims, :func:`replace` for graphs.

``replace`` is Theano's clone-with-replace: every read of an input tensor reads
the corresponding element of another tensor, broadcast to the input's shape;
sizes not shown to agree become call-time constraints, and a dim left without
an input to bind it is renamed to the size it must equal.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..errors import DTypeError, ShapeError, UnsupportedError
from .symbols import InputLabel, rename_bound
from .tensor import Constraint, Op, Tensor, as_condition, as_number, operand

__all__ = ["replace", "subs_tensor"]


def _pairs(args) -> list:
    if len(args) == 2:
        return [tuple(args)]
    if len(args) != 1:
        raise TypeError("subs takes (old, new), a dict, or an iterable of pairs")
    seq = args[0]
    return list(seq.items()) if isinstance(seq, dict) else [tuple(p) for p in seq]


def _map_origin(origin: Op | None, on_tensor, on_scalar) -> Op | None:
    if origin is None:
        return None
    args = tuple(on_tensor(a) if isinstance(a, Tensor)
                 else on_scalar(a) if isinstance(a, sp.Basic) else a for a in origin.args)
    return Op(origin.name, args, origin.params)


def subs_tensor(t: Tensor, *args, **kwargs) -> Tensor:
    """``t`` with SymPy ``subs`` applied to body, shape and constraints (see ``Tensor.subs``)."""
    pairs = _pairs(args)
    grafts = {o: n for o, n in pairs if isinstance(o, Tensor) or isinstance(n, Tensor)}
    scalars = [(sp.sympify(o, strict=True), sp.sympify(n, strict=True))
               for o, n in pairs if not (isinstance(o, Tensor) or isinstance(n, Tensor))]
    for old, _ in scalars:
        if isinstance(old, InputLabel):
            raise UnsupportedError(f"substitute the input {old} with its Tensor as the key "
                                   "(or use ac.replace)")
    if grafts:
        t = replace(t, grafts)
    return _subs(t, scalars, kwargs, {}) if scalars else t


def _subs(t: Tensor, pairs, kwargs, memo) -> Tensor:
    if id(t) in memo:
        return memo[id(t)][1]
    cons = []
    for c in t.constraints:
        cons += Constraint.require(c.lhs.subs(pairs, **kwargs), c.rhs.subs(pairs, **kwargs),
                                   c.why)
    origin = _map_origin(t.origin, lambda u: _subs(u, pairs, kwargs, memo),
                         lambda e: e.subs(pairs, **kwargs))
    out = Tensor(name=t.name, shape=tuple(d.subs(pairs, **kwargs) for d in t.shape),
                 dtype=t.dtype, body=t.body.subs(pairs, **kwargs), constraints=tuple(cons),
                 origin=origin)
    memo[id(t)] = (t, out)  # keep t alive so its id is not reused during this call
    return out


# ---- replace ------------------------------------------------------------------------
def _plan(mapping) -> tuple[dict, dict]:
    """Split a replace mapping into ``{label: (old, new)}`` for inputs and ``{symbol: body}``."""
    from .shapes import broadcast_to
    inputs, params = {}, {}
    for old, new in mapping.items():
        if isinstance(old, Tensor):
            if not old.is_input:
                raise UnsupportedError(f"replace: keys must be input tensors (or scalar "
                                       f"symbols), got the derived tensor {old}")
            new_t = operand(new)[0]
            # The dtypes recorded along the graph stay right only for same-kind values.
            if not np.can_cast(new_t.dtype.numpy, old.dtype.numpy, "same_kind"):
                raise DTypeError(f"replace: input {old.name} is {old.dtype.value} and cannot "
                                 f"take a {new_t.dtype.value} tensor; convert it with .astype")
            if new_t.shape != old.shape:
                new_t = broadcast_to(new_t, old.shape)
            inputs[old.label] = (old, new_t)
        else:
            sym = sp.sympify(old, strict=True)
            if not isinstance(sym, sp.Symbol):
                raise UnsupportedError(f"replace: cannot replace {sym}; keys are input "
                                       "tensors or scalar symbols")
            new_t = operand(new)[0]
            if new_t.ndim:
                raise ShapeError(f"replace: the scalar {sym} needs a 0-d value, got shape "
                                 f"{new_t.shape}")
            params[sym] = new_t
    return inputs, params


def replace(expr, mapping: dict):
    """Graft graphs: ``expr`` with every input in ``mapping`` replaced by a tensor.

    Keys are input tensors (or scalar symbols), values tensors or scalars; the
    replacements are made simultaneously.  Lists and tuples are mapped.

    >>> import algebrac as ac
    >>> n, m = ac.dim("n"), ac.dim("m")
    >>> X, w, b = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("b", m)
    >>> y = ac.replace(ac.sum(X @ w), {w: w + b})
    >>> y.body
    Sum((b[k_0] + w[k_0])*X[k_1, k_0], (k_0, 0, m - 1), (k_1, 0, n - 1))
    >>> [t.name for t in y.inputs]
    ['X', 'b', 'w']
    """
    if isinstance(expr, (list, tuple)):
        return type(expr)(replace(e, mapping) for e in expr)
    if not isinstance(expr, Tensor):
        raise UnsupportedError("replace works on Tensors; use .subs or xreplace for SymPy "
                               "expressions")
    inputs, params = _plan(mapping)
    out = _replace(expr, inputs, params, {})
    return _unify_orphan_dims(out) if out.constraints else out


def _read(new: Tensor, idx, context) -> sp.Basic:
    """``new``'s element at index expressions ``idx``, bound variables renamed apart."""
    body = rename_bound(new.body, [context, *idx])
    return body.xreplace(dict(zip(new.indices, idx)))


def _replace(t: Tensor, inputs, params, memo) -> Tensor:
    if id(t) in memo:
        return memo[id(t)][1]
    if t.is_input and t.label in inputs:
        out = inputs[t.label][1]
        memo[id(t)] = (t, out)
        return out
    body = t.body
    reps, cons = {}, list(t.constraints)
    for node in body.atoms(sp.Indexed):
        if node.base.label in inputs:
            new = inputs[node.base.label][1]
            value = _read(new, node.indices, body)
            reps[node] = as_number(value)
            reps[sp.Ne(node, 0)] = as_condition(value)  # how bool inputs are read
            cons += new.constraints
    for label in body.atoms(InputLabel):
        if label.ndim == 0 and label in inputs:
            new = inputs[label][1]
            reps[label] = as_number(new.body)
            reps[sp.Ne(label, 0)] = as_condition(new.body)
            cons += new.constraints
    for sym, new in params.items():
        reps[sym] = as_number(new.body)
        cons += new.constraints
    origin = _map_origin(t.origin, lambda u: _replace(u, inputs, params, memo),
                         lambda e: e.xreplace({s: as_number(n.body) for s, n in params.items()}))
    out = Tensor(name=t.name, shape=t.shape, dtype=t.dtype, body=body.xreplace(reps),
                 constraints=tuple(cons), origin=origin)
    memo[id(t)] = (t, out)
    return out


def _unify_orphan_dims(t: Tensor) -> Tensor:
    """Rename a dim no input binds any more to the size a constraint says it equals."""
    while True:
        bound = set()
        for inp in t.inputs:
            for d in inp.shape:
                bound |= d.free_symbols
        for c in t.constraints:
            for a, b in ((c.lhs, c.rhs), (c.rhs, c.lhs)):
                if isinstance(a, sp.Symbol) and a not in bound and b.free_symbols <= bound:
                    break
            else:
                continue
            t = _subs(t, [(a, b)], {}, {})
            break
        else:
            return t
