"""Meetings at scale: 10,000 weekly meetings across 1,000 communities on a virtual clock.

Prints the time to plan them (first start-up: every announcement due in the next 48 hours is
written to the outbox), the time to rebuild the schedule at a later start-up (all known), and the
lateness each announcement gets from the bot's own processing while the virtual clock runs one
day (p50/p99/max: virtual lateness plus the real time since the clock reached the due time).
Run: .venv/bin/python -m benchmarks.meetings_schedule [MEETINGS] [COMMUNITIES]
"""

from __future__ import annotations

import asyncio
import bisect
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.config import parse
from bot.core.message import Message
from bot.models import OutboxItem
from bot.outbox import Target
from cogs.meetings.models import Meeting, MeetingFacilitator
from cogs.meetings.recurrence import local_key, parse_repeat

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
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


class Sink:
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
    async with app.db.sessions.begin() as session:
        for n in range(meetings):
            day = START + timedelta(days=1 + rng.randrange(7))
            wall = datetime(
                day.year, day.month, day.day, rng.randrange(6, 22), rng.choice([0, 30])
            )
            row = Meeting(
                community_id=ids[n % communities],
                title=f"Meeting {n}",
                kind="standard",
                start_local=local_key(wall),
                timezone=rng.choice(ZONES),
                duration_minutes=90,
                rrule=parse_repeat("weekly", wall),
                location="",
                location_label="#general",
                channel=f"bench:chan{n % communities}",
                cancelled=False,
                revision=1,
                revised_at=START,
                created_by="bench:fac",
                created_at=START,
            )
            session.add(row)
            await session.flush()
            session.add(MeetingFacilitator(meeting_id=row.id, actor_key=f"bench:f{n}"))


async def measure(meetings: int, communities: int) -> None:
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'm.sqlite3'}"
        clock = TimedClock(START)
        sink = Sink(clock)
        app = App(config(), clock=clock, db_url=url)  # type: ignore[arg-type]
        app.add_transport(sink)
        await app.open(migrate=True)
        await seed(app, meetings, communities)

        began = time.perf_counter()
        await app.start()  # first start: plans every announcement due in the next 48 h
        first = time.perf_counter() - began
        pending = len(app.scheduler.planned("meetings."))
        await app.close()

        again = App(config(), clock=clock, db_url=url)  # type: ignore[arg-type]
        again.add_transport(sink)
        await again.open(migrate=True)
        began = time.perf_counter()
        await again.start()  # a restart: the schedule is rebuilt, nothing is written twice
        rebuild = time.perf_counter() - began

        async with again.db.sessions() as session:
            rows = await session.execute(select(OutboxItem.key, OutboxItem.due_at))
            sink.due = {key: due for key, due in rows}
        began = time.perf_counter()
        await again.scheduler.advance(timedelta(days=1))
        ran = time.perf_counter() - began
        await again.close()

    late = sorted(sink.lateness)
    print(f"meetings {meetings}, communities {communities}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"first start (plan {len(sink.due)} outbox items, {pending} plan jobs): {first:.2f} s")
    print(f"restart: rebuild the schedule from the database: {rebuild:.2f} s")
    print(f"one virtual day: {len(late)} announcements delivered in {ran:.1f} s real time")
    if late:
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        print(
            f"added lateness: p50 {statistics.median(late) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {late[-1] * 1000:.1f} ms"
        )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(measure(*(args + [10_000, 1_000][len(args) :])))
