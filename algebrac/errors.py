"""The exception tree of algebrac: every error a user can trigger is an :class:`AlgebracError`.

Each message says what was wrong and what to do.  ``ShapeError`` is also a
``ValueError`` and ``DTypeError`` a ``TypeError``, as NumPy's errors are.
"""
from __future__ import annotations

__all__ = [
    "AlgebracError", "ShapeError", "DTypeError", "SignatureError",
    "UnsupportedError", "CompileError", "CacheError", "VerifyError",
    "BackendUnavailable", "BackendFallbackWarning",
]


class AlgebracError(Exception):
    """Base class of every exception algebrac raises on purpose."""


class ShapeError(AlgebracError, ValueError):
    """Array shapes do not match what a formula needs (raised before any kernel runs)."""


class DTypeError(AlgebracError, TypeError):
    """An argument has a dtype the compiled formula cannot take."""


class SignatureError(AlgebracError, TypeError):
    """The arguments given to ``compile``/``function`` do not describe the formula.

    Raised for instance when a free symbol of an expression is missing from
    ``args``, when ``args`` repeats a symbol, or when an option is unknown.
    """


class UnsupportedError(AlgebracError):
    """A formula contains a construct that no backend can compile.

    The message names the SymPy class, shows a short ``srepr`` of the node and
    the output it occurs in.
    """


class CompileError(AlgebracError):
    """The C compiler rejected generated code.

    Attributes
    ----------
    source_path : the generated source kept for inspection (or ``None``)
    command : the command that failed
    output : everything the compiler printed
    """

    def __init__(self, message: str, *, source_path=None, command=None, output: str = ""):
        self.source_path = source_path
        self.command = command
        self.output = output
        details = [message]
        if source_path is not None:
            details.append(f"generated source: {source_path}")
        if command:
            details.append("command: " + " ".join(map(str, command)))
        if output:
            details.append("compiler output:\n" + _excerpt(output))
        super().__init__("\n".join(details))


def _excerpt(output: str, limit: int = 40) -> str:
    lines = output.rstrip().splitlines()
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join(lines[:limit] + [f"... ({len(lines) - limit} more lines)"])


class CacheError(AlgebracError):
    """The compile cache directory is unusable or holds something algebrac did not write.

    Set ``ALGEBRAC_CACHE_DIR`` to a private directory, or ``ALGEBRAC_NOCACHE=1``.
    """


class VerifyError(AlgebracError):
    """An internal invariant of the loop IR was broken: this is a bug in algebrac."""

    def __init__(self, message: str):
        super().__init__(f"{message}\n(this is a bug in algebrac; please report it)")


class BackendUnavailable(AlgebracError):
    """A backend cannot run here (no C compiler, no GPU)."""


class BackendFallbackWarning(RuntimeWarning):
    """Issued once when a requested backend is unavailable and ``"numpy"`` is used instead."""
