"""Leader failover on PostgreSQL: how long timed work stops when the leading process dies.

A child process leads (it holds the advisory lock); this process follows. The child is killed
with SIGKILL, and the time until this process has taken over (lock taken, jobs rebuilt, outbox
settled) is measured, for a few values of scheduler.leader_poll_seconds. Goal per poll
interval: the slowest takeover within one poll interval plus 1 s (to notice, take the lock,
rebuild and settle). Run: .venv/bin/python -m benchmarks.leader_failover [ROUNDS] [--polls S ...]
(PostgreSQL at CIRCLEBOT_TEST_PG)
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

from benchmarks.common import Goal, emit
from bot import crypto
from bot.app import App
from bot.core.loader import parse_config as parse

PG_DSN = os.environ.get("CIRCLEBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
URL = PG_DSN.replace("postgresql://", "postgresql+asyncpg://", 1)
ROOT = Path(__file__).resolve().parent.parent


def app(schema: str, poll: float) -> App:
    config = parse({"cogs": {"enabled": ["general"]}, "scheduler": {"leader_poll_seconds": poll}})
    return App(config, db_url=URL, db_schema=schema)


async def child(schema: str) -> None:
    """Lead until killed."""
    crypto.use_keys([os.environ["CIRCLEBOT_ENCRYPTION_KEYS"]])
    leader = app(schema, 5)
    await leader.open(migrate=False)
    await leader.start()
    print("leading" if leader.leader.leading else "following", flush=True)
    await asyncio.Event().wait()


async def round_trip(schema: str, poll: float) -> float:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.leader_failover",
        "--child",
        schema,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        line = (await proc.stdout.readline()).decode().strip()
        if line != "leading":
            raise RuntimeError(f"the child did not lead: {line!r}")
        follower = app(schema, poll)
        await follower.open(migrate=False)
        await follower.start()
        try:
            assert not follower.leader.leading
            await asyncio.sleep(random.uniform(0, poll))  # anywhere in the poll interval
            started = time.perf_counter()
            proc.send_signal(signal.SIGKILL)
            for _ in range(100_000):
                if follower.leader.leading and await settled(follower):
                    break
                await asyncio.sleep(0.005)
            return time.perf_counter() - started
        finally:
            await follower.close()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def settled(follower: App) -> bool:
    """The takeover finished: its heartbeat row says leader."""
    from bot.leader import read_status

    status = await read_status(follower.db.sessions)
    return any(p.leader and p.id == follower.leader.process_id for p in status.processes)


async def main(rounds: int, polls: list[float]) -> None:
    crypto.use_keys([os.environ.setdefault("CIRCLEBOT_ENCRYPTION_KEYS", crypto.generate_key())])
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_DSN)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        setup = app(schema, 5)
        await setup.db.migrate()
        await setup.db.close()
        print(
            f"Leader failover on PostgreSQL (SIGKILL of the leader until the follower has taken "
            f"over); {os.cpu_count()} cores, Python {platform.python_version()}, {rounds} rounds"
        )
        print(f"{'poll s':>7} {'median s':>9} {'max s':>7}   (expected: at most poll + takeover)")
        for poll in polls:
            times = [await round_trip(schema, poll) for _ in range(rounds)]
            print(f"{poll:>7.1f} {statistics.median(times):>9.3f} {max(times):>7.3f}")
            emit(
                Goal(
                    f"leader failover, slowest takeover with a {poll:g} s poll ({rounds} "
                    "rounds, PostgreSQL)",
                    poll + 1,
                    round(max(times), 3),
                    "s",
                    "at most",
                )
            )
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2]))
    else:
        numbers = (
            sys.argv[1 : sys.argv.index("--polls")] if "--polls" in sys.argv else sys.argv[1:]
        )
        chosen = (
            [float(a) for a in sys.argv[sys.argv.index("--polls") + 1 :]]
            if "--polls" in sys.argv
            else [0.5, 1.0, 5.0]
        )
        asyncio.run(main(int(numbers[0]) if numbers else 3, chosen))
