"""The in-process memo in front of ``ac.compile`` and ``ac.function``.

Keyed by the API arguments, bounded (least recently used entries go first,
like numexpr's ``CacheDict``).  Threads that ask for the same new key wait for
the one thread building it instead of each simplifying, lowering and rendering
the formula (a Dask worker unpickling many tasks at once; the disk cache's
per-key lock already makes the C build itself happen once).

>>> memo = Memo(2)
>>> memo.get_or_build("k", lambda: ["built"]) is memo.get_or_build("k", lambda: None)
True
"""
from __future__ import annotations

import collections
import threading

__all__ = ["Memo"]


class Memo:
    """A bounded, thread-safe memo whose misses are built once per key."""

    def __init__(self, size: int = 256):
        self.size = size
        self._items: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()
        self._building: dict = {}

    def get_or_build(self, key, build, keep=lambda value: True):
        """The value for ``key``, calling ``build()`` on a miss (memoised if ``keep(value)``)."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                hit = self._items.get(key)
            if hit is not None:
                return hit
            try:
                value = build()
                if keep(value):
                    with self._lock:
                        self._items[key] = value
                        while len(self._items) > self.size:
                            self._items.popitem(last=False)
                return value
            finally:
                with self._lock:
                    if self._building.get(key) is gate:
                        del self._building[key]

    def values(self):
        with self._lock:
            return list(self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
