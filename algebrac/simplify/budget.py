"""Time budgets for the symbolic phase: a soft deadline the rewrite driver checks, and a hard stop.

SymPy's automatic evaluation can run for minutes on an innocent-looking node
(``loggamma(sinh(1.5e43429448*exp(z) - 1))`` asks whether the argument is
real, which takes a polynomial gcd over a 144-million-bit float).  The
rewrite driver checks a :class:`Deadline` at every node and leaves the rest
of the formula as written once it has passed; :func:`hard_limit` covers a
single SymPy call that never returns, by raising :class:`SymbolicTimeout`
in the thread that runs it, so the caller can fall back to the formula as
written.

>>> import time
>>> d = Deadline(0.0)
>>> d.expired()
True
>>> try:
...     with hard_limit(0.05):
...         while True:
...             time.sleep(0.001)
... except SymbolicTimeout:
...     print("stopped")
stopped
"""
from __future__ import annotations

import contextlib
import ctypes
import threading
import time

__all__ = ["Deadline", "SymbolicTimeout", "hard_limit"]


class SymbolicTimeout(BaseException):
    """The symbolic phase ran past its budget (internal: caught by ``prepare``).

    A ``BaseException``, like ``KeyboardInterrupt``, so that SymPy's own
    ``except Exception`` clauses do not swallow it.
    """


class Deadline:
    """A point in time ``seconds`` from now (``None``: never)."""

    def __init__(self, seconds: float | None):
        self.at = None if seconds is None else time.monotonic() + seconds

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def left(self) -> float | None:
        return None if self.at is None else max(0.0, self.at - time.monotonic())


def _raise_in(thread_id: int, exc) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc) if exc else None)


@contextlib.contextmanager
def hard_limit(seconds: float | None):
    """Raise :class:`SymbolicTimeout` in this thread if the block runs past ``seconds``.

    The exception is delivered between two Python bytecodes (CPython's
    asynchronous exceptions), so it interrupts pure-Python SymPy code;
    it is re-sent every 0.2 s in case something caught it.
    """
    if seconds is None:
        yield
        return
    target = threading.get_ident()
    lock, done = threading.Lock(), threading.Event()

    def watch():
        if done.wait(seconds):
            return
        while True:
            with lock:
                if done.is_set():
                    return
                _raise_in(target, SymbolicTimeout)
            if done.wait(0.2):
                return

    watcher = threading.Thread(target=watch, name="algebrac-symbolic-budget", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        while True:  # a timeout may still land here: retry until the watcher is stopped
            try:
                with lock:
                    done.set()
                    _raise_in(target, None)  # drop one sent but not yet raised
                break
            except SymbolicTimeout:
                continue
        watcher.join()
