r"""LaTeX (index and matrix notation) and one-line text for tensors.

Index notation prints the body with readable index names (``i, j`` free,
``k, l`` summed) and sums over a whole axis without range clutter:
``\sum_{k} X_{i k} w_{k}``.  Matrix notation is read off the construction
(``Tensor.origin``) wherever it is matrix algebra: ``X w``, ``X^{T} y``,
``\mathbf{1}^{T} x`` for a sum, ``\odot``/``\oslash`` for elementwise products
and quotients, ``\sigma\left(X w\right)`` for functions applied elementwise.
Only standard commands are used, so the output renders in MathJax and KaTeX.

>>> import algebrac as ac
>>> n, m = ac.dim("n"), ac.dim("m")
>>> X, w = ac.matrix("X", (n, m)), ac.vector("w", m)
>>> ac.latex(X @ w, notation="index")
'\\sum_{k} X_{i k} w_{k}'
>>> ac.latex(X.T @ ac.sigmoid(X @ w))
'X^{T} \\sigma\\left(X w\\right)'
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from ..dtypes import DType
from ..errors import SignatureError, UnsupportedError
from .functions import ReduceMax, ReduceMin
from .symbols import InputLabel
from .tensor import Tensor

__all__ = ["latex", "tensor_str", "IndexLatexPrinter", "index_names"]

_FREE_POOL = ("i", "j", "l", "p", "q", "r", "s", "u", "v")
_BOUND_POOL = ("k", "l", "p", "q", "r", "s", "u", "v", "a", "b", "c", "d")


def index_names(body: sp.Basic, free: tuple, shape: tuple = (), taken=()) -> dict:
    """Display names for the free indices and bound variables of ``body``.

    Names already used by other symbols of the formula, or listed in ``taken``,
    are skipped.
    """
    bound = {}   # in pre-order, so outer sums get the first names
    for node in sp.preorder_traversal(body):
        if isinstance(node, ExprWithLimits):
            for v in reversed(node.variables):
                bound.setdefault(v, None)
    taken = set(taken) | {s.name for s in body.atoms(sp.Symbol)
                          if s not in bound and s not in free}
    for d in shape:
        taken |= {s.name for s in d.free_symbols}
    names = {}

    def pick(pool, fallback, j):
        for name in pool:
            if name not in taken:
                taken.add(name)
                return name
        return f"{fallback}_{{{j}}}"

    for j, s in enumerate(free):
        names[s] = pick(_FREE_POOL, "i", j)
    for j, s in enumerate(s for s in bound if s not in free):
        names[s] = pick(_BOUND_POOL, "k", j)
    return names


# LaTeX's special characters, as math-mode text KaTeX and MathJax render.
_ESCAPES = {"#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\sim{}", "^": r"\hat{}", "\\": r"\backslash{}"}


def _needs_escape(name: str) -> bool:
    """A name SymPy's conventions (``x_1``, ``alpha``, ``x_{1}``) do not cover: print it verbatim.

    Balanced braces and ``_``/``^`` are SymPy's sub- and superscripts; any of
    ``# $ % & ~ \\`` or an unbalanced brace would reach LaTeX as markup.
    """
    depth = 0
    for c in name:
        depth += (c == "{") - (c == "}")
        if depth < 0:
            return True
    return depth != 0 or any(c in name for c in "#$%&~\\")


def _escape(name: str) -> str:
    r"""``name`` with every LaTeX special character escaped, upright (``a\%b``)."""
    return r"\mathrm{%s}" % "".join(_ESCAPES.get(c, c) for c in name)


class IndexLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with index notation: ``X_{i k}``, ``\\sum_{k}``, named indices."""

    def __init__(self, names: dict | None = None, settings: dict | None = None):
        super().__init__(settings or {})
        self._names = names or {}

    def _print_Symbol(self, expr, style="plain"):
        if expr in self._names:
            return self._names[expr]
        if _needs_escape(expr.name):
            return _escape(expr.name)
        return super()._print_Symbol(expr, style)

    def _print_Indexed(self, expr):
        base = self._print(expr.base.label)
        if "_" in base or "^" in base:
            base = "{%s}" % base
        idx = [self._print(i) for i in expr.indices]
        sep = " " if all(len(s) == 1 for s in idx) else ", "
        return "%s_{%s}" % (base, sep.join(idx))

    def _print_Unequality(self, expr):
        # A bool input x is held as Ne(x[i], 0): show it as x_{i}.
        lhs = expr.lhs
        label = lhs.base.label if isinstance(lhs, sp.Indexed) else lhs
        if expr.rhs == 0 and isinstance(label, InputLabel) and label.dtype is DType.BOOL:
            return self._print(lhs)
        return super()._print_Relational(expr)

    def _print_Piecewise(self, expr):
        # A bool used as a number, Piecewise((1, c), (0, True)), is the Iverson bracket [c].
        if len(expr.args) == 2 and expr.args[0].expr == 1 and expr.args[1].expr == 0 \
                and expr.args[1].cond == sp.true:
            return r"\left[%s\right]" % self._print(expr.args[0].cond)
        return super()._print_Piecewise(expr)

    @staticmethod
    def _full_range(v, lo, hi, function) -> bool:
        """True when ``v`` runs over a whole axis of an input it indexes directly."""
        if lo != 0:
            return False
        for node in function.atoms(sp.Indexed):
            shape = node.base.shape
            if shape is not None and any(ix == v and shape[p] - 1 == hi
                                         for p, ix in enumerate(node.indices)):
                return True
        return False

    def _big_operator(self, op, expr, exp=None):
        fn = expr.function
        if all(self._full_range(v, lo, hi, fn) for v, lo, hi in expr.limits):
            head = r"%s_{%s}" % (op, ", ".join(self._print(v) for v, _, _ in reversed(expr.limits)))
        elif op in (r"\sum", r"\prod"):
            head = " ".join(r"%s_{%s=%s}^{%s}" % (op, self._print(v), self._print(lo),
                                                   self._print(hi))
                            for v, lo, hi in reversed(expr.limits))
        else:
            ranges = (r"%s \le %s \le %s" % tuple(map(self._print, (lo, v, hi)))
                      for v, lo, hi in expr.limits)
            head = r"%s_{%s}" % (op, ", ".join(ranges))
        body = self._print(fn)
        if fn.is_Add or (isinstance(fn, sp.Piecewise) and not body.startswith(r"\left[")):
            body = r"\left(%s\right)" % body
        tex = "%s %s" % (head, body)
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)

    def _print_Sum(self, expr):
        return self._big_operator(r"\sum", expr)

    def _print_Product(self, expr):
        return self._big_operator(r"\prod", expr)

    def _print_ReduceMax(self, expr, exp=None):
        return self._big_operator(r"\max", expr, exp)

    def _print_ReduceMin(self, expr, exp=None):
        return self._big_operator(r"\min", expr, exp)

    def _needs_mul_brackets(self, expr, first=False, last=False) -> bool:
        # NOTE: SymPy brackets any factor that merely *contains* a Sum; a function
        # call already delimits its argument, so only bare big operators need them.
        if isinstance(expr, sp.Function) and not (expr.is_Piecewise or isinstance(expr, sp.Mod)):
            return False
        if not last and expr.has(ReduceMax, ReduceMin):
            return True
        return super()._needs_mul_brackets(expr, first=first, last=last)

    def _fn(self, head, expr, exp=None, sep=", "):
        tex = r"%s\left(%s\right)" % (head, sep.join(self._print(a) for a in expr.args))
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _print_exp2(self, expr, exp=None):
        tex = r"2^{%s}" % self._print(expr.args[0])
        return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


