"""Rendered fragments kept per process, least recently used first out.

A fragment's key holds everything its HTML depends on (the values a card shows, or a version that
moves with every change), so a cached fragment is what rendering would give now; nothing has to be
invalidated. Hot lists (a busy compound's feed, a long thread) then cost a lookup, not a render.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


_caches: list[FragmentCache] = []


def clear_all() -> None:
    """Forget every fragment (tests reset the database under the same process)."""
    for cache in _caches:
        cache.clear()


class FragmentCache:
    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()  # the development server and gthread workers are threaded
        _caches.append(self)

    def get(self, key: Hashable, render: Callable[[], T]) -> T:
        value = self.peek(key)
        if value is None:
            value = render()
            self.put(key, value)
        return value

    def peek(self, key: Hashable):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
