"""Answers built from the data, kept under the warehouse's data version.

Every committed write (import, computation, zoning, rollback — from this process or another)
changes :meth:`~observatoire.store.base.Warehouse.data_version`; an answer cached under an
older version is never served again. Keys include the audience: an answer built for one
audience is never served to another. Cached values are shared: callers must not mutate them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Protocol, TypeVar

__all__ = ["AnswerCache", "Versioned"]

T = TypeVar("T")


class Versioned(Protocol):
    """What changes its data version at every committed write (the observatory, a warehouse)."""

    def data_version(self) -> str: ...


class AnswerCache:
    """A bounded LRU map from (data version, key) to an answer."""

    def __init__(self, source: Versioned, size: int = 512) -> None:
        self._source = source
        self._size = size
        self._entries: OrderedDict[tuple[Hashable, ...], object] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[Hashable, ...], threading.Lock] = {}

    def get(self, key: tuple[Hashable, ...], build: Callable[[], T]) -> T:
        """The answer for ``key`` under the current data version, built when absent."""
        full = (self._source.data_version(), *key)
        found, value = self._lookup(full)
        if found:
            return value  # type: ignore[return-value]
        # One build per key at a time: requests arriving meanwhile wait for it instead of
        # building the same answer fifty times over (other keys are not held up).
        with self._lock:
            building = self._building.setdefault(full, threading.Lock())
        with building:
            found, value = self._lookup(full)
            if not found:
                value = build()
                with self._lock:
                    self._entries[full] = value
                    while len(self._entries) > self._size:
                        self._entries.popitem(last=False)
        with self._lock:
            self._building.pop(full, None)
        return value  # type: ignore[return-value]

    def _lookup(self, full: tuple[Hashable, ...]) -> tuple[bool, object]:
        with self._lock:
            if full in self._entries:
                self._entries.move_to_end(full)
                return True, self._entries[full]
        return False, None

    def __len__(self) -> int:
        return len(self._entries)