# Functions SymPy prints as plain names (or not at all): their LaTeX heads.
for _name, _head in {"log1p": r"\operatorname{log1p}", "expm1": r"\operatorname{expm1}",
                     "log2": r"\log_{2}", "log10": r"\log_{10}", "loggamma": r"\log\Gamma",
                     "hypot": r"\operatorname{hypot}", "atan2": r"\operatorname{atan2}"}.items():
    setattr(IndexLatexPrinter, "_print_" + _name,
            lambda self, expr, exp=None, _head=_head: self._fn(_head, expr, exp))


# ---- matrix notation ----------------------------------------------------------------
class _NotMatrix(Exception):
    """Raised inside the matrix printer when a node is not matrix algebra."""


# Precedence, loosest first: sum, Hadamard (odot/oslash), scalar multiple, matrix product,
# postfix (^T), atom.  An operand is parenthesised when it binds looser than its context.
ADD, HAD, SCALE, JUX, POST, ATOM = 1, 2, 3, 4, 5, 6

_FUNCS = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
    "sinh": r"\sinh", "cosh": r"\cosh", "tanh": r"\tanh", "arcsin": r"\arcsin",
    "arccos": r"\arccos", "arctan": r"\arctan", "arcsinh": r"\operatorname{arsinh}",
    "arccosh": r"\operatorname{arcosh}", "arctanh": r"\operatorname{artanh}",
    "sigmoid": r"\sigma", "softplus": r"\operatorname{softplus}",
    "relu": r"\operatorname{relu}", "log1p": r"\operatorname{log1p}",
    "expm1": r"\operatorname{expm1}", "exp2": r"\operatorname{exp2}", "log2": r"\log_{2}",
    "log10": r"\log_{10}", "erf": r"\operatorname{erf}", "erfc": r"\operatorname{erfc}",
    "gamma": r"\Gamma", "lgamma": r"\log\Gamma", "sign": r"\operatorname{sign}",
    "maximum": r"\max", "minimum": r"\min",
}
_WRAPS = {
    "abs": (r"\left|", r"\right|"), "sqrt": (r"\sqrt{", "}"), "cbrt": (r"\sqrt[3]{", "}"),
    "floor": (r"\left\lfloor ", r" \right\rfloor"), "ceil": (r"\left\lceil ", r" \right\rceil"),
}


