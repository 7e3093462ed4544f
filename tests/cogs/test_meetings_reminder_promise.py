"""A member is promised a reminder DM only when one will be sent.

The answer to an RSVP, `meeting info`, a change's private notice and `meeting reminders on`
word the reminder from the rule the planner follows (`reminder_fate`): a reminder whose time
came before the RSVP (or the meeting's last change) is never planned, and one the outbox would
skip (the meeting began, the grace window passed) is never promised. The property draws the
clock, the meeting's start, the reminder, when the member RSVPs (also while it is under way),
a series or one date, reminders off, and a move of the date, and checks each text the member
is shown against what the planner enqueues and what arrives.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.outbox import OwnerPlan
from cogs.meetings.service import MeetingService, meeting_ref
from tests.harness.app import AppFactory, make_config
from tests.harness.console import circlebot
from tests.harness.meetings import Recorder, circle, cog

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
GRACE = timedelta(minutes=15)  # the outbox's default grace window
REMINDERS = {"yes": 15, "10m": 10, "30m": 30, "1h": 60, "2h": 120, "1d": 1440}


def wall(moment: datetime) -> str:
    """A UTC moment as a member types it (`2026-11-30 19:07`)."""
    return moment.strftime("%Y-%m-%d %H:%M")


def reply_promises(text: str) -> bool:
    """Whether an RSVP's answer promises a reminder DM for the date it is about."""
    return "I'll DM you" in text and "too soon" not in text


def info_promises(text: str) -> bool:
    """Whether `meeting info` shows the reader's reminder for the next date as coming."""
    return "; a reminder " in text


def expected(
    due: datetime, start: datetime, asked: datetime, changed: datetime, now: datetime
) -> bool:
    """The oracle, written out apart from the code: a reminder due at `due` for a date starting
    at `start`, asked at `asked` of a meeting last changed at `changed`, is sent (or was just
    sent) seen from `now` when it was planned (due at or after both moments) and the outbox
    does not skip it (at most the grace window late, and the date has not begun)."""
    return due >= max(asked, changed) and now - due <= GRACE and now <= start


