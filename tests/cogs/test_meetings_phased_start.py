"""A large start-up answers members before every meeting is planned, and loses nothing.

With more than `PHASED_REBUILD_MEETINGS` meetings to plan (a first start of a large
deployment), start-up plans the meetings with an item due within `URGENT_WINDOW` and returns;
the others are planned in the background in due order. These tests lower the threshold so a
handful of meetings take that path. tests/cogs/test_meetings_model.py checks deliveries over
any sequence of changes and phased restarts.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings import service as meetings_service
from cogs.meetings.service import (
    Change,
    MeetingService,
    MeetingView,
    RsvpView,
    first_sendable_due,
)
from tests.harness.app import AppFactory, make_config, own_loop
from tests.harness.meetings import Gate, PendingRow, Recorder, cog, pending
from tests.harness.meetings_model import forget_plans, parse_key
from tests.harness.platform import CalendarPlatform

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
CONFIG = {"enabled": ["general", "meetings"]}
# Circle's 10-minute post is due 5 minutes after the start: inside the urgent window.
SOON = ("Circle", "2026-11-30 09:15")
LATER = [
    ("Evening", "2026-11-30 19:00"),  # its posts: 18:50 and 19:00 today
    ("Tomorrow", "2026-12-01 08:00"),  # its day-before post 08:00 today, then tomorrow's
    ("Weekly", "2026-12-04 12:00"),  # Friday: nothing due for days
]


async def scheduled(app_factory: AppFactory) -> App:
    """An app with the four meetings scheduled, then closed; returns it (closed)."""
    app = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    fake = Recorder(app)
    app.add_transport(fake)
    await app.start()
    fake.actor("fac", Tier.FACILITATOR)
    for title, when in [SOON, *LATER]:
        said = await fake.say("fac", f'!meeting schedule {title} "{when}" 60m zone:UTC')
        assert "Scheduled" in said[0].text, said[0].text
    await app.close()
    return app


async def first_start(
    app_factory: AppFactory, *, hold: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[App, Recorder]:
    """Start the app again as a first start (nothing planned). With `hold`, the background
    part waits until `settled` is awaited."""
    before = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    await forget_plans(before)
    await before.close()
    app = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    fake = Recorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    fake.actor("ana", Tier.MEMBER)
    if hold:
        with monkeypatch.context() as held:
            held.setattr(MeetingService, "begin_background", lambda _service: None)
            await app.start()
    else:
        await app.start()
    return app, fake


async def planned_at_once(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> dict[str, PendingRow]:
    """What a start-up that plans every meeting before it returns writes (the reference)."""
    with monkeypatch.context() as whole:
        whole.setattr(meetings_service, "PHASED_REBUILD_MEETINGS", 1_000)
        app, _fake = await first_start(app_factory, hold=False, monkeypatch=monkeypatch)
        found = await pending(app)
        await app.close()
    return found


@pytest.fixture
def phased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meetings_service, "PHASED_REBUILD_MEETINGS", 1)


@pytest.mark.usefixtures("phased")
async def test_start_returns_with_what_is_due_soon_and_the_rest_follows_unchanged(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the background begins, Circle's post due in 5 minutes is planned and nothing
    of the others; members are answered; afterwards the outbox holds exactly what planning
    every meeting at once holds, and each post arrives once, on time."""
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    ids = {view.title: view.id for view in await service.all_in(1)}

    early = await pending(app)
    assert {int(key.split(".")[1]) for key in early} == {ids["Circle"]}, sorted(early)
    assert early == {key: row for key, row in reference.items() if key in early}
    answer = await fake.say("ana", "!meeting list")
    assert "Evening" in answer[0].text, answer[0].text

    await app.settled()
    assert await pending(app) == reference
    await app.scheduler.advance(timedelta(hours=11))
    posts = [(at, text.split("\n")[0]) for at, _key, text in fake.at]
    assert [at for at, _text in posts] == [
        START + timedelta(minutes=5),
        START + timedelta(minutes=15),
        START + timedelta(hours=9, minutes=50),
        START + timedelta(hours=10),
    ], posts
    assert len({key for _at, key, _text in fake.at}) == len(fake.at)


