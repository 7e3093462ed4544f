"""Meetings over the database, and their announcements planned through the outbox.

Outbox keys say what an item is: `meetings.<id>.<uid>.<occurrence>.<kind>.<due>`, the
occurrence being its planned local wall time and `<due>` the UTC time it is due (`<uid>` tells
a new meeting from a deleted one whose row id it reuses). Kinds: `remind<offset>` and `start`
in the announcement channel, `dm<rsvp id>` reminder DMs; the `cancelled` / `moved` /
`restored` notices end in `r<revision>` instead, the meeting's plan generation after that
change; so do the DMs to members whose RSVP'd date a change touched (`told<rsvp id>`, `_tell`).
Every change to a meeting, its RSVPs, its members' reminder choice or the community's
offsets goes through one path, `_replan`: the wanted items are computed from the meeting's
current state and the outbox reconciles the meeting's pending items with them (see
`Outbox.replan`). A withdrawn item is deleted, so planning it again later is never refused; an
item already sent keeps its key until long after its due time, so it is never sent twice; a new
time or offset is a new key. Items due before the meeting's last change (`revised_at`) or before
an RSVP was made are never planned, so a change never produces a late message for the past.
Pre-announcements and reminder DMs are not sent once the meeting has begun (`not_after`); only
the start notice may go out late, inside the outbox's grace window. Whether a member's reminder
DM is sent is one rule, `reminder_fate`: the planner follows it and every text that tells a
member about their reminder is worded from it. A reminder DM the outbox records as missed is
followed by one late note (`late<rsvp id>`, `late_note`) while its date has not ended.

Each meeting's current or next occurrence is also shown in the community's own calendar
(Discord's Events tab) under the mirror key `meetings.<id>`, unless a moderator switched that
off; a job `meetings.<id>.mirror` at the occurrence's end moves it on to the following one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import Field, NonNegativeInt, PositiveInt
from sqlalchemy import ColumnElement, Row, Update, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import (
    NOT_RENDERED,
    Action,
    ActionStyle,
    Actor,
    AuditService,
    CalendarMirror,
    Clock,
    Command,
    CommunityInfo,
    Database,
    Instead,
    LoopTurns,
    MemberService,
    Message,
    MirroredEvent,
    NotFound,
    Outbox,
    OutboxRef,
    OwnerPlan,
    Part,
    Planned,
    PlanStamp,
    RefKind,
    Scheduler,
    Section,
    SettingsService,
    Target,
    Tier,
    UserError,
    When,
    _,
    closest_name,
    code_digest,
    escape_markdown,
    export_row,
    fill_parts,
    in_values,
    keyed_digest,
    name_key,
    ngettext,
    person_label,
    using_language,
)
from cogs.meetings import recurrence
from cogs.meetings.kinds import KINDS, kind_label
from cogs.meetings.models import (
    Meeting,
    MeetingException,
    MeetingFacilitator,
    MeetingReminderOptOut,
    MeetingRsvp,
)
from cogs.meetings.notices import Lost, notices
from cogs.meetings.recurrence import Occurrence, from_key, local_key, place_in_zone

# A pre-announcement ("starts in 10 minutes") may go up to this many seconds early when many
# are due together, so the last of a burst is still on time; "starting now" never goes early.
EARLY_SECONDS = 30

log = logging.getLogger("circlebot.meetings")

PLAN_SWEEP_JOB = "meetings.plan"  # the one job that plans every meeting whose moment came
AMBIGUOUS_LISTED = 5  # meetings named when a typed title matches several
PLAN_RETRY = timedelta(minutes=1)  # a meeting whose planning failed is tried again this much later

SCOPE = "meetings"
REBUILD_BATCH = 500  # meetings reconciled per transaction at start-up (see `rebuild`)
TRUST_PAGE = 1000  # meetings whose stored plans a restart checks per read (see `_rebuild_trusted`)
SEEN_AHEAD = timedelta(days=8)  # how far past its window a rebuild's plan looks at occurrences
# Above this many meetings to plan, start-up plans first the meetings with something due soon
# (`URGENT_WINDOW`) and the rest in the background, in order of their first due item, while
# the bot already answers (see `rebuild`). At or below it, start-up plans all of them: a
# thousand meetings take well under a second, and the split costs a read of each.
PHASED_REBUILD_MEETINGS = 2_000
# What start-up plans before it returns: every item due up to this far ahead (or still in the
# grace window behind). The rest is planned in due order at thousands of meetings a second, so
# the first of it is planned long before it comes due.
URGENT_WINDOW = timedelta(minutes=10)
# A background rebuild that fails (the database away for a moment) is tried again after these
# waits (seconds), then every last one of them until it succeeds or the bot stops.
REBUILD_RETRY_SECONDS = (1.0, 5.0, 30.0)
MEETING_COLUMNS = tuple(Meeting.__table__.columns)
TRUST_COLUMNS = (
    Meeting.id,
    Meeting.uid,
    Meeting.community_id,
    Meeting.revision,
    Meeting.plan_version,
)
TITLE_MAX = 100
FORMER_MEMBER = "a former member"
T = TypeVar("T")


class MeetingsConfig(Section):
    """`[cogs.meetings]` settings; moderators may override the offsets per community."""

    announce_minutes: list[NonNegativeInt] = Field(default_factory=lambda: [1440, 10, 0])
    plan_hours: PositiveInt = 48  # announcements are written to the outbox this far ahead
    rsvp_remind_minutes: NonNegativeInt = 15  # default DM reminder offset for members who opt in
    page_size: PositiveInt = 8
    max_duration_hours: PositiveInt = 12
    ical_days: PositiveInt = 3650  # time-zone rules and gap overrides in .ics files cover this far


@dataclass(frozen=True)
class Draft:
    """A meeting as the cog validated it from command options."""

    title: str
    kind: str
    start_local: datetime  # naive wall time in `timezone`
    timezone: str
    duration_minutes: int
    rrule: str
    location: str
    location_label: str
    channel: str
    script: str | None = None
    facilitators: tuple[str, ...] = ()

    @classmethod
    def of(cls, view: MeetingView) -> Draft:
        """The meeting's details as they are (an edit starts from them; no facilitators)."""
        return cls(
            title=view.title,
            kind=view.kind,
            start_local=view.start_local,
            timezone=view.timezone,
            duration_minutes=view.duration_minutes,
            rrule=view.rrule,
            location=view.location,
            location_label=view.location_label,
            channel=view.channel,
            script=view.script,
        )

    def details(self) -> tuple[object, ...]:
        """What an edit compares: every detail, the start as stored, no script as None."""
        return (
            self.title,
            self.kind,
            local_key(self.start_local),
            self.timezone,
            self.duration_minutes,
            self.rrule,
            self.location,
            self.location_label,
            self.channel,
            self.script or None,
        )


@dataclass(frozen=True)
class Change:
    """One exception: an occurrence cancelled or moved.

    The two compose: a moved occurrence that is cancelled keeps its `new_start` (aware UTC)
    with status "cancelled", so restoring it brings it back at the moved time, not the
    original one. `new_start` is None for an occurrence never moved.
    """

    occurrence: str
    status: str
    new_start: datetime | None
    note: str

    def local_days(self, zone: ZoneInfo) -> tuple[str, ...]:
        """The local dates ("YYYY-MM-DD") the occurrence can be named by: the moved one (if
        moved) first, then its original one."""
        days = [self.occurrence[:10]]
        if self.new_start is not None:
            days.insert(0, self.new_start.astimezone(zone).date().isoformat())
        return tuple(dict.fromkeys(days))


@dataclass(frozen=True)
class RsvpView:
    """One member's RSVP (their own eyes only)."""

    actor_key: str
    occurrence: str
    remind_minutes: int | None
    created_at: datetime  # when its reminder was last (re)planned: made, changed, switched on
    id: int = 0


class Fate(StrEnum):
    """What becomes of one member's reminder DM for one date (`reminder_fate`)."""

    NONE = "none"  # no reminder asked
    OFF = "off"  # the member turned reminder DMs off
    COMING = "coming"  # planned: the outbox sends it at its time
    TOO_LATE = "too_late"  # due before the RSVP (or the meeting's last change): never planned
    # planned, but the outbox skips it (the meeting began, or the grace passed); a late note
    # (`MeetingService.late_note`) goes in its place while the date has not ended
    MISSED = "missed"


@dataclass(frozen=True)
class Reminder:
    """One member's reminder DM for one date: its fate, minutes before, the date's start and
    the moment it is due (aware UTC; None without a reminder)."""

    fate: Fate
    minutes: int = 0
    start: datetime | None = None
    due: datetime | None = None

    @property
    def promised(self) -> bool:
        """Whether the DM will be (or was just) sent: the only fate a member is promised."""
        return self.fate is Fate.COMING


NO_REMINDER = Reminder(Fate.NONE)


def reminder_fate(
    rsvp: RsvpView | None,
    start: datetime,
    revised_at: datetime,
    off: bool,
    missed: Callable[[datetime, datetime | None], bool],
) -> Reminder:
    """What becomes of `rsvp`'s reminder DM for a date starting at `start` of a meeting last
    changed at `revised_at` (aware UTC), for a member who turned reminders off (`off`) or not.

    The one rule: the planner (`MeetingService.wanted`) plans by it, and every line that tells
    a member about their reminder (the RSVP's answer, `meeting info`, a change's notice,
    `meeting reminders on`) is worded from it, so what a member is promised and what is sent
    cannot differ. A DM due before the RSVP was made (or reminders were turned on) or before
    the meeting's last change is never planned (`TOO_LATE`); one planned is skipped by the
    outbox when `missed` (`Outbox.missed`: the meeting began, or it is older than the grace
    window) says so (`MISSED`); the late note planned with it (`MeetingService.late_note`) is
    no reminder and promises nothing before it comes, so the words shown for `MISSED` stay.
    """
    if rsvp is None or rsvp.remind_minutes is None:
        return NO_REMINDER
    due = start - timedelta(minutes=rsvp.remind_minutes)
    if off:
        fate = Fate.OFF
    elif due < max(rsvp.created_at, revised_at):
        fate = Fate.TOO_LATE
    elif missed(due, start):
        fate = Fate.MISSED
    else:
        fate = Fate.COMING
    return Reminder(fate, rsvp.remind_minutes, start, due)


# The fates the planner writes a DM for: one to send, or one missed (recorded as skipped).
PLANNED_FATES = frozenset({Fate.COMING, Fate.MISSED})


@dataclass(frozen=True, slots=True)
class Seen:
    """The occurrences `wanted` found of one meeting starting in [after, before) (aware UTC),
    kept for the same rebuild's `_planned`: its next occurrence past the horizon is often
    among them, and following the rule again cost as much as finding them."""

    after: datetime
    before: datetime
    occurrences: Sequence[Occurrence]

    def next_from(self, moment: datetime) -> Occurrence | None:
        """The first of them starting at or after `moment`, or None when the window does not
        show it (`moment` outside it, or none after it there)."""
        if not self.after <= moment < self.before:
            return None
        return next((o for o in self.occurrences if o.start >= moment), None)


@dataclass(frozen=True)
class MeetingView:
    """A meeting with its facilitators and exceptions, detached from the session."""

    id: int
    community_id: int
    title: str
    kind: str
    start_local: datetime
    timezone: str
    duration_minutes: int
    rrule: str
    location: str
    location_label: str
    channel: str
    script: str | None
    ping_role: str | None
    cancelled: bool
    cancel_note: str
    revision: int
    revised_at: datetime
    uid: str  # unique across every meeting ever made, unlike a reused row id
    created_by: str
    facilitators: tuple[str, ...]
    changes: tuple[Change, ...]
    plan_version: int = 0  # see `Meeting.plan_version`

    @property
    def zone(self) -> ZoneInfo:
        """The meeting's own IANA zone."""
        return ZoneInfo(self.timezone)

    @property
    def duration(self) -> timedelta:
        """How long each occurrence lasts."""
        return timedelta(minutes=self.duration_minutes)

    @property
    def first_start(self) -> datetime:
        """The series' first start, aware UTC."""
        return place_in_zone(self.start_local, self.zone).astimezone(UTC)

    def change(self, occurrence: str) -> Change | None:
        """The exception for one occurrence, if any."""
        return next((c for c in self.changes if c.occurrence == occurrence), None)

    def cancelled_on(self, day: str) -> Change | None:
        """The cancelled occurrence named by a local date ("YYYY-MM-DD"): its moved date or
        its original one (a date it would take place on now is preferred), or None."""
        cancelled = [c for c in self.changes if c.status == "cancelled"]
        for rank in (0, 1):
            for c in cancelled:
                days = c.local_days(self.zone)
                if rank < len(days) and days[rank] == day:
                    return c
        return None

    def planned_start(self, change: Change) -> datetime:
        """Aware UTC start of a changed occurrence as it would take place: its moved start,
        else its original one."""
        return change.new_start or self.original_start(change.occurrence)

    def occurrences(self, after: datetime, before: datetime) -> list[Occurrence]:
        """Occurrences that really take place with a start in [after, before), moves applied."""
        if self.cancelled:
            return []
        expanded = recurrence.expand(self.start_local, self.zone, self.rrule, after, before)
        if not self.changes:  # the rule's own starts, in order already
            return [Occurrence(local_key(naive), start) for naive, start in expanded]
        changed = {c.occurrence for c in self.changes}
        found = [
            Occurrence(key, start)
            for naive, start in expanded
            if (key := local_key(naive)) not in changed
        ]
        for c in self.changes:
            if c.status == "moved" and c.new_start is not None and after <= c.new_start < before:
                original = place_in_zone(from_key(c.occurrence), self.zone).astimezone(UTC)
                found.append(Occurrence(c.occurrence, c.new_start, original, c.note))
        return sorted(found, key=lambda o: (o.start, o.key))

    def first_in(self, after: datetime, before: datetime) -> Occurrence | None:
        """The first of `occurrences(after, before)`, or None; the rule is followed only up
        to its first occurrence there that takes place (a start-up asks this of every
        meeting, and expanding a whole window cost most of the planning)."""
        if self.cancelled:
            return None
        changed = {c.occurrence for c in self.changes}
        found = []
        for naive, start in recurrence.starts_from(self.start_local, self.zone, self.rrule, after):
            if start >= before:
                break
            key = local_key(naive)
            if key not in changed:
                found.append(Occurrence(key, start))
                break
        for c in self.changes:
            if c.status == "moved" and c.new_start is not None and after <= c.new_start < before:
                original = place_in_zone(from_key(c.occurrence), self.zone).astimezone(UTC)
                found.append(Occurrence(c.occurrence, c.new_start, original, c.note))
        return min(found, key=lambda o: (o.start, o.key), default=None)

    def next_occurrence(self, now: datetime) -> Occurrence | None:
        """The next occurrence that starts at or after `now`."""
        start, span = now, timedelta(days=40)
        limit = now + timedelta(days=366 * recurrence.PROBE_YEARS)
        while start < limit:
            end = start + span
            found = self.first_in(start, end)
            if found is not None:
                return found
            later = recurrence.first_after(self.start_local, self.zone, self.rrule, end)
            if later is None and not any(
                c.status == "moved" and c.new_start and c.new_start >= end for c in self.changes
            ):
                return None
            start, span = end, span * 4
        return None

    def last_started(self, now: datetime) -> Occurrence | None:
        """The latest occurrence that really took place (or is under way) with a start before
        `now`, moves applied; None when none did (all cancelled, or none yet). Meant for a
        meeting without a `next_occurrence`: its rule is finite, so the expansion is short."""
        moved = [c.new_start for c in self.changes if c.new_start is not None]
        low = min([self.first_start, *moved]) - timedelta(days=1)
        past = self.occurrences(low, now) if low < now else []
        return past[-1] if past else None

    def original_start(self, occurrence: str) -> datetime:
        """Aware UTC start the occurrence was planned for (before any move)."""
        return place_in_zone(from_key(occurrence), self.zone).astimezone(UTC)

    def is_occurrence(self, occurrence: str) -> bool:
        """True when the rule (or the one-off start) produces this local wall time."""
        naive = from_key(occurrence)
        start = self.original_start(occurrence)
        return any(
            n == naive
            for n, _s in recurrence.expand(
                self.start_local,
                self.zone,
                self.rrule,
                start - timedelta(minutes=1),
                start + timedelta(minutes=1),
            )
        )


