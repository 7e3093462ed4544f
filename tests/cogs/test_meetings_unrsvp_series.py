"""A member who RSVP'd to every meeting of a series and takes back one date must not be told
they had no RSVP to it: either that date is taken back or they are told how their RSVP stands."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import VirtualClock
from bot.core.permissions import Tier
from tests.harness.app import AppFactory
from tests.harness.platform import Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
CIRCLE = '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC'


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def test_unrsvp_one_date_of_an_rsvp_to_every_meeting(app_factory: AppFactory) -> None:
    """`!meeting rsvp Circle all reminder:yes`, then `!meeting unrsvp Circle 2026-12-08`
    answered 'You had no RSVP to Circle on Tue 8 Dec', while `!meeting info Circle` says
    'You RSVP'd'."""
    _app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"fac": Tier.FACILITATOR}
    )
    assert "Scheduled" in text(await fake.say("fac", CIRCLE))
    assert "Noted" in text(await fake.say("ben", "!meeting rsvp Circle all reminder:yes"))
    answer = text(await fake.say("ben", "!meeting unrsvp Circle 2026-12-08"))
    assert "You had no RSVP" not in answer, answer
