"""The loop IR: a handful of immutable statement nodes over SymPy scalars.

Statements are frozen dataclasses with tuple bodies, so two kernels built the
same way compare equal and passes can be tested as Before/Expected pairs.
Scalar expressions inside them stay SymPy.  ``pformat`` prints any node as
indented pseudo-code; ``verify`` checks the invariants every pass relies on.

>>> import sympy as sp
>>> i, n = sp.Symbol("_ac_i", integer=True), sp.Symbol("_ac_n", integer=True)
>>> x = Buffer("_ac_in0", DType.FLOAT64, (n,), Role.IN)
>>> y = Buffer("_ac_out0", DType.FLOAT64, (n,), Role.OUT)
>>> k = Kernel("k", (x, y), (Loop(i, n, (Assign(y[i], 2 * x[i]),)),))
>>> print(pformat(k))
kernel k(in _ac_in0: float64[_ac_n], out _ac_out0: float64[_ac_n]):
  for _ac_i in 0.._ac_n (serial):
    _ac_out0[_ac_i] = 2*_ac_in0[_ac_i]
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Union

import sympy as sp

from ..dtypes import DType
from ..errors import VerifyError

__all__ = [
    "Role", "LoopKind", "ReduceOp", "Stage", "Buffer", "Loop", "Assign",
    "Accumulate", "Let", "Call", "Kernel", "Stmt", "pformat",
    "verify", "replace", "compute_dtype",
]


class Role(enum.Enum):
    IN = "in"
    OUT = "out"
    TEMP = "temp"


class LoopKind(enum.Enum):
    SERIAL = "serial"
    PARALLEL = "parallel"  # iterations independent: threads (CPU) or a grid (CUDA)
    SIMD = "simd"


class ReduceOp(enum.Enum):
    ADD = "+"
    MUL = "*"
    MAX = "max"
    MIN = "min"

    @property
    def identity(self) -> sp.Expr:
        return {"+": sp.S.Zero, "*": sp.S.One, "max": sp.S.NegativeInfinity,
                "min": sp.S.Infinity}[self.value]


class Stage(enum.Enum):
    LOWERED = 1
    SCHEDULED = 2
    READY = 3


@dataclass(frozen=True)
class Buffer:
    """An input, output or temporary array.  Indexing it gives a SymPy ``Indexed``."""

    name: str
    dtype: DType
    shape: tuple
    role: Role = Role.TEMP

    @property
    def base(self) -> sp.IndexedBase:
        # A 0-d buffer is read as buf[0]; SymPy wants no shape for that.
        return sp.IndexedBase(self.name, shape=self.shape or None)

    def __getitem__(self, index) -> sp.Indexed:
        index = index if isinstance(index, tuple) else (index,)
        return sp.Indexed(self.base, *index)


@dataclass(frozen=True)
class Loop:
    """``for index in 0..extent``; always from 0 with step 1 (lowering normalises)."""

    index: sp.Symbol
    extent: sp.Expr
    body: tuple
    kind: LoopKind = LoopKind.SERIAL


@dataclass(frozen=True)
class Assign:
    """``target = value``; ``target`` is an ``Indexed`` or a scalar ``Symbol``."""

    target: sp.Basic
    value: sp.Expr


@dataclass(frozen=True)
class Accumulate:
    """``target op= value`` (a reduction step)."""

    target: sp.Basic
    value: sp.Expr
    op: ReduceOp = ReduceOp.ADD


@dataclass(frozen=True)
class Let:
    """Bind a scalar temporary (a common subexpression or a load) once per iteration."""

    symbol: sp.Symbol
    value: sp.Expr
    dtype: DType = DType.FLOAT64


@dataclass(frozen=True)
class Call:
    """A library routine (BLAS) with fully explicit arguments."""

    routine: str
    args: tuple


@dataclass(frozen=True)
class Kernel:
    """A whole program: parameters (buffers and size symbols) and a statement body."""

    name: str
    params: tuple
    body: tuple
    stage: Stage = Stage.LOWERED
    sizes: tuple = field(default=())  # size Symbols bound from the arrays at call time

    def __str__(self) -> str:
        return pformat(self)


Stmt = Union[Loop, Assign, Accumulate, Let, Call]


def compute_dtype(kernel: Kernel) -> DType:
    """The float type a kernel computes in: its float buffers' (float64 if it has none,
    e.g. a comparison of int64 inputs; integers compute in float64)."""
    return next((p.dtype for p in kernel.params if isinstance(p, Buffer) and p.dtype.is_float),
                DType.FLOAT64)


def pformat(node, indent: int = 0) -> str:
    """Indented pseudo-code of any IR node (used by ``str``, debug output and tests)."""
    pad = "  " * indent
    if isinstance(node, (Kernel, Loop)):
        if isinstance(node, Kernel):
            params = ", ".join(f"{p.role.value} {p.name}: {p.dtype.value}["
                               f"{', '.join(map(str, p.shape))}]" if isinstance(p, Buffer)
                               else str(p) for p in node.params)
            head = f"kernel {node.name}({params}):"
        else:
            head = f"for {node.index} in 0..{node.extent} ({node.kind.value}):"
        return "\n".join([pad + head, *(pformat(s, indent + 1) for s in node.body)])
    if isinstance(node, Assign):
        return f"{pad}{node.target} = {node.value}"
    if isinstance(node, Accumulate):
        return f"{pad}{node.target} {node.op.value}= {node.value}"
    if isinstance(node, Let):
        return f"{pad}let {node.symbol}: {node.dtype.value} = {node.value}"
    if isinstance(node, Call):
        return f"{pad}call {node.routine}({', '.join(map(str, node.args))})"
    raise VerifyError(f"pformat: {type(node).__name__} is not an IR node")


def _integer_arithmetic(e) -> bool:
    """Sums, products, positive powers and floor quotients of integers and integer symbols."""
    if e.is_Integer or (e.is_Symbol and e.is_integer):
        return True
    if isinstance(e, (sp.Add, sp.Mul, sp.Max, sp.Min)):
        return all(_integer_arithmetic(a) for a in e.args)
    if isinstance(e, sp.Pow):
        return e.exp.is_Integer and e.exp > 0 and _integer_arithmetic(e.base)
    return isinstance(e, sp.floor) and all(map(_integer_arithmetic, sp.fraction(e.args[0])))


def verify(kernel: Kernel) -> Kernel:
    """Check the invariants every pass and printer relies on.

    * every scalar symbol is bound before use (by the sizes, a loop, a ``let`` or an
      assignment to a scalar);
    * every index of a buffer access is integer arithmetic over loop indices and sizes,
      and the access has one index per axis (``[0]`` for a 0-d buffer);
    * no statement writes into an input buffer;
    * every accumulator is initialised before its first ``Accumulate``;
    * loop extents do not depend on the indices of loops inside them.

    Returns the kernel unchanged so it can sit in a pass pipeline.
    """
    bound: set = set(kernel.sizes)
    bufs = {p.name: p for p in kernel.params if isinstance(p, Buffer)}
    initialised: set = set()
    loops: set = set()

    def fail(msg):
        raise VerifyError(f"{msg}\n{pformat(kernel)}")

    def check_expr(expr, where):
        expr = sp.sympify(expr)
        for s in expr.free_symbols:
            if isinstance(s, sp.Symbol) and s not in bound and s.name not in bufs:
                fail(f"{s} used before it is bound in {where}")
        for ix in expr.atoms(sp.Indexed):
            check_access(ix, where)

    def check_access(ix, where):
        buf = bufs.get(ix.base.name)
        if buf is None:
            fail(f"{ix} in {where} reads {ix.base.name}, which is not a kernel buffer")
        want = max(len(buf.shape), 1)
        if len(ix.indices) != want:
            fail(f"{ix} in {where} has {len(ix.indices)} indices for a {len(buf.shape)}-d "
                 "buffer")
        for i in ix.indices:
            i = sp.sympify(i)
            if not _integer_arithmetic(i):
                fail(f"index {i} of {ix} in {where} is not integer arithmetic")
            for s in i.free_symbols:
                if s not in bound:
                    fail(f"index {i} of {ix} in {where} uses {s}, which is not bound")

    def walk(stmts):
        nonlocal bound
        for s in stmts:
            if isinstance(s, Loop):
                check_expr(sp.sympify(s.extent), f"extent of loop {s.index}")
                saved = set(bound)
                bound.add(s.index)
                loops.add(s.index)
                walk(s.body)
                bound = saved
            elif isinstance(s, Let):
                check_expr(s.value, f"let {s.symbol}")
                bound.add(s.symbol)
            elif isinstance(s, Assign) and isinstance(s.target, sp.Symbol):
                check_expr(s.value, f"assignment to {s.target}")
                bound.add(s.target)
                initialised.add(s.target.name)
            elif isinstance(s, (Assign, Accumulate)):
                check_expr(s.value, f"assignment to {s.target}")
                if isinstance(s.target, sp.Symbol):
                    if s.target not in bound:
                        fail(f"accumulator {s.target} is not initialised before {s.target} "
                             f"{s.op.value}= ...")
                    continue
                if not isinstance(s.target, sp.Indexed):
                    fail(f"cannot assign to {s.target!r}")
                check_access(s.target, f"target {s.target}")
                buf = bufs[s.target.base.name]
                if buf.role is Role.IN:
                    fail(f"{s.target} writes into the input buffer {buf.name}")
                if isinstance(s, Assign):
                    initialised.add(buf.name)
                elif buf.name not in initialised:
                    fail(f"{buf.name} is accumulated before it is initialised")
            elif isinstance(s, Call):
                for g in s.args:
                    for b in (g.a, g.b):
                        if b.role is not Role.IN and b.name not in initialised:
                            fail(f"call {s.routine} reads {b.name} before it is written")
                    if g.c.role is Role.IN:
                        fail(f"call {s.routine} writes into the input buffer {g.c.name}")
                    initialised.add(g.c.name)
            else:
                fail(f"{type(s).__name__} is not an IR statement")

    walk(kernel.body)
    return kernel
