"""One process at a time runs a named thing (a chat account), by a PostgreSQL lease.

Two processes syncing one Matrix account would answer every command twice and race each
other's sync token. The lease is a session-level advisory lock (`pg_try_advisory_lock`) on a
connection of the holder's own: PostgreSQL releases it the moment that connection ends, so a
process that dies (SIGKILL, a lost machine) hands the lease over without a timeout to wait
out, and a holder that loses its connection learns it has lost the lease (`lost`). Waiting
processes try again every `poll_seconds`.

On SQLite only one process uses the database (a lock file guards it), so the lease is always
held and nothing is asked of the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url

from bot.platform import StartupError

log = logging.getLogger("circlebot.lease")

NAMESPACE = "circlebot-lease"
PING_SECONDS = 5.0  # a silently dead connection is noticed within about this


def lease_key(database: str, schema: str | None, name: str) -> int:
    """The advisory lock key of lease `name` in one database (and schema)."""
    digest = hashlib.sha256(f"{NAMESPACE}:{database}:{schema or ''}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Lease:
    """A lease on `name` for this process.

    Args:
        url: the SQLAlchemy database URL (a PostgreSQL URL takes a lease; SQLite does not).
        schema: the schema the app's tables live in, if not the default.
        name: what is leased, e.g. `matrix:@bot:example.org`.
        poll_seconds: how often a waiting process tries again.
    """

    def __init__(self, url: str, schema: str | None, name: str, poll_seconds: float = 2.0) -> None:
        parsed = make_url(url)
        self.name = name
        self.poll_seconds = poll_seconds
        self.shared = parsed.get_backend_name() == "postgresql"
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.key = lease_key(parsed.database or "", schema, name)
        self.held = not self.shared
        self.lost = asyncio.Event()  # set when a held lease was lost
        self._conn: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def lost_message(self) -> str:
        """One line for an operator when a held lease was lost."""
        return (
            f"lost the database connection that held {self.name} for this process; stopped "
            "so that two processes never run it at once (start again to wait for it)"
        )

    @contextlib.asynccontextmanager
    async def running(
        self, stop: asyncio.Event, poll_seconds: float
    ) -> AsyncIterator[asyncio.Event]:
        """Wait for the lease (or `stop`), then yield an event set on `stop` or when the lease
        is lost; the caller stops its work when it is set. Released on leaving.

        Raises:
            StartupError: on leaving, when the lease was lost before `stop` (one line).
        """
        self.poll_seconds = float(poll_seconds)
        ending = asyncio.Event()
        if not await self.acquire(stop):
            ending.set()
        ender = asyncio.create_task(first_of(ending, stop, self.lost))
        try:
            yield ending
        finally:
            ender.cancel()
            await self.release()
        if self.lost.is_set() and not stop.is_set():
            raise StartupError(self.lost_message)

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this process holds the lease (True) or `stop` is set (False)."""
        if not self.shared:
            return not stop.is_set()
        told = False
        while not stop.is_set():
            try:
                if await self._try():
                    log.info("this process now runs %s", self.name)
                    return True
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                log.warning("cannot reach PostgreSQL for the lease on %s; retrying", self.name)
            if not told:
                log.info("another process runs %s; this one waits to take over", self.name)
                told = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        return False

    async def _try(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn, timeout=10)
        if not await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
            return False
        self.held = True
        self.lost.clear()
        self._conn.add_termination_listener(lambda _conn: self._mark_lost())
        self._watch = asyncio.create_task(self._keep_checking(), name=f"lease {self.name}")
        return True

    def _mark_lost(self) -> None:
        if self.held:
            log.warning("lost the lease on %s: another process may run it now", self.name)
        self.held = False
        self.lost.set()

    async def _keep_checking(self) -> None:
        while self.held and self._conn is not None:
            await asyncio.sleep(PING_SECONDS)
            try:
                await self._conn.fetchval("SELECT 1", timeout=PING_SECONDS)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                self._mark_lost()

    async def release(self) -> None:
        """Give the lease up (closing the connection releases the lock)."""
        was_held = self.held
        self.held = not self.shared
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
            self._watch = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=5)
            self._conn = None
        if was_held and self.shared:
            log.info("released %s", self.name)


async def first_of(result: asyncio.Event, *events: asyncio.Event) -> None:
    """Set `result` as soon as any of `events` is set."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        result.set()
    finally:
        for waiter in waiters:
            waiter.cancel()
