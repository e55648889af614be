"""SciPy's special functions inside the generated C loop, with no Python call per element.

A table row with a ``cython`` expression (:mod:`algebrac.mathfuncs`) is
called from C as ``_ac_sf_<name>``, which evaluates the expression over
pointers to ``scipy.special.cython_special``'s own C functions: the library's
``_ac_imports`` names each one, and the loader (:mod:`algebrac.cpu.native`)
sets the pointer from SciPy's exported C API (the float64 variant of a fused
function) before the first call.  Like SciPy's own ufuncs, the call leaves the
floating-point flags as it found them (SciPy's C code compares NaNs and reports
its errors through ``sf_error``, not the flags).  Float32 loops call a
``_ac_sf_<name>f`` shim that computes in double and rounds once.

>>> import sympy as sp
>>> from algebrac.mathfuncs import FUNCTIONS
>>> c, imports = scipy_parts([FUNCTIONS[sp.besselj]])
>>> print(*c[:2], sep="\\n"); print(imports)
_AC_SHARED double (*_ac_csp_jv)(double, double, int);
#define _ac_cs_jv(...) _ac_csp_jv(__VA_ARGS__, 0)
['scipy.special.cython_special jv _ac_csp_jv 2']
"""
from __future__ import annotations

import re

__all__ = ["scipy_parts", "imports_line"]


def _expression(row) -> str:
    text = re.sub(r"\b([a-z_0-9]+)\(", r"_ac_cs_\1(", row.cython)
    return re.sub(r"\ba(\d)\b", r"_ac_a\1", text)


def scipy_parts(rows) -> tuple[list, list]:
    """``(C lines, import lines)`` for the SciPy rows a library calls."""
    c, imports, pointers = [], [], {}
    for row in sorted(rows, key=lambda r: r.c64):
        for f in row.scipy_names:
            pointers[f] = len(re.search(rf"\b{f}\(([^()]*)\)", row.cython).group(1).split(","))
    for f, n in sorted(pointers.items()):
        # cpdef functions take a last "skip dispatch" flag that module-level ones ignore.
        c += [f"_AC_SHARED double (*_ac_csp_{f})({', '.join(['double'] * n)}, int);",
              f"#define _ac_cs_{f}(...) _ac_csp_{f}(__VA_ARGS__, 0)"]
        imports.append(f"scipy.special.cython_special {f} _ac_csp_{f} {n}")
    for row in sorted(rows, key=lambda r: r.c64):
        name, n = row.c64, row.nargs
        params64 = ", ".join(f"double _ac_a{k}" for k in range(n))
        params32 = ", ".join(f"float _ac_a{k}" for k in range(n))
        args = ", ".join(f"_ac_a{k}" for k in range(n))
        # SciPy's ufuncs drop the floating-point flags their C code raises (it compares
        # NaNs, and reports through sf_error instead): so does the loop, per call.
        c += [f"static inline double {name}({params64}) {{",
              # Testing is cheap; clearing (fldenv) is not, so only new flags are cleared.
              "    const int _ac_before = fetestexcept(_AC_FE_FLAGS);",
              f"    const double _ac_r = {_expression(row)};",
              "    const int _ac_new = fetestexcept(_AC_FE_FLAGS) & ~_ac_before;",
              "    if (_ac_new) feclearexcept(_ac_new);",
              "    return _ac_r;",
              "}",
              f"static inline float {row.c32}({params32}) {{ return (float){name}({args}); }}"]
    return c, imports


def imports_line(imports) -> str:
    """The main file's ``_ac_imports`` (see ``algebrac_threads.h``): the thread setting,
    then ``imports`` (lines of :func:`scipy_parts`, or BLAS)."""
    text = "".join(f'"{line}\\n" ' for line in imports)
    return f"_AC_EXPORT const char *const _ac_imports = _AC_THREAD_IMPORTS {text};"
