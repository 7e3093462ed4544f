"""A small time-limited cache for rows every command reads (profiles, settings, communities).

Within one process the owning service invalidates an entry whenever it writes it, so reads are
always current. On PostgreSQL, where several processes may share the database, a cache is
`attach`ed to the process's `InvalidationBus` (bot/services/invalidation.py): every invalidation
is also sent to the other processes by NOTIFY, entries no longer expire by time, and nothing is
stored while this process is not listening. Alone on SQLite, the TTL (30 seconds by default)
only bounds memory held by rows nobody asks for again.

A load that started before an invalidation must not store what it read: `token()` before the
load and `put(key, value, token)` after it drops the value when anything was invalidated in
between. Writers take a token before their transaction and call `put_written` after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from enum import Enum
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from bot.services import reads

if TYPE_CHECKING:
    from bot.services.invalidation import InvalidationBus

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
        self._bus: InvalidationBus | None = None
        self._name = ""

    def attach(self, bus: InvalidationBus, name: str) -> None:
        """Share invalidations with other processes through `bus` under `name` (unique per
        process, the same in every process); entries stop expiring by time."""
        bus.register(name, self)
        self._bus = bus
        self._name = name
        self.ttl_seconds = float("inf")
        self.clear_local()

    def _storable(self) -> bool:
        return self._bus is None or self._bus.listening

    def _publish(self, key: K | None) -> None:
        if self._bus is not None:
            self._bus.publish(self._name, key)

    def forget(self, key: Hashable) -> None:
        """Another process wrote `key`: forget it here only."""
        self._generation += 1
        self._items.pop(key, None)  # type: ignore[arg-type]  # a key from a notice
        self._forget_read(key)

    def forget_all(self) -> None:
        """Another process asked, or notices may have been lost: forget everything here."""
        self.clear_local()

    def clear_local(self) -> None:
        """Forget everything in this process only."""
        self._generation += 1
        self._items.clear()
        scope = reads.current()
        if scope is not None:
            scope.forget_where(self)

    def _forget_read(self, key: Hashable) -> None:
        scope = reads.current()
        if scope is not None:
            scope.forget(self, key)

    def _remember_read(self, key: K, value: V) -> None:
        scope = reads.current()
        if scope is not None:
            scope.remember(self, key, value)

    def lookup(self, key: K) -> V | Missing:
        """`get`, else what the running command already read for `key` (bot/services/reads.py):
        within one command a row is read once, cache or no cache."""
        found = self.get(key)
        if found is not MISSING:
            return found
        scope = reads.current()
        if scope is None:
            return MISSING
        known, value = scope.recall(self, key)
        return cast("V", value) if known else MISSING

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
        self._remember_read(key, value)
        if not self._storable():
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
        if token != self._generation or not self._storable():
            self.invalidate(key)
            return
        self._remember_read(key, value)
        self._generation += 1
        self._items.pop(key, None)
        self._items[key] = (self._monotonic() + self.ttl_seconds, value)
        self._publish(key)

    def invalidate(self, key: K) -> None:
        """Forget one entry, here and in the other processes (call after the write
        committed)."""
        self._generation += 1
        self._items.pop(key, None)
        self._forget_read(key)
        self._publish(key)

    def invalidate_where(self, predicate: Callable[[K], bool]) -> None:
        """Forget every entry whose key matches (other processes forget the whole cache:
        a predicate cannot travel)."""
        self._generation += 1
        for key in [k for k in self._items if predicate(k)]:
            del self._items[key]
        scope = reads.current()
        if scope is not None:
            scope.forget_where(self, predicate)
        self._publish(None)

    def clear(self) -> None:
        """Forget everything, here and in the other processes."""
        self.clear_local()
        self._publish(None)
