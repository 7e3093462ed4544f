"""Resident memory: the bot started and idle, then with 1,000 communities loaded.

Runs in a fresh process (run_all starts it as one) and reads VmRSS from /proc/self/status:
after start-up with every cog on an empty SQLite database, then after 1,000 communities with
5 members each and one weekly meeting each were created, a restart rebuilt the schedule, and
every member sent one command (so the per-community caches are full). Goal: < 150 MB.
Then one member names a country in another language (`me country Deutschland`: country names
in every language, read once) and a zone with a misspelt word (`me timezone` ...: the crisis
check's everyday-word lists of seven languages, wordfreq): tables loaded on first use, printed
as a number beside the goal.
The goal row is read by benchmarks.run_all. Run: .venv/bin/python -m benchmarks.memory [N]
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select

from benchmarks.common import Goal, emit, machine, note, rss_mb
from benchmarks.meetings_schedule import START, seed
from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.context import ResponderDefaults
from bot.core.dispatch import Incoming
from bot.core.identity import Actor, Place
from bot.core.loader import parse_config as parse
from bot.core.permissions import Tier
from bot.models import Community, Member
from tests.harness.platform import FakePlatform

MEMBERS = 5


class Quiet(ResponderDefaults):
    """A responder that drops replies, so they do not pile up in memory as with the fake."""

    prefix = "!"

    async def reply(self, message: object, *, ephemeral: bool) -> None:
        """Drop it."""

    async def dm(self, message: object) -> None:
        """Drop it."""

    async def defer(self, *, ephemeral: bool) -> None:
        """Nothing to acknowledge."""

    async def resolve_actor(self, text: str) -> Actor | None:
        """No one to find."""
        return None

    async def resolve_place(self, text: str) -> Place | None:
        """Nowhere to find."""
        return None


def bench_app(url: str) -> App:
    """Every cog on, no rate limit, a virtual clock so meetings lie ahead."""
    config = parse({"bot": {"rate_limit": {"commands": 10**9, "per_seconds": 1}}}, "bench")
    return App(config, clock=VirtualClock(START), db_url=url)


async def measure(communities: int) -> dict[str, float]:
    """RSS idle, then loaded; returns both in MB."""
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'mem.sqlite3'}"
        app = bench_app(url)
        await app.open(migrate=True)
        await app.start()
        await FakePlatform(app).say("ana", "!me show")
        gc.collect()
        idle = rss_mb()

        await seed(app, communities, communities)  # one meeting in each community
        async with app.db.sessions.begin() as session:
            rows = await session.execute(
                select(Community.id, Community.platform_id).where(Community.platform == "bench")
            )
            for row_id, platform_id in rows.all():
                session.add_all(
                    Member(
                        community_id=row_id, actor_key=f"bench:{platform_id}-{m}", joined_at=START
                    )
                    for m in range(MEMBERS)
                )
        await app.close()

        app = bench_app(url)  # a restart: schedules are rebuilt for every meeting
        await app.open(migrate=True)
        await app.start()
        await app.settled()  # a large schedule's later meetings are planned in the background
        spec = app.registry.get(("me", "show"))
        assert spec is not None
        quiet = Quiet()
        for c in range(communities):
            place = Place("bench", f"chan{c}", f"g{c}", False, f"#chan{c}")
            for m in range(MEMBERS):
                actor = Actor("bench", f"g{c}-{m}", f"m{m}")
                incoming = Incoming(actor, place, Tier.MEMBER, quiet, f"Circle {c}")
                await app.dispatcher.run(incoming, spec, {})
        gc.collect()
        loaded = rss_mb()
        planned = len(app.scheduler.planned(""))
        fake = FakePlatform(app)
        for line in ("!me country Deutschland", "!me timezone Berlinn"):
            said = await fake.say("ana", line)
            assert said, line
        gc.collect()
        tables = rss_mb()
        await app.close()
    return {
        "idle_mb": idle,
        "loaded_mb": loaded,
        "tables_mb": tables,
        "communities": communities,
        "jobs": planned,
    }


def report(r: dict[str, float]) -> None:
    """Human lines, the goal row and a note."""
    print(machine() + ", SQLite file")
    print(f"RSS idle (every cog started, empty database): {r['idle_mb']:.1f} MB")
    note(f"memory RSS idle, every cog started, empty database: {r['idle_mb']:.0f} MB")
    note(
        "memory RSS loaded, then with the tables read on first use (country names in every "
        f"language, everyday-word lists): {r['tables_mb']:.0f} MB"
    )
    emit(
        Goal(
            f"memory RSS, {r['communities']:,.0f} communities x {MEMBERS} members, one weekly "
            f"meeting each ({r['jobs']:.0f} scheduler jobs)",
            150,
            round(r["loaded_mb"], 1),
            "MB",
        )
    )


if __name__ == "__main__":
    report(asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)))
