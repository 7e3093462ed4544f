"""Times as people type them, read by `read_wall_time` on a given clock.

Properties over every weekday and clock reading: a weekday with a time is the next (or last)
such moment, today included while that time is still to come; a zone abbreviation or fixed
offset in a time is refused in any case, never converted.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.convert import has_time_of_day, read_wall_time
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
    if name == zone:  # 'UTC', 'EET' in winter: the zone's own name, said once
        assert note.endswith(f" in {zone}.") and "(" not in note, note
        return
    label = note.rsplit(f") in {zone}.", 1)[0].rsplit("(", 1)[1]
    if name.isalpha():
        assert label == name, note
    else:
        assert re.fullmatch(r"UTC[+-]\d\d:\d\d", label), note
        sign, hours, minutes = label[3], int(label[4:6]), int(label[7:9])
        offset = timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
        assert offset == here.utcoffset(), (note, here.utcoffset())


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


@settings(max_examples=150, deadline=None)
@given(
    now=moments,
    day=st.integers(1, 31),
    hour=st.integers(1, 12),
    pm=st.booleans(),
    words=st.sampled_from(["the {d} at {t}", "{d} {t}", "on the {d} at {t}", "the {d} {t}"]),
    prefer=st.sampled_from(["future", "past"]),
)
def test_a_day_of_the_month_alone_is_the_next_or_last_such_day(
    now: datetime, day: int, hour: int, pm: bool, words: str, prefer: str
) -> None:
    """`the 5th at 7pm` is the coming 5th (the last one, reading the past), skipping months too
    short for the day: found by counting days, the meaning a person has in mind."""
    clock = f"{hour}{'pm' if pm else 'am'}"
    hour24 = hour % 12 + (12 if pm else 0)
    typed = words.format(d=_ordinal(day), t=clock)
    got = read_wall_time(typed, BERLIN, now, prefer=prefer)  # type: ignore[arg-type]
    base = now.astimezone(BERLIN).replace(tzinfo=None)
    step = 1 if prefer == "future" else -1
    probe = base.date()
    while True:
        at = datetime(probe.year, probe.month, probe.day, hour24)
        if probe.day == day and (at >= base if step == 1 else at <= base):
            break
        probe += timedelta(days=step)
    assert got == at, (typed, base, got, at)


@settings(deadline=None)  # the first example imports dateparser: over 200 ms on a busy machine
@given(
    year=st.integers(2000, 2100),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
    padded=st.booleans(),
    sep=st.sampled_from("-/"),
)
def test_a_date_in_digits_is_that_day_or_refused_with_the_reason(
    year: int, month: int, day: int, padded: bool, sep: str
) -> None:
    """Year-month-day in digits means exactly that day; a day the month does not have is
    refused naming the month's length, never moved to another day."""
    import calendar

    date = f"{year}{sep}{month:02}{sep}{day:02}" if padded else f"{year}{sep}{month}{sep}{day}"
    length = calendar.monthrange(year, month)[1]
    if day <= length:
        got = read_wall_time(f"{date} 7pm", BERLIN, datetime(2026, 11, 30, tzinfo=UTC))
        assert got == datetime(year, month, day, 19), (date, got)
    else:
        with pytest.raises(ArgumentError, match=f"has {length} days"):
            read_wall_time(f"{date} 7pm", BERLIN, datetime(2026, 11, 30, tzinfo=UTC))


@settings(deadline=None)
@given(first=st.integers(1, 31), second=st.integers(1, 13), year=st.integers(2026, 2030))
def test_day_and_month_that_could_swap_are_refused_not_guessed(
    first: int, second: int, year: int
) -> None:
    """`05/12/2026` is 5 December in most of the world and 12 May in the United States: the
    member is asked for year-month-day. A day over 12 leaves only one reading."""
    typed = f"{first:02}/{second:02}/{year} 19:00"
    now = datetime(2026, 11, 30, tzinfo=UTC)
    if first != second and first <= 12 and second <= 12:
        with pytest.raises(ArgumentError, match="two ways"):
            read_wall_time(typed, BERLIN, now)
    elif first > 12 and second <= 12 and first <= calendar_days(year, second):
        assert read_wall_time(typed, BERLIN, now) == datetime(year, second, first, 19)


