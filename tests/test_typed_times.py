"""Times as people type them, read by `read_wall_time` on a given clock.

Properties over every weekday and clock reading: a weekday with a time is the next (or last)
such moment, today included while that time is still to come; a zone abbreviation or fixed
offset in a time is refused in any case, never converted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.convert import read_wall_time
from bot.core.errors import ArgumentError
from bot.core.zones import _by_abbreviation, local_time_note

BERLIN = ZoneInfo("Europe/Berlin")
DAYS = (
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


def expected(base: datetime, weekday: int, hour: int, minute: int, prefer: str) -> datetime:
    """The first moment at or after `base` (or the last at or before) on that weekday at that
    time, by counting days: the meaning a person has in mind."""
    step = 1 if prefer == "future" else -1
    day = base.date()
    while True:
        at = datetime(day.year, day.month, day.day, hour, minute)
        if at.weekday() == weekday and (at >= base if step == 1 else at <= base):
            return at
        day += timedelta(days=step)


@settings(max_examples=150, deadline=None)
@given(
    now=moments,
    weekday=st.integers(0, 6),
    long=st.booleans(),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30]),
    time_first=st.booleans(),
    prefer=st.sampled_from(["future", "past"]),
)
def test_a_weekday_with_a_time_is_the_next_or_last_such_moment(
    now: datetime,
    weekday: int,
    long: bool,
    hour: int,
    minute: int,
    time_first: bool,
    prefer: str,
) -> None:
    name = DAYS[weekday][long]
    clock = f"{hour:02d}:{minute:02d}"
    # dateparser reads "19:00 mon" as no date (refused clearly); after a time, the full name
    typed = f"{clock} {DAYS[weekday][1]}" if time_first else f"{name} {clock}"
    base = now.astimezone(BERLIN).replace(tzinfo=None, second=0, microsecond=0)
    read = read_wall_time(typed, BERLIN, now, prefer=prefer)  # type: ignore[arg-type]
    assert read == expected(base, weekday, hour, minute, prefer), typed


def test_monday_7pm_typed_on_monday_morning_is_tonight() -> None:
    monday_morning = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert read_wall_time("mon 7pm", BERLIN, monday_morning) == datetime(2026, 11, 30, 19, 0)
    assert read_wall_time("mon 9am", BERLIN, monday_morning) == datetime(2026, 12, 7, 9, 0)
    assert read_wall_time("next monday 7pm", BERLIN, monday_morning) == datetime(
        2026, 12, 7, 19, 0
    )


@pytest.mark.parametrize("typed", ["in 1 month 7pm", "in a month at 7pm", "1 month from now 7pm"])
def test_a_word_that_starts_like_a_weekday_is_not_one(typed: str) -> None:
    monday = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)  # a month later is Monday 1 March too
    assert read_wall_time(typed, BERLIN, monday) == datetime(2027, 3, 1, 19, 0)


ABBREVIATIONS = sorted(a for a in _by_abbreviation(2026) if a not in {"UTC"})


@settings(max_examples=120, deadline=None)
@given(
    abbreviation=st.sampled_from(ABBREVIATIONS),
    case=st.sampled_from([str.lower, str.upper, str.title]),
    typed=st.sampled_from(["7pm {}", "tomorrow 7pm {}", "19:00 {} tomorrow", "mon 7:30 pm {}"]),
)
def test_a_zone_abbreviation_in_a_time_is_refused_in_any_case(
    abbreviation: str, case: object, typed: str
) -> None:
    word = case(abbreviation)  # type: ignore[operator]
    with pytest.raises(ArgumentError):
        read_wall_time(typed.format(word), BERLIN, datetime(2026, 11, 30, 9, 0, tzinfo=UTC))


@pytest.mark.parametrize("typed", ["7pm est", "7pm Est", "tomorrow 7pm cet", "7 pm ist"])
def test_a_lower_case_abbreviation_names_the_places_it_means(typed: str) -> None:
    with pytest.raises(ArgumentError, match="abbreviation, not a place") as raised:
        read_wall_time(typed, BERLIN, datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert "/" in raised.value.message  # a place such as America/New_York is suggested


@pytest.mark.parametrize("typed", ["7pm +0200", "7pm utc+2", "tomorrow 19:00 gmt-5"])
def test_a_fixed_offset_in_a_time_is_refused(typed: str) -> None:
    with pytest.raises(ArgumentError, match="fixed offset"):
        read_wall_time(typed, BERLIN, datetime(2026, 11, 30, 9, 0, tzinfo=UTC))


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(sorted(available_timezones())),
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
)
def test_a_zone_confirmation_names_the_zone_or_its_real_offset(zone: str, now: datetime) -> None:
    # 'America/Sao_Paulo' (whose tz database name is '-03') once read 'It is now ... (UTC%:z)'
    here = now.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    note = local_time_note(ZoneInfo(zone), now.replace(tzinfo=UTC))
    name = here.tzname() or ""
    label = note.rsplit(f") in {zone}.", 1)[0].rsplit("(", 1)[1]
    if name.isalpha():
        assert label == name, note
    else:
        assert re.fullmatch(r"UTC[+-]\d\d:\d\d", label), note
        sign, hours, minutes = label[3], int(label[4:6]), int(label[7:9])
        offset = timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
        assert offset == here.utcoffset(), (note, here.utcoffset())
