"""Statement printing shared by the C-family targets (C for the CPU, later CUDA).

``CFamilyPrinter`` subclasses SymPy's ``C99CodePrinter``: scalar expressions
print through SymPy's machinery with a few overrides that make the output
exact and safe, and IR statements print through ``_print_<Node>`` methods
found by the same class-name dispatch.  Targets override hooks
(``loop_pragma``, ``load``/``store`` of ``Indexed``) rather than whole methods.

Overrides and why:

* constants print exactly: floats as the shortest text that reads back as
  the same value, rationals as their correctly rounded value in the
  kernel's dtype (``1/3`` in float32 is rounded once, not via double);
* integer powers become multiplications (``pow`` is 150x slower on a cubic);
* functions come from :mod:`algebrac.mathfuncs`, in the kernel's precision;
* every identifier must be one of ours (``_ac_`` prefix), so no user-supplied
  name can reach the C source.

>>> import sympy as sp
>>> x = sp.Symbol("_ac_x0")
>>> CFamilyPrinter({"dtype": DType.FLOAT32}).doprint(sp.sin(x)**3 / 10 + sp.Rational(1, 3))
'(0.1F)*sinf(_ac_x0)*sinf(_ac_x0)*sinf(_ac_x0) + 0.33333334F'
"""
from __future__ import annotations

import contextlib
import re

import mpmath
import numpy as np
import sympy as sp
from sympy.printing.c import C99CodePrinter

from ..dtypes import DType
from ..errors import UnsupportedError, VerifyError
from ..mathfuncs import FUNCTIONS, row_for
from .ir import Accumulate, Assign, Buffer, Kernel, Let, Loop, ReduceOp, Role, compute_dtype

__all__ = ["CFamilyPrinter", "NestPrinter", "SAFE_NAME", "stride_name"]

SAFE_NAME = re.compile(r"^_ac_[A-Za-z0-9_]+$")
MAX_POW_UNROLL = 16
PREC_POW = sp.printing.precedence.PRECEDENCE["Pow"]
PREC_MUL = sp.printing.precedence.PRECEDENCE["Mul"]


def float_literal(value: float, dtype: DType) -> str:
    """A C literal that denotes exactly ``value`` rounded to ``dtype``."""
    if np.isnan(value):
        return "NAN"
    if np.isinf(value):
        return "INFINITY" if value > 0 else "(-INFINITY)"
    if dtype is DType.FLOAT32:
        with np.errstate(over="ignore"):
            single = np.float32(value)
        if np.isinf(single):
            return "INFINITY" if single > 0 else "(-INFINITY)"
        # np.float32's str is the shortest text that reads back as the same float32.
        text = str(single)
        suffix = "F"
    else:
        text, suffix = repr(float(value)), ""
    if "e" not in text and "." not in text and "inf" not in text:
        text += ".0"
    return text + suffix


def rational_value(p: int, q: int, dtype: DType) -> float:
    """``p/q`` correctly rounded to ``dtype`` (no double rounding for float32)."""
    if dtype is DType.FLOAT32:
        with mpmath.workprec(24):
            return float(mpmath.mpf(p) / q)
    return p / q  # Python's int/int division is correctly rounded


