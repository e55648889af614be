"""Tensor formulas → a loop-nest kernel.

``prepare_tensors`` validates what the user gave to :func:`algebrac.function`,
stabilizes every output body and renames everything that will reach generated
code to safe identifiers (inputs ``_ac_in<k>``, outputs ``_ac_out<k>``, sizes
``_ac_d<k>``).  ``lower_tensors`` then turns the bodies into loop nests:

* every reduction (``Sum``, ``Product``, ``ReduceMax``/``ReduceMin``,
  ``LogSumExp``) is *materialized* into a temporary indexed by only the free
  indices it depends on, so the gradient of a logistic loss reads
  ``z = X w`` from a vector instead of recomputing a dot product per element
  (O(n m), not O(n m^2)); equal reductions (up to the names of their indices)
  share one temporary, which is how a loss and its gradient share ``X w``;
* each definition becomes one loop nest, its loops ordered so the innermost
  loop walks the last axis of the arrays it reads (unit stride);
* a two-factor contraction over three distinct indices is split so that each
  factor is an array, which ``use_blas`` can hand to ``gemm``.

The passes in :mod:`algebrac.lower.passes` then fuse, scalarize, hoist and
parallelize.

>>> import algebrac as ac
>>> from algebrac.lower.ir import pformat
>>> n = ac.dim("n")
>>> x = ac.vector("x", n)
>>> prog = prepare_tensors([x], [ac.sum(x * x)])
>>> print(pformat(lower_tensors(prog, DType.FLOAT64)))
kernel _ac_tensor_d(in _ac_in0: float64[_ac_d0], out _ac_out0: float64[]):
  _ac_out0[0] = 0
  for _ac_j1 in 0.._ac_d0 (serial):
    _ac_out0[0] += _ac_in0[_ac_j1]**2
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp

from ..dtypes import DType
from ..errors import ShapeError, SignatureError, UnsupportedError
from ..expr.functions import LogSumExp, ReduceMax, ReduceMin
from ..expr.symbols import Dim, InputLabel, is_index_symbol
from ..expr.tensor import Tensor
from ..config import symbolic_budget
from ..simplify.budget import Deadline
from .elementwise import _check_supported, rewritten
from .ir import Accumulate, Assign, Buffer, Kernel, Let, Loop, ReduceOp, Role

__all__ = ["Param", "Output", "TensorProgram", "prepare_tensors", "lower_tensors",
           "REDUCTIONS"]

REDUCTIONS = (sp.Sum, sp.Product, ReduceMax, ReduceMin, LogSumExp)
_OPS = {sp.Sum: ReduceOp.ADD, sp.Product: ReduceOp.MUL, ReduceMax: ReduceOp.MAX,
        ReduceMin: ReduceOp.MIN}


@dataclass(frozen=True)
class Param:
    """One input of the compiled function: a tensor (an array) or a scalar symbol."""

    name: str          # the user's name, for messages
    buffer: str        # _ac_in<k>
    shape: tuple       # in mangled sizes; () for scalars
    dtype: DType       # the tensor's dtype (float inputs compute in the loop dtype)
    user_shape: tuple  # in the user's dims, for messages


@dataclass(frozen=True)
class Output:
    name: str
    buffer: str
    shape: tuple
    dtype: DType
    body: sp.Expr      # in mangled names; free indices _ac_o0, _ac_o1, ...
    user_shape: tuple


@dataclass(frozen=True)
class TensorProgram:
    """What ``prepare_tensors`` hands to lowering."""

    params: tuple
    outputs: tuple
    sizes: tuple        # mangled size symbols, in order
    dims: tuple         # the user's Dim for each size symbol
    constraints: tuple  # (lhs, rhs, why) in mangled sizes


def _out_index(a: int) -> sp.Symbol:
    return sp.Symbol(f"_ac_o{a}", integer=True, nonnegative=True)


def _size_symbol(k: int) -> sp.Symbol:
    return sp.Symbol(f"_ac_d{k}", integer=True, nonnegative=True)


def _label_of(t) -> tuple:
    """(kind, key) of one entry of ``inputs``."""
    if isinstance(t, Tensor):
        if not t.is_input:
            raise SignatureError(
                f"function() inputs must be input tensors (ac.vector, ac.matrix, ...) or "
                f"SymPy symbols; {t} is computed from other tensors")
        return "tensor", t.label
    if isinstance(t, InputLabel):
        raise SignatureError(f"pass the tensor, not its label {t}")
    if isinstance(t, sp.Symbol) and not isinstance(t, Dim) and not is_index_symbol(t):
        return "scalar", t
    raise SignatureError(f"function() inputs must be input tensors or SymPy symbols, got "
                         f"{t!r} ({type(t).__name__})")


def _as_tensor_output(o, k):
    if isinstance(o, Tensor):
        return o
    if isinstance(o, (sp.Expr, int, float)):
        return Tensor(shape=(), body=sp.sympify(o))
    raise SignatureError(f"function() output {k} must be a Tensor or a SymPy expression, "
                         f"got {o!r} ({type(o).__name__})")


def check_signature(inputs, outputs) -> None:
    """Inputs listed once; every tensor and symbol an output reads is among the inputs."""
    kinds = [_label_of(t) for t in inputs]
    seen: dict = {}
    for t, (kind, key) in zip(inputs, kinds):
        name = t.name if isinstance(t, Tensor) else str(t)
        if key in seen or name in seen.values():
            raise SignatureError(f"function() inputs repeat {name}; list each input once")
        seen[key] = name
    given_labels = {key for kind, key in kinds if kind == "tensor"}
    given_scalars = {key for kind, key in kinds if kind == "scalar"}
    for k, o in enumerate(outputs):
        where = f"output {k} ({(o.name or str(o.body))[:60]})"
        for inp in o.inputs:
            if inp.label not in given_labels:
                raise SignatureError(f"{where} reads the tensor {inp.name}, which is not "
                                     "among the inputs; add it to the inputs")
        for p in o.parameters:
            if p not in given_scalars:
                raise SignatureError(f"{where} depends on the symbol {p}, which is not "
                                     "among the inputs; add it or substitute a value")


def prepare_tensors(inputs, outputs, stabilize: bool = True,
                    limits: bool = False) -> TensorProgram:
    """Validate, stabilize and rename a tensor program (see the module docstring).

    The rewrites share one time budget (``ALGEBRAC_SYMBOLIC_TIMEOUT``); an output
    whose rewrite fails or runs past it is compiled as written, as in
    :func:`~algebrac.lower.elementwise.prepare`.  ``limits``: see
    :func:`algebrac.stabilize`.
    """
    inputs = list(inputs)
    outputs = [_as_tensor_output(o, k) for k, o in enumerate(outputs)]
    if not outputs:
        raise SignatureError("function() needs at least one output")
    check_signature(inputs, outputs)
    kinds = [_label_of(t) for t in inputs]
    for k, o in enumerate(outputs):
        _check_supported_tensor(o.body, f"output {k} ({(o.name or str(o.body))[:60]})")
    deadline = Deadline(symbolic_budget())
    bodies = [rewritten(o.body, k, stabilize, deadline, limits=limits, assume_real=True,
                        check=_check_supported_tensor) for k, o in enumerate(outputs)]
    bodies = [_delta_to_piecewise(b) if b.has(sp.KroneckerDelta) else b for b in bodies]

    # Sizes: every Dim of the inputs and outputs, by name.
    dims: dict = {}
    for t in list(inputs) + outputs:
        if isinstance(t, Tensor):
            for d in t.dims:
                dims.setdefault(d.name, d)
    dim_list = tuple(dims[name] for name in sorted(dims))
    size_map = {d: _size_symbol(k) for k, d in enumerate(dim_list)}

    renames: dict = dict(size_map)
    params = []
    for k, (t, (kind, key)) in enumerate(zip(inputs, kinds)):
        buf = f"_ac_in{k}"
        if kind == "tensor" and t.ndim > 0:
            shape = tuple(sp.sympify(d).xreplace(size_map) for d in t.shape)
            renames[sp.IndexedBase(key, shape=t.shape)] = sp.IndexedBase(buf, shape=shape)
            params.append(Param(t.name, buf, shape, t.dtype, t.shape))
        else:
            renames[key] = sp.Symbol(f"_ac_s{k}")
            dtype = t.dtype if kind == "tensor" else DType.FLOAT64
            params.append(Param(str(t.name if kind == "tensor" else t), buf, (), dtype, ()))
    outs = []
    for k, (o, body) in enumerate(zip(outputs, bodies)):
        idx = {i: _out_index(a) for a, i in enumerate(o.indices)}
        shape = tuple(sp.sympify(d).xreplace(size_map) for d in o.shape)
        body = body.xreplace({**renames, **idx})
        _check_names(body, where=f"output {k}")
        outs.append(Output(o.name or f"out{k}", f"_ac_out{k}", shape, o.dtype, body, o.shape))
    constraints = [(c.lhs.xreplace(size_map), c.rhs.xreplace(size_map), c.why)
                   for o in outputs for c in o.constraints]
    return TensorProgram(tuple(params), tuple(outs), tuple(size_map.values()), dim_list,
                         tuple(constraints))


def _check_supported_tensor(body, where):
    """Like the elementwise check; reductions and tensor reads are checked inside."""
    def strip(e):
        if isinstance(e, REDUCTIONS):
            _check_supported(strip(e.function), where)
            return sp.Dummy("r", real=True)
        if isinstance(e, (sp.Indexed, sp.KroneckerDelta)):
            return sp.Dummy("v", real=True)
        if not e.args:
            return e
        args = tuple(strip(a) for a in e.args)
        return e.func(*args) if args != e.args else e

    _check_supported(strip(body), where)


def _delta_to_piecewise(body):
    return body.replace(sp.KroneckerDelta,
                        lambda a, b, *rest: sp.Piecewise((1, sp.Eq(a, b)), (0, True)))


def _check_names(body, where):
    for s in body.free_symbols:
        if isinstance(s, sp.Symbol) and not s.name.startswith("_ac_"):
            raise UnsupportedError(f"{where}: the symbol {s} is neither an input nor a size "
                                   "(this is a bug in algebrac if the inputs list it)")


# ---- lowering -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Def:
    """``target[free] (op)= body`` over ``free`` and ``red`` index symbols."""

    target: Buffer
    free: tuple
    extents: tuple
    red: tuple
    red_extents: tuple
    op: ReduceOp | None
    body: sp.Expr


class _Lowerer:
    def __init__(self, prog: TensorProgram, dtype: DType):
        self.prog, self.dtype = prog, dtype
        self.defs: list = []
        self.temps: list = []
        self.memo: dict = {}
        self.arrays: dict = {}   # materialized gemm operands: (canonical expr, extents) -> buf
        self._counter = itertools.count()

    def fresh(self) -> sp.Symbol:
        return sp.Symbol(f"_ac_j{next(self._counter)}", integer=True, nonnegative=True)

    def temp(self, shape) -> Buffer:
        buf = Buffer(f"_ac_tmp{len(self.temps)}", self.dtype, tuple(shape), Role.TEMP)
        self.temps.append(buf)
        return buf

    # Replace every reduction in e by a read of its temporary (innermost first).
    def materialize(self, e, scope: dict):
        if isinstance(e, REDUCTIONS):
            return self.reduction(e, scope)
        if not e.args or isinstance(e, sp.Indexed):
            return e
        args = tuple(self.materialize(a, scope) for a in e.args)
        return e.func(*args) if args != e.args else e

    def reduction(self, r, scope: dict):
        mapping, red, extents = {}, [], []
        for v, lo, hi in r.limits:
            j = self.fresh()
            extent = sp.expand(hi - lo + 1)
            if extent.free_symbols & set(scope):
                raise UnsupportedError(
                    f"the reduction {str(r)[:80]} has a range that depends on another "
                    "index; algebrac compiles rectangular reductions only")
            mapping[v] = j + lo
            red.append(j)
            extents.append(extent)
        inner = {**scope, **dict(zip(red, extents))}
        f = self.materialize(r.function.xreplace(mapping), inner)
        if isinstance(r, LogSumExp):
            return self.logsumexp(f, red, extents, scope)
        return self.reduce_to_temp(_OPS[type(r)], f, red, extents, scope)

    def logsumexp(self, f, red, extents, scope):
        m = self.reduce_to_temp(ReduceOp.MAX, f, red, extents, scope)
        finite = sp.And(sp.StrictGreaterThan(m, sp.S.NegativeInfinity, evaluate=False),
                        sp.StrictLessThan(m, sp.S.Infinity, evaluate=False))
        shift = sp.Piecewise((m, finite), (0, True))
        fresh = [self.fresh() for _ in red]
        g = sp.exp(f - shift).xreplace(dict(zip(red, fresh)))
        s = self.reduce_to_temp(ReduceOp.ADD, g, fresh, extents, scope)
        return shift + sp.log(s)

    def reduce_to_temp(self, op, f, red, extents, scope):
        # The sharing key names the free indices by first appearance, so the same
        # reduction read in another order (a transpose) finds the same temporary.
        present = f.free_symbols
        candidates = [s for s in scope if s not in red and s in present]
        canon_free = _ordered_free(f, candidates)
        holders = [sp.Symbol(f"_ac_P{a}", integer=True) for a in range(len(canon_free))]
        rholders = [sp.Symbol(f"_ac_R{a}", integer=True) for a in range(len(red))]
        to_holder = dict(zip(canon_free, holders))
        canon = f.xreplace({**to_holder, **dict(zip(red, rholders))})
        key = (op, canon, tuple(scope[s] for s in canon_free), tuple(extents))
        hit = self.memo.get(key)
        if hit is None:
            # A new temporary's axes follow the consumer's loop order (outer indices
            # first), so the consumer reads it along rows and the nests can fuse.
            axes = tuple(to_holder[s] for s in candidates)
            buf = self.temp(tuple(scope[s] for s in candidates))
            hit = self.memo[key] = (buf, axes)
            dfree = [self.fresh() for _ in axes]
            dred = [self.fresh() for _ in red]
            body = canon.xreplace({**dict(zip(axes, dfree)), **dict(zip(rholders, dred))})
            self.add_def(_Def(buf, tuple(dfree), buf.shape, tuple(dred), tuple(extents), op,
                              body))
        buf, axes = hit
        from_holder = {h: s for s, h in to_holder.items()}
        return buf[tuple(from_holder[h] for h in axes)] if axes else buf[0]

    def add_def(self, d: _Def):
        self.defs.append(self.split_contraction(d) or d)

    def split_contraction(self, d: _Def):
        """Make both factors of ``sum_k A(i, k) B(k, j)`` arrays, so BLAS can take it."""
        if d.op is not ReduceOp.ADD or len(d.free) != 2 or len(d.red) != 1:
            return None
        factors = sp.Mul.make_args(d.body)
        groups = ([], [], [])
        for f in factors:
            has = [bool(f.has(s)) for s in d.free]
            if all(has):
                return None
            groups[0 if has[0] else 1 if has[1] else 2].append(f)
        a_part, b_part, rest = groups
        if not a_part or not b_part:
            return None
        consts = [f for f in rest if not f.has(d.red[0])]
        shared = [f for f in rest if f.has(d.red[0])]
        a_expr, b_expr = sp.Mul(*a_part, *shared), sp.Mul(*b_part)
        (k,) = d.red
        a_read = self.as_array(a_expr, (d.free[0], k), (d.extents[0], d.red_extents[0]))
        b_read = self.as_array(b_expr, (k, d.free[1]), (d.red_extents[0], d.extents[1]))
        return _Def(d.target, d.free, d.extents, d.red, d.red_extents, d.op,
                    sp.Mul(*consts) * a_read * b_read)

    def as_array(self, e, idx, extents):
        """``e`` over the two indices ``idx`` as a read of an array (materialized if needed).

        The temporary takes the axis order of the arrays ``e`` reads, so it is written
        along rows; gemm takes either orientation.
        """
        if _plain_read(e, idx) or _plain_read(e, idx[::-1]):
            return e
        scores = _position_scores(e, None, list(idx))
        if scores[idx[0]] > scores[idx[1]]:
            idx, extents = idx[::-1], extents[::-1]
        # Reuse operands materialized before (the forward pass's tanh(X W) in the
        # backward pass): as a whole, or as a subexpression.
        holders = (sp.Symbol("_ac_P0", integer=True), sp.Symbol("_ac_P1", integer=True))
        for (canon, ext), buf in self.arrays.items():
            for order in (idx, idx[::-1]):
                if ext == tuple(extents if order == idx else extents[::-1]):
                    inst = canon.xreplace(dict(zip(holders, order)))
                    e = e.xreplace({inst: buf[order]})
        if _plain_read(e, idx) or _plain_read(e, idx[::-1]):
            return e
        buf = self.temp(extents)
        self.arrays[(e.xreplace(dict(zip(idx, holders))), tuple(extents))] = buf
        fresh = [self.fresh() for _ in idx]
        self.defs.append(_Def(buf, tuple(fresh), tuple(extents), (), (), None,
                              e.xreplace(dict(zip(idx, fresh)))))
        return buf[idx]

    def lower(self) -> Kernel:
        prog = self.prog
        params = [Buffer(p.buffer, p.dtype if not p.dtype.is_float else self.dtype,
                         p.shape, Role.IN) for p in prog.params]
        outs, scalars = [], []
        for p in prog.params:
            if not p.shape:
                sym = sp.Symbol("_ac_s" + p.buffer.removeprefix("_ac_in"))
                dtype = self.dtype if p.dtype.is_float else p.dtype
                scalars.append(Let(sym, Buffer(p.buffer, dtype, (), Role.IN)[0], dtype))
        for o in prog.outputs:
            dtype = self.dtype if o.dtype.is_float else o.dtype
            buf = Buffer(o.buffer, dtype, o.shape, Role.OUT)
            outs.append(buf)
            free = tuple(self.fresh() for _ in o.shape)
            scope = {_out_index(a): ext for a, ext in enumerate(o.shape)}
            body = self.materialize(o.body, scope)
            body = body.xreplace({_out_index(a): f for a, f in enumerate(free)})
            self.defs.append(_Def(buf, free, o.shape, (), (), None, body))
        self.alias_outputs()
        inits, nests = [], []
        for d in self.defs:
            i, n = _nest(d, self.fresh)
            inits += i
            nests += n
        return Kernel(f"_ac_tensor_{self.dtype.char}", tuple(params + outs + self.temps_in_use()),
                      tuple(scalars + inits + nests), sizes=prog.sizes)

    def alias_outputs(self):
        """An output that is exactly a temporary (a whole reduction) is computed in place."""
        while not self._alias_one():
            pass

    def _alias_one(self) -> bool:
        for d in self.defs:
            b = d.body
            if d.target.role is not Role.OUT or d.op is not None or not (
                    isinstance(b, sp.Indexed) and b.base.name.startswith("_ac_tmp")):
                continue
            temp = next(t for t in self.temps if t.name == b.base.name)
            if tuple(b.indices) != (d.free or (sp.S.Zero,)) or temp.dtype != d.target.dtype:
                continue
            self.defs = [_Def(d.target if o.target.name == temp.name else o.target, o.free,
                              o.extents, o.red, o.red_extents, o.op,
                              o.body.xreplace({temp.base: d.target.base}))
                         for o in self.defs if o is not d]
            self.temps = [t for t in self.temps if t.name != temp.name]
            return False
        return True

    def temps_in_use(self):
        names = set()
        for d in self.defs:
            names.add(d.target.name)
            for ix in d.body.atoms(sp.Indexed):
                names.add(ix.base.name)
        return [t for t in self.temps if t.name in names]


def _plain_read(e, idx) -> bool:
    return (isinstance(e, sp.Indexed) and len(e.indices) == 2 and tuple(e.indices) == tuple(idx)
            and e.base.name.startswith(("_ac_in", "_ac_tmp")))


def _ordered_free(f, candidates) -> list:
    """The candidate index symbols ``f`` depends on, by first appearance (a canonical order)."""
    cand = set(candidates)
    return list(dict.fromkeys(node for node in sp.preorder_traversal(f) if node in cand))


def _position_scores(body, target, symbols) -> dict:
    """How strongly each index wants to be the innermost loop.

    An index that is the last (unit-stride) axis of a high-rank array wants to be
    inner; one that is an earlier axis of a high-rank array wants to be outer.
    The score is the difference of the two ranks.
    """
    inner = {s: 0 for s in symbols}
    outer = {s: 0 for s in symbols}
    reads = list(body.atoms(sp.Indexed))
    if isinstance(target, sp.Indexed):
        reads.append(target)
    for ix in reads:
        nd = len(ix.indices)
        for pos, expr in enumerate(ix.indices):
            for s in sp.sympify(expr).free_symbols:
                if s in inner:
                    table = inner if pos == nd - 1 else outer
                    table[s] = max(table[s], nd)
    return {s: inner[s] - outer[s] for s in symbols}


def _loops(order, extents, body):
    stmts = tuple(body)
    for s in reversed(order):
        stmts = (Loop(s, extents[s], stmts),)
    return list(stmts)


def _nest(d: _Def, fresh):
    """(initialisations, the nest) for one definition."""
    target = d.target[d.free] if d.free else d.target[0]
    extents = dict(zip(d.free + d.red, d.extents + d.red_extents))
    everything = list(d.free) + list(d.red)
    scores = _position_scores(d.body, target, everything)
    order = sorted(everything, key=lambda s: scores[s])  # stable: free first on ties
    if d.op is None:
        return [], _loops(order, extents, [Assign(target, d.body)])
    init_value, acc = d.op.identity, Accumulate(target, d.body, d.op)
    if not d.free:   # a full reduction: its initialisation goes first with the others
        return [Assign(target, init_value)], _loops(order, extents, [acc])
    if all(order.index(f) < len(d.free) for f in d.free):
        red_order = order[len(d.free):]
        inner = [Assign(target, init_value)] + _loops(red_order, extents, [acc])
        return [], _loops(order[:len(d.free)], extents, inner)
    init_idx = [fresh() for _ in d.free]
    init = _loops(init_idx, dict(zip(init_idx, d.extents)),
                  [Assign(d.target[tuple(init_idx)], init_value)])
    return init, _loops(order, extents, [acc])


def lower_tensors(prog: TensorProgram, dtype: DType) -> Kernel:
    """One kernel computing every output of ``prog`` in ``dtype`` (float32 or float64)."""
    if dtype not in (DType.FLOAT32, DType.FLOAT64):
        raise ShapeError(f"tensor kernels compute in float32 or float64, not {dtype.value}")
    return _Lowerer(prog, dtype).lower()