class _MatrixPrinter:
    def __init__(self):
        self.scalar = IndexLatexPrinter()

    def paren(self, item, minimum):
        tex, prec = item
        return (r"\left(%s\right)" % tex) if prec < minimum else tex

    def ndim(self, x) -> int:
        return x.ndim if isinstance(x, Tensor) else 0

    def print(self, x):
        if not isinstance(x, Tensor):
            e = sp.sympify(x)
            p = precedence(e)
            tex = self.scalar.doprint(e)
            return tex, (ADD if p <= 40 or tex.startswith("-") else SCALE if p <= 50 else ATOM)
        if x.is_input:
            return self.scalar.doprint(x.label), ATOM
        if x.origin is None or x.ndim > 2:
            raise _NotMatrix("no matrix form for this tensor")
        method = getattr(self, "op_" + x.origin.name, None)
        if method is None:
            raise _NotMatrix(f"{x.origin.name} has no matrix form")
        return method(x, *x.origin.args, **x.origin.params)

    def op_const(self, t, value):
        return self.print(value)

    def _spread(self, x, other):
        """A 0-d operand against a tensor is ``c 1``; a row vector against a matrix ``1 v^T``."""
        item = self.print(x)
        n, m = self.ndim(x), self.ndim(other)
        if n > m:
            return item
        if n == m:
            if isinstance(x, Tensor) and isinstance(other, Tensor) and x.shape != other.shape:
                raise _NotMatrix("broadcasting between different shapes")
            return item
        if n == 0:
            return (r"\mathbf{1}", ATOM) if item[0] == "1" else \
                (r"%s \mathbf{1}" % self.paren(item, JUX), SCALE)
        if n == 1 and m == 2:
            return r"\mathbf{1} %s" % self.row(x), JUX
        raise _NotMatrix("broadcast")

    def op_add(self, t, a, b):
        left, right = self._spread(a, b), self._spread(b, a)
        return left[0] + " + " + self.paren(right, HAD if right[0][0] != "-" else ATOM), ADD

    def op_subtract(self, t, a, b):
        return self._spread(a, b)[0] + " - " + self.paren(self._spread(b, a), HAD), ADD

    def op_negative(self, t, a):
        return "-" + self.paren(self.print(a), HAD), ADD

    def _elementwise(self, a, b, symbol):
        if self.ndim(a) == 0 or self.ndim(b) == 0:
            return None
        ok = (HAD, POST, ATOM)
        sides = [self._spread(x, y) for x, y in ((a, b), (b, a))]
        tex = [s[0] if s[1] in ok else r"\left(%s\right)" % s[0] for s in sides]
        return "%s %s %s" % (tex[0], symbol, tex[1]), HAD

    def op_multiply(self, t, a, b):
        out = self._elementwise(a, b, r"\odot")
        if out:
            return out
        if self.ndim(b) == 0 and self.ndim(a) > 0:
            a, b = b, a                     # scalar first: c X
        value = None if isinstance(a, Tensor) else sp.sympify(a)
        sign = ""
        if value is not None and value.is_Number and value.is_negative:
            sign, a = "-", -value           # -2 X, not (-2) X
        left, right = self.print(a), self.print(b)
        # A scalar that is itself a product of tensors gets brackets: (x^T y) z.
        left_tex = self.paren(left, SCALE if value is not None else POST)
        right_tex = self.paren(right, JUX)
        if left_tex == "1":
            tex = right_tex
        else:
            joiner = r" \cdot " if re.match(r"[0-9.]", right_tex) else " "
            tex = left_tex + joiner + right_tex
        return (sign + tex, ADD) if sign else (tex, SCALE)

    def op_divide(self, t, a, b):
        if self.ndim(b) == 0:
            return r"\frac{%s}{%s}" % (self.print(a)[0], self.print(b)[0]), ATOM
        out = self._elementwise(a, b, r"\oslash")
        if out:
            return out
        return r"%s \oslash %s" % (self.paren(self._spread(a, b), POST),
                                  self.paren(self.print(b), POST)), HAD

    def op_power(self, t, a, b):
        if self.ndim(b) != 0:
            raise _NotMatrix("elementwise power with a tensor exponent")
        exp = self.print(b)[0]
        if self.ndim(a) == 0:
            return r"%s^{%s}" % (self.paren(self.print(a), ATOM), exp), POST
        return r"%s^{\circ %s}" % (self.paren(self.print(a), ATOM), exp), POST

    # A 1-d tensor is a column vector; row() gives its transpose, tidily for products.
    def transposed(self, b) -> str:
        """``B^T`` for a 2-d ``b``; ``(X^T)^T`` is printed ``X``."""
        o = b.origin if isinstance(b, Tensor) else None
        if o is not None and o.name == "transpose" and o.params.get("axes") is None:
            return self.paren(self.print(o.args[0]), JUX)
        return r"%s^{T}" % self.paren(self.print(b), ATOM)

    def row(self, v) -> str:
        o = v.origin if isinstance(v, Tensor) else None
        if o is not None and o.name in ("matmul", "dot") and self.ndim(v) == 1:
            a, b = o.args
            if (self.ndim(a), self.ndim(b)) == (1, 2):      # (B^T a)^T = a^T B
                return "%s %s" % (self.row(a), self.paren(self.print(b), JUX))
            if (self.ndim(a), self.ndim(b)) == (2, 1):      # (A b)^T = b^T A^T
                return "%s %s" % (self.row(b), self.transposed(a))
        return r"%s^{T}" % self.paren(self.print(v), ATOM)

    def op_matmul(self, t, a, b):
        shapes = (self.ndim(a), self.ndim(b))
        if shapes == (1, 1):
            return "%s %s" % (self.row(a), self.paren(self.print(b), JUX)), JUX
        if shapes == (1, 2):
            return "%s %s" % (self.transposed(b), self.paren(self.print(a), JUX)), JUX
        return "%s %s" % (self.paren(self.print(a), JUX), self.paren(self.print(b), JUX)), JUX

    op_dot = op_matmul

    def op_inner(self, t, a, b):
        if (self.ndim(a), self.ndim(b)) != (1, 1):
            raise _NotMatrix("inner of matrices")
        return self.op_matmul(t, a, b)

    def op_outer(self, t, a, b):
        if (self.ndim(a), self.ndim(b)) != (1, 1):
            raise _NotMatrix("outer of matrices")
        return "%s %s" % (self.paren(self.print(a), JUX), self.row(b)), JUX

    def op_transpose(self, t, a, axes=None):
        if self.ndim(a) < 2 or axes == (0, 1):
            return self.print(a)
        return r"%s^{T}" % self.paren(self.print(a), ATOM), POST

    def op_swapaxes(self, t, a, axis1, axis2):
        return self.op_transpose(t, a, None if axis1 % 2 != axis2 % 2 else (0, 1))

    def op_sum(self, t, a, axis=None, keepdims=False):
        nd = self.ndim(a)
        if keepdims:
            raise _NotMatrix("keepdims")
        items = range(nd) if axis is None else axis if isinstance(axis, (tuple, list)) else (axis,)
        axes = {x % nd for x in items}
        inner = self.paren(self.print(a), JUX)
        if nd == 0 or not axes:
            return self.print(a)
        if nd == 1:
            return r"\mathbf{1}^{T} %s" % inner, JUX
        if axes == {0, 1}:
            return r"\mathbf{1}^{T} %s \mathbf{1}" % inner, JUX
        if axes == {1}:
            return r"%s \mathbf{1}" % inner, JUX
        return r"%s^{T} \mathbf{1}" % self.paren(self.print(a), ATOM), JUX

    def op_mean(self, t, a, axis=None, keepdims=False):
        tex, _ = self.op_sum(t, a, axis, keepdims)
        count = sp.Mul(*a.shape) / sp.Mul(*t.shape) if isinstance(a, Tensor) else 1
        return r"\frac{1}{%s} %s" % (self.scalar.doprint(count), tex), SCALE

    def __getattr__(self, name):
        # Elementwise functions: f(x) prints as \f\left(x\right), applied to every element.
        fname = name[3:] if name.startswith("op_") else None
        if fname in _FUNCS:
            return lambda t, *args: (r"%s\left(%s\right)" % (
                _FUNCS[fname], ", ".join(self.print(a)[0] for a in args)), ATOM)
        if fname in _WRAPS:
            left, right = _WRAPS[fname]
            return lambda t, a: (left + self.print(a)[0] + right, ATOM)
        raise AttributeError(name)


