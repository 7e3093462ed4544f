"""Meeting times: RFC 5545 rules (python-dateutil) expanded on the wall clock of the zone.

A meeting stores its local start wall time, an IANA zone and an RRULE. Occurrences are expanded
as naive local wall times and only then placed in the zone, so a weekly 19:00 meeting stays at
19:00 local across daylight-saving changes. Two rules settle the hours that clock changes bend:

- spring-forward gap: a wall time that does not exist that day (02:30 when clocks jump from 02:00
  to 03:00) moves forward to the first valid time after the gap (03:00);
- fall-back overlap: a wall time that happens twice takes the first of the two (fold=0).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import (
    DAILY,
    FR,
    MO,
    MONTHLY,
    SA,
    SU,
    TH,
    TU,
    WE,
    WEEKLY,
    YEARLY,
    rrule,
    rrulestr,
    weekday,
)

from bot.core import UserError, _

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
PROBE_YEARS = 10  # a rule with no occurrence in this many years is refused

DAY_WORDS: dict[str, weekday] = {}
for _names, _day in (
    (("mo", "mon", "monday", "mondays"), MO),
    (("tu", "tue", "tues", "tuesday", "tuesdays"), TU),
    (("we", "wed", "wednesday", "wednesdays"), WE),
    (("th", "thu", "thur", "thurs", "thursday", "thursdays"), TH),
    (("fr", "fri", "friday", "fridays"), FR),
    (("sa", "sat", "saturday", "saturdays"), SA),
    (("su", "sun", "sunday", "sundays"), SU),
):
    for _name in _names:
        DAY_WORDS[_name] = _day
ORDINALS = {
    "1st": 1,
    "first": 1,
    "2nd": 2,
    "second": 2,
    "3rd": 3,
    "third": 3,
    "4th": 4,
    "fourth": 4,
    "5th": 5,
    "fifth": 5,
    "last": -1,
}
ALLOWED_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


@dataclass(frozen=True)
class Occurrence:
    """One meeting instance: its identity (the planned local wall time) and its real start."""

    key: str  # the original local wall time, e.g. "2026-12-01T19:00" (the RECURRENCE-ID)
    start: datetime  # aware UTC start, after gap rules and any move
    moved_from: datetime | None = None  # aware UTC original start, when moved
    note: str = ""


def local_key(naive: datetime) -> str:
    """The identity of an occurrence: its planned local wall time, "YYYY-MM-DDTHH:MM".

    `isoformat` writes the same text as `strftime(LOCAL_FORMAT)` about three times faster (a
    first start writes one for every occurrence it plans) for every year from 1000; before
    that strftime does not pad the year, so it is asked.
    """
    if naive.year < 1000:
        return naive.strftime(LOCAL_FORMAT)
    if naive.tzinfo is not None:
        naive = naive.replace(tzinfo=None)
    return naive.isoformat(timespec="minutes")


def from_key(key: str) -> datetime:
    """Inverse of `local_key` (naive local wall time); ValueError for text it did not make.

    `fromisoformat` reads a key about twenty times faster than `strptime` (a start-up reads
    one for every meeting); a text it reads that `local_key` would not write back the same
    (another ISO form) goes through `strptime`, so what is accepted is unchanged.
    """
    try:
        naive = datetime.fromisoformat(key)
    except ValueError:
        naive = None
    if naive is not None and naive.tzinfo is None and local_key(naive) == key:
        return naive
    return datetime.strptime(key, LOCAL_FORMAT)


def place_in_zone(naive: datetime, zone: ZoneInfo) -> datetime:
    """The aware moment of a local wall time under the gap and overlap rules above."""
    first = naive.replace(tzinfo=zone, fold=0)
    as_utc = first.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # a normal time, or the first of two (fold=0)
    # In a gap: the transition lies between the two readings of the wall time. Find it.
    lo, hi = sorted(
        (as_utc, naive.replace(tzinfo=zone, fold=1).astimezone(UTC)),
    )
    low, high = 0, int((hi - lo).total_seconds())
    while low < high:
        mid = (low + high) // 2
        if (lo + timedelta(seconds=mid)).astimezone(zone).replace(tzinfo=None) > naive:
            high = mid
        else:
            low = mid + 1
    return (lo + timedelta(seconds=low)).astimezone(zone)


def utc_start(naive: datetime, zone: ZoneInfo) -> datetime:
    """`place_in_zone(naive, zone)` as an aware UTC moment, with one conversion fewer for the
    usual wall time (neither in a gap nor ambiguous: the reading that round-trips)."""
    as_utc = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == naive:
        return as_utc
    return place_in_zone(naive, zone).astimezone(UTC)


@functools.lru_cache(maxsize=1024)
def _rule_parsed(rule_text: str) -> rrule:
    """The parsed rule text (its DTSTART is replaced by `_rule_at`): parsing once per text,
    not once per meeting, since ten thousand meetings share a handful of rule texts."""
    parsed = rrulestr(rule_text, dtstart=datetime(2000, 1, 1))
    assert isinstance(parsed, rrule)
    return parsed


@functools.lru_cache(maxsize=4096)
def _rule_at(rule_text: str, start_local: datetime) -> rrule:
    # `replace` rebuilds the rule from the parts as written, so the parts dateutil fills in
    # from DTSTART (the weekday of a bare WEEKLY, the day of a bare MONTHLY) follow the new one.
    return _rule_parsed(rule_text).replace(dtstart=start_local)


def build_rule(rule_text: str, start_local: datetime) -> rrule | None:
    """The dateutil rule for a stored RRULE (None for a one-off meeting).

    Cached: planning asks for one meeting's rule several times in a row (its occurrences, its
    next one, its calendar entry), and parsing the text is most of the cost. A rule is never
    changed in place (`replace` makes a new one), so sharing it is safe.
    """
    if not rule_text:
        return None
    return _rule_at(rule_text, start_local)


# Rule parts under which a series is the same from any start a whole number of its periods
# later: each period's occurrences depend only on the period and on the parts dateutil takes
# from DTSTART (time of day, weekday, day of month, month), which such a shift keeps.
# COUNT counts from the first start, BYSETPOS, BYWEEKNO and BYYEARDAY are not written by
# `read_repeat` and are left to the full expansion.
_SHIFTABLE_PARTS = frozenset(
    {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "UNTIL", "WKST"}
)


@functools.lru_cache(maxsize=1024)
def _shift_period(rule_text: str) -> tuple[str, int] | None:
    """("days" | "months", length of one period) of a rule whose series may be started later
    by whole periods (see `_SHIFTABLE_PARTS`); None when it may not."""
    parts = dict(p.split("=", 1) for p in rule_text.upper().split(";") if "=" in p)
    if not set(parts) <= _SHIFTABLE_PARTS:
        return None
    try:
        interval = int(parts.get("INTERVAL", "1"))
    except ValueError:
        return None
    if interval < 1:
        return None
    freq = parts.get("FREQ")
    if freq == "DAILY":
        return "days", interval
    if freq == "WEEKLY":
        return "days", 7 * interval
    if freq == "MONTHLY":
        return "months", interval
    if freq == "YEARLY":
        return "months", 12 * interval
    return None


@dataclass(frozen=True)
class _Simple:
    """A DAILY or WEEKLY rule of plain weekdays (see `_simple_between`)."""

    weekly: bool
    interval: int
    weekdays: frozenset[int] | None  # Monday 0; None: the start's own weekday (or any, DAILY)
    wkst: int
    until: datetime | None


_SIMPLE_PARTS = frozenset({"FREQ", "INTERVAL", "BYDAY", "UNTIL", "WKST"})
_SIMPLE_SPAN_DAYS = 62  # longer windows go to dateutil: the walk below steps through them
_WEEK = timedelta(days=7)


@functools.lru_cache(maxsize=1024)
def _simple(rule_text: str) -> _Simple | None:
    parts = dict(p.split("=", 1) for p in rule_text.upper().split(";") if "=" in p)
    if not set(parts) <= _SIMPLE_PARTS or parts.get("FREQ") not in ("DAILY", "WEEKLY"):
        return None
    days = parts.get("BYDAY")
    if days is not None and not set(days.split(",")) <= set(_CODES):
        return None  # "2MO" and the like
    wkst = parts.get("WKST", "MO")
    if wkst not in _CODES or not parts.get("INTERVAL", "1").isdigit():
        return None
    until: datetime | None = getattr(_rule_parsed(rule_text), "_until", None)  # dateutil's reading
    if until is not None and until.tzinfo is not None:
        return None
    return _Simple(
        weekly=parts["FREQ"] == "WEEKLY",
        interval=max(1, int(parts.get("INTERVAL", "1"))),
        weekdays=None if days is None else frozenset(_CODES.index(d) for d in days.split(",")),
        wkst=_CODES.index(wkst),
        until=until,
    )


def _simple_between(
    rule_text: str, start_local: datetime, low: datetime, high: datetime
) -> list[datetime] | None:
    """`build_rule(rule_text, start_local).between(low, high, inc=True)` for a DAILY or WEEKLY
    rule of plain weekdays over a window of up to two months; None for any other rule or window
    (the caller asks dateutil).

    Our own walk, because dateutil's is general: it sets up year and month tables on every
    call, which made expanding the rule most of a start-up's planning of ten thousand weekly
    meetings; this one steps through the window's days. It follows RFC 5545 as dateutil does:
    DAILY takes every INTERVAL-th day from the start, WEEKLY every INTERVAL-th week counted in
    weeks beginning on WKST from the start's week, each on BYDAY's weekdays (default: the
    start's), at the start's time, from the start, up to UNTIL.
    """
    rule = _simple(rule_text)
    if rule is None:
        return None
    low = max(low, start_local)
    if rule.until is not None:
        high = min(high, rule.until)
    if high < low:
        return []
    if (high - low).days > _SIMPLE_SPAN_DAYS:
        return None
    at = start_local.time()
    first = start_local.date()
    weekdays = rule.weekdays
    if weekdays is None and rule.weekly:
        weekdays = frozenset({first.weekday()})
    week_start = first - timedelta(days=(first.weekday() - rule.wkst) % 7)
    day, last = low.date(), high.date()
    # The candidate days only, not every day of the window: each of the weekdays a week apart
    # (or every INTERVAL-th day for DAILY without BYDAY), the interval checked on each.
    if weekdays is None:
        step = timedelta(days=rule.interval)
        starts = [day + timedelta(days=-(day - first).days % rule.interval)]
    else:
        step = _WEEK
        starts = [day + timedelta(days=(weekday - day.weekday()) % 7) for weekday in weekdays]
    found = []
    for candidate in starts:
        while candidate <= last:
            if rule.weekly:
                fits = ((candidate - week_start).days // 7) % rule.interval == 0
            else:
                fits = (candidate - first).days % rule.interval == 0
            if fits:
                moment = datetime.combine(candidate, at)
                if low <= moment <= high:
                    found.append(moment)
            candidate += step
    if len(starts) > 1:
        found.sort()
    return found


def rule_near(rule_text: str, start_local: datetime, low: datetime) -> rrule | None:
    """The rule of `build_rule`, started as late as it may be and still at or before `low`
    (naive local wall time), so that expanding it near `low` does not walk every occurrence
    since the series began: a weekly meeting begun three years ago would otherwise step
    through 150 weeks each time it is planned.

    The occurrences at or after `low` are exactly those of `build_rule(rule_text,
    start_local)`: the start moves by whole periods of the rule (days for DAILY and WEEKLY,
    months for MONTHLY and YEARLY, the latter only when the start's day of month is at most
    28, so that the day exists in every month), and only for the parts in `_SHIFTABLE_PARTS`.
    """
    if not rule_text:
        return None
    period = _shift_period(rule_text) if low > start_local else None
    if period is None:
        return _rule_at(rule_text, start_local)
    unit, size = period
    if unit == "days":
        steps = (low - start_local).days // size
        if steps <= 0:
            return _rule_at(rule_text, start_local)
        return _rule_at(rule_text, start_local + timedelta(days=steps * size))
    if start_local.day > 28:
        return _rule_at(rule_text, start_local)
    months = (low.year - start_local.year) * 12 + low.month - start_local.month
    steps = months // size - 1  # a whole period of slack: the day may come later in the month
    if steps <= 0:
        return _rule_at(rule_text, start_local)
    total = start_local.month - 1 + steps * size
    moved = start_local.replace(year=start_local.year + total // 12, month=total % 12 + 1)
    return _rule_at(rule_text, moved)


def expand(
    start_local: datetime,
    zone: ZoneInfo,
    rule_text: str,
    after: datetime,
    before: datetime,
) -> list[tuple[datetime, datetime]]:
    """(planned local wall time, aware UTC start) of occurrences starting in [after, before)."""
    # Wall-time bounds with a day of slack either side cover every UTC offset.
    low = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    high = before.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    candidates: list[datetime] | None
    if not rule_text:
        candidates = [start_local]
    elif (candidates := _simple_between(rule_text, start_local, low, high)) is None:
        rule = rule_near(rule_text, start_local, low)
        assert rule is not None
        candidates = rule.between(low, high, inc=True)
    found = []
    for naive in candidates:
        start = utc_start(naive, zone)
        if after <= start < before:
            found.append((naive, start))
    return found


def starts_from(
    start_local: datetime, zone: ZoneInfo, rule_text: str, moment: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """(planned local wall time, aware UTC start) of the occurrences starting at or after
    `moment`, soonest first, produced one at a time (endless for an endless rule: the caller
    stops). `expand` over any window holds exactly those of them that start inside it.

    A later wall time never starts earlier (`place_in_zone` moves a time in a gap forward to
    the transition and takes the first of two readings), so they come in order of start.
    """
    # A day of slack covers every UTC offset, as in `expand`.
    low = moment.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    rule = rule_near(rule_text, start_local, low)
    if rule is None:
        candidates: Iterable[datetime] = [start_local]
    else:
        candidates = rule.xafter(low, inc=True)
    for naive in candidates:
        start = utc_start(naive, zone)
        if start >= moment:
            yield naive, start


def first_after(
    start_local: datetime, zone: ZoneInfo, rule_text: str, moment: datetime
) -> datetime | None:
    """The planned local wall time of the first occurrence starting at or after `moment`;
    None when there is none within `PROBE_YEARS` of the later of the first start and `moment`
    (a rule that can never occur again, such as 30 February, is not searched for ever; a series
    begun more than that long ago still has its next date)."""
    naive = moment.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    rule = rule_near(rule_text, start_local, naive)
    if rule is None:
        at = place_in_zone(start_local, zone)
        return start_local if at >= moment else None
    bound = max(start_local, naive) + timedelta(days=366 * PROBE_YEARS)
    if getattr(rule, "_count", None) is None:
        until = getattr(rule, "_until", None)
        rule = rule.replace(until=bound if until is None else min(until, bound))
    for candidate in rule.xafter(naive, inc=True):
        if place_in_zone(candidate, zone) >= moment:
            return candidate
    return None


def start_after(
    start_local: datetime, zone: ZoneInfo, rule_text: str, moment: datetime
) -> datetime | None:
    """The planned local wall time of the first occurrence starting after `moment` that the
    clocks of `zone` show (one in a gap is passed over: a start typed there is refused), for
    offering as a start; None as `first_after` finds none."""
    after = moment + timedelta(seconds=1)
    for _gap in range(4):  # a gap lasts hours: few occurrences in a row fall in one
        found = first_after(start_local, zone, rule_text, after)
        if found is None:
            return None
        at = place_in_zone(found, zone)
        if at.replace(tzinfo=None) == found:
            return found
        after = at + timedelta(seconds=1)
    return None


@dataclass(frozen=True)
class Repeat:
    """A recurrence as typed: the RRULE body ("" for a one-off) and a time of day, if one was
    typed in the same phrase ("every other monday 7pm")."""

    rule: str
    at: time | None = None


def _ordinal(word: str) -> int | None:
    if word in ORDINALS:
        return ORDINALS[word]
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", word)
    return int(m.group(1)) if m else None


def repeat_help() -> str:
    """Examples of the recurrence forms, for error messages and help."""
    return _(
        "Examples: `none`, `daily`, `every weekday`, `weekly on tue,thu`, `every other week`, "
        "`every 2 weeks on mon`, `every other monday 7pm`, `monthly on the 2nd and 4th tue`, "
        "`monthly on last fri`, `monthly on day 15`, `every month on the last day`, "
        "`every year`, `weekly, 10 times`, `weekly until 2027-06-30`, or an RFC 5545 rule "
        "such as `FREQ=WEEKLY;BYDAY=TU`."
    )


_UNITS: dict[str, Literal[0, 1, 2, 3]] = {
    "year": YEARLY,
    "years": YEARLY,
    "month": MONTHLY,
    "months": MONTHLY,
    "week": WEEKLY,
    "weeks": WEEKLY,
    "day": DAILY,
    "days": DAILY,
}
_ADVERBS: dict[str, tuple[Literal[0, 1, 2, 3], int]] = {
    "daily": (DAILY, 1),
    "weekly": (WEEKLY, 1),
    "biweekly": (WEEKLY, 2),
    "fortnightly": (WEEKLY, 2),
    "monthly": (MONTHLY, 1),
    "bimonthly": (MONTHLY, 2),
    "yearly": (YEARLY, 1),
    "annually": (YEARLY, 1),
}
_COUNT_WORDS = ("times", "time", "meetings", "occurrences")
_WORKDAYS = [MO, TU, WE, TH, FR]
_FILLER = {"on", "the", "of", "each", "every", "at", "repeat", "repeats", "in", "a", "for"}


@dataclass
class _Reading:
    """What the words of a repeat phrase said, before it becomes a rule."""

    freq: Literal[0, 1, 2, 3] | None = None
    interval: int | None = None
    groups: list[tuple[list[int], list[weekday]]] = field(default_factory=list)
    monthdays: list[int] = field(default_factory=list)
    days: list[weekday] = field(default_factory=list)  # plain weekdays (every tue)
    at: time | None = None
    until: date | None = None
    count: int | None = None


def _unreadable(raw: str) -> UserError:
    return UserError(
        _("I could not read the repeat `{text}`. {examples}").format(
            text=raw[:60], examples=repeat_help()
        )
    )


def _set_freq(reading: _Reading, freq: Literal[0, 1, 2, 3], interval: int, raw: str) -> None:
    if reading.freq is not None and (reading.freq, reading.interval or 1) != (freq, interval):
        raise UserError(
            _("The repeat `{text}` names two different rhythms; give one.").format(text=raw[:60])
        )
    reading.freq, reading.interval = freq, interval


def _read_time(words: list[str], i: int) -> tuple[time, int] | None:
    """A time of day at words[i] (`7pm`, `7 pm`, `19:00`, `7:30 p.m.`), and the words used."""
    word = words[i]
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if word in ("noon", "midday"):
        return time(12, 0), 1
    if word == "midnight":
        return time(0, 0), 1
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm|a\.m\.|p\.m\.)?", word)
    if not m:
        return None
    used = 1
    suffix = m.group(3)
    if suffix is None and nxt in ("am", "pm", "a.m.", "p.m."):
        suffix, used = nxt, 2
    if suffix is None and m.group(2) is None:
        return None  # a bare number is an interval or a day, not a time
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if suffix is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute), used


def _read_words(raw: str) -> _Reading:
    """Walk the words of a repeat phrase. Our own small grammar, because the phrases people type
    ("every other monday 7pm", "monthly on the 2nd and 4th tue") are beyond date libraries:
    dateparser reads single dates, and dateutil only the RFC 5545 text form."""
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " - ", raw.lower())
    words = [w for w in re.split(r"[\s,;/&+]+|\band\b", text) if w]
    reading = _Reading()
    pending: list[int] = []  # ordinals waiting for their weekdays, or ending as month days
    i = 0

    def flush_pending() -> None:
        reading.monthdays.extend(pending)
        pending.clear()

    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        after = words[i + 2] if i + 2 < len(words) else ""
        if word in ("until", "till", "til", "through"):
            try:
                reading.until = date.fromisoformat(nxt)
            except ValueError:
                raise UserError(
                    _("`until` takes a date such as 2027-06-30, not `{text}`.").format(
                        text=nxt[:20]
                    )
                ) from None
            i += 2
            continue
        if word.isdigit() and nxt in _COUNT_WORDS:
            reading.count = int(word)
            i += 2
            continue
        if (found := _read_time(words, i)) is not None:
            reading.at, used = found
            i += used
            continue
        if word in _ADVERBS:
            _set_freq(reading, *_ADVERBS[word], raw)
        elif word == "other" and (nxt in _UNITS or nxt in DAY_WORDS):
            if nxt in _UNITS:
                _set_freq(reading, _UNITS[nxt], 2, raw)
                i += 1
            else:
                _set_freq(reading, WEEKLY, 2, raw)
        elif word.isdigit() and nxt in _UNITS:
            _set_freq(reading, _UNITS[nxt], int(word), raw)
            i += 1
        elif word in ("day", "days") and nxt.isdigit() and after not in _COUNT_WORDS:
            # `day 15`, `days 1, 15`, `day 1 day 15`: days of the month
            j = i + 1
            while (
                j < len(words)
                and (words[j].isdigit() or _ordinal(words[j]) is not None)
                and (words[j + 1] if j + 1 < len(words) else "") not in _COUNT_WORDS
            ):
                reading.monthdays.append(int(re.sub(r"\D", "", words[j])))
                j += 1
            i = j
            continue
        elif word == "last" and nxt in ("day", "days"):
            reading.monthdays.append(-1)
            i += 1
        elif word in ("weekday", "weekdays", "workday", "workdays"):
            reading.days.extend(_WORKDAYS)
        elif word in ("weekend", "weekends"):
            reading.days.extend([SA, SU])
        elif word in DAY_WORDS:
            days = [DAY_WORDS[word]]
            if nxt == "-" and after in DAY_WORDS:  # a range: mon-fri
                a, b = DAY_WORDS[word].weekday, DAY_WORDS[after].weekday
                days = [DAYS_BY_NUMBER[(a + k) % 7] for k in range((b - a) % 7 + 1)]
                i += 2
            if pending:
                reading.groups.append((list(pending), days))
                pending.clear()
            elif reading.groups and words[i - 1] not in ("on", "every", "the"):
                reading.groups[-1][1].extend(days)  # 2nd and 4th tue and thu
            else:
                reading.days.extend(days)
        elif word in _UNITS:
            _set_freq(reading, _UNITS[word], reading.interval or 1, raw)
        elif (n := _ordinal(word)) is not None or word == "last":
            n = -1 if n is None else n
            if nxt == "to" and after == "last":  # 2nd to last
                n, i = -n, i + 2
            pending.append(n)
        elif word.isdigit() and reading.monthdays:
            reading.monthdays.append(int(word))  # day 1 and 15
        elif word in _FILLER or word == "-":
            pass
        else:
            raise _unreadable(raw)
        i += 1
    flush_pending()
    return reading


DAYS_BY_NUMBER = (MO, TU, WE, TH, FR, SA, SU)


def read_repeat(
    text: str | None,
    start_local: datetime,
    *,
    until: date | None = None,
    count: int | None = None,
) -> Repeat:
    """A typed repeat (`weekly on tue`, `every other monday 7pm`, a raw RRULE) as a `Repeat`.

    Raises `UserError` with examples when the phrase cannot be read or names no rhythm.
    """
    raw = (text or "none").strip()
    if until is not None and count is not None:
        raise UserError(_("Give either `until` or `count`, not both."))
    if raw.upper().startswith(("RRULE:", "FREQ=")):
        return Repeat(_raw_rule(raw, start_local, until, count))
    if raw.lower() in ("", "none", "once", "no", "never", "one-off", "one off"):
        if until is not None or count is not None:
            raise UserError(_("`until` and `count` only make sense with a repeat."))
        return Repeat("")
    reading = _read_words(raw)
    if reading.until is not None or reading.count is not None:
        if until is not None or count is not None or (reading.until and reading.count):
            raise UserError(_("Give either `until` or `count`, not both."))
        until, count = reading.until, reading.count
    freq, interval = reading.freq, reading.interval or 1
    kwargs: dict[str, Any] = {"interval": interval}
    if not 1 <= interval <= 52:
        raise UserError(_("The repeat interval must be between 1 and 52."))
    if count is not None and not 1 <= count <= 1000:
        raise UserError(_("`count` must be between 1 and 1000."))
    if reading.groups and (reading.monthdays or reading.days):
        raise UserError(
            _(
                "Give either weekdays of the month (2nd tue) or days of the month (day 15), "
                "not both."
            )
        )
    if reading.monthdays and reading.days:
        raise UserError(_("Give either weekdays or days of the month, not both."))
    if freq == YEARLY and (reading.groups or reading.monthdays or reading.days):
        raise UserError(
            _(
                "A yearly repeat falls on the start's date every year; to change the day, "
                "change the start."
            )
        )
    if reading.groups:
        if any(not (1 <= abs(n) <= 5) for ns, _d in reading.groups for n in ns):
            raise UserError(_("A weekday in the month is 1st to 5th, or last."))
        if freq not in (None, MONTHLY):
            raise UserError(_("`2nd tue` and `last fri` are days of a month: say monthly."))
        freq = MONTHLY
        kwargs["byweekday"] = _unique([d(n) for ns, ds in reading.groups for n in ns for d in ds])
    elif reading.days:
        if freq == MONTHLY:
            raise UserError(_("Which one in the month? Say for example `monthly on the 1st tue`."))
        freq = WEEKLY if freq is None else freq
        kwargs["byweekday"] = _unique(reading.days)
    elif reading.monthdays:
        if any(not (1 <= n <= 31 or n == -1) for n in reading.monthdays):
            raise UserError(_("A day of the month is 1 to 31, or last."))
        if freq not in (None, MONTHLY):
            raise UserError(_("Days of the month (day 15) need a monthly repeat."))
        freq = MONTHLY
        kwargs["bymonthday"] = _unique(reading.monthdays)
    if freq is None:
        raise UserError(
            _("Say how often: daily, weekly or monthly. {examples}").format(examples=repeat_help())
        )
    if freq == WEEKLY and "byweekday" not in kwargs:
        kwargs["byweekday"] = [DAYS_BY_NUMBER[start_local.weekday()]]
    if freq == MONTHLY and "byweekday" not in kwargs and "bymonthday" not in kwargs:
        kwargs["bymonthday"] = [start_local.day]
    if until is not None:
        kwargs["until"] = datetime.combine(until, datetime.max.time()).replace(microsecond=0)
    if count is not None:
        kwargs["count"] = count
    return Repeat(_body(rrule(freq, dtstart=start_local, **kwargs)), reading.at)


def _unique(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def parse_repeat(
    text: str | None,
    start_local: datetime,
    *,
    until: date | None = None,
    count: int | None = None,
) -> str:
    """The RRULE body of a typed repeat (see `read_repeat`); a time in the phrase is refused
    unless it is the start's own time."""
    found = read_repeat(text, start_local, until=until, count=count)
    if found.at is not None and found.at != start_local.time():
        raise UserError(
            _("The start says {start} but the repeat says {at}; give the time once.").format(
                start=start_local.strftime("%H:%M"), at=found.at.strftime("%H:%M")
            )
        )
    return found.rule


def _raw_rule(raw: str, start_local: datetime, until: date | None, count: int | None) -> str:
    body = raw.split(":", 1)[1] if raw.upper().startswith("RRULE:") else raw
    body = body.strip().upper()
    parts = dict(p.split("=", 1) for p in body.split(";") if "=" in p)
    if parts.get("FREQ") not in ALLOWED_FREQS:
        raise UserError(_("A repeat rule needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY."))
    if "DTSTART" in body or "\n" in body:
        raise UserError(_("Give the start with `start`, not inside the rule."))
    try:
        rule = rrulestr(body, dtstart=start_local)
    except (ValueError, TypeError) as exc:
        raise UserError(
            _("That rule is not valid RFC 5545: {problem}").format(problem=str(exc)[:80])
        ) from None
    if not isinstance(rule, rrule):
        raise UserError(_("Give a single rule."))
    if until is not None or count is not None:
        if "UNTIL" in parts or "COUNT" in parts:
            raise UserError(_("The rule already has UNTIL or COUNT."))
        end = (
            datetime.combine(until, datetime.max.time()).replace(microsecond=0) if until else None
        )
        rule = rule.replace(until=end, count=count)
    elif (stop := getattr(rule, "_until", None)) is not None and stop.tzinfo is not None:
        raise UserError(_("Give UNTIL as a local date and time, or use `until`."))
    return _body(rule)


def _body(rule: rrule) -> str:
    """The RRULE line of a dateutil rule, without DTSTART."""
    for line in str(rule).splitlines():
        if line.startswith("RRULE:"):
            return line[len("RRULE:") :]
    raise ValueError("dateutil produced no RRULE")  # pragma: no cover


DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_KNOWN_PARTS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL", "WKST"}


def _nth(n: int) -> str:
    """1 -> 1st, 22 -> 22nd, -1 -> last, -2 -> 2nd to last."""
    if n == -1:
        return _("last")
    if n < 0:
        return _("{nth} to last").format(nth=_nth(-n))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _join(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])


