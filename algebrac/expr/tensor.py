"""The :class:`Tensor`: a SymPy scalar body over index symbols, with shape and dtype.

Free indices are named by position (``i_0`` is axis 0), summation variables
``k_<j>``; inputs are ``IndexedBase`` objects whose label
(:class:`~algebrac.expr.symbols.InputLabel`) records dtype and rank, so two
tensors built the same way are equal and hash alike.  Constraints only call
time can check (``n == m`` for ``X + Y`` of shapes ``(n,)`` and ``(m,)``)
travel with the tensor.  ``origin``, the operation that built it, is for
display only (matrix notation, ``str``) and takes no part in equality.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as dc_replace

import numpy as np
import sympy as sp
from sympy.logic.boolalg import Boolean, BooleanAtom

from ..dtypes import DType
from ..errors import DTypeError, ShapeError, UnsupportedError
from .symbols import (Dim, InputLabel, as_dtype, as_shape, dims_equal, index_symbol, index_symbols,
                      is_index_symbol)

__all__ = ["Tensor", "Constraint", "Op", "scalar", "vector", "matrix", "tensor",
           "as_tensor", "operand", "input_tensor", "broadcast_shapes", "broadcast_body",
           "merge_constraints", "as_number", "as_condition", "is_condition"]


@dataclass(frozen=True)
class Constraint:
    """``lhs == rhs`` must hold for the formula to make sense; ``why`` says which op needs it."""

    lhs: sp.Expr
    rhs: sp.Expr
    why: str

    @staticmethod
    def require(a: sp.Expr, b: sp.Expr, why: str) -> tuple[Constraint, ...]:
        """No constraint if ``a == b`` is certain, ``ShapeError`` if it is impossible."""
        eq = dims_equal(a, b)
        if eq is True:
            return ()
        if eq is False:
            raise ShapeError(f"{why}: sizes {a} and {b} can never be equal")
        return (Constraint(a, b, why),)


@dataclass(frozen=True, eq=False)
class Op:
    """How a tensor was built: an op name, its operands and parameters (display only)."""

    name: str
    args: tuple
    params: dict = field(default_factory=dict)


def merge_constraints(*groups) -> tuple[Constraint, ...]:
    """Union of constraint tuples, deduplicated and in a deterministic order."""
    seen: dict[tuple, Constraint] = {}
    for group in groups:
        for c in group:
            key = tuple(sorted((c.lhs, c.rhs), key=sp.default_sort_key))
            seen.setdefault(key, c)
    return tuple(seen[k] for k in sorted(seen, key=lambda k: tuple(map(str, k))))


@dataclass(frozen=True, kw_only=True, repr=False)
class Tensor:
    """A symbolic tensor: element ``[i_0, i_1, ...]`` is the SymPy scalar ``body``.

    Build tensors with :func:`tensor`, :func:`vector`, ... and NumPy-style
    operations; construct one directly only for a hand-made body:

    >>> import sympy as sp, algebrac as ac
    >>> n = ac.dim("n")
    >>> x = ac.vector("x", n)
    >>> i = sp.Symbol("j", integer=True)
    >>> y = ac.Tensor(shape=(n,), indices=(i,), body=x.body.subs(x.indices[0], i)**2)
    >>> y == x**2, y.indices
    (True, (i_0,))
    """

    name: str | None = field(default=None, compare=False)
    shape: tuple
    dtype: DType = DType.FLOAT64
    indices: tuple | None = None
    body: sp.Basic
    constraints: tuple = ()
    origin: Op | None = field(default=None, compare=False)

    # NumPy must not turn a Tensor into an object array: make it defer to our
    # reflected operators (``np.float64(2) * X`` calls ``X.__rmul__``).
    __array_ufunc__ = None

    def __post_init__(self):
        shape = as_shape(self.shape)
        dtype = as_dtype(self.dtype)
        body = sp.sympify(self.body, strict=True)
        canonical = index_symbols(len(shape))
        indices = canonical if self.indices is None else tuple(self.indices)
        if len(indices) != len(shape):
            raise ShapeError(f"a tensor of shape {shape} needs {len(shape)} indices, "
                             f"got {len(indices)}")
        if indices != canonical:
            body = body.xreplace(dict(zip(indices, canonical)))
        if dtype is DType.BOOL and not is_condition(body):
            body = as_condition(body)
        elif dtype is not DType.BOOL and is_condition(body):
            raise DTypeError(f"a {dtype.value} tensor needs a numeric body, got the "
                             f"condition {body}; use dtype=bool")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "indices", canonical)
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "constraints", merge_constraints(self.constraints))

    # ---- structure -------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> sp.Expr:
        """The number of elements, a SymPy integer expression."""
        return sp.Mul(*self.shape)

    @property
    def is_input(self) -> bool:
        """True for a tensor made by :func:`tensor` (an input to formulas)."""
        body = self.body
        if self.dtype is DType.BOOL and isinstance(body, sp.Ne) and body.rhs == 0:
            body = body.lhs
        if self.ndim == 0:
            return isinstance(body, InputLabel) and body.ndim == 0
        return (isinstance(body, sp.Indexed) and isinstance(body.base.label, InputLabel)
                and body.indices == self.indices and tuple(body.base.shape) == self.shape)

    @property
    def label(self) -> InputLabel:
        """The label symbol of an input tensor."""
        if not self.is_input:
            raise UnsupportedError(f"{self} is not an input tensor, so it has no label")
        atom = self.body.lhs if isinstance(self.body, sp.Ne) else self.body
        return atom if self.ndim == 0 else atom.base.label

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        """The input tensors the body reads, sorted by name (then rank, shape, dtype)."""
        found = {}
        for base in self.body.atoms(sp.IndexedBase):
            if isinstance(base.label, InputLabel) and base.shape is not None:
                t = input_tensor(base.label, tuple(base.shape))
                found[t] = None
        for label in self.body.atoms(InputLabel):
            if label.ndim == 0:
                found[input_tensor(label, ())] = None
        return tuple(sorted(found, key=lambda t: (t.name, t.ndim, str(t.shape), t.dtype.value)))

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free plain SymPy symbols of the body (scalar parameters), sorted by name."""
        dims = set(self.dims)
        params = {s for s in self.body.free_symbols
                  if isinstance(s, sp.Symbol) and not isinstance(s, (Dim, InputLabel))
                  and not is_index_symbol(s) and s not in dims}
        return tuple(sorted(params, key=lambda s: s.name))

    @property
    def dims(self) -> tuple[sp.Symbol, ...]:
        """Size symbols: those in the shape, in input shapes, and every ``Dim``, by name."""
        found = set()
        for d in self.shape:
            found |= d.free_symbols
        for base in self.body.atoms(sp.IndexedBase):
            if base.shape is not None:
                found |= sp.Tuple(*base.shape).free_symbols
        for c in self.constraints:
            found |= c.lhs.free_symbols | c.rhs.free_symbols
        found |= self.body.atoms(Dim)
        return tuple(sorted(found, key=lambda s: s.name))

    def rename(self, name: str | None) -> Tensor:
        """The same tensor with a display name (used by ``str``, LaTeX and compiled outputs)."""
        return dc_replace(self, name=name)

    # ---- manipulation ----------------------------------------------------
    def subs(self, *args, **kwargs) -> Tensor:
        """Substitute scalars and dims (SymPy ``subs`` semantics); Tensor keys graft.

        >>> import algebrac as ac, sympy as sp
        >>> n = ac.dim("n"); a = sp.Symbol("a")
        >>> y = a * ac.vector("x", n)
        >>> y.subs({n: 3, a: 2}).shape, y.subs(a, 2).body
        ((3,), 2*x[i_0])
        """
        from .manip import subs_tensor
        return subs_tensor(self, *args, **kwargs)

    def astype(self, dtype) -> Tensor:
        """Convert the element type (float to int truncates toward zero, as NumPy)."""
        from .elementwise import astype
        return astype(self, dtype)

    # ---- operators (NumPy semantics) --------------------------------------
    def _ew(self, name, *args):
        from . import elementwise
        return getattr(elementwise, name)(*args)

    def __add__(self, o): return self._ew("add", self, o)
    def __radd__(self, o): return self._ew("add", o, self)
    def __sub__(self, o): return self._ew("subtract", self, o)
    def __rsub__(self, o): return self._ew("subtract", o, self)
    def __mul__(self, o): return self._ew("multiply", self, o)
    def __rmul__(self, o): return self._ew("multiply", o, self)
    def __truediv__(self, o): return self._ew("divide", self, o)
    def __rtruediv__(self, o): return self._ew("divide", o, self)
    def __floordiv__(self, o): return self._ew("floor_divide", self, o)
    def __rfloordiv__(self, o): return self._ew("floor_divide", o, self)
    def __mod__(self, o): return self._ew("mod", self, o)
    def __rmod__(self, o): return self._ew("mod", o, self)
    def __pow__(self, o): return self._ew("power", self, o)
    def __rpow__(self, o): return self._ew("power", o, self)
    def __neg__(self): return self._ew("negative", self)
    def __pos__(self): return self
    def __abs__(self): return self._ew("abs", self)
    def __lt__(self, o): return self._ew("less", self, o)
    def __le__(self, o): return self._ew("less_equal", self, o)
    def __gt__(self, o): return self._ew("greater", self, o)
    def __ge__(self, o): return self._ew("greater_equal", self, o)
    def __and__(self, o): return self._ew("op_and", self, o)
    def __rand__(self, o): return self._ew("op_and", o, self)
    def __or__(self, o): return self._ew("op_or", self, o)
    def __ror__(self, o): return self._ew("op_or", o, self)
    def __xor__(self, o): return self._ew("op_xor", self, o)
    def __rxor__(self, o): return self._ew("op_xor", o, self)
    def __invert__(self): return self._ew("op_not", self)

    def __matmul__(self, o):
        from .linalg import matmul
        return matmul(self, o)

    def __rmatmul__(self, o):
        from .linalg import matmul
        return matmul(o, self)

    def dot(self, other) -> Tensor:
        from .linalg import dot
        return dot(self, other)

    def __getitem__(self, key) -> Tensor:
        from .shapes import getitem
        return getitem(self, key)

    def __bool__(self):
        raise TypeError("the truth value of a symbolic Tensor is undefined; compare "
                        "tensors with ==/!= for structure or ac.equal for elements")

    def __iter__(self):
        if not self.shape or not self.shape[0].is_Integer:
            raise TypeError(f"cannot iterate over a tensor of shape {self.shape}")
        return (self[j] for j in range(int(self.shape[0])))

    # ---- NumPy-style methods -------------------------------------------------
    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed)."""
        from .shapes import transpose
        return transpose(self)

    def transpose(self, *axes) -> Tensor:
        from .shapes import transpose
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return transpose(self, axes or None)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        from .shapes import swapaxes
        return swapaxes(self, axis1, axis2)

    def reshape(self, *shape) -> Tensor:
        from .shapes import reshape
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return reshape(self, tuple(shape))

    def flatten(self) -> Tensor:
        return self.reshape(-1)

    ravel = flatten

    def _reduce(self, name, axis, keepdims):
        from . import reductions
        return getattr(reductions, name)(self, axis=axis, keepdims=keepdims)

    def sum(self, axis=None, keepdims=False): return self._reduce("sum", axis, keepdims)
    def mean(self, axis=None, keepdims=False): return self._reduce("mean", axis, keepdims)
    def prod(self, axis=None, keepdims=False): return self._reduce("prod", axis, keepdims)
    def max(self, axis=None, keepdims=False): return self._reduce("max", axis, keepdims)
    def min(self, axis=None, keepdims=False): return self._reduce("min", axis, keepdims)

    # ---- display -----------------------------------------------------------
    def __str__(self) -> str:
        from .printing import tensor_str
        return tensor_str(self)

    def __repr__(self) -> str:
        return f"Tensor({self}, shape={_fmt(self.shape)}, dtype={self.dtype.value})"

    def _repr_latex_(self) -> str:
        from .printing import latex
        return "$\\displaystyle " + latex(self) + "$"


# ---- constructors ------------------------------------------------------------
def input_tensor(label: InputLabel, shape: tuple) -> Tensor:
    """The input tensor with ``label`` and ``shape`` (what :func:`tensor` builds)."""
    shape = as_shape(shape)
    if not shape:
        body = label
    else:
        body = sp.IndexedBase(label, shape=shape)[index_symbols(len(shape))]
    if label.dtype is DType.BOOL:
        body = sp.Ne(body, 0)
    return Tensor(name=label.name, shape=shape, dtype=label.dtype, body=body)


def tensor(name: str, shape, dtype=DType.FLOAT64) -> Tensor:
    """An input tensor of any rank; sizes are ints, ``ac.dim`` symbols or their expressions.

    >>> import algebrac as ac
    >>> n = ac.dim("n")
    >>> A = ac.tensor("A", (n, 3, 2))
    >>> A.ndim, A.shape, A.dtype.value
    (3, (n, 3, 2), 'float64')
    >>> ac.tensor("mask", (n,), dtype=bool).dtype.value
    'bool'
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ShapeError(f"a tensor name must be an identifier, got {name!r}")
    shape = as_shape(shape)
    return input_tensor(InputLabel(name, as_dtype(dtype), len(shape)), shape)


