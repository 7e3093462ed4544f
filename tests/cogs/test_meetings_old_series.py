"""A series begun long ago plans exactly the occurrences it would if its rule were followed
from its first start: planning starts the rule a whole number of its periods later (so a
weekly meeting begun three years ago does not step through 150 weeks each time), and that
must never add, drop or move an occurrence, whatever the rule, zone, first start and window.

Also: an occurrence's key is the same text `strftime` writes, and `utc_start` places a wall
time as `place_in_zone` does, clock changes included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cogs.meetings import recurrence, service

ZONES = ("UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
BASE = datetime(2020, 1, 1)


@st.composite
def rules(draw: Any) -> str:
    """RRULE bodies of every kind a meeting may store: the repeat grammar's and typed RFC 5545
    ones with COUNT, UNTIL, BYMONTHDAY, BYMONTH and BYSETPOS."""
    freq = draw(st.sampled_from(("DAILY", "WEEKLY", "MONTHLY", "YEARLY")))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 4))}"]
    by = draw(st.sampled_from(("", "days", "nth", "monthday", "month")))
    if by == "days":
        days = draw(
            st.sets(st.sampled_from(("MO", "TU", "WE", "TH", "FR", "SA", "SU")), min_size=1)
        )
        parts.append("BYDAY=" + ",".join(sorted(days)))
    elif by == "nth" and freq in ("MONTHLY", "YEARLY"):
        parts.append(
            f"BYDAY={draw(st.sampled_from((1, 2, 3, 4, -1)))}"
            + draw(st.sampled_from(("MO", "SA")))
        )
    elif by == "monthday" and freq != "WEEKLY":
        parts.append(f"BYMONTHDAY={draw(st.sampled_from((1, 15, 28, 29, 30, 31, -1)))}")
    elif by == "month":
        parts.append(f"BYMONTH={draw(st.sampled_from((1, 2, 6, 12)))}")
    if draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from((1, -1)))}")
    end = draw(st.sampled_from(("", "", "count", "until")))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 200))}")
    elif end == "until":
        until = BASE + timedelta(days=draw(st.integers(0, 3000)), hours=draw(st.integers(0, 23)))
        parts.append(f"UNTIL={until.strftime('%Y%m%dT%H%M%S')}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(('MO', 'SU', 'WE')))}")
    return ";".join(parts)


starts = st.builds(
    lambda days, half_hours: BASE + timedelta(days=days, minutes=30 * half_hours),
    st.integers(0, 2000),
    st.integers(0, 47),
)


def _from_first_start(rule_text: str, start_local: datetime) -> rrule:
    rule = rrulestr(rule_text, dtstart=start_local)
    assert isinstance(rule, rrule)
    return rule


@settings(max_examples=200, deadline=None)
@given(
    rule_text=rules(),
    start_local=starts,
    zone_name=st.sampled_from(ZONES),
    after_days=st.integers(-30, 3000),
    window_hours=st.integers(1, 24 * 40),
)
@example(
    rule_text="FREQ=MONTHLY;INTERVAL=1",
    start_local=datetime(2020, 1, 31, 19, 0),
    zone_name="UTC",
    after_days=1000,
    window_hours=24 * 40,
)
@example(  # moved by whole months from the 31st, the start would land on April 31st
    rule_text="FREQ=MONTHLY;INTERVAL=1",
    start_local=datetime(2020, 1, 31, 19, 0),
    zone_name="UTC",
    after_days=130,
    window_hours=24 * 40,
)
@example(
    rule_text="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=40",
    start_local=datetime(2020, 1, 2, 19, 0),
    zone_name="Europe/London",
    after_days=500,
    window_hours=24 * 40,
)
def test_an_old_series_plans_what_its_first_start_implies(
    rule_text: str, start_local: datetime, zone_name: str, after_days: int, window_hours: int
) -> None:
    zone = ZoneInfo(zone_name)
    after = (BASE + timedelta(days=after_days)).replace(tzinfo=UTC)
    before = after + timedelta(hours=window_hours)
    whole = _from_first_start(rule_text, start_local)
    expected = [
        (naive, recurrence.place_in_zone(naive, zone).astimezone(UTC))
        for naive in whole.between(
            after.astimezone(zone).replace(tzinfo=None) - timedelta(days=2),
            before.astimezone(zone).replace(tzinfo=None) + timedelta(days=2),
            inc=True,
        )
    ]
    in_window = [(naive, start) for naive, start in expected if after <= start < before]
    assert recurrence.expand(start_local, zone, rule_text, after, before) == in_window

    following = recurrence.starts_from(start_local, zone, rule_text, after)
    soonest = [pair for pair, _ in zip(following, range(3), strict=False)]
    later = [(n, s) for n, s in expected if s >= after][: len(soonest)]
    assert soonest[: len(later)] == later

    first = recurrence.first_after(start_local, zone, rule_text, after)
    low = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    bound = max(start_local, low) + timedelta(days=366 * recurrence.PROBE_YEARS)
    truth = None
    for naive in whole.xafter(low):
        if naive > bound:
            break
        if recurrence.place_in_zone(naive, zone) >= after:
            truth = naive
            break
    assert first == truth


@settings(max_examples=300, deadline=None)
@given(
    naive=st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 30)).map(
        lambda d: d.replace(second=0, microsecond=0)
    )
)
def test_an_occurrence_key_is_the_local_wall_time_as_written(naive: datetime) -> None:
    assert recurrence.local_key(naive) == naive.strftime(recurrence.LOCAL_FORMAT)
    if naive.year >= 1000:  # strptime reads no unpadded year; no meeting is dated before
        assert recurrence.from_key(recurrence.local_key(naive)) == naive


@settings(max_examples=300, deadline=None)
@given(
    naive=st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    zone_name=st.sampled_from((*ZONES, "Pacific/Chatham", "America/St_Johns", "Europe/Dublin")),
)
@example(naive=datetime(2026, 3, 8, 2, 30), zone_name="America/New_York")  # in the gap
@example(naive=datetime(2026, 11, 1, 1, 30), zone_name="America/New_York")  # twice
def test_utc_start_places_a_wall_time_as_the_gap_and_overlap_rules_say(
    naive: datetime, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    assert recurrence.utc_start(naive, zone) == recurrence.place_in_zone(naive, zone).astimezone(
        UTC
    )
    assert recurrence.utc_start(naive, zone).tzinfo is UTC


@st.composite
def simple_rules(draw: Any) -> str:
    """DAILY and WEEKLY rules of plain weekdays, the parts in any order: those planned by the
    walk of candidate days (`_simple_between`), not by dateutil."""
    parts = [f"FREQ={draw(st.sampled_from(('DAILY', 'WEEKLY')))}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 9))}")
    if draw(st.booleans()):
        days = draw(
            st.sets(st.sampled_from(("MO", "TU", "WE", "TH", "FR", "SA", "SU")), min_size=1)
        )
        parts.append("BYDAY=" + ",".join(sorted(days)))
    if draw(st.booleans()):
        until = BASE + timedelta(
            days=draw(st.integers(-10, 200)), minutes=draw(st.integers(0, 1439))
        )
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%S}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')))}")
    return ";".join(draw(st.permutations(parts)))


_minutes = st.builds(
    lambda days, minutes: BASE + timedelta(days=days, minutes=minutes),
    st.integers(-40, 200),
    st.integers(0, 1439),
)


@settings(max_examples=500, deadline=None)
@given(
    rule_text=simple_rules(),
    start_local=_minutes,
    low=_minutes,
    span_minutes=st.integers(0, 63 * 1440),
)
def test_the_walk_of_candidate_days_finds_what_dateutil_finds(
    rule_text: str, start_local: datetime, low: datetime, span_minutes: int
) -> None:
    """Every INTERVAL, BYDAY, WKST and UNTIL, any window up to two months (from before the
    first start too): the same wall times, in the same order, as the rule dateutil builds."""
    high = low + timedelta(minutes=span_minutes)
    walked = recurrence._simple_between(rule_text, start_local, low, high)
    rule = recurrence.build_rule(rule_text, start_local)
    assert rule is not None
    if walked is not None:
        assert walked == rule.between(low, high, inc=True)


@settings(max_examples=500, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, *(ZoneInfo(zone) for zone in ZONES)]),
    )
)
def test_an_item_key_carries_its_due_time_as_strftime_writes_it(moment: datetime) -> None:
    """Keys written before the faster formatting stay the same: years below 1000 included."""
    assert service._compact_utc(moment) == f"{moment.astimezone(UTC):%Y%m%dT%H%M%S}"
