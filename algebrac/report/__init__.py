"""What a user reads in Jupyter about a compiled program: its LaTeX and its accuracy."""
from __future__ import annotations

from .program import Equation, Program, elementwise_program, program_latex

__all__ = ["Equation", "Program", "elementwise_program", "program_latex"]
