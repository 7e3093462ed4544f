"""Two meetings whose titles start alike (`Circle` and `Circle next`): a line whose unquoted
words could name either is not guessed at; the member is asked, and nothing changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings.models import Meeting, MeetingException, MeetingFacilitator, MeetingRsvp
from tests.harness.app import AppFactory
from tests.harness.console import circlebot
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
ASKED = "each naming a different meeting, so I have changed nothing"
SHORT = '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC'
LONG = '!meeting schedule "Circle next" "2026-12-03 18:00" 60m repeat:weekly zone:UTC'


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def state(app: App) -> list[tuple[Any, ...]]:
    """Everything a meeting command can change, per meeting, in a comparable form."""
    async with app.db.sessions() as session:
        meetings = list(await session.scalars(select(Meeting).order_by(Meeting.id)))
        facilitators = list(await session.scalars(select(MeetingFacilitator)))
        exceptions = list(await session.scalars(select(MeetingException)))
        rsvps = list(await session.scalars(select(MeetingRsvp)))
        return [
            (
                m.title,
                m.start_local,
                m.duration_minutes,
                m.rrule,
                m.location,
                m.channel,
                m.script,
                m.ping_role,
                m.cancelled,
                m.revision,
                sorted(f.actor_key for f in facilitators if f.meeting_id == m.id),
                sorted(
                    (e.occurrence, e.status, str(e.new_start), e.note or "")
                    for e in exceptions
                    if e.meeting_id == m.id
                ),
                sorted(
                    (r.actor_key, r.occurrence, r.remind_minutes or -1)
                    for r in rsvps
                    if r.meeting_id == m.id
                ),
            )
            for m in meetings
        ]


async def two_circles(factory: AppFactory, name: str = "bot") -> tuple[App, FakePlatform]:
    app, fake = await factory.on_platform(
        ["general", "meetings"],
        clock=VirtualClock(START),
        actors={"fac": Tier.FACILITATOR, "mod": Tier.MODERATOR},
        name=name,
    )
    for line in (SHORT, LONG):
        assert "Scheduled" in text(await fake.say("fac", line))
    return app, fake


async def test_the_reported_line_asks_which_meeting_and_moves_nothing(
    app_factory: AppFactory,
) -> None:
    """`!meeting move Circle next 2026-12-10 19:00` moved Circle next's meeting of the 10th to
    19:00 today; with a `T` between date and time the same words moved Circle's. Both now ask,
    naming both meetings with a line for each, and change nothing; each line then does what
    it says (a date and a time as two words are one moment; a time alone keeps the day)."""
    app, fake = await two_circles(app_factory)
    before = await state(app)
    for line in (
        "!meeting move Circle next 2026-12-10 19:00",
        "!meeting move Circle next 2026-12-10T19:00",
        "!meeting cancel Circle next",
        "!meeting rsvp circle NEXT",
    ):
        answer = text(await fake.say("fac", line))
        assert ASKED in answer, (line, answer)
        assert "**Circle**:" in answer and "**Circle next**:" in answer, answer
        assert await state(app) == before, line
    answer = text(await fake.say("fac", "!meeting move Circle next 2026-12-10 19:00"))
    assert '`!meeting move "Circle" next 2026-12-10 19:00`' in answer, answer
    assert '`!meeting move "Circle next" 2026-12-10 19:00`' in answer, answer
    long = text(await fake.say("fac", '!meeting move "Circle next" 2026-12-10 19:00'))
    assert "Moved **Circle next** from 2026-12-10T18:00" in long, long
    assert "to 2026-12-10T19:00" in long, long
    short = text(await fake.say("fac", '!meeting move "Circle" next 2026-12-10 19:00'))
    assert "Moved **Circle** from 2026-12-01T19:00" in short and "to 2026-12-10T19:00" in short


async def test_a_missing_value_is_named_in_words_and_a_date_with_its_time_is_one_moment(
    app_factory: AppFactory,
) -> None:
    _app, fake = await two_circles(app_factory)
    missing = text(await fake.say("fac", "!meeting move #2 2026-12-10"))
    assert missing.startswith("`meeting move` is missing `to:` — new date and time"), missing
    assert "needs `to`" not in missing
    # a time after the date, unquoted, is that date's time, not a date without one
    moved = text(await fake.say("fac", "!meeting move #1 next 2026-12-09 19:00"))
    assert "needs a time of day" not in moved and "to 2026-12-09T19:00" in moved, moved
    scheduled = text(await fake.say("fac", "!meeting schedule Sunrise 2026-12-05 7:30am 45m"))
    assert "I read `2026-12-05 7:30am` as Sat 05 Dec 2026, 07:30" in scheduled, scheduled


def test_the_reported_line_asks_in_the_console(tmp_path: Path) -> None:
    """The reported line typed into a real `circlebot console`: asked, and both meetings keep
    their times."""
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "m.sqlite3"),
        "--clock",
        "2026-11-30T09:00:00Z",
        stdin=f":tier ana moderator\n@ana {SHORT}\n@ana {LONG}\n"
        "@ana !meeting move Circle next 2026-12-10 19:00\n"
        "@ana !meeting info #2\n",
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert ASKED in out, out
    assert '!meeting move "Circle next" 2026-12-10 19:00' in out, out
    assert "Moved" not in out, out


# --- the class: titles where one is the start of another, any words after them ------------

WORD = st.sampled_from(["circle", "Hope", "of", "friends", "next", "all", "Tuesday", "sorry"])
REST_WORDS = st.sampled_from(
    [
        "next",
        "all",
        "2026-12-08",
        "2026-12-10",
        "19:00",
        "7pm",
        "2026-12-10T20:00",
        "1h",
        "off",
        "yes",
        "sorry",
        "friends",
        "duration:2h",
    ]
)
# What follows the meeting in lines people type for each command (so that both readings, or
# one, often act), beside random words
TAILS: dict[str, list[list[str]]] = {
    "cancel": [["next"], ["2026-12-08"], ["2026-12-10"], ["all"], ["next", "sorry"]],
    "move": [
        ["next", "2026-12-10", "19:00"],
        ["2026-12-08", "20:00"],
        ["2026-12-10", "7pm"],
        ["next", "2026-12-10T20:00"],
        ["2026-12-10", "2026-12-11", "19:00"],
    ],
    "restore": [["2026-12-08"], ["2026-12-10"], ["all"]],
    "rsvp": [[], ["next"], ["all"], ["2026-12-08", "1h"], ["2026-12-10"]],
    "unrsvp": [[], ["all"], ["2026-12-10"], ["2026-12-08"]],
    "edit": [["duration:2h"], ["sorry"], []],
    "delete": [[], ["confirm:yes"]],
    "ping": [["off"], []],
}
CASES = st.sampled_from(sorted(TAILS)).flatmap(
    lambda command: st.tuples(
        st.just(command),
        st.one_of(st.sampled_from(TAILS[command]), st.lists(REST_WORDS, max_size=3)),
    )
)
EXTRA = st.one_of(
    st.sampled_from(["next", "all", "2026-12-08"]),
    st.lists(WORD, min_size=1, max_size=2).map(" ".join),
)


async def _three_ways(
    fake: FakePlatform, short: str, long: str, command: str, rest: list[str]
) -> tuple[Any, ...]:
    """The same two meetings set up three times over; the line typed unquoted the first
    time, with the short title named (`meeting:"S"`, then the rest of the long title and the
    words) the second, and the long one named the third; the meetings are deleted after each.
    Returns (state before, unquoted answer, state after it, after the short, after the long)."""
    extra = long.split()[len(short.split()) :]
    lines = (
        f"!meeting {command} {long} {' '.join(rest)}",
        f'!meeting {command} meeting:"{short}" {" ".join([*extra, *rest])}',
        f'!meeting {command} meeting:"{long}" {" ".join(rest)}',
    )
    results: list[Any] = []
    for line in lines:
        for schedule in (
            f'!meeting schedule "{short}" "2026-12-01 19:00" 60m repeat:weekly zone:UTC',
            f'!meeting schedule "{long}" "2026-12-03 18:00" 60m repeat:weekly zone:UTC',
        ):
            assert "Scheduled" in text(await fake.say("fac", schedule))
        ids = await meeting_ids(fake.app)
        if command in ("restore", "unrsvp"):  # something there to take back
            await fake.say("mod", f"!meeting cancel #{ids[0]} 2026-12-08")
            await fake.say("mod", f"!meeting cancel #{ids[1]} 2026-12-10")
            await fake.say("mod", f"!meeting rsvp #{ids[0]} all")
            await fake.say("mod", f"!meeting rsvp #{ids[1]} all")
        before = await state(fake.app)
        answer = text(await fake.say("mod", line))
        results.append((before, answer, await state(fake.app)))
        for meeting_id in await meeting_ids(fake.app):
            assert "Deleted" in text(
                await fake.say("mod", f"!meeting delete #{meeting_id} confirm:yes")
            )
    (before, answer, plain), (_b1, _a1, by_short), (_b2, _a2, by_long) = results
    return before, answer, plain, by_short, by_long


async def meeting_ids(app: App) -> list[int]:
    async with app.db.sessions() as session:
        return list(await session.scalars(select(Meeting.id).order_by(Meeting.id)))


def test_a_changing_command_acts_on_the_one_meeting_meant_or_asks(tmp_path: Path) -> None:
    """Meetings `S` and `S X` (one title the start of the other) and a changing command typed
    `S X rest...`. Naming `meeting:"S"` (then `X rest`) and naming `meeting:"S X"` (then
    `rest`) are the two readings: when both change something, the plain line must ask and
    change nothing; otherwise it changes nothing or exactly what the one reading that acts
    changes. One app serves every example (its meetings are deleted after each)."""
    loop = asyncio.new_event_loop()
    factory = AppFactory(tmp_path)
    try:
        _app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "meetings"],
                clock=VirtualClock(START),
                actors={"fac": Tier.FACILITATOR, "mod": Tier.MODERATOR},
            )
        )

        @settings(max_examples=50, deadline=None, derandomize=True)
        @given(
            short=st.lists(WORD, min_size=1, max_size=2).map(" ".join),
            extra=EXTRA,
            case=CASES,
        )
        def check(short: str, extra: str, case: tuple[str, list[str]]) -> None:
            (command, rest), long = case, f"{short} {extra}"
            before, answer, plain, by_short, by_long = loop.run_until_complete(
                _three_ways(fake, short, long, command, rest)
            )
            short_acts, long_acts = by_short != before, by_long != before
            if short_acts and long_acts:
                assert ASKED in answer, answer
            if ASKED in answer or plain == before:
                assert plain == before, answer
                return
            assert short_acts != long_acts, answer
            assert plain == (by_short if short_acts else by_long), answer

        check()
    finally:
        loop.run_until_complete(factory.close())
        loop.close()
