"""A line's opening hours as data: `24/7`, or a week of opening times in the line's own zone.

The form read (case does not matter; an en or em dash reads as `-`):

    24/7
    Mon-Fri 09:00-17:00; Sat 10:00-14:00
    Daily 15:00-03:00                      (past midnight: open until 03:00 the next day)
    Mon,Wed 09:00-12:00, 13:00-17:00 Europe/Dublin

Groups are separated by `;`; each is days (`Mon`, `Mon-Fri`, `Fri-Mon`, `Mon,Wed`, `Daily`,
`every day`; three-letter or full English names) and one or more times `HH:MM-HH:MM` (`24:00`
ends a day; an end at or before the start runs past midnight). The times are the line's wall
clock: the zone of its country when all of that country's zones keep one clock, else the zone
named at the end of a group (an IANA name of that country, `America/New_York`, or an
abbreviation its zone uses, `IST` in India). Anything else is not hours this module reads; the
directory keeps such text from shipped data as written and never calls that line open or closed.

Why not a library: the maintained parser of OpenStreetMap's `opening_hours` format on PyPI
(opening-hours-py) is a compiled Rust extension for a far larger language (holidays, months,
sunrise) spelt `Mo-Fr`, whose next change needs holiday data we do not have; the directory needs
the weekly subset above, a few dozen lines, proved against a model in
tests/cogs/test_crisis_hours.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.core import country_zones

ALWAYS = "24/7"
EXAMPLE = "Mon-Fri 09:00-17:00; Sat 10:00-14:00"
DAY = 1440  # minutes
WEEK = 7 * DAY
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EVERY_DAY = re.compile(r"^(?:daily|every\s*day)\b", re.I)
_DAY_ITEM = r"[a-z]{3,9}(?:\s*-\s*[a-z]{3,9})?"
_DAYS_PART = re.compile(rf"^({_DAY_ITEM}(?:\s*,\s*{_DAY_ITEM})*)\s+(.*)$", re.I | re.S)
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_ZONE_TAIL = re.compile(r"^(.*?)\s+([A-Za-z_]+(?:/[A-Za-z_+\-0-9]+)*)$", re.S)
SCAN_STEP = timedelta(hours=1)  # clock changes are looked for this finely (none come closer)


class HoursError(ValueError):
    """Text that is not hours this module reads; the message says why."""


@dataclass(frozen=True)
class Hours:
    """Weekly opening times.

    `spans` are (start, end) minutes of the line's local week, Monday 00:00 = 0: start in
    [0, 10080), end in (start, start + 1440]; a span may run past Sunday midnight into Monday.
    `always` is 24/7 (no zone, no spans)."""

    always: bool
    zone: ZoneInfo | None = None
    spans: tuple[tuple[int, int], ...] = ()

    def is_open(self, moment: datetime) -> bool:
        """Whether the line is open at `moment` (aware), read on its own wall clock."""
        if self.always:
            return True
        assert self.zone is not None
        local = moment.astimezone(self.zone)
        second = ((local.weekday() * DAY + local.hour * 60 + local.minute) * 60) + local.second
        for start, end in self.spans:
            for at in (second, second + WEEK * 60):
                if start * 60 <= at < end * 60:
                    return True
        return False

    def next_opening(self, moment: datetime) -> datetime | None:
        """The first instant after `moment` (aware) at which the line is open, in UTC; None
        when it is open at `moment` or always open.

        The line can only open where its wall clock reaches a span's start (both times, when
        clocks go back) or where its clock jumps (a change of offset); the earliest of those,
        within 8 days, at which it is open is the answer."""
        if self.always or self.is_open(moment):
            return None
        assert self.zone is not None
        zone = self.zone
        horizon = moment + timedelta(days=8)
        candidates: set[datetime] = set(_clock_changes(zone, moment, horizon))
        first_day = moment.astimezone(zone).date() - timedelta(days=1)
        for n in range(10):
            day = first_day + timedelta(days=n)
            for start, _end in self.spans:
                if start // DAY != day.weekday():
                    continue
                wall = datetime.combine(day, time(0)) + timedelta(minutes=start % DAY)
                for fold in (0, 1):
                    candidates.add(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC))
        after = sorted(c for c in candidates if moment < c <= horizon)
        return next((c for c in after if self.is_open(c)), None)

    def next_closing(self, moment: datetime) -> datetime | None:
        """The first instant after `moment` (aware) at which the line is closed, in UTC; None
        when it is closed at `moment`, always open, or open for the next 8 days.

        The line can only close where its wall clock reaches a span's end (both times, when
        clocks go back) or where its clock jumps; the earliest of those, within 8 days, at
        which it is closed is the answer (spans that meet, as 20:00-24:00 and 00:00-02:00 the
        next day, close at the last end)."""
        if self.always or not self.is_open(moment):
            return None
        assert self.zone is not None
        zone = self.zone
        horizon = moment + timedelta(days=8)
        candidates: set[datetime] = set(_clock_changes(zone, moment, horizon))
        first_day = moment.astimezone(zone).date() - timedelta(days=2)
        for n in range(11):
            day = first_day + timedelta(days=n)
            for start, end in self.spans:
                if start // DAY != day.weekday():
                    continue
                wall = datetime.combine(day, time(0)) + timedelta(minutes=end - start // DAY * DAY)
                for fold in (0, 1):
                    candidates.add(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC))
        after = sorted(c for c in candidates if moment < c <= horizon)
        return next((c for c in after if not self.is_open(c)), None)


def _clock_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in (start, end] at which `zone`'s offset changes, to the second."""
    out: list[datetime] = []
    at = start.astimezone(UTC).replace(microsecond=0)
    offset = at.astimezone(zone).utcoffset()
    while at < end:
        step = min(at + SCAN_STEP, end)
        if step.astimezone(zone).utcoffset() != offset:
            low, high = at, step  # the offset is the old one at low, a new one at high
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            out.append(high)
            offset = step.astimezone(zone).utcoffset()
        at = step
    return out


