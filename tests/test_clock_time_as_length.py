"""A time of day typed where a length of time is asked for (a meeting's duration, how long
before to remind or announce, how long an urge lasted, the console's `:advance`).

`1:30` was read as an hour and a half and `19:00` as 19 hours: a member who typed the end time
of a meeting, or when to be reminded, got a meeting 19 hours long or a reminder at midnight
the night before, and was told it was done. Each such door refuses a time of day instead,
says a length is asked for and changes nothing. `19h` stays 19 hours; `90m`, `1h30m` and a
bare number of minutes are lengths as before.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.clock import VirtualClock
from bot.core.convert import clock_time_in, parse_duration
from bot.core.errors import ArgumentError
from bot.core.permissions import Tier
from cogs.meetings.models import Meeting, MeetingRsvp
from cogs.worksheets.insights import check_minutes, parse_quick
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform, Said

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
CIRCLE = '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC'
REFUSED = "looks like a time of day"


@st.composite
def clock_times(draw: st.DrawFn) -> str:
    """A time of day as members type one: `7:05`, `19:00`, `07:30:15`, `7pm`, `7:30 p.m.`,
    `19.45`, `19h30`, `noon`, `7 o'clock`, `0730` and `0730 hrs` (24-hour, a leading zero,
    no colon)."""
    form = draw(
        st.sampled_from(("colon", "seconds", "half", "dot", "h", "word", "oclock", "hhmm"))
    )
    half = draw(st.sampled_from(("am", "pm", "AM", "PM", "a.m.", "p.m.", " pm", " am")))
    hour12, hour24 = draw(st.integers(1, 12)), draw(st.integers(0, 23))
    minute, second = draw(st.integers(0, 59)), draw(st.integers(0, 59))
    padded = draw(st.booleans())
    hour = f"{hour24:02d}" if padded else str(hour24)
    if form == "colon":
        return f"{hour}:{minute:02d}"
    if form == "seconds":
        return f"{hour}:{minute:02d}:{second:02d}"
    if form == "half":
        shown = draw(st.sampled_from((str(hour12), f"{hour12}:{minute:02d}")))
        return shown + half
    if form == "dot":
        return f"{hour}.{minute:02d}"
    if form == "h":
        return f"{draw(st.integers(13, 23))}h{minute:02d}"
    if form == "oclock":
        return f"{hour12} o'clock"
    if form == "hhmm":
        word = draw(st.sampled_from(("", "h", " hrs", "hours", " HOUR")))
        return f"0{draw(st.integers(0, 9))}{minute:02d}{word}"
    return draw(st.sampled_from(("noon", "midnight", "midday", "Noon")))


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def state(app: App, fake: FakePlatform) -> dict[str, Any]:
    """What a refused command must leave as it was: the meetings' lengths, the RSVPs'
    reminders, the announcement offsets and the toolbox items."""
    async with app.db.sessions() as session:
        meetings = [(m.id, m.duration_minutes) for m in await session.scalars(select(Meeting))]
        rsvps = [
            (r.actor_key, r.remind_minutes) for r in await session.scalars(select(MeetingRsvp))
        ]
    return {
        "meetings": sorted(meetings),
        "rsvps": sorted(rsvps),
        "announce": text(await fake.say("mod", "!meeting announce default")),
    }


@pytest_asyncio.fixture
async def world(app_factory: AppFactory) -> AsyncIterator[tuple[App, FakePlatform]]:
    """A weekly meeting ben RSVPed to with a 30-minute reminder."""
    app, fake = await app_factory.on_platform(
        ["general", "meetings", "worksheets"],
        clock=VirtualClock(START),
        actors={"fac": Tier.FACILITATOR, "mod": Tier.MODERATOR},
    )
    assert "Scheduled" in text(await fake.say("fac", CIRCLE))
    assert "Noted" in text(await fake.say("ben", "!meeting rsvp Circle reminder:30m"))
    yield app, fake


def doors(time: str) -> list[tuple[str, str]]:
    """(who, line) for every command that reads a length of time, given `time` for it."""
    return [
        ("fac", f'!meeting schedule Other "2026-12-02 19:00" "{time}"'),
        ("fac", f'!meeting schedule Other "2026-12-02 19:00" duration:"{time}"'),
        ("fac", f'!meeting edit Circle duration:"{time}"'),
        ("ben", f'!meeting rsvp Circle reminder:"{time}"'),
        ("mod", f'!meeting announce "{time}"'),
        ("mod", f'!meeting announce "24h, {time}"'),
    ]


@PROPERTY
@given(time=clock_times())
async def test_a_time_of_day_is_refused_wherever_a_length_is_asked(
    world: tuple[App, FakePlatform], time: str
) -> None:
    app, fake = world
    assert clock_time_in(time) is not None, time
    with pytest.raises(ArgumentError, match=REFUSED):
        parse_duration(time)
    with pytest.raises(Exception, match=REFUSED):
        check_minutes(time)
    before = await state(app, fake)
    for who, line in doors(time):
        answer = text(await fake.say(who, line))
        assert REFUSED in answer or "is a time of day" in answer, (line, answer)
        assert "Scheduled" not in answer and "Noted" not in answer, (line, answer)
    assert await state(app, fake) == before


@pytest.mark.parametrize(
    ("line", "says"),
    [
        # the end time typed after the start: 20:30 was a meeting 20 hours 30 minutes long
        ("!meeting schedule Other 2026-12-02 19:00 20:30", "`20:30` looks like a time of day"),
        ('!meeting schedule Other "2026-12-02 19:00" 1:30', "`1:30` looks like a time of day"),
        ("!meeting edit Circle duration:19:00", "the `duration` option takes a length of time"),
        ("!meeting edit Circle duration:7pm", "For a length, write e.g. 90m or 1h30m."),
        ("!meeting announce 19:00", "the `offsets` option takes a length of time"),
        ("!meeting announce 24h,7 pm", "`7 pm` looks like a time of day"),
        ("!meeting rsvp Circle reminder:19h30", "`19h30` is a time of day"),
        ("!meeting rsvp Circle reminder:noon", "`noon` is a time of day"),
    ],
)
async def test_the_quoted_cases_are_refused_naming_what_is_asked(
    world: tuple[App, FakePlatform], line: str, says: str
) -> None:
    app, fake = world
    before = await state(app, fake)
    who = "ben" if "rsvp" in line else "mod" if "announce" in line else "fac"
    answer = text(await fake.say(who, line))
    assert says in answer, answer
    assert await state(app, fake) == before


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("90m", 90),
        ("1h30m", 90),
        ("45", 45),
        ("90", 90),
        ("1440", 1440),
        ("1900", 1900),
        ("0060", 60),
        ("2h", 120),
        ("19h", 19 * 60),
        ("1d12h", 2160),
    ],
)
def test_lengths_are_read_as_before(typed: str, minutes: int) -> None:
    """`19h` stays 19 hours: a length with a unit, never a time of day. A bare number with
    no leading zero stays minutes: `1900` could be 19:00, but `1440` (a day) and `90` are
    lengths, and no rule tells them apart; `0060` has no minute 60, so it is no time."""
    assert clock_time_in(typed) is None
    assert parse_duration(typed) == timedelta(minutes=minutes)


async def test_a_length_is_still_taken_where_a_length_is_asked(
    world: tuple[App, FakePlatform],
) -> None:
    app, fake = world
    assert "Updated" in text(await fake.say("fac", "!meeting edit Circle duration:90m"))
    assert "19 hours" in text(await fake.say("mod", "!meeting announce 19h,10m"))
    assert (await state(app, fake))["meetings"][0][1] == 90


@pytest.mark.parametrize(
    ("who", "line", "says"),
    [
        # `0730` is 07:30 (no one writes 730 minutes with a leading zero): it was announced
        # "730 minutes before" and noted as a reminder 730 minutes before
        ("mod", "!meeting announce 0730", "`0730` looks like a time of day"),
        ("ben", "!meeting rsvp Circle reminder:0730", "`0730` is a time of day"),
        # `0130` for an hour and a half: the meeting became 130 minutes long
        ("fac", "!meeting edit Circle duration:0130", "`0130` looks like a time of day"),
    ],
)
async def test_a_24_hour_time_without_a_colon_is_no_length(
    world: tuple[App, FakePlatform], who: str, line: str, says: str
) -> None:
    app, fake = world
    before = await state(app, fake)
    answer = text(await fake.say(who, line))
    assert says in answer, answer
    assert await state(app, fake) == before, (line, answer)


@given(hour=st.integers(0, 9), minute=st.integers(0, 59))
def test_a_leading_zero_hhmm_is_refused_by_every_reader_of_a_length(
    hour: int, minute: int
) -> None:
    """`0000`-`0959` with minutes 00-59 is a 24-hour time; `world`'s doors are covered by
    `clock_times` above."""
    typed = f"0{hour}{minute:02d}"
    assert clock_time_in(typed) == typed
    assert clock_time_in(f"at {typed}") is not None
    with pytest.raises(ArgumentError, match=REFUSED):
        parse_duration(typed)
    with pytest.raises(Exception, match=REFUSED):
        check_minutes(typed)


HOURS_WORDS = ("h", "hr", "hrs", "hour", "hours", "H", "Hrs", "HOURS")


@pytest.mark.parametrize("typed", ["0730h", "0730 hrs", "0130h", "0800 hours"])
def test_a_leading_zero_time_with_an_hours_word_is_not_a_length(typed: str) -> None:
    """`0730` was refused where a length is asked, but `0730h` / `0730 hrs` (how 07:30 is
    written in much of the world) was taken as 730 hours: `:advance 0730h` moved the console
    clock 30 days, running every job due."""
    assert clock_time_in(typed) == typed
    with pytest.raises(ArgumentError, match=REFUSED):
        parse_duration(typed)


@given(
    hour=st.integers(0, 9),
    minute=st.integers(0, 59),
    space=st.sampled_from(["", " "]),
    word=st.sampled_from(HOURS_WORDS),
)
def test_a_leading_zero_hhmm_with_an_hours_word_is_refused_by_every_reader_of_a_length(
    hour: int, minute: int, space: str, word: str
) -> None:
    """`0000h`-`0959 hours`: a 24-hour time with an hours word, refused as `0730` is;
    `world`'s doors are covered by `clock_times` above (its `hhmm` form takes a word too)."""
    typed = f"0{hour}{minute:02d}{space}{word}"
    assert clock_time_in(typed) == typed
    with pytest.raises(ArgumentError, match=REFUSED):
        parse_duration(typed)
    with pytest.raises(Exception, match=REFUSED):
        check_minutes(typed)


