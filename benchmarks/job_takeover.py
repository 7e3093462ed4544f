"""Timed-job takeover on PostgreSQL: how long a due job waits when the process running it dies.

Two worker processes (tests/harness/chaos/jobs_worker.py) take timed jobs from the shared queue
(bot/jobs.py). A job comes due; the process that took it stays inside it and is SIGKILLed; the
time until the other process starts the job is measured, for a few heartbeat timeouts
(`scheduler.lease_seconds` in the bot). The job is taken again once its heartbeat (written every
half timeout) is older than the timeout, at the survivor's next look (every half timeout, or on a
notice): goal, the slowest takeover within 1.5 timeouts plus 1 s.
Run: .venv/bin/python -m benchmarks.job_takeover [ROUNDS] [--heartbeats S ...]
(PostgreSQL at CIRCLEBOT_TEST_PG)
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from benchmarks.common import Goal, emit
from bot.app import App
from bot.core.loader import parse_config as parse
from tests.harness.chaos.jobs_worker import PROBE_TABLE, Probe, connect, durable

PG_DSN = os.environ.get("CIRCLEBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
URL = PG_DSN.replace("postgresql://", "postgresql+asyncpg://", 1)
ROOT = Path(__file__).resolve().parent.parent


async def spawn(
    schema: str, folder: Path, slot: int, heartbeat: float
) -> asyncio.subprocess.Process:
    """Start worker `slot` and wait until it takes jobs."""
    ready = folder / f"ready.{slot}"
    ready.unlink(missing_ok=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.harness.chaos.jobs_worker",
        "--db",
        URL,
        "--schema",
        schema,
        "--slot",
        str(slot),
        "--dir",
        str(folder),
        "--heartbeat",
        str(heartbeat),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    while not ready.exists():
        if proc.returncode is not None:
            raise RuntimeError(f"worker {slot} exited with {proc.returncode}")
        await asyncio.sleep(0.02)
    return proc


async def starts(conn: asyncpg.Connection, label: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT slot FROM probe_run WHERE label = $1 AND phase = 'start' ORDER BY id", label
    )


async def until_started(conn: asyncpg.Connection, label: str, count: int) -> list[asyncpg.Record]:
    """Poll (another process writes the rows) until `label` has started `count` times."""
    for _ in range(60_000):
        found = await starts(conn, label)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise RuntimeError(f"{label} did not start {count} time(s)")


async def one_timeout(schema: str, folder: Path, heartbeat: float, rounds: int) -> list[float]:
    """Takeover times of `rounds` jobs whose holder was killed, in seconds."""
    conn = await connect(URL, schema)
    plans = durable(URL, schema, {"probe": Probe(conn, -1)}, heartbeat)
    await plans.jobs.start(work=False)
    procs = {slot: await spawn(schema, folder, slot, heartbeat) for slot in (0, 1)}
    times: list[float] = []
    try:
        for n in range(rounds):
            label = f"bench.{heartbeat}.{n}"
            plans.at(f"probe.{n}", datetime.now(UTC), plans.cogs["probe"].run, label, True)
            await plans.jobs.flush()
            found = await until_started(conn, label, 1)
            holder = found[0]["slot"]
            procs[holder].send_signal(signal.SIGKILL)
            await procs[holder].wait()
            killed = time.perf_counter()
            await until_started(conn, label, 2)
            times.append(time.perf_counter() - killed)
            procs[holder] = await spawn(schema, folder, holder, heartbeat)
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await plans.shutdown(5)
        await conn.close()
    return times


async def main(rounds: int, heartbeats: list[float]) -> None:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_DSN)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        setup = App(parse({"cogs": {"enabled": ["general"]}}), db_url=URL, db_schema=schema)
        await setup.db.migrate()
        await setup.db.close()
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(PROBE_TABLE)
        print(
            f"Timed-job takeover on PostgreSQL (SIGKILL of the process running a due job until "
            f"another starts it); {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{rounds} rounds"
        )
        print(f"{'timeout s':>9} {'median s':>9} {'max s':>7}   (expected: at most 1.5 timeouts)")
        with tempfile.TemporaryDirectory() as folder:
            for heartbeat in heartbeats:
                times = await one_timeout(schema, Path(folder), heartbeat, rounds)
                print(f"{heartbeat:>9.1f} {statistics.median(times):>9.3f} {max(times):>7.3f}")
                emit(
                    Goal(
                        f"timed job takeover, slowest with a {heartbeat:g} s heartbeat timeout "
                        f"({rounds} rounds, PostgreSQL)",
                        1.5 * heartbeat + 1,
                        round(max(times), 3),
                        "s",
                        "at most",
                    )
                )
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    numbers = (
        sys.argv[1 : sys.argv.index("--heartbeats")]
        if "--heartbeats" in sys.argv
        else sys.argv[1:]
    )
    chosen = (
        [float(a) for a in sys.argv[sys.argv.index("--heartbeats") + 1 :]]
        if "--heartbeats" in sys.argv
        else [2.0, 5.0]
    )
    asyncio.run(main(int(numbers[0]) if numbers else 3, chosen))
