"""The crisis answer's quiet period is one per person across every process on the database,
stored under a keyed hash of the account and deleted when the period ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.crisis.models import CrisisQuiet
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform
from tests.harness.postgres import pg_url
from tests.harness.privacy_scan import id_encodings, scan_database

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
CARING = "carry this alone"


async def process(
    app_factory: AppFactory, clock: VirtualClock, name: str, **kw: object
) -> tuple[App, FakePlatform]:
    config = make_config(
        cogs={"enabled": ["general", "crisis"]}, scheduler={"leader_poll_seconds": 0.2}
    )
    app = await app_factory(config, clock=clock, name=name, **kw)
    fake = FakePlatform(app)
    app.add_transport(fake)
    fake.actor("mod", Tier.MODERATOR)
    return app, fake


async def quiet_rows(app: App) -> list[CrisisQuiet]:
    async with app.db.sessions() as session:
        return list(await session.scalars(select(CrisisQuiet)))


async def full_answer(fake: FakePlatform, text: str = "I want to die") -> bool:
    return any(CARING in s.text for s in await fake.say("ana", text, dm=True))


async def test_two_processes_count_one_quiet_period_and_delete_it_when_it_ends(
    pg_schema: str, app_factory: AppFactory
) -> None:
    clock = VirtualClock(START)
    first, first_fake = await process(
        app_factory, clock, "a", db_url=pg_url(), db_schema=pg_schema
    )
    second, second_fake = await process(
        app_factory, clock, "b", db_url=pg_url(), db_schema=pg_schema
    )
    assert first.leader.leading and not second.leader.leading

    assert await full_answer(second_fake)  # answered by the process that does not lead
    assert not await full_answer(first_fake)  # the other process knows: the short answer
    assert not await full_answer(second_fake)
    rows = await quiet_rows(first)
    assert len(rows) == 1
    assert "ana" not in rows[0].tag and len(rows[0].tag) == 32

    await first.scheduler.advance(timedelta(minutes=61))  # the leader's pass at the hour's end
    assert await quiet_rows(first) == []
    assert await full_answer(first_fake)  # a new period, begun in the other process
    assert not await full_answer(second_fake)


async def test_each_period_is_deleted_when_it_ends_and_names_nobody(
    app_factory: AppFactory,
) -> None:
    app, fake = await process(app_factory, VirtualClock(START), "bot")
    assert await full_answer(fake)  # ana's hour begins
    await app.scheduler.advance(timedelta(minutes=30))
    assert any(CARING in s.text for s in await fake.say("ben", "kill myself", dm=True))
    hits = await scan_database(app.db.engine, id_encodings("fake:ana") | id_encodings("fake:ben"))
    assert [h for h in hits if h.where.startswith("crisis_quiet")] == []
    assert len(await quiet_rows(app)) == 2

    await app.scheduler.advance(timedelta(minutes=31))  # ana's hour is over, ben's is not
    assert len(await quiet_rows(app)) == 1
    assert not any(CARING in s.text for s in await fake.say("ben", "suicidal", dm=True))
    await app.scheduler.advance(timedelta(minutes=30))  # and now ben's
    assert await quiet_rows(app) == []


async def test_erasing_a_person_ends_their_quiet_period(app_factory: AppFactory) -> None:
    app, fake = await process(app_factory, VirtualClock(START), "bot")
    assert await full_answer(fake)
    assert not await full_answer(fake)
    await app.cogs["crisis"].delete_user_data("fake:ana")
    assert await quiet_rows(app) == []
    assert await full_answer(fake)
