"""A member who RSVPs naming the meeting's date and its time (`!meeting rsvp Circle
2026-12-08 19:00`) asked for no reminder: the time must not be read as a reminder 19 hours
before (a DM at midnight the night before)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings.models import MeetingRsvp
from tests.harness.app import AppFactory
from tests.harness.platform import Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
CIRCLE = '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC'


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


@pytest.mark.parametrize(
    "line", ["!meeting rsvp Circle 2026-12-08 19:00", '!meeting rsvp "Circle" 2026-12-08 19:00']
)
async def test_the_meetings_own_time_is_not_a_reminder(app_factory: AppFactory, line: str) -> None:
    """Answered 'Noted: ... I'll DM you 19 hours before.'"""
    app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"fac": Tier.FACILITATOR}
    )
    assert "Scheduled" in text(await fake.say("fac", CIRCLE))
    answer = text(await fake.say("ben", line))
    assert "19 hours" not in answer, answer
    async with app.db.sessions() as session:
        reminders = [r.remind_minutes for r in await session.scalars(select(MeetingRsvp))]
    assert 19 * 60 not in reminders, (answer, reminders)
