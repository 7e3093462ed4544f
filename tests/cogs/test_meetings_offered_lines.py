"""The lines the bot offers when it asks which of two meetings was meant (`Circle` and
`Circle next`) must each work when sent as offered: a reading whose rest of the line does not
fit the command is no reading to offer."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings.models import Meeting, MeetingException, MeetingRsvp
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
ASKED = "each naming a different meeting, so I have changed nothing"
SHORT = '!meeting schedule Circle "2026-12-03 19:00" 60m repeat:weekly zone:UTC'
LONG = '!meeting schedule "Circle next" "2026-12-03 18:00" 60m repeat:weekly zone:UTC'
OFFERED = re.compile(r"`(!meeting [^`]+)`")
# cat's RSVPs: to every meeting of each series, and to each one's meeting of 2026-12-10 (an
# RSVP to the series is kept apart from one to a date: taking back a date leaves the series)
RSVPS = [f"!meeting rsvp {m} {when}" for m in ("#1", "#2") for when in ("all", "2026-12-10")]


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def state(app: App) -> list[tuple[Any, ...]]:
    """Meetings, their exceptions and RSVPs, comparable."""
    async with app.db.sessions() as session:
        meetings = [
            (m.id, m.title, m.start_local, m.cancelled)
            for m in await session.scalars(select(Meeting))
        ]
        exceptions = [
            (e.meeting_id, e.occurrence, e.status, str(e.new_start))
            for e in await session.scalars(select(MeetingException))
        ]
        rsvps = [
            (r.meeting_id, r.actor_key, r.occurrence, r.remind_minutes)
            for r in await session.scalars(select(MeetingRsvp))
        ]
    return [sorted(meetings), sorted(exceptions), sorted(rsvps, key=str)]


async def two_circles(factory: AppFactory, name: str = "bot") -> tuple[App, FakePlatform]:
    app, fake = await factory.on_platform(
        ["general", "meetings"],
        clock=VirtualClock(START),
        actors={"fac": Tier.FACILITATOR},
        name=name,
    )
    for line in (SHORT, LONG):
        assert "Scheduled" in text(await fake.say("fac", line))
    return app, fake


@pytest.mark.parametrize(
    ("who", "line"),
    [
        # asked, and offered `!meeting rsvp "Circle" next 2026-12-10`, which is refused:
        # "2026-12-10 is not a duration ... I read 2026-12-10 as reminder"
        ("ben", "!meeting rsvp Circle next 2026-12-10"),
        # asked, and offered `!meeting unrsvp "Circle" next 2026-12-10`, which is refused:
        # "next 2026-12-10 is not a date"
        ("cat", "!meeting unrsvp Circle next 2026-12-10"),
        # asked, and offered `!meeting move "Circle next" 2026-12-10 to 2026-12-10 20:00`
        # ("`to` is not a date and time I can read") and `!meeting move "Circle" next
        # 2026-12-10 to 2026-12-10 20:00` ("2026-12-10 needs a time of day too"): neither works
        ("fac", "!meeting move Circle next 2026-12-10 to 2026-12-10 20:00"),
    ],
)
async def test_every_offered_line_does_what_it_offers(
    app_factory: AppFactory, who: str, line: str
) -> None:
    """A member types a line naming `Circle next` and a date; if the bot asks, each line it
    offers, sent as offered, must be taken (change something), not refused."""
    app, fake = await two_circles(app_factory)
    for rsvp in RSVPS:  # cat has RSVPs to take back
        assert "Noted" in text(await fake.say("cat", rsvp))
    before = await state(app)
    answer = text(await fake.say(who, line))
    if ASKED not in answer:
        assert await state(app) != before, answer  # the one reading was taken
        return
    assert await state(app) == before, answer
    offered = OFFERED.findall(answer)
    assert len(offered) == 2, answer
    for n, choice in enumerate(offered):
        app2, fake2 = await two_circles(app_factory, name=f"bot{n}")
        for rsvp in RSVPS:
            await fake2.say("cat", rsvp)
        was = await state(app2)
        reply = text(await fake2.say(who, choice))
        assert await state(app2) != was, (line, choice, reply)