def calendar_days(year: int, month: int) -> int:
    import calendar

    return calendar.monthrange(year, month)[1]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("2026-13-01 7pm", "no month 13"),
        ("2027-02-30 7pm", "February 2027 has 28 days"),
        ("fri the 5th 7pm", "The 5th is a Saturday"),
        ("the 32nd 7pm", "not a day of the month"),
    ],
)
def test_a_date_that_does_not_exist_says_why(typed: str, reason: str) -> None:
    with pytest.raises(ArgumentError, match=reason):
        read_wall_time(typed, ZoneInfo("Europe/London"), datetime(2026, 11, 30, 12, tzinfo=UTC))


_MONTH_WORDS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


@settings(max_examples=150, deadline=None)
@example(month="jan", number=34, year=None, hour=2, order=False, days=2922)  # 34 jan in 2034
@given(
    month=st.sampled_from(_MONTH_WORDS),
    number=st.integers(0, 99),
    year=st.one_of(st.none(), st.integers(2026, 2090)),
    hour=st.integers(1, 12),
    order=st.booleans(),
    days=st.integers(0, 3000),
)
def test_a_reading_is_never_years_ahead_unless_that_year_was_written(
    month: str, number: int, year: int | None, hour: int, order: bool, days: int
) -> None:
    """`dec 32 7pm` was read as 8 Dec 2032: a number that is no day became a year. Now a year
    far from today is only ever one the member wrote; anything else is refused, naming it."""
    now = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=days)
    date = f"{month} {number}" if order else f"{number} {month}"
    typed = f"{date} {year} {hour}pm" if year else f"{date} {hour}pm"
    try:
        got = read_wall_time(typed, BERLIN, now)
    except ArgumentError:
        return
    if str(got.year) not in typed:
        assert got - now.replace(tzinfo=None) < timedelta(days=2 * 366), (typed, got)
        assert got.day == number, (typed, got)


@settings(max_examples=120, deadline=None)
@given(
    hour=st.integers(0, 23),
    minute=st.one_of(st.none(), st.integers(0, 59)),
    day=st.sampled_from(["", "tomorrow ", "friday ", "next monday ", "dec 20 "]),
    days=st.integers(0, 400),
)
def test_an_h_time_is_the_same_time_as_the_colon_form(
    hour: int, minute: int | None, day: str, days: int
) -> None:
    """`19h`, `19h30` and `7h15`, as much of Europe writes times, are 19:00, 19:30 and 07:15,
    not a span from now nor another day."""
    now = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=days)
    h_form = f"{day}{hour}h{minute:02}" if minute is not None else f"{day}{hour}h"
    colon = f"{day}{hour}:{minute or 0:02}"
    assert read_wall_time(h_form, BERLIN, now) == read_wall_time(colon, BERLIN, now)


@settings(max_examples=150, deadline=None)
@given(
    first=st.integers(1, 31),
    second=st.integers(1, 31),
    place=st.sampled_from(
        [
            ("US", "Europe/Berlin", False),
            ("PH", "UTC", False),
            ("DE", "America/New_York", True),
            ("GB", "UTC", True),
            ("IN", "UTC", True),
            ("", "America/Chicago", False),
            ("", "Europe/Berlin", True),
            ("", "UTC", True),
        ]
    ),
)
def test_day_and_month_in_digits_follow_the_country(
    first: int, second: int, place: tuple[str, str, bool]
) -> None:
    """`01/02` is 1 February in Germany and 2 January in the United States (the member's
    country, else the country of their zone, else day first); a number over 12 can only be
    the day, and a pair that names no day is refused, never read as a year."""
    country, zone, day_first = place
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    day, month = (first, second) if day_first else (second, first)
    if month > 12:
        day, month = month, day
    typed = f"{first:02}/{second:02} 7pm"
    if month > 12 or day > calendar_days(2028, month):
        with pytest.raises(ArgumentError, match="not a day and month"):
            read_wall_time(typed, ZoneInfo(zone), now, country=country)
        return
    if (day, month) == (29, 2):
        return  # the next 29 February is over a year away
    got = read_wall_time(typed, ZoneInfo(zone), now, country=country)
    assert (got.month, got.day, got.hour) == (month, day, 19), (typed, country, zone, got)
    assert now.replace(tzinfo=None) < got < now.replace(tzinfo=None) + timedelta(days=366)


