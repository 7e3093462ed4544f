"""What a community publishes about its meetings: the public schedule and its calendar feed.

Only what the channel announcements already say in public: title, kind, time, length, repeat
rule and how to join. Never facilitators, RSVPs (only a count, when the community shows
counts), notes or anything else a member wrote besides the meeting's title and place label.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core import PublicOccurrence, _
from cogs.meetings import ical, recurrence
from cogs.meetings.kinds import kind_label
from cogs.meetings.recurrence import Occurrence
from cogs.meetings.service import MeetingService, MeetingView

FEED_REFRESH_MINUTES = 60  # how often subscribed calendars are asked to fetch the feed again
# Zone rules and gap overrides in the feed cover this far ahead (not `ical_days`, ten years):
# subscribers fetch it again every hour, so the window slides, and ten years cost over a second
# per request for thirty weekly meetings (400 days: see docs/web.md for the measurement).
FEED_DAYS = 400


async def occurrence(
    service: MeetingService, view: MeetingView, occ: Occurrence, *, with_counts: bool
) -> PublicOccurrence:
    """One occurrence as the public sees it (see the module's rule)."""
    link = view.location if view.location.startswith("https://") else None
    return PublicOccurrence(
        meeting_id=view.id,
        title=view.title,
        kind=view.kind,
        kind_label=kind_label(view.kind),
        start=occ.start,
        duration_minutes=view.duration_minutes,
        zone=view.timezone,
        repeats=recurrence.describe(view.rrule),
        join_url=link,
        where=view.location_label or (_("Online") if link else ""),
        moved_from=occ.moved_from,
        going=await service.rsvp_count(view, occ.key) if with_counts else None,
    )


async def upcoming(
    service: MeetingService, community_id: int, *, limit: int, with_counts: bool
) -> list[PublicOccurrence]:
    """The community's next `limit` occurrences, soonest first."""
    found = await service.upcoming(community_id, limit=limit)
    return [await occurrence(service, v, o, with_counts=with_counts) for v, o in found]


async def meeting(
    service: MeetingService, community_id: int, meeting_id: int, *, limit: int, with_counts: bool
) -> list[PublicOccurrence] | None:
    """The next `limit` occurrences of one meeting, or None when the community has none such."""
    view = await service.get(meeting_id)
    if view is None or view.community_id != community_id:
        return None
    now = service.now
    found: list[Occurrence] = []
    start, span = now, timedelta(days=60)
    while len(found) < limit and start < now + timedelta(days=366 * 2):
        found.extend(view.occurrences(start, start + span))
        start += span
    return [await occurrence(service, view, o, with_counts=with_counts) for o in found[:limit]]


async def feed(service: MeetingService, community_id: int, *, name: str, url: str) -> bytes:
    """The iCalendar feed of every meeting of the community (cancelled series included, so a
    subscribed calendar shows them cancelled instead of keeping a stale copy)."""
    views = await service.all_in(community_id)
    describe = {v.id: "\n".join([kind_label(v.kind), *_join(v), url]) for v in views}
    return ical.calendar(
        views,
        name=name,
        now=service.now,
        days=min(FEED_DAYS, service.config.ical_days),
        describe=describe,
        refresh_minutes=FEED_REFRESH_MINUTES,
        notes=False,
    )


def _join(view: MeetingView) -> list[str]:
    return [view.location] if view.location.startswith("https://") else []