def _view(row: Row[Any], facilitators: Sequence[str], changes: Sequence[Change]) -> MeetingView:
    return MeetingView(
        id=row.id,
        community_id=row.community_id,
        title=row.title,
        kind=row.kind,
        start_local=from_key(row.start_local),
        timezone=row.timezone,
        duration_minutes=row.duration_minutes,
        rrule=row.rrule,
        location=row.location,
        location_label=row.location_label,
        channel=row.channel,
        script=row.script,
        ping_role=row.ping_role,
        cancelled=row.cancelled,
        cancel_note=row.cancel_note or "",
        revision=row.revision,
        revised_at=row.revised_at,
        uid=row.uid,
        created_by=row.created_by,
        facilitators=tuple(sorted(facilitators)),
        changes=tuple(sorted(changes, key=lambda c: c.occurrence)),
        plan_version=row.plan_version,
    )


def _planned_again(meeting_ids: Sequence[int]) -> Update:
    """Raise these meetings' `plan_version`: what they plan changed beside their rows."""
    return (
        update(Meeting)
        .where(Meeting.id.in_(sorted(meeting_ids)))
        .values(plan_version=Meeting.plan_version + 1)
    )


def _change(row: MeetingException) -> Change:
    return Change(row.occurrence, row.status, row.new_start, row.note or "")


def check_title(title: str) -> str:
    """A meeting title: one line, visible characters, at most TITLE_MAX long."""
    clean = " ".join(title.split())
    if not clean:
        raise UserError(_("A meeting needs a title."))
    if len(clean) > TITLE_MAX:
        raise UserError(
            _("A meeting title can be at most {n} characters (this one has {length}).").format(
                n=TITLE_MAX, length=len(clean)
            )
        )
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in clean):
        raise UserError(_("A meeting title cannot contain invisible or control characters."))
    return clean


def check_note(note: str | None) -> str:
    """An optional note shown in announcements."""
    clean = " ".join((note or "").split())
    if len(clean) > 300:
        raise UserError(_("A note can be at most 300 characters."))
    return clean


@dataclass(frozen=True)
class AnnouncementLines:
    """The parts of a meeting's announcements that no occurrence or offset changes (see
    `MeetingService.announcement_lines`)."""

    title: str  # the title, markdown escaped
    about: tuple[Part, ...]  # the kind, place and facilitator lines
    typing: tuple[Part, ...]  # how to RSVP by typing
    labels: tuple[str, str, str]  # the come, remind and skip buttons


def meeting_ref(meeting_id: int) -> OutboxRef:
    """The outbox reference of a meeting's planned announcements and reminders."""
    return OutboxRef(RefKind.MEETING, str(meeting_id))


def notice_ref(meeting_id: int) -> OutboxRef:
    """The outbox reference of a meeting's change notices (cancelled, moved, restored)."""
    return OutboxRef(RefKind.MEETING_NOTICE, str(meeting_id))


def item_key(view: MeetingView, occurrence: str, kind: str, due: datetime) -> str:
    """The outbox key of one item: meeting, occurrence, kind and due time (UTC).

    The meeting's `uid` keeps a new meeting that reuses a deleted one's row id apart from it.
    """
    return f"{key_prefix(view)}{occurrence}.{kind}.{_compact_utc(due)}"


def _compact_utc(moment: datetime) -> str:
    """`moment` (aware) in UTC as "YYYYMMDDTHHMMSS". Cut from `isoformat`, which is several times
    faster than strftime (a first start writes one per item); strftime below year 1000, where
    it does not pad the year as isoformat does (keys written before stay the same)."""
    utc = moment.astimezone(UTC)
    if utc.year < 1000:
        return f"{utc:%Y%m%dT%H%M%S}"
    text = utc.isoformat()
    return f"{text[0:4]}{text[5:7]}{text[8:13]}{text[14:16]}{text[17:19]}"


def key_prefix(view: MeetingView) -> str:
    """`meetings.<id>.<uid>.`, the start of every outbox key of one meeting."""
    return prefix_of(view.id, view.uid)


def prefix_of(meeting_id: int, uid: str) -> str:
    """`key_prefix` of the meeting with this row id and uid."""
    return f"meetings.{meeting_id}.{uid[:8]}."


def owner_refs(meeting_id: int) -> tuple[OutboxRef, ...]:
    """Every outbox reference a meeting's items carry as its own: its planned announcements
    and reminders, its change notices, its sent posts kept current."""
    return (meeting_ref(meeting_id), notice_ref(meeting_id), live_ref(meeting_id))


def live_ref(meeting_id: int) -> OutboxRef:
    """The reference that keeps a meeting's sent channel posts current (their RSVP count)."""
    return OutboxRef(RefKind.LIVE_POST, f"meetings.{meeting_id}")


RSVP_ACTION = re.compile(
    r"meetings:rsvp:(?P<id>\d{1,18}):(?P<uid>[0-9a-f]{1,8}):"
    r"(?P<occurrence>\d{4}-\d\d-\d\dT\d\d:\d\d):(?P<choice>come|remind|skip)"
)
# Where a platform has no buttons (Matrix), a reaction with one of these presses the choice.
RSVP_EMOJI = {"come": "\u2705", "remind": "\U0001f514", "skip": "\u274c"}  # ✅ 🔔 ❌


def rsvp_action(view: MeetingView, occurrence: str, choice: str) -> str:
    """The button id of one RSVP choice on one occurrence's posts (read back by `RSVP_ACTION`)."""
    return f"meetings:rsvp:{view.id}:{view.uid[:8]}:{occurrence}:{choice}"


def offset_of(kind: str) -> int | None:
    """Inverse of `kind_name`: the offset in minutes, None for any other kind."""
    if kind == "start":
        return 0
    found = re.fullmatch(r"remind(\d+)([mh])", kind)
    if found is None:
        return None
    return int(found[1]) * (60 if found[2] == "h" else 1)


def kind_name(minutes: int) -> str:
    """The outbox kind for an announcement offset: `start`, `remind10m`, `remind24h`."""
    if minutes == 0:
        return "start"
    return f"remind{minutes // 60}h" if minutes % 60 == 0 else f"remind{minutes}m"


def target_of(place_key: str, *, dm: bool = False) -> Target:
    """The outbox target for a stored place key (or an actor key for a DM)."""
    platform, _sep, ident = place_key.partition(":")
    return Target(platform, place_key if dm else ident, dm)


