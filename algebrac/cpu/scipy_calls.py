"""SciPy's special functions inside the generated C loop, with no Python call per element.

A table row with a ``cython`` expression (:mod:`algebrac.mathfuncs`) is
called from C as ``_ac_sf_<name>``, through ``_ac_sfp_<name>``, a function
pointer of the generated module.  Its Cython part cimports the
``scipy.special.cython_special`` functions the expression uses, wraps the
expression in a ``noexcept nogil`` function, and stores that function's
address in the pointer before the ufunc is created.  Like SciPy's own ufuncs,
the call leaves the floating-point flags as it found them (SciPy's C code
compares NaNs and reports its errors through ``sf_error``, not the flags).
Float32 loops call a ``_ac_sf_<name>f`` shim that computes in double and
rounds once.

>>> import sympy as sp
>>> from algebrac.mathfuncs import FUNCTIONS
>>> c, ext, cy = scipy_parts([FUNCTIONS[sp.besselj]])
>>> print(c[0]); print(ext[0]); print(*cy, sep="\\n")
static double (*_ac_sfp_besselj)(double, double);
double (*_ac_sfp_besselj)(double, double)
from scipy.special.cython_special cimport jv as _ac_cs_jv
cdef double _ac_w_besselj(double _ac_a0, double _ac_a1) noexcept nogil:
    return _ac_cs_jv(_ac_a0, _ac_a1)
_ac_sfp_besselj = _ac_w_besselj
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
        pointer = name.replace("_ac_sf_", "_ac_sfp_")
        # SciPy's ufuncs drop the floating-point flags their C code raises (it compares
        # NaNs, and reports through sf_error instead): so does the loop, per call.
        c += [f"static double (*{pointer})({doubles});",
              f"static inline double {name}({params64}) {{",
              # Testing is cheap; clearing (fldenv) is not, so only new flags are cleared.
              "    const int _ac_before = fetestexcept(_AC_FE_FLAGS);",
              f"    const double _ac_r = {pointer}({args});",
              "    const int _ac_new = fetestexcept(_AC_FE_FLAGS) & ~_ac_before;",
              "    if (_ac_new) feclearexcept(_ac_new);",
              "    return _ac_r;",
              "}",
              f"static inline float {row.c32}({params32}) {{ return (float){name}({args}); }}"]
        ext.append(f"double (*{pointer})({doubles})")
        cy += [f"from scipy.special.cython_special cimport {f} as _ac_cs_{f}"
               for f in row.scipy_names]
        wrapper = "_ac_w_" + name.removeprefix("_ac_sf_")
        cy += [f"cdef double {wrapper}({params64}) noexcept nogil:",
               f"    return {_expression(row)}",
               f"{name.replace('_ac_sf_', '_ac_sfp_')} = {wrapper}"]
    return c, ext, cy
