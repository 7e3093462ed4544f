"""Command dispatch through the whole core vs the same database work done directly.

Prints commands/second for a read command (`me show`) and a write command (`me timezone`),
and the ratio to plain SQLAlchemy doing the same queries. Run: .venv/bin/python -m
benchmarks.dispatch [N]
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bot import crypto
from bot.app import App
from bot.config import parse
from bot.models import Community, Member, Profile
from tests.fakes import FakePlatform


async def measure(n: int) -> None:
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        config = parse({"bot": {"rate_limit": {"commands": 10**9, "per_seconds": 1}}}, "bench")
        app = App(config, db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'b.sqlite3'}")
        await app.open(migrate=True)
        await app.start()
        fake = FakePlatform(app)
        incoming = fake.incoming("ana")
        spec_show = app.registry.get(("me", "show"))
        spec_tz = app.registry.get(("me", "timezone"))
        assert spec_show and spec_tz
        await app.dispatcher.run(incoming, spec_show, {})  # warm up

        start = time.perf_counter()
        for _ in range(n):
            await app.dispatcher.run(incoming, spec_show, {})
        read_core = n / (time.perf_counter() - start)
        zones = ["Europe/Berlin", "Asia/Kolkata"]
        start = time.perf_counter()
        for i in range(n):
            await app.dispatcher.run(incoming, spec_tz, {"zone": zones[i % 2]})
        write_core = n / (time.perf_counter() - start)

        sessions = app.db.sessions
        start = time.perf_counter()
        for _ in range(n):  # what me show needs: community, member, profile, pseudonym
            async with sessions() as s:
                await s.scalar(select(Community).where(Community.platform_id == "c1"))
                await s.scalar(select(Member.id).where(Member.actor_key == "fake:ana"))
                await s.get(Profile, "fake:ana", populate_existing=True)
                await s.scalar(select(Member.pseudonym).where(Member.actor_key == "fake:ana"))
        read_direct = n / (time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(n):
            async with sessions.begin() as s:
                row = await s.get(Profile, "fake:ana", populate_existing=True)
                assert row is not None
                row.timezone = zones[i % 2]
        write_direct = n / (time.perf_counter() - start)
        await app.close()

    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.machine()}, SQLite file, N={n}"
    )
    print(f"{'':24}{'core cmd/s':>12}{'direct ops/s':>14}{'ratio':>8}")
    print(
        f"{'read  (me show)':24}{read_core:12.0f}{read_direct:14.0f}{read_direct / read_core:8.2f}"
    )
    print(
        f"{'write (me timezone)':24}{write_core:12.0f}{write_direct:14.0f}"
        f"{write_direct / write_core:8.2f}"
    )


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
