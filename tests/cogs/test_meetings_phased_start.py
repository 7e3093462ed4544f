"""A large start-up answers members before every meeting is planned, and loses nothing.

With more than `PHASED_REBUILD_MEETINGS` meetings to plan (a first start of a large
deployment), start-up plans the meetings with an item due within `URGENT_WINDOW` and returns;
the others are planned in the background in due order. These tests lower the threshold so a
handful of meetings take that path. tests/cogs/test_meetings_model.py checks deliveries over
any sequence of changes and phased restarts.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings import service as meetings_service
from cogs.meetings.service import MeetingService
from tests.harness.app import AppFactory, make_config
from tests.harness.meetings import PendingRow, Recorder, cog, pending
from tests.harness.meetings_model import forget_plans

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
CONFIG = {"enabled": ["general", "meetings"]}
# Circle's 10-minute post is due 5 minutes after the start: inside the urgent window.
SOON = ("Circle", "2026-11-30 09:15")
LATER = [
    ("Evening", "2026-11-30 19:00"),  # its posts: 18:50 and 19:00 today
    ("Tomorrow", "2026-12-01 08:00"),  # its day-before post 08:00 today, then tomorrow's
    ("Weekly", "2026-12-04 12:00"),  # Friday: nothing due for days
]


async def scheduled(app_factory: AppFactory) -> App:
    """An app with the four meetings scheduled, then closed; returns it (closed)."""
    app = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    fake = Recorder(app)
    app.add_transport(fake)
    await app.start()
    fake.actor("fac", Tier.FACILITATOR)
    for title, when in [SOON, *LATER]:
        said = await fake.say("fac", f'!meeting schedule {title} "{when}" 60m zone:UTC')
        assert "Scheduled" in said[0].text, said[0].text
    await app.close()
    return app


async def first_start(
    app_factory: AppFactory, *, hold: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[App, Recorder]:
    """Start the app again as a first start (nothing planned). With `hold`, the background
    part waits until `settled` is awaited."""
    before = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    await forget_plans(before)
    await before.close()
    app = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    fake = Recorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    fake.actor("ana", Tier.MEMBER)
    if hold:
        with monkeypatch.context() as held:
            held.setattr(MeetingService, "begin_background", lambda _service: None)
            await app.start()
    else:
        await app.start()
    return app, fake


async def planned_at_once(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> dict[str, PendingRow]:
    """What a start-up that plans every meeting before it returns writes (the reference)."""
    with monkeypatch.context() as whole:
        whole.setattr(meetings_service, "PHASED_REBUILD_MEETINGS", 1_000)
        app, _fake = await first_start(app_factory, hold=False, monkeypatch=monkeypatch)
        found = await pending(app)
        await app.close()
    return found


@pytest.fixture
def phased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meetings_service, "PHASED_REBUILD_MEETINGS", 1)


@pytest.mark.usefixtures("phased")
async def test_start_returns_with_what_is_due_soon_and_the_rest_follows_unchanged(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the background begins, Circle's post due in 5 minutes is planned and nothing
    of the others; members are answered; afterwards the outbox holds exactly what planning
    every meeting at once holds, and each post arrives once, on time."""
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    ids = {view.title: view.id for view in await service.all_in(1)}

    early = await pending(app)
    assert {int(key.split(".")[1]) for key in early} == {ids["Circle"]}, sorted(early)
    assert early == {key: row for key, row in reference.items() if key in early}
    answer = await fake.say("ana", "!meeting list")
    assert "Evening" in answer[0].text, answer[0].text

    await app.settled()
    assert await pending(app) == reference
    await app.scheduler.advance(timedelta(hours=11))
    posts = [(at, text.split("\n")[0]) for at, _key, text in fake.at]
    assert [at for at, _text in posts] == [
        START + timedelta(minutes=5),
        START + timedelta(minutes=15),
        START + timedelta(hours=9, minutes=50),
        START + timedelta(hours=10),
    ], posts
    assert len({key for _at, key, _text in fake.at}) == len(fake.at)


@pytest.mark.usefixtures("phased")
async def test_stopping_while_the_background_plans_loses_nothing(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot stops after the background planned one meeting (Evening, the first due); the
    next start plans the others, and the outbox ends as planning every meeting at once
    leaves it."""
    monkeypatch.setattr(meetings_service, "REBUILD_BATCH", 1)
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    ids = {view.title: view.id for view in await service.all_in(1)}
    real = service._rebuild_write
    first_written, never = asyncio.Event(), asyncio.Event()

    async def one_then_stuck(*args: Any) -> None:
        if first_written.is_set():
            await never.wait()  # the process stops before this write: close cancels it
        await real(*args)
        first_written.set()

    monkeypatch.setattr(service, "_rebuild_write", one_then_stuck)
    service.begin_background()
    await first_written.wait()
    await app.close()

    stopped = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    partial = await pending(stopped)
    await stopped.close()
    assert {int(key.split(".")[1]) for key in partial} == {ids["Circle"], ids["Evening"]}
    assert partial == {key: row for key, row in reference.items() if key in partial}
    again = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START))
    await again.settled()
    assert await pending(again) == reference


@pytest.mark.usefixtures("phased")
async def test_background_planning_that_fails_is_tried_again(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The database drops the connection during the background planning, more times than
    there are listed waits: it keeps being tried again and every meeting ends up planned,
    with a warning and then an error in the log."""
    monkeypatch.setattr(meetings_service, "REBUILD_RETRY_SECONDS", (0.0, 0.0, 0.0))
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    outbox = cog(app).service.outbox
    real = outbox.replan_many
    failures = 0

    async def flaky(plans: Any) -> Any:
        nonlocal failures
        if failures < 5:
            failures += 1
            raise OperationalError("INSERT outbox", {}, ConnectionResetError("connection lost"))
        return await real(plans)

    monkeypatch.setattr(outbox, "replan_many", flaky)
    with caplog.at_level(logging.WARNING, logger="circlebot.meetings"):
        await app.settled()
    assert failures == 5
    assert await pending(app) == reference
    assert "trying again" in caplog.text