def describe(rule_text: str) -> str:
    """A short human reading of a stored rule that the repeat grammar reads back to the same
    rule, e.g. `every 2 weeks on Tue and Thu, 10 times` or `every month on the 2nd and 4th
    Tuesday`. Parts outside that grammar (BYMONTH, BYSETPOS...) follow as the raw rule."""
    if not rule_text:
        return _("once")
    parts = dict(p.split("=", 1) for p in rule_text.split(";") if "=" in p)
    interval = int(parts.get("INTERVAL", "1"))
    freq = parts.get("FREQ", "")
    unit = {
        "DAILY": (_("every day"), _("every {n} days")),
        "WEEKLY": (_("every week"), _("every {n} weeks")),
        "MONTHLY": (_("every month"), _("every {n} months")),
        "YEARLY": (_("every year"), _("every {n} years")),
    }.get(freq, (rule_text, rule_text))
    text = unit[0] if interval == 1 else unit[1].format(n=interval)
    plain: list[int] = []
    nths: dict[int, list[int]] = {}  # weekday -> its ordinals in the month
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []:
        m = re.fullmatch(r"([+-]?\d{0,2})([A-Z]{2})", item)
        if m and m.group(2) in _CODES:
            day = _CODES.index(m.group(2))
            if m.group(1):
                nths.setdefault(day, []).append(int(m.group(1)))
            else:
                plain.append(day)
    if plain:
        if sorted(plain) == [0, 1, 2, 3, 4] and freq == "WEEKLY":
            text = _("every weekday") if interval == 1 else text + " " + _("on weekdays")
        else:
            text += " " + _("on {days}").format(days=_join([DAY_NAMES[d] for d in plain]))
    if nths:
        # days sharing the same ordinals read together: the 2nd and 4th Tuesday and Thursday
        by_ordinals: dict[tuple[int, ...], list[int]] = {}
        for day, ns in nths.items():
            key = tuple(sorted(ns, key=lambda n: (n < 0, abs(n))))
            by_ordinals.setdefault(key, []).append(day)
        groups = [
            _("the {nths} {days}").format(
                nths=_join([_nth(n) for n in ns]), days=_join([_LONG_DAYS[d] for d in days])
            )
            for ns, days in by_ordinals.items()
        ]
        text += " " + _("on {days}").format(days=_join_groups(groups))
    if "BYMONTHDAY" in parts:
        days = [int(d) for d in parts["BYMONTHDAY"].split(",") if d.lstrip("-").isdigit()]
        names = [
            _("the last day") if d == -1 else _("the {nth}").format(nth=_nth(d)) for d in days
        ]
        text += " " + _("on {days}").format(days=_join_groups(names))
    if "COUNT" in parts:
        text += ", " + _("{n} times").format(n=parts["COUNT"])
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        text += ", " + _("until {date}").format(date=f"{until[:4]}-{until[4:6]}-{until[6:8]}")
    extra = [f"{k}={v}" for k, v in parts.items() if k not in _KNOWN_PARTS]
    if extra or freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        text += " (" + rule_text + ")"
    return text