COLONS = [":", "\uff1a", "\u2236", "\ufe55", "\ufe13", "\ua789"]


@pytest.mark.parametrize("colon", ["\uff1a", "\u2236"])  # full-width colon, ratio sign
def test_an_urges_minutes_never_come_from_a_full_width_time(colon: str) -> None:
    """`7：30 min` (a CJK keyboard) and `7∶30 min` gave 30 minutes; `7:30 min` gives none."""
    assert "minutes" not in parse_quick(f"stayed in at 7{colon}30 min then walked")


@given(
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    colon=st.sampled_from(COLONS),
    wide=st.booleans(),
    unit=st.sampled_from(["min", "mins", "minutes", "m"]),
    length=st.integers(1, 1440),
)
def test_an_urges_minutes_come_only_from_a_length_however_it_is_typed(
    hour: int, minute: int, colon: str, wide: bool, unit: str, length: int
) -> None:
    """A time of day with any colon look-alike, in ASCII or full-width digits, gives no
    minutes; a length in either kind of digits gives its minutes, and the words stay."""

    def digits(n: str) -> str:
        return "".join(chr(ord(c) + 0xFEE0) for c in n) if wide else n

    at = f"{digits(str(hour))}{colon}{digits(f'{minute:02d}')}"
    assert "minutes" not in parse_quick(f"at {at} {unit} then walked"), at
    read = parse_quick(f"after work at {at}; walked it off {digits(str(length))} {unit}")
    assert read["minutes"] == length, read
    assert read["trigger"] == f"after work at {at}", read
    with pytest.raises(Exception, match="time of day"):
        check_minutes(at)