def _normal(text: str) -> str:
    return " ".join(text.replace("\u2013", "-").replace("\u2014", "-").split())


def _day(word: str) -> int:
    key = word.lower()
    if key in DAYS:
        return DAYS.index(key)
    if key in _FULL_DAYS:
        return _FULL_DAYS.index(key)
    raise HoursError(f"{word!r} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _days(text: str) -> list[int]:
    if _EVERY_DAY.match(text):
        return list(range(7))
    out: list[int] = []
    for item in text.split(","):
        if "-" in item:
            first, last = (_day(w.strip()) for w in item.split("-", 1))
            out.extend((first + n) % 7 for n in range((last - first) % 7 + 1))
        else:
            out.append(_day(item.strip()))
    return out


def _minutes(hour: str, minute: str, *, end: bool) -> int:
    h, m = int(hour), int(minute)
    if m > 59 or h > 24 or (h == 24 and (m or not end)):
        raise HoursError(f"{hour}:{minute} is not a time of day (00:00 to 23:59, or 24:00)")
    return h * 60 + m


def _ranges(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        m = _RANGE.match(part.strip())
        if m is None:
            raise HoursError(f"{part.strip()!r} is not opening times like 09:00-17:00")
        start = _minutes(m.group(1), m.group(2), end=False)
        end = _minutes(m.group(3), m.group(4), end=True)
        if end == start:
            raise HoursError(
                f"{part.strip()} opens and closes at the same time; write 00:00-24:00 for a "
                "whole day"
            )
        out.append((start, end if end > start else end + DAY))
    return out


def _zone(token: str, country: str) -> ZoneInfo:
    """The zone `token` (an IANA name or an abbreviation) names among `country`'s zones."""
    zones = country_zones(country)
    if "/" in token:
        match = [z for z in zones if z.lower() == token.lower()]
        if not match:
            raise HoursError(
                f"{token} is not a time zone of {country}; use one of: " + ", ".join(zones[:6])
            )
        return ZoneInfo(match[0])
    year = datetime.now(UTC).year
    found = [
        z
        for z in zones
        if token.upper()
        in {datetime(year, month, 15, 12, tzinfo=ZoneInfo(z)).tzname() for month in (1, 7)}
    ]
    if not found or len({_clock(z, year) for z in found}) > 1:
        raise HoursError(
            f"{token} is not a time zone of {country} I can tell apart; end the hours with "
            "one of: " + ", ".join(zones[:6])
        )
    return ZoneInfo(found[0])


def _clock(zone: str, year: int) -> tuple[timedelta | None, ...]:
    return tuple(
        datetime(year, month, 15, 12, tzinfo=ZoneInfo(zone)).utcoffset() for month in (1, 7)
    )


def country_zone(country: str) -> ZoneInfo | None:
    """The one clock of `country` (ISO 3166-1 alpha-2), or None when its zones differ or it
    has none."""
    zones = country_zones(country)
    year = datetime.now(UTC).year
    if not zones or len({_clock(z, year) for z in zones}) > 1:
        return None
    return ZoneInfo(zones[0])


@lru_cache(maxsize=1024)
def read_hours(text: str, country: str) -> Hours:
    """`text` as hours of a line in `country` (ISO 3166-1 alpha-2); raises `HoursError` with
    the reason (the caller adds `EXAMPLE`)."""
    spelled = _normal(text)
    if spelled.lower() in (ALWAYS, "24/7/365", "24 hours", "24h"):
        return Hours(always=True)
    if not spelled:
        raise HoursError("no hours were given")
    spans: list[tuple[int, int]] = []
    zones: set[str] = set()
    for group in (g.strip() for g in spelled.split(";")):
        if not group:
            continue
        tail = _ZONE_TAIL.match(group)
        if tail and not _RANGE.match(tail.group(2)) and re.search(r"\d$", tail.group(1)):
            zones.add(_zone(tail.group(2), country).key)
            group = tail.group(1).strip()
        every = _EVERY_DAY.match(group)
        if every:
            days, times = list(range(7)), group[every.end() :].strip()
        else:
            m = _DAYS_PART.match(group)
            if m is None:
                raise HoursError(f"{group!r} does not start with days such as Mon-Fri")
            days, times = _days(m.group(1)), m.group(2)
        for start, end in _ranges(times):
            spans.extend((d * DAY + start, d * DAY + end) for d in days)
    if not spans:
        raise HoursError("no opening times were given")
    if len(zones) > 1:
        raise HoursError("the groups name different time zones; a line keeps one clock")
    if zones:
        zone = ZoneInfo(zones.pop())
    else:
        found = country_zone(country)
        if found is None:
            raise HoursError(
                f"{country} has more than one time zone; end the hours with the line's, such as "
                + ", ".join(country_zones(country)[:4])
            )
        zone = found
    return Hours(always=False, zone=zone, spans=tuple(sorted(set(spans))))


def hours_or_none(text: str, country: str) -> Hours | None:
    """`read_hours`, or None for text it does not read (shipped free text: shown as written)."""
    try:
        return read_hours(text, country)
    except HoursError:
        return None