@pytest.mark.usefixtures("phased")
async def test_stopping_while_the_background_plans_loses_nothing(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot stops after the background planned one meeting (Evening, the first due); the
    next start plans the others, and the outbox ends as planning every meeting at once
    leaves it."""
    monkeypatch.setattr(meetings_service, "REBUILD_BATCH", 1)
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    ids = {view.title: view.id for view in await service.all_in(1)}
    real = service._rebuild_write
    first_written, never = asyncio.Event(), asyncio.Event()

    async def one_then_stuck(*args: Any) -> None:
        if first_written.is_set():
            await never.wait()  # the process stops before this write: close cancels it
        await real(*args)
        first_written.set()

    monkeypatch.setattr(service, "_rebuild_write", one_then_stuck)
    service.begin_background()
    await first_written.wait()
    await app.close()

    stopped = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    partial = await pending(stopped)
    await stopped.close()
    assert {int(key.split(".")[1]) for key in partial} == {ids["Circle"], ids["Evening"]}
    assert partial == {key: row for key, row in reference.items() if key in partial}
    again = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START))
    await again.settled()
    assert await pending(again) == reference


@pytest.mark.usefixtures("phased")
async def test_background_planning_that_fails_is_tried_again(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The database drops the connection during the background planning, more times than
    there are listed waits: it keeps being tried again and every meeting ends up planned,
    with a warning and then an error in the log."""
    monkeypatch.setattr(meetings_service, "REBUILD_RETRY_SECONDS", (0.0, 0.0, 0.0))
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    outbox = cog(app).service.outbox
    real = outbox.replan_many
    failures = 0

    async def flaky(plans: Any) -> Any:
        nonlocal failures
        if failures < 5:
            failures += 1
            raise OperationalError("INSERT outbox", {}, ConnectionResetError("connection lost"))
        return await real(plans)

    monkeypatch.setattr(outbox, "replan_many", flaky)
    with caplog.at_level(logging.WARNING, logger="circlebot.meetings"):
        await app.settled()
    assert failures == 5
    assert await pending(app) == reference
    assert "trying again" in caplog.text


@pytest.mark.usefixtures("phased")
async def test_the_background_begins_by_itself_once_start_up_returns(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running bot never calls `settled`: start-up itself lets the background begin, and
    every meeting's posts arrive on time."""
    await scheduled(app_factory)
    app, fake = await first_start(app_factory, hold=False, monkeypatch=monkeypatch)
    rest = cog(app).service._rest
    assert rest is not None
    done, _pending = await asyncio.wait({rest}, timeout=30)
    assert done, "the background planning never began"
    await app.scheduler.advance(timedelta(hours=11))
    assert [at for at, _key, _text in fake.at] == [
        START + timedelta(minutes=5),
        START + timedelta(minutes=15),
        START + timedelta(hours=9, minutes=50),
        START + timedelta(hours=10),
    ], fake.at


@pytest.mark.usefixtures("phased")
@pytest.mark.parametrize("reminders", [{"ana": 15, "ben": 120}, {"ben": 120}])
async def test_reminders_and_late_notes_due_now_do_not_wait_for_the_background(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, reminders: dict[str, int]
) -> None:
    """Nothing of Talk's channel posts can still be sent (only a day-before post), but Ana's
    15-minute reminder is due in 2 minutes and Ben's 2-hour reminder was never planned while
    the bot was down: his late note is due now. Each comes before the background plans
    anything, Ben's also when his is the meeting's only item."""
    app = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    fake = Recorder(app)
    app.add_transport(fake)
    await app.start()
    fake.actor("fac", Tier.FACILITATOR)
    for title, when in [("Talk", "2026-11-30 12:00"), ("Weekly", "2026-12-04 12:00")]:
        said = await fake.say("fac", f'!meeting schedule {title} "{when}" 60m zone:UTC')
        assert "Scheduled" in said[0].text, said[0].text
    service = cog(app).service
    view, _weekly = await service.all_in(1)
    assert view.title == "Talk"
    await service.set_offsets(view.community_id, [1440])
    for name, minutes in reminders.items():
        await service.rsvp(view, f"fake:{name}", "", minutes)
    await app.close()

    back = datetime(2026, 11, 30, 11, 43, tzinfo=UTC)
    before = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(back), start=False)
    await forget_plans(before)
    await before.close()
    app = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(back), start=False)
    fake = Recorder(app)
    app.add_transport(fake)
    with monkeypatch.context() as held:
        held.setattr(MeetingService, "begin_background", lambda _service: None)
        await app.start()
    assert cog(app).service._rest is not None  # the phased path: Weekly waits
    await app.scheduler.advance(meetings_service.URGENT_WINDOW)
    got = sorted((at, parse_key(key)[2], text) for at, key, text in fake.at)
    expected = [(back, "late")]  # Ben's, at once
    if "ana" in reminders:
        expected.append((back + timedelta(minutes=2), "dm"))  # Ana's, on time
    assert [(at, kind) for at, kind, _text in got] == expected, got
    assert got[0][2].startswith("Sorry, this reminder comes late"), got[0][2]
    assert all(text.startswith("You planned to join **Talk**") for _at, _k, text in got[1:])


