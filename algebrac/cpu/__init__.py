"""The CPU backend: C rendering, Cython + C compiler builds, the compile cache."""
from __future__ import annotations

from . import cache

__all__ = ["cache"]
