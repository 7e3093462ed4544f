"""Meetings in the community's own calendar, seen through a platform that records its calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.clock import VirtualClock
from bot.core.mirror import MirroredEvent
from bot.core.permissions import Tier
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import CalendarPlatform

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
FIRST = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
SCHEDULE = '!meeting schedule Circle "2026-12-01 19:00" 90m repeat:weekly zone:UTC'


async def circle(app_factory: AppFactory) -> tuple[App, CalendarPlatform]:
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "meetings"]}), clock=VirtualClock(START)
    )
    fake = CalendarPlatform(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    fake.actor("mod", Tier.MODERATOR)
    return app, fake


def only(fake: CalendarPlatform) -> MirroredEvent:
    (event,) = fake.shown.values()
    return event


async def test_the_next_meeting_is_shown_and_follows_every_change(
    app_factory: AppFactory,
) -> None:
    _app, fake = await circle(app_factory)
    await fake.say("fac", SCHEDULE)
    event = only(fake)
    assert (event.key, event.title, event.community_platform) == ("meetings.1", "Circle", "fake")
    assert (event.start, event.end) == (FIRST, FIRST + timedelta(minutes=90))
    assert event.location_label == "#general" and event.external_url is None
    assert "meeting rsvp #1" in event.description

    await fake.say("fac", '!meeting edit Circle title:"Tuesday circle"')
    assert only(fake).title == "Tuesday circle"

    await fake.say("fac", '!meeting move #1 next "2026-12-02 18:00" note:"my knee op"')
    moved = only(fake)
    assert moved.start == datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
    assert "moved from 2026-12-01 19:00" in moved.description
    assert "knee" not in moved.description  # notes stay in announcements, not the calendar

    await fake.say("fac", "!meeting cancel #1 next note:private")
    assert only(fake).start == FIRST + WEEK  # the following occurrence takes its place

    await fake.say("fac", "!meeting delete #1 confirm:yes")
    assert fake.shown == {}
    assert fake.calls[-1] == ("meetings.1", None)


async def test_the_following_occurrence_takes_over_once_one_ends(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    await fake.say("fac", SCHEDULE)
    await app.scheduler.advance(FIRST - START + timedelta(minutes=30))
    assert only(fake).start == FIRST  # still under way: the calendar keeps it
    await app.scheduler.advance(timedelta(hours=1))
    assert only(fake).start == FIRST + WEEK


async def test_a_one_off_meeting_leaves_the_calendar_when_it_is_over(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    await fake.say(
        "fac",
        '!meeting schedule Once "2026-12-01 19:00" 60m zone:UTC location:https://m.example/x',
    )
    event = only(fake)
    assert event.external_url == "https://m.example/x"
    assert "https://m.example/x" in event.description
    await app.scheduler.advance(FIRST - START + timedelta(hours=2))
    assert fake.shown == {}


async def test_a_moderator_switches_the_calendar_off_and_on(app_factory: AppFactory) -> None:
    app, fake = await circle(app_factory)
    await fake.say("fac", SCHEDULE)
    refused = await fake.say("fac", "!meeting events off")
    assert "moderator" in refused[0].text.lower()
    assert len(fake.shown) == 1

    said = await fake.say("mod", "!meeting events off")
    assert "no longer shown" in said[0].text
    assert fake.shown == {}
    await fake.say("fac", '!meeting schedule Second "2026-12-03 19:00" 60m zone:UTC')
    assert fake.shown == {}
    await app.scheduler.advance(FIRST - START + WEEK)  # no job brings it back either
    assert fake.shown == {}

    await fake.say("mod", "!meeting events on")
    assert sorted(e.title for e in fake.shown.values()) == ["Circle"]  # Second is over
    assert only(fake).start == FIRST + WEEK


async def test_a_restart_shows_the_meetings_again_and_a_cancelled_series_goes(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    await fake.say("fac", SCHEDULE)
    await fake.say("fac", '!meeting schedule Other "2026-12-02 19:00" 60m zone:UTC')
    await fake.say("fac", "!meeting cancel Other all")
    assert [e.title for e in fake.shown.values()] == ["Circle"]
    fake.shown.clear()
    await app.cogs["meetings"].start()
    assert [e.title for e in fake.shown.values()] == ["Circle"]
