"""Command dispatch through the whole core vs the same database work done directly.

Prints commands/second for a read command (`me show`) and a write command (`me timezone`):
through the dispatcher (as every adapter calls it), through the console adapter's `handle_line`
(parsing and rendering included, output to a StringIO), and the same queries done with plain
SQLAlchemy (community, member, profile, pseudonym for the read; load and update the profile for
the write), uncached. The ratio is direct / console adapter (goal <= 1.3). Everything runs on one
event loop, so it is one core plus the SQLite driver's thread. The last line is the numbers as
JSON for benchmarks.run_all. Run: .venv/bin/python -m benchmarks.dispatch [N]
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from bot import crypto
from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import parse
from bot.models import Community, Member, Profile
from tests.harness.platform import FakePlatform

ZONES = ["Europe/Berlin", "Asia/Kolkata"]


def bench_app(tmp: str) -> App:
    """Every cog enabled, no rate limit, a fresh SQLite file."""
    config = parse({"bot": {"rate_limit": {"commands": 10**9, "per_seconds": 1}}}, "bench")
    return App(config, db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'b.sqlite3'}")


async def rate(n: int, one: Callable[[int], Awaitable[object]]) -> float:
    """Calls per second of `one(i)` for i in range(n), after one warm-up call."""
    await one(-1)
    start = time.perf_counter()
    for i in range(n):
        await one(i)
    return n / (time.perf_counter() - start)


def console_line(
    console: ConsoleAdapter, out: io.StringIO, line: str
) -> Callable[[int], Awaitable[object]]:
    """One console line per call; the output buffer is emptied so it does not grow."""

    async def one(i: int) -> object:
        out.seek(0)
        out.truncate()
        return await console.handle_line(line.format(zone=ZONES[i % 2]))

    return one


async def measure(n: int) -> dict[str, float]:
    """Run every variant N times; returns the rates."""
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        await app.open(migrate=True)
        await app.start()
        fake = FakePlatform(app)
        incoming = fake.incoming("ana")
        spec_show = app.registry.get(("me", "show"))
        spec_tz = app.registry.get(("me", "timezone"))
        assert spec_show and spec_tz
        dispatcher = app.dispatcher
        out = io.StringIO()
        console = ConsoleAdapter(app, out=out)
        results: dict[str, float] = {}

        results["read_core"] = await rate(n, lambda i: dispatcher.run(incoming, spec_show, {}))
        results["write_core"] = await rate(
            n, lambda i: dispatcher.run(incoming, spec_tz, {"zone": ZONES[i % 2]})
        )
        results["read_console"] = await rate(n, console_line(console, out, "@bo !me show"))
        assert "Your settings" in out.getvalue(), out.getvalue()
        results["write_console"] = await rate(
            n, console_line(console, out, "@bo !me timezone {zone}")
        )
        assert "time zone is now" in out.getvalue(), out.getvalue()

        sessions = app.db.sessions

        async def read_direct(i: int) -> None:
            async with sessions() as s:
                await s.scalar(select(Community).where(Community.platform_id == "local"))
                await s.scalar(select(Member.id).where(Member.actor_key == "console:bo"))
                await s.get(Profile, "console:bo", populate_existing=True)
                await s.scalar(select(Member.pseudonym).where(Member.actor_key == "console:bo"))

        async def write_direct(i: int) -> None:
            async with sessions.begin() as s:
                row = await s.get(Profile, "console:bo", populate_existing=True)
                assert row is not None
                row.timezone = ZONES[i % 2]

        results["read_direct"] = await rate(n, read_direct)
        results["write_direct"] = await rate(n, write_direct)
        await app.close()
    return results


def report(n: int, r: dict[str, float]) -> None:
    """The table, then the JSON line."""
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.machine()}, SQLite file, N={n}"
    )
    print(f"{'':22}{'dispatcher':>12}{'console':>10}{'direct':>10}{'ratio':>8}  goal")
    for kind, label, goal in (
        ("read", "read  (me show)", ">= 1000/s"),
        ("write", "write (me timezone)", ">= 300/s"),
    ):
        core, con, direct = r[f"{kind}_core"], r[f"{kind}_console"], r[f"{kind}_direct"]
        r[f"{kind}_ratio"] = direct / con
        print(f"{label:22}{core:12.0f}{con:10.0f}{direct:10.0f}{direct / con:8.2f}  {goal}")
    print("(cmd/s; ratio = direct ops/s / console cmd/s, goal <= 1.3; direct is uncached)")
    print("RESULT " + json.dumps({k: round(v, 3) for k, v in r.items()}))


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    report(count, asyncio.run(measure(count)))
