"""Chat shards shared between processes by PostgreSQL advisory locks, with takeover and
rebalancing.

Each process holds one "member" lock (keyed by its own backend pid) and one lock per shard it
runs, all on one connection of its own, so PostgreSQL frees every one of them the moment that
connection ends: a process that dies (SIGKILL, a lost machine) leaves its shards free for the
next claim round of a live process, without a timeout to wait out. Who holds what is read
from `pg_locks`, PostgreSQL's own view of granted locks, so there is no table to migrate.

The claim rule (`plan`), run by every process every round on what `pg_locks` shows:
- while any shard is free, the processes holding the fewest shards claim free ones up to
  ceil(shards / live processes); a shard free for `orphan_seconds` (three rounds by default)
  is claimed by whoever sees it, so no shard stays offline while any process lives;
- when none is free but the most and the fewest held differ by two or more, the process
  holding the most (the highest pid among equals) gives half the difference up: it closes
  those shards first and only then unlocks them, and the process holding the fewest claims
  them next round. So a process that joins later takes over its share, and the shards end
  balanced within one, each run by exactly one process.
A process paused while holding nothing still counts as live: the shards given to it sit free
until they count as orphaned and someone else runs them again.

On SQLite only one process uses the database, so it runs every shard and asks nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("circlebot.shards")

NAMESPACE = "circlebot-shards"
# InternalClientError: a query sent while the server's "terminating connection" notice is being
# read (before the socket closes) finds the protocol busy; the connection is as good as lost.
CONNECTION_ERRORS = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    TimeoutError,
)
PING_SECONDS = 5.0  # a claim round that gets no answer in this long counts the claims lost
_TAKEN = (
    "SELECT objid::bigint AS id, pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND objsubid = 2 AND classid::bigint = $1"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def lock_space(database: str, schema: str | None, name: str, kind: str) -> int:
    """The first key (a positive 32-bit int) of the two-key advisory locks of `kind`."""
    text = f"{NAMESPACE}:{database}:{schema or ''}:{name}:{kind}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


@dataclass
class Round:
    """What one claim round decided: shard ids newly claimed (to start) and the ids this
    process gives up (to close, then `ShardClaims.give_up`)."""

    claimed: list[int] = field(default_factory=list)
    surplus: list[int] = field(default_factory=list)


def plan(
    shard_count: int,
    holders: Mapping[int, int],
    members: Collection[int],
    me: int,
    orphaned: Collection[int] = (),
) -> tuple[list[int], list[int]]:
    """The claim rule for one round, from one consistent view.

    Args:
        shard_count: shards in all (ids 0 .. shard_count - 1).
        holders: shard id -> member id holding it (ids past shard_count are ignored).
        members: the live member ids (`me` counts even if missing).
        me: this process's member id.
        orphaned: shard ids free for long enough that anyone may claim them.

    Returns:
        (free shard ids to try to claim, held shard ids to give up), both sorted; at most
        one of the two is non-empty.
    """
    live = {*members, me}
    counts = dict.fromkeys(live, 0)
    mine: list[int] = []
    for sid, holder in holders.items():
        if 0 <= sid < shard_count and holder in counts:
            counts[holder] += 1
            if holder == me:
                mine.append(sid)
    free = [sid for sid in range(shard_count) if sid not in holders]
    fewest, most = min(counts.values()), max(counts.values())
    if free:
        room = -(-shard_count // len(live)) - counts[me]
        claim = set(free[: max(room, 0)]) if counts[me] == fewest else set()
        return sorted(claim | (set(orphaned) & set(free))), []
    donor = max(live, key=lambda member: (counts[member], member))
    if most - fewest < 2 or donor != me:
        return [], []
    return [], sorted(mine)[-((most - fewest) // 2) :]


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

    async def claim_round(self, shard_count: int) -> Round:
        """Run the claim rule once (see `plan`). Returns the shards newly claimed and those
        to give up; nothing once the claims are lost."""
        if not self.shared:
            unheld = set(range(shard_count)) - self.held
            self.held |= unheld
            return Round(claimed=sorted(unheld))
        conn = self._conn
        if conn is None or self.lost.is_set():
            return Round()
        try:
            members = await conn.fetch(_TAKEN, self.members_key, timeout=PING_SECONDS)
            holders = {row["id"]: row["pid"] for row in await conn.fetch(_TAKEN, self.shards_key)}
            me = conn.get_server_pid()
            now = time.monotonic()
            free = [sid for sid in range(shard_count) if sid not in holders]
            self._free_since = {sid: self._free_since.get(sid, now) for sid in free}
            orphaned = [s for s in free if now - self._free_since[s] >= self.orphan_seconds]
            claim, surplus = plan(
                shard_count, holders, [row["id"] for row in members], me, orphaned
            )
            fresh: list[int] = []
            for sid in claim:
                if await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1::int, $2::int)", self.shards_key, sid
                ):
                    self.held.add(sid)
                    fresh.append(sid)
        except CONNECTION_ERRORS:
            log.warning("lost the database connection that holds this process's shards")
            self._mark_lost()
            return Round()
        if fresh:
            log.info("this process now runs shards %s of %d", fresh, shard_count)
        surplus = [sid for sid in surplus if sid in self.held]
        if surplus:
            log.info("giving shards %s up to a process running fewer", surplus)
        return Round(claimed=fresh, surplus=surplus)

    async def give_up(self, shard_ids: Collection[int]) -> None:
        """Unlock shards this process no longer runs (close them first: never two owners).
        A failure counts the claims lost (`lost`)."""
        conn = self._conn
        if conn is None or self.lost.is_set():
            return
        try:
            for sid in shard_ids:
                if sid in self.held:
                    await conn.fetchval(
                        "SELECT pg_advisory_unlock($1::int, $2::int)", self.shards_key, sid
                    )
                    self.held.discard(sid)
        except CONNECTION_ERRORS:
            log.warning("lost the database connection that holds this process's shards")
            self._mark_lost()

    def _mark_lost(self) -> None:
        self.lost.set()

    async def release(self) -> None:
        """Give every claim up (closing the connection frees the locks)."""
        self.held = set()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close(timeout=5)
            except CONNECTION_ERRORS:
                conn.terminate()
