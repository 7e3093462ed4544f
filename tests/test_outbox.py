"""Timed delivery: exactly once across a crash, late inside the grace window, skipped after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from bot.core.message import Message, When
from bot.outbox import Target
from tests.conftest import AppFactory, fresh_pg_schema, make_config, pg_url
from tests.fakes import FakePlatform

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHANNEL = Target("fake", "general")


class CrashAfterSend(BaseException):
    """Stands for the process dying between the platform's acceptance and the mark."""


class DiesAfterSending:
    """The platform accepts the message, then the bot process dies before marking it sent."""

    platform = "fake"

    def __init__(self, server: FakePlatform) -> None:
        self.server = server

    async def send(self, target: Target, message: Message, key: str) -> None:
        await self.server.send(target, message, key)
        raise CrashAfterSend


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_crash_between_send_and_mark_still_delivers_exactly_once(
    app_factory: AppFactory, tmp_path: Path, backend: str
) -> None:
    async with fresh_pg_schema() as schema:
        url = pg_url() if backend == "postgres" else f"sqlite+aiosqlite:///{tmp_path / 'o.db'}"
        db_schema = schema if backend == "postgres" else None
        clock = VirtualClock(START)
        app = await app_factory(clock=clock, db_url=url, db_schema=db_schema)
        platform = FakePlatform(app)  # the "server side": it outlives the bot process

        app.add_transport(DiesAfterSending(platform))
        await app.outbox.enqueue(
            "meetings.1.2026-12-01T10:00.start",
            CHANNEL,
            Message.of("Meeting starts now"),
            START + timedelta(hours=1),
        )
        clock.set(START + timedelta(hours=1))
        with pytest.raises(CrashAfterSend):
            await app.outbox.deliver_due()
        assert await app.outbox.status_of("meetings.1.2026-12-01T10:00.start") == "pending"
        await app.close()

        restarted = await app_factory(clock=clock, db_url=url, db_schema=db_schema, name="r")
        restarted.add_transport(platform)
        await restarted.outbox.recover()
        texts = [s.text for s in platform.said]
        assert texts == ["Meeting starts now"]
        assert await restarted.outbox.status_of("meetings.1.2026-12-01T10:00.start") == "sent"
        await restarted.close()


async def test_the_same_key_is_promised_only_once(app_factory: AppFactory) -> None:
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    due = START + timedelta(minutes=5)
    assert await app.outbox.enqueue("k1", CHANNEL, Message.of("one"), due)
    assert not await app.outbox.enqueue("k1", CHANNEL, Message.of("one again"), due)
    await app.scheduler.advance(timedelta(minutes=10))
    assert [s.text for s in platform.said] == ["one"]


async def test_downtime_sends_late_inside_grace_and_skips_what_is_stale(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    clock = VirtualClock(START)
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.db'}"
    app = await app_factory(clock=clock, db_url=url)
    await app.outbox.enqueue("old", CHANNEL, Message.of("hours ago"), START + timedelta(minutes=5))
    await app.outbox.enqueue(
        "recent", CHANNEL, Message.of("just now"), START + timedelta(hours=2, minutes=50)
    )
    await app.outbox.enqueue("future", CHANNEL, Message.of("later"), START + timedelta(hours=4))
    await app.close()  # the bot is down from 09:00 ...

    clock.set(START + timedelta(hours=3))  # ... until 12:00
    restarted = await app_factory(clock=clock, db_url=url, name="again", start=False)
    platform = FakePlatform(restarted)
    restarted.add_transport(platform)
    await restarted.start()
    assert [s.text for s in platform.said] == ["(late) just now"]
    assert await restarted.outbox.status_of("old") == "skipped"
    assert await restarted.outbox.status_of("future") == "pending"
    await restarted.scheduler.advance(timedelta(hours=1))
    assert [s.text for s in platform.said][-1] == "later"


async def test_withdrawn_items_are_never_sent(app_factory: AppFactory) -> None:
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    at = START + timedelta(hours=1)
    await app.outbox.enqueue("meetings.7.a.remind", CHANNEL, Message.of("old time"), at)
    await app.outbox.enqueue("meetings.70.a.remind", CHANNEL, Message.of("other meeting"), at)
    assert await app.outbox.withdraw("meetings.7.") == 1
    await app.scheduler.advance(timedelta(hours=2))
    assert [s.text for s in platform.said] == ["other meeting"]


async def test_messages_with_times_and_files_survive_the_round_trip(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    from bot.core.message import Attachment, Card, Field

    message = Message.of(
        "Next: ",
        When(START + timedelta(days=1)),
        card=Card("Tuesday circle", fields=(Field("Where", "#general"),)),
        attachment=Attachment("meeting.ics", b"BEGIN:VCALENDAR", "text/calendar"),
    )
    await app.outbox.enqueue("k", Target("fake", "ana", is_dm=True), message, START)
    await app.outbox.deliver_due()
    got = platform.said[0]
    assert got.where == "dm"
    assert got.message.text == message.text
    assert got.message.card == message.card
    assert got.message.attachment == message.attachment


async def test_virtual_clock_runs_jobs_in_time_order(app_factory: AppFactory) -> None:
    clock = VirtualClock(START)
    app = await app_factory(make_config(cogs={"enabled": ["general"]}), clock=clock)
    order: list[tuple[str, datetime]] = []

    async def job(name: str) -> None:
        order.append((name, clock.now()))

    app.scheduler.at("t.c", START + timedelta(minutes=30), job, "c")
    app.scheduler.at("t.a", START + timedelta(minutes=10), job, "a")
    app.scheduler.at("t.b", START + timedelta(minutes=20), job, "b")
    app.scheduler.at("t.b", START + timedelta(minutes=25), job, "b")  # replaces, not doubles
    assert app.scheduler.cancel_prefix("t.c") == 1
    ran = await app.scheduler.advance(timedelta(hours=1))
    assert ran == 2
    assert order == [("a", START + timedelta(minutes=10)), ("b", START + timedelta(minutes=25))]
    assert clock.now() == START + timedelta(hours=1)