def scalar(name: str, dtype=DType.FLOAT64) -> Tensor:
    """A 0-d input tensor.

    >>> import algebrac as ac
    >>> ac.scalar("a").shape
    ()
    """
    return tensor(name, (), dtype)


def vector(name: str, size, dtype=DType.FLOAT64) -> Tensor:
    """A 1-d input tensor of length ``size``.

    >>> import algebrac as ac
    >>> ac.vector("w", ac.dim("m")).shape
    (m,)
    """
    return tensor(name, (size,), dtype)


def matrix(name: str, shape, dtype=DType.FLOAT64) -> Tensor:
    """A 2-d input tensor; ``shape`` is a pair.

    >>> import algebrac as ac
    >>> ac.matrix("X", (ac.dim("n"), 3)).shape
    (n, 3)
    """
    shape = as_shape(shape)
    if len(shape) != 2:
        raise ShapeError(f"matrix {name!r} needs a 2-d shape, got {shape}")
    return tensor(name, shape, dtype)


# ---- conversions ---------------------------------------------------------------
def operand(x) -> tuple[Tensor, bool]:
    """``(tensor, weak)`` for an operand; Python and SymPy scalars are *weak* (NEP 50).

    A weak scalar adapts to the tensors it meets: ``2 * x`` keeps a float32 ``x``
    float32, as in NumPy 2.
    """
    if isinstance(x, Tensor):
        return x, False
    if isinstance(x, (bool, np.bool_)):
        return _constant(sp.true if x else sp.false, DType.BOOL), not isinstance(x, np.bool_)
    if isinstance(x, np.generic):
        # NumPy scalars are strong (NEP 50): a float32 scalar keeps float32.
        if isinstance(x, np.integer):
            return _constant(sp.Integer(int(x)), DType.INT64), False
        if isinstance(x, np.floating):
            dtype = DType.FLOAT32 if x.dtype.itemsize <= 4 else DType.FLOAT64
            return _constant(sp.Float(float(x)), dtype), False
    if isinstance(x, int):
        return _constant(sp.Integer(x), DType.INT64), True
    if isinstance(x, float):
        return _constant(sp.Float(x), DType.FLOAT64), True
    if isinstance(x, (np.ndarray, list, tuple)):
        raise UnsupportedError(
            "arrays cannot be embedded in a symbolic formula; declare an input with "
            "ac.tensor(...) and bind the array in ac.evaluate")
    try:
        e = sp.sympify(x, strict=True)
    except sp.SympifyError as err:
        raise UnsupportedError(f"cannot use {x!r} of type {type(x).__name__} in a "
                               "tensor formula") from err
    if is_condition(e):
        return _constant(e, DType.BOOL), True
    if not isinstance(e, sp.Expr):
        raise UnsupportedError(f"cannot use {type(e).__name__} {e} in a tensor formula")
    return _constant(e, DType.INT64 if e.is_integer else DType.FLOAT64), True


