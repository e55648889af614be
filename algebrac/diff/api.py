r"""The public derivative functions: ``diff``, ``grad``, ``jacobian``, ``hessian``, ``jvp``, ``vjp``, ``hvp``.

Plain SymPy formulas are differentiated by forward mode
(:mod:`~algebrac.diff.forward`).  A Tensor is differentiated with respect to
an input tensor ``x`` in index notation: the derivative by ``x[a, b]`` of the
body, collected leaf by leaf in reverse mode (:mod:`~algebrac.diff.reverse`),
with every Kronecker delta eliminated (:mod:`~algebrac.diff.delta`), grouped
and simplified (:mod:`~algebrac.diff.assemble`), then given matrix notation
where it is matrix algebra (:mod:`~algebrac.diff.notation`).

>>> import sympy as sp, algebrac as ac
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X, w, t = ac.matrix("X", (n, m)), ac.vector("w", m), ac.vector("t", n)
>>> p = ac.sigmoid(X @ w)
>>> g = ac.grad(-ac.sum(t * ac.log(p) + (1 - t) * ac.log(1 - p)), w)
>>> g.shape, ac.latex(g)
((m,), 'X^{T} \\left(\\sigma\\left(X w\\right) - t\\right)')
>>> x = ac.vector("x", n)
>>> ac.latex(ac.grad(ac.sum((x[1:] - x[:-1]) ** 2), x), notation="index")
'\\begin{cases} 2 \\left(- x_{i + 1} + x_{i}\\right) & \\text{for}\\: i \\leq n - 2 \\\\0 & \\text{otherwise} \\end{cases} + \\begin{cases} 2 \\left(- x_{i - 1} + x_{i}\\right) & \\text{for}\\: i \\geq 1 \\\\0 & \\text{otherwise} \\end{cases}'
"""
from __future__ import annotations

import sympy as sp

from ..dtypes import DType
from ..errors import DTypeError, ShapeError, SignatureError
from ..expr.shapes import broadcast_to, transpose
from ..expr.symbols import index_symbols
from ..expr.tensor import Tensor, as_number, merge_constraints, operand
from .assemble import assemble, tidy
from .delta import eliminate
from .forward import forward, tangent_reader
from .notation import with_notation
from .ranges import simplify_indices
from .reverse import collect
from .scope import Fresh, deshadow

__all__ = ["diff", "grad", "hessian", "hvp", "jacobian", "jvp", "vjp"]


# ---- arguments ---------------------------------------------------------------------------
def _items(wrt):
    """``(list of variables, rebuild)``: the result mirrors a single variable, list or tuple."""
    if isinstance(wrt, (list, tuple)):
        return list(wrt), type(wrt)
    return [wrt], lambda xs: next(iter(xs))


def _variable(x):
    """``(symbol, tensor or None)`` for a variable: a SymPy symbol or an input tensor."""
    if isinstance(x, Tensor):
        if not x.is_input:
            raise SignatureError(f"cannot differentiate with respect to the computed tensor {x}; "
                                 "declare it as an input (ac.tensor) and substitute it with "
                                 "ac.replace, or differentiate with respect to its inputs")
        if not x.dtype.is_float:
            raise DTypeError(f"cannot differentiate with respect to {x.name}, a {x.dtype.value} "
                             "input; only float inputs vary continuously")
        return x.label, x
    s = sp.sympify(x, strict=True) if not isinstance(x, sp.Basic) else x
    if not isinstance(s, sp.Symbol):
        raise SignatureError(f"cannot differentiate with respect to {x!r}: variables are SymPy "
                             "symbols or input tensors")
    return s, None


def _scalar_formula(expr) -> sp.Expr:
    from ..mathfuncs import resolve_names   # parse_expr("expm1(x)") means the table's expm1

    e = resolve_names(sp.sympify(expr, strict=True))
    if not isinstance(e, sp.Expr):
        raise SignatureError(f"cannot differentiate {e!r}: it is not a numeric formula")
    return e


def _check_formula(f: Tensor) -> sp.Expr:
    if f.dtype is DType.BOOL:
        raise DTypeError(f"cannot differentiate the bool formula {f}; use ac.where to choose "
                         "between numeric values")
    return as_number(f.body)


def _result_dtype(f: Tensor) -> DType:
    return f.dtype if f.dtype.is_float else DType.FLOAT64


# ---- the two engines: forward mode for plain formulas, reverse mode for tensors ------------
def _tensor_derivative(f: Tensor, x) -> Tensor:
    """``d f[i...] / d x[a...]``: a Tensor of shape ``f.shape + x.shape`` (index notation)."""
    body = _check_formula(f)
    symbol, xt = _variable(x)
    shape = f.shape + (xt.shape if xt is not None else ())
    free = index_symbols(len(shape))
    wrt_idx = free[f.ndim:]
    ranges = {i: (sp.S.Zero, d - 1) for i, d in zip(free, shape)}
    fresh = Fresh([body, *free])
    body = deshadow(body, frozenset(free), fresh)
    terms = [eliminate(leaf, wrt_idx, ranges, fresh) for leaf in collect(body, symbol, fresh)]
    value = simplify_indices(assemble([t for t in terms if t is not None]), ranges)
    out = Tensor(shape=shape, dtype=_result_dtype(f), body=value, constraints=f.constraints)
    return with_notation(out)