def _join_groups(groups: list[str]) -> str:
    """Groups that hold `and` themselves join with `and` only: `the 1st Monday and the 3rd
    Friday`."""
    return _(" and ").join(groups) if any(" and " in g for g in groups) else _join(groups)


def skip_warning(rule_text: str, start_local: datetime) -> str | None:
    """A warning when a rule silently skips months: the 29th-31st monthly, or 29 February
    yearly (RFC 5545 drops occurrences on days a month lacks). None when nothing is skipped."""
    if not rule_text:
        return None
    parts = dict(p.split("=", 1) for p in rule_text.split(";") if "=" in p)
    freq = parts.get("FREQ")
    if freq == "MONTHLY" and "BYDAY" not in parts and "BYSETPOS" not in parts:
        days = [int(d) for d in parts.get("BYMONTHDAY", str(start_local.day)).split(",")]
        late = sorted(d for d in days if d >= 29)
        if late and "BYMONTH" not in parts:
            return _(
                "Months without a {nth} day are skipped. For the last day of every month, use "
                "the repeat `monthly on the last day`."
            ).format(nth=_nth(late[0]))
    if (
        freq == "YEARLY"
        and (start_local.month, start_local.day) == (2, 29)
        and not {"BYMONTH", "BYMONTHDAY", "BYDAY", "BYYEARDAY", "BYWEEKNO"} & parts.keys()
    ):
        return _(
            "29 February comes only in leap years, so this meets every four years. For the "
            "last day of February every year, use the repeat "
            "`FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1`."
        )
    return None