@pytest.mark.parametrize("typed", ["dec 32 7pm", "dec 99 7pm", "13/13 7pm", "31/02 7pm"])
def test_a_number_that_is_no_day_is_refused_naming_it(typed: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        read_wall_time(typed, BERLIN, datetime(2026, 12, 1, tzinfo=UTC))
    assert typed.split()[0 if "/" in typed else 1] in caught.value.message
    assert "2026-12-05" in caught.value.message


@settings(max_examples=150, deadline=None)
@given(
    first=st.integers(0, 31),
    second=st.integers(0, 31),
    sign=st.sampled_from(["-", "+"]),
    where=st.sampled_from(["first", "second", "day", "day first"]),
    month=st.sampled_from(_MONTH_WORDS),
    days=st.integers(0, 400),
)
def test_a_date_part_with_a_sign_is_refused(
    first: int, second: int, sign: str, where: str, month: str, days: int
) -> None:
    """`-1/12 7pm` was 12 January and `+3/12 7pm` 3 December: the sign was dropped and the
    meeting saved. A day or month with a sign is never read as a date; the refusal names it."""
    now = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=days)
    typed = {
        "first": f"{sign}{first}/{second} 7pm",
        "second": f"{first}/{sign}{second} 7pm",
        "day": f"{month} {sign}{first} 7pm",
        "day first": f"{sign}{first} {month} 7pm",
    }[where]
    with pytest.raises(ArgumentError) as caught:
        read_wall_time(typed, BERLIN, now)
    assert sign in caught.value.message, (typed, caught.value.message)


@settings(max_examples=150, deadline=None)
@given(
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    day=st.sampled_from(["", "tomorrow ", "today ", "friday ", "next monday ", "dec 20 "]),
    half=st.booleans(),
    days=st.integers(0, 400),
)
def test_a_dotted_time_is_the_same_time_as_the_colon_form(
    hour: int, minute: int, day: str, half: bool, days: int
) -> None:
    """`tomorrow 19.30` was tomorrow at the minute it was typed and `7.30pm` was refused as
    `30pm`: a time with a dot, with am/pm, with an hour of 13-23 or next to a day word, is the
    time written with a colon."""
    now = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=days)
    if half:
        hour = hour % 12 + 1
        dotted, colon = f"{day}{hour}.{minute:02}pm", f"{day}{hour}:{minute:02}pm"
    else:
        if not (hour >= 13 or day.strip() in {"tomorrow", "today", "friday", "next monday"}):
            hour = 13 + hour % 11
        dotted, colon = f"{day}{hour}.{minute:02}", f"{day}{hour}:{minute:02}"
    assert has_time_of_day(dotted)
    assert read_wall_time(dotted, BERLIN, now) == read_wall_time(colon, BERLIN, now)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("01.02.2027 19:00", None), ("01.02. 19:00", (2027, 1, 2, 19))],
)
def test_a_date_with_dots_stays_a_date(
    typed: str, shown: tuple[int, int, int, int] | None
) -> None:
    """Only a time is read from `H.MM`; dates with dots read (or are refused) as before."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    if shown is None:
        with pytest.raises(ArgumentError, match="two ways"):
            read_wall_time(typed, BERLIN, now)
        return
    got = read_wall_time(typed, BERLIN, now)
    assert (got.year, got.month, got.day, got.hour) == shown


@pytest.mark.parametrize(
    ("typed", "says", "not_said"),
    [
        ("29/02 7pm", "2028-02-29 19:00", "year must be written in full"),
        ("dec 32 7pm", "`32`", "year must be written in full"),
        ("5 dec 27 7pm", "year must be written in full", "2028"),
    ],
)
def test_a_refused_date_says_only_what_applies(typed: str, says: str, not_said: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        read_wall_time(typed, BERLIN, datetime(2026, 12, 1, tzinfo=UTC))
    assert says in caught.value.message
    assert not_said not in caught.value.message


UTC_ZONE = ZoneInfo("UTC")
_MONTH_NAMES = tuple(calendar.month_name)[1:]  # English, as the messages name months


def test_a_month_and_year_without_a_day_asks_which_day() -> None:
    """`feb 2027 7pm` typed on 15 December 2026 was 15 February 2027 (today's day of the
    month), and typed on 10 January 2034 was 10 February 2027, in the past."""
    for now in (datetime(2026, 12, 15, 9, tzinfo=UTC), datetime(2034, 1, 10, 9, tzinfo=UTC)):
        with pytest.raises(ArgumentError) as caught:
            read_wall_time("feb 2027 7pm", UTC_ZONE, now)
        assert "`feb 2027 7pm`: which day of February 2027? e.g. feb 5 2027 7pm" in (
            caught.value.message
        )


@settings(max_examples=150, deadline=None)
@given(
    now=moments,
    month=st.integers(1, 12),
    long=st.booleans(),
    year=st.one_of(st.none(), st.integers(2026, 2030)),
    clock=st.sampled_from(["7pm", "19:00", "7:30 pm", "at 7pm", "noon"]),
    time_first=st.booleans(),
)
def test_a_month_without_a_day_is_refused_never_given_todays_day(
    now: datetime, month: int, long: bool, year: int | None, clock: str, time_first: bool
) -> None:
    """Whatever today is, a month (with or without its year) and a time but no day is
    refused, asking which day; no day of the month is taken from the clock."""
    name = _MONTH_NAMES[month - 1] if long else _MONTH_WORDS[month - 1]
    date = f"{name} {year}" if year else name
    typed = f"{clock} {date}" if time_first else f"{date} {clock}"
    with pytest.raises(ArgumentError, match="which day of") as caught:
        read_wall_time(typed, UTC_ZONE, now)
    assert _MONTH_NAMES[month - 1] in caught.value.message, caught.value.message


@pytest.mark.parametrize(
    ("typed", "weekday", "says"),
    [
        # typed 15 Dec 2026: Saturday 19 December; Wednesday 1 December 2027
        ("fri 19 7pm", 4, "The 19th is a Saturday"),
        ("tue 1 dec 7pm", 1, "is a Wednesday"),
        # typed 10 Jan 2034: the 5 was read as May and the day was today's (Wednesday 10 May)
        ("sat 5 2pm", 5, "The 5th is a"),
    ],
)
def test_a_weekday_typed_is_never_silently_contradicted(
    typed: str, weekday: int, says: str
) -> None:
    for now in (datetime(2026, 12, 15, 9, tzinfo=UTC), datetime(2034, 1, 10, 9, tzinfo=UTC)):
        found = _reading(typed, now)
        if isinstance(found, str):
            assert says in found or now.year == 2034, (typed, found)
        else:
            assert found.weekday() == weekday, (typed, now, found)


def _reading(typed: str, now: datetime) -> datetime | str:
    """What `read_wall_time` reads `typed` as in UTC, or the refusal's message."""
    try:
        return read_wall_time(typed, UTC_ZONE, now)
    except ArgumentError as refused:
        return refused.message