def _derivative(expr, x):
    """One derivative of a scalar formula or a tensor by one variable."""
    if isinstance(expr, Tensor):
        return _tensor_derivative(expr, x)
    symbol, xt = _variable(x)
    if xt is not None and xt.ndim:
        raise ShapeError(f"a plain SymPy formula does not read the tensor {xt.name}; "
                         "build the formula from the tensor to differentiate by it")
    return tidy(forward(_scalar_formula(expr), {symbol: sp.S.One}))


# ---- public API ------------------------------------------------------------------------
def diff(expr, var, n: int = 1):
    """The ``n``-th derivative of ``expr`` by one variable.

    For a Tensor and a scalar variable the result has the tensor's shape; by
    an input tensor it is the Jacobian (shape ``expr.shape + var.shape``).

    >>> import sympy as sp, algebrac as ac
    >>> x = sp.Symbol("x")
    >>> ac.diff(sp.exp(x) * sp.sin(x), x), ac.diff(x**4, x, 3)
    ((sin(x) + cos(x))*exp(x), 24*x)
    """
    if not isinstance(n, int) or n < 0:
        raise SignatureError(f"n must be a non-negative int, got {n!r}")
    out = expr
    for _ in range(n):
        out = _derivative(out, var)
    return out


def grad(expr, wrt):
    """The gradient of a scalar formula; it mirrors ``wrt`` (a variable, a list or a tuple).

    Variables are SymPy symbols or input tensors; by a tensor ``x`` the
    gradient is a Tensor of ``x``'s shape.

    >>> import sympy as sp, algebrac as ac
    >>> x, y = sp.symbols("x y")
    >>> ac.grad(x**2 * y, [x, y])
    [2*x*y, x**2]
    >>> w = ac.vector("w", 3)
    >>> ac.grad(ac.sum(w**2) / 2, w).body
    w[i_0]
    """
    if isinstance(expr, Tensor) and expr.ndim:
        raise ShapeError(f"grad needs a scalar formula, got shape {expr.shape}; use "
                         "ac.jacobian, or ac.vjp for a weighted sum of its elements")
    items, rebuild = _items(wrt)
    return rebuild([_derivative(expr, x) for x in items])


def jacobian(exprs, wrt):
    """Derivatives of several formulas (rows) by several variables (columns).

    Plain SymPy formulas give a ``sympy.Matrix``.  A Tensor ``f`` by a tensor
    ``x`` gives a Tensor of shape ``f.shape + x.shape``; lists of tensors give
    nested lists mirroring ``exprs`` and ``wrt``.

    >>> import sympy as sp, algebrac as ac
    >>> x, y = sp.symbols("x y")
    >>> ac.jacobian([x * y, x + y], [x, y])
    Matrix([
    [y, x],
    [1, 1]])
    >>> v = ac.vector("v", ac.dim("n"))
    >>> ac.jacobian(ac.exp(v), v).body
    exp(v[i_0])*KroneckerDelta(i_0, i_1)
    """
    tensors = isinstance(exprs, Tensor) or (isinstance(exprs, (list, tuple))
                                            and any(isinstance(e, Tensor) for e in exprs))
    if not tensors:
        rows = exprs if isinstance(exprs, (list, tuple)) else [exprs]
        cols = wrt if isinstance(wrt, (list, tuple)) else [wrt]
        return sp.Matrix([[_derivative(e, x) for x in cols] for e in rows])
    items, rebuild = _items(wrt)
    if isinstance(exprs, (list, tuple)):
        return type(exprs)(rebuild([_derivative(operand(e)[0], x) for x in items])
                           for e in exprs)
    return rebuild([_derivative(exprs, x) for x in items])


def _swap_blocks(block: Tensor, first_ndim: int) -> Tensor:
    """A Hessian block ``d2f/dx dy`` (axes of x, then y) as ``d2f/dy dx``."""
    nd = block.ndim
    perm = tuple(range(first_ndim, nd)) + tuple(range(first_ndim))
    return transpose(block, perm) if nd else block


