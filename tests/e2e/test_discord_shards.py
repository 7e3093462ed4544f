"""Discord shards shared by lease on PostgreSQL, on the stand-in: two processes split the
shard count Discord recommends without configuration, a process that joins later is handed
half of them, and when one dies the other starts its shards; IDENTIFYs take turns per bucket
across processes; SQLite runs them all; explicit `shard_ids` in the config still win."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.client import ShardedCircleClient
from bot.clock import VirtualClock
from bot.platform import StartupError
from tests.harness.app import make_config
from tests.harness.discord import Circle, DiscordStandin
from tests.harness.postgres import PG_DSN, pg_url
from tests.harness.waiting import quiet_period, wait_until

pytestmark = pytest.mark.e2e

GENERAL = ["general"]
SHARDS = 4
WINDOW_SECONDS = 1.0  # the IDENTIFY window paced tests use


def identified(standin: DiscordStandin) -> list[int]:
    """Shard ids the stand-in was IDENTIFYed for, in order (one per gateway session)."""
    frames = standin.state.gateway_received
    return [f["d"]["shard"][0] for f in frames if f.get("op") == 2]


def running(adapter: DiscordAdapter) -> set[int]:
    """Shard ids whose gateway connection this process has open."""
    client = adapter.client
    assert isinstance(client, ShardedCircleClient)
    return {shard_id for shard_id, shard in client.shards.items() if not shard.is_closed()}


async def no_identify_pause(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py waits 5 s between IDENTIFYs (Discord's limit); the stand-in has none."""


async def process(
    circle: Circle, name: str, *, schema: str | None, paced: bool = False, **discord: object
) -> DiscordAdapter:
    """One bot process: its own app and client; on PostgreSQL when `schema` is given. Its
    IDENTIFYs go out unpaced unless `paced` (then paced by WINDOW_SECONDS, not Discord's 5 s)."""
    config = make_config(cogs={"enabled": GENERAL}, discord=dict(discord))
    where = {"db_url": pg_url(), "db_schema": schema} if schema else {}
    app = await circle.app_factory(
        config, name=name, clock=VirtualClock(datetime.now(UTC)), **where
    )
    adapter = circle.adapter(app)
    client = adapter.client
    assert isinstance(client, ShardedCircleClient) and client.claims is not None
    client.claims.poll_seconds = 0.3  # claim rounds a test need not wait long for
    client.claims.orphan_seconds = 10.0  # but time enough for the other process to log in
    if paced:
        assert client.pacer is not None
        client.pacer.window_seconds = WINDOW_SECONDS
    else:
        client.before_identify_hook = no_identify_pause  # type: ignore[method-assign]
    return adapter