WEEKDAY_FORMS = (
    "{wd} {d} {t}",
    "{wd} the {o} {t}",
    "{wd} {d} {m} {t}",
    "{wd}, {d} {m} {t}",
    "{wd} {m} {d} {t}",
    "{wd} {m} {o} {t}",
    "{t} {wd} {d} {m}",
    "{wd} {d} {m} {y} {t}",
    "{wd} {m} {d} {y} {t}",
    "{wd}, {m} {d}, {y} {t}",
    "{wd} {y}-{mm:02}-{d:02} {t}",
    "{t} {wd} {m} {d} {y}",
)


@settings(max_examples=300, deadline=None)
@example(  # `19:00 mon feb 9 2026` was refused as unreadable (`7pm mon feb 9 2026` was read)
    now=datetime(2026, 1, 1, 12, tzinfo=UTC),
    when=date(2026, 2, 9),
    shift=0,
    long=False,
    form="{t} {wd} {m} {d} {y}",
    clock="19:00",
)
@example(  # typed on Sunday 25 January 2026, `sun 1 feb 7pm` was that very evening
    now=datetime(2026, 1, 25, tzinfo=UTC),
    when=date(2026, 2, 1),
    shift=0,
    long=False,
    form="{wd} {d} {m} {t}",
    clock="7pm",
)
@given(
    now=moments,
    when=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    shift=st.integers(0, 6),
    long=st.booleans(),
    form=st.sampled_from(WEEKDAY_FORMS),
    clock=st.sampled_from(["7pm", "19:00", "2:30 pm", "9am"]),
)
def test_a_weekday_word_and_a_date_always_agree(
    now: datetime, when: date, shift: int, long: bool, form: str, clock: str
) -> None:
    """Any form with a weekday word and a date: a reading is on the weekday typed, or the
    member is refused. With the year written the date is fixed, so a wrong
    weekday is always refused and the right one reads as that very date."""
    wd = DAYS[(when.weekday() + shift) % 7][long]
    typed = form.format(
        wd=wd,
        d=when.day,
        o=_ordinal(when.day),
        m=_MONTH_WORDS[when.month - 1],
        mm=when.month,
        y=when.year,
        t=clock,
    )
    found = _reading(typed, now)
    if isinstance(found, str):
        assert shift != 0 or "{y}" not in form, (typed, found)
        return
    assert found.weekday() == (when.weekday() + shift) % 7, (typed, now, found)
    assert found.day == when.day, (typed, found)
    if "{y}" in form:
        assert shift == 0 and found.date() == when, (typed, found)


