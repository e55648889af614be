"""Progress of a slow compile on stderr: each phase named, shown only after a delay.

A compile finishing within ``DELAY`` seconds prints nothing.  After that, a
terminal or Jupyter (which honours carriage returns) sees one line rewritten
in place, erased at the end; any other stderr (a log file, CI) gets one plain
line per phase.  No widgets, so no ``IProgress not found`` warning;
``ALGEBRAC_PROGRESS=0`` silences it.

>>> import io
>>> out = io.StringIO()
>>> with compiling("f(x)", stream=out) as p:   # fast: nothing shown
...     p.phase("simplify")
>>> out.getvalue()
''
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time

from . import config

__all__ = ["compiling", "phase", "DELAY"]

DELAY = 0.5
_active = threading.local()


class _Progress:
    def __init__(self, what: str, stream, delay: float):
        self.what, self.stream, self.delay = what, stream, delay
        self.interactive = _interactive(stream)
        self.start = time.perf_counter()
        self.current = "starting"
        self.shown = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._width = 0
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def phase(self, name: str) -> None:
        with self._lock:
            self.current = name
            if self.shown:
                self._show()

    def _tick(self) -> None:
        if self._done.wait(self.delay):
            return
        while True:
            with self._lock:
                if self._done.is_set():
                    return
                if not self.shown or self.interactive:
                    self.shown = True
                    self._show()
            if self._done.wait(1.0):
                return

    def _show(self) -> None:
        if self.interactive:
            text = (f"algebrac: compiling {self.what}: {self.current} "
                    f"[{time.perf_counter() - self.start:.0f} s]")
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self.stream.write(f"algebrac: compiling {self.what}: {self.current}\n")
        self.stream.flush()

    def close(self) -> None:
        self._done.set()
        with self._lock:
            if not self.shown:
                return
            if self.interactive:
                self.stream.write("\r" + " " * self._width + "\r")
            else:
                self.stream.write(f"algebrac: compiled {self.what} in "
                                  f"{time.perf_counter() - self.start:.1f} s\n")
            self.stream.flush()


def _interactive(stream) -> bool:
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules and stream in (sys.stderr, sys.stdout)


@contextlib.contextmanager
def compiling(what: str, *, stream=None, delay: float = DELAY):
    """Report the phases of one compile (nested calls join the outer report)."""
    outer = getattr(_active, "progress", None)
    if outer is not None or not config.progress():
        yield outer or _Silent()
        return
    p = _Progress(what, stream or sys.stderr, delay)
    _active.progress = p
    try:
        yield p
    finally:
        _active.progress = None
        p.close()


class _Silent:
    def phase(self, name: str) -> None:
        pass


def phase(name: str) -> None:
    """Name the current phase of the compile running in this thread, if any."""
    p = getattr(_active, "progress", None)
    if p is not None:
        p.phase(name)
