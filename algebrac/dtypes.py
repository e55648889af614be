"""The dtypes algebrac computes in, with their names in every target.

Each :class:`DType` knows its NumPy dtype, its C type, its NumPy type number
name (for ufunc loop tables) and the SymPy codegen type that makes SymPy's C
printer pick ``expf`` over ``exp`` and print ``1.0F`` literals.

>>> DType.from_numpy("float32").c_name
'float'
>>> DType.result([DType.FLOAT32, DType.INT64])
<DType.FLOAT64: 'float64'>
"""
from __future__ import annotations

import enum

import numpy as np
from sympy.codegen import ast as cg

from .errors import DTypeError

__all__ = ["DType", "FLOATS"]


class DType(enum.Enum):
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    INT64 = "int64"
    BOOL = "bool"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.value)

    @property
    def c_name(self) -> str:
        return {"float32": "float", "float64": "double", "int64": "int64_t", "bool": "npy_bool"}[
            self.value
        ]

    @property
    def npy_type(self) -> str:
        return {"float32": "NPY_FLOAT", "float64": "NPY_DOUBLE", "int64": "NPY_INT64",
                "bool": "NPY_BOOL"}[self.value]

    @property
    def char(self) -> str:
        """One-letter tag used in generated loop names (``d``, ``f``, ``l``, ``b``)."""
        return {"float32": "f", "float64": "d", "int64": "l", "bool": "b"}[self.value]

    @property
    def sympy_type(self):
        """The ``sympy.codegen.ast`` type used as the printer's alias for ``real``."""
        return {"float32": cg.float32, "float64": cg.float64, "int64": cg.int64,
                "bool": cg.bool_}[self.value]

    @property
    def is_float(self) -> bool:
        return self in FLOATS

    @property
    def eps(self) -> float:
        """Machine epsilon of a float dtype."""
        return float(np.finfo(self.numpy).eps)

    @classmethod
    def from_numpy(cls, dtype) -> "DType":
        """The DType of a NumPy dtype (or anything ``np.dtype`` accepts)."""
        try:
            name = np.dtype(dtype).name
        except TypeError as err:
            raise DTypeError(f"{dtype!r} is not a dtype NumPy understands") from err
        for member in cls:
            if member.value == name:
                return member
        raise DTypeError(
            f"algebrac has no {name} arithmetic; use one of "
            + ", ".join(m.value for m in cls)
        )

    @classmethod
    def result(cls, dtypes) -> "DType":
        """The float dtype a formula computes in: float32 only if every input is float32.

        Integer and bool inputs compute in float64, as NumPy's ``sin`` does for
        int32/int64 (and as its own casting to float64 would for smaller ints).
        """
        dtypes = list(dtypes)
        if dtypes and all(d is cls.FLOAT32 for d in dtypes):
            return cls.FLOAT32
        return cls.FLOAT64


FLOATS = (DType.FLOAT32, DType.FLOAT64)
