"""Gateway IDENTIFYs paced across every process that shares a bot account.

Discord lets a bot start `max_concurrency` sessions per 5 seconds: shard `s` belongs to rate
limit bucket `s % max_concurrency`, and a second IDENTIFY in one bucket within 5 s is refused.
Processes that split one account's shards must therefore take turns per bucket, not only
within themselves. A turn is a PostgreSQL advisory lock on (account, bucket), taken with
`pg_try_advisory_lock` (polled, so the connection never blocks and a turn can always be given
back) and held for `window_seconds` after the IDENTIFY goes out; within one process an asyncio
lock per bucket does the same (PostgreSQL session locks are re-entrant for their holder).

A process that dies while holding a turn frees it at once (its connection ends), so a turn
can come a little early after a crash; Discord then answers with a rate limit that discord.py
waits out. When PostgreSQL cannot be reached, a process paces only itself and says so.

On SQLite only one process runs the bot, so only the per-process lock is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from sqlalchemy.engine import make_url

from bot.shard_claims import CONNECTION_ERRORS, lock_space

log = logging.getLogger("circlebot.shards")

WINDOW_SECONDS = 5.0  # Discord: max_concurrency IDENTIFYs per bucket per this long
POLL_SECONDS = 0.25  # how often a waiting process tries a bucket taken elsewhere


class IdentifyPacer:
    """Turns to IDENTIFY, one per bucket per `window_seconds`, shared through PostgreSQL.

    Args:
        url: the SQLAlchemy database URL (PostgreSQL shares turns; SQLite paces locally).
        schema: the schema the app's tables live in, if not the default.
        name: the account paced, e.g. `discord`.
        window_seconds: how long a turn is held after its IDENTIFY.
    """

    def __init__(
        self,
        url: str,
        schema: str | None,
        name: str = "discord",
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        parsed = make_url(url)
        self.shared = parsed.get_backend_name() == "postgresql"
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.key = lock_space(parsed.database or "", schema, name, "identify")
        self.window_seconds = window_seconds
        self._local: dict[int, asyncio.Lock] = {}  # bucket -> this process's turn
        self._query = asyncio.Lock()  # one query at a time on the connection
        self._conn: asyncpg.Connection | None = None
        self._releases: set[asyncio.Task[None]] = set()

    async def turn(self, shard_id: int, max_concurrency: int) -> None:
        """Wait for shard `shard_id`'s bucket to be free here and in every other process, and
        take it for the next `window_seconds` (call right before the IDENTIFY)."""
        bucket = shard_id % max(max_concurrency, 1)
        local = self._local.setdefault(bucket, asyncio.Lock())
        await local.acquire()
        shared = False
        try:
            shared = await self._take(bucket)
        except BaseException:
            local.release()
            raise
        task = asyncio.create_task(self._give_back(bucket, local, shared), name="identify")
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def _take(self, bucket: int) -> bool:
        """Hold the bucket's PostgreSQL lock (True), or False when pacing only locally."""
        if not self.shared:
            return False
        while True:
            try:
                async with self._query:
                    conn = await self._connection()
                    if await conn.fetchval(
                        "SELECT pg_try_advisory_lock($1::int, $2::int)", self.key, bucket
                    ):
                        return True
            except CONNECTION_ERRORS:
                log.warning("cannot reach PostgreSQL to pace IDENTIFYs; pacing this process only")
                await self._drop()
                return False
            await asyncio.sleep(POLL_SECONDS)

    async def _give_back(self, bucket: int, local: asyncio.Lock, shared: bool) -> None:
        try:
            await asyncio.sleep(self.window_seconds)
            if shared and self._conn is not None:
                try:
                    async with self._query:
                        await self._conn.fetchval(
                            "SELECT pg_advisory_unlock($1::int, $2::int)", self.key, bucket
                        )
                except CONNECTION_ERRORS:
                    await self._drop()  # the lock ends with the connection
        finally:
            local.release()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn, timeout=10)
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        """Give every turn back and close the connection."""
        for task in list(self._releases):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close(timeout=5)
            except CONNECTION_ERRORS:
                conn.terminate()
