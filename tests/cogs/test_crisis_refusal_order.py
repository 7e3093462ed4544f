"""A refused `!crisis ...` command (a member or facilitator typing a moderators' one) shows
a line to call first, and what went wrong after it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import VirtualClock
from bot.core.permissions import Tier
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FALLBACK = "[Find A Helpline](https://findahelpline.com/)"


async def open_app(app_factory: AppFactory, cogs: list[str]) -> FakePlatform:
    _app, fake = await app_factory.on_platform(
        cogs,
        clock=VirtualClock(START),
        actors={"fac": Tier.FACILITATOR, "mod": Tier.MODERATOR},
    )
    return fake


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


@pytest.mark.parametrize("who", ["ana", "fac"])
@pytest.mark.parametrize("country", [None, "US"])
@pytest.mark.parametrize(
    "line", ["!crisis watch", "!crisis watch off", "!crisis stale", "!crisis add foo"]
)
async def test_a_refused_crisis_command_shows_the_help_line_before_the_refusal(
    app_factory: AppFactory, who: str, country: str | None, line: str
) -> None:
    """Someone who is not a moderator and types any `!crisis ...` is shown a line to call
    first; today "Only a moderator can use ..." and a blank line come before it."""
    fake = await open_app(app_factory, ["general", "crisis"])
    if country:
        await fake.say(who, f"!me country {country}")
    shown = text(await fake.say(who, line))
    first = shown.splitlines()[0]
    assert "Only a" not in first, shown
    assert FALLBACK in shown
    help_at = shown.index("988") if country else shown.index(FALLBACK)
    refusal = shown.find("Only a")
    assert refusal == -1 or help_at < refusal, shown