def interval_warning(rule_text: str, start_local: datetime) -> str | None:
    """Why an `every other monday` begins a week later than a member may expect: an interval
    of weeks counts from the week the start falls in (RFC 5545), so a start on a Tuesday with
    `every other monday` first meets 13 days later, not 6. None when the first meeting is the
    first matching day on or after the start, or the rule is not weekly with an interval."""
    if not rule_text:
        return None
    parts = dict(p.split("=", 1) for p in rule_text.split(";") if "=" in p)
    if parts.get("FREQ") != "WEEKLY" or int(parts.get("INTERVAL", "1")) < 2:
        return None
    rule = build_rule(rule_text, start_local)
    first = next(iter(rule), None) if rule is not None else None
    if first is None:
        return None
    codes = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    days = {codes.index(c[-2:]) for c in parts.get("BYDAY", codes[first.weekday()]).split(",")}
    expected = start_local
    while expected.weekday() not in days and expected < first:
        expected += timedelta(days=1)
    if expected.date() >= first.date():
        return None
    from babel.dates import format_date

    from bot.core import current_language

    def shown(day: datetime) -> str:
        return str(format_date(day, "EEE d MMM", locale=current_language()))

    return _(
        "Every {n} weeks counts from the week of the start ({start}), so the first meeting is "
        "{first}. To begin on {expected}, give that day as the start."
    ).format(
        n=parts["INTERVAL"],
        start=shown(start_local),
        first=shown(first),
        expected=shown(expected),
    )


