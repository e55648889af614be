"""Load a generated library: plain C through ``ctypes``, not a Python extension module.

A generated library needs no Cython: its C creates the ufunc (or gufunc) with
NumPy's C API when Python asks, and everything else is a C function called
through ``ctypes``.  Cython would cost each cold compile ~0.9 s of its own and
~0.8 s of the C compiler on ~350 kB of module boilerplate (issue 14).

Loading sets the pointers the library lists in ``_ac_imports`` (see
``algebrac_threads.h``) from capsules of the few modules in :data:`MODULES`,
then offers what the library defines, under the names the Cython modules had:
``ufunc``/``make_ufunc``/``run`` (a ufunc library), ``float32_loop``/
``set_float32_loop`` (its float32 loop built later), ``loop`` (that float32
loop's address), ``gufunc`` (a tensor program), ``evaluate``/
``scalar_capsule``/``NIN``/``NOUT`` (a vector function).

>>> MODULES[0]
'algebrac._kernels'
"""
from __future__ import annotations

import ctypes
import functools
import importlib
import re

import numpy as np

from ..errors import BackendUnavailable, CacheError

__all__ = ["Library", "MODULES"]
# The only modules a library may take pointers from (its imports are data, never code).
MODULES = ("algebrac._kernels", "scipy.special.cython_special", "scipy.linalg.cython_blas")
UFUNC_NAME = "algebrac_ufunc"
_GUFUNC_NAME = b"algebrac_function"  # NumPy keeps the pointer: a constant outlives the gufunc
_capsule_name = ctypes.pythonapi.PyCapsule_GetName
_capsule_name.restype, _capsule_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


@functools.lru_cache(maxsize=None)  # a process's modules never move
def _pointer(module: str, name: str, nargs: int) -> int:
    """The C pointer ``module`` exports as ``name``: a capsule attribute (``nargs`` -1) or
    a ``__pyx_capi__`` function, the variant of ``nargs`` doubles of a fused one."""
    if module not in MODULES:
        raise CacheError(f"a generated library asks for {module!r}, which algebrac never "
                         "links: clear the compile cache (algebrac.cache.clear())")
    mod = importlib.import_module(module)
    capi = getattr(mod, "__pyx_capi__", {})
    if nargs < 0:
        found = [capi[name] if name in capi else getattr(mod, name, None)]
    else:
        want = f"double ({'double, ' * nargs}int __pyx_skip_dispatch)".encode()
        found = [c for k, c in capi.items()
                 if re.fullmatch(rf"(__pyx_fuse_\d+)?{re.escape(name)}", k)
                 and _capsule_name(c) == want]
    if not found or found[0] is None:
        raise BackendUnavailable(f"{module} has no C function {name} of {nargs} doubles: "
                                 "this SciPy is not one algebrac knows; upgrade SciPy")
    return _capsule_pointer(found[0], _capsule_name(found[0]))


class Library:
    """A generated library, loaded once per path (see the module docstring)."""

    def __init__(self, path):
        self.__file__ = str(path)
        self._py = ctypes.PyDLL(self.__file__)  # calls that make Python objects hold the GIL
        self._c = ctypes.CDLL(self.__file__)    # loops release it
        for line in ctypes.c_char_p.in_dll(self._c, "_ac_imports").value.decode().split("\n"):
            if line:
                module, name, symbol, nargs = line.split()
                ctypes.c_void_p.in_dll(self._c, symbol).value = _pointer(module, name,
                                                                         int(nargs))
        self._named: dict = {}
        self.ufunc = self.gufunc = None
        for symbol, types in (("_ac_run", [ctypes.c_int, ctypes.c_void_p, ctypes.c_ssize_t,
                                           ctypes.c_void_p]),
                              ("_ac_eval", [ctypes.c_void_p, ctypes.c_void_p]),
                              ("_ac_set_loop_f", [ctypes.c_void_p])):
            if self._has(symbol):
                getattr(self._c, symbol).argtypes = types
        if self._has("_ac_make_ufunc"):
            self.ufunc = self.make_ufunc(UFUNC_NAME)
        if self._has("_ac_make_gufunc"):
            self.gufunc = self._call_py("_ac_make_gufunc", _GUFUNC_NAME)
        if self._has("_ac_set_loop_f"):
            self.float32_loop = None   # the address set_float32_loop was given
        if self._has("_ac_loop_f"):
            self.loop = ctypes.cast(self._c._ac_loop_f, ctypes.c_void_p).value
        if self._has("_ac_eval"):
            self.NIN, self.NOUT = (ctypes.c_int.in_dll(self._c, n).value
                                   for n in ("_ac_nin", "_ac_nout"))
            self.scalar_capsule = self._call_py("_ac_scalar_capsule")

    def _has(self, symbol: str) -> bool:
        try:
            getattr(self._c, symbol)
        except AttributeError:
            return False
        return True

    def _call_py(self, symbol: str, *args):
        """A C function that returns a new Python object, called with the GIL held."""
        fn = getattr(self._py, symbol)
        fn.restype = ctypes.py_object
        return fn(*args)

    def make_ufunc(self, name: str):
        """The ufunc under ``name`` (an ASCII identifier), made once per name."""
        if not (name.isascii() and name.isidentifier()):
            raise ValueError(f"a ufunc name must be an ASCII identifier, got {name!r}")
        key = name.encode()
        if key not in self._named:
            # NumPy keeps the char pointer: the bytes object lives in _named with it.
            self._named.setdefault(key, (key, self._call_py("_ac_make_ufunc", key)))
        return self._named[key][1]

    def run(self, k: int, args: int, n: int, steps: int) -> int:
        """Loop ``k`` over ``n`` elements (arrays of pointers and steps at ``args``,
        ``steps``), without the GIL; returns the floating-point flags it raised."""
        return self._c._ac_run(k, args, n, steps)

    def set_float32_loop(self, loop: int) -> None:
        """Hand the stand-in float32 loop the real one (a float32 library's ``loop``)."""
        self._c._ac_set_loop_f(loop)
        self.float32_loop = loop

    def evaluate(self, inp, out) -> None:
        """Write the outputs at the point ``inp`` (NIN float64) into ``out`` (NOUT)."""
        for a, n, what in ((inp, self.NIN, "inputs"), (out, self.NOUT, "outputs")):
            if not (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.size == n
                    and a.flags.c_contiguous):
                raise ValueError(f"evaluate takes {self.NIN} float64 inputs and {self.NOUT} "
                                 f"float64 outputs in C-contiguous arrays; the {what} are "
                                 f"{getattr(a, 'size', '?')} {getattr(a, 'dtype', type(a))}")
        if not out.flags.writeable:
            raise ValueError("evaluate writes into out, which is read-only")
        self._c._ac_eval(inp.ctypes.data, out.ctypes.data)
