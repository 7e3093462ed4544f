"""Meetings at scale: N weekly meetings (10 per community) on a virtual clock, their series
begun at random over the past three years.

Prints, for a first start (nothing planned yet: every announcement due in the next 48 hours
is to be written to the outbox), two times: until the bot answers (`App.start` returned, the
adapters may connect) and until every meeting is planned (`App.settled`). Above
`PHASED_REBUILD_MEETINGS` they differ: start-up plans only the meetings with something due
within `URGENT_WINDOW` and the rest is planned in the background while the bot answers (see
`MeetingService.rebuild`), with the event-loop lag meanwhile. Then the time to rebuild the
schedule at a later start-up (all known) with the event-loop lag meanwhile, and with `--day`
the lateness each announcement gets from the bot's own processing while the virtual clock runs
one day (p50/p99/max: virtual lateness plus the real time since the clock reached the due
time). Starts are timed three times (first starts from copies of one seeded database, up to
10,000 meetings; restarts of one) and their medians reported, since a shared machine's speed
drifts from one run to the next.

A restart of the same code trusts each meeting's stored plan where it may (see
`MeetingService._rebuild_trusted`); a restart into new code trusts none and plans every
meeting again. Both are timed: the first against the restart goal, the second against the
first start's goal (the same work: every meeting planned, here on a full outbox).

With `--judge` the goals are printed as rows: first start until the bot answers < 3 s, restart
< 2 s and a restart into new code until the bot answers < 3 s up to 10,000 meetings, restart
< 10 s at 50,000; event-loop lag p99 < 50 ms during the restart and while the background plans;
lateness p99 < 1 s over the day. The time until every meeting is planned is printed as a note
beside each start row. Without `--judge`, the numbers are notes (a size between the goals).
Run: .venv/bin/python -m benchmarks.meetings_schedule [MEETINGS] [--day] [--judge]
"""

from __future__ import annotations

import asyncio
import bisect
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from benchmarks.common import Goal, LagProbe, emit, machine, note, percentile
from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.loader import parse_config as parse
from bot.core.message import Message
from bot.models import OutboxItem
from bot.outbox import Target
from bot.platform import PlatformDefaults
from cogs.meetings.models import Meeting, MeetingFacilitator
from cogs.meetings.recurrence import local_key, parse_repeat

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
REPEATS = 3  # first starts (up to 10,000 meetings) and restarts timed; their medians judged
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


