"""Two refusals a facilitator meets, made useful: a series whose typed first start has passed
is refused with the next start that would work, as a line to copy (a one-off in the past is
refused as before), by `schedule` and by an `edit` of the start alike; and a member who may
not change a meeting is told who may, whichever changing command they tried."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrule, rrulestr
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.commands import spec_of
from bot.core.permissions import Tier
from cogs.meetings import render
from cogs.meetings.cog import MEETING, MeetingsCog
from cogs.meetings.recurrence import parse_repeat
from tests.harness.app import AppFactory, own_loop
from tests.harness.console import circlebot
from tests.harness.db import snapshot
from tests.harness.meetings import cog
from tests.harness.platform import FakePlatform, Said

ZONES = (
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
)
# A weekday morning, the night the clocks go forward in Europe, and the last hour of a month
NOWS = (
    datetime(2026, 12, 2, 9, 48, tzinfo=UTC),
    datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
    datetime(2027, 1, 31, 23, 10, tzinfo=UTC),
)
REPEATS = (
    "none",
    "daily",
    "weekly",
    "monthly",
    "every 2 weeks",
    "weekly on mon,thu",
    "monthly on last fri",
)
OFFERED = re.compile(r'start:"(\d{4}-\d\d-\d\d \d\d:\d\d) ([^"]+)"')
PASSED = "has already passed"


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


def wall(typed: str) -> datetime:
    return datetime.strptime(typed, "%Y-%m-%d %H:%M")


def exists(naive: datetime, zone: ZoneInfo) -> bool:
    """Independent of the cog: whether the clocks of `zone` show the wall time `naive`."""
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def occurs(rule_text: str, first: datetime, candidate: datetime) -> bool:
    """Whether `candidate` is an occurrence of the rule begun at `first` (dateutil's own)."""
    rule = rrulestr(rule_text, dtstart=first)
    assert isinstance(rule, rrule)
    return candidate in rule.between(candidate, candidate, inc=True)


def earlier_ones(rule_text: str, first: datetime, low: datetime, high: datetime) -> list[datetime]:
    rule = rrulestr(rule_text, dtstart=first)
    assert isinstance(rule, rrule)
    return [c for c in rule.between(low, high) if c < high]


def options(repeat: str, zone: str, ends: tuple[str, Any]) -> str:
    kind, value = ends
    tail = f' repeat:"{repeat}" zone:{zone}'
    if kind == "count":
        tail += f" count:{value}"
    elif kind == "until":
        tail += f" until:{value}"
    return tail


async def meeting_state(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """The meetings' tables and the outbox: what a refusal must leave as it was."""
    return {
        name: rows
        for name, rows in (await snapshot(app)).items()
        if name.startswith(("meeting", "outbox"))
    }


async def clear(fake: FakePlatform) -> None:
    for view in await cog(fake.app).service.all_in(1):
        assert "Deleted" in text(await fake.say("mod", f"!meeting delete #{view.id} confirm:yes"))


async def one_start(
    fake: FakePlatform, now: datetime, zone_name: str, typed: datetime, repeat: str, ends: Any
) -> None:
    """Schedule a series with start `typed` (a wall time in `zone_name`), and move an
    existing series' start there with `edit`: both answer alike; a refusal changes nothing;
    a start offered in a refusal is in the future, the rule's next meeting that the clocks
    show, and works when given back."""
    app, zone, service = fake.app, ZoneInfo(zone_name), cog(fake.app).service
    tail = options(repeat, zone_name, ends)
    start = f"{typed:%Y-%m-%d %H:%M}"
    # the series to edit, from tomorrow noon (the edit gives the repeat and its end again)
    later = (now.astimezone(zone) + timedelta(days=1)).replace(tzinfo=None)
    endless_tail = options(repeat, zone_name, ("", None))
    base = f'!meeting schedule Base "{later:%Y-%m-%d} 12:00" 60m{endless_tail}'
    assert "Scheduled" in text(await fake.say("fac", base))
    (old,) = await service.all_in(1)

    before = await meeting_state(app)
    edited = text(await fake.say("fac", f'!meeting edit #{old.id} start:"{start}"{tail}'))
    edit_refused = "Updated" not in edited
    if edit_refused:
        assert await meeting_state(app) == before, edited
    await clear(fake)

    before = await meeting_state(app)
    answer = text(await fake.say("fac", f'!meeting schedule Circle "{start}" 60m{tail}'))
    # a wall time the clocks skip is placed at the change, which may be either side of now
    passed = typed.replace(tzinfo=zone) <= now if exists(typed, zone) else None
    if "Scheduled" in answer:
        event("scheduled")
        assert not edit_refused, (answer, edited)
        (view,) = await service.all_in(1)
        nxt = view.next_occurrence(now)
        assert nxt is not None and nxt.start > now
        assert passed is False, answer
        rule = parse_repeat(repeat, typed, **end_options(ends))
        assert view.start_local == typed or occurs(rule, typed, view.start_local)
        await clear(fake)
        return
    # refused: nothing saved, and the edit was refused with the same words
    assert await meeting_state(app) == before, answer
    assert edit_refused and edited == answer, (answer, edited)
    offered = OFFERED.search(answer)
    if PASSED not in answer:  # a time the clocks skip, an `until` before the start
        event("refused: a skipped time or an until before the start")
        assert offered is None and passed is not True, answer
        return
    assert passed is not False, answer
    if offered is None:  # a one-off, or a series with no meeting left before `until`
        event("refused as passed, nothing to offer")
        assert "Pick a time in the future" in answer
        endless = "" if repeat == "none" else parse_repeat(repeat, typed, until=until_of(ends))
        if endless:  # no meeting of the rule to come (before `until`) that the clocks show
            assert all(
                c.replace(tzinfo=zone) <= now or not exists(c, zone)
                for c in earlier_ones(endless, typed, typed, typed + timedelta(days=400))
            ), answer
        return
    event("refused as passed, a start offered")
    assert repeat != "none", answer
    wall_time, named = wall(offered.group(1)), offered.group(2)
    assert named == zone_name
    assert exists(wall_time, zone), answer
    assert wall_time.replace(tzinfo=zone) > now, answer
    endless = parse_repeat(repeat, typed, until=until_of(ends))  # COUNT counts from the start
    assert occurs(endless, typed, wall_time), answer
    # the first such: every earlier meeting of the rule has begun or is one the clocks skip
    low = now.astimezone(zone).replace(tzinfo=None) - timedelta(days=2)
    for earlier in earlier_ones(endless, typed, max(low, typed), wall_time):
        assert earlier.replace(tzinfo=zone) <= now or not exists(earlier, zone), answer
    # given back as offered, the same line schedules the series from there
    again = f'!meeting schedule Circle start:"{offered.group(1)} {named}" 60m{tail}'
    assert "Scheduled" in text(await fake.say("fac", again))
    (view,) = await service.all_in(1)
    nxt = view.next_occurrence(now)
    assert nxt is not None and nxt.start.astimezone(zone).replace(tzinfo=None) == wall_time
    await clear(fake)


def until_of(ends: tuple[str, Any]) -> date | None:
    return date.fromisoformat(ends[1]) if ends[0] == "until" else None


def end_options(ends: tuple[str, Any]) -> dict[str, Any]:
    kind, value = ends
    if kind == "count":
        return {"count": value}
    if kind == "until":
        return {"until": date.fromisoformat(value)}
    return {}


@pytest.mark.parametrize("now", NOWS, ids=lambda n: f"{n:%Y-%m-%dT%H:%M}")
def test_a_start_offered_for_a_passed_series_is_its_next_meeting_and_works(
    tmp_path: Path, now: datetime
) -> None:
    """Over start times before and after now (minutes to weeks), zones with and without
    summer time, and daily, weekly and monthly rules with or without an end: a series whose
    start has passed is refused with its next meeting as `start:"..."`, nothing saved; given
    back, that line schedules it; a one-off in the past is refused; `edit` answers alike. One
    app serves every example (its meetings are deleted after each)."""
    loop = asyncio.new_event_loop()
    factory = AppFactory(tmp_path)
    try:
        _app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "meetings"],
                clock=VirtualClock(now),
                actors={"fac": Tier.FACILITATOR, "mod": Tier.MODERATOR},
            )
        )
        today = now.date()

        @settings(max_examples=60, deadline=None)
        @given(
            zone_name=st.sampled_from(ZONES),
            minutes=st.one_of(
                st.integers(-3 * 1440, 3 * 1440), st.integers(-45 * 1440, 10 * 1440)
            ),
            repeat=st.sampled_from(REPEATS),
            ends=st.one_of(
                st.just(("", None)),
                st.tuples(st.just("count"), st.integers(1, 4)),
                st.tuples(
                    st.just("until"),
                    st.integers(-20, 90).map(lambda d: (today + timedelta(days=d)).isoformat()),
                ),
            ),
        )
        def check(zone_name: str, minutes: int, repeat: str, ends: tuple[str, Any]) -> None:
            if repeat == "none":
                ends = ("", None)
            zone = ZoneInfo(zone_name)
            typed = now.astimezone(zone).replace(tzinfo=None, second=0) + timedelta(
                minutes=minutes
            )
            loop.run_until_complete(one_start(fake, now, zone_name, typed, repeat, ends))

        check()
    finally:
        loop.run_until_complete(factory.close())
        loop.close()


