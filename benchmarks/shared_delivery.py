"""Deliveries per second when 1, 2 and 3 processes share a burst on PostgreSQL.

Every process on PostgreSQL delivers due items, each claimed with SELECT ... FOR UPDATE SKIP
LOCKED under a lease (bot/outbox.py). For each process count, a fresh schema gets a burst of
ITEMS announcements due now; that many worker processes (tests/harness/chaos/burst_worker.py,
whose "platform" is a table in the same database) deliver it, and the rate is the burst's size
over the time from its first post to its last (process start-up is not counted). Every item must
be posted exactly once, else the run fails. Goal per count: at least 50 deliveries per second
(the database, the workers and this machine's other load share its cores, so more processes
need not mean more speed here; the rows are for comparing runs).
Run: .venv/bin/python -m benchmarks.shared_delivery [ITEMS] [--processes N ...] [--quick]
(PostgreSQL at CIRCLEBOT_TEST_PG)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import asyncpg
from sqlalchemy import func, select, text

from benchmarks.common import Goal, emit, machine, note
from bot import crypto
from bot.app import App
from bot.models import OutboxItem
from tests.harness.app import make_config
from tests.harness.chaos.burst_worker import plan_burst

PG_DSN = os.environ.get("CIRCLEBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
URL = PG_DSN.replace("postgresql://", "postgresql+asyncpg://", 1)
ROOT = Path(__file__).resolve().parent.parent
GOAL_PER_SECOND = 50.0


async def one_run(items: int, processes: int) -> float:
    """Deliver `items` with `processes` workers on a fresh schema; deliveries per second."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_DSN)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    procs: list[asyncio.subprocess.Process] = []
    scratch = tempfile.TemporaryDirectory()
    folder = scratch.name
    watcher: App | None = None
    try:
        await plan_burst(URL, schema, items)
        watcher = App(make_config(cogs={"enabled": ["general"]}), db_url=URL, db_schema=schema)
        await watcher.open(migrate=False, claim=False)
        for slot in range(processes):
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.harness.chaos.burst_worker",
                    "--db",
                    URL,
                    "--schema",
                    schema,
                    "--slot",
                    str(slot),
                    "--dir",
                    folder,
                    "--lease-seconds",
                    "60",
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
            )
        deadline = time.monotonic() + 600
        while True:
            async with watcher.db.sessions() as session:
                pending = await session.scalar(
                    select(func.count(OutboxItem.id)).where(OutboxItem.status == "pending")
                )
            if not pending:
                break
            if time.monotonic() > deadline or any(p.returncode is not None for p in procs):
                raise RuntimeError(f"the burst was not delivered ({pending} left)")
            await asyncio.sleep(0.2)
        async with watcher.db.sessions() as session:
            posts = (await session.execute(text("SELECT key, at FROM burst_sent"))).all()
        per_key = Counter(key for key, _at in posts)
        if len(per_key) != items or max(per_key.values()) != 1:
            raise RuntimeError(f"{items} items, {len(per_key)} posted, some more than once")
        times = [datetime.fromisoformat(at) for _key, at in posts]
        span = (max(times) - min(times)).total_seconds()
        return items / span if span > 0 else float(items)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            await proc.wait()
        scratch.cleanup()
        if watcher is not None:
            await watcher.close()
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


async def main(items: int, counts: list[int]) -> None:
    """Print and judge one row per process count."""
    crypto.use_keys([os.environ.setdefault("CIRCLEBOT_ENCRYPTION_KEYS", crypto.generate_key())])
    print(f"Shared delivery of a burst on PostgreSQL; {machine()}; {items} items")
    rates: dict[int, float] = {}
    for processes in counts:
        rates[processes] = await one_run(items, processes)
        emit(
            Goal(
                f"shared delivery: {processes} process(es), deliveries per second "
                f"({items:,} burst, PostgreSQL)",
                GOAL_PER_SECOND,
                round(rates[processes], 1),
                "deliveries/s",
                "at least",
            )
        )
    if 1 in rates and len(rates) > 1:
        note(
            "shared delivery speed-up over one process: "
            + ", ".join(f"{n}: {rates[n] / rates[1]:.2f}x" for n in sorted(rates) if n != 1)
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Deliveries per second when several processes share a burst on PostgreSQL."
    )
    parser.add_argument("items", nargs="?", type=int, default=10_000, help="burst size")
    parser.add_argument(
        "--processes", nargs="+", type=int, default=[1, 2, 3], help="process counts to run"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of 150 items")
    options = parser.parse_args()
    if options.quick:
        options.items = 150
    asyncio.run(main(options.items, options.processes))
