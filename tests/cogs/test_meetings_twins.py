"""The same meeting is never scheduled twice.

`!meeting schedule "Evening circle" "tomorrow 7pm" 1h` typed twice made two meetings, both
announced: everyone was reminded twice and an RSVP could go to either. A schedule or an edit
that would leave two meetings (not cancelled) with the same title (case and spaces folded), the
same announcement channel and the same start is refused with a message naming the meeting
already there and how to hold a second one on purpose (a different title); nothing changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from cogs.meetings.recurrence import place_in_zone
from cogs.meetings.service import fold_title
from tests.harness.app import AppFactory, lift_rate_limit
from tests.harness.meetings import Recorder, circle, cog

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TWIN = "already starts at"
# Titles that fold to two names; times, one of them the same moment written in another zone.
TITLES = ("Evening circle", "evening  CIRCLE", "Evening Circle ", "Morning circle")
TIMES = ("2026-12-10 19:00", "2026-12-10 20:00", "2026-12-10 20:00 Europe/Berlin")


@pytest_asyncio.fixture
async def world(app_factory: AppFactory) -> AsyncIterator[tuple[App, Recorder]]:
    app, fake = await circle(app_factory, clock=VirtualClock(START))
    lift_rate_limit(app)
    yield app, fake


async def twins(app: App) -> Counter[tuple[str, str, datetime]]:
    """How many live meetings share each (folded title, channel, start instant)."""
    views = await cog(app).service.all_in(1)  # the fake platform's one community
    return Counter(
        (
            fold_title(v.title),
            v.channel,
            place_in_zone(v.start_local, ZoneInfo(v.timezone)).astimezone(UTC),
        )
        for v in views
        if not v.cancelled
    )


STEP = st.one_of(
    st.tuples(st.just("schedule"), st.sampled_from(TITLES), st.sampled_from(TIMES)),
    st.tuples(st.just("title"), st.integers(1, 4), st.sampled_from(TITLES)),
    st.tuples(st.just("start"), st.integers(1, 4), st.sampled_from(TIMES)),
)


@PROPERTY
@given(steps=st.lists(STEP, min_size=2, max_size=5))
async def test_schedules_and_edits_never_leave_two_of_the_same_meeting(
    world: tuple[App, Recorder], steps: list[tuple[str, object, str]]
) -> None:
    app, fake = world
    for kind, what, value in steps:
        before = await twins(app)
        if kind == "schedule":
            line = f'!meeting schedule "{what}" {value} 1h'
        else:
            name = "title" if kind == "title" else "start"
            line = f'!meeting edit #{what} {name}:"{value}"'
        said = "\n".join(s.text for s in await fake.say("fac", line))
        after = await twins(app)
        assert max(after.values(), default=0) <= 1, (line, after)
        if TWIN in said:
            assert after == before, line  # refused: nothing changed
            assert "different title" in said


async def test_the_same_meeting_scheduled_twice_is_refused_naming_the_first(
    world: tuple[App, Recorder],
) -> None:
    app, fake = world
    line = '!meeting schedule "Evening circle" "tomorrow 7pm" 1h'
    first = "\n".join(s.text for s in await fake.say("fac", line))
    assert "Scheduled" in first
    again = await fake.say("fac", line.replace("Evening circle", "evening   CIRCLE"))
    told = "\n".join(s.text for s in again)
    assert "#1 **Evening circle** already starts at Tue 01 Dec 2026, 19:00" in told
    assert "different title" in told and "Scheduled" not in told
    assert all(s.where != "channel" for s in again)  # nothing announced
    assert sum((await twins(app)).values()) == 1