def _nth_in_month(day: date) -> int:
    """Which of its weekday in its month `day` is: 1 for the first ... 5 for the fifth."""
    return (day.day - 1) // 7 + 1


def _is_last_in_month(day: date) -> bool:
    """Whether no later day of the same month shares `day`'s weekday."""
    return (day + _WEEK).month != day.month


def follow_start(rule_text: str, old_start: datetime, new_start: datetime) -> str:
    """The rule of a series whose start moves from `old_start` to `new_start`, when the
    repeat itself is not given again: a day the rule took from the old start follows the new
    one. That is a weekly (or monthly, every such weekday) rule on the old start's weekday
    alone, a monthly rule on its day of the month alone, and a monthly rule on its nth (or
    last) weekday alone, which becomes the new start's nth (or last) weekday. A rule that
    names other days keeps them (`kept_days` says so); a rule without days follows anyway
    (dateutil takes them from the start)."""
    if not rule_text or old_start.date() == new_start.date():
        return rule_text
    parts = [p.split("=", 1) for p in rule_text.split(";") if "=" in p]
    named = {k: v for k, v in parts}
    freq, byday, bymonthday = named.get("FREQ"), named.get("BYDAY"), named.get("BYMONTHDAY")
    old_code, new_code = _CODES[old_start.weekday()], _CODES[new_start.weekday()]
    if byday is not None and bymonthday is None and "," not in byday:
        m = re.fullmatch(r"([+-]?\d{0,2})([A-Z]{2})", byday)
        if m is None or m.group(2) != old_code or freq not in ("WEEKLY", "MONTHLY"):
            return rule_text
        ordinal = m.group(1)
        if not ordinal:
            named["BYDAY"] = new_code
        elif int(ordinal) == _nth_in_month(old_start.date()):
            named["BYDAY"] = f"+{_nth_in_month(new_start.date())}{new_code}"
        elif int(ordinal) == -1 and _is_last_in_month(old_start.date()):
            last = _is_last_in_month(new_start.date())
            named["BYDAY"] = (
                f"-1{new_code}" if last else f"+{_nth_in_month(new_start.date())}{new_code}"
            )
        else:
            return rule_text
    elif bymonthday is not None and byday is None and freq == "MONTHLY":
        if bymonthday != str(old_start.day):
            return rule_text
        named["BYMONTHDAY"] = str(new_start.day)
    else:
        return rule_text
    return ";".join(f"{k}={named[k]}" for k, _v in parts)


