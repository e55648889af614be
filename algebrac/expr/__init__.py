"""Symbolic tensors held as SymPy scalar bodies over index symbols (issue 3)."""
from __future__ import annotations

__all__: list[str] = []
