"""The CPU backend: C rendering, C compiler builds, ctypes loading, the compile cache."""
from __future__ import annotations

from . import cache

__all__ = ["cache"]