def start_shift(
    old_rule: str, new_rule: str, old_start: datetime, new_start: datetime
) -> timedelta:
    """How far each occurrence of a series moves when its start moves from `old_start` to
    `new_start` (local wall times): occurrences keep their identity, so a start that lands
    whole periods later (or earlier) does not carry the dates with it.

    For a DAILY or WEEKLY rule of the same period before and after, the series' days or weeks
    (weeks from `WKST`, Monday unless named) stay where they were: the shift is the change of
    time of day, plus the change of weekday within the week (WEEKLY), plus whatever part of a
    period with INTERVAL > 1 the start moved by (whole periods removed, toward zero). A time
    change alone on a daily series moves each date's meeting on that same date. Other rules,
    and a one-off, shift by the whole difference. Shape: a signed `timedelta`."""
    whole = new_start - old_start
    old_simple = _simple(old_rule) if old_rule else None
    new_simple = _simple(new_rule) if new_rule else None
    if (
        old_simple is None
        or new_simple is None
        or (old_simple.weekly, old_simple.interval, old_simple.wkst)
        != (new_simple.weekly, new_simple.interval, new_simple.wkst)
    ):
        return whole
    unit = 7 if old_simple.weekly else 1  # days in one unit (a week, or a day)

    def unit_start(at: datetime) -> date:
        back = (at.weekday() - old_simple.wkst) % 7 if unit == 7 else 0
        return at.date() - timedelta(days=back)

    units = (unit_start(new_start) - unit_start(old_start)).days // unit
    periods = abs(units) // old_simple.interval * (1 if units >= 0 else -1)
    return whole - timedelta(days=unit * old_simple.interval * periods)


