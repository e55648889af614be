"""SciPy's special functions inside the generated C loop, with no Python call per element.

A table row with a ``cython`` expression (:mod:`algebrac.mathfuncs`) is
called from C as ``_ac_sf_<name>``, a function pointer of the generated
module.  Its Cython part cimports the ``scipy.special.cython_special``
functions the expression uses, wraps the expression in a ``noexcept nogil``
function, and stores that function's address in the pointer before the
ufunc is created.  Float32 loops call a ``_ac_sf_<name>f`` shim that computes
in double and rounds once.

>>> import sympy as sp
>>> from algebrac.mathfuncs import FUNCTIONS
>>> c, ext, cy = scipy_parts([FUNCTIONS[sp.besselj]])
>>> print(c[0]); print(ext[0]); print(*cy, sep="\\n")
static double (*_ac_sf_besselj)(double, double);
double (*_ac_sf_besselj)(double, double)
from scipy.special.cython_special cimport jv as _ac_cs_jv
cdef double _ac_w_besselj(double _ac_a0, double _ac_a1) noexcept nogil:
    return _ac_cs_jv(_ac_a0, _ac_a1)
_ac_sf_besselj = _ac_w_besselj
"""
from __future__ import annotations

import re

__all__ = ["scipy_parts"]


def _expression(row) -> str:
    text = re.sub(r"\b([a-z_0-9]+)\(", r"_ac_cs_\1(", row.cython)
    return re.sub(r"\ba(\d)\b", r"_ac_a\1", text)


def scipy_parts(rows) -> tuple[list, list, list]:
    """``(C declarations, extern declarations, Cython lines)`` for the SciPy rows a module calls."""
    c, ext, cy = [], [], []
    for row in sorted(rows, key=lambda r: r.c64):
        name, n = row.c64, row.nargs
        doubles = ", ".join(["double"] * n)
        params64 = ", ".join(f"double _ac_a{k}" for k in range(n))
        params32 = ", ".join(f"float _ac_a{k}" for k in range(n))
        args = ", ".join(f"_ac_a{k}" for k in range(n))
        c += [f"static double (*{name})({doubles});",
              f"static inline float {row.c32}({params32}) {{ return (float){name}({args}); }}"]
        ext.append(f"double (*{name})({doubles})")
        cy += [f"from scipy.special.cython_special cimport {f} as _ac_cs_{f}"
               for f in row.scipy_names]
        wrapper = "_ac_w_" + name.removeprefix("_ac_sf_")
        cy += [f"cdef double {wrapper}({params64}) noexcept nogil:",
               f"    return {_expression(row)}",
               f"{name} = {wrapper}"]
    return c, ext, cy
