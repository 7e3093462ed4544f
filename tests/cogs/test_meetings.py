"""Meetings as members and facilitators meet them: scheduling, announcements, RSVPs, calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ics
import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.clock import VirtualClock
from bot.core.errors import UserError
from bot.core.identity import Place
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.models import OutboxItem, OutboxPlanStamp
from bot.outbox import Target
from bot.platform import PlatformDefaults
from cogs.meetings.cog import MeetingsCog
from cogs.meetings.models import Meeting
from cogs.meetings.recurrence import describe, expand, parse_repeat
from cogs.meetings.service import key_prefix
from tests.harness.app import AppFactory, make_config
from tests.harness.meetings import Recorder, after_an_update, cog
from tests.harness.platform import FakePlatform, FakeResponder
from tests.harness.postgres import fresh_pg_schema, pg_url

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
]


async def circle(
    app_factory: AppFactory, *, meetings: dict[str, Any] | None = None, **kw: Any
) -> tuple[App, Recorder]:
    cogs: dict[str, Any] = {"enabled": ["general", "meetings"]}
    if meetings:
        cogs["meetings"] = meetings
    app = await app_factory(
        make_config(cogs=cogs), clock=kw.pop("clock", VirtualClock(START)), **kw
    )
    fake = Recorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    fake.actor("mod", Tier.MODERATOR)
    return app, fake


def expected_start(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """Independent of the cog: the first valid wall time at or after the planned one (fold=0)."""
    wall = datetime(day.year, day.month, day.day, hour, minute)
    while True:
        aware = wall.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            return aware.astimezone(UTC)
        wall += timedelta(minutes=1)


# --- recurrence ---------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    first=st.dates(min_value=date(2026, 12, 1), max_value=date(2028, 6, 30)),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45, 59]),
)
def test_weekly_occurrences_keep_their_local_time_for_two_years(
    zone_name: str, first: date, hour: int, minute: int
) -> None:
    zone = ZoneInfo(zone_name)
    wall = datetime(first.year, first.month, first.day, hour, minute)
    rule = parse_repeat("weekly", wall)
    low = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(days=1)
    got = [s for _n, s in expand(wall, zone, rule, low, low + timedelta(days=731))]
    want = [expected_start(first + timedelta(weeks=k), hour, minute, zone) for k in range(0, 106)]
    want = [w for w in want if low <= w < low + timedelta(days=731)]
    assert got == want


def test_repeat_forms_that_people_use() -> None:
    tue = datetime(2026, 12, 1, 19, 0)

    def dates(text: str, **kw: Any) -> list[str]:
        rule = rrulestr(parse_repeat(text, tue, **kw), dtstart=tue)
        return [d.strftime("%Y-%m-%d") for d in islice(rule, 4)]

    assert dates("monthly on 2nd,4th tue") == [
        "2026-12-08",
        "2026-12-22",
        "2027-01-12",
        "2027-01-26",
    ]
    assert dates("every 2nd and 4th tuesday") == dates("monthly on 2nd,4th tue")
    assert dates("monthly on last fri") == ["2026-12-25", "2027-01-29", "2027-02-26", "2027-03-26"]
    assert dates("every 2 weeks on mon, thu")[:3] == ["2026-12-03", "2026-12-14", "2026-12-17"]
    assert dates("monthly on day 31") == ["2026-12-31", "2027-01-31", "2027-03-31", "2027-05-31"]
    assert dates("weekly", count=2) == ["2026-12-01", "2026-12-08"]
    assert dates("daily", until=date(2026, 12, 2)) == ["2026-12-01", "2026-12-02"]
    assert dates("FREQ=WEEKLY;BYDAY=TU;INTERVAL=3")[:2] == ["2026-12-01", "2026-12-22"]
    assert describe(parse_repeat("every 2 weeks on tue", tue, count=5)) == (
        "every 2 weeks on Tue, 5 times"
    )
    for bad in ("fortnightly-ish", "FREQ=SECONDLY", "monthly on 6th tue"):
        with pytest.raises(UserError):
            parse_repeat(bad, tue)
    with pytest.raises(UserError, match="either"):
        parse_repeat("weekly", tue, until=date(2027, 1, 1), count=3)


# --- announcements on a virtual clock -----------------------------------------------------


async def test_a_weekly_meeting_fires_once_per_week_at_local_time_in_five_zones(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory, meetings={"announce_minutes": [0]})
    # Times chosen to hit the awkward hours: gaps, overlaps, half-hour and 45-minute zones.
    plans = {
        "America/New_York": (date(2027, 3, 7), 2, 30),  # a gap on 2027-03-14
        "Europe/London": (date(2026, 12, 6), 1, 30),  # an overlap each October
        "Australia/Lord_Howe": (date(2026, 12, 6), 2, 15),  # 30-minute shifts, gap in October
        "Asia/Kolkata": (date(2026, 12, 1), 19, 0),  # no DST, +05:30
        "Pacific/Chatham": (date(2026, 12, 6), 2, 45),  # +12:45/+13:45, gap in September
    }
    for zone, (day, hour, minute) in plans.items():
        said = await fake.say(
            "fac",
            f'!meeting schedule "{zone.replace("_", " ")}" "{day} {hour:02d}:{minute:02d}" 60m '
            f"repeat:weekly zone:{zone}",
        )
        assert "Scheduled" in said[0].text, said[0].text
    end = START + timedelta(days=2 * 365)
    await app.scheduler.advance(end - START)
    for zone, (day, hour, minute) in plans.items():
        fired = [
            at
            for at, _k, text in fake.at
            if text.startswith(f"**{zone.replace('_', ' ')}** is starting")
        ]
        want = []
        k = 0
        while (
            start := expected_start(day + timedelta(weeks=k), hour, minute, ZoneInfo(zone))
        ) < end:
            want.append(start)
            k += 1
        assert fired == want, zone
    assert len({k for _a, k, _t in fake.at}) == len(fake.at)


async def test_cancel_one_and_move_another_occurrence(app_factory: AppFactory) -> None:
    app, fake = await circle(app_factory)
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 90m repeat:weekly zone:UTC')
    said = await fake.say("fac", '!meeting cancel Circle 2026-12-08 note:"Holiday break"')
    # one public notice (through the outbox), and a private confirmation to whoever did it
    public = [s for s in said if s.where == "channel"]
    assert len(public) == 1 and "is cancelled" in public[0].text
    assert "Holiday break" in public[0].text
    assert said[-1].where == "ephemeral" and said[-1].text.startswith("Cancelled **Circle**")
    said = await fake.say("fac", '!meeting move Circle 2026-12-15 "2026-12-16 20:00" note:Later')
    assert said[-1].text.startswith("Moved **Circle**")
    await app.scheduler.advance(timedelta(days=23))
    starts = [at for at, _k, text in fake.at if "is starting now" in text]
    assert starts == [
        datetime(2026, 12, 1, 19, tzinfo=UTC),
        datetime(2026, 12, 16, 20, tzinfo=UTC),
        datetime(2026, 12, 22, 19, tzinfo=UTC),
    ]
    moved = [text for _a, _k, text in fake.at if "Moved from" in text]
    assert len(moved) == 3 and all("Note: Later" in t for t in moved)  # 24h, 10m and start


async def test_an_edit_after_planning_never_announces_the_old_time(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m zone:UTC')
    await app.scheduler.advance(timedelta(hours=12))  # the 24h reminder went out
    said = await fake.say("fac", '!meeting edit Circle start:"2026-12-01 20:30"')
    assert "Updated" in said[0].text
    await app.scheduler.advance(timedelta(days=1))
    times = [at for at, _k, _t in fake.at]
    assert datetime(2026, 12, 1, 18, 50, tzinfo=UTC) not in times
    assert datetime(2026, 12, 1, 19, 0, tzinfo=UTC) not in times
    assert times[-2:] == [
        datetime(2026, 12, 1, 20, 20, tzinfo=UTC),
        datetime(2026, 12, 1, 20, 30, tzinfo=UTC),
    ]


async def test_editing_back_to_an_earlier_time_announces_it_again(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory, meetings={"announce_minutes": [0]})
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m zone:UTC')
    await fake.say("fac", '!meeting edit Circle start:"2026-12-01 20:00"')
    await fake.say("fac", '!meeting edit Circle start:"2026-12-01 19:00"')
    await app.scheduler.advance(timedelta(days=2))
    assert [at for at, _k, _t in fake.at] == [datetime(2026, 12, 1, 19, tzinfo=UTC)]


class CrashAfterSend(BaseException):
    """The process dies after the platform accepted the message, before it is marked sent."""


class DiesAfterSending(PlatformDefaults):
    platform = "fake"

    def __init__(self, server: FakePlatform) -> None:
        self.server = server

    async def send(self, target: Target, message: Message, key: str) -> None:
        await self.server.send(target, message, key)
        raise CrashAfterSend


async def test_a_crash_between_send_and_mark_announces_once(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    clock = VirtualClock(START)
    url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    app, fake = await circle(
        app_factory, meetings={"announce_minutes": [0]}, clock=clock, db_url=url
    )
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC')
    app.add_transport(DiesAfterSending(fake))
    with pytest.raises(CrashAfterSend):
        await app.scheduler.advance(timedelta(days=2))
    await app.close()
    again = await app_factory(
        make_config(
            cogs={"enabled": ["general", "meetings"], "meetings": {"announce_minutes": [0]}}
        ),
        clock=clock,
        db_url=url,
        start=False,
    )
    fake.app = again
    again.add_transport(fake)
    await again.start()
    await again.scheduler.advance(timedelta(days=7))
    starts = [(at, t) for at, _k, t in fake.at if "starting now" in t]
    assert [at for at, _t in starts] == [
        datetime(2026, 12, 1, 19, tzinfo=UTC),
        datetime(2026, 12, 8, 19, tzinfo=UTC),
    ]


async def down_until(
    app_factory: AppFactory, tmp_path: Path, until: datetime
) -> tuple[App, Recorder]:
    """A weekly meeting on Tuesdays at 19:00 scheduled on Monday 09:00, the bot down from then
    until `until` (aware UTC), then started again: the restarted app and what it said."""
    clock = VirtualClock(START)
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.db'}"
    app, fake = await circle(app_factory, clock=clock, db_url=url)
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC')
    await app.close()
    clock.set(until)
    again = await app_factory(
        make_config(cogs={"enabled": ["general", "meetings"]}),
        clock=clock,
        db_url=url,
        start=False,
    )
    late = Recorder(again)
    again.add_transport(late)
    await again.start()
    return again, late


async def test_downtime_longer_than_the_grace_window_skips_and_sends_late(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    # down from Monday 09:00 to Tuesday 19:04
    again, late = await down_until(app_factory, tmp_path, datetime(2026, 12, 1, 19, 4, tzinfo=UTC))
    texts = [s.text for s in late.said]
    # the 10-minute reminder came due inside the grace window, but the meeting has begun:
    # only the start notice may still go out late
    assert len(texts) == 1
    assert texts[0].startswith("(late) **Circle** is starting now")
    prefix = key_prefix((await cog(again).service.all_in(1))[0])
    for kind, due in (("remind24h", "20261130T190000"), ("remind10m", "20261201T185000")):
        key = f"{prefix}2026-12-01T19:00.{kind}.{due}"
        assert await again.outbox.status_of(key) == "skipped"
    await again.scheduler.advance(timedelta(days=7))
    assert not any("(late)" in s.text for s in late.said[1:])
    assert [at for at, _k, t in late.at if "starting now" in t][-1] == datetime(
        2026, 12, 8, 19, tzinfo=UTC
    )


async def test_downtime_past_items_never_planned_are_skipped_without_their_words(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    """Down for a week: the next occurrence's posts were never planned. Planned after its start,
    they are recorded as skipped (as a delivery pass skips them) with no text and no place kept,
    nothing is sent late, and the occurrence after it is planned as usual."""
    # down from Monday 09:00 to the next Tuesday, 19:30
    again, late = await down_until(
        app_factory, tmp_path, datetime(2026, 12, 8, 19, 30, tzinfo=UTC)
    )
    assert late.said == []
    prefix = key_prefix((await cog(again).service.all_in(1))[0])
    missed = [
        f"{prefix}2026-12-08T19:00.{kind}.{due}"
        for kind, due in (
            ("remind24h", "20261207T190000"),
            ("remind10m", "20261208T185000"),
            ("start", "20261208T190000"),
        )
    ]
    async with again.db.sessions() as session:
        rows = {
            row.key: row
            for row in await session.scalars(select(OutboxItem).where(OutboxItem.key.in_(missed)))
        }
    assert set(rows) == set(missed)
    for row in rows.values():
        assert (row.status, row.payload, row.target) == ("skipped", None, "")
        assert row.note  # why it was never sent, as `circlebot status` shows
    await again.scheduler.advance(timedelta(days=7))
    assert [at for at, _k, t in late.at if "starting now" in t] == [
        datetime(2026, 12, 15, 19, tzinfo=UTC)
    ]
    assert not any("(late)" in s.text for s in late.said)


@pytest.mark.parametrize("replanned", [False, True])
@pytest.mark.parametrize(
    "back", ["18:44", "18:46", "18:55", "19:00", "19:01", "19:10", "19:15", "19:16", "19:40"]
)
async def test_back_near_the_meeting_sends_each_post_still_useful_once(
    app_factory: AppFactory, tmp_path: Path, back: str, replanned: bool
) -> None:
    """Down from 18:30 before a 19:00 meeting with a member's 15-minute reminder: back at each
    minute around the grace window and the start, every post that can still go out goes once
    (the reminders until 19:00, the start notice until 19:15), the member's reminder DM that
    could not is followed by one late note (the meeting runs until 20:00), nothing else, and
    what was left out is on record as skipped. `replanned`: the stored plans are not trusted
    (new code), so the start-up plans again over rows now pending and missed, leaving them to
    be skipped."""
    clock = VirtualClock(START)
    url = f"sqlite+aiosqlite:///{tmp_path / 'near.db'}"
    config = make_config(cogs={"enabled": ["general", "meetings"]})
    app, fake = await circle(app_factory, clock=clock, db_url=url)
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC')
    await fake.say("ben", "!meeting rsvp Circle all reminder:yes")
    await app.scheduler.advance(datetime(2026, 12, 8, 18, 30, tzinfo=UTC) - clock.now())
    if replanned:
        async with app.db.sessions.begin() as session:
            await session.execute(delete(OutboxPlanStamp))
    await app.close()
    hour, minute = map(int, back.split(":"))
    clock.set(datetime(2026, 12, 8, hour, minute, tzinfo=UTC))
    again = await app_factory(config, clock=clock, db_url=url, start=False)
    late = Recorder(again)
    again.add_transport(late)
    await again.start()
    await again.scheduler.advance(datetime(2026, 12, 8, 20, tzinfo=UTC) - clock.now())
    sent = [key for _at, key, _text in late.at]
    assert len(sent) == len(set(sent))
    expected = []
    if (hour, minute) <= (19, 0):
        expected += ["dm", "remind10m"]
    else:
        expected += ["late"]
    if (hour, minute) <= (19, 15):
        expected += ["start"]
    assert sorted(key.split(".")[-2].rstrip("0123456789") for key in sent) == sorted(expected)
    assert all(text.strip() for _at, _key, text in late.at)
    async with again.db.sessions() as session:
        statuses = {
            row.key: row.status
            for row in await session.scalars(
                select(OutboxItem).where(OutboxItem.key.contains(".2026-12-08T19:00."))
            )
        }
    assert len(statuses) == 4 + ((hour, minute) > (19, 0))  # and the late note
    before = {key for _at, key, _text in fake.at}  # the day-before reminder, sent at 19:00
    assert {key: status for key, status in statuses.items() if status != "skipped"} == {
        key: "sent" for key in statuses if key in {*sent, *before}
    }


@pytest.mark.parametrize("failing", [0, 1, 4])
async def test_a_planning_sweep_that_fails_once_loses_no_later_announcement(
    app_factory: AppFactory, failing: int
) -> None:
    """The database refuses the sweep's `failing`-th write of a plan once (a dropped
    connection): that meeting is planned again a minute later, the others go on, and every
    daily start in the next ten days is announced on time."""
    app, fake = await circle(app_factory, meetings={"announce_minutes": [0]})
    for n, hour in enumerate((18, 19, 20)):
        said = await fake.say(
            "fac",
            f'!meeting schedule "Circle {n}" "2026-12-01 {hour}:00" 60m repeat:daily zone:UTC',
        )
        assert "Scheduled" in said[0].text, said[0].text
    outbox = app.outbox
    real = outbox.replan_many
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == failing + 1:
            raise OperationalError("UPDATE outbox", {}, ConnectionResetError("connection lost"))
        return await real(*args, **kwargs)

    outbox.replan_many = flaky  # type: ignore[method-assign]
    await app.scheduler.advance(timedelta(days=10))
    assert calls > failing + 1, "the sweep never wrote a plan; nothing was tested"
    for n, hour in enumerate((18, 19, 20)):
        starts = [at for at, _k, t in fake.at if t.startswith(f"**Circle {n}** is starting")]
        days = [START.replace(hour=hour, minute=0) + timedelta(days=d) for d in range(1, 11)]
        assert starts == [d for d in days if d <= START + timedelta(days=10)], n


# --- RSVPs --------------------------------------------------------------------------------


async def test_rsvps_are_private_and_reminders_follow_the_members_choice(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC')
    said = await fake.say("ben", "!meeting rsvp Circle reminder:30m")
    assert said[0].where == "ephemeral" and "30 min" in said[0].text
    again = await fake.say("ben", "!meeting rsvp Circle")  # saying it again keeps the reminder
    assert "30 min" in again[0].text, again[0].text
    await fake.say("cleo", "!meeting rsvp Circle all reminder:yes")
    await fake.say("cleo", "!meeting reminders off")
    other = (await fake.say("ana", "!meeting info Circle"))[0]
    assert other.where == "ephemeral"
    assert "Planning to come next time: 2" in other.text
    assert "You RSVP'd" not in other.text and "ben" not in other.text and "cleo" not in other.text
    own = (await fake.say("ben", "!meeting info Circle"))[0]
    assert "You RSVP'd (only you see this); a reminder 30 minutes before." in own.text
    await app.scheduler.advance(timedelta(days=2))
    dms = [
        (s.to, at)
        for (at, _k, _t), s in zip(fake.at, fake.said[-len(fake.at) :], strict=True)
        if s.where == "dm"
    ]
    assert dms == [("fake:ben", datetime(2026, 12, 1, 18, 30, tzinfo=UTC))]
    await fake.say("ben", "!meeting unrsvp Circle")
    later = (await fake.say("ana", "!meeting info Circle"))[0]
    assert "Planning to come next time: 1" in later.text


# --- calendar -----------------------------------------------------------------------------


async def test_ics_round_trip_with_icalendar_and_ics(app_factory: AppFactory) -> None:
    app, fake = await circle(app_factory)
    await fake.say(
        "fac",
        '!meeting schedule "Sunday circle" "2027-03-07 02:30" 60m repeat:"weekly on sun" '
        "count:6 zone:America/New_York location:https://meet.example.org/room",
    )
    await fake.say("fac", "!meeting cancel #1 2027-03-21")
    await fake.say("fac", '!meeting move #1 2027-03-28 "2027-03-28 10:00"')
    said = await fake.say("ana", "!meeting ical")
    attachment = said[0].message.attachment
    assert attachment is not None and attachment.mime == "text/calendar"
    text = attachment.data.decode()

    parsed = Calendar.from_ical(attachment.data)
    zone = ZoneInfo("America/New_York")
    assert any(c.name == "VTIMEZONE" for c in parsed.walk())
    events = [c for c in parsed.walk() if c.name == "VEVENT"]
    master = next(e for e in events if "RRULE" in e)
    overrides = {
        e.decoded("recurrence-id").replace(tzinfo=None): e.decoded("dtstart")
        for e in events
        if "RECURRENCE-ID" in e
    }
    excluded = {d.dt.replace(tzinfo=None) for d in master["exdate"].dts}
    dtstart = master.decoded("dtstart")
    rule = rrulestr(master["rrule"].to_ical().decode(), dtstart=dtstart.replace(tzinfo=None))
    from_file = []
    for wall in rule:
        if wall in excluded:
            continue
        from_file.append(overrides.get(wall, wall.replace(tzinfo=zone)).astimezone(UTC))
    view = (await cog(app).service.all_in(1))[0]
    from_bot = [o.start for o in view.occurrences(START, START + timedelta(days=365))]
    assert sorted(from_file) == from_bot
    assert datetime(2027, 3, 14, 7, 0, tzinfo=UTC) in from_bot  # 02:30 in the gap -> 03:00 EDT

    second = ics.Calendar(text)
    begins = sorted(e.begin.datetime.astimezone(UTC) for e in second.events)
    assert len(second.events) == 3  # the series, the moved one, the one in the gap
    assert datetime(2027, 3, 28, 14, 0, tzinfo=UTC) in begins
    assert datetime(2027, 3, 14, 7, 0, tzinfo=UTC) in begins
    assert all(e.name == "Sunday circle" for e in second.events)
    assert "RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=SU" in text


# --- bad input ----------------------------------------------------------------------------


async def test_a_title_several_meetings_share_lists_them_to_choose_from(
    app_factory: AppFactory,
) -> None:
    _app, fake = await circle(app_factory)
    for title, start in (("Circle", "2026-12-01 19:00"), ("Circle", "2026-12-02 18:00")):
        said = await fake.say("fac", f'!meeting schedule {title} "{start}" 60m zone:UTC')
        assert "Scheduled" in said[0].text, said[0].text
    await fake.say("fac", '!meeting schedule "Circle of friends" "2026-12-03 17:30" 60m zone:UTC')
    said = await fake.say("ana", "!meeting rsvp Circle")
    text = said[0].text
    assert "Several meetings match" in text, text
    assert "#1 **Circle** (Tue 1 Dec, 19:00 UTC)" in text
    assert "#2 **Circle** (Wed 2 Dec, 18:00 UTC)" in text
    assert "friends" not in text  # an exact title outranks a longer one it begins
    said = await fake.say("ana", "!meeting rsvp Circ")
    assert all(f"#{n} " in said[0].text for n in (1, 2, 3)), said[0].text
    said = await fake.say("ana", "!meeting rsvp #2")
    assert "Several" not in said[0].text, said[0].text
    await fake.say("ben", "!me timezone America/New_York")  # each reader sees their own clock
    said = await fake.say("ben", "!meeting info Circle")
    assert "#2 **Circle** (Wed 2 Dec, 13:00 EST)" in said[0].text, said[0].text


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('Past "2026-11-29 19:00" 60m', "already passed"),
        ('Feb "2027-02-31 19:00" 60m', "not on the calendar: that month has 28 days"),
        ('Zone "2026-12-10 19:00" 60m zone:Mars/Base', "not a time zone I know"),
        ('Zero "2026-12-10 19:00" 0m', "longer than zero"),
        ('Negative "2026-12-10 19:00" -30m', "is not a duration"),
        ('Long "2026-12-10 19:00" 30h', "at most 12 hours"),
        ('Never "2026-12-10 19:00" 60m repeat:weekly until:2026-12-01', "never produces"),
        ('Feb30 "2026-12-10 19:00" 60m repeat:"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"', "never"),
        ('Gap "2027-03-14 02:30" 60m zone:America/New_York', "does not exist"),
        ('Where "2026-12-10 19:00" 60m channel:#elsewhere', "could not find the channel"),
        ('Other "2026-12-10 19:00" 60m location:#other', "not a channel of this community"),
        ('Plain "2026-12-10 19:00" 60m location:http://x.org', "https link"),
        ('"' + "x" * 101 + '" "2026-12-10 19:00" 60m', "too long"),
        ('Typo "dec 32 7pm" 60m', "could not read `32` as a day of the month"),
        ('Typo "dec 99 7pm" 60m', "could not read `99` as a day of the month"),
        ('Typo "13/13 7pm" 60m', "`13/13` is not a day and month"),
    ],
)
async def test_bad_input_gets_one_clear_message_and_saves_nothing(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, line: str, message: str
) -> None:
    async def resolve(self: FakeResponder, text: str) -> Place | None:
        name = text.strip().lstrip("#")
        if name == "other":
            return Place("fake", "other", "c2", False, "#other")
        return Place("fake", "general", "c1", False, "#general") if name == "general" else None

    monkeypatch.setattr(FakeResponder, "resolve_place", resolve)
    app, fake = await circle(app_factory)
    said = await fake.say("fac", f"!meeting schedule {line}")
    assert len(said) == 1 and said[0].where == "ephemeral"
    assert message in said[0].text
    assert await cog(app).service.all_in(1) == []
    assert await app.outbox.status_of("meetings.1.") is None


async def test_only_moderators_and_the_meetings_facilitators_change_it(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    fake.actor("other", Tier.FACILITATOR)
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m zone:UTC')
    said = await fake.say("other", "!meeting cancel Circle next")
    assert "Only a moderator or one of this meeting's facilitators" in said[0].text
    said = await fake.say("ana", "!meeting cancel Circle next")
    assert "Only a moderator or one of this meeting's facilitators" in said[0].text
    said = await fake.say("mod", "!meeting delete Circle confirm:yes")
    assert "Deleted" in said[0].text
    await app.scheduler.advance(timedelta(days=2))
    assert fake.at == []


async def test_other_cogs_ask_for_the_next_meeting_and_names_complete(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    await fake.say(
        "fac", '!meeting schedule "Tuesday circle" "2026-12-01 19:00" 60m zone:UTC repeat:weekly'
    )
    await fake.say(
        "fac",
        '!meeting schedule "Family & Friends" "2026-12-03 18:00" 60m zone:UTC kind:family_friends',
    )
    meetings = app.services.cogs["meetings"]
    assert isinstance(meetings, MeetingsCog)
    assert await meetings.next_meeting(1) == (
        "Tuesday circle",
        datetime(2026, 12, 1, 19, tzinfo=UTC),
    )
    assert await meetings.next_meeting(1, "family") == (
        "Family & Friends",
        datetime(2026, 12, 3, 18, tzinfo=UTC),
    )
    assert await meetings.next_meeting(1, "nothing") is None
    assert await meetings.is_facilitator(1, "Tuesday circle", "fake:fac")
    assert await meetings.is_facilitator(1, "#2", "fake:fac")
    assert not await meetings.is_facilitator(1, "Tuesday circle", "fake:ana")
    assert not await meetings.is_facilitator(1, "nothing", "fake:fac")
    assert not await meetings.is_facilitator(2, "Tuesday circle", "fake:fac")  # other community
    spec = app.registry.get(("meeting", "info"))
    assert spec is not None
    choices = await app.dispatcher.autocomplete(fake.incoming("ana"), spec, "meeting", "fam")
    assert [c.value for c in choices] == ["#2"]
    listing = (await fake.say("ana", "!meeting list"))[0].text
    assert listing.index("Tuesday circle") < listing.index("Family")


async def test_erasing_a_member_removes_their_rsvps_and_facilitator_role(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    await fake.say("fac", "!me name River")
    await fake.say(
        "fac",
        '!meeting schedule Circle "2026-12-01 19:00" 60m zone:UTC repeat:weekly facilitator:mod',
    )
    await fake.say("mod", "!meeting edit Circle add_facilitator:fac")
    await fake.say("fac", "!meeting rsvp Circle reminder:yes")
    await cog(app).delete_user_data("fake:fac")
    view = (await cog(app).service.all_in(1))[0]
    assert view.facilitators == ("fake:mod",)
    assert view.created_by == "a former member"
    assert await cog(app).service.rsvps_of(view.id, "fake:fac") == []
    await app.scheduler.advance(timedelta(days=2))
    assert not any("River" in t for _a, _k, t in fake.at)
    assert not any(k.split(".")[-2].startswith("dm") for _a, k, _t in fake.at)


# --- PostgreSQL ---------------------------------------------------------------------------


async def test_meetings_are_stored_the_same_on_postgresql(app_factory: AppFactory) -> None:
    async with fresh_pg_schema(migrated=True) as schema:
        app, fake = await circle(app_factory, db_url=pg_url(), db_schema=schema)
        await fake.say(
            "fac",
            '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:"weekly on tue" '
            "zone:Europe/Berlin",
        )
        await fake.say("ben", "!meeting rsvp Circle reminder:yes")
        await fake.say("fac", "!meeting cancel Circle 2026-12-08 note:Break")
        view = (await cog(app).service.all_in(1))[0]
        assert view.changes[0].note == "Break"
        await app.scheduler.advance(timedelta(days=9))
        starts = [at for at, _k, t in fake.at if "starting now" in t]
        assert starts == [datetime(2026, 12, 1, 18, tzinfo=UTC)]
        assert any(s.where == "dm" and s.to == "fake:ben" for s in fake.said)
        await app.close()


@pytest.mark.parametrize(
    ("lag_minutes", "ahead_hours"),
    [(1, 10), (90, 10), (25 * 60, 10), (47 * 60, 34), (30, 34), (30, 20)],
)
async def test_a_planner_whose_clock_lags_never_withdraws_what_the_leader_planned(
    app_factory: AppFactory, lag_minutes: int, ahead_hours: int
) -> None:
    """A second process whose clock is behind (a follower starting up) replans every meeting;
    each announcement the leader already wrote is still shown once, at its time."""
    app, fake = await circle(app_factory)
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:daily zone:UTC')
    await app.scheduler.advance(timedelta(hours=ahead_hours))
    lagging = await app_factory(
        app.config,
        clock=VirtualClock(app.clock.now() - timedelta(minutes=lag_minutes)),
        db_url=app.db.url,
        start=False,
    )
    await cog(lagging).start()  # what a process does on start-up, with its own clock
    end = START + timedelta(days=4)
    await app.scheduler.advance(end - app.clock.now())
    starts = [datetime(2026, 12, d, 19, tzinfo=UTC) for d in range(1, 5)]
    expected = sorted(
        s - timedelta(minutes=m)
        for s in starts
        for m in (1440, 10, 0)
        if s - timedelta(minutes=m) <= end
    )
    assert sorted(at for at, _k, _t in fake.at) == expected


async def start_behind_while_the_leader_plans(
    app_factory: AppFactory, app: App, lag_minutes: int
) -> None:
    """A second process starts up with its clock `lag_minutes` behind `app`'s and replans every
    meeting; between its read of what is planned and its write, `app` (the leader) moves on
    two minutes, its sweep planning what comes due meanwhile."""
    lagging = await app_factory(
        app.config,
        clock=VirtualClock(app.clock.now() - timedelta(minutes=lag_minutes)),
        db_url=app.db.url,
        start=False,
    )
    real = lagging.outbox.latest_pending_many

    async def read_then_leader_plans(*args: Any, **kwargs: Any) -> Any:
        found = await real(*args, **kwargs)
        await app.scheduler.advance(timedelta(minutes=2))  # the leader's sweep runs meanwhile
        return found

    lagging.outbox.latest_pending_many = read_then_leader_plans  # type: ignore[method-assign]
    await cog(lagging).start()  # what a process does on start-up, with its own clock


@pytest.mark.parametrize("lag_minutes", [1, 30, 6 * 60, 23 * 60])
async def test_a_planner_that_read_before_the_leader_wrote_never_withdraws_it(
    app_factory: AppFactory, lag_minutes: int
) -> None:
    """Two planners of one weekly meeting interleave: a process starting up (its clock
    `lag_minutes` behind) reads what is planned, the leader's sweep then plans next week's
    meeting, and only then does the starting process write its plan. The day-before reminder
    (and, for a short lag, the 10-minute one) the leader wrote fall inside the starting
    process's window although their meeting starts after it: each must still be shown once,
    at its time."""
    app, fake = await circle(app_factory)
    said = await fake.say(
        "fac", '!meeting schedule Circle "2026-12-02 19:00" 60m repeat:weekly zone:UTC'
    )
    assert "Scheduled" in said[0].text, said[0].text
    # Just before the sweep that plans 9 December (48 h ahead, at 7 December 19:00).
    await app.scheduler.advance(datetime(2026, 12, 7, 18, 59, tzinfo=UTC) - app.clock.now())
    await start_behind_while_the_leader_plans(app_factory, app, lag_minutes)
    end = START + timedelta(days=10)
    await app.scheduler.advance(end - app.clock.now())
    starts = [datetime(2026, 12, d, 19, tzinfo=UTC) for d in (2, 9)]
    expected = sorted(s - timedelta(minutes=m) for s in starts for m in (1440, 10, 0))
    assert sorted(at for at, _k, _t in fake.at) == expected


async def test_every_other_monday_from_a_tuesday_says_when_it_first_meets(
    app_factory: AppFactory,
) -> None:
    _app, fake = await circle(app_factory)
    said = await fake.say(
        "fac",
        '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:"every other monday" zone:UTC',
    )
    text = said[0].text
    assert "first meeting is Mon 14 Dec" in text and "To begin on Mon 7 Dec" in text, text
    # the repeat given again: a start moved alone takes the series to its own weekday
    edited = await fake.say(
        "fac", '!meeting edit #1 start:"2026-12-16 19:00" repeat:"every other monday"'
    )
    assert "first meeting is Mon 28 Dec" in edited[0].text, edited[0].text
    assert "To begin on Mon 21 Dec" in edited[0].text


@pytest.mark.parametrize(
    ("start", "said"),
    [
        ("2027-02-30 7pm", "that month has 28 days"),
        ("2027-02-31", "that month has 28 days"),
        ("2026-13-01 7pm", "13"),
        ("2026-12-05 7pm", "Scheduled **Circle** (#1)"),
        ("2026-12-05", "needs a time of day"),
        ("feb 30", "not a date and time I can read"),
        ("-1/12 7pm", "without + or -"),
        ("tomorrow 19.30", "T19:30:00+00:00"),
    ],
)
async def test_a_start_in_digits_with_a_time_in_words_is_read_or_its_date_named(
    app_factory: AppFactory, start: str, said: str
) -> None:
    """ "2027-02-30 7pm" names the missing day (it said a time of day was missing, and took
    "7pm" for a zone); "2026-12-05 7pm" is 5 December at 19:00."""
    _app, fake = await circle(app_factory)
    out = await fake.say("fac", f'!meeting schedule Circle "{start}" 60m zone:UTC')
    assert said in out[0].text, out[0].text
    if said.startswith("Scheduled"):
        assert out[0].text.count("2026-12-05T19:00:00+00:00") == 1, out[0].text


async def test_announcing_the_same_times_twice_posts_the_setting_once(
    app_factory: AppFactory,
) -> None:
    _app, fake = await circle(app_factory)
    first = await fake.say("mod", "!meeting announce 1h,0")
    again = await fake.say("mod", "!meeting announce 0 60m")
    changed = await fake.say("mod", "!meeting announce 10m")
    line = "Meetings here are announced 1 hour before and when they start."
    assert [(s.where, s.text) for s in first] == [("channel", line)]
    assert [s.where for s in again] == ["ephemeral"]
    assert line in again[0].text and "nothing changed" in again[0].text
    assert [(s.where, s.text) for s in changed] == [
        ("channel", "Meetings here are announced 10 minutes before.")
    ]


@pytest.mark.parametrize(
    ("country", "read"),
    [("", "Mon 01 Feb 2027, 19:00"), ("DE", "Mon 01 Feb 2027, 19:00"), ("US", "Sat 02 Jan 2027")],
)
async def test_day_and_month_in_digits_follow_the_members_country(
    app_factory: AppFactory, country: str, read: str
) -> None:
    """`01/02 7pm` is 1 February for a member in Berlin and 2 January for one whose country is
    the United States; the member is told privately how it was read. `19h30` is 19:30."""
    _app, fake = await circle(app_factory)
    await fake.say("fac", "!me timezone Europe/Berlin")
    if country:
        await fake.say("fac", f"!me country {country}")
    out = await fake.say("fac", '!meeting schedule Circle "01/02 7pm" 60m')
    assert any(f"I read `01/02 7pm` as {read}" in m.text for m in out), [m.text for m in out]
    out = await fake.say("fac", '!meeting schedule Late "tuesday 19h30" 60m')
    assert any("as Tue 01 Dec 2026, 19:30" in m.text for m in out), [m.text for m in out]


@pytest.mark.parametrize("lag_minutes", [1, 6 * 60, 23 * 60])
@pytest.mark.parametrize("moved", [False, True])
async def test_a_lagging_planner_keeps_rsvp_reminders_of_a_moved_meeting(
    app_factory: AppFactory, lag_minutes: int, moved: bool
) -> None:
    """As above, with the lead coming from an RSVP's day-before reminder (the community
    announces only 10 minutes ahead) and next week's meeting possibly moved a day later: the
    planner that read before the leader wrote withdraws nothing and adds nothing wrong."""
    app, fake = await circle(app_factory)
    fake.actor("ben", Tier.MEMBER)
    said = await fake.say(
        "fac", '!meeting schedule Circle "2026-12-02 19:00" 60m repeat:weekly zone:UTC'
    )
    assert "Scheduled" in said[0].text, said[0].text
    assert "10" in (await fake.say("mod", "!meeting announce 10m"))[0].text
    said = await fake.say("ben", "!meeting rsvp Circle all reminder:1d")
    second = datetime(2026, 12, 9, 19, tzinfo=UTC)
    if moved:
        said = await fake.say("fac", '!meeting move Circle 2026-12-09 "2026-12-10 19:00"')
        second = datetime(2026, 12, 10, 19, tzinfo=UTC)
    sweep = second - timedelta(hours=48)
    await app.scheduler.advance(sweep - timedelta(minutes=1) - app.clock.now())
    fake.at.clear()
    await start_behind_while_the_leader_plans(app_factory, app, lag_minutes)
    await app.scheduler.advance(START + timedelta(days=17) - app.clock.now())
    got = sorted((at, t.split("\n")[0][:40]) for at, _k, t in fake.at)
    third = datetime(2026, 12, 16, 19, tzinfo=UTC)
    expected = sorted(s - timedelta(minutes=m) for s in (second, third) for m in (1440, 10))
    assert [at for at, _t in got] == expected, got


async def test_info_of_a_one_off_meeting_that_is_over_says_when_it_took_place(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    await fake.say("fac", '!meeting schedule "One off" "2026-11-30 10:00" 60m zone:UTC')
    await app.scheduler.advance(timedelta(hours=1, minutes=10))
    during = (await fake.say("ana", "!meeting info One off"))[0].text
    assert "Happening now: it began 2026-11-30T10:00:00+00:00." in during, during
    await app.scheduler.advance(timedelta(days=3))
    after = (await fake.say("ana", "!meeting info One off"))[0].text
    assert "This meeting is over: it took place on 2026-11-30T10:00:00+00:00." in after, after
    assert "Next:" not in after and "Planning to come" not in after, after


async def _another_process_moves_circle(app: App, fake: Recorder) -> None:
    """Another process edits the meeting row (its own replan ran there, not here)."""
    async with app.db.sessions.begin() as session:
        await session.execute(
            update(Meeting)
            .where(Meeting.title == "Circle")
            .values(start_local="2026-12-01T20:30", revision=Meeting.revision + 1)
        )


ORIGINAL = [datetime(2026, 12, 1, 19, tzinfo=UTC) - timedelta(minutes=m) for m in (1440, 10, 0)]


async def test_a_room_upgrade_while_a_restart_rebuilds_keeps_the_posts_in_the_new_room(
    app_factory: AppFactory,
) -> None:
    """A channel replaced by another (a Matrix room upgrade, followed by another process)
    while a start-up rebuild plans: the meeting's pending posts stay pointed at the new
    room, not written back to the old one."""
    app, fake = await circle(app_factory)
    for n in range(3):
        await fake.say("fac", f'!meeting schedule "Other {n}" "2026-12-01 18:00" 60m zone:UTC')
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m zone:UTC')
    service = cog(app).service
    circle_view = next(v for v in await service.all_in(1) if v.title == "Circle")
    platform, old_id = circle_view.channel.split(":", 1)
    original = service.outbox.replan_many
    moved: list[bool] = []

    async def replan_many(plans: Any) -> Any:
        if len(plans) > 1 and not moved:  # the rebuild's batch, about to be written
            moved.append(True)
            # what another process's `App.place_moved` leaves in the shared database (its own
            # replans ran there, not here)
            await app.outbox.retarget(platform, old_id, "upgraded-room")
            await service.move_place(circle_view.channel, f"{platform}:upgraded-room")
        return await original(plans)

    service.outbox.replan_many = replan_many  # type: ignore[method-assign]
    await after_an_update(app)
    await service.rebuild()
    assert moved
    async with app.db.sessions() as session:
        targets = set(
            await session.scalars(
                select(OutboxItem.target).where(
                    OutboxItem.key.startswith(key_prefix(circle_view)),
                    OutboxItem.status == "pending",
                )
            )
        )
    assert targets == {"upgraded-room"}, targets


MOVED = [datetime(2026, 12, 1, 20, 30, tzinfo=UTC) - timedelta(minutes=m) for m in (1440, 10, 0)]


@pytest.mark.parametrize(
    ("change", "shown", "not_shown"),
    [
        ('fac: !meeting edit Circle start:"2026-12-01 20:30"', MOVED, ORIGINAL),
        ("fac: !meeting cancel Circle next", [], ORIGINAL),
        ("ana: !meeting rsvp Circle 2026-12-01 1h", [datetime(2026, 12, 1, 18, tzinfo=UTC)], []),
        ("fac: !meeting delete Circle confirm:yes", [], ORIGINAL),
        (_another_process_moves_circle, MOVED, ORIGINAL),
    ],
    ids=["moved", "cancelled", "rsvp-reminder", "deleted", "moved-elsewhere"],
)
async def test_a_change_made_while_a_restart_rebuilds_is_what_gets_announced(
    app_factory: AppFactory, change: Any, shown: list[datetime], not_shown: list[datetime]
) -> None:
    """A start-up rebuild gives the event loop turns so members' commands go on meanwhile.
    A change made during one of those turns (after the rebuild read the meeting, before it
    wrote its plan), here or by another process, is what gets announced: the rebuild never
    writes back the plan of the meeting as it read it."""
    app, fake = await circle(app_factory)
    for n in range(3):
        await fake.say("fac", f'!meeting schedule "Other {n}" "2026-12-01 18:00" 60m zone:UTC')
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m zone:UTC')
    service = cog(app).service
    outbox = service.outbox
    original = outbox.replan_many
    changed: list[bool] = []

    async def replan_many(plans: Any) -> Any:
        if len(plans) > 1 and not changed:  # the rebuild's batch, about to be written
            changed.append(True)
            if callable(change):
                await change(app, fake)
            else:
                who, line = change.split(": ", 1)
                said = await fake.say(who, line)
                assert said and "not" not in said[0].text.split(".")[0], said
        return await original(plans)

    outbox.replan_many = replan_many  # type: ignore[method-assign]
    await after_an_update(app)
    await service.rebuild()
    assert changed
    await app.scheduler.advance(timedelta(days=2))
    circle_times = [at for at, _key, text in fake.at if "Circle" in text]
    assert all(circle_times.count(at) == 1 for at in shown), circle_times  # each once
    assert not set(circle_times) & set(not_shown), circle_times
