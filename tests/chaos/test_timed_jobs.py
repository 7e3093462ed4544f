"""Timed jobs on PostgreSQL are durable jobs any live process takes (bot/jobs.py, pgqueuer).

Two worker processes (tests/harness/chaos/jobs_worker.py) run the bot's PostgreSQL scheduler.
A job comes due, one process takes it and is SIGKILLed inside it; the other takes it once the
dead process's heartbeat is stale and runs it to the end, once. A job re-planned under the same
name runs once, at the new time, whether moved earlier or later. SQLite keeps the in-process
scheduler (tests/test_scheduler.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bot.app import App
from tests.harness.app import make_config
from tests.harness.chaos.jobs_worker import PROBE_TABLE, Probe, connect, durable
from tests.harness.postgres import fresh_pg_schema, pg_url
from tests.harness.waiting import eventually, wait_until

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_SECONDS = 3.0


@asynccontextmanager
async def workers(schema: str, folder: Path, count: int) -> AsyncIterator[dict[int, Any]]:
    """`count` worker processes taking jobs; killed at the end if still alive."""
    log = folder / "workers.log"
    procs: dict[int, asyncio.subprocess.Process] = {}
    try:
        for slot in range(count):
            with log.open("ab") as out:
                procs[slot] = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.harness.chaos.jobs_worker",
                    "--db",
                    pg_url(),
                    "--schema",
                    schema,
                    "--slot",
                    str(slot),
                    "--dir",
                    str(folder),
                    "--heartbeat",
                    str(HEARTBEAT_SECONDS),
                    cwd=ROOT,
                    stdout=out,
                    stderr=out,
                    env=dict(os.environ),
                )
        for slot in range(count):
            await wait_until(
                (folder / f"ready.{slot}").exists, within_seconds=60, what=f"worker {slot}"
            )
        yield procs
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@asynccontextmanager
async def planner(schema: str, conn: asyncpg.Connection) -> AsyncIterator[Any]:
    """The bot's PostgreSQL scheduler in this process, planning only (it takes no jobs)."""
    scheduler = durable(pg_url(), schema, {"probe": Probe(conn, -1)}, HEARTBEAT_SECONDS)
    await scheduler.jobs.start(work=False)
    try:
        yield scheduler
    finally:
        await scheduler.shutdown(5)


async def migrated(schema: str) -> asyncpg.Connection:
    app = App(make_config(cogs={"enabled": ["general"]}), db_url=pg_url(), db_schema=schema)
    await app.open(migrate=True)
    await app.close()
    conn = await connect(pg_url(), schema)
    await conn.execute(PROBE_TABLE)
    return conn


async def runs(conn: asyncpg.Connection, label: str, phase: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT slot, pid, at FROM probe_run WHERE label = $1 AND phase = $2 ORDER BY id",
        label,
        phase,
    )


async def settled(conn: asyncpg.Connection, name: str) -> None:
    """Wait until no job called `name` is queued or running: then it cannot run again (the
    queue records a finished job a moment after the job returns)."""

    async def gone() -> bool:
        left = await conn.fetchval(
            "SELECT COUNT(*) FROM pgqueuer WHERE headers->>'job' = $1", name
        )
        return left == 0

    await eventually(gone, within_seconds=30, what=f"{name} leaving the queue")


async def test_a_due_job_whose_process_is_killed_runs_once_in_another_process(
    tmp_path: Path,
) -> None:
    async with fresh_pg_schema() as schema:
        conn = await migrated(schema)
        try:
            async with workers(schema, tmp_path, 2) as procs, planner(schema, conn) as plans:
                plans.at("probe.kill", datetime.now(UTC), plans.cogs["probe"].run, "kill", True)
                await plans.jobs.flush()

                async def started() -> bool:
                    return bool(await runs(conn, "kill", "start"))

                await eventually(started, within_seconds=30, what="the job starting")
                holder = (await runs(conn, "kill", "start"))[0]
                victim = procs[holder["slot"]]
                victim.send_signal(signal.SIGKILL)
                await victim.wait()

                async def finished() -> bool:
                    return bool(await runs(conn, "kill", "done"))

                await eventually(finished, within_seconds=60, what="another process's run")
                done = await runs(conn, "kill", "done")
                starts = await runs(conn, "kill", "start")
                assert len(done) == 1
                assert done[0]["pid"] != holder["pid"], "the killed process finished the job"
                assert [s["pid"] for s in starts] == [holder["pid"], done[0]["pid"]]
                await settled(conn, "probe.kill")
                assert len(await runs(conn, "kill", "done")) == 1
        finally:
            await conn.close()


async def test_a_replanned_job_runs_once_at_its_new_time(tmp_path: Path) -> None:
    async with fresh_pg_schema() as schema:
        conn = await migrated(schema)
        try:
            async with workers(schema, tmp_path, 2), planner(schema, conn) as plans:
                run = plans.cogs["probe"].run
                now = datetime.now(UTC)
                # moved earlier: planned an hour ahead and stored, then moved to 2 s from now
                plans.at("probe.earlier", now + timedelta(hours=1), run, "earlier", False)
                await plans.jobs.flush()
                sooner = now + timedelta(seconds=2)
                plans.at("probe.earlier", sooner, run, "earlier", False)
                # moved later: planned for now, then at once to 4 s from now
                plans.at("probe.later", now, run, "later", False)
                later = now + timedelta(seconds=4)
                plans.at("probe.later", later, run, "later", False)
                await plans.jobs.flush()

                async def both_ran() -> bool:
                    return bool(await runs(conn, "earlier", "done")) and bool(
                        await runs(conn, "later", "done")
                    )

                await eventually(both_ran, within_seconds=60, what="the re-planned jobs")
                for label, when in (("earlier", sooner), ("later", later)):
                    starts = await runs(conn, label, "start")
                    assert len(starts) == 1, f"{label} ran {len(starts)} times"
                    assert starts[0]["at"] >= when - timedelta(milliseconds=50), label
                    await settled(conn, f"probe.{label}")
                    assert len(await runs(conn, label, "start")) == 1
                assert (await runs(conn, "earlier", "start"))[0]["at"] < now + timedelta(hours=1)
        finally:
            await conn.close()
