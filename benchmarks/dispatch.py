"""Command dispatch through the whole core vs the same database work done bare.

Four variants, interleaved round by round (A B C D A B C D ...) and judged on their medians:
`me show` and `me timezone` through the console adapter's `handle_line` (parsing and rendering
included, output to a StringIO) with the caches on, as members use it; `me show` through the
dispatcher (as every adapter calls it) with every cache OFF, against the same rows read bare with
plain SQLAlchemy in one session (community, member, profile, pseudonym); and `me timezone`
through the dispatcher against the UPDATE ... RETURNING it runs, run bare. Same work on both
sides: the ratio is circlebot's time per command / the bare time (goal <= 1.3x). With the
caches off circlebot still reads each row once per command (bot/services/reads.py), as the bare
transaction does; that memo ends with the command, so nothing carries from one command to the
next. `me timezone` alternates two zones, so its crisis-phrase check (every command's words
are checked) is answered from the detector's memory of recent texts (`_Answers` in
cogs/crisis/phrases.py) after the first time; a text it has not seen costs 80-250 us more.
Everything runs on one event loop. Run: .venv/bin/python -m benchmarks.dispatch [N] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from benchmarks.common import Goal, emit, interleaved, machine
from bot import crypto
from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.core.loader import parse_config as parse
from bot.models import Community, Member, Profile
from bot.services.cache import MISSING, TTLCache
from tests.harness.platform import COMMUNITY, FakePlatform

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


@contextlib.contextmanager
def caches_off() -> Iterator[None]:
    """Every TTLCache misses while inside (reads go to the database), as with no cache at all."""
    original = TTLCache.get
    TTLCache.get = lambda self, key: MISSING  # type: ignore[method-assign]
    try:
        yield
    finally:
        TTLCache.get = original  # type: ignore[method-assign]


def console_line(
    console: ConsoleAdapter, out: io.StringIO, line: str
) -> Callable[[int], Awaitable[object]]:
    """One console line per call; the output buffer is emptied so it does not grow."""

    async def one(i: int) -> object:
        out.seek(0)
        out.truncate()
        return await console.handle_line(line.format(zone=ZONES[i % 2]))

    return one


async def measure(n: int, rounds: int) -> dict[str, float]:
    """Run every variant N times per round for `rounds` rounds; returns the median rates."""
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        await app.open(migrate=True)
        await app.start(freeze_gc=True)  # as `circlebot run` starts the app
        fake = FakePlatform(app)
        incoming = fake.incoming("ana")
        spec_show = app.registry.get(("me", "show"))
        spec_tz = app.registry.get(("me", "timezone"))
        assert spec_show and spec_tz
        dispatcher = app.dispatcher
        out = io.StringIO()
        console = ConsoleAdapter(app, out=out)
        await console.handle_line("@bo !me show")  # first sight: the member's rows exist
        await dispatcher.run(incoming, spec_tz, {"zone": ZONES[0]})  # a profile row to read
        sessions = app.db.sessions
        actor = incoming.actor.key

        async def read_bare(i: int) -> None:
            async with sessions() as s:
                found = (
                    await s.scalar(
                        select(Community).where(
                            Community.platform == "fake", Community.platform_id == COMMUNITY
                        )
                    ),
                    await s.scalar(select(Member.id).where(Member.actor_key == actor)),
                    await s.get(Profile, actor, populate_existing=True),
                )
                await s.scalar(select(Member.pseudonym).where(Member.actor_key == actor))
                assert all(row is not None for row in found), found  # the same rows, found

        async def write_bare(i: int) -> None:
            # The statement circlebot's write runs (bot/services/members.py update_profile).
            async with sessions.begin() as s:
                found = (
                    await s.execute(
                        update(Profile)
                        .where(Profile.actor_key == actor)
                        .values(timezone=ZONES[i % 2], updated_at=datetime.now(UTC))
                        .returning(Profile.timezone, Profile.country, Profile.language)
                        .execution_options(synchronize_session=False)
                    )
                ).first()
                assert found is not None

        async def read_uncached(i: int) -> None:
            with caches_off():
                await dispatcher.run(incoming, spec_show, {})

        async def write_dispatcher(i: int) -> None:
            await dispatcher.run(incoming, spec_tz, {"zone": ZONES[i % 2]})

        show_line = console_line(console, out, "@bo !me show")
        tz_line = console_line(console, out, "@bo !me timezone {zone}")
        variants = {
            "read_console": show_line,
            "write_console": tz_line,
            "read_uncached": read_uncached,
            "read_bare": read_bare,
            "write_core": write_dispatcher,
            "write_bare": write_bare,
        }
        results = await interleaved(
            {name: functools.partial(rate, n, one) for name, one in variants.items()}, rounds
        )
        await show_line(0)
        assert "Your settings" in out.getvalue(), out.getvalue()
        await tz_line(0)
        assert "time zone is now" in out.getvalue(), out.getvalue()
        await app.close()
    return results


def report(n: int, rounds: int, r: dict[str, float]) -> None:
    """The readable table, then the goal rows."""
    print(machine() + f", SQLite file, N={n} per round, {rounds} rounds interleaved, medians")
    for name, value in r.items():
        print(f"{name:16} {value:10.0f} /s")
    size = f"N={n} x {rounds} rounds"
    emit(
        Goal(
            f"dispatch: `me show` via the console, cached ({size})",
            1000,
            round(r["read_console"]),
            "cmd/s",
            "at least",
        )
    )
    emit(
        Goal(
            f"dispatch: `me timezone` via the console ({size})",
            300,
            round(r["write_console"]),
            "cmd/s",
            "at least",
        )
    )
    emit(
        Goal(
            "dispatch: uncached `me show` / the same rows read bare (time per command)",
            1.3,
            round(r["read_bare"] / r["read_uncached"], 2),
            "x",
            "at most",
        )
    )
    emit(
        Goal(
            "dispatch: `me timezone` / the same row written bare (time per command)",
            1.3,
            round(r["write_bare"] / r["write_core"], 2),
            "x",
            "at most",
        )
    )


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    report(count, repeat, asyncio.run(measure(count, repeat)))