def reminder_dms(fake: Recorder, occurrence: str) -> list[tuple[datetime, datetime]]:
    """(delivered at, due) of every reminder DM for one date (its occurrence key)."""
    found = []
    for at, key, _text in fake.at:
        parts = key.split(".")
        if len(parts) == 6 and parts[3] == occurrence and parts[4].startswith("dm"):
            due = datetime.strptime(parts[5], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            found.append((at, due))
    return found


async def planner_enqueues(app: App, service: MeetingService, meeting_id: int) -> set[str]:
    """The occurrence keys of the reminder DMs the planner would enqueue now (not record as
    skipped), however far ahead they are due: the meeting's wanted items through the outbox's
    own split of sendable and missed (`Outbox._wanted`)."""
    view = await service.get(meeting_id)
    assert view is not None
    now = app.clock.now()
    since, until = now - app.outbox.grace, now + timedelta(days=30)
    items = await service.wanted(view, since=since, until=until)
    plan = OwnerPlan(meeting_ref(meeting_id), tuple(items), since, until)
    live, _missed = app.outbox._wanted(plan)
    return {parts[3] for parts in (key.split(".") for key in live) if parts[4].startswith("dm")}


@dataclass(frozen=True)
class Scene:
    """One drawn case (see the property)."""

    clock: timedelta  # past START: when the meeting is scheduled
    lead: int  # minutes from the next whole minute to the meeting's (first) start
    weekly: bool
    series: bool
    reminder: str
    off: bool
    rsvp_at: float  # share of the time from scheduling to 40 minutes after the start
    move: bool
    move_at: float  # share of the time from the RSVP to the date's start
    moved_lead: int  # minutes from the move to the new start
    info_at: float  # share of the time from the last change to the date's start


scenes = st.builds(
    Scene,
    clock=st.integers(0, 86399 * 1_000_000).map(lambda us: timedelta(microseconds=us)),
    lead=st.one_of(st.integers(1, 90), st.integers(1, 30 * 60)),
    weekly=st.booleans(),
    series=st.booleans(),
    reminder=st.one_of(st.sampled_from(sorted(REMINDERS)), st.integers(1, 1440).map(str)),
    off=st.sampled_from([False, False, False, True]),
    rsvp_at=st.floats(0, 1),
    move=st.booleans(),
    move_at=st.floats(0, 1),
    moved_lead=st.one_of(st.integers(1, 90), st.integers(1, 26 * 60)),
    info_at=st.floats(0, 1),
)


async def play(scene: Scene, folder: Path) -> None:
    factory = AppFactory(folder)
    try:
        app, fake = await circle(factory, clock=VirtualClock(START + scene.clock))
        clock = app.clock
        assert isinstance(clock, VirtualClock)
        service = cog(app).service
        minutes = REMINDERS.get(scene.reminder) or int(scene.reminder)

        made = clock.now()
        first = made.replace(second=0, microsecond=0) + timedelta(minutes=scene.lead)
        repeat = " repeat:weekly" if scene.weekly else ""
        said = await fake.say(
            "fac", f'!meeting schedule Circle "{wall(first)}" 60m zone:UTC{repeat}'
        )
        found = re.search(r"\(#(\d+)\)", said[0].text)
        assert found is not None, said[0].text
        meeting_id = int(found.group(1))
        if scene.off:
            await fake.say("ben", "!meeting reminders off")

        # The RSVP: from scheduling up to 40 minutes into the meeting (under way then).
        await app.scheduler.advance((first + timedelta(minutes=40) - made) * scene.rsvp_at)
        asked = clock.now()
        when = "all" if scene.series else first.date().isoformat()
        line = f"!meeting rsvp Circle {when} reminder:{scene.reminder}"
        answer = (await fake.say("ben", line))[-1]
        assert answer.where == "ephemeral", answer.text
        view = await service.get(meeting_id)
        assert view is not None
        # The date the answer speaks of: the RSVP'd date, or a series RSVP's next date (the
        # one under way when none follows).
        occ = view.next_occurrence(asked) if scene.series else None
        if occ is None:
            occ = view.occurrences(first, first + timedelta(seconds=1))[0]
        due, start, changed = occ.start - timedelta(minutes=minutes), occ.start, view.revised_at
        promised = reply_promises(answer.text)
        assert promised == (not scene.off and expected(due, start, asked, changed, asked)), (
            answer.text
        )
        assert promised == (occ.key in await planner_enqueues(app, service, meeting_id)), (
            answer.text
        )
        if not promised and not scene.off and start > asked:
            assert "too soon" in answer.text, answer.text  # said plainly, not left out
        arrives = [(due, due)] if promised else []
        event("answer: " + ("promised" if promised else "off" if scene.off else "not promised"))

        # The date moved before it begins: the private notice says so when a reminder that
        # was still to come no longer will.
        if scene.move and start > asked + timedelta(minutes=1):
            await app.scheduler.advance((start - asked) * scene.move_at)
            moment = clock.now()
            new_start = moment.replace(second=0, microsecond=0) + timedelta(
                minutes=scene.moved_lead
            )
            if moment < start and new_start != start:
                mark = len(fake.said)
                day = start.date().isoformat()
                await fake.say("fac", f'!meeting move Circle {day} "{wall(new_start)}"')
                notice = [
                    s.text for s in fake.said[mark:] if s.where == "dm" and s.to == "fake:ben"
                ]
                moved = await service.get(meeting_id)
                assert moved is not None and moved.revised_at == moment
                new_due = new_start - timedelta(minutes=minutes)
                coming = not scene.off and expected(new_due, new_start, asked, moment, moment)
                assert len(notice) == 1, notice
                assert ("too soon" in notice[0]) == (promised and due > moment and not coming), (
                    notice[0]
                )
                event("moved: notice says too soon" if "too soon" in notice[0] else "moved")
                arrives = [(due, due)] if promised and due <= moment else []
                arrives += [(new_due, new_due)] if coming else []
                due, start, changed = new_due, new_start, moment

        # `meeting info` some time before the date begins, as the planner sees it then.
        await app.scheduler.advance(max(start - clock.now(), timedelta(0)) * scene.info_at)
        looked = clock.now()
        if looked < start:
            shown = (await fake.say("ben", "!meeting info Circle"))[-1].text
            coming = not scene.off and expected(due, start, asked, changed, looked)
            assert info_promises(shown) == coming, shown
            event("info: promised" if coming else "info: not promised")
            enqueued = await planner_enqueues(app, service, meeting_id)
            assert coming == (occ.key in enqueued), (shown, enqueued)
            assert not coming or (due, due) in arrives, (shown, arrives)

        # What arrives: each DM promised (and not withdrawn), once, at its time; nothing else.
        await app.scheduler.advance(max(start + timedelta(minutes=1) - clock.now(), timedelta(0)))
        assert reminder_dms(fake, occ.key) == arrives, (reminder_dms(fake, occ.key), arrives)
    finally:
        await factory.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scene=scenes)
