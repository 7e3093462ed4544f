"""Cache invalidation across processes sharing one PostgreSQL database, by LISTEN/NOTIFY.

Each process keeps small caches of rows every command reads (settings, communities, tier
bindings, profiles; bot/services/cache.py). Within a process the writing service forgets what
it wrote. Other processes learn of the write through PostgreSQL's NOTIFY: `publish` queues a
notice naming the cache and key, a background task sends queued notices (one transaction per
batch), and every process LISTENs on the database's channel and forgets the named entry.

While this process is not listening (before the first connection, after a dropped connection,
until it is back) the caches store nothing, so every read goes to the database; on every
(re)connection every cache is cleared, since notices sent meanwhile were lost.

On SQLite (one process) no bus is made and the caches behave as before.

PostgreSQL's own mechanism (asyncpg's `add_listener`) carries the notices; the small
reconnect loop below is ours because asyncpg has none for a listening connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Hashable
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("circlebot.invalidation")

NAMESPACE = "circlebot-cache"
RECONNECT_FIRST_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 5.0
PING_SECONDS = 10.0  # a silent half-open connection is found within about this
PAYLOAD_MAX_BYTES = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more


class Invalidated(Protocol):
    """What the bus needs from a cache: forget one key or everything, without telling back."""

    def forget(self, key: Hashable) -> None: ...
    def forget_all(self) -> None: ...


def channel_for(database: str, schema: str | None) -> str:
    """The NOTIFY channel of one database (and schema, so test schemas stay apart)."""
    digest = hashlib.sha256(f"{NAMESPACE}:{database}:{schema or ''}".encode()).hexdigest()
    return f"circlebot_cache_{digest[:16]}"


def _key_from_json(value: Any) -> Hashable:
    """Keys are str, int or tuples of them; JSON turns tuples into lists."""
    if isinstance(value, list):
        return tuple(_key_from_json(part) for part in value)
    if isinstance(value, (str, int)):
        return value
    raise ValueError(f"not a cache key: {value!r}")


class InvalidationBus:
    """One process's LISTEN connection and NOTIFY sender for its caches.

    Args:
        url: the SQLAlchemy URL of a PostgreSQL database (`postgresql+asyncpg://...`).
        schema: the schema the app's tables live in, if not the default.
        send: runs one `SELECT pg_notify(channel, payload)` per payload in one transaction
            (the app's own pool, so a notice goes out even while the LISTEN connection is down).
    """

    def __init__(
        self,
        url: str,
        schema: str | None,
        send: Callable[[str, list[str]], Any],
    ) -> None:
        parsed = make_url(url)
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel_for(parsed.database or "", schema)
        self.origin = secrets.token_hex(6)  # our own notices come back; we skip them
        self.listening = False
        self.reconnects = 0  # connections made after the first (for status and tests)
        self._send = send
        self._caches: dict[str, Invalidated] = {}
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._lost = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def register(self, name: str, cache: Invalidated) -> None:
        """Route notices for `name` to `cache` (names are unique per process)."""
        if name in self._caches:
            raise ValueError(f"a cache named {name} is registered already")
        self._caches[name] = cache

    def publish(self, name: str, key: Hashable | None) -> None:
        """Tell the other processes to forget `key` of cache `name` (None: all of it).

        Call after the write committed. Never blocks; the sender task sends it soon.
        """
        payload = json.dumps({"o": self.origin, "c": name, "k": key}, separators=(",", ":"))
        if len(payload.encode()) > PAYLOAD_MAX_BYTES:
            payload = json.dumps({"o": self.origin, "c": name, "k": None})
        self._pending.append(payload)
        self._wake.set()

    async def start(self) -> None:
        """Connect and listen (retrying in the background if PostgreSQL does not answer)."""
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            await self._connect()
        self._tasks = [
            asyncio.create_task(self._keep_listening(), name="circlebot-cache-listen"),
            asyncio.create_task(self._keep_sending(), name="circlebot-cache-notify"),
        ]

    async def close(self) -> None:
        """Send what is queued (briefly), stop listening, close the connection."""
        if self._pending:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._flush(), timeout=2.0)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        self.listening = False
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
        self._conn = None

    # -- listening -------------------------------------------------------------------------

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            await conn.add_listener(self.channel, self._on_notice)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._on_terminated)
        self._conn = conn
        self._lost.clear()
        # Whatever was written while we were not listening is unknown: start afresh. Loads
        # already in flight cannot store what they read (the caches' tokens change here).
        self._forget_everything()
        self.listening = True

    def _on_terminated(self, _conn: object) -> None:
        self._mark_lost()

    def _mark_lost(self) -> None:
        if self.listening:
            log.warning("lost the cache-invalidation connection to PostgreSQL; reconnecting")
        self.listening = False
        self._forget_everything()
        self._lost.set()

    async def _keep_listening(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        while True:
            if not self.listening:
                try:
                    if self._conn is not None:
                        self._conn.terminate()
                        self._conn = None
                    await self._connect()
                    self.reconnects += 1
                    log.info("listening for cache invalidations again")
                    delay = RECONNECT_FIRST_SECONDS
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=PING_SECONDS)
            if self.listening and self._conn is not None:
                try:
                    await self._conn.fetchval("SELECT 1", timeout=PING_SECONDS)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    self._mark_lost()

    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            notice = json.loads(payload)
            if notice.get("o") == self.origin:
                return
            cache = self._caches.get(str(notice["c"]))
            key = notice.get("k")
            if cache is None:
                return
            if key is None:
                cache.forget_all()
            else:
                cache.forget(_key_from_json(key))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("a cache notice could not be read; forgetting every cached row")
            self._forget_everything()

    def _forget_everything(self) -> None:
        for cache in self._caches.values():
            cache.forget_all()

    # -- sending ---------------------------------------------------------------------------

    async def _keep_sending(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush()
                delay = RECONNECT_FIRST_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not send cache notices; retrying", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                self._wake.set()

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:100]
            await self._send(self.channel, batch)
            del self._pending[: len(batch)]