async def morning(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    """Wednesday 2 December 2026, 09:48 in Europe/London, a facilitator and a moderator."""
    return await app_factory.on_platform(
        ["general", "meetings"],
        clock=VirtualClock(datetime(2026, 12, 2, 9, 48, tzinfo=UTC)),
        actors={"fac": Tier.FACILITATOR, "mod": Tier.MODERATOR},
    )


@pytest.mark.parametrize(
    ("repeat", "offered"),
    [
        ("weekly", "2026-12-09 06:00"),
        ("daily", "2026-12-03 06:00"),
        ("monthly", "2027-01-02 06:00"),
    ],
)
async def test_the_reported_line_offers_the_next_morning_of_the_series(
    app_factory: AppFactory, repeat: str, offered: str
) -> None:
    app, fake = await morning(app_factory)
    await fake.say("fac", "!me timezone Europe/London")
    line = (
        '!meeting schedule title:"Morning check-in" start:"today 06:00" duration:1h '
        f"repeat:{repeat}"
    )
    said = await fake.say("fac", line)
    assert len(said) == 1 and said[0].where == "ephemeral"
    assert said[0].text.startswith(
        "That start time, Wed 2 Dec 2026, 06:00 (Europe/London), has already passed, so "
        "nothing was changed."
    )
    assert f'`start:"{offered} Europe/London"`' in said[0].text
    assert await cog(app).service.all_in(1) == []
    said = await fake.say("fac", line.replace("today 06:00", f"{offered} Europe/London"))
    assert "Scheduled" in text(said)
    (view,) = await cog(app).service.all_in(1)
    assert f"{view.start_local:%Y-%m-%d %H:%M}" == offered


async def test_a_one_off_in_the_past_is_refused_and_names_the_time_read(
    app_factory: AppFactory,
) -> None:
    app, fake = await morning(app_factory)
    said = await fake.say("fac", '!meeting schedule Once "today 06:00" 1h')
    assert said[0].text == (
        "That start time, Wed 2 Dec 2026, 06:00 (UTC), has already passed. Pick a time in the "
        "future."
    )
    assert "start:" not in said[0].text
    assert await cog(app).service.all_in(1) == []


async def test_an_edit_to_a_passed_start_offers_the_next_one_and_changes_nothing(
    app_factory: AppFactory,
) -> None:
    app, fake = await morning(app_factory)
    await fake.say("fac", '!meeting schedule Circle "2026-12-10 19:00" 60m repeat:weekly')
    before = await meeting_state(app)
    said = await fake.say("fac", '!meeting edit Circle start:"2026-12-01 19:00"')
    assert "has already passed, so nothing was changed" in said[0].text
    # the rule as the edit would make it decides: a bare weekly follows the start to Tuesdays
    assert '`start:"2026-12-08 19:00 UTC"`' in said[0].text
    assert await meeting_state(app) == before
    said = await fake.say("fac", '!meeting edit Circle start:"2026-12-08 19:00 UTC"')
    assert "Updated" in text(said) and "every week on Tue" in text(said)
    (view,) = await cog(app).service.all_in(1)
    assert view.start_local == datetime(2026, 12, 8, 19, 0)


# --- who may change a meeting --------------------------------------------------------------

CHANGING = {
    "edit": "!meeting edit Circle title:Renamed",
    "cancel": "!meeting cancel Circle next",
    "move": '!meeting move Circle next to:"2026-12-10 20:00"',
    "restore": "!meeting restore Circle 2026-12-17",
    "delete": "!meeting delete Circle confirm:yes",
}


async def circle_run_by_ana(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    """Circle, facilitated by ana (a facilitator); its meeting of 17 December cancelled. cat
    is a facilitator too, ben a member, mod a moderator."""
    app, fake = await app_factory.on_platform(
        ["general", "meetings"],
        clock=VirtualClock(datetime(2026, 12, 2, 9, 48, tzinfo=UTC)),
        actors={"ana": Tier.FACILITATOR, "cat": Tier.FACILITATOR, "mod": Tier.MODERATOR},
    )
    await fake.say("ana", "!me name River")
    said = await fake.say(
        "ana", '!meeting schedule Circle "2026-12-10 19:00" 60m repeat:weekly zone:UTC'
    )
    assert "Scheduled" in text(said)
    assert "Cancelled" in text(await fake.say("ana", "!meeting cancel Circle 2026-12-17"))
    return app, fake


def test_the_commands_gated_by_a_meetings_facilitators_are_the_ones_named_here() -> None:
    """Every facilitator's command on one meeting is gated by who facilitates it (the tests
    below try each); `ping` is the moderators' alone."""
    specs = [s for s in map(spec_of, vars(MeetingsCog).values()) if s is not None]
    gated = {s.path[1] for s in specs if s.tier is Tier.FACILITATOR and MEETING in s.options}
    assert gated == set(CHANGING)
    assert {s.path[1] for s in specs if s.tier is Tier.MODERATOR and MEETING in s.options} == {
        "ping"
    }


@pytest.mark.parametrize("command", sorted(CHANGING))
@pytest.mark.parametrize("who", ["ben", "cat"])
async def test_who_may_not_change_a_meeting_is_told_who_may(
    app_factory: AppFactory, command: str, who: str
) -> None:
    """ben (a member) and cat (a facilitator, of other meetings) are told, in the same words,
    that this meeting's facilitators or a moderator may change it, while `info` shows it has
    a facilitator; nothing changes."""
    app, fake = await circle_run_by_ana(app_factory)
    assert "Facilitator: River" in text(await fake.say(who, "!meeting info Circle"))
    before = await snapshot(app)
    said = await fake.say(who, CHANGING[command])
    assert len(said) == 1 and said[0].where == "ephemeral"
    assert said[0].text == render.not_your_meeting()
    assert "this meeting's facilitators" in said[0].text
    assert "Only a facilitator" not in said[0].text
    assert await snapshot(app) == before


@pytest.mark.parametrize("command", sorted(CHANGING))
@pytest.mark.parametrize("who", ["ana", "mod"])
async def test_its_facilitator_and_a_moderator_change_it(
    app_factory: AppFactory, command: str, who: str
) -> None:
    app, fake = await circle_run_by_ana(app_factory)
    before = await snapshot(app)
    said = await fake.say(who, CHANGING[command])
    assert render.not_your_meeting() not in text(said)
    assert "Only a" not in text(said)
    assert await snapshot(app) != before


@pytest.mark.parametrize("who", ["ben", "cat", "ana"])
async def test_ping_stays_a_moderators_command_and_says_so(
    app_factory: AppFactory, who: str
) -> None:
    """`ping` is gated by tier alone (no meeting's facilitator may use it), which its refusal
    says as it always did."""
    app, fake = await circle_run_by_ana(app_factory)
    await fake.say(who, "!meeting info Circle")
    before = await snapshot(app)
    said = await fake.say(who, "!meeting ping Circle @everyone")
    assert said[0].text == "Only a moderator can use `meeting ping`."
    assert await snapshot(app) == before


# Each command that needs a tier on one meeting, with `{ref}` for the meeting's name or number
ON_ONE_MEETING = {
    "edit": "!meeting edit {ref} title:Renamed",
    "cancel": "!meeting cancel {ref} next",
    "move": '!meeting move {ref} next to:"2026-12-10 20:00"',
    "restore": "!meeting restore {ref} 2026-12-17",
    "delete": "!meeting delete {ref} confirm:yes",
    "ping": "!meeting ping {ref} @everyone",
}
# Names and numbers of no meeting while only Circle (#1) exists: other numbers, with or
# without `#`, and words that neither are nor begin "Circle".
MISSING = st.one_of(
    st.integers(min_value=2, max_value=999_999).map(str),
    st.integers(min_value=2, max_value=999_999).map(lambda n: f"#{n}"),
    st.text(alphabet="bdfghjkmpqvwxyz", min_size=1, max_size=12).map(str.capitalize),
)


async def test_a_member_deleting_a_meeting_that_does_not_exist_is_told_there_is_none(
    app_factory: AppFactory,
) -> None:
    """The reported line: not "Only a moderator or one of this meeting's facilitators can
    change it", which reads as if meeting 999 existed, but what a moderator is told."""
    app, fake = await circle_run_by_ana(app_factory)
    for who in ("ben", "mod"):
        await fake.say(who, "!meeting list")  # known to the bot before the snapshot
    before = await snapshot(app)
    said = await fake.say("ben", "!meeting delete 999")
    assert len(said) == 1 and said[0].where == "ephemeral"
    assert said[0].text == "There is no meeting `999` here."
    assert said[0].text == (await fake.say("mod", "!meeting delete 999"))[0].text
    assert await snapshot(app) == before


def test_a_meeting_that_does_not_exist_gets_the_same_answer_whoever_asks(
    tmp_path: Path,
) -> None:
    """For every tier-gated command on one meeting (the facilitators' and `ping`, the
    moderators'), a name or number that names no meeting is answered the same for a member,
    a facilitator of other meetings, Circle's facilitator and a moderator: there is no such
    meeting (as `meeting info` says it too), never who may change it; nothing changes."""
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(circle_run_by_ana(factory))
        for who in ("ben", "cat", "mod"):  # known to the bot before the snapshot
            loop.run_until_complete(fake.say(who, "!meeting list"))
        before = loop.run_until_complete(snapshot(app))

        @settings(
            max_examples=25,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(command=st.sampled_from(sorted(ON_ONE_MEETING)), ref=MISSING)
        def check(command: str, ref: str) -> None:
            line = ON_ONE_MEETING[command].format(ref=ref)
            answers = {
                who: loop.run_until_complete(fake.say(who, line))
                for who in ("ben", "cat", "ana", "mod")
            }
            info = loop.run_until_complete(fake.say("ben", f"!meeting info {ref}"))
            for who, said in answers.items():
                assert len(said) == 1 and said[0].where == "ephemeral", (who, line)
                assert said[0].text.startswith(f"There is no meeting `{ref}` here."), (who, line)
                assert said[0].text == info[0].text, (who, line)
                assert render.not_your_meeting() not in said[0].text
                assert "Only a" not in said[0].text
            assert loop.run_until_complete(snapshot(app)) == before

        check()


def test_both_reported_lines_in_the_console(tmp_path: Path) -> None:
    """The two lines as reported, in a real console: a weekly morning whose first start
    today has passed, and a member trying to edit a meeting whose facilitator is someone else."""
    scene = "\n".join(
        [
            ":tier ana facilitator",
            '@ana !meeting schedule title:"Morning check-in" start:"today 06:00" duration:1h '
            "repeat:weekly",
            '@ana !meeting schedule title:"Morning check-in" start:"2026-12-09 06:00 UTC" '
            "duration:1h repeat:weekly",
            "@ben !meeting info Morning",
            '@ben !meeting edit Morning title:"Mine now"',
            ":quit",
            "",
        ]
    )
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "m.sqlite3"),
        "--clock",
        "2026-12-02T09:48:00Z",
        stdin=scene,
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert (
        "That start time, Wed 2 Dec 2026, 06:00 (UTC), has already passed, so nothing was "
        "changed. The next meeting of that series would be Wed 9 Dec 2026, 06:00 (UTC): give "
        'start:"2026-12-09 06:00 UTC" to begin it then.'
    ) in out
    assert "[#general] Scheduled Morning check-in (#1), every week on Wed." in out
    assert "Facilitator: " in out
    assert (
        "[#general, private to ben] Only a moderator or one of this meeting's facilitators "
        "can change it."
    ) in out
    assert "Only a facilitator" not in out
