"""The repeat grammar as a property: every form the help shows, generated with its intended
rule, expands like dateutil's expansion of that rule, and its description reads back the same."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any

import pytest
from dateutil.rrule import DAILY, FR, MO, MONTHLY, SA, SU, TH, TU, WE, WEEKLY, YEARLY, rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import UserError
from cogs.meetings.recurrence import (
    describe,
    interval_warning,
    read_repeat,
    repeat_help,
    skip_warning,
)

DAYS = (MO, TU, WE, TH, FR, SA, SU)
SHORT = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LONG = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORD = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", -1: "last"}
ORD_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
SAMPLE = 40  # occurrences compared per example


def th(n: int) -> str:
    return {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(n, "th")


def day_list(days: list[int], draw: Any) -> str:
    names = [draw(st.sampled_from((SHORT[d], LONG[d], LONG[d] + "s"))) for d in days]
    sep = draw(st.sampled_from((",", ", ", " and ", " ")))
    return sep.join(names)


@st.composite
def phrases(draw: Any) -> tuple[str, dict[str, Any], datetime]:
    """(phrase, intended rrule keywords, start) for one of the forms `repeat_help` names."""
    start = datetime.combine(
        draw(st.dates(date(2026, 1, 1), date(2030, 12, 31))),
        time(draw(st.integers(0, 23)), draw(st.sampled_from((0, 15, 30, 45)))),
    )
    n = draw(st.integers(1, 12))
    form = draw(
        st.sampled_from(
            (
                "daily",
                "weekly",
                "weekly_on",
                "every_days",
                "other",
                "weekday",
                "monthly_nth",
                "monthly_day",
                "monthly_last_day",
                "monthly_plain",
                "yearly",
            )
        )
    )
    every = f"every {n} " if n > 1 else draw(st.sampled_from(("every ", "each ")))
    if form == "daily":
        text = draw(st.sampled_from(("daily", "every day"))) if n == 1 else f"every {n} days"
        kw: dict[str, Any] = {"freq": DAILY, "interval": n}
    elif form == "weekly":
        text = draw(st.sampled_from(("weekly", "every week"))) if n == 1 else f"every {n} weeks"
        if n == 2:
            text = draw(st.sampled_from((text, "every other week", "biweekly", "fortnightly")))
        kw = {"freq": WEEKLY, "interval": n, "byweekday": [DAYS[start.weekday()]]}
    elif form == "weekly_on":
        days = sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=4)))
        listed = day_list(days, draw)
        if n == 1:
            text = draw(st.sampled_from((f"weekly on {listed}", f"every {listed}")))
        elif n == 2 and len(days) == 1:
            text = draw(st.sampled_from((f"every {n} weeks on {listed}", f"every other {listed}")))
        else:
            text = f"every {n} weeks on {listed}"
        kw = {"freq": WEEKLY, "interval": n, "byweekday": [DAYS[d] for d in days]}
    elif form == "every_days":
        text = f"every {n} days" if n > 1 else "every day"
        kw = {"freq": DAILY, "interval": n}
    elif form == "other":
        d = draw(st.integers(0, 6))
        text = f"every other {draw(st.sampled_from((SHORT[d], LONG[d])))}"
        kw = {"freq": WEEKLY, "interval": 2, "byweekday": [DAYS[d]]}
    elif form == "weekday":
        text = draw(st.sampled_from(("every weekday", "weekdays", "mon-fri", "monday-friday")))
        kw = {"freq": WEEKLY, "interval": 1, "byweekday": [MO, TU, WE, TH, FR]}
    elif form == "monthly_nth":
        nths = sorted(draw(st.sets(st.sampled_from((1, 2, 3, 4, -1)), min_size=1, max_size=2)))
        days = sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=2)))
        words = draw(st.sampled_from((ORD, ORD_WORDS)))
        ords = draw(st.sampled_from((",", " and ", ", "))).join(words[k] for k in nths)
        body = f"{ords} {day_list(days, draw)}"
        if n == 1:
            text = draw(
                st.sampled_from((f"monthly on {body}", f"monthly on the {body}", f"every {body}"))
            )
        else:
            text = f"every {n} months on the {body}"
        kw = {
            "freq": MONTHLY,
            "interval": n,
            "byweekday": [DAYS[d](k) for k in nths for d in days],
        }
    elif form == "monthly_day":
        mdays = sorted(draw(st.sets(st.integers(1, 28), min_size=1, max_size=3)))
        listed = draw(
            st.sampled_from(
                (
                    "day " + " day ".join(map(str, mdays)),
                    "day " + ", ".join(map(str, mdays)),
                    "days " + " and ".join(map(str, mdays)),
                    "the " + " and ".join(f"{m}{th(m)}" for m in mdays),
                )
            )
        )
        text = f"monthly on {listed}" if n == 1 else f"every {n} months on {listed}"
        kw = {"freq": MONTHLY, "interval": n, "bymonthday": mdays}
    elif form == "monthly_last_day":
        text = "every month on the last day" if n == 1 else f"every {n} months on the last day"
        kw = {"freq": MONTHLY, "interval": n, "bymonthday": [-1]}
    elif form == "monthly_plain":
        text = draw(st.sampled_from(("monthly", "every month"))) if n == 1 else f"{every}months"
        kw = {"freq": MONTHLY, "interval": n, "bymonthday": [start.day]}
    else:
        text = draw(st.sampled_from(("yearly", "every year", "annually")))
        text = text if n == 1 else f"every {n} years"
        kw = {"freq": YEARLY, "interval": n}
    end = draw(st.sampled_from(("", "count", "until")))
    if end == "count":
        k = draw(st.integers(1, 30))
        text += draw(st.sampled_from((f", {k} times", f" {k} times")))
        kw["count"] = k
    elif end == "until":
        stop = start.date() + timedelta(days=draw(st.integers(0, 800)))
        text += f" until {stop.isoformat()}"
        kw["until"] = datetime.combine(stop, time(23, 59, 59))
    if draw(st.booleans()):
        text = text.upper() if draw(st.booleans()) else text.title()
    return text, kw, start


def occurrences(rule_text: str, start: datetime) -> list[datetime]:
    from dateutil.rrule import rrulestr

    return list(islice(rrulestr(rule_text, dtstart=start), SAMPLE))


@settings(max_examples=400, deadline=None)
@given(phrases())
def test_every_help_form_expands_as_intended_and_reads_back(
    case: tuple[str, dict[str, Any], datetime],
) -> None:
    text, kw, start = case
    freq = kw.pop("freq")
    want = list(islice(rrule(freq, dtstart=start, **kw), SAMPLE))
    stored = read_repeat(text, start).rule
    assert occurrences(stored, start) == want, (text, stored)
    description = describe(stored)
    assert read_repeat(description, start).rule == stored, (text, description)
    assert "FREQ" not in description and ". " not in description


@settings(max_examples=100, deadline=None)
@given(phrases(), st.integers(0, 23), st.sampled_from((0, 30)), st.booleans())
def test_a_time_typed_in_the_phrase_is_the_meeting_time(
    case: tuple[str, dict[str, Any], datetime], hour: int, minute: int, twelve: bool
) -> None:
    text, _kw, start = case
    if twelve:
        clock = f"{(hour % 12) or 12}" + (f":{minute:02d}" if minute else "")
        spoken = clock + ("pm" if hour >= 12 else "am")
    else:
        spoken = f"{hour}:{minute:02d}"
    found = read_repeat(f"{text} at {spoken}", start)
    assert found.at == time(hour, minute)
    assert found.rule == read_repeat(text, start).rule


def test_the_quoted_cases_read_as_people_mean_them() -> None:
    tue = datetime(2026, 12, 1, 19, 0)
    assert describe(read_repeat("monthly on day 15", tue).rule) == "every month on the 15th"
    assert read_repeat("every 2 months on day 15", tue).rule == (
        "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15"
    )
    assert read_repeat("monthly on day 1 day 15", tue).rule == "FREQ=MONTHLY;BYMONTHDAY=1,15"
    assert describe(read_repeat("FREQ=MONTHLY;BYDAY=2TU,4TU", tue).rule) == (
        "every month on the 2nd and 4th Tuesday"
    )
    found = read_repeat("every other monday 7pm", tue)
    assert (found.rule, found.at) == ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", time(19, 0))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("fortnightly-ish", "could not read"),
        ("monthly on 6th tue", "1st to 5th"),
        ("every month on tue", "Which one"),
        ("weekly on 2nd tue", "say monthly"),
        ("yearly on day 3", "start's date"),
        ("daily weekly", "two different"),
        ("monthly on day 32", "1 to 31"),
        ("every 60 weeks", "between 1 and 52"),
        ("weekly until soon", "takes a date"),
        ("weekly 3 times until 2027-01-01", "either"),
    ],
)
def test_unreadable_repeats_are_refused_with_a_reason(text: str, needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        read_repeat(text, datetime(2026, 12, 1, 19, 0))


def test_skipping_rules_warn_and_offer_the_last_day() -> None:
    jan31 = datetime(2027, 1, 31, 19, 0)
    for rule in (read_repeat("monthly", jan31).rule, read_repeat("monthly on day 30", jan31).rule):
        warning = skip_warning(rule, jan31)
        assert warning is not None and "monthly on the last day" in warning
        offered = read_repeat("monthly on the last day", jan31).rule
        got = [d.day for d in occurrences(offered, jan31)[:3]]
        assert got == [31, 28, 31]  # every month, on its last day
    assert skip_warning(read_repeat("monthly on day 28", jan31).rule, jan31) is None
    leap = datetime(2028, 2, 29, 19, 0)
    warning = skip_warning(read_repeat("every year", leap).rule, leap)
    assert warning is not None
    offered = warning.split("`")[1]
    assert [d.date() for d in occurrences(read_repeat(offered, leap).rule, leap)[:2]] == [
        date(2028, 2, 29),
        date(2029, 2, 28),
    ]
    assert "every weekday" in repeat_help()


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
    interval=st.integers(1, 4),
    days=st.lists(st.integers(0, 6), min_size=1, max_size=3, unique=True),
)
def test_a_repeat_that_skips_the_first_matching_day_says_why(
    start: datetime, interval: int, days: list[int]
) -> None:
    """`every other monday` from a Tuesday first meets 13 days later (weeks count from the
    start's week): the summary says so and names the day to start on instead. When the first
    meeting is the first matching day on or after the start, nothing is said."""
    start = start.replace(second=0, microsecond=0)
    typed = f"every {interval} weeks on " + ", ".join(LONG[d] for d in sorted(days))
    rule = read_repeat(typed, start).rule
    first = occurrences(rule, start)[0]
    expected = next(
        start + timedelta(days=n)
        for n in range(7)
        if (start + timedelta(days=n)).weekday() in days
    )
    warning = interval_warning(rule, start)
    if first.date() == expected.date():
        assert warning is None, (typed, start, warning)
    else:
        assert interval > 1
        assert warning is not None and f"{first:%-d %b}" in warning, (typed, start, warning)
        assert f"{expected:%-d %b}" in warning
        assert occurrences(rule, expected)[0] == expected  # the day offered does start there