def _constant(e, dtype: DType) -> Tensor:
    return Tensor(shape=(), dtype=dtype, body=e, origin=Op("const", (e,)))


def as_tensor(x) -> Tensor:
    """``x`` as a Tensor (scalars become 0-d tensors)."""
    return operand(x)[0]


def is_condition(body: sp.Basic) -> bool:
    """True for a SymPy truth value (relation, And/Or/Not, true/false).

    ``sympy.Symbol`` also derives from ``Boolean``; numbers and symbols are not conditions.
    """
    return isinstance(body, Boolean) and not isinstance(body, sp.Expr)


def as_number(body: sp.Basic) -> sp.Expr:
    """A numeric body: conditions become 1/0 (how NumPy does arithmetic on bools)."""
    if isinstance(body, BooleanAtom):
        return sp.S.One if body else sp.S.Zero
    if is_condition(body):
        return sp.Piecewise((1, body), (0, True))
    return body


def as_condition(body: sp.Basic) -> Boolean:
    """A condition body: numbers are true when non-zero (NumPy truthiness)."""
    if is_condition(body):
        return body
    return sp.Ne(body, 0)


# ---- broadcasting ----------------------------------------------------------------
def _fmt(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes(shapes, what: str) -> tuple[tuple, tuple[Constraint, ...]]:
    """NumPy broadcasting of shapes whose entries may be symbolic.

    A size broadcasts against another only when it is literally ``1``: ``n``
    against ``m`` means ``n == m`` (checked at call time), never "one of them is
    1 at run time".  That keeps derivatives correct, because the index map of
    every operand is fixed when the formula is built.
    """
    shapes = [tuple(s) for s in shapes]
    rank = max((len(s) for s in shapes), default=0)
    out, cons = [], []
    for axis in range(rank):
        res = None
        for s in shapes:
            if axis < rank - len(s):
                continue
            d = s[axis - (rank - len(s))]
            if res is None or res == 1:
                res = d
                continue
            if d == 1:
                continue
            eq = dims_equal(res, d)
            if eq is False:
                raise ShapeError(
                    f"{what}: shapes {', '.join(map(_fmt, shapes))} do not broadcast: "
                    f"axis {axis - rank} has sizes {res} and {d}")
            if eq is None:
                cons.append(Constraint(res, d, f"{what}: broadcasting "
                                       f"{' and '.join(map(_fmt, shapes))}, axis {axis - rank}"))
                if d.is_Integer:
                    res = d
        out.append(res)
    return tuple(out), tuple(cons)


def broadcast_body(t: Tensor, shape: tuple) -> sp.Basic:
    """``t``'s body indexed by the free indices of a tensor of (broadcast) ``shape``."""
    offset = len(shape) - t.ndim
    mapping = {}
    for a, d in enumerate(t.shape):
        if d == 1 and shape[a + offset] != 1:
            mapping[t.indices[a]] = sp.S.Zero
        elif offset:
            mapping[t.indices[a]] = index_symbol(a + offset)
    return t.body.xreplace(mapping) if mapping else t.body
