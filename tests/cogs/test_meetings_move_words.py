"""`!meeting move Circle 2026-12-08 to 2026-12-08 20:00`, the way people say it: the word `to`
before the new time is refused ("`to` is not a date and time I can read"), though the command's
option is called `to` and the bot's own suggested lines keep the word."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings.models import MeetingException
from tests.harness.app import AppFactory
from tests.harness.platform import Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
CIRCLE = '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC'


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


@pytest.mark.parametrize(
    ("line", "day"),
    [
        ("!meeting move Circle 2026-12-08 to 2026-12-08 20:00", "2026-12-08"),
        ("!meeting move Circle 2026-12-08 to 20:00", "2026-12-08"),
        ("!meeting move Circle next to 2026-12-01 20:00", "2026-12-01"),
    ],
)
async def test_the_word_to_before_the_new_time_is_understood(
    app_factory: AppFactory, line: str, day: str
) -> None:
    _app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"fac": Tier.FACILITATOR}
    )
    assert "Scheduled" in text(await fake.say("fac", CIRCLE))
    answer = text(await fake.say("fac", line))
    assert f"Moved **Circle** from {day}T19:00" in answer, answer
    assert f"to {day}T20:00" in answer, answer


async def test_the_word_to_in_a_title_or_note_stays_there(app_factory: AppFactory) -> None:
    """`to` inside a meeting's title typed without quotes, or in the note, is never taken as
    the connecting word: the title still names the meeting and the note keeps its words; a
    quoted `to` where the new time goes is a value (and refused), not a connecting word."""
    app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"fac": Tier.FACILITATOR}
    )
    walk = '!meeting schedule "Walk to town" "2026-12-01 19:00" 60m repeat:weekly zone:UTC'
    assert "Scheduled" in text(await fake.say("fac", walk))
    answer = text(await fake.say("fac", "!meeting move Walk to town next to 20:00 to the hall"))
    assert "Moved **Walk to town** from 2026-12-01T19:00" in answer, answer
    assert "to 2026-12-01T20:00" in answer, answer
    async with app.db.sessions() as session:
        notes = [e.note for e in await session.scalars(select(MeetingException))]
    assert notes == ["to the hall"], notes
    refused = text(await fake.say("fac", '!meeting move Walk to town 2026-12-08 "to" 20:00'))
    assert "Moved" not in refused, refused