def _matrix_latex(t: Tensor) -> str:
    return _MatrixPrinter().print(t)[0]


def latex(obj, notation: str = "auto") -> str:
    r"""LaTeX for a Tensor, a SymPy expression, or a list/tuple of them.

    ``notation`` is ``"index"`` (element formula), ``"matrix"`` (matrix algebra;
    raises ``UnsupportedError`` when the tensor is not matrix algebra) or
    ``"auto"`` (matrix notation when possible, else index notation).  A named
    tensor is shown as ``name = ...``.

    >>> import sympy as sp, algebrac as ac
    >>> x = ac.vector("x", ac.dim("n"))
    >>> ac.latex(ac.sum(x)), ac.latex(ac.sum(x), notation="index")
    ('\\mathbf{1}^{T} x', '\\sum_{k} x_{k}')
    >>> ac.latex([sp.Symbol("a"), ac.exp(x)])
    '\\left[ a, \\  \\exp\\left(x\\right)\\right]'
    """
    if notation not in ("auto", "index", "matrix"):
        raise SignatureError(f"notation must be 'auto', 'index' or 'matrix', got {notation!r}")
    if isinstance(obj, (list, tuple)):
        items = r", \  ".join(latex(o, notation) for o in obj)
        return (r"\left[ %s\right]" if isinstance(obj, list) else r"\left( %s\right)") % items
    if not isinstance(obj, Tensor):
        return IndexLatexPrinter().doprint(sp.sympify(obj))
    tex = None
    if notation in ("auto", "matrix"):
        try:
            tex = _matrix_latex(obj)
        except _NotMatrix as err:
            if notation == "matrix":
                raise UnsupportedError(f"{obj} is not matrix algebra ({err}); use "
                                       "notation='index'") from err
    if tex is None:
        names = index_names(obj.body, obj.indices, obj.shape)
        tex = IndexLatexPrinter(names).doprint(obj.body)
        lhs_indices = [names[i] for i in obj.indices]
    else:
        lhs_indices = []
    if obj.name and not obj.is_input:
        lhs = sp.Symbol(obj.name)
        if lhs_indices:
            lhs = sp.IndexedBase(lhs)[tuple(sp.Symbol(n) for n in lhs_indices)]
        tex = IndexLatexPrinter().doprint(lhs) + " = " + tex
    return tex


