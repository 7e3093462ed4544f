"""The .ics export (icalendar): one VEVENT per series with RRULE, EXDATE and overrides.

Cancelled occurrences become EXDATEs; moved ones become overrides with a RECURRENCE-ID. The bot
moves an occurrence that falls into a spring-forward gap to the first valid time after it, while
RFC 5545 apps would read it with the offset before the gap; so such occurrences get an explicit
override too (within the export window), and every calendar shows what the bot announces.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, vRecur

from bot.core import __version__
from cogs.meetings.recurrence import from_key, local_key, place_in_zone
from cogs.meetings.service import MeetingView

PRODID = f"-//circlebot//meetings {__version__}//EN"


def uid(view: MeetingView) -> str:
    """A stable identity for a meeting in people's calendars: the meeting's own uid, never
    reused (a row id can be, after a delete, and a subscribed calendar would then take a new
    meeting for an old one with a lower SEQUENCE)."""
    return f"meeting-{view.uid}@circlebot"


def calendar(
    views: Sequence[MeetingView],
    *,
    name: str,
    now: datetime,
    days: int,
    describe: dict[int, str] | None = None,
    refresh_minutes: int | None = None,
    notes: bool = True,
) -> bytes:
    """An iCalendar file for `views`; gap overrides and zone rules cover `days` ahead.

    `notes`: False leaves out the notes moderators wrote on moved occurrences (a public feed).
    `refresh_minutes`: for a subscribed feed, how often a calendar app should fetch it again
    (REFRESH-INTERVAL, RFC 7986, and the older X-PUBLISHED-TTL).
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    if refresh_minutes is not None:
        every = timedelta(minutes=refresh_minutes)
        cal.add("refresh-interval", every, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", every)
    end = now + timedelta(days=days)
    first = now
    for view in views:
        first = min(first, view.first_start)
        for event in _events(view, now, end, (describe or {}).get(view.id, ""), notes):
            cal.add_component(event)
    cal.add_missing_timezones(first_date=first.date() - timedelta(days=1), last_date=end.date())
    return bytes(cal.to_ical())


def _base(view: MeetingView, now: datetime, description: str) -> Event:
    event = Event()
    event.add("uid", uid(view))
    event.add("dtstamp", now.astimezone(UTC))
    event.add("summary", view.title)
    event.add("duration", view.duration)
    event.add("sequence", view.revision)
    if view.location.startswith("https://"):
        event.add("location", view.location)
        event.add("url", view.location)
    elif view.location_label or view.location:
        event.add("location", view.location_label or view.location)
    if description:
        event.add("description", description)
    event.add("categories", [view.kind])
    return event


def _events(
    view: MeetingView, now: datetime, end: datetime, description: str, notes: bool
) -> list[Event]:
    zone = view.zone
    master = _base(view, now, description)
    if not view.rrule:
        change = view.change(local_key(view.start_local))
        start = change.new_start if change and change.new_start else view.first_start
        master.add("dtstart", start.astimezone(zone))
        if view.cancelled or (change and change.status == "cancelled"):
            master.add("status", "CANCELLED")
        return [master]
    master.add("dtstart", place_in_zone(view.start_local, zone))
    rule = dict(vRecur.from_ical(view.rrule))
    if "UNTIL" in rule:
        until = rule["UNTIL"][0]
        if isinstance(until, datetime) and until.tzinfo is None:
            rule["UNTIL"] = [place_in_zone(until, zone).astimezone(UTC)]
    master.add("rrule", vRecur(rule))
    if view.cancelled:
        master.add("status", "CANCELLED")
    cancelled = [c for c in view.changes if c.status == "cancelled"]
    if cancelled:
        master.add("exdate", [from_key(c.occurrence).replace(tzinfo=zone) for c in cancelled])
    events = [master]
    for change in view.changes:
        if change.status == "moved" and change.new_start is not None:
            note = change.note if notes else description
            events.append(_override(view, now, change.occurrence, change.new_start, note))
    if not view.cancelled:
        for occ in view.occurrences(now, end):
            # compared as keys: formatting is cheap, parsing each key (strptime) is not
            shown = local_key(occ.start.astimezone(zone).replace(tzinfo=None))
            if occ.moved_from is None and shown != occ.key:
                events.append(_override(view, now, occ.key, occ.start, description))
    return events


def _override(view: MeetingView, now: datetime, key: str, start: datetime, note: str) -> Event:
    event = _base(view, now, note)
    event.add("recurrence-id", from_key(key).replace(tzinfo=view.zone))
    event.add("dtstart", start.astimezone(view.zone))
    return event
