"""Exact rewriting before lowering: target-friendly forms and joint CSE."""
from __future__ import annotations

from .cse import cse
from .specialize import specialize

__all__ = ["cse", "specialize"]