@contextlib.asynccontextmanager
async def started(*adapters: DiscordAdapter) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Start the processes together: each is counted live before any claims a shard."""
    for adapter in adapters:
        await adapter.client.claims.join()  # type: ignore[attr-defined]
    tasks = [asyncio.create_task(a.client.start("standin-token")) for a in adapters]
    try:
        yield tasks
    finally:
        # every process closes (and closes its claims connection) even when one close fails
        closing = [adapter.client.close() for adapter in adapters]
        await asyncio.gather(*closing, return_exceptions=True)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)


async def test_two_processes_split_the_recommended_shards_and_one_takes_over_the_other(
    pg_schema: str, circle: Circle
) -> None:
    circle.standin.recommended_shards = SHARDS
    first = await process(circle, "first", schema=pg_schema)
    second = await process(circle, "second", schema=pg_schema)
    async with started(first, second):
        await wait_until(lambda: len(identified(circle.standin)) >= SHARDS, what="4 shards up")
        assert await quiet_period(lambda: len(identified(circle.standin))) == SHARDS
        assert sorted(identified(circle.standin)) == list(range(SHARDS))  # each shard once
        assert len(running(first)) == len(running(second)) == SHARDS // 2
        lost = running(first)

        await first.client.close()  # the first process goes away
        await wait_until(lambda: running(second) == set(range(SHARDS)), what="takeover")
        assert sorted(identified(circle.standin)[SHARDS:]) == sorted(lost)
    assert circle.standin.violations == []


async def test_a_process_that_joins_later_takes_over_half_the_shards(
    pg_schema: str, circle: Circle
) -> None:
    """The first process runs every shard alone; when a second joins, the first closes half
    of them and the second starts those, each shard identified on one session at a time."""
    circle.standin.recommended_shards = SHARDS
    first = await process(circle, "first", schema=pg_schema)
    async with started(first):
        await wait_until(lambda: running(first) == set(range(SHARDS)), what="all in the first")
        second = await process(circle, "second", schema=pg_schema)
        async with started(second):
            await wait_until(lambda: len(running(second)) == SHARDS // 2, what="half moved")
            await wait_until(lambda: len(running(first)) == SHARDS // 2, what="half closed")
            assert running(first) | running(second) == set(range(SHARDS))
            assert sorted(identified(circle.standin)[SHARDS:]) == sorted(running(second))
    assert circle.standin.violations == []


async def test_two_processes_never_identify_in_one_bucket_within_the_window(
    pg_schema: str, circle: Circle
) -> None:
    """Discord refuses a second IDENTIFY in one bucket (shard id % max_concurrency) within
    its window; processes starting shards together take turns through PostgreSQL."""
    circle.standin.recommended_shards = SHARDS
    circle.standin.max_concurrency = 2
    first = await process(circle, "first", schema=pg_schema, paced=True)
    second = await process(circle, "second", schema=pg_schema, paced=True)
    async with started(first, second):
        await wait_until(lambda: len(identified(circle.standin)) == SHARDS, what="all up")
        assert running(first) and running(second)  # both processes identified shards
    buckets: dict[int, list[float]] = {}
    for shard_id, at in circle.standin.state.identified_at:
        buckets.setdefault(shard_id % 2, []).append(at)
    assert sorted(buckets) == [0, 1]
    for times in buckets.values():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        # the turn is taken just before the IDENTIFY is written: allow for its trip
        assert gaps and min(gaps) >= WINDOW_SECONDS * 0.9, gaps
    assert circle.standin.violations == []


async def test_a_process_that_loses_its_database_connection_stops_and_its_shards_move(
    pg_schema: str, circle: Circle
) -> None:
    """A process cut off from PostgreSQL can no longer prove its claims: it closes its
    gateway connections, so a shard is never run twice, and the live process starts them."""
    circle.standin.recommended_shards = SHARDS
    first = await process(circle, "first", schema=pg_schema)
    second = await process(circle, "second", schema=pg_schema)
    async with started(first, second) as tasks:
        await wait_until(lambda: len(running(first)) + len(running(second)) == SHARDS)
        claims = first.client.claims  # type: ignore[attr-defined]
        pid = claims._conn.get_server_pid()
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await conn.close()
        await wait_until(lambda: tasks[0].done(), what="the cut-off process stops")
        with pytest.raises(StartupError, match="no shard runs twice"):
            tasks[0].result()
        assert running(first) == set()
        await wait_until(lambda: running(second) == set(range(SHARDS)), what="takeover")
    assert circle.standin.violations == []


async def test_one_process_on_sqlite_runs_every_recommended_shard(circle: Circle) -> None:
    circle.standin.recommended_shards = 3
    only = await process(circle, "only", schema=None)
    async with circle.standin.client_running(only.client):
        await wait_until(lambda: running(only) == {0, 1, 2}, what="all shards")
    assert sorted(identified(circle.standin)) == [0, 1, 2]


async def test_shard_ids_in_the_config_win_over_the_lease(pg_schema: str, circle: Circle) -> None:
    circle.standin.recommended_shards = SHARDS
    fixed = await process(circle, "fixed", schema=pg_schema, shard_count=SHARDS, shard_ids=[2])
    async with circle.standin.client_running(fixed.client):
        assert running(fixed) == {2}
    assert identified(circle.standin) == [2]


HOLDER = """
import asyncio, sys
from bot.shard_claims import ShardClaims

async def main() -> None:
    claims = ShardClaims(sys.argv[1], sys.argv[2], poll_seconds=0.3)
    print(*await claims.first_claim(int(sys.argv[3])), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_shards_of_a_killed_process_are_started_by_the_live_one(
    pg_schema: str, circle: Circle
) -> None:
    """Another OS process claims half the shards and is SIGKILLed: PostgreSQL frees its
    claims with its connection, and this process starts those shards."""
    circle.standin.recommended_shards = SHARDS
    live = await process(circle, "live", schema=pg_schema)
    await live.client.claims.join()  # type: ignore[attr-defined]
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, pg_url(), pg_schema, str(SHARDS),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    try:
        assert other.stdout is not None
        held_there = {int(x) for x in (await other.stdout.readline()).split()}
        assert len(held_there) == SHARDS // 2
        async with started(live):
            await wait_until(lambda: running(live) == set(range(SHARDS)) - held_there)
            other.kill()
            await other.wait()
            await wait_until(lambda: running(live) == set(range(SHARDS)), what="takeover")
    finally:
        if other.returncode is None:
            other.kill()
            await other.wait()
    assert sorted(identified(circle.standin)) == list(range(SHARDS))  # each shard once