def test_an_urges_length_never_comes_from_a_time_of_day() -> None:
    """`urge log 6 after work at 7:30 min`: the minutes of a time are no length."""
    assert "minutes" not in parse_quick("stayed in at 7:30 min then walked")
    assert parse_quick("after work; walked it off 20 min")["minutes"] == 20
    assert check_minutes("20") == 20


async def test_on_the_console_a_time_of_day_moves_no_clock_and_schedules_nothing(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    """Through the console adapter: `:advance 1:30` moved the clock an hour and a half,
    `:advance 0730` 730 minutes, `:advance 0730h` 30 days, and `!meeting schedule ... 1:30`
    saved a 90-minute meeting."""
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "meetings"]}), clock=VirtualClock(START)
    )
    out = io.StringIO()
    console = ConsoleAdapter(app, out=out, files_dir=tmp_path)
    app.add_transport(console)
    for line in (
        ":advance 1:30",
        ":advance 7pm",
        ":advance 0730",
        ":advance 0730h",
        '!meeting schedule Circle "2026-12-01 19:00" 1:30',
        "!meeting schedule Circle 2026-12-01 19:00 20:30",
    ):
        assert await console.handle_line(line)
    shown = out.getvalue()
    assert app.clock.now() == START
    assert shown.count(REFUSED) == 6, shown
    assert "Scheduled" not in shown
    async with app.db.sessions() as session:
        assert (await session.scalars(select(Meeting))).all() == []
