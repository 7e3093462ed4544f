"""Meeting times: RFC 5545 rules (python-dateutil) expanded on the wall clock of the zone.

A meeting stores its local start wall time, an IANA zone and an RRULE. Occurrences are expanded
as naive local wall times and only then placed in the zone, so a weekly 19:00 meeting stays at
19:00 local across daylight-saving changes. Two rules settle the hours that clock changes bend:

- spring-forward gap: a wall time that does not exist that day (02:30 when clocks jump from 02:00
  to 03:00) moves forward to the first valid time after the gap (03:00);
- fall-back overlap: a wall time that happens twice takes the first of the two (fold=0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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

from bot.core.errors import UserError
from bot.i18n import _

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
FILLER = {"on", "the", "and", "of", "each", "month", "at", "repeat", "every"}
ALLOWED_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


@dataclass(frozen=True)
class Occurrence:
    """One meeting instance: its identity (the planned local wall time) and its real start."""

    key: str  # the original local wall time, e.g. "2026-12-01T19:00" (the RECURRENCE-ID)
    start: datetime  # aware UTC start, after gap rules and any move
    moved_from: datetime | None = None  # aware UTC original start, when moved
    note: str = ""


def local_key(naive: datetime) -> str:
    """The identity of an occurrence: its planned local wall time."""
    return naive.strftime(LOCAL_FORMAT)


def from_key(key: str) -> datetime:
    """Inverse of `local_key`."""
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


def build_rule(rule_text: str, start_local: datetime) -> rrule | None:
    """The dateutil rule for a stored RRULE (None for a one-off meeting)."""
    if not rule_text:
        return None
    parsed = rrulestr(rule_text, dtstart=start_local)
    assert isinstance(parsed, rrule)
    return parsed


def expand(
    start_local: datetime,
    zone: ZoneInfo,
    rule_text: str,
    after: datetime,
    before: datetime,
) -> list[tuple[datetime, datetime]]:
    """(planned local wall time, aware UTC start) of occurrences starting in [after, before)."""
    rule = build_rule(rule_text, start_local)
    if rule is None:
        candidates = [start_local]
    else:
        # Wall-time bounds with a day of slack either side cover every UTC offset.
        low = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
        high = before.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
        candidates = rule.between(low, high, inc=True)
    found = []
    for naive in candidates:
        start = place_in_zone(naive, zone).astimezone(UTC)
        if after <= start < before:
            found.append((naive, start))
    return found


def first_after(
    start_local: datetime, zone: ZoneInfo, rule_text: str, moment: datetime
) -> datetime | None:
    """The planned local wall time of the first occurrence starting at or after `moment`."""
    rule = build_rule(rule_text, start_local)
    if rule is None:
        at = place_in_zone(start_local, zone)
        return start_local if at >= moment else None
    naive = moment.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    bound = start_local + timedelta(days=366 * PROBE_YEARS)
    if getattr(rule, "_count", None) is None:
        until = getattr(rule, "_until", None)
        rule = rule.replace(until=bound if until is None else min(until, bound))
    for candidate in rule.xafter(naive, inc=True):
        if place_in_zone(candidate, zone) >= moment:
            return candidate
    return None


@dataclass(frozen=True)
class Repeat:
    """A recurrence as typed, turned into an RRULE body ("" for a one-off)."""

    rule: str


def _ordinal(word: str) -> int | None:
    if word in ORDINALS:
        return ORDINALS[word]
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", word)
    return int(m.group(1)) if m else None


def repeat_help() -> str:
    """Examples of the recurrence forms, for error messages and help."""
    return _(
        "Examples: `none`, `daily`, `weekly`, `weekly on tue,thu`, `every 2 weeks on mon`, "
        "`monthly on 2nd,4th tue`, `monthly on last fri`, `monthly on day 15`, or an RFC 5545 "
        "rule such as `FREQ=WEEKLY;BYDAY=TU`."
    )


def parse_repeat(
    text: str | None,
    start_local: datetime,
    *,
    until: date | None = None,
    count: int | None = None,
) -> str:
    """Turn `weekly on tue`, `monthly on last fri` or a raw RRULE into a stored RRULE body."""
    raw = (text or "none").strip()
    if until is not None and count is not None:
        raise UserError(_("Give either `until` or `count`, not both."))
    if raw.upper().startswith(("RRULE:", "FREQ=")):
        return _raw_rule(raw, start_local, until, count)
    words = [w for w in re.split(r"[\s,;/]+|\band\b", raw.lower()) if w]
    if words in ([], ["none"], ["once"], ["no"], ["never"]):
        if until is not None or count is not None:
            raise UserError(_("`until` and `count` only make sense with a repeat."))
        return ""
    kwargs: dict[str, Any] = {"interval": 1}
    freq: Literal[0, 1, 2, 3, 4, 5, 6] | None = None
    days: list[weekday] = []
    ordinals: list[int] = []
    monthdays: list[int] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in ("daily", "day", "days"):
            freq = DAILY
        elif word in ("weekly", "week", "weeks"):
            freq = WEEKLY
        elif word in ("biweekly", "fortnightly"):
            freq, kwargs["interval"] = WEEKLY, 2
        elif word in ("monthly", "months"):
            freq = MONTHLY
        elif word in ("yearly", "annually", "years"):
            freq = YEARLY
        elif word in DAY_WORDS:
            days.append(DAY_WORDS[word])
        elif word == "day" and nxt.isdigit():
            monthdays.append(int(nxt))
            i += 1
        elif word.isdigit() and nxt in ("days", "weeks", "months", "day", "week", "month"):
            kwargs["interval"] = int(word)
        elif word in FILLER:
            pass
        elif (n := _ordinal(word)) is not None:
            ordinals.append(n)
        else:
            raise UserError(
                _("I could not read the repeat `{text}`. {examples}").format(
                    text=raw[:60], examples=repeat_help()
                )
            )
        i += 1
    if not 1 <= kwargs["interval"] <= 52:
        raise UserError(_("The repeat interval must be between 1 and 52."))
    if ordinals and days:
        if any(not (1 <= abs(n) <= 5) for n in ordinals):
            raise UserError(_("A weekday in the month is 1st to 5th, or last."))
        freq = MONTHLY if freq in (None, MONTHLY) else freq
        kwargs["byweekday"] = [d(n) for n in ordinals for d in days]
    elif days:
        freq = WEEKLY if freq in (None, WEEKLY) else freq
        kwargs["byweekday"] = days
    elif ordinals or monthdays:
        monthdays.extend(ordinals)
        if any(not (1 <= n <= 31 or n == -1) for n in monthdays):
            raise UserError(_("A day of the month is 1 to 31, or last."))
        freq = MONTHLY if freq in (None, MONTHLY) else freq
        kwargs["bymonthday"] = monthdays
    if freq is None:
        raise UserError(
            _("Say how often: daily, weekly or monthly. {examples}").format(examples=repeat_help())
        )
    if freq == WEEKLY and "byweekday" not in kwargs:
        kwargs["byweekday"] = [start_local.weekday()]
    if freq == MONTHLY and "byweekday" not in kwargs and "bymonthday" not in kwargs:
        kwargs["bymonthday"] = [start_local.day]
    if until is not None:
        kwargs["until"] = datetime.combine(until, datetime.max.time()).replace(microsecond=0)
    if count is not None:
        kwargs["count"] = count
    return _body(rrule(freq, dtstart=start_local, **kwargs))


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


def describe(rule_text: str) -> str:
    """A short human reading of a stored rule, e.g. `every 2 weeks on Tue, Thu, 10 times`."""
    if not rule_text:
        return _("once")
    parts = dict(p.split("=", 1) for p in rule_text.split(";") if "=" in p)
    interval = int(parts.get("INTERVAL", "1"))
    unit = {
        "DAILY": (_("every day"), _("every {n} days")),
        "WEEKLY": (_("every week"), _("every {n} weeks")),
        "MONTHLY": (_("every month"), _("every {n} months")),
        "YEARLY": (_("every year"), _("every {n} years")),
    }.get(parts.get("FREQ", ""), (rule_text, rule_text))
    text = unit[0] if interval == 1 else unit[1].format(n=interval)
    names = {d[:2].upper(): d for d in DAY_NAMES}
    if "BYDAY" in parts:
        days = []
        for item in parts["BYDAY"].split(","):
            m = re.fullmatch(r"([+-]?\d{0,2})([A-Z]{2})", item)
            if not m:
                continue
            n = m.group(1)
            prefix = _("last") + " " if n == "-1" else (f"{int(n)}. " if n else "")
            days.append(prefix + names.get(m.group(2), m.group(2)))
        text += " " + _("on {days}").format(days=", ".join(days))
    if "BYMONTHDAY" in parts:
        text += " " + _("on day {days}").format(days=parts["BYMONTHDAY"].replace(",", ", "))
    if "COUNT" in parts:
        text += ", " + _("{n} times").format(n=parts["COUNT"])
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        text += ", " + _("until {date}").format(date=f"{until[:4]}-{until[4:6]}-{until[6:8]}")
    return text
