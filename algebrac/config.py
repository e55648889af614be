"""Settings read from the environment, in one place.

``ALGEBRAC_CACHE_DIR``  directory of the compile cache (default: the per-user cache dir)
``ALGEBRAC_NOCACHE``    ``1`` builds every kernel in a temporary directory, never reusing one
``ALGEBRAC_DEBUG``      ``1`` one line per compile (cache hit/miss, time); ``3`` the IR; ``4`` the source
``ALGEBRAC_PROGRESS``   ``0`` silences the progress line of slow compiles (algebrac.progress)
``ALGEBRAC_CC``         the C compiler (default: ``$CC`` or ``cc``)

Values are read at call time, so tests and notebooks can change them with
``os.environ`` (or ``monkeypatch.setenv``) without reloading algebrac.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["cache_dir", "nocache", "debug", "progress", "c_compiler", "log"]


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() not in ("", "0", "false", "no", "off")


def cache_dir() -> Path:
    """The compile cache root: ``$ALGEBRAC_CACHE_DIR`` or the platform's per-user cache dir."""
    override = os.environ.get("ALGEBRAC_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("algebrac", appauthor=False))


def nocache() -> bool:
    """True when ``ALGEBRAC_NOCACHE`` asks for throw-away builds."""
    return _flag("ALGEBRAC_NOCACHE")


def debug() -> int:
    """The ``ALGEBRAC_DEBUG`` level (0 when unset or not an integer)."""
    try:
        return int(os.environ.get("ALGEBRAC_DEBUG", "0"))
    except ValueError:
        return 0


def progress() -> bool:
    """Whether slow compiles report their phases (``ALGEBRAC_PROGRESS``, default on)."""
    return _flag("ALGEBRAC_PROGRESS", "1")


def c_compiler() -> str:
    """The C compiler command: ``$ALGEBRAC_CC``, else ``$CC``, else ``cc``."""
    return os.environ.get("ALGEBRAC_CC") or os.environ.get("CC") or "cc"


def log(level: int, message: str) -> None:
    """Print ``message`` to stderr when the debug level is at least ``level``."""
    if debug() >= level:
        print(f"algebrac: {message}", file=sys.stderr, flush=True)