class CFamilyPrinter(C99CodePrinter):
    """C99 printer for algebrac kernels; settings: ``dtype`` (a DType)."""

    _default_settings = dict(C99CodePrinter._default_settings, dtype=DType.FLOAT64)
    indent_unit = "    "
    index_type = "npy_intp"   # loop indices and sizes (64-bit on every target)

    def __init__(self, settings=None):
        settings = dict(settings or {})
        dtype = settings.get("dtype", DType.FLOAT64)
        settings.setdefault("type_aliases", {})
        settings["type_aliases"] = {sp.codegen.ast.real: dtype.sympy_type}
        super().__init__(settings)
        self.dtype: DType = dtype
        # name -> (has a SIMD variant, arity, C type, ever called conditionally)
        self.used_functions: dict = {}
        self.used_scipy: dict = {}    # C name -> the row of a SciPy function called
        self._conditional = 0

    # -- scalars ---------------------------------------------------------
    def _print_Symbol(self, expr):
        if not SAFE_NAME.match(expr.name):
            raise VerifyError(f"identifier {expr.name!r} reached the C printer unmangled")
        return expr.name

    def _print_Float(self, expr):
        return float_literal(float(expr), self.dtype)

    def _print_Integer(self, expr):
        return float_literal(float(int(expr)), self.dtype)

    def _print_Rational(self, expr):
        return float_literal(rational_value(int(expr.p), int(expr.q), self.dtype), self.dtype)

    def _print_NumberSymbol(self, expr):
        return float_literal(float(expr.evalf(30)), self.dtype)

    _print_Exp1 = _print_Pi = _print_EulerGamma = _print_GoldenRatio = _print_NumberSymbol
    _print_Catalan = _print_TribonacciConstant = _print_NumberSymbol

    _print_Infinity = staticmethod(lambda expr: "INFINITY")
    _print_NegativeInfinity = staticmethod(lambda expr: "(-INFINITY)")
    _print_NaN = staticmethod(lambda expr: "NAN")
    _print_BooleanTrue = staticmethod(lambda expr: "1")
    _print_BooleanFalse = staticmethod(lambda expr: "0")

    def _print_Xor(self, expr):
        parts = [f"(({self._print(a)}) != 0)" for a in expr.args]
        return "(" + " ^ ".join(parts) + ")"

    def _print_Pow(self, expr):
        base, exp = expr.base, expr.exp
        if exp.is_Integer and 0 < abs(int(exp)) <= MAX_POW_UNROLL:
            if exp > 0:
                b = self.parenthesize(base, sp.printing.precedence.PRECEDENCE["Mul"])
                return "*".join([b] * int(exp))
            # b**-n as (1/b)**n: no intermediate overflows or underflows before the
            # result does (1/(b*b*b) is -0.0 at b = -6.9e104, where b**-3 is a subnormal).
            r = f"({self._print_Integer(sp.S.One)}/{self.parenthesize(base, PREC_POW)})"
            return r if exp == -1 else "(" + "*".join([r] * -int(exp)) + ")"
        if exp == sp.S.Half:
            return self._call("sqrt", "sqrtf", base)
        if exp == -sp.S.Half:
            return f"({self._print_Integer(sp.S.One)}/{self._call('sqrt', 'sqrtf', base)})"
        if base == sp.S.Exp1:
            return self._call("exp", "expf", exp, simd=True)
        return self._call("pow", "powf", base, exp, simd=True)

    def _print_Mul(self, expr):
        # Division stays division: a*b**-n prints as a/b/.../b, never a*(1/b)**n (1/b
        # overflows for tiny b) nor a/(b*...*b) (the product overflows before the
        # quotient does).  Each step moves toward the result, so none overflows early.
        c, _ = expr.as_coeff_Mul()
        if c.p < 0 if c.is_Rational else c.is_negative:   # (a rational's sign: no deduction)
            pos = -expr   # a product's precedence (Mul) is below Pow's: parenthesized
            return "-" + (f"({self._print(pos)})" if pos.is_Mul else
                          self.parenthesize(pos, PREC_POW))
        den = [f for f in expr.args if f.is_Pow and f.exp.is_Rational and f.exp.p < 0]
        if not den and (c.is_Rational or c.is_Float) and expr not in self.math_macros:
            # SymPy's own _print_Mul, less the precedence test that builds -expr (the
            # coefficient is not negative here): a large body has thousands of products.
            factors = expr.as_ordered_factors() if self.order not in ("old", "none") \
                else expr.args
            return "*".join(self.parenthesize(f, PREC_MUL) for f in factors)
        if not den:
            return super()._print_Mul(expr)
        num = sp.Mul(*[f for f in expr.args if not any(f is d for d in den)])
        text = self.parenthesize(num, sp.printing.precedence.PRECEDENCE["Mul"])
        for d in den:
            n = -d.exp
            if n.is_Integer and n <= MAX_POW_UNROLL:
                text += f"/{self.parenthesize(d.base, PREC_POW)}" * int(n)
            else:
                text += f"/{self._print(d.base ** n)}"
        return text

    def _call(self, c64: str, c32: str, *args, simd: bool = False) -> str:
        name = self._use(c64, c32, len(args), simd)
        return f"{name}({', '.join(self._print(a) for a in args)})"

    def _use(self, c64: str, c32: str, nargs: int, simd: bool) -> str:
        name = c32 if self.dtype is DType.FLOAT32 else c64
        before = self.used_functions.get(name, (simd, 0, "", False))
        self.used_functions[name] = (simd, nargs, self.dtype.c_name,
                                     before[3] or self._conditional > 0)
        return name

    def _print_Function(self, expr):
        row = row_for(type(expr))
        if row is None:
            raise UnsupportedError(f"no C translation for {type(expr).__name__}: {expr}")
        args = list(expr.args)
        if row.nargs == 2 and len(args) > 2:  # SymPy's n-ary Min/Max
            return self._print(expr.func(expr.func(*args[:-1]), args[-1], evaluate=False))
        for dep in map(FUNCTIONS.get, row.calls):  # inlined by an _ac_ helper
            self._use(dep.c64, dep.c32, dep.nargs, dep.simd)
        c64, c32 = self.names_of(row, expr)
        if row.cython:   # a SciPy function: the module hands the loop its pointer
            self.used_scipy[row.c64] = row
        return self._call(c64, c32, *row.full_args(args), simd=row.simd)

    def names_of(self, row, expr) -> tuple:
        """The (double, float) names of a table function on this target."""
        return row.c64, row.c32

    @contextlib.contextmanager
    def _branch(self):
        self._conditional += 1
        try:
            yield
        finally:
            self._conditional -= 1

    def _print_Piecewise(self, expr):
        # Only the first condition runs for every element; the renderer needs to
        # know which calls are conditional (see cpu/render.py).
        parts = []
        for k, (e, c) in enumerate(expr.args):
            with self._branch():
                value = self._print(e)
            if c == sp.true:
                cond = None
            elif k == 0:
                cond = self._print(c)
            else:
                with self._branch():
                    cond = self._print(c)
            parts.append((value, cond))
        text = "NAN"
        for value, cond in reversed(parts):
            text = value if cond is None else f"(({cond}) ? ({value}) : ({text}))"
        return text

    def _print_ITE(self, expr):
        # Not expr.rewrite(Piecewise): that rewrites the whole subtree, and a Min or Max
        # inside becomes a comparison that drops a NaN (Min(x, NaN) < -1 would be true).
        cond = self._print(expr.args[0])
        with self._branch():
            a, b = self._print(expr.args[1]), self._print(expr.args[2])
        return f"(({cond}) ? ({a}) : ({b}))"

    # -- statements ------------------------------------------------------
    def ctype(self, dtype: DType) -> str:
        return "int" if dtype is DType.BOOL else dtype.c_name

    def block(self, header: str, stmts, depth: int, pragma: str = "") -> list:
        pad = self.indent_unit * depth
        lines = [pad + pragma] if pragma else []
        lines.append(f"{pad}{header} {{")
        for s in stmts:
            lines.extend(self.statement(s, depth + 1))
        lines.append(pad + "}")
        return lines

    def statement(self, stmt, depth: int) -> list:
        method = getattr(self, "_stmt_" + type(stmt).__name__, None)
        if method is None:
            raise VerifyError(f"{type(self).__name__} cannot print {type(stmt).__name__}")
        return method(stmt, depth)

    def _stmt_Let(self, stmt: Let, depth):
        pad = self.indent_unit * depth
        return [f"{pad}const {self.ctype(stmt.dtype)} {self._print(stmt.symbol)} = "
                f"{self._print(stmt.value)};"]

    def _stmt_Assign(self, stmt: Assign, depth):
        pad = self.indent_unit * depth
        return [f"{pad}{self._print(stmt.target)} = {self._print(stmt.value)};"]

    def _stmt_Accumulate(self, stmt: Accumulate, depth):
        pad = self.indent_unit * depth
        t, v = self._print(stmt.target), self._print(stmt.value)
        if stmt.op in (ReduceOp.ADD, ReduceOp.MUL):
            return [f"{pad}{t} {stmt.op.value}= {v};"]
        return [f"{pad}{t} = {self.fold(stmt.op)(t, v)};"]

    def fold(self, op: ReduceOp):
        """``(a, b) -> text`` combining two partial results of a reduction."""
        if op.value in "+*":
            return lambda a, b: f"{a} {op.value} {b}"
        fn = ("_ac_max" if op.value == "max" else "_ac_min") + (
            "f" if self.dtype is DType.FLOAT32 else "")
        return lambda a, b: f"{fn}({a}, {b})"

    def loop_pragma(self, loop: Loop) -> str:
        return ""

    def _for(self, loop: Loop, start: str = "0", step: str = "1") -> str:
        i, n = self._print(loop.index), self._print_index(loop.extent)
        inc = f"{i}++" if step == "1" else f"{i} += {step}"
        return f"for ({self.index_type} {i} = {start}; {i} < {n}; {inc})"

    def _stmt_Loop(self, loop: Loop, depth):
        return self.block(self._for(loop), loop.body, depth, self.loop_pragma(loop))

    def _print_index(self, expr) -> str:
        """Integer-valued index arithmetic (no float literals)."""
        expr = sp.sympify(expr)
        if expr.is_Symbol:
            return self._print_Symbol(expr)
        if expr.is_Integer:
            return str(int(expr))
        if isinstance(expr, (sp.Add, sp.Mul)):
            return f"({(' + ' if expr.is_Add else '*').join(map(self._print_index, expr.args))})"
        if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
            return "(" + "*".join([self._print_index(expr.base)] * int(expr.exp)) + ")"
        if isinstance(expr, (sp.Max, sp.Min)):
            op = ">" if isinstance(expr, sp.Max) else "<"
            a, b = self._print_index(expr.args[0]), self._print_index(
                expr.func(*expr.args[1:]))
            return f"(({a}) {op} ({b}) ? ({a}) : ({b}))"
        if isinstance(expr, sp.floor):   # of a quotient of nonnegative sizes: C's division
            return "(({}) / ({}))".format(*map(self._print_index, sp.fraction(expr.args[0])))
        raise VerifyError(f"index expression {expr} is not integer arithmetic")


