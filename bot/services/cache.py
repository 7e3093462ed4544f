"""A small time-limited cache for rows every command reads (profiles, settings, communities).

Within one process the owning service invalidates an entry whenever it writes it, so reads are
always current. Other processes sharing a PostgreSQL database cannot tell us about their writes;
the TTL bounds how long we may serve their old value (30 seconds by default).

A load that started before an invalidation must not store what it read: `token()` before the
load and `put(key, value, token)` after it drops the value when anything was invalidated in
between. Writers take a token before their transaction and call `put_written` after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from enum import Enum
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_TTL_SECONDS = 30.0


class Missing(Enum):
    """Marks a cache miss (None is a value worth caching: "no pseudonym")."""

    TOKEN = "missing"


MISSING = Missing.TOKEN


class TTLCache(Generic[K, V]):
    """Entries expire after `ttl_seconds`; the oldest go first past `max_items`."""

    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_items: int = 20_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_items = max_items
        self._monotonic = monotonic
        self._items: dict[K, tuple[float, V]] = {}
        self._generation = 0

    def get(self, key: K) -> V | Missing:
        """The cached value, or MISSING when absent or expired."""
        entry = self._items.get(key)
        if entry is None:
            return MISSING
        if entry[0] < self._monotonic():
            del self._items[key]
            return MISSING
        return entry[1]

    def token(self) -> int:
        """Take before loading from the database; hand to `put`."""
        return self._generation

    def put(self, key: K, value: V, token: int) -> None:
        """Store a loaded value unless something was invalidated since `token`."""
        if token != self._generation:
            return
        self._items.pop(key, None)
        self._items[key] = (self._monotonic() + self.ttl_seconds, value)
        while len(self._items) > self.max_items:
            del self._items[next(iter(self._items))]

    def put_written(self, key: K, value: V, token: int) -> None:
        """After a committed write (token taken before it): keep what was written.

        When anything else was invalidated meanwhile, a concurrent write may have committed
        after ours, so the entry is forgotten instead. Either way, loads still in flight
        cannot store what they read before this write.
        """
        if token != self._generation:
            self.invalidate(key)
            return
        self._generation += 1
        self._items.pop(key, None)
        self._items[key] = (self._monotonic() + self.ttl_seconds, value)

    def invalidate(self, key: K) -> None:
        """Forget one entry (call after the write committed)."""
        self._generation += 1
        self._items.pop(key, None)

    def invalidate_where(self, predicate: Callable[[K], bool]) -> None:
        """Forget every entry whose key matches."""
        self._generation += 1
        for key in [k for k in self._items if predicate(k)]:
            del self._items[key]

    def clear(self) -> None:
        """Forget everything."""
        self._generation += 1
        self._items.clear()
