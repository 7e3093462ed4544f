"""Moving a meeting to the time it already has is no move: nothing is announced in the
channel and nothing changes. A date and time typed for `when` (`2026-12-08 19:00`) must not
leave the new time behind as a note."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings.models import MeetingException
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
CIRCLE = '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC'


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def exceptions(app: App) -> list[tuple[str, str, str, str]]:
    async with app.db.sessions() as session:
        return sorted(
            (str(e.occurrence), e.status, str(e.new_start), e.note or "")
            for e in await session.scalars(select(MeetingException))
        )


async def circle(factory: AppFactory) -> tuple[App, FakePlatform]:
    app, fake = await factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"fac": Tier.FACILITATOR}
    )
    assert "Scheduled" in text(await fake.say("fac", CIRCLE))
    return app, fake


async def test_a_move_to_the_same_time_is_refused_and_not_announced(
    app_factory: AppFactory,
) -> None:
    """`!meeting move Circle 2026-12-08 "2026-12-08 19:00"` (its own time) said in #general
    'Circle on Tue 8 Dec, 19:00 moves to Tue 8 Dec, 19:00' and stored a move."""
    app, fake = await circle(app_factory)
    said = await fake.say("fac", '!meeting move Circle 2026-12-08 "2026-12-08 19:00"')
    assert not [s for s in said if s.where == "channel"], text(said)
    assert await exceptions(app) == [], text(said)
    assert "Moved" not in text(said), text(said)


@pytest.mark.parametrize(
    "line",
    [
        # read as when=2026-12-08, to=19:00 (its own time), note="2026-12-08 21:00": the channel
        # was told of a move from 19:00 to 19:00 with the note "2026-12-08 21:00"
        "!meeting move Circle 2026-12-08 19:00 2026-12-08 21:00",
        "!meeting move Circle 2026-12-08 19:00 21:00",
    ],
)
async def test_a_date_and_time_typed_for_when_is_not_a_move_to_its_own_time(
    app_factory: AppFactory, line: str
) -> None:
    """The facilitator names the meeting by its date and time, then the new time: either the
    meeting moves to 21:00, or nothing changes and nothing is announced."""
    app, fake = await circle(app_factory)
    said = await fake.say("fac", line)
    stored = await exceptions(app)
    if stored:
        assert "21:00" in stored[0][2], (text(said), stored)
    else:
        assert not [s for s in said if s.where == "channel"], text(said)