# ---- one-line text --------------------------------------------------------------------
_INFIX = {"add": ("+", 10), "subtract": ("-", 10), "multiply": ("*", 20), "divide": ("/", 20),
          "floor_divide": ("//", 20), "mod": ("%", 20), "matmul": ("@", 20),
          "power": ("**", 40), "less": ("<", 5), "less_equal": ("<=", 5),
          "greater": (">", 5), "greater_equal": (">=", 5), "logical_and": ("&", 8),
          "logical_or": ("|", 6), "logical_xor": ("^", 7)}


def _key_str(k) -> str:
    if k is None:
        return "None"
    if k is Ellipsis:
        return "..."
    if isinstance(k, slice):
        parts = ["" if v is None else str(v) for v in (k.start, k.stop, k.step)]
        return ":".join(parts[:2]) + (":" + parts[2] if k.step is not None else "")
    return str(k)


_STR = StrPrinter({"full_prec": False})   # 0.3, not 0.300000000000000


def _text(x) -> tuple[str, int]:
    if not isinstance(x, Tensor):
        e = sp.sympify(x)
        text = _STR.doprint(e)
        return text, (10 if precedence(e) <= 40 or text.startswith("-") else
                      20 if precedence(e) <= 50 else 100)
    if x.is_input:
        return x.label.name, 100
    op = x.origin
    if op is None:
        names = index_names(x.body, x.indices, x.shape)
        body = _STR.doprint(x.body.xreplace({s: sp.Symbol(n) for s, n in names.items()}))
        if not x.indices:
            return body, 0
        return "(" + ", ".join(names[i] for i in x.indices) + ") -> " + body, 0
    args = op.args
    if op.name == "const":
        return _text(args[0])
    if op.name in _INFIX and len(args) == 2:
        sym, p = _INFIX[op.name]
        a, b = _text(args[0]), _text(args[1])
        left = a[0] if a[1] > p or (a[1] == p and sym != "**") else f"({a[0]})"
        right = b[0] if b[1] > p or (b[1] == p and sym == "**") else f"({b[0]})"
        return f"{left} {sym} {right}", p
    if op.name in ("negative", "logical_not"):
        a = _text(args[0])
        sym = "-" if op.name == "negative" else "~"
        return sym + (a[0] if a[1] > 30 else f"({a[0]})"), 30
    if op.name == "transpose" and op.params.get("axes") is None:
        a = _text(args[0])
        return (a[0] if a[1] == 100 else f"({a[0]})") + ".T", 100
    if op.name == "getitem":
        a = _text(args[0])
        key = ", ".join(_key_str(k) for k in op.params["key"])
        return (a[0] if a[1] == 100 else f"({a[0]})") + f"[{key}]", 100
    if op.name in ("concatenate", "stack"):
        items = "[" + ", ".join(_text(a)[0] for a in args) + "]"
        return f"{op.name}({items}, axis={op.params['axis']})", 100
    parts = [_text(a)[0] if isinstance(a, (Tensor, sp.Basic)) else repr(a) for a in args]
    if op.name == "einsum":
        parts.insert(0, repr(op.params["subscripts"]))
    defaults = {"axis": None, "keepdims": False}
    parts += [f"{k}={v!r}" for k, v in op.params.items()
              if k != "subscripts" and defaults.get(k, object()) != v]
    return f"{op.name}({', '.join(parts)})", 100


def tensor_str(t: Tensor) -> str:
    """A readable one-line form: NumPy-like syntax from the construction, else the body.

    >>> import algebrac as ac
    >>> X, w = ac.matrix("X", (3, 2)), ac.vector("w", 2)
    >>> str(ac.sigmoid(X @ w) - 1), str(ac.sum(X, axis=0))
    ('sigmoid(X @ w) - 1', 'sum(X, axis=0)')
    """
    return _text(t)[0]