TUESDAY_MORNING = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
DAY_WORDS = (*(w for pair in DAYS for w in pair), "today", "tonight", "tomorrow", "yesterday")


@pytest.mark.parametrize("typed", ["tomorrow at 7", "today at 8"])
def test_an_hour_typed_after_at_is_never_replaced_by_the_current_time(typed: str) -> None:
    """`tomorrow at 7` was read as tomorrow at 10:00 (the time it was typed): a meeting
    scheduled three hours from what the member meant, with no word said. A bare hour is
    no time of day anywhere else (`7`, `the 5th at 7`), so it is asked about."""
    with pytest.raises(ArgumentError) as caught:
        read_wall_time(typed, BERLIN, TUESDAY_MORNING)
    hour = typed.split()[-1]
    assert f"{hour} in the morning or the evening? Write {hour}am, {hour}pm or " in (
        caught.value.message
    )


@pytest.mark.parametrize("typed", ["sunday at 10", "fri at 7", "monday at 6"])
def test_a_weekday_at_an_hour_is_not_refused_with_a_month_never_typed(typed: str) -> None:
    """`sunday at 10` was refused with "October 1, 2027 is a Friday; say the date, e.g.
    2027-10-01": no October was typed, and the example offered was that wrong date."""
    with pytest.raises(ArgumentError) as caught:
        read_wall_time(typed, BERLIN, TUESDAY_MORNING)
    assert "in the morning or the evening?" in caught.value.message
    assert "2027" not in caught.value.message


@settings(max_examples=150, deadline=None)
@given(
    now=moments,
    day=st.sampled_from(DAY_WORDS),
    hour=st.integers(0, 23),
    padded=st.booleans(),
    prefer=st.sampled_from(["future", "past"]),
)
def test_a_bare_hour_after_at_is_asked_about_never_taken_from_the_clock(
    now: datetime, day: str, hour: int, padded: bool, prefer: str
) -> None:
    """Any weekday word or relative day, then `at` and a bare hour: never read as the time
    it was typed (or any other time), never refused naming a month or year not typed; the
    member is asked to write the time (`7am`, `7pm` or `19:00`; `19:00` for 19)."""
    typed = f"{day} at {hour:02d}" if padded else f"{day} at {hour}"
    try:
        found = read_wall_time(typed, BERLIN, now, prefer=prefer)  # type: ignore[arg-type]
    except ArgumentError as refused:
        message = refused.message
    else:
        raise AssertionError((typed, now, found))
    assert not re.search(r"\b2\d{3}\b", message), (typed, message)
    assert not any(month in message for month in _MONTH_NAMES), (typed, message)
    assert f"{hour:02d}:00" in message or f"{hour + 12}:00" in message, (typed, message)


@settings(max_examples=120, deadline=None)
@given(
    hour=st.integers(0, 19),
    minute=st.integers(0, 59),
    day=st.sampled_from(["tomorrow", "today", "fri", "next monday", "dec 5", "5 dec"]),
    suffix=st.sampled_from(["", "h", " hrs"]),
)
def test_four_digits_of_a_24_hour_time_are_read_as_that_time(
    hour: int, minute: int, day: str, suffix: str
) -> None:
    """`tomorrow 0730` was read as tomorrow at the time it was typed, `fri 0730` as the year
    730: four digits 0000-1959 after a day are the time they spell, never the clock's."""
    now = datetime(2026, 12, 1, 9, 17, tzinfo=UTC)
    typed = f"{day} {hour:02d}{minute:02d}{suffix}"
    got = read_wall_time(typed, BERLIN, now)
    assert (got.hour, got.minute) == (hour, minute), (typed, got)