def kept_days(rule_text: str, new_start: datetime) -> str | None:
    """What the member is told when a series' start moved to a day its rule does not name
    (after `follow_start`): the days the rule keeps, when the first meeting now is, and how to
    change the days. None when the new start is one of the rule's days."""
    rule = build_rule(rule_text, new_start)
    if rule is None:
        return None
    first = next(iter(rule), None)
    if first is not None and first == new_start:
        return None
    from babel.dates import format_date

    from bot.core import current_language

    shown = (
        str(format_date(first, "EEE d MMM", locale=current_language()))
        if first is not None
        else _("no date")
    )
    return _(
        "The series keeps its days ({rule}), so the first meeting from the new start is "
        "{first}, not {start}. To meet on {day} instead, give the repeat as well, e.g. "
        '`repeat:"{example}"`.'
    ).format(
        rule=describe(rule_text),
        first=shown,
        start=str(format_date(new_start, "EEE d MMM", locale=current_language())),
        day=_LONG_DAYS[new_start.weekday()],
        example=_repeat_example(rule_text, new_start),
    )


def _repeat_example(rule_text: str, new_start: datetime) -> str:
    """A repeat phrase for the rule's rhythm on the new start's day (`weekly on thu`)."""
    parts = dict(p.split("=", 1) for p in rule_text.split(";") if "=" in p)
    day = DAY_NAMES[new_start.weekday()].lower()
    interval = int(parts.get("INTERVAL", "1"))
    if parts.get("FREQ") == "MONTHLY":
        return f"monthly on the {_nth(_nth_in_month(new_start.date()))} {day}"
    if interval > 1:
        return f"every {interval} weeks on {day}"
    return f"weekly on {day}"
