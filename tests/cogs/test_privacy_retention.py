"""Retention: a community's period erases people who stopped using the bot there, never a
member on a short break and never anyone unwarned.

The model: a moderator sets a period of D days; one member is active on some days and quiet
on the others; the virtual clock runs day by day. Whatever the pattern, an erase comes only
after a warning DM sent at least a week before it and after the member's last activity, and
never before D days of quiet; a member quiet long enough is erased.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core import RETENTION_MIN_DAYS, RETENTION_WARNING_DAYS
from bot.core.permissions import Tier
from bot.models import Member
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BEN = "fake:ben"
WARNING = "everything it keeps about you will be erased"
HORIZON_DAYS = RETENTION_MIN_DAYS + 2 * RETENTION_WARNING_DAYS + 12


def texts(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def in_community(app: App, actor_key: str) -> bool:
    async with app.db.sessions() as session:
        found = await session.scalar(select(Member.id).where(Member.actor_key == actor_key))
    return found is not None


def warnings_to_ben(fake: FakePlatform) -> int:
    return sum(1 for s in fake.said if s.where == "dm" and s.to == BEN and WARNING in s.text)


async def run_days(
    app_factory: AppFactory, days: int, active: set[int]
) -> tuple[list[int], int | None]:
    """Set a period of `days`, let Ben use a command on the `active` days; returns the days
    a warning reached Ben and the day he was erased (None: never within the horizon)."""
    app, fake = await app_factory.on_platform(
        clock=VirtualClock(START), actors={"mod": Tier.MODERATOR}
    )
    await fake.say("ben", "!ping")
    await fake.say("mod", f"!settings set retention_days {days}")
    warned_on: list[int] = []
    for day in range(1, HORIZON_DAYS + 1):
        await app.scheduler.advance(timedelta(days=1))
        await app.outbox.deliver_due()
        if not await in_community(app, BEN):
            return warned_on, day
        if warnings_to_ben(fake) > len(warned_on):
            warned_on.append(day)
        if day in active:
            await fake.say("ben", "!ping")
        await fake.say("mod", "!ping")  # the moderator stays
    return warned_on, None


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    days=st.integers(RETENTION_MIN_DAYS, RETENTION_MIN_DAYS + 5),
    active=st.sets(st.integers(1, RETENTION_MIN_DAYS + RETENTION_WARNING_DAYS), max_size=4),
)
async def test_nobody_is_erased_unwarned_or_before_the_period(
    app_factory: AppFactory, days: int, active: set[int]
) -> None:
    warned_on, erased_on = await run_days(app_factory, days, active)
    last_active = max(active, default=0)
    if erased_on is not None:
        # the period passed: no activity for `days` days before the erase
        assert erased_on - last_active >= days, (warned_on, erased_on)
        # warned after the last activity, a week or more before the erase
        assert any(last_active <= w <= erased_on - RETENTION_WARNING_DAYS for w in warned_on), (
            warned_on,
            erased_on,
        )
    # quiet long enough (the period, the week's notice, a day for each daily pass): erased
    if last_active + days + RETENTION_WARNING_DAYS + 2 <= HORIZON_DAYS:
        assert erased_on is not None, (warned_on, last_active)


async def test_the_warning_says_when_and_how_to_keep_it(app_factory: AppFactory) -> None:
    app, fake = await app_factory.on_platform(
        clock=VirtualClock(START), actors={"mod": Tier.MODERATOR}
    )
    await fake.say("ben", "!ping")
    said = texts(await fake.say("mod", f"!settings set retention_days {RETENTION_MIN_DAYS}"))
    assert f"direct message {RETENTION_WARNING_DAYS} days before" in said
    await app.scheduler.advance(timedelta(days=RETENTION_MIN_DAYS - RETENTION_WARNING_DAYS + 1))
    await app.outbox.deliver_due()
    warning = [s for s in fake.said if s.where == "dm" and s.to == BEN and WARNING in s.text]
    assert len(warning) == 1
    text = warning[0].text
    assert "!ping" in text and "!mydata export" in text
    assert await in_community(app, BEN)  # warned, not erased
    while await in_community(app, BEN):  # erased on the day the warning named, not before
        await app.scheduler.advance(timedelta(hours=6))
    assert f"on {app.clock.now().date().isoformat()}" in text, text


async def test_a_period_too_short_for_a_break_is_refused(app_factory: AppFactory) -> None:
    app, fake = await app_factory.on_platform(
        clock=VirtualClock(START), actors={"mod": Tier.MODERATOR}
    )
    said = texts(await fake.say("mod", "!settings set retention_days 1"))
    assert f"from {RETENTION_MIN_DAYS} to" in said and "taking a break" in said
    assert await app.settings.get(1, "privacy", "retention_days") is None