class TimedClock(VirtualClock):
    """Remembers the real moment the virtual clock reached each time."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.marks: list[tuple[datetime, float]] = [(start, time.perf_counter())]

    def set(self, moment: datetime) -> None:
        super().set(moment)
        self.marks.append((self.now(), time.perf_counter()))

    def reached(self, due: datetime) -> float:
        """Real time at which the virtual clock first stood at or after `due`."""
        i = bisect.bisect_left([m[0] for m in self.marks], due)
        return self.marks[min(i, len(self.marks) - 1)][1]


class Sink(PlatformDefaults):
    """A transport that records how late each item arrived."""

    platform = "bench"

    def __init__(self, clock: TimedClock) -> None:
        self.clock = clock
        self.lateness: list[float] = []
        self.due: dict[str, datetime] = {}

    async def send(self, target: Target, message: Message, key: str) -> None:
        due = self.due.get(key)
        if due is None:
            return
        virtual = (self.clock.now() - due).total_seconds()
        self.lateness.append(virtual + time.perf_counter() - self.clock.reached(due))


def config() -> object:
    return parse({"cogs": {"enabled": ["general", "meetings"]}}, "bench")


async def seed(app: App, meetings: int, communities: int) -> None:
    rng = random.Random(7)
    ids = []
    for i in range(communities):
        info = await app.members.community("bench", f"g{i}", f"Circle {i}")
        ids.append(info.id)
    for first in range(0, meetings, 2000):
        await seed_batch(ids, rng, first, min(meetings, first + 2000), app)


async def seed_batch(ids: list[int], rng: random.Random, first: int, last: int, app: App) -> None:
    """Meetings first..last-1 and their facilitators, in one transaction."""
    rows: list[Meeting] = []
    async with app.db.sessions.begin() as session:
        for n in range(first, last):
            # Series begun over the past three years, as a community's meetings are.
            day = START + timedelta(days=7 - rng.randrange(3 * 365))
            wall = datetime(
                day.year, day.month, day.day, rng.randrange(6, 22), rng.choice([0, 30])
            )
            row = Meeting(
                community_id=ids[n % len(ids)],
                title=f"Meeting {n}",
                kind="standard",
                start_local=local_key(wall),
                timezone=rng.choice(ZONES),
                duration_minutes=90,
                rrule=parse_repeat("weekly", wall),
                location="",
                location_label="#general",
                channel=f"bench:chan{n % len(ids)}",
                cancelled=False,
                revision=1,
                revised_at=START,
                created_by="bench:fac",
                created_at=START,
            )
            rows.append(row)
        session.add_all(rows)
        await session.flush()
        session.add_all(
            MeetingFacilitator(meeting_id=row.id, actor_key=f"bench:f{first + i}")
            for i, row in enumerate(rows)
        )


def drop_plan_stamps(path: Path) -> None:
    """What a restart into new code finds: no stored plan stamp it may trust."""
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM outbox_plan_stamp")


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a closed SQLite database (its WAL included), through SQLite's own
    backup, so each repeat of a first start begins from the same seeded state."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


async def timed_start(
    url: str, clock: TimedClock, sink: Sink, probe: LagProbe | None, background: LagProbe
) -> tuple[float, float]:
    """Open an app on `url`, time its start-up, close it. Returns (seconds until `start`
    returned: the adapters connect and members are answered from then on, seconds until every
    meeting was planned: `App.settled`, the same when nothing was left to the background).
    `probe` measures the event loop during `start`, `background` after it."""
    app = App(config(), clock=clock, db_url=url)  # type: ignore[arg-type]
    app.add_transport(sink)
    await app.open(migrate=True)
    if probe is not None:
        probe.start()
    began = time.perf_counter()
    await app.start(freeze_gc=True)  # freeze_gc as `circlebot run` starts the app
    ready = time.perf_counter() - began
    if probe is not None:
        await probe.stop()
    background.start()
    await app.settled()
    planned = time.perf_counter() - began
    await background.stop()
    await app.close()
    return ready, planned


async def measure(meetings: int, communities: int, day: bool, judge: bool) -> None:
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        seeded = Path(tmp) / "seeded.sqlite3"
        clock = TimedClock(START)
        sink = Sink(clock)
        app = App(config(), clock=clock, db_url=f"sqlite+aiosqlite:///{seeded}")  # type: ignore[arg-type]
        app.add_transport(sink)
        await app.open(migrate=True)
        await seed(app, meetings, communities)
        await app.close()

        # First start (every announcement due in 48 h planned), each repeat from a copy of the
        # same seeded database; then restarts of the last one (the schedule rebuilt, nothing
        # twice). Medians: a shared machine's speed drifts between runs.
        firsts: list[float] = []
        firsts_planned: list[float] = []
        background = LagProbe()  # the event loop while later meetings are planned
        path = seeded
        for n in range(REPEATS if meetings <= 10_000 else 1):
            path = Path(tmp) / f"first{n}.sqlite3"
            copy_database(seeded, path)
            ready, planned = await timed_start(
                f"sqlite+aiosqlite:///{path}", clock, sink, None, background
            )
            firsts.append(ready)
            firsts_planned.append(planned)
        first = statistics.median(firsts)
        first_planned = statistics.median(firsts_planned)
        url = f"sqlite+aiosqlite:///{path}"
        rebuilds: list[float] = []
        probe = LagProbe()
        for _n in range(REPEATS):
            rebuilds.append((await timed_start(url, clock, sink, probe, background))[1])
        rebuild = statistics.median(rebuilds)
        # A restart into new code: no stored plan is trusted (their digests name the old code),
        # so every meeting is planned again, the work of a first start on a full outbox.
        updates: list[float] = []
        updates_planned: list[float] = []
        for _n in range(REPEATS if meetings <= 10_000 else 1):
            drop_plan_stamps(path)
            ready, planned = await timed_start(url, clock, sink, None, background)
            updates.append(ready)
            updates_planned.append(planned)
        update = statistics.median(updates)
        update_planned = statistics.median(updates_planned)

        again = App(config(), clock=clock, db_url=url)  # type: ignore[arg-type]
        again.add_transport(sink)
        await again.open(migrate=True)
        await again.start(freeze_gc=True)
        pending = len(again.scheduler.planned("meetings."))
        async with again.db.sessions() as session:
            rows = await session.execute(select(OutboxItem.key, OutboxItem.due_at))
            sink.due = {key: due for key, due in rows}
        ran = 0.0
        if day:
            began = time.perf_counter()
            await again.scheduler.advance(timedelta(days=1))
            ran = time.perf_counter() - began
        await again.close()

    print(f"meetings {meetings}, communities {communities}")
    print(machine() + f", {platform.platform()}")
    print(
        f"first start (plan {len(sink.due)} outbox items, {pending} plan jobs): answering "
        f"after {first:.2f} s (median of {', '.join(f'{t:.2f}' for t in firsts)}), every "
        f"meeting planned after {first_planned:.2f} s (median of "
        f"{', '.join(f'{t:.2f}' for t in firsts_planned)})"
    )
    print(
        f"restart: rebuild the schedule from the database: {rebuild:.2f} s (median of "
        f"{', '.join(f'{t:.2f}' for t in rebuilds)}); event-loop lag p99 "
        f"{probe.percentile_ms(0.99):.0f} ms, max {probe.max_ms():.0f} ms"
    )
    print(
        f"restart into new code (every meeting planned again): answering after {update:.2f} s "
        f"(median of {', '.join(f'{t:.2f}' for t in updates)}), every meeting planned after "
        f"{update_planned:.2f} s (median of {', '.join(f'{t:.2f}' for t in updates_planned)})"
    )
    print(
        f"event-loop lag while later meetings are planned after start: p99 "
        f"{background.percentile_ms(0.99):.0f} ms, max {background.max_ms():.0f} ms "
        f"({len(background.lags)} ticks)"
    )
    size = f"{meetings:,} meetings"
    big = meetings >= 50_000
    if judge and not big:
        emit(
            Goal(
                f"scheduler: first start until the bot answers ({size}; goal at 10,000)",
                3,
                round(first, 2),
                "s",
            )
        )
    else:
        note(f"scheduler: first start at {size}: answering after {first:.2f} s")
    note(
        f"scheduler: first start at {size}: every meeting planned after {first_planned:.2f} s "
        "(those with something due within 10 minutes before the bot answers, the rest after)"
    )
    if judge:
        goal = 10 if big else 2
        emit(
            Goal(
                f"scheduler: restart ({size}; goal at {'50,000' if big else '10,000'})",
                goal,
                round(rebuild, 2),
                "s",
            )
        )
        emit(
            Goal(
                f"scheduler: event-loop lag p99 during restart ({size})",
                50,
                round(probe.percentile_ms(0.99), 1),
                "ms",
            )
        )
        emit(
            Goal(
                f"scheduler: event-loop lag p99 while later meetings are planned after start "
                f"({size})",
                50,
                round(background.percentile_ms(0.99), 1),
                "ms",
            )
        )
    else:
        note(
            f"scheduler: restart at {size}: {rebuild:.2f} s, loop lag p99 "
            f"{probe.percentile_ms(0.99):.0f} ms"
        )
    if judge and not big:
        emit(
            Goal(
                f"scheduler: restart into new code until the bot answers ({size}; "
                "the first start's goal)",
                3,
                round(update, 2),
                "s",
            )
        )
    else:
        note(f"scheduler: restart into new code at {size}: answering after {update:.2f} s")
    note(
        f"scheduler: restart into new code at {size}: every meeting planned after "
        f"{update_planned:.2f} s"
    )
    if day:
        late = sorted(sink.lateness)
        print(f"one virtual day: {len(late)} announcements delivered in {ran:.1f} s real time")
        p99 = percentile(late, 0.99) if late else float("inf")
        if late:
            print(
                f"added lateness: p50 {statistics.median(late) * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms, max {late[-1] * 1000:.1f} ms"
            )
        emit(
            Goal(
                f"scheduler: announcement lateness p99 over one virtual day ({size}, "
                f"{len(late):,} sent)",
                1,
                round(p99, 3),
                "s",
            )
        )


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    count = numbers[0] if numbers else 10_000
    asyncio.run(measure(count, max(1, count // 10), "--day" in sys.argv, "--judge" in sys.argv))
