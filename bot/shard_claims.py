"""Chat shards shared between processes by PostgreSQL advisory locks, with takeover.

Each process holds one "member" lock (keyed by its own backend pid) and one lock per shard it
runs, all on one connection of its own, so PostgreSQL frees every one of them the moment that
connection ends: a process that dies (SIGKILL, a lost machine) leaves its shards free for the
next claim round of a live process, without a timeout to wait out. Who holds what is read
from `pg_locks`, PostgreSQL's own view of granted locks, so there is no table to migrate.

A round claims free shards while this process runs fewer than its fair share
(ceil(shards / live processes)); a shard that stays free for `orphan_seconds` (three rounds
by default, time for a process just started to claim its share) is claimed by whoever sees
it, so no shard stays offline while any process lives. A process that joins later
takes only free shards: running shards are not moved (that would drop their connections).

On SQLite only one process uses the database, so it runs every shard and asks nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("circlebot.shards")

NAMESPACE = "circlebot-shards"
# InternalClientError: a query sent while the server's "terminating connection" notice is being
# read (before the socket closes) finds the protocol busy; the connection is as good as lost.
_ERRORS = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    TimeoutError,
)
PING_SECONDS = 5.0  # a claim round that gets no answer in this long counts the claims lost
_TAKEN = (
    "SELECT objid::bigint AS id FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND objsubid = 2 AND classid::bigint = $1"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def lock_space(database: str, schema: str | None, name: str, kind: str) -> int:
    """The first key (a positive 32-bit int) of the two-key advisory locks of `kind`."""
    text = f"{NAMESPACE}:{database}:{schema or ''}:{name}:{kind}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


class ShardClaims:
    """The shards this process runs out of `shard_count`, claimed by lease.

    Args:
        url: the SQLAlchemy database URL (PostgreSQL shares shards; SQLite runs them all).
        schema: the schema the app's tables live in, if not the default.
        name: what is sharded, e.g. `discord` (one bot account per database).
        poll_seconds: how often a claim round runs; a dead process's shards are taken over
            within about this (plus the gateway connect).
        orphan_seconds: how long a shard stays free before a process past its share takes
            it (default three rounds).
    """

    def __init__(
        self,
        url: str,
        schema: str | None,
        name: str = "discord",
        poll_seconds: float = 5.0,
        orphan_seconds: float | None = None,
    ) -> None:
        parsed = make_url(url)
        self.shared = parsed.get_backend_name() == "postgresql"
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.poll_seconds = poll_seconds
        self.orphan_seconds = 3 * poll_seconds if orphan_seconds is None else orphan_seconds
        self.members_key = lock_space(parsed.database or "", schema, name, "member")
        self.shards_key = lock_space(parsed.database or "", schema, name, "shard")
        self.held: set[int] = set()
        self.lost = asyncio.Event()  # set when the connection holding the claims ended
        self._free_since: dict[int, float] = {}  # shard id -> when first seen free (monotonic)
        self._conn: asyncpg.Connection | None = None

    async def join(self) -> None:
        """Count this process among the live ones (call before the first round).

        Raises:
            OSError, asyncpg.PostgresError: PostgreSQL cannot be reached.
        """
        if not self.shared or self._conn is not None:
            return
        self._conn = await asyncpg.connect(self.dsn, timeout=10)
        self._conn.add_termination_listener(lambda _conn: self._mark_lost())
        await self._conn.execute(
            "SELECT pg_advisory_lock($1::int, pg_backend_pid())", self.members_key
        )

    async def first_claim(self, shard_count: int) -> list[int]:
        """Join, let processes started together see each other (one poll period), then run a
        round. Returns the shard ids this process now runs, in order."""
        if not self.shared:
            self.held = set(range(shard_count))
            return sorted(self.held)
        await self.join()
        await asyncio.sleep(self.poll_seconds)
        await self.claim_round(shard_count)
        return sorted(self.held)

    async def claim_round(self, shard_count: int) -> list[int]:
        """Claim free shards up to the fair share (and any left free since the last round).
        Returns the ids newly claimed; none once the claims are lost."""
        if not self.shared:
            unheld = set(range(shard_count)) - self.held
            self.held |= unheld
            return sorted(unheld)
        conn = self._conn
        if conn is None or self.lost.is_set():
            return []
        try:
            members = await conn.fetch(_TAKEN, self.members_key, timeout=PING_SECONDS)
            taken = {row["id"] for row in await conn.fetch(_TAKEN, self.shards_key)}
            share = -(-shard_count // max(len(members), 1))
            now = time.monotonic()
            free = [sid for sid in range(shard_count) if sid not in taken]
            self._free_since = {sid: self._free_since.get(sid, now) for sid in free}
            fresh: list[int] = []
            for sid in free:
                orphaned = now - self._free_since[sid] >= self.orphan_seconds
                if len(self.held) >= share and not orphaned:
                    continue
                if await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1::int, $2::int)", self.shards_key, sid
                ):
                    self.held.add(sid)
                    fresh.append(sid)
        except _ERRORS:
            log.warning("lost the database connection that holds this process's shards")
            self._mark_lost()
            return []
        if fresh:
            log.info("this process now runs shards %s of %d", fresh, shard_count)
        return fresh

    def _mark_lost(self) -> None:
        self.lost.set()

    async def release(self) -> None:
        """Give every claim up (closing the connection frees the locks)."""
        self.held = set()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close(timeout=5)
            except _ERRORS:
                conn.terminate()