class MeetingService:
    """Meetings, exceptions and RSVPs; every change replans the outbox."""

    def __init__(
        self,
        config: MeetingsConfig,
        *,
        audit: AuditService,
        calendar: CalendarMirror,
        clock: Clock,
        db: Database,
        members: MemberService,
        outbox: Outbox,
        scheduler: Scheduler,
        settings: SettingsService,
    ) -> None:
        self.config = config
        self.audit = audit
        self.calendar = calendar
        self.clock = clock
        self.db = db
        self.members = members
        self.outbox = outbox
        self.scheduler = scheduler
        self.settings = settings
        self._sessions = db.sessions
        self._offsets: dict[int, list[int]] = {}
        self._languages: dict[int, str] = {}
        self._communities: dict[int, CommunityInfo | None] = {}
        # meeting id -> when it next needs planning (derived; rebuilt at start), and when the
        # one planning sweep runs (None: not planned)
        self._plan_due: dict[int, datetime] = {}
        self._sweep_at: datetime | None = None
        # How often `_replan` began for each meeting in this process: a rebuild that read a
        # meeting before a change replanned it plans that meeting again after its own write.
        self._replans: dict[int, int] = {}
        self._stamp_bases: dict[timedelta, str] = {}  # see `_stamp_digest`
        self._rest: asyncio.Task[None] | None = None  # a start-up's background planning
        self._go = asyncio.Event()  # set: the background planning may begin
        # One rebuild at a time: a takeover's rebuild during another would leave the first
        # one's background task running unowned (`_rest` holds one).
        self._rebuilding = asyncio.Lock()

    @property
    def now(self) -> datetime:
        """The app clock."""
        return self.clock.now()

    # --- reading -------------------------------------------------------------------------

    async def _load(self, where: ColumnElement[bool]) -> list[MeetingView]:
        async with self._sessions() as session:
            # Plain rows of the table's columns: building ORM objects cost most of the read.
            rows = list(await session.execute(select(*MEETING_COLUMNS).where(where)))
            ids = [r.id for r in rows]
            facs: dict[int, list[str]] = {}
            changes: dict[int, list[Change]] = {}
            for chunk in _chunks(ids, 500):
                for mid, key in await session.execute(
                    select(MeetingFacilitator.meeting_id, MeetingFacilitator.actor_key).where(
                        in_values(MeetingFacilitator.meeting_id, chunk)
                    )
                ):
                    facs.setdefault(mid, []).append(key)
                for exc in await session.scalars(
                    select(MeetingException).where(in_values(MeetingException.meeting_id, chunk))
                ):
                    changes.setdefault(exc.meeting_id, []).append(_change(exc))
        return [_view(r, facs.get(r.id, []), changes.get(r.id, [])) for r in rows]

    async def get(self, meeting_id: int) -> MeetingView | None:
        """One meeting by id, or None."""
        found = await self._load(Meeting.id == meeting_id)
        return found[0] if found else None

    async def all_in(self, community_id: int) -> list[MeetingView]:
        """Every meeting of a community, cancelled series included."""
        return await self._load(Meeting.community_id == community_id)

    async def find(self, community_id: int, ref: str, zone: ZoneInfo | None = None) -> MeetingView:
        """A meeting by `#id`, id, exact title or unique title prefix, within one community.

        Raises `UserError` listing the matches (each with its next start in `zone`, the
        reader's; default each meeting's own) when several match, `NotFound` when none."""
        text = ref.strip()
        meetings = await self.all_in(community_id)
        if m := re.fullmatch(r"#?(\d{1,9})", text):
            for view in meetings:
                if view.id == int(m.group(1)):
                    return view
        folded = text.casefold()
        exact = [v for v in meetings if v.title.casefold() == folded]
        live = [v for v in exact if not v.cancelled] or exact
        if len(live) == 1:
            return live[0]
        prefix = [v for v in meetings if v.title.casefold().startswith(folded) and not v.cancelled]
        if len(prefix) == 1 and folded:
            return prefix[0]
        if len(live) > 1 or len(prefix) > 1:
            matches = live if len(live) > 1 else prefix
            listed = ", ".join(self._named_for_choice(v, zone) for v in matches[:AMBIGUOUS_LISTED])
            more = len(matches) - AMBIGUOUS_LISTED
            if more > 0:
                listed += " " + _("and {count} more").format(count=more)
            raise UserError(
                _("Several meetings match `{ref}`: {listed}. Use the number, e.g. #{id}.").format(
                    ref=text[:60], listed=listed, id=matches[0].id
                )
            )
        current = [v for v in meetings if not v.cancelled]
        near = closest_name(text, [v.title for v in current])
        same = [v for v in current if near is not None and v.title == near]
        if len(same) == 1 and name_key(near or "") == name_key(text):
            return same[0]  # `🌱 newcomers` for `🌱 Newcomers`: case and emoji aside
        hint = " " + _("Did you mean **{title}**?").format(title=near) if near else ""
        raise NotFound(_("There is no meeting `{ref}` here.").format(ref=text[:60]) + hint)

    def _named_for_choice(self, view: MeetingView, zone: ZoneInfo | None) -> str:
        """`#3 **Circle** (Tue 8 Dec, 19:00 CET)`: a meeting as a list to choose from names
        it, with its next start in `zone` (default the meeting's own), since two meetings may
        share a title."""
        nxt = view.next_occurrence(self.now)
        if nxt is None:
            return f"#{view.id} **{escape_markdown(view.title)}**"
        local = nxt.start.astimezone(zone or ZoneInfo(view.timezone))
        when = f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {local.tzname()}"
        return f"#{view.id} **{escape_markdown(view.title)}** ({when})"

    async def suggest(self, community_id: int, partial: str) -> list[MeetingView]:
        """Meetings whose title contains `partial`, soonest first (autocomplete)."""
        needle = partial.strip().casefold().lstrip("#")
        now = self.now
        found = []
        for view in await self.all_in(community_id):
            if view.cancelled:
                continue
            if needle and needle not in view.title.casefold() and needle != str(view.id):
                continue
            nxt = view.next_occurrence(now)
            if nxt is not None:
                found.append((nxt.start, view))
        return [v for _s, v in sorted(found, key=lambda p: (p[0], p[1].id))][:25]

    async def upcoming(
        self, community_id: int, *, limit: int, skip: int = 0
    ) -> list[tuple[MeetingView, Occurrence]]:
        """The community's next occurrences across meetings, soonest first."""
        now = self.now
        wanted = limit + skip
        views = [v for v in await self.all_in(community_id) if not v.cancelled]
        found: list[tuple[MeetingView, Occurrence]] = []
        span = timedelta(days=35)
        start = now
        while len(found) < wanted and start < now + timedelta(days=366 * 2):
            for view in views:
                found.extend((view, o) for o in view.occurrences(start, start + span))
            start += span
        found.sort(key=lambda p: (p[1].start, p[0].id))
        return found[skip:wanted]

    async def rsvp_count(self, view: MeetingView, occurrence: str) -> int:
        """How many people plan to come to one occurrence (the only thing others see)."""
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count(func.distinct(MeetingRsvp.actor_key))).where(
                    MeetingRsvp.meeting_id == view.id,
                    MeetingRsvp.occurrence.in_(("", occurrence)),
                )
            )
        return int(count or 0)

    async def rsvps_of(self, meeting_id: int, actor_key: str) -> list[RsvpView]:
        """One member's own RSVPs for a meeting."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(MeetingRsvp).where(
                    MeetingRsvp.meeting_id == meeting_id, MeetingRsvp.actor_key == actor_key
                )
            )
            return [_rsvp(r) for r in rows]

    async def reminders_off(self, actor_key: str) -> bool:
        """True when a member opted out of every reminder DM."""
        async with self._sessions() as session:
            return await session.get(MeetingReminderOptOut, actor_key) is not None

    async def reminder_of(
        self,
        view: MeetingView,
        occ: Occurrence,
        actor_key: str,
        rsvp: RsvpView | None = None,
    ) -> Reminder:
        """What becomes of a member's reminder DM for `occ` now (`reminder_fate`, the rule the
        planner follows): `rsvp`'s (a series RSVP's, for its next date), or by default the
        RSVP the planner follows for that date (`chosen_rsvps`). `view`: the meeting as it is
        now (its last change decides)."""
        if rsvp is None:
            rsvp = chosen_rsvps(await self.rsvps_of(view.id, actor_key), occ.key).get(actor_key)
        off = rsvp is not None and rsvp.remind_minutes is not None
        off = off and await self.reminders_off(actor_key)
        return reminder_fate(rsvp, occ.start, view.revised_at, off, self.outbox.missed)

    async def reminders_too_late(self, actor_key: str) -> list[tuple[MeetingView, Reminder]]:
        """The member's next dates (one per meeting, not begun) whose reminder they asked for
        will not come (`TOO_LATE` or `MISSED`), soonest first: after `set_reminders` on, what
        came due before that moment."""
        async with self._sessions() as session:
            ids = sorted(
                set(
                    await session.scalars(
                        select(MeetingRsvp.meeting_id).where(
                            MeetingRsvp.actor_key == actor_key,
                            MeetingRsvp.remind_minutes.is_not(None),
                        )
                    )
                )
            )
        found: list[tuple[MeetingView, Reminder]] = []
        now = self.now
        for meeting_id in ids:
            view = await self.get(meeting_id)
            nxt = view.next_occurrence(now) if view is not None else None
            if view is None or view.cancelled or nxt is None or nxt.start <= now:
                continue
            reminder = await self.reminder_of(view, nxt, actor_key)
            if reminder.fate in (Fate.TOO_LATE, Fate.MISSED):
                found.append((view, reminder))
        return sorted(found, key=lambda pair: (pair[1].start or now, pair[0].id))

    async def next_meeting(
        self, community_id: int, meeting: str | None = None
    ) -> tuple[str, datetime] | None:
        """(title, next start UTC) of the named meeting, or of the community's next one."""
        if meeting:
            try:
                view = await self.find(community_id, meeting)
            except UserError:
                return None
            nxt = view.next_occurrence(self.now)
            return None if nxt is None else (view.title, nxt.start)
        found = await self.upcoming(community_id, limit=1)
        return None if not found else (found[0][0].title, found[0][1].start)

    # --- changing ------------------------------------------------------------------------

    def validate(self, draft: Draft, *, start_changed: bool = True) -> Draft:
        """Check a draft; move its start onto the rule's first occurrence. Raises UserError."""
        title = check_title(draft.title)
        if draft.kind not in KINDS:
            raise UserError(_("A meeting kind is one of: {kinds}.").format(kinds=", ".join(KINDS)))
        limit = self.config.max_duration_hours * 60
        if not 0 < draft.duration_minutes <= limit:
            raise UserError(
                _("A meeting lasts more than zero minutes and at most {hours} hours.").format(
                    hours=self.config.max_duration_hours
                )
            )
        zone = ZoneInfo(draft.timezone)
        now = self.now
        start = place_in_zone(draft.start_local, zone)
        if start_changed and start <= now:
            raise UserError(_start_passed(draft, zone, now))
        if start.replace(tzinfo=None) != draft.start_local:
            raise UserError(
                _("{time} does not exist in {zone}: the clocks jump forward then.").format(
                    time=f"{draft.start_local:%Y-%m-%d %H:%M}", zone=draft.timezone
                )
            )
        first = recurrence.first_after(draft.start_local, zone, draft.rrule, start)
        if first is None or recurrence.first_after(first, zone, draft.rrule, now) is None:
            raise UserError(
                _(
                    "That repeat never produces a meeting after the start (check `until`, "
                    "`count` and the days). Nothing was saved."
                )
            )
        return replace(draft, title=title, start_local=first)

    async def create(self, community_id: int, actor_key: str, draft: Draft) -> MeetingView:
        """Save a new meeting and plan its announcements."""
        now = self.now
        async with self._sessions.begin() as session:
            await _refuse_a_twin(session, community_id, draft, besides=None)
            row = Meeting(
                community_id=community_id,
                title=draft.title,
                kind=draft.kind,
                start_local=local_key(draft.start_local),
                timezone=draft.timezone,
                duration_minutes=draft.duration_minutes,
                rrule=draft.rrule,
                location=draft.location,
                location_label=draft.location_label,
                channel=draft.channel,
                script=draft.script,
                ping_role=None,
                cancelled=False,
                cancel_note=None,
                revision=1,
                revised_at=now,
                created_by=actor_key,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            for key in dict.fromkeys(draft.facilitators or (actor_key,)):
                session.add(MeetingFacilitator(meeting_id=row.id, actor_key=key))
            meeting_id = row.id
        await self.audit.record(community_id, actor_key, "meetings.schedule", f"#{meeting_id}")
        return await self._replan(meeting_id)

    @staticmethod
    def changes(
        view: MeetingView, draft: Draft, *, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> bool:
        """Whether saving `draft` (adding and removing those facilitators) would change the
        meeting at all: a detail differs, someone new is added, or a facilitator removed."""
        facilitators = set(view.facilitators)
        changed = draft.details() != Draft.of(view).details()
        return changed or bool(set(add) - facilitators) or bool(set(remove) & facilitators)

    async def update(
        self,
        view: MeetingView,
        actor_key: str,
        draft: Draft,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
    ) -> MeetingView:
        """Save an edited meeting; withdraw what was planned and plan the new revision.

        Members whose RSVP'd dates now fall at another time are told privately (`_tell`). A
        draft that `changes` nothing is not saved: the revision, the audit log and what is
        planned stay as they are (a new revision would announce the meeting afresh)."""
        if not self.changes(view, draft, add=add, remove=remove):
            return view
        before = await self._as_it_was(view.id)
        async with self._sessions.begin() as session:
            row = await session.get(Meeting, view.id)
            if row is None:
                raise NotFound(_("That meeting no longer exists."))
            await _refuse_a_twin(session, view.community_id, draft, besides=view.id)
            row.title = draft.title
            row.kind = draft.kind
            row.start_local = local_key(draft.start_local)
            row.timezone = draft.timezone
            row.duration_minutes = draft.duration_minutes
            row.rrule = draft.rrule
            row.location = draft.location
            row.location_label = draft.location_label
            row.channel = draft.channel
            row.script = draft.script
            self._bump(row)
            await self._follow_start(session, view, draft)
            removed = set(remove)
            if removed:
                await session.execute(
                    delete(MeetingFacilitator).where(
                        MeetingFacilitator.meeting_id == view.id,
                        MeetingFacilitator.actor_key.in_(removed),
                    )
                )
            for key in set(add) - set(view.facilitators):
                session.add(MeetingFacilitator(meeting_id=view.id, actor_key=key))
        await self.audit.record(view.community_id, actor_key, "meetings.edit", f"#{view.id}")
        fresh = await self._replan(view.id)
        await self._tell(before, fresh, "")
        return fresh

    async def _follow_start(self, session: AsyncSession, view: MeetingView, draft: Draft) -> None:
        """Carry cancellations, moves and occurrence RSVPs over to a changed start time.

        They are keyed by an occurrence's planned local wall time, so a new series start would
        leave them naming times that no longer occur: a cancelled date would be announced again
        and an RSVP's reminder dropped. Occurrences keep their identity: each key shifts by
        `recurrence.start_shift` (the new time of day and weekday, never whole periods: a start
        edited to a week later does not carry a cancelled date, or an RSVP, a week on) when the
        edited rule has an occurrence there; other keys stay as they were. Where a shifted key
        meets one that stayed, the shifted one wins (the other is removed).
        """
        shift = recurrence.start_shift(
            view.rrule, draft.rrule, view.start_local, draft.start_local
        )
        if not shift:
            return
        edited = replace(
            view, start_local=draft.start_local, timezone=draft.timezone, rrule=draft.rrule
        )

        def target(key: str) -> str | None:
            shifted = local_key(from_key(key) + shift)
            return shifted if edited.is_occurrence(shifted) else None

        exceptions = await session.execute(
            select(MeetingException.id, MeetingException.occurrence).where(
                MeetingException.meeting_id == view.id
            )
        )
        await _rekey(session, MeetingException, [(i, "", k) for i, k in exceptions.all()], target)
        rsvps = await session.execute(
            select(MeetingRsvp.id, MeetingRsvp.actor_key, MeetingRsvp.occurrence).where(
                MeetingRsvp.meeting_id == view.id, MeetingRsvp.occurrence != ""
            )
        )
        await _rekey(session, MeetingRsvp, [(i, a, k) for i, a, k in rsvps.all()], target)

    async def set_ping_role(
        self, view: MeetingView, actor_key: str, role: str | None
    ) -> MeetingView:
        """Opt a meeting into (or out of) a role ping in its announcements."""
        async with self._sessions.begin() as session:
            row = await session.get(Meeting, view.id)
            if row is None:
                raise NotFound(_("That meeting no longer exists."))
            row.ping_role = role
            self._bump(row)
        await self.audit.record(
            view.community_id, actor_key, "meetings.ping", f"#{view.id} role={role or '-'}"
        )
        return await self._replan(view.id)

    async def cancel_series(self, view: MeetingView, actor_key: str, note: str) -> MeetingView:
        """End a series: nothing more is announced, and the channel is told once (and each
        member who RSVP'd to a date to come, privately)."""
        before = await self._as_it_was(view.id)
        async with self._sessions.begin() as session:
            row = await session.get(Meeting, view.id)
            if row is None:
                raise NotFound(_("That meeting no longer exists."))
            row.cancelled = True
            row.cancel_note = note or None
            self._bump(row)
        await self.audit.record(
            view.community_id, actor_key, "meetings.cancel", f"#{view.id} series"
        )
        fresh = await self._replan(view.id)
        await self._tell(before, fresh, note)
        await self._post_change(
            fresh,
            "series",
            "cancelled",
            lambda: [
                _("**{title}** will not meet any more.").format(title=escape_markdown(view.title))
            ],
            note,
        )
        return fresh

    async def cancel_occurrence(
        self, view: MeetingView, actor_key: str, occurrence: Occurrence, note: str
    ) -> MeetingView:
        """Cancel one occurrence; its announcements are withdrawn and a notice is posted (and
        sent privately to each member who RSVP'd to it)."""
        before = await self._as_it_was(view.id)
        # a moved date keeps where it moved to: restoring it brings that time back
        moved_to = occurrence.start if occurrence.moved_from is not None else None
        await self._set_change(view, actor_key, occurrence.key, "cancelled", moved_to, note)
        fresh = await self._replan(view.id)
        await self._tell(before, fresh, note)
        await self._post_change(
            fresh,
            occurrence.key,
            "cancelled",
            lambda: [
                _("**{title}** on ").format(title=escape_markdown(view.title)),
                When(occurrence.start),
                _(" is cancelled."),
            ],
            note,
        )
        return fresh

    async def move_occurrence(
        self,
        view: MeetingView,
        actor_key: str,
        occurrence: Occurrence,
        new_start: datetime,
        note: str,
    ) -> MeetingView:
        """Move one occurrence; announcements follow the new time and say it moved, and each
        member who RSVP'd to it is told privately. Raises UserError for a time already passed
        or the occurrence's own start (nothing stored, nothing posted)."""
        if new_start <= self.now:
            raise UserError(_("That new time has already passed. Pick a time in the future."))
        if new_start == occurrence.start:
            day = occurrence.start.astimezone(view.zone).date().isoformat()
            raise UserError(
                _(
                    "That meeting already starts at that time, so nothing was moved or "
                    "announced. After the meeting's date give only its new time, e.g. "
                    "`{day} 21:00` or `21:00`."
                ).format(day=day)
            )
        before = await self._as_it_was(view.id)
        await self._set_change(view, actor_key, occurrence.key, "moved", new_start, note)
        fresh = await self._replan(view.id)
        await self._tell(before, fresh, note)
        await self._post_change(
            fresh,
            occurrence.key,
            "moved",
            lambda: [
                _("**{title}** on ").format(title=escape_markdown(view.title)),
                When(occurrence.start),
                _(" moves to "),
                When(new_start),
                ".",
            ],
            note,
        )
        return fresh

    async def restore(
        self, view: MeetingView, actor_key: str, occurrence: str | None
    ) -> tuple[MeetingView, Occurrence | None]:
        """Undo a cancellation: one occurrence by its key, or the whole series when None.

        Returns the fresh view and, for one occurrence, the occurrence as it now takes place.
        Members who RSVP'd to a date that takes place again are told privately.
        Raises UserError when nothing of that is cancelled, or the occurrence is in the past.
        """
        if occurrence is None:
            if not view.cancelled:
                raise UserError(_("That series is not cancelled."))
            before = await self._as_it_was(view.id)
            async with self._sessions.begin() as session:
                row = await session.get(Meeting, view.id)
                if row is None:
                    raise NotFound(_("That meeting no longer exists."))
                row.cancelled = False
                row.cancel_note = None
                self._bump(row)
            await self.audit.record(
                view.community_id, actor_key, "meetings.restore", f"#{view.id} series"
            )
            fresh = await self._replan(view.id)
            await self._tell(before, fresh, "")
            await self._post_change(
                fresh,
                "series",
                "restored",
                lambda: [
                    _("**{title}** meets again, as before.").format(
                        title=escape_markdown(view.title)
                    )
                ],
                "",
            )
            return fresh, None
        change = view.change(occurrence)
        if change is None or change.status != "cancelled":
            raise UserError(_("That meeting is not cancelled."))
        # a date moved before it was cancelled comes back at its moved time
        start = view.planned_start(change)
        if start <= self.now:
            raise UserError(_("That meeting has already begun; it cannot be restored."))
        before = await self._as_it_was(view.id)
        async with self._sessions.begin() as session:
            row = await session.get(Meeting, view.id)
            if row is None:
                raise NotFound(_("That meeting no longer exists."))
            this = (
                MeetingException.meeting_id == view.id,
                MeetingException.occurrence == occurrence,
            )
            if change.new_start is not None:  # back to moved (the cancel's note goes)
                await session.execute(
                    update(MeetingException).where(*this).values(status="moved", note=None)
                )
            else:
                await session.execute(delete(MeetingException).where(*this))
            self._bump(row)
        await self.audit.record(
            view.community_id, actor_key, "meetings.restore", f"#{view.id} {occurrence}"
        )
        fresh = await self._replan(view.id)
        await self._tell(before, fresh, "")
        original = view.original_start(occurrence)
        occ = Occurrence(occurrence, start, original if change.new_start is not None else None)
        await self._post_change(
            fresh,
            occurrence,
            "restored",
            lambda: [
                _("**{title}** on ").format(title=escape_markdown(view.title)),
                When(start),
                _(" takes place after all."),
            ],
            "",
        )
        return fresh, occ

    async def _post_change(
        self,
        view: MeetingView,
        occurrence: str,
        kind: str,
        parts: Callable[[], list[Part]],
        note: str,
    ) -> None:
        """Tell the meeting's channel about a change at once (one notice per change).

        `view` is the meeting after the change: its revision (bumped by every change, the
        plan generation) keeps two changes in the same second apart.
        """
        with using_language(await self._language(view.community_id)):
            text = parts()
            if note:
                text.append("\n" + _("Note: {note}").format(note=escape_markdown(note)))
        now = self.now
        await self.outbox.enqueue(
            f"{key_prefix(view)}{occurrence}.{kind}.r{view.revision}",
            target_of(view.channel),
            Message.of(*text),
            now,
            refs=(notice_ref(view.id), OutboxRef.community(view.community_id)),
        )
        await self.outbox.deliver_due()

    async def _as_it_was(self, meeting_id: int) -> tuple[MeetingView, list[RsvpView]] | None:
        """The meeting and its RSVPs just before a change (None: it is gone), for `_tell`."""
        view = await self.get(meeting_id)
        if view is None:
            return None
        return view, (await self._rsvps([meeting_id])).get(meeting_id, [])

    async def _tell(
        self,
        before: tuple[MeetingView, list[RsvpView]] | None,
        after: MeetingView | None,
        note: str,
    ) -> None:
        """Tell each member whose RSVP'd future date a change affected, privately, once.

        Every change to a meeting's dates passes here with the meeting as it was (`_as_it_was`)
        and as it is now (`after`, None when deleted); `notices` decides who is told what. A DM
        is keyed by the meeting, the member's RSVP and the plan generation after the change
        (`r<revision>`), so the same change never tells anyone twice; it carries the member
        (the DM target), so erasing their data withdraws one not sent yet.
        """
        if before is None:
            return
        view, rsvps = before
        if not rsvps:
            return
        rsvps_after = (await self._rsvps([view.id])).get(view.id, []) if after else []
        revision = after.revision if after is not None else view.revision + 1
        now = self.now
        lost: Lost | None = None
        if after is not None:
            lost = await self._lost_reminders(after, rsvps_after, now)
        with using_language(await self._language(view.community_id)):
            told = notices(view, rsvps, after, rsvps_after, now, note, self.occurrence_of, lost)
        if not told:
            return
        for notice in told:
            key = f"{key_prefix(view)}{notice.scope}.told{notice.rsvp_id}.r{revision}"
            if after is None:
                # A deleted meeting leaves no key of its own: its notices' rows stay until
                # settled rows are pruned, and a key naming the meeting, the date and the
                # RSVP would say who planned to come to what. The keyed digest is as stable
                # (the same delete never tells twice) and says nothing without the secret.
                key = f"meetings.gone.{keyed_digest(key, 'meetings.gone', length=32)}"
            await self.outbox.enqueue(
                key,
                target_of(notice.actor_key, dm=True),
                Message.of(*notice.parts),
                now,
                refs=(OutboxRef.community(view.community_id),),
            )
        await self.outbox.deliver_due()

    async def _lost_reminders(
        self, after: MeetingView, rsvps: list[RsvpView], now: datetime
    ) -> Lost:
        """`notices`' `Lost` for a change that left the meeting as `after` with `rsvps`: a
        member's reminder for a date as it takes place now that will not come
        (`reminder_fate`, the planner's rule), which was still to come before the change (its
        time after `now` at the date's former start, or the date was not taking place)."""
        off = await self._opted_out({r.actor_key for r in rsvps if r.remind_minutes is not None})
        missed = self.outbox.missed

        def lost(actor_key: str, was: Occurrence | None, now_at: Occurrence) -> int | None:
            rsvp = chosen_rsvps(rsvps, now_at.key).get(actor_key)
            fate = reminder_fate(rsvp, now_at.start, after.revised_at, actor_key in off, missed)
            if fate.fate not in (Fate.TOO_LATE, Fate.MISSED):
                return None
            if was is not None and was.start - timedelta(minutes=fate.minutes) <= now:
                return None  # its time had come before the change: nothing more was promised
            return fate.minutes

        return lost

    async def _set_change(
        self,
        view: MeetingView,
        actor_key: str,
        occurrence: str,
        status: str,
        new_start: datetime | None,
        note: str,
    ) -> None:
        now = self.now
        async with self._sessions.begin() as session:
            row = await session.get(Meeting, view.id)
            if row is None:
                raise NotFound(_("That meeting no longer exists."))
            await session.execute(
                delete(MeetingException).where(
                    MeetingException.meeting_id == view.id,
                    MeetingException.occurrence == occurrence,
                )
            )
            session.add(
                MeetingException(
                    meeting_id=view.id,
                    occurrence=occurrence,
                    status=status,
                    new_start=new_start,
                    note=note or None,
                    created_by=actor_key,
                    created_at=now,
                )
            )
            self._bump(row)
        await self.audit.record(
            view.community_id, actor_key, f"meetings.{status}", f"#{view.id} {occurrence}"
        )

    async def deletion_stakes(self, view: MeetingView) -> tuple[int | None, int]:
        """What deleting a meeting takes away for good: (its dates still to start, None for a
        series that repeats with no end; its RSVPs, to dates or to the series). A cancelled
        series has no date to come."""
        async with self._sessions() as session:
            rsvps = await session.scalar(
                select(func.count())
                .select_from(MeetingRsvp)
                .where(MeetingRsvp.meeting_id == view.id)
            )
        now = self.now
        rule = view.rrule.upper()
        if view.cancelled:
            dates: int | None = 0
        elif rule and "UNTIL=" not in rule and "COUNT=" not in rule:
            dates = None if view.next_occurrence(now) is not None else 0
        else:
            far = now + timedelta(days=366 * recurrence.PROBE_YEARS)
            dates = len(view.occurrences(now, far))
        return dates, int(rsvps or 0)

    async def remove(self, view: MeetingView, actor_key: str) -> None:
        """Delete a meeting with its exceptions and RSVPs; nothing more is announced, and each
        member who RSVP'd to a date to come is told privately."""
        before = await self._as_it_was(view.id)
        async with self._sessions.begin() as session:
            await session.execute(delete(MeetingRsvp).where(MeetingRsvp.meeting_id == view.id))
            await session.execute(
                delete(MeetingException).where(MeetingException.meeting_id == view.id)
            )
            await session.execute(
                delete(MeetingFacilitator).where(MeetingFacilitator.meeting_id == view.id)
            )
            await session.execute(delete(Meeting).where(Meeting.id == view.id))
        # every trace in the outbox: pending items, sent posts kept current (no longer edited,
        # their text dropped), settled rows under its keys, its plan stamp
        await self.outbox.forget(*owner_refs(view.id), keys_under=(key_prefix(view),))
        self.scheduler.cancel_prefix(f"meetings.{view.id}.")
        self._plan_due.pop(view.id, None)
        info = await self._community_info(view.community_id)
        if info is not None:
            await self.calendar.hide(info.platform, mirror_key(view.id))
        await self.audit.record(view.community_id, actor_key, "meetings.delete", f"#{view.id}")
        await self._tell(before, None, "")

    def _bump(self, row: Meeting) -> None:
        row.revision += 1
        row.revised_at = self.now

    async def _replan(
        self,
        meeting_id: int,
        *,
        lookback: timedelta | None = None,
        rsvps: list[RsvpView] | None = None,
        names: dict[tuple[int, str], str] | None = None,
    ) -> MeetingView:
        """The one path of every plan change: reconcile the outbox with the meeting's state.

        Items due from `now - lookback` (the outbox's grace window unless given; further back
        while a reminder's late note may be pending, `_late_reach`) are compared; see `wanted`
        for what is wanted. Raises NotFound when the meeting is gone.
        """
        self._replans[meeting_id] = self._replans.get(meeting_id, 0) + 1
        view = await self.get(meeting_id)
        if view is None:
            await self.outbox.forget(*owner_refs(meeting_id))
            self.scheduler.cancel_prefix(f"meetings.{meeting_id}.")
            self._plan_due.pop(meeting_id, None)
            # A plan made from a read before the delete (a rebuild's chunk) may have shown it
            # in a calendar again after `remove` hid it; the community is gone with the row.
            await self.calendar.hide_everywhere(mirror_key(meeting_id))
            raise NotFound(_("That meeting no longer exists."))
        if rsvps is None:
            rsvps = (await self._rsvps([view.id])).get(view.id, [])
        if names is None:
            names = await self._pseudonyms([view])
        horizon = self.horizon
        seen: dict[int, Seen] = {}
        plan = await self._plan(
            view, lookback=lookback, rsvps=rsvps, names=names, horizon=horizon, seen=seen
        )
        when = self._next_plan_at(view, horizon, seen)
        stamp = await self._stamp(view, horizon, when, names)
        await self.outbox.replan_many([replace(plan, stamp=stamp)])
        with using_language(await self._language(view.community_id)):
            await self.outbox.refresh(live_ref(view.id), self._refreshed(view, names, rsvps))
        await self._planned(view, when, names=names)
        return view

    async def _stamp(
        self,
        view: MeetingView,
        horizon: timedelta,
        when: datetime | None,
        names: dict[tuple[int, str], str],
    ) -> PlanStamp:
        """What this meeting's plan is made from, stored with it (see `_stamp_digest`);
        `when` (aware UTC, None: never) is the moment it is planned again anyway; `names`:
        the facilitators' pseudonyms the plan was made with (`_pseudonyms`)."""
        inputs = await self._community_inputs(view.community_id)
        shown = _names_shown(view.community_id, view.facilitators, names)
        digest = self._stamp_digest(
            view.id, view.uid, view.revision, view.plan_version, shown, inputs, horizon
        )
        return PlanStamp(digest, when)

    def _stamp_digest(
        self,
        meeting_id: int,
        uid: str,
        revision: int,
        plan_version: int,
        names_shown: str,
        community_inputs: str,
        horizon: timedelta,
    ) -> str:
        """Hex SHA-256, under a keyed prefix (`keyed_digest` of the settings: nobody without
        the keys can test a guessed name against it), of everything a meeting's plan depends on
        besides the time: the code
        and catalogs (`code_digest`), the meetings settings, the horizon and grace, the
        meeting's `uid` (a new meeting that reuses a deleted one's row id, saved or imported
        without its plan, never inherits that one's stamp), its revision (its row,
        facilitators and changed dates), its `plan_version`
        (RSVPs, reminder choices, facilitators' pseudonyms, erasures), the pseudonyms its
        announcements name (`_names_shown`: a name changed or erased whose meetings never
        heard of it, the process having stopped in between) and its community's offsets and
        language. Equal digests, and a moment before the stamp's `valid_until`,
        mean a plan made now would be the one stored: a restart skips such meetings."""
        base = self._stamp_bases.get(horizon)
        if base is None:
            # Keyed once (a secret prefix for every meeting's digest below: nobody without the
            # keys can test a guessed name against a stamp), and short.
            base = self._stamp_bases[horizon] = keyed_digest(
                "|".join(
                    (
                        code_digest(),
                        self.config.model_dump_json(),
                        str(horizon.total_seconds()),
                        str(self.outbox.grace.total_seconds()),
                    )
                ),
                "meetings.plan_stamp",
            )
        text = (
            f"{base}|{meeting_id}|{uid}|{revision}|{plan_version}|{names_shown}|{community_inputs}"
        )
        return hashlib.sha256(text.encode()).hexdigest()

    async def _community_inputs(self, community_id: int) -> str:
        """A community's settings a meeting's plan depends on, as text for `_stamp_digest`."""
        offsets = await self.offsets(community_id)
        language = await self._language(community_id)
        return f"{sorted(offsets)}|{language}"

    async def _plan(
        self,
        view: MeetingView,
        *,
        lookback: timedelta | None = None,
        rsvps: list[RsvpView] | None = None,
        names: dict[tuple[int, str], str] | None = None,
        latest: dict[OutboxRef, datetime | None] | None = None,
        horizon: timedelta | None = None,
        seen: dict[int, Seen] | None = None,
    ) -> OwnerPlan:
        """What `_replan` hands the outbox for this meeting: its wanted items and the window.

        `latest` holds each meeting's last pending due time when the caller read them in bulk
        (a rebuild); otherwise it is read here. `horizon`: `self.horizon` when the caller
        already has it (a rebuild asks once, not several times per meeting). `seen`: as in
        `wanted`.
        """
        now = self.now
        horizon = horizon if horizon is not None else self.horizon
        outbox = self.outbox
        if rsvps is None:
            rsvps = (await self._rsvps([view.id])).get(view.id, [])
        since = now - max(
            lookback if lookback is not None else outbox.grace, _late_reach(view, rsvps, outbox)
        )
        # The window reaches the meeting's last pending item even when this process's horizon
        # ends earlier (a follower or a starting process whose clock lags the leader's): what
        # another planner already wrote is then reconciled, never withdrawn for being unseen.
        until = now + horizon
        owner = meeting_ref(view.id)
        last = latest[owner] if latest is not None else await outbox.latest_pending(owner)
        if last is not None and last > until:
            until = last
        items = await self.wanted(
            view, since=since, until=until, rsvps=rsvps, names=names, seen=seen
        )
        return OwnerPlan(owner, tuple(items), since, until)

    def _next_plan_at(
        self, view: MeetingView, horizon: timedelta, seen: dict[int, Seen]
    ) -> datetime | None:
        """When (aware UTC) the meeting needs planning again: `horizon` before its first
        occurrence past the window planned now; None when it has none (cancelled, ended).
        `seen`: what `wanted` found of the meetings, read first (no second look at the rule)."""
        if view.cancelled:
            return None
        past = self.now + horizon + timedelta(seconds=1)
        known = seen.get(view.id)
        nxt = known.next_from(past) if known is not None else None
        if nxt is None:
            nxt = view.next_occurrence(past)
        return nxt.start - horizon if nxt is not None else None

    async def _planned(
        self,
        view: MeetingView,
        when: datetime | None,
        *,
        names: dict[tuple[int, str], str] | None = None,
    ) -> None:
        """After the outbox holds the meeting's plan: its next planning at `when` (aware UTC,
        from `_next_plan_at`; None: never) and its calendar."""
        if when is not None:
            self._plan_due[view.id] = when
            if self._sweep_at is None or when < self._sweep_at:
                self._plan_sweep()  # only a sooner moment moves the sweep (no scan per meeting)
        else:
            self._plan_due.pop(view.id, None)
        await self.mirror(view, names=names)

    def _plan_sweep(self) -> None:
        """Plan the one planning sweep at the earliest moment a meeting needs planning.

        One job for every meeting (not one each): it is moved only when a meeting needs
        planning sooner than it runs; running, it plans every meeting whose moment came.
        """
        if not self._plan_due:
            return
        when = min(self._plan_due.values())
        if self._sweep_at is None or when < self._sweep_at:
            self._sweep_at = when
            self.scheduler.at(PLAN_SWEEP_JOB, when, self._sweep)

    async def _sweep(self) -> None:
        """Plan every meeting whose planning moment has come, then plan the next sweep.

        A meeting whose planning fails (the database went away for a moment) is tried again
        `PLAN_RETRY` later; the sweep goes on with the others and the next sweep is planned
        whatever happened, so one failure never stops every later announcement.
        """
        now = self.now
        due = sorted(
            (when, meeting_id) for meeting_id, when in self._plan_due.items() if when <= now
        )
        try:
            for _when, meeting_id in due:
                self._plan_due.pop(meeting_id, None)
                try:
                    await self._plan_job(meeting_id)  # plans its next moment (`_planned`)
                except Exception:
                    log.exception("planning meeting %s failed; trying again shortly", meeting_id)
                    self._plan_due.setdefault(meeting_id, self.now + PLAN_RETRY)
                await asyncio.sleep(0)  # members' commands and due deliveries go on meanwhile
        finally:
            self._sweep_at = None
            self._plan_sweep()

    # --- RSVPs ---------------------------------------------------------------------------

    async def rsvp(
        self,
        view: MeetingView,
        actor_key: str,
        occurrence: str,
        remind: int | None,
        *,
        keep_reminder: bool = False,
    ) -> int | None:
        """Record (or update) a private RSVP and plan its reminder DM; returns the reminder's
        minutes before the start now in force (None: no reminder).

        `keep_reminder`: the member did not say (`meeting rsvp` again without `reminder`), so an
        RSVP they already have keeps the reminder it had, instead of losing it silently."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(MeetingRsvp).where(
                    MeetingRsvp.meeting_id == view.id,
                    MeetingRsvp.actor_key == actor_key,
                    MeetingRsvp.occurrence == occurrence,
                )
            )
            if row is None:
                row = MeetingRsvp(
                    meeting_id=view.id,
                    actor_key=actor_key,
                    occurrence=occurrence,
                    created_at=self.now,
                )
                session.add(row)
            elif keep_reminder:
                remind = row.remind_minutes
            row.remind_minutes = remind
            row.created_at = self.now
            await session.execute(_planned_again([view.id]))
            try:
                await session.commit()
            except IntegrityError:
                raise UserError(_("Please try that again.")) from None
        await self._replan(view.id)
        return remind

    async def unrsvp(self, view: MeetingView, actor_key: str, occurrence: str | None) -> int:
        """Remove RSVPs (one occurrence, or all when None); returns how many went."""
        async with self._sessions.begin() as session:
            query = delete(MeetingRsvp).where(
                MeetingRsvp.meeting_id == view.id, MeetingRsvp.actor_key == actor_key
            )
            if occurrence is not None:
                query = query.where(MeetingRsvp.occurrence == occurrence)
            result = await session.execute(query)
            await session.execute(_planned_again([view.id]))
        await self._replan(view.id)
        return int(getattr(result, "rowcount", 0) or 0)

    async def renamed(self, community_id: int, actor_key: str) -> None:
        """A member chose or cleared a pseudonym: the announcements of meetings there that
        name them as facilitator are planned again (their `plan_version` raised, so another
        process's restart sees it too)."""
        async with self._sessions.begin() as session:
            ids = sorted(
                await session.scalars(
                    select(Meeting.id)
                    .join(MeetingFacilitator, MeetingFacilitator.meeting_id == Meeting.id)
                    .where(
                        Meeting.community_id == community_id,
                        MeetingFacilitator.actor_key == actor_key,
                    )
                    .distinct()
                )
            )
            if ids:
                await session.execute(_planned_again(ids))
        for meeting_id in ids:
            with contextlib.suppress(NotFound):  # deleted meanwhile
                await self._replan(meeting_id)

    async def set_reminders(self, actor_key: str, on: bool) -> None:
        """Opt in to (or out of) every meeting reminder DM.

        Turning them on plans reminders due from now on only: the RSVPs count as made now.
        """
        now = self.now
        async with self._sessions.begin() as session:
            row = await session.get(MeetingReminderOptOut, actor_key)
            if on and row is not None:
                await session.delete(row)
                await session.execute(
                    update(MeetingRsvp)
                    .where(MeetingRsvp.actor_key == actor_key)
                    .values(created_at=now)
                )
            elif not on and row is None:
                session.add(MeetingReminderOptOut(actor_key=actor_key, created_at=now))
            ids = list(
                await session.scalars(
                    select(MeetingRsvp.meeting_id)
                    .where(MeetingRsvp.actor_key == actor_key)
                    .distinct()
                )
            )
            if ids:
                await session.execute(_planned_again(ids))
        for meeting_id in sorted(ids):
            await self._replan(meeting_id)

    # --- planning ------------------------------------------------------------------------

    @property
    def horizon(self) -> timedelta:
        """How far ahead announcements are written to the outbox."""
        longest = max([*self.config.announce_minutes, self.config.rsvp_remind_minutes, 0])
        return max(timedelta(hours=self.config.plan_hours), timedelta(minutes=longest + 60))

    async def offsets(self, community_id: int) -> list[int]:
        """Announcement offsets in minutes for a community (its setting, else the config)."""
        if community_id not in self._offsets:
            stored = await self.settings.get(community_id, SCOPE, "announce_minutes")
            self._offsets[community_id] = (
                list(stored) if isinstance(stored, list) else list(self.config.announce_minutes)
            )
        return self._offsets[community_id]

    async def set_offsets(self, community_id: int, minutes: list[int] | None) -> None:
        """Store a community's announcement offsets (None restores the default) and replan.

        This is a change of every meeting there: none announces a new offset for the past.
        """
        await self.settings.set(community_id, SCOPE, "announce_minutes", minutes)
        self._offsets.pop(community_id, None)
        async with self._sessions.begin() as session:
            await session.execute(
                update(Meeting)
                .where(Meeting.community_id == community_id)
                .values(revision=Meeting.revision + 1, revised_at=self.now)
            )
        for view in await self.all_in(community_id):
            await self._replan(view.id)

    async def _language(self, community_id: int) -> str:
        if community_id not in self._languages:
            info = await self.members.community_by_id(community_id)
            self._languages[community_id] = info.language if info else "en"
        return self._languages[community_id]

    async def move_place(self, old_key: str, new_key: str) -> None:
        """Meetings announced in or held in the room `old_key` now use `new_key` (a room
        upgrade). Announcements already planned move with the outbox (`App.place_moved`)."""
        # The revision goes up like any change's, so a rebuild that read these meetings
        # before plans them again after its write (`_rebuild_chunk`).
        async with self._sessions.begin() as session:
            await session.execute(
                update(Meeting)
                .where(Meeting.channel == old_key)
                .values(channel=new_key, revision=Meeting.revision + 1)
            )
            await session.execute(
                update(Meeting)
                .where(Meeting.location == old_key)
                .values(location=new_key, revision=Meeting.revision + 1)
            )

    async def rebuild(self) -> int:
        """At start-up: reconcile every meeting's outbox items and plan the next jobs.

        Items that came due while the bot was down (up to the planning horizon back) are
        written too; the outbox then sends them late inside its grace window or records them
        as skipped. Returns how many meetings were reconciled or kept.

        With more than `PHASED_REBUILD_MEETINGS` meetings to plan (a first start, or a start
        into new code, of a large deployment), it returns once every meeting with an item due
        within `URGENT_WINDOW` (or still sendable late, or pending already) is planned; the
        others are planned in the background, in order of their first due item
        (`_by_first_due`), while the bot answers members
        (`settled` waits for them). A meeting changed meanwhile is planned by its change as
        always; the background's write checks for that (`_rebuild_write`).
        """
        async with self._rebuilding:
            await self.stop_rebuild()
            self._plan_due.clear()  # a takeover cancelled the sweep; it is planned again below
            self._sweep_at = None
            stale, trusted = await self._rebuild_trusted()
            self._plan_sweep()
            await self._mirror_trusted(trusted)
            if len(stale) <= PHASED_REBUILD_MEETINGS:
                await self._rebuild_chunks(stale)
            else:
                urgent, later = await self._by_first_due(stale)
                await self._rebuild_chunks(urgent)
                go = self._go = asyncio.Event()
                self._rest = asyncio.create_task(
                    self._rebuild_rest(later, go), name="circlebot-meetings-rebuild"
                )
            return len(stale) + len(trusted)

    def begin_background(self) -> None:
        """Let a phased `rebuild`'s background planning begin: called once the start-up (or
        takeover) that ran it has finished, so the rest of the start-up (the outbox's first
        pass, the heartbeat) does not wait behind it for the database."""
        self._go.set()

    async def settled(self) -> None:
        """Wait until a start-up's background planning (see `rebuild`) is done, letting it
        begin if it has not; at once when there is none. A failed background rebuild is
        logged, not raised here, and one stopped meanwhile (`stop_rebuild`) simply ends the
        wait; only cancelling the caller itself raises CancelledError."""
        while True:
            async with self._rebuilding:  # a rebuild in progress has not made its task yet
                rest = self._rest
            if rest is None or rest.done():
                return
            self._go.set()
            await asyncio.wait({rest})
            if self._rest is rest:
                return
            # a takeover's rebuild replaced it (or is about to: `_rest` is None until its task
            # exists) or the bot stopped: the next turn reads which under the lock

    async def stop_rebuild(self) -> None:
        """Cancel a start-up's background planning (shutdown, or a takeover's new rebuild).
        What it planned stays planned: each chunk is written in its own transaction."""
        rest, self._rest = self._rest, None
        if rest is not None and not rest.done():
            rest.cancel()
            try:
                await rest
            except asyncio.CancelledError:
                # the background's own end, unless the caller was cancelled meanwhile (a
                # takeover's rebuild at shutdown): that must go on up, or the rebuild would
                # carry on and the leader's loop never stop
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise

    async def _rebuild_chunks(self, stale: Sequence[int], written: set[int] | None = None) -> None:
        """Plan these meetings, a chunk at a time (`REBUILD_BATCH`), each chunk read, planned
        and written in one transaction; the ids of each chunk written go into `written` when
        given (so a retry after a failure goes on from there)."""
        # One commit per meeting made a first start slow, and reading every meeting at once
        # held the event loop for as long as that took. Every few milliseconds the loop gets a
        # turn: members' commands and due deliveries go on while thousands are planned.
        # A chunk's write runs while the next chunk is read and planned: SQLite writes
        # outside the interpreter's lock, so the two overlap on two cores. Chunks of 500, not
        # 200: each costs a dozen statements whatever its size, and at 10,000 meetings the
        # larger chunks took 12% less of the event loop's thread (least of four first starts:
        # 2.97-3.10 s against 3.47 s of CPU).
        writing: asyncio.Task[None] | None = None
        writing_ids: Sequence[int] = ()
        done = written if written is not None else set()
        try:
            for id_chunk in _chunks(stale, REBUILD_BATCH):
                chunk, rsvps, names, latest, replans = await self._rebuild_reads(id_chunk)
                plans, planned_at = await self._rebuild_plans(chunk, rsvps, names, latest)
                if writing is not None:
                    await writing
                    done.update(writing_ids)
                writing_ids = id_chunk
                writing = asyncio.create_task(
                    self._rebuild_write(chunk, names, replans, plans, planned_at)
                )
            if writing is not None:
                await writing
                done.update(writing_ids)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writing

    async def _by_first_due(self, stale: Sequence[int]) -> tuple[list[int], list[int]]:
        """Split meetings to plan into (urgent, later): urgent ones have an item that can still
        be sent due by `URGENT_WINDOW` from now (`first_sendable_due`), or a pending outbox
        item due by then (which a new plan may withdraw); later ones are in order of their
        first such item, then those with none due before `URGENT_WINDOW` plus their longest
        lead from now (not looked for further), in id order.

        Reads each meeting and its RSVPs once (a chunk at a time), with a turn for the event
        loop between chunks."""
        now = self.now
        soon = now + URGENT_WINDOW
        grace = self.outbox.grace
        keyed: list[tuple[datetime, int]] = []
        none_found: list[int] = []
        for id_chunk in _chunks(stale, REBUILD_BATCH):
            chunk = await self._load(in_values(Meeting.id, id_chunk))
            await self.settings.preload({view.community_id for view in chunk})
            rsvps = await self._rsvps([view.id for view in chunk])
            off = await self._opted_out(
                {
                    r.actor_key
                    for found in rsvps.values()
                    for r in found
                    if r.remind_minutes is not None
                }
            )
            # What is pending already (a restart into new code, or a changed setting) goes
            # out at its time unless the meeting is planned first: a plan that no longer
            # wants it must withdraw it before the outbox's first pass can send it.
            waiting = await self.outbox.earliest_pending_many([meeting_ref(v.id) for v in chunk])
            firsts: list[tuple[MeetingView, datetime | None, list[tuple[datetime, str]]]] = []
            for view in chunk:
                late: list[tuple[datetime, str]] = []
                first = first_sendable_due(
                    view,
                    await self.offsets(view.community_id),
                    rsvps.get(view.id, ()),
                    off=off,
                    now=now,
                    grace=grace,
                    soon=soon,
                    late=late,
                )
                firsts.append((view, first, late))
            # A missed reminder needs its late note only if it was never planned: one sent,
            # or recorded as missed with its note, has a row (a day-before reminder of a
            # daily circle was sent yesterday; it must not make every such meeting urgent).
            known = await self.outbox.known_keys(
                [key for *_rest, late in firsts for _d, key in late]
            )
            for view, first, late in firsts:
                found = [
                    due
                    for due in (
                        first,
                        waiting[meeting_ref(view.id)],
                        *(due for due, key in late if key not in known),
                    )
                    if due is not None
                ]
                first = min(found, default=None)
                if first is None:
                    none_found.append(view.id)
                else:
                    keyed.append((first, view.id))
            await asyncio.sleep(0)
        keyed.sort()
        urgent = sorted(meeting_id for due, meeting_id in keyed if due <= soon)
        later = [meeting_id for due, meeting_id in keyed if due > soon]
        return urgent, later + none_found

    async def _rebuild_rest(self, later: Sequence[int], go: asyncio.Event) -> None:
        """The background part of a phased `rebuild`: once `go` is set, plan `later` in its
        order. When it fails it goes on from the chunk that failed after each of
        `REBUILD_RETRY_SECONDS`, then every last one of them for as long as it runs: a meeting
        it did not reach has no next planning moment, so nothing else would plan it before
        the next start."""
        await go.wait()
        began = self.clock.now()
        failures = 0
        remaining = list(later)
        while True:
            written: set[int] = set()
            try:
                with _rare_full_collections():  # not while it waits to try again
                    await self._rebuild_chunks(remaining, written)
            except Exception:
                remaining = [meeting_id for meeting_id in remaining if meeting_id not in written]
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # Stopped (`stop_rebuild`) while the database driver was mid-statement:
                    # it may raise its own error instead of the cancellation.
                    raise asyncio.CancelledError from None
                wait = REBUILD_RETRY_SECONDS[min(failures, len(REBUILD_RETRY_SECONDS) - 1)]
                failures += 1
                (log.error if failures >= len(REBUILD_RETRY_SECONDS) else log.warning)(
                    "planning %d meetings after start-up failed (%d times); trying again in "
                    "%.0f s",
                    len(remaining),
                    failures,
                    wait,
                    exc_info=True,
                )
                await asyncio.sleep(wait)
            else:
                log.info(
                    "planned %d more meetings after start-up (%s on the app clock)",
                    len(later),
                    self.clock.now() - began,
                )
                return

    async def _rebuild_trusted(self) -> tuple[list[int], list[tuple[int, int]]]:
        """Which meetings a rebuild must plan, and which keep their stored plan.

        A meeting whose stored `PlanStamp` matches its state now (`_stamp_digest` of its
        revision, plan_version, community settings and the code) and whose next planning moment
        has not come has in the outbox exactly what planning it now would write: a process that
        had kept running would not have touched it either. Only its next planning moment is
        taken from the stamp. Returns (ids to plan, (id, community id) of the others); reads
        a few columns per meeting, a page at a time, with a turn for the event loop after each.
        """
        replans = dict(self._replans)
        now = self.now
        horizon = self.horizon
        inputs: dict[int, str] = {}
        stale: list[int] = []
        trusted: list[tuple[int, int]] = []
        after = -1
        while True:
            async with self._sessions() as session:
                rows = (
                    await session.execute(
                        select(*TRUST_COLUMNS)
                        .where(Meeting.id > after)
                        .order_by(Meeting.id)
                        .limit(TRUST_PAGE)
                    )
                ).all()
            if not rows:
                return sorted(stale), trusted
            after = rows[-1].id
            stamps = await self.outbox.stamps_of([meeting_ref(row.id) for row in rows])
            # Only a meeting with a stored stamp can keep its plan (none has on a first start):
            # the others need no digest, so nothing more is read for them.
            stale.extend(row.id for row in rows if meeting_ref(row.id) not in stamps)
            rows = [row for row in rows if meeting_ref(row.id) in stamps]
            if not rows:
                await asyncio.sleep(0)
                continue
            facilitators = await self._facilitators([row.id for row in rows])
            names = await self.members.pseudonyms(
                {(row.community_id, key) for row in rows for key in facilitators.get(row.id, ())}
            )
            new = {row.community_id for row in rows} - inputs.keys()
            if new:
                # Each community's settings and language in a few statements, not two each.
                await self.members.preload_communities(new)
                await self.settings.preload(new)
                inputs.update({cid: await self._community_inputs(cid) for cid in sorted(new)})
            for meeting_id, uid, community_id, revision, plan_version in rows:
                stored = stamps.get(meeting_ref(meeting_id))
                if (
                    stored is not None
                    # replanned here since the rebuild began: it plans its next moment itself
                    and self._replans.get(meeting_id, 0) == replans.get(meeting_id, 0)
                    and stored.trusted(
                        self._stamp_digest(
                            meeting_id,
                            uid,
                            revision,
                            plan_version,
                            _names_shown(community_id, facilitators.get(meeting_id, ()), names),
                            inputs[community_id],
                            horizon,
                        ),
                        now,
                    )
                ):
                    if stored.valid_until is not None:
                        self._plan_due[meeting_id] = stored.valid_until
                    trusted.append((meeting_id, community_id))
                else:
                    stale.append(meeting_id)
            await asyncio.sleep(0)

    async def _mirror_trusted(self, trusted: Sequence[tuple[int, int]]) -> None:
        """Show in their community's calendar the meetings a rebuild did not plan (a plan
        shows every planned one): only where the platform has a calendar, since each is read
        whole for it."""
        shown: list[int] = []
        for meeting_id, community_id in trusted:
            info = await self._community_info(community_id)
            if info is not None and self.calendar.available(info.platform):
                shown.append(meeting_id)
        turns = LoopTurns()
        for id_chunk in _chunks(shown, REBUILD_BATCH):
            chunk = await self._load(in_values(Meeting.id, id_chunk))
            names = await self._pseudonyms(chunk)
            for view in chunk:
                await self.mirror(view, names=names)
                await turns.take()

    async def _rebuild_reads(
        self, id_chunk: Sequence[int]
    ) -> tuple[
        list[MeetingView],
        dict[int, list[RsvpView]],
        dict[tuple[int, str], str],
        dict[OutboxRef, datetime | None],
        dict[int, int],
    ]:
        """What `rebuild` reads for one chunk of meetings: the meetings, their RSVPs, their
        facilitators' pseudonyms, each one's last pending due time, and how often each was
        replanned here before the read (`_replans`)."""
        replans = {meeting_id: self._replans.get(meeting_id, 0) for meeting_id in id_chunk}
        chunk = await self._load(in_values(Meeting.id, id_chunk))
        communities = {v.community_id for v in chunk}
        # Each community's settings and language in a few statements, not two each.
        await self.members.preload_communities(communities)
        await self.settings.preload(communities)
        rsvps = await self._rsvps([v.id for v in chunk])
        names = await self._pseudonyms(chunk)
        latest = await self.outbox.latest_pending_many([meeting_ref(v.id) for v in chunk])
        return chunk, rsvps, names, latest, replans

    async def _rebuild_plans(
        self,
        chunk: list[MeetingView],
        rsvps: dict[int, list[RsvpView]],
        names: dict[tuple[int, str], str],
        latest: dict[OutboxRef, datetime | None],
    ) -> tuple[list[OwnerPlan], dict[int, datetime | None]]:
        """The plans (with their stamps) of one chunk of meetings a rebuild read, and each
        meeting's next planning moment; the event loop gets its turns (`LoopTurns`)."""
        turns = LoopTurns()
        plans = []
        seen: dict[int, Seen] = {}
        horizon = self.horizon
        planned_at: dict[int, datetime | None] = {}
        for view in chunk:
            plan = await self._plan(
                view,
                lookback=horizon,
                rsvps=rsvps.get(view.id, []),
                names=names,
                latest=latest,
                horizon=horizon,
                seen=seen,
            )
            when = planned_at[view.id] = self._next_plan_at(view, horizon, seen)
            stamp = await self._stamp(view, horizon, when, names)
            plans.append(replace(plan, stamp=stamp))
            await turns.take()
        return plans, planned_at

    async def _rebuild_write(
        self,
        chunk: list[MeetingView],
        names: dict[tuple[int, str], str],
        replans: dict[int, int],
        plans: list[OwnerPlan],
        planned_at: dict[int, datetime | None],
    ) -> None:
        """Write one chunk's plans in one outbox transaction, then their next planning moments
        and calendars; the event loop gets its turns (`LoopTurns`).

        A meeting changed between the chunk's read and its write (a member's command during
        one of those turns, here or in another process) had its own replan, which this write
        may have undone with the plan of the meeting as it was read: such a meeting is
        planned again, from a fresh read. A change is seen by a replan begun here since the
        read, or by the meeting's revision (every change to the meeting row raises it) or
        `plan_version` (every RSVP, reminder choice or erasure raises it).
        """
        turns = LoopTurns()
        await self.outbox.replan_many(plans)
        for view in chunk:
            await self._planned(view, planned_at[view.id], names=names)
            await turns.take()
        async with self._sessions() as session:
            versions: dict[int, tuple[int, int]] = {
                meeting_id: (revision, plan_version)
                for meeting_id, revision, plan_version in await session.execute(
                    select(Meeting.id, Meeting.revision, Meeting.plan_version).where(
                        in_values(Meeting.id, [view.id for view in chunk])
                    )
                )
            }
        for view in chunk:
            if self._replans.get(view.id, 0) != replans.get(view.id, 0) or versions.get(
                view.id
            ) != (view.revision, view.plan_version):
                with contextlib.suppress(NotFound):  # deleted meanwhile: its plan is gone too
                    await self._replan(view.id)

    async def wanted(
        self,
        view: MeetingView,
        *,
        since: datetime,
        until: datetime | None = None,
        rsvps: list[RsvpView] | None = None,
        names: dict[tuple[int, str], str] | None = None,
        seen: dict[int, Seen] | None = None,
    ) -> list[Planned]:
        """The outbox items this meeting's current state wants, due from `since` to `until`
        (aware UTC; None: the planning horizon from now). The occurrences it looked at are
        kept in `seen` (by meeting id) when given.

        Channel posts at each offset and reminder DMs for each RSVP with a reminder (the
        occurrence's own RSVP wins over a series RSVP; none for members who turned reminders
        off). Nothing due before the meeting's last change or before the RSVP was made.
        """
        if view.cancelled:
            return []
        now = self.now
        since = max(since, view.revised_at)
        end = until if until is not None else now + self.horizon
        if rsvps is None:
            rsvps = (await self._rsvps([view.id])).get(view.id, [])
        opted_out = await self._opted_out(
            {r.actor_key for r in rsvps if r.remind_minutes is not None}
        )
        offsets = await self.offsets(view.community_id)
        # Every item due in the window, also of a meeting that starts after it (the day-before
        # reminder of a meeting two days away): a window that ended at the last start it saw
        # would withdraw what another planner wrote for a later meeting meanwhile.
        lead = timedelta(minutes=max([0, *offsets, *(r.remind_minutes or 0 for r in rsvps)]))
        before = end + lead + timedelta(seconds=1)
        if seen is None:
            occurrences = view.occurrences(since, before)
        else:
            # A week past the window as well (the rule's cost barely grows with it), so the
            # rebuild's next occurrence after the horizon is read off this for weekly meetings.
            ahead = max(before, end + SEEN_AHEAD)
            looked = view.occurrences(since, ahead)
            seen[view.id] = Seen(since, ahead, looked)
            occurrences = [o for o in looked if o.start < before]
        if names is None:
            names = await self._pseudonyms([view])
        channel = target_of(view.channel)
        found: list[Planned] = []
        # What can no longer be sent (after downtime: everything due in the look-back) is
        # recorded as skipped without its text, so it is not rendered (`NOT_RENDERED`).
        missed = self.outbox.missed
        with using_language(await self._language(view.community_id)):
            lines: AnnouncementLines | None = None
            for occ in occurrences:
                going = _going(rsvps, occ.key)
                for minutes in offsets:
                    due = occ.start - timedelta(minutes=minutes)
                    if due < since or due > end:
                        continue
                    not_after = occ.start if minutes else None
                    if missed(due, not_after):
                        message = NOT_RENDERED
                    else:
                        if lines is None:
                            lines = self.announcement_lines(view, names)
                        message = self.announcement(view, occ, minutes, names, going, lines)
                    found.append(
                        Planned(
                            item_key(view, occ.key, kind_name(minutes), due),
                            channel,
                            message,
                            due,
                            not_after=not_after,
                            refs=(
                                *self._named(view, names),
                                OutboxRef.community(view.community_id),
                                live_ref(view.id),
                            ),
                            early_seconds=EARLY_SECONDS if minutes else 0,
                        )
                    )
                for actor_key, rsvp in sorted(chosen_rsvps(rsvps, occ.key).items()):
                    fate = reminder_fate(
                        rsvp, occ.start, view.revised_at, actor_key in opted_out, missed
                    )
                    at = fate.due
                    if fate.fate not in PLANNED_FATES or at is None or at < since or at > end:
                        continue
                    found.append(
                        Planned(
                            item_key(view, occ.key, f"dm{rsvp.id}", at),
                            target_of(actor_key, dm=True),
                            NOT_RENDERED if fate.fate is Fate.MISSED else self.reminder(view, occ),
                            at,
                            not_after=occ.start,
                            refs=(OutboxRef.community(view.community_id),),
                            instead=self.late_note(view, occ, rsvp.id, at),
                        )
                    )
        return found

    def _named(
        self, view: MeetingView, names: dict[tuple[int, str], str]
    ) -> tuple[OutboxRef, ...]:
        """Facilitators an announcement names, so erasing one of them withdraws it."""
        return tuple(
            OutboxRef.member(k) for k in view.facilitators if (view.community_id, k) in names
        )

    async def _plan_job(self, meeting_id: int) -> None:
        try:
            await self._replan(meeting_id)
        except NotFound:
            return

    async def _facilitators(self, ids: Sequence[int]) -> dict[int, list[str]]:
        """Meeting id -> its facilitators' actor keys, for many meetings in few statements."""
        found: dict[int, list[str]] = {}
        async with self._sessions() as session:
            for chunk in _chunks(ids, 500):
                for meeting_id, key in await session.execute(
                    select(MeetingFacilitator.meeting_id, MeetingFacilitator.actor_key).where(
                        in_values(MeetingFacilitator.meeting_id, chunk)
                    )
                ):
                    found.setdefault(meeting_id, []).append(key)
        return found

    async def _rsvps(self, ids: list[int]) -> dict[int, list[RsvpView]]:
        found: dict[int, list[RsvpView]] = {}
        async with self._sessions() as session:
            for chunk in _chunks(ids, 500):
                for row in await session.scalars(
                    select(MeetingRsvp).where(in_values(MeetingRsvp.meeting_id, chunk))
                ):
                    found.setdefault(row.meeting_id, []).append(_rsvp(row))
        return found

    async def _opted_out(self, keys: set[str]) -> set[str]:
        if not keys:
            return set()
        async with self._sessions() as session:
            rows = await session.scalars(
                select(MeetingReminderOptOut.actor_key).where(
                    in_values(MeetingReminderOptOut.actor_key, keys)
                )
            )
            return set(rows)

    async def _pseudonyms(self, views: Sequence[MeetingView]) -> dict[tuple[int, str], str]:
        """Pseudonyms of facilitators (never platform handles), read in bulk."""
        wanted = {(v.community_id, k) for v in views for k in v.facilitators}
        return await self.members.pseudonyms(wanted)

    # --- the community's calendar --------------------------------------------------------

    async def _community_info(self, community_id: int) -> CommunityInfo | None:
        if community_id not in self._communities:
            self._communities[community_id] = await self.members.community_by_id(community_id)
        return self._communities[community_id]

    async def events_shown(self, community_id: int) -> bool:
        """Whether meetings appear in the community's calendar (on unless switched off)."""
        return bool(await self.settings.get(community_id, SCOPE, "events", True))

    async def set_events(self, community_id: int, actor_key: str, on: bool) -> None:
        """Switch the calendar mirror on (the default) or off, and apply it to every meeting."""
        await self.settings.set(community_id, SCOPE, "events", None if on else False)
        await self.audit.record(community_id, actor_key, "meetings.events", "on" if on else "off")
        for view in await self.all_in(community_id):
            await self.mirror(view)

    def under_way(self, view: MeetingView) -> Occurrence | None:
        """The occurrence that has begun and not ended yet, if any (moves applied)."""
        now = self.now
        found = view.occurrences(
            now - view.duration + timedelta(seconds=1), now + timedelta(seconds=1)
        )
        begun = [o for o in found if o.start <= now]
        return begun[-1] if begun else None

    def mirrored_occurrence(self, view: MeetingView) -> Occurrence | None:
        """The occurrence the calendar shows: the one under way, else the next one."""
        return view.next_occurrence(self.now - view.duration + timedelta(seconds=1))

    async def mirror(
        self, view: MeetingView, *, names: dict[tuple[int, str], str] | None = None
    ) -> None:
        """Show the meeting's current or next occurrence in the calendar (or nothing).

        A job at that occurrence's end runs this again, so the following one takes its place.
        """
        info = await self._community_info(view.community_id)
        if info is None or not self.calendar.available(info.platform):
            return
        job = f"meetings.{view.id}.mirror"
        occ = None
        if not view.cancelled and await self.events_shown(view.community_id):
            occ = self.mirrored_occurrence(view)
        if occ is None:
            self.scheduler.cancel(job)
            await self.calendar.hide(info.platform, mirror_key(view.id))
            return
        self.scheduler.at(job, occ.start + view.duration, self._mirror_job, view.id)
        if names is None:
            names = await self._pseudonyms([view])
        with using_language(info.language):
            event = self.calendar_event(view, occ, info, names)
        await self.calendar.show(event)

    async def _mirror_job(self, meeting_id: int) -> None:
        view = await self.get(meeting_id)
        if view is not None:
            await self.mirror(view)

    def calendar_event(
        self,
        view: MeetingView,
        occ: Occurrence,
        info: CommunityInfo,
        names: dict[tuple[int, str], str],
    ) -> MirroredEvent:
        """The public calendar entry: no RSVPs, no notes, facilitators by pseudonym only."""
        lines = [
            _("Repeats {rule}, at {time} {zone}.").format(
                rule=recurrence.describe(view.rrule),
                time=view.start_local.strftime("%H:%M"),
                zone=view.timezone,
            )
            if view.rrule
            else _("A one-off meeting."),
            _("Facilitator: {names}").format(names=self.facilitator_text(view, names)),
        ]
        if occ.moved_from is not None:
            lines.append(
                _("This time was moved from {when} ({zone}).").format(
                    when=occ.moved_from.astimezone(view.zone).strftime("%Y-%m-%d %H:%M"),
                    zone=view.timezone,
                )
            )
        url = view.location if view.location.startswith("https://") else None
        if url is not None:
            lines.append(_("Join: {link}").format(link=url))
        lines.append(
            # only Discord shows meetings in a calendar (its Events tab): commands there are slash
            _("RSVP privately with `/meeting rsvp #{id}`; others only see a count.").format(
                id=view.id
            )
        )
        platform, _sep, channel_id = view.location.partition(":")
        return MirroredEvent(
            key=mirror_key(view.id),
            community_platform=info.platform,
            community_id=info.platform_id,
            title=view.title,
            start=occ.start,
            end=occ.start + view.duration,
            description="\n".join(lines),
            location_channel_id=channel_id if url is None and platform == info.platform else None,
            location_label=view.location_label if url is None else _("Online"),
            external_url=url,
            interested_action=rsvp_action(view, occ.key, "come"),
            uninterested_action=rsvp_action(view, occ.key, "skip"),
        )

    # --- messages ------------------------------------------------------------------------

    def where_text(self, view: MeetingView) -> str:
        """The location as Markdown: a link, or the channel's label."""
        if view.location.startswith("https://"):
            label = escape_markdown(view.location_label or _("join link"))
            return f"[{label}]({view.location})"
        return escape_markdown(view.location_label or view.location)

    def facilitator_text(self, view: MeetingView, names: dict[tuple[int, str], str]) -> str:
        """Facilitators by pseudonym; people without one are not named."""
        shown = [
            escape_markdown(names[(view.community_id, k)])
            for k in view.facilitators
            if (view.community_id, k) in names
        ]
        return ", ".join(shown) if shown else person_label("facilitator")

    def announcement_lines(
        self, view: MeetingView, names: dict[tuple[int, str], str]
    ) -> AnnouncementLines:
        """What every announcement of this meeting says whatever the occurrence and offset, in
        the current language: planning renders it once per meeting, not once per post."""
        return AnnouncementLines(
            title=escape_markdown(view.title),
            about=(
                "\n" + _("Kind: {kind}").format(kind=kind_label(view.kind)),
                "\n" + _("Where: {where}").format(where=self.where_text(view)),
                "\n" + _("Facilitator: {names}").format(names=self.facilitator_text(view, names)),
            ),
            typing=tuple(
                fill_parts(
                    _("RSVPs are private; only this count shows. To RSVP by typing: {command}."),
                    {"command": [Command(f"meeting rsvp {view.id}")]},
                )
            ),
            labels=(_("I'll come"), _("Remind me"), _("Not this time")),
        )

    def announcement(
        self,
        view: MeetingView,
        occ: Occurrence,
        minutes: int,
        names: dict[tuple[int, str], str],
        going: int = 0,
        lines: AnnouncementLines | None = None,
    ) -> Message:
        """The channel post for one occurrence and offset, with its RSVP buttons and count
        (`going` members plan to come; who they are is never shown). `lines`: this meeting's
        `announcement_lines` in the current language, when the caller has them. "Remind me"
        (the default reminder, `rsvp_remind_minutes` before) is offered only on a post made
        earlier than that reminder would fall: on the 10-minute and "starting now" posts it
        could never come."""
        fixed = lines if lines is not None else self.announcement_lines(view, names)
        title = fixed.title
        parts: list[Part]
        if minutes == 0:
            parts = [_("**{title}** is starting now.").format(title=title)]
        else:
            parts = [_("Reminder: **{title}** begins ").format(title=title), When(occ.start), "."]
        parts.extend(fixed.about)
        if occ.moved_from is not None:
            parts.extend(["\n" + _("Moved from "), When(occ.moved_from), "."])
        if occ.note:
            parts.append("\n" + _("Note: {note}").format(note=escape_markdown(occ.note)))
        parts.append("\n" + going_text(going))
        parts.append("\n")
        parts += fixed.typing
        day = occ.start.astimezone(view.zone).date().isoformat()
        rsvp = f"meeting rsvp {view.id} {day}"
        come, remind, skip = fixed.labels
        reminding = (
            Action(
                rsvp_action(view, occ.key, "remind"),
                remind,
                ActionStyle.PRIMARY,
                emoji=RSVP_EMOJI["remind"],
                command=f"{rsvp} yes",
                undo=rsvp_action(view, occ.key, "skip"),
            ),
        )
        actions = (
            Action(
                rsvp_action(view, occ.key, "come"),
                come,
                ActionStyle.SUCCESS,
                emoji=RSVP_EMOJI["come"],
                command=rsvp,
                undo=rsvp_action(view, occ.key, "skip"),
            ),
            *(reminding if minutes > self.config.rsvp_remind_minutes else ()),
            Action(
                rsvp_action(view, occ.key, "skip"),
                skip,
                ActionStyle.SECONDARY,
                emoji=RSVP_EMOJI["skip"],
                command=f"meeting unrsvp {view.id} {day}",
            ),
        )
        return Message(
            text=tuple(part for part in parts if part != ""),
            ping_role=view.ping_role,
            actions=actions,
        )

    def occurrence_of(self, view: MeetingView, key: str) -> Occurrence | None:
        """The occurrence with this identity (its planned local wall time) as it takes place
        now, moves applied; None when it was cancelled, the series ended or there is none."""
        try:
            planned = place_in_zone(from_key(key), view.zone).astimezone(UTC)
        except ValueError:
            return None
        change = view.change(key)
        if change is not None and change.new_start is not None and change.status == "moved":
            planned = change.new_start
        window = view.occurrences(planned - timedelta(hours=1), planned + timedelta(hours=1))
        return next((o for o in window if o.key == key), None)

    def _refreshed(
        self,
        view: MeetingView,
        names: dict[tuple[int, str], str],
        rsvps: list[RsvpView],
    ) -> Callable[[str], Message | None]:
        """The text each sent post of this meeting should show now, by outbox key. A post
        made before an occurrence (`Reminder: ... begins`) is left as it is once that
        occurrence began: shown again then, it would read as a reminder of something that
        already started."""
        prefix = key_prefix(view)
        now = self.now

        def message_for(key: str) -> Message | None:
            if not key.startswith(prefix):
                return None  # an earlier meeting that had this row id
            occurrence, _dot, rest = key.removeprefix(prefix).partition(".")
            minutes = offset_of(rest.partition(".")[0])
            occ = self.occurrence_of(view, occurrence)
            if minutes is None or occ is None or (minutes > 0 and occ.start <= now):
                return None
            return self.announcement(view, occ, minutes, names, _going(rsvps, occ.key))

        return message_for

    def late_note(
        self, view: MeetingView, occ: Occurrence, rsvp_id: int, due: datetime
    ) -> Instead | None:
        """What a member gets instead of their reminder DM (due at `due`, aware UTC) when the
        outbox could not send it in time (the bot was offline, or could not reach the
        platform): one short note, as soon as it can be sent, saying the reminder is late and
        when the date starts in the member's own time, with the reminder's join details. Its
        own key (`late<rsvp id>`, the reminder's due time) makes it once at most; the outbox
        writes it only in the transaction that records the reminder as skipped, so never
        beside a sent reminder (see `Instead`).

        Only until the date ends (`not_after`); None (nothing) once it has ended. A note after
        the meeting can no longer help anyone get there, and after a long outage a member of a
        daily circle would find a row of apologies for dates gone by, reopening a missed
        meeting for nothing they can act on; operators see such reminders in `circlebot
        status` (skipped).

        Every planned reminder carries its note (rendered with it, in the community's
        language), since a delivery pass may skip a reminder planned in time (the platform
        could not be reached) with no planner running.
        """
        end = occ.start + view.duration
        if self.now > end:
            return None
        parts: list[Part] = [
            _("Sorry, this reminder comes late: I was offline when it was due."),
            "\n",
            _("You planned to join **{title}**, starting ").format(
                title=escape_markdown(view.title)
            ),
            When(occ.start),
            ".",
            *self._reminder_tail(view, occ),
        ]
        key = item_key(view, occ.key, f"late{rsvp_id}", due)
        return Instead(key, Message.of(*parts), not_after=end)

    def reminder(self, view: MeetingView, occ: Occurrence) -> Message:
        """The private reminder for a member who RSVP'd and asked for one."""
        parts: list[Part] = [
            _("You planned to join **{title}**; it begins ").format(
                title=escape_markdown(view.title)
            ),
            When(occ.start),
            ".",
            *self._reminder_tail(view, occ),
        ]
        return Message.of(*parts)

    def _reminder_tail(self, view: MeetingView, occ: Occurrence) -> list[Part]:
        """What a reminder and its late note say after the start: where, the date's note,
        what the member can type in the DM, how to stop reminders."""
        parts: list[Part] = ["\n" + _("Where: {where}").format(where=self.where_text(view))]
        if occ.note:
            parts.append("\n" + _("Note: {note}").format(note=escape_markdown(occ.note)))
        parts.append("\n")
        parts.extend(
            fill_parts(  # both work here in the DM (`Scope.MEMBER`)
                _("You can reply here: {info} for details, {unrsvp} if you can't come."),
                {
                    "info": [Command(f"meeting info {view.id}")],
                    "unrsvp": [Command(f"meeting unrsvp {view.id}")],
                },
            )
        )
        parts.append("\n")
        parts.extend(
            fill_parts(
                _("Stop these with {command}; nobody else sees your RSVP."),
                {"command": [Command("meeting reminders off")]},
            )
        )
        return parts

    # --- erasure -------------------------------------------------------------------------

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """RSVPs, reminder choice, facilitator roles, and meetings or changes they made."""
        async with self._sessions() as session:
            rsvps = await session.execute(
                select(MeetingRsvp, Meeting.title)
                .join(Meeting, Meeting.id == MeetingRsvp.meeting_id)
                .where(MeetingRsvp.actor_key == actor_key)
                .order_by(MeetingRsvp.id)
            )
            facilitating = await session.execute(
                select(Meeting.id, Meeting.title, Meeting.community_id)
                .join(MeetingFacilitator, MeetingFacilitator.meeting_id == Meeting.id)
                .where(MeetingFacilitator.actor_key == actor_key)
                .order_by(Meeting.id)
            )
            created = await session.scalars(
                select(Meeting).where(Meeting.created_by == actor_key).order_by(Meeting.id)
            )
            changes = await session.scalars(
                select(MeetingException).where(MeetingException.created_by == actor_key)
            )
            opt_out = await session.get(MeetingReminderOptOut, actor_key)
            return {
                "rsvps": [{**export_row(r), "meeting_title": t} for r, t in rsvps],
                "facilitating": [
                    {"meeting_id": i, "title": t, "community_id": c} for i, t, c in facilitating
                ],
                "meetings_created": [export_row(r) for r in created],
                "occurrence_changes": [export_row(r) for r in changes],
                "reminders_off_since": opt_out.created_at.isoformat() if opt_out else None,
            }

    async def remove_community(self, community_id: int) -> None:
        """Delete every meeting of a community (the bot was removed from it) with its
        exceptions, facilitators and RSVPs, and every trace of them in the outbox (pending and
        settled items, posts kept current, plan stamps); nothing is told or deleted on the
        platform, where the bot is no longer present."""
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(Meeting.id, Meeting.uid).where(Meeting.community_id == community_id)
                )
            ).all()
        ids = [meeting_id for meeting_id, _uid in found]
        await self.outbox.forget(
            *(ref for meeting_id in ids for ref in owner_refs(meeting_id)),
            retract=False,
            keys_under=tuple(prefix_of(meeting_id, uid) for meeting_id, uid in found),
        )
        async with self._sessions.begin() as session:
            mine = select(Meeting.id).where(Meeting.community_id == community_id)
            for table in (MeetingRsvp, MeetingException, MeetingFacilitator):
                await session.execute(delete(table).where(table.meeting_id.in_(mine)))
            await session.execute(delete(Meeting).where(Meeting.community_id == community_id))
        for meeting_id in ids:
            self.scheduler.cancel_prefix(f"meetings.{meeting_id}.")
            self._plan_due.pop(meeting_id, None)

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase RSVPs and reminder choices; drop them as facilitator; anonymise authorship;
        plan the meetings they were counted or named in again (their posts too)."""
        async with self._sessions() as session:
            fac_ids = set(
                await session.scalars(
                    select(MeetingFacilitator.meeting_id).where(
                        MeetingFacilitator.actor_key == actor_key
                    )
                )
            )
        await self.outbox.forget(OutboxRef.member(actor_key))
        async with self._sessions.begin() as session:
            rsvped = list(
                await session.scalars(
                    select(MeetingRsvp.meeting_id)
                    .where(MeetingRsvp.actor_key == actor_key)
                    .distinct()
                )
            )
            if rsvped:  # their reminders go: a rebuild racing this plans those again
                await session.execute(_planned_again(rsvped))
            await session.execute(delete(MeetingRsvp).where(MeetingRsvp.actor_key == actor_key))
            await session.execute(
                delete(MeetingReminderOptOut).where(MeetingReminderOptOut.actor_key == actor_key)
            )
            await session.execute(
                delete(MeetingFacilitator).where(MeetingFacilitator.actor_key == actor_key)
            )
            await session.execute(
                update(Meeting)
                .where(Meeting.created_by == actor_key)
                .values(created_by=FORMER_MEMBER)
            )
            await session.execute(
                update(MeetingException)
                .where(MeetingException.created_by == actor_key)
                .values(created_by=FORMER_MEMBER)
            )
            if fac_ids:
                await session.execute(
                    update(Meeting)
                    .where(Meeting.id.in_(fac_ids))
                    .values(revision=Meeting.revision + 1, revised_at=self.now)
                )
        # Announcements named them or counted them: plan again without, the path every RSVP
        # change takes (`unrsvp`), which also brings the posts already sent up to date.
        for meeting_id in sorted(fac_ids | set(rsvped)):
            with contextlib.suppress(NotFound):  # deleted meanwhile
                await self._replan(meeting_id)


def first_sendable_due(
    view: MeetingView,
    offsets: Iterable[int],
    rsvps: Sequence[RsvpView],
    *,
    off: Collection[str],
    now: datetime,
    grace: timedelta,
    soon: datetime,
    late: list[tuple[datetime, str]] | None = None,
) -> datetime | None:
    """The earliest due time (aware UTC) of this meeting's outbox items that can still be sent
    at `now`, among those of its dates starting before `soon` plus its longest lead; None when
    there is none. Every such item due by `soon` is among them, so the result is at most
    `soon` exactly when the meeting has one: a rebuild plans that meeting before it returns.

    The items are those `MeetingService.wanted` plans from `offsets` (the community's, minutes
    before a start), the meeting's `rsvps` and `off` (members who turned reminders off): a
    channel post at each offset, sendable for `grace` after its due time and, before the start,
    only until the start; a reminder DM for each RSVP's reminder (`reminder_fate`), whose late
    note (`MeetingService.late_note`) goes in its place until the date ends, so it counts until
    then. Nothing due before the meeting's last change, or a reminder before its RSVP.

    With `late` given, a reminder that can only go as a late note by now (missed) is not
    counted but added to it as (due time, its key): a reminder sent (or already recorded as
    missed, its note written) wants nothing, so the caller counts only those whose key has no
    outbox row (`Outbox.known_keys`). Without it they count: what planning on an empty
    outbox would write.
    """
    posts = set(offsets)
    leads = [r.remind_minutes for r in rsvps if r.remind_minutes is not None]
    longest = timedelta(minutes=max([*posts, *leads], default=0))
    # a post due up to `grace` ago starts no earlier than that; a late note's date has not ended
    after = min(now - grace, now - view.duration)
    found: list[datetime] = []
    for occ in view.occurrences(after, soon + longest + timedelta(seconds=1)):
        for minutes in posts:
            due = occ.start - timedelta(minutes=minutes)
            if (
                due >= view.revised_at
                and now - due <= grace
                and (minutes == 0 or now <= occ.start)
            ):
                found.append(due)
        if leads and now <= occ.start + view.duration:
            for actor_key, rsvp in chosen_rsvps(rsvps, occ.key).items():
                if rsvp.remind_minutes is None or actor_key in off:
                    continue
                due = occ.start - timedelta(minutes=rsvp.remind_minutes)
                if due < max(rsvp.created_at, view.revised_at):
                    continue
                if late is not None and (now - due > grace or now > occ.start):
                    late.append((due, item_key(view, occ.key, f"dm{rsvp.id}", due)))
                else:
                    found.append(due)
    return min(found, default=None)


# While the background plans (`_rebuild_rest`), a full garbage collection runs after this
# many collections of the middle generation instead of Python's 10. Each full collection
# stopped the event loop for 50-150 ms at 50,000 meetings (it walks every live object), and
# a background there ran 55-111 of them while finding only about 200 unreachable objects
# each; with 100, about 30 ran and the loop's lag p99 fell from 87 to 62 ms on a busy
# machine (benchmarks/meetings_schedule.py measures it). The garbage is collected all the same.
FULL_COLLECTION_EVERY = 100


@contextlib.contextmanager
def _rare_full_collections() -> Iterator[None]:
    """Raise the garbage collector's third threshold to `FULL_COLLECTION_EVERY` for the
    block, then put back what was set (unless something else changed it meanwhile)."""
    first, second, third = gc.get_threshold()
    raised = (first, second, max(third, FULL_COLLECTION_EVERY))
    gc.set_threshold(*raised)
    try:
        yield
    finally:
        if gc.get_threshold() == raised:
            gc.set_threshold(first, second, third)


def _late_reach(view: MeetingView, rsvps: Sequence[RsvpView], outbox: Outbox) -> timedelta:
    """How far back a plan of this meeting looks so it still sees every reminder DM whose late
    note (`MeetingService.late_note`) may be pending: one due as long before its date as the
    longest reminder asked, plus the date's length (a note is written until the date ends) and
    the grace window (a pending note is sent or skipped within it). A plan that does not look
    at a reminder would take its pending note for unwanted and withdraw it."""
    longest = max((r.remind_minutes or 0 for r in rsvps), default=0)
    if not longest:
        return timedelta(0)
    return timedelta(minutes=longest) + view.duration + outbox.grace


def _start_passed(draft: Draft, zone: ZoneInfo, now: datetime) -> str:
    """The refusal of a start that has passed. For a series, the start of its next meeting
    (COUNT left out: it counts from whichever start is given) in the start's zone, as the
    `start` to give instead: with the same other options it begins the series then."""

    def shown(wall: datetime) -> str:
        return f"{wall:%a} {wall.day} {wall:%b %Y, %H:%M} ({draft.timezone})"

    endless = ";".join(p for p in draft.rrule.split(";") if not p.startswith("COUNT="))
    nxt = recurrence.start_after(draft.start_local, zone, endless, now) if endless else None
    if nxt is None:
        return _("That start time, {time}, has already passed. Pick a time in the future.").format(
            time=shown(draft.start_local)
        )
    return _(
        "That start time, {time}, has already passed, so nothing was changed. The next "
        'meeting of that series would be {next}: give `start:"{start}"` to begin it then.'
    ).format(
        time=shown(draft.start_local),
        next=shown(nxt),
        start=f"{nxt:%Y-%m-%d %H:%M} {draft.timezone}",
    )


def mirror_key(meeting_id: int) -> str:
    """The key under which a meeting is shown in its community's calendar."""
    return f"meetings.{meeting_id}"


def may_manage(view: MeetingView, actor: Actor, tier: Tier) -> bool:
    """Moderators, and the meeting's own facilitators, may change a meeting."""
    return tier >= Tier.MODERATOR or actor.key in view.facilitators


async def _rekey(
    session: AsyncSession,
    model: type[MeetingException] | type[MeetingRsvp],
    rows: list[tuple[int, str, str]],
    target: Callable[[str], str | None],
) -> None:
    """Give rows (id, owner, occurrence key) their shifted key; see `_follow_start`."""
    moving = {row_id: t for row_id, _o, key in rows if (t := target(key)) is not None}
    if not moving:
        return
    taken = {(owner, moving[row_id]) for row_id, owner, _k in rows if row_id in moving}
    clash = [i for i, owner, key in rows if i not in moving and (owner, key) in taken]
    if clash:
        await session.execute(delete(model).where(model.id.in_(clash)))
    for row_id in moving:  # a placeholder first, so two shifted keys never meet midway
        await session.execute(
            update(model).where(model.id == row_id).values(occurrence=f"~{row_id}")
        )
    for row_id, key in moving.items():
        await session.execute(update(model).where(model.id == row_id).values(occurrence=key))


def _rsvp(row: MeetingRsvp) -> RsvpView:
    return RsvpView(row.actor_key, row.occurrence, row.remind_minutes, row.created_at, row.id)


def _names_shown(
    community_id: int, facilitators: Iterable[str], names: dict[tuple[int, str], str]
) -> str:
    """The facilitators (sorted) with the pseudonym each is named by in `community_id` (""
    for none), as text for `_stamp_digest`."""
    return "\x1f".join(
        f"{key}\x1e{names.get((community_id, key), '')}" for key in sorted(facilitators)
    )


def _chunks(items: Iterable[T], size: int) -> Iterable[list[T]]:
    seq = list(items)
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def chosen_rsvps(rsvps: Iterable[RsvpView], occurrence: str) -> dict[str, RsvpView]:
    """Each member's RSVP that decides their reminder for one date (its occurrence key): the
    date's own RSVP wins over a series RSVP."""
    chosen: dict[str, RsvpView] = {}
    for rsvp in rsvps:
        if rsvp.occurrence == occurrence or (
            rsvp.occurrence == "" and rsvp.actor_key not in chosen
        ):
            chosen[rsvp.actor_key] = rsvp
    return chosen


def _going(rsvps: Iterable[RsvpView], occurrence: str) -> int:
    """How many members plan to come to one occurrence (its own RSVPs and series RSVPs)."""
    return len({r.actor_key for r in rsvps if r.occurrence in ("", occurrence)})


def going_text(going: int) -> str:
    """The public count on an announcement; never who."""
    if going == 0:
        return _("Nobody has said yet that they plan to come.")
    return ngettext("{n} member plans to come.", "{n} members plan to come.", going).format(
        n=going
    )


def fold_title(title: str) -> str:
    """A meeting title as two titles are compared: NFKC, case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


async def _refuse_a_twin(
    session: AsyncSession, community_id: int, draft: Draft, *, besides: int | None
) -> None:
    """Raise `UserError` naming the meeting of the community (other than `besides`, not
    cancelled) with `draft`'s folded title, channel and start instant: a second one would be
    announced and remind everyone twice and make an RSVP ambiguous. Changes nothing."""
    start = place_in_zone(draft.start_local, ZoneInfo(draft.timezone)).astimezone(UTC)
    folded = fold_title(draft.title)
    rows = await session.execute(
        select(Meeting.id, Meeting.title, Meeting.start_local, Meeting.timezone).where(
            Meeting.community_id == community_id,
            Meeting.channel == draft.channel,
            Meeting.cancelled.is_(False),
        )
    )
    for meeting_id, title, start_local, zone in rows.all():
        if meeting_id == besides or fold_title(title) != folded:
            continue
        if place_in_zone(from_key(start_local), ZoneInfo(zone)).astimezone(UTC) != start:
            continue
        raise UserError(
            _(
                "#{id} **{title}** already starts at {time} ({zone}) in that channel, so nothing "
                "was changed: a second one would be announced and remind everyone twice. To hold "
                "another meeting then on purpose, give it a different title."
            ).format(
                id=meeting_id,
                title=escape_markdown(title),
                time=f"{from_key(start_local):%a %d %b %Y, %H:%M}",
                zone=zone,
            )
        )