@pytest.mark.usefixtures("phased")
async def test_a_meeting_deleted_while_the_background_plans_it_leaves_no_trace(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background reads a chunk, a facilitator deletes one of its meetings, then the
    chunk is written: the meeting ends with no pending item and no calendar event."""
    await scheduled(app_factory)
    before = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    await forget_plans(before)
    await before.close()
    app = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    fake = CalendarPlatform(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    with monkeypatch.context() as held:
        held.setattr(MeetingService, "begin_background", lambda _service: None)
        await app.start()
    service = cog(app).service
    ids = {view.title: view.id for view in await service.all_in(1)}
    real = service._rebuild_reads

    async def then_deleted(id_chunk: Any) -> Any:
        read = await real(id_chunk)
        if ids["Weekly"] in id_chunk:
            said = await fake.say("fac", f"!meeting delete #{ids['Weekly']} confirm:yes")
            assert "deleted" in said[-1].text.lower(), said[-1].text
        return read

    monkeypatch.setattr(service, "_rebuild_reads", then_deleted)
    await app.settled()
    assert f"meetings.{ids['Weekly']}" not in fake.shown, sorted(fake.shown)
    assert f"meetings.{ids['Evening']}" in fake.shown
    assert not [key for key in await pending(app) if key.startswith(f"meetings.{ids['Weekly']}.")]


@pytest.mark.usefixtures("phased")
async def test_two_rebuilds_at_once_leave_one_background_and_settle(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A takeover's rebuild while another runs: each waits its turn, the second replaces the
    first's background, and none is left waiting for a start that never comes."""
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    await forget_plans(app)
    await asyncio.gather(service.rebuild(), service.rebuild())
    await app.settled()
    left = [
        task
        for task in asyncio.all_tasks()
        if task.get_name() == "circlebot-meetings-rebuild" and not task.done()
    ]
    assert left == []
    assert await pending(app) == reference


@pytest.mark.usefixtures("phased")
async def test_waiting_for_the_background_ends_quietly_when_the_bot_stops(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something waiting for the background (`settled`) while the bot stops simply stops
    waiting; it is not cancelled itself."""
    await scheduled(app_factory)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    stuck = asyncio.Event()

    async def never(*_args: Any) -> None:
        stuck.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(service, "_rebuild_write", never)
    waiting = asyncio.create_task(app.settled())
    await stuck.wait()
    await app.close()
    await asyncio.wait_for(waiting, timeout=10)  # raises CancelledError if it was cancelled
    assert not waiting.cancelled()


@pytest.mark.usefixtures("phased")
async def test_a_start_up_that_fails_late_still_stops_the_background_on_close(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up fails after the meetings cog started (the outbox's first pass): closing the
    app stops the cogs that started, so no background planning is left running."""
    await scheduled(app_factory)
    before = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    await forget_plans(before)
    await before.close()
    app = await app_factory(make_config(cogs=CONFIG), clock=VirtualClock(START), start=False)
    app.add_transport(Recorder(app))

    async def broken() -> Any:
        raise OperationalError("SELECT outbox", {}, ConnectionResetError("connection lost"))

    monkeypatch.setattr(app.outbox, "recover", broken)
    with pytest.raises(OperationalError):
        await app.start()
    rest = cog(app).service._rest
    assert rest is not None and not rest.done()
    await app.close()
    assert rest.done()


# --- the urgent split against the planner ---------------------------------------------------

NOWS = [
    datetime(2026, 12, 2, 12, 0, 30, tzinfo=UTC),
    datetime(2026, 12, 2, 12, 0, tzinfo=UTC),  # on the minute: items due at the window's edge
    datetime(2026, 3, 29, 0, 55, tzinfo=UTC),  # London springs forward at 01:00 UTC
    datetime(2026, 10, 25, 0, 58, 12, tzinfo=UTC),  # London falls back at 01:00 UTC
    datetime(2026, 11, 1, 5, 52, tzinfo=UTC),  # New York falls back at 06:00 UTC
    datetime(2026, 4, 5, 15, 50, tzinfo=UTC),  # Sydney's summer time ends at 16:00 UTC
]
GRACE = timedelta(minutes=15)
Case = tuple[datetime, MeetingView, list[int], list[RsvpView], set[str]]


@st.composite
def meetings(draw: st.DrawFn) -> Case:
    """A moment (some beside a clock change), a meeting starting up to eight days either side
    of it (one-off or repeating by several rules, dates kept, moved, cancelled or moved and
    cancelled, the series sometimes cancelled, changed lately or long ago), the community's
    offsets, RSVPs (series or one date, with or without a reminder, 0 minutes included, made
    lately or long ago) and who turned reminders off."""
    now = draw(st.sampled_from(NOWS))
    zone = draw(
        st.sampled_from(
            ["UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kathmandu"]
        )
    )
    rule = draw(
        st.sampled_from(
            [
                "",
                "FREQ=DAILY",
                "FREQ=WEEKLY",
                "FREQ=DAILY;INTERVAL=3",
                "FREQ=WEEKLY;BYDAY=MO,WE,FR",
                "FREQ=DAILY;COUNT=3",
                "FREQ=HOURLY;INTERVAL=6",
            ]
        )
    )
    start = now + timedelta(minutes=draw(st.integers(-8 * 1440, 8 * 1440)))
    local = start.astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)
    lately = st.integers(0, 4 * 1440).map(lambda minutes: now - timedelta(minutes=minutes))
    view = MeetingView(
        id=1,
        community_id=1,
        title="Circle",
        kind="standard",
        start_local=local,
        timezone=zone,
        duration_minutes=draw(st.sampled_from([15, 60, 90, 180, 720])),
        rrule=rule,
        location="",
        location_label="",
        channel="fake:general",
        script=None,
        ping_role=None,
        cancelled=draw(st.integers(0, 9)) == 0,
        cancel_note="",
        revision=1,
        revised_at=draw(st.one_of(st.just(now - timedelta(days=30)), lately)),
        uid="u1",
        created_by="fake:fac",
        facilitators=(),
        changes=(),
    )
    changes: list[Change] = []
    dates = [""]
    for occ in view.occurrences(now - timedelta(days=3), now + timedelta(days=9))[:6]:
        fate = draw(st.sampled_from(["keep", "keep", "moved", "cancelled", "moved-cancelled"]))
        if fate == "keep" and not draw(st.booleans()):
            continue
        dates.append(occ.key)
        if fate == "keep":
            continue
        moved = None
        if fate.startswith("moved"):
            shift = timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
            moved = (occ.start + shift).replace(second=0, microsecond=0)
        status = "cancelled" if fate.endswith("cancelled") else "moved"
        changes.append(Change(occ.key, status, moved, ""))
    view = replace(view, changes=tuple(changes))
    offsets = draw(
        st.lists(
            st.sampled_from([0, 1, 5, 10, 15, 30, 60, 1440, 7 * 1440]), unique=True, max_size=4
        )
    )
    people = ["fake:ana", "fake:ben", "fake:cat", "fake:dan"]
    rsvps = [
        RsvpView(
            draw(st.sampled_from(people)),
            date,
            draw(st.sampled_from([None, 0, 1, 5, 15, 30, 60, 120, 1440])),
            draw(st.one_of(st.just(now - timedelta(days=30)), lately)),
            n + 1,
        )
        for n, date in enumerate(draw(st.lists(st.sampled_from(dates), max_size=6)))
    ]
    # one RSVP per member and date, as the table allows
    rsvps = list({(r.actor_key, r.occurrence): r for r in rsvps}.values())
    return now, view, offsets, rsvps, draw(st.sets(st.sampled_from(people)))


def test_the_urgent_split_finds_exactly_what_the_planner_can_still_send(tmp_path: Any) -> None:
    """For any meeting, offsets, RSVPs and reminder choices: `first_sendable_due` is the due
    time of the first item the planner (`wanted`) writes for it that can still be sent (or
    whose late note can), when one is due within the urgent window; otherwise it is None or
    later. So a start-up plans before it returns every meeting with something to send soon,
    and only those."""
    with own_loop(tmp_path) as (loop, factory):
        clock = VirtualClock(NOWS[0])
        app = loop.run_until_complete(factory(make_config(cogs=CONFIG), clock=clock))
        service = cog(app).service
        assert service.outbox.grace == GRACE
        off: set[str] = set()

        async def opted_out(keys: set[str]) -> set[str]:
            return keys & off

        service._opted_out = opted_out  # type: ignore[method-assign]

        @settings(
            max_examples=500,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(case=meetings())
        def check(case: Case) -> None:
            now, view, offsets, rsvps, turned_off = case
            clock._now = now  # examples go both ways in time
            soon = now + meetings_service.URGENT_WINDOW
            off.clear()
            off.update(turned_off)
            service._offsets[view.community_id] = offsets
            wanted = loop.run_until_complete(
                service.wanted(
                    view, since=now - timedelta(days=9), until=soon, rsvps=rsvps, names={}
                )
            )
            sendable = [
                item.due_at
                for item in wanted
                if not service.outbox.missed(item.due_at, item.not_after)
                or (
                    item.instead is not None
                    and (item.instead.not_after is None or item.instead.not_after >= now)
                )
            ]
            late: list[tuple[datetime, str]] = []
            first = first_sendable_due(
                view, offsets, rsvps, off=turned_off, now=now, grace=GRACE, soon=soon, late=late
            )
            # the reminders handed back as late-note-only are exactly those the planner
            # records as missed with a late note, under the same keys
            assert set(late) == {
                (item.due_at, item.key)
                for item in wanted
                if parse_key(item.key)[2] == "dm"
                and service.outbox.missed(item.due_at, item.not_after)
                and item.instead is not None
            }, (sorted(late), wanted)
            # with an empty outbox each of them is owed: they count
            found = min(
                (due for due in (first, *(due for due, _key in late)) if due is not None),
                default=None,
            )
            if sendable:
                assert found == min(sendable), (found, sorted(sendable), wanted)
            else:
                assert found is None or found > soon, (found, wanted)

        check()


async def test_items_due_exactly_at_the_window_edges_are_urgent(app_factory: AppFactory) -> None:
    """Offsets 10 and 0 minutes, nothing planned yet. Edge's 10-minute post is due exactly
    `URGENT_WINDOW` from now, Begun's start post exactly the grace window ago (still sendable):
    both are planned before start-up returns. Past's is due a minute after the window, and
    Gone's a minute before the grace window: both are left to the background."""
    config = make_config(
        cogs={"enabled": ["general", "meetings"], "meetings": {"announce_minutes": [10, 0]}}
    )
    app = await app_factory(config, clock=VirtualClock(START - timedelta(days=1)))
    fake = Recorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    for title, when in [
        ("Edge", "2026-11-30 09:20"),
        ("Past", "2026-11-30 09:21"),
        ("Begun", "2026-11-30 08:45"),
        ("Gone", "2026-11-30 08:44"),
    ]:
        said = await fake.say("fac", f'!meeting schedule {title} "{when}" 60m zone:UTC')
        assert "Scheduled" in said[0].text, said[0].text
    await app.close()
    app = await app_factory(config, clock=VirtualClock(START), start=False)
    await forget_plans(app)
    service = cog(app).service
    ids = {view.title: view.id for view in await service.all_in(1)}
    urgent, later = await service._by_first_due(sorted(ids.values()))
    assert urgent == sorted([ids["Edge"], ids["Begun"]])
    assert sorted(later) == sorted([ids["Past"], ids["Gone"]])


@pytest.mark.parametrize("threshold", [10_000, 0], ids=["at-once", "phased"])
async def test_a_restart_sends_nothing_its_new_plan_withdraws(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    """While the bot was down the 35-minute post was dropped from the community's offsets; the
    post it had planned, due 5 minutes ago, is still pending in the grace window. Start-up
    withdraws it before the outbox's first pass, phased or not (the new plan has nothing due
    soon for that meeting, so only its pending row makes it urgent)."""

    def config(offsets: list[int]) -> Any:
        return make_config(
            cogs={"enabled": ["general", "meetings"], "meetings": {"announce_minutes": offsets}}
        )

    first = await app_factory(config([35, 0]), clock=VirtualClock(START))
    fake = Recorder(first)
    first.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    for title, when in [("Talk", "2026-11-30 09:40"), ("Other", "2026-12-04 12:00")]:
        said = await fake.say("fac", f'!meeting schedule {title} "{when}" 60m zone:UTC')
        assert "Scheduled" in said[0].text, said[0].text
    await first.close()
    monkeypatch.setattr(meetings_service, "PHASED_REBUILD_MEETINGS", threshold)
    back = START + timedelta(minutes=10)
    app = await app_factory(config([0]), clock=VirtualClock(back), start=False)
    again = Recorder(app)
    app.add_transport(again)
    with monkeypatch.context() as held:
        held.setattr(MeetingService, "begin_background", lambda _service: None)
        await app.start()
    await app.scheduler.advance(timedelta(minutes=40))
    assert [(at, parse_key(key)[2]) for at, key, _text in again.at] == [
        (datetime(2026, 11, 30, 9, 40, tzinfo=UTC), "start")
    ]


@pytest.mark.usefixtures("phased")
async def test_settled_waits_for_a_rebuild_in_progress(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`settled` while a takeover's rebuild is still in its urgent part waits for that rebuild
    and its background, not only for a background already running."""
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, _fake = await first_start(app_factory, hold=False, monkeypatch=monkeypatch)
    await app.settled()
    service = cog(app).service
    await forget_plans(app)
    split = Gate(monkeypatch, service, "_by_first_due")
    rebuilding = asyncio.create_task(service.rebuild())
    await split.entered.wait()
    waiting = asyncio.create_task(app.settled())
    for _turn in range(20):
        await asyncio.sleep(0)
    assert not waiting.done()
    split.release()
    await rebuilding
    await waiting
    assert await pending(app) == reference


@pytest.mark.usefixtures("phased")
async def test_a_failed_background_goes_on_from_where_it_failed(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background fails writing its second meeting: the retry goes on from that one, not
    from the first (with a flaky database a retry from the start might never reach the end)."""
    monkeypatch.setattr(meetings_service, "REBUILD_RETRY_SECONDS", (0.0,))
    monkeypatch.setattr(meetings_service, "REBUILD_BATCH", 1)
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    read: list[int] = []
    real_reads, real_write = service._rebuild_reads, service._rebuild_write
    writes = 0

    async def reads(id_chunk: Any) -> Any:
        read.extend(id_chunk)
        return await real_reads(id_chunk)

    async def write(*args: Any) -> None:
        nonlocal writes
        writes += 1
        if writes == 2:
            raise OperationalError("INSERT outbox", {}, ConnectionResetError("connection lost"))
        await real_write(*args)

    monkeypatch.setattr(service, "_rebuild_reads", reads)
    monkeypatch.setattr(service, "_rebuild_write", write)
    await app.settled()
    assert writes > 3
    # the first meeting, written before the failure, was read once; the failed one again
    assert read.count(read[0]) == 1 and read.count(read[1]) == 2, read
    assert await pending(app) == reference


@pytest.mark.usefixtures("phased")
async def test_settled_follows_a_background_that_a_rebuild_replaces(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`settled` waits on a running background; a takeover's rebuild then replaces it (the
    old one stopped, the new one still splitting): `settled` waits for the new rebuild's
    background too, and returns with every meeting planned."""
    await scheduled(app_factory)
    reference = await planned_at_once(app_factory, monkeypatch)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    write = Gate(monkeypatch, service, "_rebuild_write")
    waiting = asyncio.create_task(app.settled())
    await write.entered.wait()
    split = Gate(monkeypatch, service, "_by_first_due")
    rebuilding = asyncio.create_task(service.rebuild())
    await split.entered.wait()
    write.release()
    for _turn in range(50):
        await asyncio.sleep(0)
    try:
        assert not waiting.done(), "settled() returned while a rebuild was still splitting"
    finally:
        split.release()
        await rebuilding
        await waiting
    await app.settled()
    assert await pending(app) == reference
    await app.close()


@pytest.mark.usefixtures("phased")
async def test_already_sent_day_before_reminders_do_not_make_a_meeting_urgent(
    app_factory: AppFactory,
) -> None:
    """Three daily meetings at 19:00, each with a member's long-standing day-before reminder.
    At 09:00 (a restart into new code: nothing trusted) nothing of theirs can be sent in the
    next 10 minutes: yesterday's 19:00 reminders for today were sent, so no late note is due.
    None is urgent (were they, with day-before reminders on daily circles every meeting would
    be, and a phased start-up no faster than planning everything at once)."""
    day_before = START - timedelta(days=2)
    config = make_config(
        cogs={"enabled": ["general", "meetings"], "meetings": {"announce_minutes": [10, 0]}}
    )
    app = await app_factory(config, clock=VirtualClock(day_before))
    fake = Recorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    for title in ("A", "B", "C"):
        said = await fake.say(
            "fac", f'!meeting schedule {title} "2026-11-29 19:00" 60m repeat:daily zone:UTC'
        )
        assert "Scheduled" in said[0].text, said[0].text
    service = cog(app).service
    for view in await service.all_in(1):
        await service.rsvp(view, "fake:ana", "", 1440)
    await app.scheduler.advance(START - day_before)  # yesterday's 19:00 reminders went out
    assert any(parse_key(key)[2] == "dm" for _at, key, _text in fake.at)
    await app.close()
    app = await app_factory(config, clock=VirtualClock(START), start=False)
    service = cog(app).service
    ids = sorted(view.id for view in await service.all_in(1))
    urgent, later = await service._by_first_due(ids)
    await app.close()
    assert urgent == [], (urgent, later)


@pytest.fixture
def threshold() -> Iterator[tuple[int, int, int]]:
    """Python's own garbage collector thresholds for the test (whatever an earlier test left),
    put back as they were after it."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("phased")
async def test_gc_threshold_restored_when_the_background_is_stopped(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, threshold: tuple[int, int, int]
) -> None:
    """Stopping (close) a running background puts the garbage collector's thresholds back."""
    await scheduled(app_factory)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    entered, never = asyncio.Event(), asyncio.Event()

    async def stuck(*_args: Any) -> None:
        entered.set()
        await never.wait()

    monkeypatch.setattr(service, "_rebuild_write", stuck)
    service.begin_background()
    await entered.wait()
    assert gc.get_threshold()[2] == meetings_service.FULL_COLLECTION_EVERY
    await app.close()
    assert gc.get_threshold() == threshold


@pytest.mark.usefixtures("phased")
async def test_gc_threshold_restored_across_a_takeover_rebuild(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, threshold: tuple[int, int, int]
) -> None:
    """A takeover's rebuild stops the running background (thresholds back) before its own
    raises them again; after settling everything is as before."""
    await scheduled(app_factory)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    write = Gate(monkeypatch, service, "_rebuild_write")
    service.begin_background()
    await write.entered.wait()
    write.restore()
    await service.rebuild()
    assert gc.get_threshold() == threshold  # old stopped, new not begun
    await app.settled()
    assert gc.get_threshold() == threshold
    await app.close()


@pytest.mark.usefixtures("phased")
async def test_gc_thresholds_are_back_while_the_background_waits_to_retry(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, threshold: tuple[int, int, int]
) -> None:
    """While the database keeps failing, the background waits between tries with the
    garbage collector's thresholds as they were (it may wait for as long as that lasts)."""
    monkeypatch.setattr(meetings_service, "REBUILD_RETRY_SECONDS", (30.0,))
    await scheduled(app_factory)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    raised_while_trying: list[tuple[int, int, int]] = []
    failed = asyncio.Event()

    async def failing(*_args: Any) -> None:
        raised_while_trying.append(gc.get_threshold())
        failed.set()
        raise OSError("database gone")

    monkeypatch.setattr(service, "_rebuild_write", failing)
    service.begin_background()
    await failed.wait()
    for _turn in range(20):  # on to its wait before the next try
        await asyncio.sleep(0)
    waiting = gc.get_threshold()
    await app.close()
    assert raised_while_trying[0][2] == meetings_service.FULL_COLLECTION_EVERY
    assert waiting == threshold, waiting


@pytest.mark.usefixtures("phased")
async def test_cancelling_a_rebuild_while_it_stops_the_old_background_is_not_swallowed(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A takeover's rebuild is cancelled (shutdown) while it waits for the old background to
    end, which takes a moment (a write mid-statement): the rebuild ends cancelled, starting
    no new background."""
    await scheduled(app_factory)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    real = service._rebuild_write
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_to_cancel(*args: Any) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()  # the driver finishes its statement first
            raise
        await real(*args)

    monkeypatch.setattr(service, "_rebuild_write", slow_to_cancel)
    service.begin_background()
    await entered.wait()
    old = service._rest
    rebuilding = asyncio.create_task(service.rebuild())
    for _turn in range(20):
        await asyncio.sleep(0)
    assert old is not None and not old.done()  # stop_rebuild is awaiting it
    rebuilding.cancel()  # shutdown
    for _turn in range(5):
        await asyncio.sleep(0)
    release.set()
    monkeypatch.setattr(service, "_rebuild_write", real)
    outcome: str
    try:
        await asyncio.wait_for(rebuilding, 30)
        outcome = "returned normally"
    except asyncio.CancelledError:
        outcome = "cancelled"
    new_rest = service._rest
    await app.close()
    assert outcome == "cancelled", (outcome, new_rest)


@pytest.mark.usefixtures("phased")
async def test_close_during_a_takeover_rebuild_returns(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leader's loop runs a takeover (its rebuild waiting for the old background, slow to
    end) when the bot is closed: close() stops the loop and returns."""
    await scheduled(app_factory)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    real = service._rebuild_write
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_to_cancel(*args: Any) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()
            raise
        await real(*args)

    monkeypatch.setattr(service, "_rebuild_write", slow_to_cancel)
    service.begin_background()
    await entered.wait()
    leader = app.leader
    in_takeover = asyncio.Event()
    took = 0

    async def check() -> None:  # a follower winning the lock: take_over -> cog.start
        nonlocal took
        if took == 0:
            took += 1
            in_takeover.set()
            await service.rebuild()

    monkeypatch.setattr(leader, "check", check)
    monkeypatch.setattr(leader, "poll_seconds", 0.01)
    if leader._loop is not None:
        leader._loop.cancel()
    leader._loop = asyncio.create_task(leader._forever())
    await in_takeover.wait()
    for _turn in range(20):
        await asyncio.sleep(0)

    async def later_release() -> None:
        await asyncio.sleep(0.2)
        monkeypatch.setattr(service, "_rebuild_write", real)
        release.set()

    releaser = asyncio.create_task(later_release())
    closing = asyncio.create_task(app.close())
    done, _ = await asyncio.wait({closing}, timeout=5)
    hung = not done
    if hung:  # clean up: end the loop for good
        loop_task = leader._loop
        while loop_task is not None and not loop_task.done():
            loop_task.cancel()
            await asyncio.sleep(0.05)
        await closing
    await releaser
    assert not hung, "app.close() did not return within 5 s: leader loop kept running"


@pytest.mark.usefixtures("phased")
@pytest.mark.parametrize("how", ["fails", "not_phased", "close"])
async def test_settled_ends_when_a_replacing_rebuild_fails_goes_whole_or_the_bot_stops(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """`settled` waiting on a background that a takeover's rebuild stops returns (no hang,
    no spin) when that rebuild fails after stopping it, plans everything at once, or the bot
    closes meanwhile."""
    await scheduled(app_factory)
    app, _fake = await first_start(app_factory, hold=True, monkeypatch=monkeypatch)
    service = cog(app).service
    write = Gate(monkeypatch, service, "_rebuild_write")
    waiting = asyncio.create_task(app.settled())
    await write.entered.wait()
    write.restore()
    in_trusted, go_on = asyncio.Event(), asyncio.Event()
    trusted = service._rebuild_trusted

    async def slow_trusted() -> Any:
        in_trusted.set()
        await go_on.wait()
        if how == "fails":
            raise OSError("database gone")
        return await trusted()

    monkeypatch.setattr(service, "_rebuild_trusted", slow_trusted)
    if how == "not_phased":
        monkeypatch.setattr(meetings_service, "PHASED_REBUILD_MEETINGS", 1_000)
    rebuilding = asyncio.create_task(service.rebuild())
    await in_trusted.wait()
    for _turn in range(20):
        await asyncio.sleep(0)
    assert not waiting.done()
    go_on.set()
    if how == "close":
        rebuilding.cancel()
    await asyncio.wait({rebuilding})
    await asyncio.wait_for(waiting, 10)
    assert service._rest is None
    await app.close()
