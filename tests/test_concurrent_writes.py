"""Many members writing at once: every write is answered and stored, on SQLite and PostgreSQL.

SQLite has one writer at a time. Its busy handler serves waiting connections in no order, so
with enough members writing at once a write used to wait past the busy timeout and the member
was told "something went wrong". The app queues its own writers instead (bot.db.SQLiteWriteLock);
these tests shorten SQLite's busy timeout to nothing, so any write that still met a busy database
would fail here at once instead of only on a loaded machine.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

import bot.db
from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.models import Profile
from cogs.journal.models import JournalEntry
from cogs.meetings.models import MeetingRsvp
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform
from tests.harness.postgres import fresh_pg_schema, pg_url

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ZONES = ("Europe/Paris", "America/Chicago", "Asia/Tokyo", "Africa/Nairobi")


@dataclass(frozen=True)
class Write:
    """One member's write: the command typed, a word its answer contains, how to find it."""

    member: str
    kind: str
    command: str
    answered: str


def writes_for(member: str, rng: random.Random, count: int) -> list[Write]:
    """`count` writes of random kinds (journal entry, RSVP, own time zone) by `member`."""
    out: list[Write] = []
    for n in range(count):
        kind = rng.choice(("journal", "rsvp", "timezone"))
        if kind == "journal":
            out.append(Write(member, kind, f"!journal write note {n} by {member}", "Saved"))
        elif kind == "rsvp":
            out.append(Write(member, kind, "!meeting rsvp Circle reminder:yes", "Circle"))
        else:
            out.append(Write(member, kind, f"!me timezone {rng.choice(ZONES)}", "/"))
    return out


async def write_all_at_once(app: App, fake: FakePlatform, seed: int, members: int) -> None:
    rng = random.Random(seed)
    await fake.say(
        "fac", '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:"weekly on tue" zone:UTC'
    )
    plans = {f"m{i}": writes_for(f"m{i}", rng, 3) for i in range(members)}
    for name in plans:
        await fake.say(name, "!ping")  # joined before the burst, as members are
    answers: list[tuple[Write, str]] = []

    async def member(writes: list[Write]) -> None:
        for write in writes:
            said = await fake.say(write.member, write.command)
            # every answer (a journal entry typed here is also followed by a private note
            # that its message was removed from the channel)
            answers.append((write, "\n".join(s.text for s in said)))

    await asyncio.gather(*(member(w) for w in plans.values()))

    failed = [(w.command, text) for w, text in answers if "went wrong" in text or not text]
    assert failed == [], failed
    for write, text in answers:
        assert write.answered in text, (write.command, text)
    assert len(answers) == 3 * members

    async with app.db.sessions() as session:
        entries = (await session.scalars(select(JournalEntry.author_key))).all()
        rsvps = set((await session.scalars(select(MeetingRsvp.actor_key))).all())
        zones = {p.actor_key: p.timezone for p in (await session.scalars(select(Profile))).all()}
    for name, writes in plans.items():
        key = fake.actor(name).key
        journal = [w for w in writes if w.kind == "journal"]
        assert entries.count(key) == len(journal), name
        assert (key in rsvps) == any(w.kind == "rsvp" for w in writes), name
        last_zone = [w.command.rsplit(" ", 1)[1] for w in writes if w.kind == "timezone"]
        if last_zone:
            assert zones.get(key) == last_zone[-1], name


def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.db, "BUSY_TIMEOUT_MS", 0)


async def on_platform(app_factory: AppFactory, **options: Any) -> tuple[App, FakePlatform]:
    app, fake = await app_factory.on_platform(
        ["general", "journal", "meetings"],
        settings={"journal": {"writes_per_hour": 1000}},
        actors={"fac": Tier.FACILITATOR},
        clock=VirtualClock(START),
        **options,
    )
    return app, fake


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_concurrent_write_is_answered_and_stored_on_sqlite(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    short_busy_timeout(monkeypatch)
    app, fake = await on_platform(app_factory)
    await write_all_at_once(app, fake, seed, members=30)


async def test_every_concurrent_write_is_answered_and_stored_on_postgresql(
    app_factory: AppFactory,
) -> None:
    async with fresh_pg_schema(migrated=True) as schema:
        app, fake = await on_platform(app_factory, db_url=pg_url(), db_schema=schema)
        await write_all_at_once(app, fake, 4, members=30)
        await app.close()


async def test_a_task_writing_through_two_connections_is_told_at_once(
    app_factory: AppFactory,
) -> None:
    """The queue cannot deadlock a task on itself: its second writer fails at once."""
    app = await app_factory()
    sessions: Callable[[], Any] = app.db.sessions
    async with sessions() as first, sessions() as second:
        first.add(Profile(actor_key="fake:a", timezone="UTC", updated_at=START))
        await first.flush()
        second.add(Profile(actor_key="fake:b", timezone="UTC", updated_at=START))
        with pytest.raises(Exception, match="already holds the write lock"):
            await second.flush()
        await second.rollback()
        await first.commit()
