"""A refused member's `!crisis ...` command (a country not known) shows a line to call first,
and what went wrong after it; a moderators' `!crisis ...` command typed by a member or a
facilitator gets the plain refusal and one line saying how to get the lines, not the whole
crisis block (a false "are you OK?" to someone exploring)."""

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
@pytest.mark.parametrize("line", ["!crisis list Atlantis", "!crisis countries xx"])
async def test_a_refused_member_crisis_command_shows_the_help_line_before_the_refusal(
    app_factory: AppFactory, who: str, country: str | None, line: str
) -> None:
    """Someone who asks for lines and gets something wrong is shown a line to call first."""
    fake = await open_app(app_factory, ["general", "crisis"])
    if country:
        await fake.say(who, f"!me country {country}")
    shown = text(await fake.say(who, line))
    assert FALLBACK in shown
    help_at = shown.index("988") if country else shown.index(FALLBACK)
    refusal = shown.find("not a country I know")
    assert refusal == -1 or help_at < refusal, shown


@pytest.mark.parametrize("who", ["ana", "fac"])
@pytest.mark.parametrize(
    "line", ["!crisis watch", "!crisis watch off", "!crisis stale", "!crisis add foo"]
)
async def test_a_staff_crisis_command_refused_for_tier_points_to_the_lines(
    app_factory: AppFactory, who: str, line: str
) -> None:
    """A member or facilitator typing a moderators' crisis command is told only a moderator
    may, and where the lines are; the crisis block itself would read as "are you OK?"."""
    fake = await open_app(app_factory, ["general", "crisis"])
    await fake.say(who, "!me country US")
    said = await fake.say(who, line)
    assert [s.where for s in said] == ["ephemeral"]
    shown = text(said)
    assert shown.startswith("Only a moderator can use"), shown
    assert shown.splitlines()[-1] == "If you need a crisis line, type `!crisis`."
    assert FALLBACK not in shown and "988" not in shown


async def test_distress_words_in_a_refused_staff_command_still_get_the_caring_answer(
    app_factory: AppFactory,
) -> None:
    fake = await open_app(app_factory, ["general", "crisis"])
    shown = text(await fake.say("ana", "!crisis add I want to kill myself"))
    assert shown.startswith("It sounds like things are really hard right now."), shown
    assert "Only a" not in shown