# SymPy's C printer has its own _print_<Function> for some heads (and prints the
# others by name): every table function goes through the table instead.
for _row in FUNCTIONS.values():
    setattr(CFamilyPrinter, "_print_" + _row.sympy.__name__, CFamilyPrinter._print_Function)


def stride_name(name: str, axis: int) -> str:
    """The C name of an operand's element stride along ``axis``."""
    return f"_ac_st_{name.removeprefix('_ac_')}_{axis}"


class NestPrinter(CFamilyPrinter):
    """Statements of a loop-nest kernel, for any C-family target.

    Inputs and outputs are addressed through their element strides
    (:func:`stride_name`), temporaries are contiguous.  ``redirect`` maps a
    reduction target to a private copy while a parallel loop runs: a scalar
    name, or for an array a template whose ``{}`` receives the flat offset.
    Targets override ``ctype_of`` (the C type of a buffer element) and the
    loop headers.
    """

    def __init__(self, kernel: Kernel, settings=None):
        dtype = compute_dtype(kernel)
        super().__init__({"dtype": dtype, **(settings or {})})
        self.kernel = kernel
        self.buffers = {p.name: p for p in kernel.params if isinstance(p, Buffer)}
        self.declared: set = set()
        self.redirect: dict = {}   # name -> (private name or "{}" template, is array)
        self.counter = 0

    def ctype_of(self, dtype: DType) -> str:
        return dtype.c_name

    # -- scalars ---------------------------------------------------------------
    def _print_Symbol(self, expr):
        r = self.redirect.get(expr.name)
        if r is not None and not r[1]:
            return r[0]
        return super()._print_Symbol(expr)

    def _offset(self, buf: Buffer, indices, contiguous: bool) -> str:
        if not buf.shape:
            return "0"
        if contiguous:
            text = self._print_index(indices[0])
            for d, i in zip(buf.shape[1:], indices[1:]):
                text = f"({text})*{self._print_index(d)} + {self._print_index(i)}"
            return text
        return " + ".join(f"({self._print_index(i)})*{stride_name(buf.name, a)}"
                          for a, i in enumerate(indices))

    def _print_Indexed(self, expr):
        name = expr.base.name
        buf = self.buffers[name]
        r = self.redirect.get(name)
        if r is not None:
            return r[0].format(self._offset(buf, expr.indices, True))
        contiguous = buf.role is Role.TEMP
        return f"{name}[{self._offset(buf, expr.indices, contiguous)}]"

    def _print_Relational(self, expr):
        # Comparisons of loop indices and sizes (where, slicing, concatenation) are
        # integer arithmetic: printed as floats they would round above 2**24 in float32
        # (and C's isgreater & co. take only floating arguments).
        syms = expr.free_symbols
        if syms and all(s.name.startswith(("_ac_j", "_ac_d", "_ac_o")) for s in syms) and all(
                a.is_integer for a in (expr.lhs, expr.rhs)):
            return f"({self._print_index(expr.lhs)} {expr.rel_op} {self._print_index(expr.rhs)})"
        return super()._print_Relational(expr)

    # -- statements --------------------------------------------------------------
    def _stmt_Assign(self, stmt: Assign, depth):
        if isinstance(stmt.target, sp.Symbol) and stmt.target.name not in self.declared \
                and stmt.target.name not in self.redirect:
            self.declared.add(stmt.target.name)
            pad = self.indent_unit * depth
            return [f"{pad}{self.dtype.c_name} {self._print(stmt.target)} = "
                    f"{self._print(stmt.value)};"]
        return super()._stmt_Assign(stmt, depth)

    def ctype(self, dtype: DType) -> str:
        return "int" if dtype is DType.BOOL else self.ctype_of(dtype)

    def unravel(self, buf: Buffer, flat: str) -> str:
        """The element ``flat`` (row-major number) of ``buf``, addressed like any access."""
        e = sp.Symbol(flat, integer=True)
        idx, rest = [], e
        for a in range(len(buf.shape) - 1, -1, -1):
            d = sp.sympify(buf.shape[a])
            idx.insert(0, sp.Mod(rest, d, evaluate=False) if a else rest)
            rest = sp.floor(rest / d) if a else rest
        if buf.role is Role.TEMP:
            return f"{buf.name}[{flat}]"
        if not buf.shape:
            return f"{buf.name}[0]"
        offset = " + ".join(f"({self._unravel(i)})*{stride_name(buf.name, a)}"
                            for a, i in enumerate(idx))
        return f"{buf.name}[{offset}]"

    def _unravel(self, e) -> str:
        if isinstance(e, sp.Mod):
            return f"({self._unravel(e.args[0])}) % ({self._print_index(e.args[1])})"
        if isinstance(e, sp.floor):
            num, den = e.args[0].as_numer_denom()
            return f"({self._unravel(num)}) / ({self._print_index(den)})"
        return self._print_index(e)
