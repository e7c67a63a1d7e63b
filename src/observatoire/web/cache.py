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

__all__ = ["MAX_ENTRY", "AnswerCache", "Versioned", "weight"]

T = TypeVar("T")
# An answer weighing more than this (bytes, roughly) is answered but not kept: a visitor
# varying the parameters of a national view must not fill the memory with them.
MAX_ENTRY = 4 * 1024**2


def weight(value: object, depth: int = 0) -> int:
    """A rough size of an answer in bytes: text and files by their length, tables by their
    memory, lists and dicts by their first items (the rows of one answer are alike)."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if hasattr(value, "memory_usage"):  # a DataFrame
        return int(value.memory_usage(index=False).sum())
    if depth > 3:
        return 64
    if isinstance(value, dict):
        return sum(weight(v, depth + 1) for v in value.values()) + 64 * len(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return 64
        sample = value[:20]
        return int(sum(weight(v, depth + 1) for v in sample) * len(value) / len(sample))
    fields = getattr(value, "__dataclass_fields__", None)
    if fields:
        return sum(weight(getattr(value, name), depth + 1) for name in fields)
    return 64


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
                if weight(value) <= MAX_ENTRY:
                    with self._lock:
                        self._entries[full] = value
                        while len(self._entries) > self._size:
                            self._entries.popitem(last=False)
        with self._lock:
            self._building.pop(full, None)
        return value  # type: ignore[return-value]

    def get_or_refuse(self, key: tuple[Hashable, ...], build: Callable[[], T],
                      refuse: Callable[[Exception], T]) -> T:  # fmt: skip
        """:meth:`get`, or ``refuse(error)`` when the question cannot be answered (a bad
        input, values not computed): a refusal is answered, never kept — each distinct one
        would fill the cache."""
        from observatoire.errors import InputError, ReferentialError

        try:
            return self.get(key, build)
        except (InputError, ReferentialError) as error:
            return refuse(error)

    def _lookup(self, full: tuple[Hashable, ...]) -> tuple[bool, object]:
        with self._lock:
            if full in self._entries:
                self._entries.move_to_end(full)
                return True, self._entries[full]
        return False, None

    def __len__(self) -> int:
        return len(self._entries)