# the quoted case on a weekly series: too soon for the next date, promised for the later ones
@example(scene=Scene(timedelta(0), 7, True, True, "yes", False, 0.0, False, 0.0, 1, 0.5))
# promised 10 hours ahead, then the date moves to 20 minutes from then: the notice says so
@example(scene=Scene(timedelta(0), 600, False, False, "1h", False, 0.0, True, 0.5, 20, 0.5))
def test_a_reminder_is_promised_exactly_when_the_planner_sends_it(scene: Scene) -> None:
    """Each text shown to the member promises the reminder DM if and only if the planner
    enqueues it (and the oracle says it is sent), and exactly the DMs promised arrive."""
    folder = Path(tempfile.mkdtemp(prefix="circlebot-promise-"))
    try:
        asyncio.run(play(scene, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- the quoted cases, as members meet them ---------------------------------------------

CONSOLE = """\
:tier ana facilitator
@ana !meeting schedule Circle "2026-11-30 09:07" 60m zone:UTC
@ben !meeting rsvp Circle reminder:yes
@ben !meeting info Circle
@ana !meeting schedule Evening "2026-11-30 09:16" 60m zone:UTC
@cat !meeting rsvp Evening reminder:1h
@cat !meeting rsvp Evening reminder:10m
:advance 30m
"""


def test_a_meeting_starting_in_7_minutes_is_too_soon_for_a_15_minute_reminder(
    tmp_path: Path,
) -> None:
    """`!meeting rsvp Circle reminder:yes` 7 minutes before: answered "I'll DM you 15 minutes
    before" (and `meeting info` repeated it), and no DM ever came. Likewise `reminder:1h` 16
    minutes before; a reminder still in time, asked for then, is promised and arrives."""
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "m.sqlite3"),
        "--clock",
        "2026-11-30T09:00:00Z",
        stdin=CONSOLE,
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "I'll DM you 15 minutes before" not in out
    assert (
        "[#general, private to ben] Noted: you plan to come to Circle on Mon 30 Nov 2026, "
        "09:07 UTC (in 7 minutes). Only you see this; others see a count. It starts in 7 "
        "minutes, too soon for a reminder 15 minutes before, so none will come." in out
    )
    assert (
        "You RSVP'd (only you see this); the time for a reminder 15 minutes before has passed, "
        "so none will come." in out
    )
    assert "It starts in 16 minutes, too soon for a reminder 1 hour before" in out
    assert "I'll DM you 10 minutes before." in out
    assert "[dm ben]" not in out
    assert out.count("[dm cat] You planned to join Evening") == 1


async def test_info_a_moved_date_and_reminders_on_promise_only_what_comes(
    app_factory: AppFactory,
) -> None:
    """A reminder still to come is shown as coming; a move that leaves it no time says so in
    the member's notice, and `meeting info` stops promising it; turning reminders back on
    after a reminder's time names the date it will not come for."""
    app, fake = await circle(app_factory, clock=VirtualClock(START))
    await fake.say("fac", '!meeting schedule Circle "2026-11-30 19:00" 60m zone:UTC')
    said = await fake.say("ben", "!meeting rsvp Circle reminder:30m")
    assert "I'll DM you 30 minutes before." in said[-1].text
    shown = (await fake.say("ben", "!meeting info Circle"))[-1].text
    assert "You RSVP'd (only you see this); a reminder 30 minutes before." in shown

    await app.scheduler.advance(datetime(2026, 11, 30, 18, 0, tzinfo=UTC) - app.clock.now())
    mark = len(fake.said)
    await fake.say("fac", '!meeting move Circle 2026-11-30 "2026-11-30 18:20"')
    notice = [s.text for s in fake.said[mark:] if s.where == "dm" and s.to == "fake:ben"]
    assert len(notice) == 1 and "moves to" in notice[0], notice
    assert (
        "It starts 2026-11-30T18:20:00+00:00, too soon for a reminder 30 minutes before"
        in (notice[0])
    )
    shown = (await fake.say("ben", "!meeting info Circle"))[-1].text
    assert "a reminder 30 minutes before." not in shown
    assert "the time for a reminder 30 minutes before has passed" in shown

    await fake.say("ben", "!meeting reminders off")
    await app.scheduler.advance(timedelta(minutes=5))
    back = (await fake.say("ben", "!meeting reminders on"))[-1].text
    assert "**Circle** starts 2026-11-30T18:20:00+00:00, too soon for a reminder 30" in back
    await app.scheduler.advance(timedelta(hours=1))
    assert not [at for at, key, _t in fake.at if ".dm" in key], fake.at


async def test_a_member_who_turned_reminders_off_gets_no_reminder_at_the_start(
    app_factory: AppFactory,
) -> None:
    """A community whose reminder is at the start itself (`rsvp_remind_minutes = 0`): a member
    who RSVP'd with it and then turned reminders off gets no DM, as they were told."""
    config = make_config(
        cogs={
            "enabled": ["general", "meetings"],
            "meetings": {"rsvp_remind_minutes": 0, "announce_minutes": []},
        }
    )
    app = await app_factory(config, clock=VirtualClock(START))
    fake = Recorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    said = await fake.say("fac", '!meeting schedule Talk "2026-11-30 12:00" 60m zone:UTC')
    assert "Scheduled" in said[0].text, said[0].text
    said = await fake.say("ana", "!meeting rsvp Talk reminder:yes")
    assert "DM you" in said[-1].text, said[-1].text
    said = await fake.say("ana", "!meeting reminders off")
    await app.scheduler.advance(timedelta(hours=4))
    assert [key for _at, key, _text in fake.at if ".dm" in key] == []
    # the same member with reminders on gets it, at the start
    said = await fake.say("ana", "!meeting reminders on")
    await fake.say("fac", '!meeting schedule Later "2026-11-30 15:00" 60m zone:UTC')
    await fake.say("ana", "!meeting rsvp Later reminder:yes")
    await app.scheduler.advance(timedelta(hours=3))
    assert [(at, ".dm" in key) for at, key, _text in fake.at] == [
        (datetime(2026, 11, 30, 15, 0, tzinfo=UTC), True)
    ]