def hessian(expr, wrt):
    """Second derivatives of a scalar formula; symmetric, each distinct entry derived once.

    Plain SymPy with a list of symbols gives a symmetric ``sympy.Matrix``; by a
    tensor ``x`` a Tensor of shape ``x.shape + x.shape``; a list of tensors
    gives a nested list of blocks (the lower blocks are transposes of the upper).

    >>> import sympy as sp, algebrac as ac
    >>> x, y = sp.symbols("x y")
    >>> ac.hessian(x**3 * y, [x, y])
    Matrix([
    [ 6*x*y, 3*x**2],
    [3*x**2,      0]])
    """
    if isinstance(expr, Tensor) and expr.ndim:
        raise ShapeError(f"hessian needs a scalar formula, got shape {expr.shape}")
    items, rebuild = _items(wrt)
    first = [_derivative(expr, x) for x in items]
    if not isinstance(expr, Tensor):
        size = len(items)
        h = sp.zeros(size, size)
        for i in range(size):
            for j in range(i, size):
                h[i, j] = h[j, i] = _derivative(first[i], items[j])
        return h if isinstance(wrt, (list, tuple)) else h[0, 0]
    blocks = [[None] * len(items) for _ in items]
    for i in range(len(items)):
        for j in range(i, len(items)):
            blocks[i][j] = _derivative(first[i], items[j])
            if j > i:
                blocks[j][i] = _swap_blocks(blocks[i][j], first[i].ndim)
    if not isinstance(wrt, (list, tuple)):
        return blocks[0][0]
    return rebuild(rebuild(row) for row in blocks)


def _broadcast_tangent(v, x):
    """A tangent for variable ``x``: a Tensor of ``x``'s shape, or a scalar expression."""
    symbol, xt = _variable(x)
    t = operand(v)[0]
    if xt is None or xt.ndim == 0:
        if t.ndim:
            raise ShapeError(f"the tangent of the scalar {symbol} must be a scalar, got shape "
                             f"{t.shape}")
        return symbol, as_number(t.body), t
    if t.shape != xt.shape:
        t = broadcast_to(t, xt.shape)
    return symbol, t, t


def jvp(f, wrt, v):
    """The Jacobian-vector product ``sum_j (d f / d x_j) v_j``, by forward mode.

    ``v`` mirrors ``wrt``; the result has the shape of ``f`` (a list of
    formulas gives a list).  The Jacobian is never formed.

    >>> import sympy as sp, algebrac as ac
    >>> x, y, dx, dy = sp.symbols("x y dx dy")
    >>> ac.jvp(x * y, [x, y], [dx, dy])
    dx*y + dy*x
    """
    if isinstance(f, (list, tuple)):
        return type(f)(jvp(e, wrt, v) for e in f)
    items, _ = _items(wrt)
    tangents, _ = _items(v)
    if len(items) != len(tangents):
        raise SignatureError(f"jvp: {len(items)} variables but {len(tangents)} tangents")
    pairs = [_broadcast_tangent(t, x) for x, t in zip(items, tangents)]
    if not isinstance(f, Tensor):
        return tidy(forward(_scalar_formula(f), {s: t for s, t, _ in pairs}))
    body = _check_formula(f)
    fresh = Fresh([body, *index_symbols(f.ndim)])
    symbols, arrays, cons = {}, {}, [f.constraints]
    for s, t, tensor in pairs:
        cons.append(tensor.constraints)
        if isinstance(t, Tensor):
            arrays[s] = tangent_reader(as_number(t.body), t.indices, body, fresh)
        else:
            symbols[s] = t
    value = tidy(forward(body, symbols, arrays, fresh))
    return with_notation(Tensor(shape=f.shape, dtype=_result_dtype(f), body=value,
                                constraints=merge_constraints(*cons)))


def vjp(f, wrt, u):
    """The vector-Jacobian product ``sum_i u_i (d f_i / d x)``: the gradient of ``sum(u * f)``.

    ``u`` has the shape of ``f`` (or a list mirroring a list of formulas); the
    result mirrors ``wrt``.

    >>> import algebrac as ac
    >>> x, u = ac.vector("x", 3), ac.vector("u", 3)
    >>> ac.vjp(ac.sin(x), x, u).body
    cos(x[i_0])*u[i_0]
    """
    if isinstance(f, (list, tuple)):
        us, _ = _items(u)
        if len(us) != len(f):
            raise SignatureError(f"vjp: {len(f)} formulas but {len(us)} cotangents")
        return grad(sum((_weighted(e, w) for e, w in zip(f, us)), 0), wrt)
    return grad(_weighted(f, u), wrt)


def _weighted(f, u):
    if isinstance(f, Tensor) or isinstance(u, Tensor):
        from ..expr.reductions import sum as ac_sum
        prod = operand(u)[0] * operand(f)[0]
        return ac_sum(prod) if prod.ndim else prod
    return sp.sympify(u) * _scalar_formula(f)


def hvp(f, wrt, v):
    """The Hessian-vector product: the gradient of ``jvp(f, wrt, v)``; no Hessian is formed.

    >>> import sympy as sp, algebrac as ac
    >>> x, y, vx, vy = sp.symbols("x y v_x v_y")
    >>> ac.hvp(x**2 * y, [x, y], [vx, vy])
    [2*(v_x*y + v_y*x), 2*v_x*x]
    """
    if isinstance(f, Tensor) and f.ndim:
        raise ShapeError(f"hvp needs a scalar formula, got shape {f.shape}")
    if not isinstance(f, Tensor) and not isinstance(f, sp.Basic):
        f = _scalar_formula(f)
    return grad(jvp(f, wrt, v), wrt)

