"""`meeting ...`: schedule recurring meetings, announce them, RSVP privately, export .ics."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.core import (
    MAX_YEAR,
    MIN_YEAR,
    ActionHandler,
    Actor,
    Attachment,
    AuditService,
    CalendarMirror,
    Choice,
    Clock,
    Cog,
    CogHooks,
    CommandSpec,
    Context,
    Database,
    MeetingSchedule,
    MemberService,
    Message,
    NotFound,
    Option,
    OptionType,
    Outbox,
    PermissionDenied,
    Place,
    PublicOccurrence,
    PublicSchedule,
    ScheduledMeeting,
    Scheduler,
    Scope,
    SettingsService,
    SharedSuggestions,
    TextChecks,
    Tier,
    UserError,
    clock_time_in,
    clock_time_refusal,
    command,
    escape_markdown,
    has_time_of_day,
    parse_duration,
    parse_zone,
    read_wall_time,
    tier_name,
    zone_label,
)
from cogs.meetings import ical, public, recurrence, render
from cogs.meetings.recurrence import Occurrence, local_key, parse_repeat
from cogs.meetings.service import (
    NO_REMINDER,
    RSVP_ACTION,
    TITLE_MAX,
    Draft,
    MeetingsConfig,
    MeetingService,
    MeetingView,
    check_note,
    check_title,
    chosen_rsvps,
    may_manage,
)

_START = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?(?:\s+(\S+))?$")
CHOICE_HORIZON_DAYS = 400  # how far ahead a meeting's dates are suggested
# A member named facilitator of a meeting may run its facilitator commands (its script, timer
# and speaking queue) without the community's facilitator role from an hour before each
# occurrence starts, to set up, until half an hour after it ends, to close one that ran over.
FACILITATING_BEFORE = timedelta(hours=1)
FACILITATING_AFTER = timedelta(minutes=30)
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# What a `when` option is typed as; a reading of a line that puts other words there does not
# count when deciding which meeting the words name (`Option.shape`).
WHEN_SHAPE = r"next|all|series|\d{4}-\d{1,2}-\d{1,2}"
# What a last date (`until`) is typed as: an unnamed date may fill it, nothing else unnamed
# that reads as a date, time or length is taken there (`Option.shape`).
DATE_SHAPE = r"\d{4}-\d{1,2}-\d{1,2}"
# A reminder is never a meeting's date nor `next`/`all` (words for `when` that fell to it);
# its words are otherwise free (the suggestions are shown in the member's language)
REMINDER_SHAPE = r"(?!(?:next|all|series)\b)(?!.*\d{4}-\d{1,2}-\d{1,2}).+"
# A time of day typed alone (`19:00`, `7pm`, `19h30`, `noon`), no bare number
_TIME_ALONE = re.compile(
    r"\d{1,2}(?:[:.]\d{2})?\s*[ap]\.?m\.?|\d{1,2}[:.h]\d{2}|\d{1,2}h|noon|midday|midnight",
    re.IGNORECASE,
)
KIND_CHOICES = (
    Choice("standard", "Standard"),
    Choice("family_friends", "Family & Friends"),
    Choice("hosted_discussion", "Hosted discussion"),
    Choice("other", "Other"),
)
MEETING = Option(
    "meeting",
    OptionType.STRING,
    "The meeting: its name or #number",
    autocomplete="complete",
    names="meeting_names",
    check="check_meeting",
)


CONFIRM_WORDS = frozenset({"yes", "y", "true", "on", "1"})  # `confirm:` words that go ahead


def _timing_options(required: bool) -> tuple[Option, ...]:
    return (
        Option(
            "start",
            OptionType.STRING,
            "First date and time, e.g. 2026-12-01 19:00 (a zone may follow)",
            required=required,
            max_length=80,
            moment=True,
        ),
        Option(
            "duration",
            OptionType.DURATION,
            "How long, e.g. 90m or 1h30m",
            required=required,
        ),
        Option(
            "repeat",
            OptionType.STRING,
            "none, daily, weekly on tue, every 2 weeks on mon, monthly on last fri ...",
            required=False,
            max_length=200,
        ),
        Option(
            "until",
            OptionType.STRING,
            "Last date, e.g. 2027-06-30",
            required=False,
            shape=DATE_SHAPE,
        ),
        Option(
            "count",
            OptionType.INTEGER,
            "How many meetings in all",
            required=False,
            min_value=1,
            max_value=1000,
        ),
        Option(
            "zone",
            OptionType.STRING,
            "IANA time zone, e.g. Europe/Berlin (default: the community's)",
            required=False,
            max_length=64,
            autocomplete="complete_zone",
        ),
        Option(
            "location",
            OptionType.STRING,
            "A channel here (#name) or an https link",
            required=False,
            max_length=500,
        ),
        Option(
            "channel",
            OptionType.CHANNEL,
            "Where announcements go (default: this channel)",
            required=False,
        ),
        Option("kind", OptionType.CHOICE, "Kind of meeting", required=False, choices=KIND_CHOICES),
        Option(
            "script",
            OptionType.STRING,
            "Facilitator script name",
            required=False,
            max_length=64,
            autocomplete="complete_script",
        ),
    )


def parse_start(
    text: str,
    zone: str | None,
    default_zone: str,
    now: datetime | None = None,
    *,
    country: str = "",
) -> tuple[datetime, str]:
    """`2026-12-01 19:00`, `tomorrow 7pm`, `next tuesday 19:00` or `5 March 2026 19:00`, with an
    optional zone name after, as a wall time and a zone name. Without a zone the time is read in
    `default_zone` (the author's own); day and month in digits (`01/02`) in `country`'s order.
    Raises `UserError` naming what is wrong."""
    m = _START.match(" ".join(text.split()))
    if m and m.group(4) is not None:
        year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
        named = m.group(6)
        if hour > 23 or minute > 59:
            raise UserError(render.no_such_time(hour=hour, minute=minute))
        when = check_date(year, month, day)
        wall = datetime(when.year, when.month, when.day, hour, minute)
        zone_name = _start_zone(named, zone, default_zone)
        return wall, zone_name
    words = text.split()
    last = words[-1] if len(words) > 1 else ""
    named = last if "/" in last or last.upper() == "UTC" else None
    typed = " ".join(words[:-1] if named else words)
    zone_name = _start_zone(named, zone, default_zone)
    if m:  # a date in digits with a time in words ("2027-02-30 7pm"): the date is named first
        check_date(*(int(m.group(i)) for i in range(1, 4)))
    if not has_time_of_day(typed):
        # a date that does not exist (`feb 30`) is named as such, not given a time to add
        read_wall_time(typed, parse_zone(zone_name), now, country=country)
        raise UserError(render.time_of_day_missing(text=typed[:60]))
    return read_wall_time(typed, parse_zone(zone_name), now, country=country), zone_name


def _start_zone(named: str | None, zone: str | None, default_zone: str) -> str:
    if named and zone and parse_zone(named).key != parse_zone(zone).key:
        raise UserError(render.two_zones())
    return parse_zone(named or zone or default_zone).key


REPEAT_FIRST_WORDS = (
    "every",
    "each",
    "daily",
    "weekly",
    "biweekly",
    "fortnightly",
    "monthly",
    "yearly",
    "annually",
    "weekdays",
)


def start_from_repeat(
    text: str, zone_name: str, now: datetime, until: date | None, count: int | None
) -> tuple[datetime, str] | None:
    """A start typed as a repeat with a time (`every other monday 7pm`): the first such
    meeting from `now` and its rule; None when the text is not a repeat phrase."""
    if text.split()[0].lower() not in REPEAT_FIRST_WORDS:
        return None
    zone = parse_zone(zone_name)
    today = now.astimezone(zone).replace(tzinfo=None)
    found = recurrence.read_repeat(text, today, until=until, count=count)
    if found.at is None or not found.rule:
        raise UserError(render.repeat_time_missing(text=text.strip()[:60]))
    probe = datetime.combine(today.date(), found.at)
    draft = recurrence.read_repeat(text, probe).rule
    endless = ";".join(p for p in draft.split(";") if not p.startswith(("COUNT=", "UNTIL=")))
    first = recurrence.first_after(probe, zone, endless, now)
    if first is None:
        raise UserError(render.repeat_empty())
    return first, recurrence.read_repeat(text, first, until=until, count=count).rule


def check_date(year: int, month: int, day: int) -> date:
    """A calendar date, or a message naming what is wrong (31 February, month 13)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise UserError(render.year_out_of_range(low=MIN_YEAR, high=MAX_YEAR))
    if not 1 <= month <= 12:
        raise UserError(render.no_such_month(month=month))
    last = calendar.monthrange(year, month)[1] if 1 <= year <= 9999 else 0
    if not 1 <= day <= last:
        raise UserError(render.no_such_day(year=year, month=month, day=day, n=last))
    return date(year, month, day)


def parse_date(text: str) -> date:
    """A date such as 2027-06-30."""
    m = _DATE.match(text.strip())
    if not m:
        raise UserError(render.not_a_date(text=text.strip()[:40]))
    return check_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


class MeetingsCog(Cog, MeetingSchedule, PublicSchedule):
    """Recurring meetings with announcements, private RSVPs and calendar files."""

    name = "meetings"
    description = "Meetings: schedule, announcements, RSVPs, calendar"
    data_statement = (
        "Stores the meetings facilitators set up (title, time, place, and who facilitates, by "
        "account id, shown by pseudonym only). If you RSVP, it stores that privately with your "
        "reminder choice, so it can remind you; others only ever see a count."
    )
    Config = MeetingsConfig

    def __init__(
        self,
        config: MeetingsConfig | None = None,
        *,
        audit: AuditService,
        calendar: CalendarMirror,
        clock: Clock,
        db: Database,
        members: MemberService,
        outbox: Outbox,
        scheduler: Scheduler,
        settings: SettingsService,
        text_checks: TextChecks,
        suggestions: SharedSuggestions,
    ) -> None:
        config = config or MeetingsConfig()
        config.announce_minutes = sorted(
            {m for m in config.announce_minutes if 0 <= m <= 7 * 1440}, reverse=True
        )
        super().__init__(config)
        self.clock = clock
        self.text_checks = text_checks
        self.suggestions = suggestions
        self.service = MeetingService(
            config,
            audit=audit,
            calendar=calendar,
            clock=clock,
            db=db,
            members=members,
            outbox=outbox,
            scheduler=scheduler,
            settings=settings,
        )

    def actions(self) -> dict[str, ActionHandler]:
        """The RSVP buttons on announcements (`meetings:rsvp:...`)."""
        return {"meetings": self.press}

    async def press(self, ctx: Context, action_id: str) -> bool:
        """An RSVP button: I'll come, Remind me, or Not this time, answered privately.

        The id is untrusted: it must name a meeting of the presser's community by its row id
        and uid, and an occurrence that still takes place and has not ended; a stale press is
        told why. False (the generic "no longer active") for an id that is not ours.
        """
        found = RSVP_ACTION.fullmatch(action_id)
        if found is None:
            return False
        view = await self.service.get(int(found["id"]))
        if (
            view is None
            or view.uid[:8] != found["uid"]
            or view.community_id != ctx.require_community().id
        ):
            raise UserError(render.rsvp_meeting_gone())
        if view.cancelled:
            raise UserError(render.rsvp_series_ended(title=escape_markdown(view.title)))
        key = found["occurrence"]
        occ = self.service.occurrence_of(view, key)
        title = escape_markdown(view.title)
        if occ is None:
            change = view.change(key)
            if change is not None and change.status == "cancelled":
                raise UserError(render.rsvp_occurrence_cancelled(title=title))
            raise UserError(render.rsvp_occurrence_gone(title=title, prefix=ctx.prefix))
        if occ.start + view.duration <= self.clock.now():
            raise UserError(render.rsvp_occurrence_over(title=title))
        choice = found["choice"]
        actor = ctx.actor.key
        mine = await self.service.rsvps_of(view.id, actor)
        own = next((r for r in mine if r.occurrence == key), None)
        if choice == "skip":
            removed = await self.service.unrsvp(view, actor, key)
            series = any(r.occurrence == "" for r in mine)
            await ctx.reply(
                render.rsvp_skipped(bool(removed), series, view.id, ctx.prefix), ephemeral=True
            )
            return True
        remind = (
            self.service.config.rsvp_remind_minutes
            if choice == "remind"
            else (own.remind_minutes if own is not None else None)
        )
        await self.service.rsvp(view, actor, key, remind)
        answer = await self._noted(view, occ, actor, ctx.prefix)  # "starting now" has buttons too
        await ctx.reply(
            Message(
                text=(*answer.text, "\n" + render.interested_note(ctx.actor.platform)),
            ),
            ephemeral=True,
        )
        return True

    async def start(self) -> None:
        """Withdraw stale announcements and plan the coming ones from the database; follow
        facilitators' pseudonyms into what is planned."""
        self.service.members.on_renamed(self.service.renamed)
        await self.service.rebuild()

    async def after_start(self) -> None:
        """Begin planning in the background what a large start-up left (see
        `MeetingService.rebuild`)."""
        self.service.begin_background()

    async def settled(self) -> None:
        """Wait for the meetings a large start-up plans in the background (see
        `MeetingService.rebuild`)."""
        await self.service.settled()

    async def stop(self) -> None:
        """Stop following pseudonyms (see `start`) and planning in the background."""
        self.service.members.off_renamed(self.service.renamed)
        await self.service.stop_rebuild()

    async def move_place(self, old_key: str, new_key: str) -> None:
        """Meetings announced in (or held in) a replaced room use its replacement."""
        await self.service.move_place(old_key, new_key)

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase RSVPs and reminder choices; remove the person as a facilitator."""
        await self.service.delete_user_data(actor_key)

    async def delete_community_data(self, community_id: int) -> None:
        """Its meetings with everything they planned (see `MeetingService.remove_community`)."""
        await self.service.remove_community(community_id)

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """RSVPs, reminder choice, facilitator roles and meetings the person set up."""
        return await self.service.export_user_data(actor_key)

    async def next_meeting(
        self, community_id: int, meeting: str | None = None
    ) -> tuple[str, datetime] | None:
        """(title, next start in UTC) of the named meeting or the community's next one."""
        return await self.service.next_meeting(community_id, meeting)

    async def public_upcoming(
        self, community_id: int, *, limit: int, with_counts: bool
    ) -> list[PublicOccurrence]:
        """The community's next `limit` occurrences as the public schedule shows them."""
        return await public.upcoming(
            self.service, community_id, limit=limit, with_counts=with_counts
        )

    async def public_meeting(
        self, community_id: int, meeting_id: int, *, limit: int, with_counts: bool
    ) -> list[PublicOccurrence] | None:
        """One meeting's next `limit` occurrences; None when the community has no such one."""
        return await public.meeting(
            self.service, community_id, meeting_id, limit=limit, with_counts=with_counts
        )

    async def public_feed(self, community_id: int, *, name: str, url: str) -> bytes:
        """The community's meetings as a subscribable iCalendar feed."""
        return await public.feed(self.service, community_id, name=name, url=url)

    async def meeting_titles(self, community_id: int, partial: str) -> list[str]:
        """Titles of the community's coming meetings containing `partial`, soonest first."""
        return [v.title for v in await self.service.suggest(community_id, partial)]

    async def scheduled_meetings(self, community_id: int) -> list[ScheduledMeeting]:
        """Every meeting of the community, with the occurrence under way or next and whether
        one is current for its named facilitators (`_current`): for the scripts part, which
        meeting a facilitator command runs and which meetings use a script."""
        found = []
        for view in await self.service.all_in(community_id):
            occ = self.service.mirrored_occurrence(view)
            found.append(
                ScheduledMeeting(
                    view.id,
                    view.title,
                    view.script or "",
                    (view.location, view.channel),
                    None if occ is None else occ.start,
                    view.duration_minutes,
                    view.cancelled,
                    self._current(view),
                )
            )
        return found

    async def is_facilitator(self, community_id: int, meeting: str, actor_key: str) -> bool:
        """Whether the person is one of the facilitators of the meeting `meeting` names
        (`#id`, title or unique title prefix); False when no meeting matches."""
        return await self._named_for(community_id, meeting, actor_key) is not None

    async def _named_for(
        self, community_id: int, meeting: str, actor_key: str
    ) -> MeetingView | None:
        """The meeting `meeting` names (`#id`, title or unique title prefix) when the person
        is one of its facilitators; None when they are not, or no meeting (or several) match."""
        try:
            view = await self.service.find(community_id, meeting)
        except UserError:  # NotFound, or several meetings match
            return None
        return view if actor_key in view.facilitators else None

    # --- helpers -------------------------------------------------------------------------

    async def _meeting(self, ctx: Context, ref: str) -> MeetingView:
        return await self.service.find(ctx.require_community().id, ref, ctx.zone)

    async def _managed(self, ctx: Context, ref: str) -> MeetingView:
        view = await self._meeting(ctx, ref)
        if not may_manage(view, ctx.actor, ctx.tier):
            raise PermissionDenied(render.not_your_meeting())
        return view

    def hooks(self) -> CogHooks:
        """Say who may change a meeting when a member below a command's tier tries to (and
        what a meeting's own named facilitator can do instead), and who is a meeting's named
        facilitator while it is current."""
        return CogHooks(
            tier_refusal=self.below_tier,
            named_refusal=self.named_below_tier,
            named_facilitator=self.named_facilitator,
        )

    async def named_facilitator(self, community_id: int, meeting: str, actor_key: str) -> bool:
        """Whether `actor_key` is one of the facilitators named for the meeting `meeting`
        names (`#id`, title or unique title prefix) and one of its occurrences is current:
        from `FACILITATING_BEFORE` before its start until `FACILITATING_AFTER` after its end
        (moves applied; a cancelled occurrence or series has none). False when no meeting, or
        several, match. Read afresh each time: someone removed by `meeting edit` stops at once.
        """
        view = await self._named_for(community_id, meeting, actor_key)
        return view is not None and self._current(view)

    def _current(self, view: MeetingView) -> bool:
        """Whether one of the meeting's occurrences is current now: from `FACILITATING_BEFORE`
        before its start until `FACILITATING_AFTER` after its end (moves applied; a cancelled
        occurrence or series has none)."""
        now = self.clock.now()
        after = now - view.duration - FACILITATING_AFTER
        return any(
            o.start - FACILITATING_BEFORE <= now < o.start + view.duration + FACILITATING_AFTER
            for o in view.occurrences(after, now + FACILITATING_BEFORE + timedelta(seconds=1))
        )

    def below_tier(self, spec: CommandSpec) -> str | None:
        """What a member below `spec`'s tier is told. For a facilitator's command on one
        meeting, who may change a meeting in the words `_managed` uses (not "Only a
        facilitator can use ...", which reads as untrue beside the meeting's own facilitator);
        None, the core's words, for the others."""
        if spec.tier is Tier.FACILITATOR and MEETING in spec.options:
            return render.not_your_meeting()
        return None

    async def named_below_tier(
        self, ctx: Context, spec: CommandSpec, values: Mapping[str, Any]
    ) -> str | None:
        """What someone below `spec`'s tier is told about the meeting its `meeting` names.

        When no meeting of the community has that name or number: that there is none, in the
        words anyone who may run the command gets (`MeetingService.find`), not who may change
        it, which would read as if the meeting existed. Only where the command runs (a
        community channel); several matches keep the tier's words, listing nothing.

        When they are one of the facilitators named for it (at any time, current or not),
        without the facilitator tier: the command needs the tier, and as that meeting's named
        facilitator they can run its script, with its step timer and speaking queue, around
        its times. Not `below_tier`'s words, which read as if being one of its facilitators
        were enough. None for anyone else, and for someone holding the facilitator tier
        (refused a moderator's command: the tier's words are plain)."""
        meeting = values.get("meeting")
        named = any(o.name == "meeting" for o in spec.options)
        if ctx.community is None or not named:
            return None
        if not isinstance(meeting, str) or not meeting.strip():
            return None
        try:
            view = await self._meeting(ctx, meeting.strip())
        except NotFound as missing:
            runs_here = spec.scope.allows(is_dm=ctx.place.is_dm, community_known=True)
            return missing.message if runs_here else None
        except UserError:  # several meetings match: not theirs to run, so nothing listed
            return None
        if ctx.tier >= Tier.FACILITATOR or ctx.actor.key not in view.facilitators:
            return None
        command = " ".join(ctx.responder.command_words(spec.path))
        now = self.clock.now()
        coming = self._current(view) or bool(
            view.occurrences(now, now + timedelta(days=CHOICE_HORIZON_DAYS))
        )
        if not coming:  # cancelled or over: no script to offer
            return render.named_facilitator_nothing_to_run(
                command=command, tier=tier_name(spec.tier)
            )
        return render.named_facilitator_below_tier(
            command=command,
            tier=tier_name(spec.tier),
            start=f"{ctx.spell(('script', 'start'))} meeting:#{view.id}",
            before_minutes=int(FACILITATING_BEFORE.total_seconds() // 60),
            after_minutes=int(FACILITATING_AFTER.total_seconds() // 60),
        )

    async def _announce_place(self, ctx: Context, place: Place) -> Place:
        """A channel of this community where the bot can post announcements."""
        place = ctx.own_place(place)
        reason = await ctx.can_post(place)
        if reason:
            raise UserError(
                render.cannot_announce(channel=escape_markdown(place.label), reason=reason)
            )
        return place

    async def _location(self, ctx: Context, text: str) -> tuple[str, str]:
        raw = text.strip()
        if raw.lower().startswith("http://"):
            raise UserError(render.https_expected())
        if raw.lower().startswith("https://"):
            parts = urlsplit(raw)
            if not parts.netloc or any(ch.isspace() for ch in raw) or len(raw) > 500:
                raise UserError(render.link_incomplete())
            return raw, ""
        place = await ctx.responder.resolve_place(raw)
        if place is None:
            raise UserError(render.channel_not_found(where=raw[:60]))
        place = ctx.own_place(place)
        return place.key, place.label

    async def _occurrence(
        self, view: MeetingView, when: str, *, under_way: bool = False
    ) -> Occurrence:
        """`next` or a date (in the meeting's zone) to one upcoming occurrence.

        `under_way`: one that has begun and not ended counts too (an RSVP): for `next` when no
        later one is coming, for a date when it is that date's."""
        now = self.clock.now()
        word = when.strip().lower()
        if word in ("", "next"):
            nxt = view.next_occurrence(now)
            if nxt is None and under_way:
                nxt = self.service.under_way(view)
            if nxt is None:
                raise UserError(render.no_upcoming_meeting(title=view.title))
            return nxt
        day = parse_date(word)
        low = datetime.combine(day, datetime.min.time(), view.zone) - timedelta(days=2)
        earliest = now - view.duration + timedelta(seconds=1) if under_way else now
        found = [
            o
            for o in view.occurrences(max(earliest, low), low + timedelta(days=5))
            if o.key[:10] == day.isoformat() or o.start.astimezone(view.zone).date() == day
        ]
        if not found:
            if view.cancelled_on(day.isoformat()) is not None:
                raise UserError(render.already_cancelled())
            raise UserError(
                render.no_meeting_on(title=escape_markdown(view.title), day=day.isoformat())
            )
        return found[0]

    # --- commands ------------------------------------------------------------------------

    @command(
        "meeting",
        "schedule",
        options=(
            Option(
                "title",
                OptionType.STRING,
                "The meeting's name",
                max_length=TITLE_MAX,
                published=True,
            ),
            *_timing_options(True),
            Option(
                "facilitator",
                OptionType.USER,
                "Who facilitates (default: you)",
                required=False,
            ),
        ),
        tier=Tier.FACILITATOR,
        scope=Scope.COMMUNITY,
    )
    async def schedule(
        self,
        ctx: Context,
        title: str,
        start: str,
        duration: timedelta,
        repeat: str | None = None,
        until: str | None = None,
        count: int | None = None,
        zone: str | None = None,
        location: str | None = None,
        channel: Place | None = None,
        kind: str | None = None,
        script: str | None = None,
        facilitator: Actor | None = None,
    ) -> None:
        """Schedule a meeting, once or repeating, with announcements in a channel."""
        community_id = ctx.require_community().id
        assert ctx.community is not None
        now, last = self.clock.now(), parse_date(until) if until else None
        # A facilitator's "19:00" is their own zone (their setting, else the community's).
        zone_name = _start_zone(None, zone, ctx.timezone)
        phrase = None if repeat else start_from_repeat(start, zone_name, now, last, count)
        if phrase is not None:
            start_local, rule = phrase
        else:
            start_local, zone_name = parse_start(
                start, zone, ctx.timezone, now, country=ctx.country
            )
            rule = parse_repeat(repeat, start_local, until=last, count=count)
        announce = await self._announce_place(ctx, channel or ctx.place)
        where, label = (
            await self._location(ctx, location) if location else (announce.key, announce.label)
        )
        await self.text_checks.run(ctx, title, "meetings")
        draft = self.service.validate(
            Draft(
                title=title,
                kind=kind or "standard",
                start_local=start_local,
                timezone=zone_name,
                duration_minutes=int(duration.total_seconds() // 60),
                rrule=rule,
                location=where,
                location_label=label,
                channel=announce.key,
                script=await self._script_name(ctx, script),
                facilitators=(facilitator.key,) if facilitator else (ctx.actor.key,),
            )
        )
        view = await self.service.create(community_id, ctx.actor.key, draft)
        # One public post (its times in the community's zone, Discord timestamps there), then
        # a private note to the author of how their typed time was read, in their own zone.
        note = recurrence.interval_warning(rule, start_local)
        await ctx.reply(self._summary(render.scheduled_heading(), view, note), ephemeral=False)
        first = recurrence.place_in_zone(start_local, parse_zone(zone_name))
        understood = render.read_as(
            typed=start.strip()[:60],
            time=first.strftime("%a %d %b %Y, %H:%M"),
            zone=zone_label(first),
            name=zone_name,
        )
        await ctx.reply(understood, ephemeral=True)

    async def _script_name(self, ctx: Context, typed: str | None) -> str | None:
        """The name of one of the community's scripts that `typed` names (any case), None for
        nothing typed; `UserError` naming how to list them when it names none (also when the
        scripts part is off, as then there are none)."""
        name = (typed or "").strip()
        if not name:
            return None
        found = await self.suggestions.choices("script", ctx, name)
        match = next((c.value for c in found if c.value.casefold() == name.casefold()), None)
        if match is None:
            raise UserError(
                render.no_such_script(name=escape_markdown(name[:40]), prefix=ctx.prefix)
            )
        return match

    def _summary(self, verb: str, view: MeetingView, note: str | None = None) -> Message:
        return render.summary(verb, view, view.next_occurrence(self.clock.now()), note)

    @command(
        "meeting",
        "edit",
        options=(
            MEETING,
            Option(
                "title",
                OptionType.STRING,
                "New name",
                required=False,
                max_length=TITLE_MAX,
                published=True,
            ),
            *_timing_options(False),
            Option("add_facilitator", OptionType.USER, "Add a facilitator", required=False),
            Option("remove_facilitator", OptionType.USER, "Remove a facilitator", required=False),
        ),
        tier=Tier.FACILITATOR,
        scope=Scope.COMMUNITY,
    )
    async def edit(
        self,
        ctx: Context,
        meeting: str,
        title: str | None = None,
        start: str | None = None,
        duration: timedelta | None = None,
        repeat: str | None = None,
        until: str | None = None,
        count: int | None = None,
        zone: str | None = None,
        location: str | None = None,
        channel: Place | None = None,
        kind: str | None = None,
        script: str | None = None,
        add_facilitator: Actor | None = None,
        remove_facilitator: Actor | None = None,
    ) -> None:
        """Change a meeting; what was already announced for the old time is withdrawn."""
        view = await self._managed(ctx, meeting)
        given: tuple[object, ...] = (title, start, duration, repeat, until, count, zone)
        given += (location, channel, kind, script, add_facilitator, remove_facilitator)
        if all(v is None for v in given):  # nothing named to change
            raise UserError(
                render.edit_names_nothing(
                    command=f"{ctx.spell(('meeting', 'edit'))} #{view.id}",
                    help_command=f"{ctx.prefix}help meeting edit",
                )
            )
        start_local, zone_name = view.start_local, view.timezone
        words = (start or "").split()
        if words and _TIME_ALONE.fullmatch(words[0]) and len(words) == 1:
            # a time alone (`edit Circle 20:00`): the series' next day at that time, as `move`
            # reads it, not today (which would move a weekly series to today's weekday)
            coming = view.next_occurrence(self.clock.now())
            day = coming.start.astimezone(view.zone).date() if coming else view.start_local
            start = f"{day:%Y-%m-%d} {words[0]}"
        if start is not None or zone is not None:
            start_local, zone_name = parse_start(
                start or f"{view.start_local:%Y-%m-%d %H:%M}",
                zone,
                view.timezone,
                self.clock.now(),
                country=ctx.country,
            )
        rule, days_note = view.rrule, None
        if repeat is None and start_local.date() != view.start_local.date():
            # a day the rule took from the old start follows the new one; others are named
            rule = recurrence.follow_start(view.rrule, view.start_local, start_local)
            days_note = recurrence.kept_days(rule, start_local)
        if repeat is not None or until is not None or count is not None:
            rule = parse_repeat(
                repeat if repeat is not None else (rule or "none"),
                start_local,
                until=parse_date(until) if until else None,
                count=count,
            )
        where, label = view.location, view.location_label
        if location is not None:
            where, label = await self._location(ctx, location)
        if title is not None:
            await self.text_checks.run(ctx, title, "meetings")
        remaining = set(view.facilitators) | ({add_facilitator.key} if add_facilitator else set())
        if remove_facilitator is not None:
            remaining.discard(remove_facilitator.key)
            if not remaining:
                raise UserError(render.last_facilitator())
        draft = Draft(
            title=title if title is not None else view.title,
            kind=kind or view.kind,
            start_local=start_local,
            timezone=zone_name,
            duration_minutes=int(duration.total_seconds() // 60)
            if duration
            else view.duration_minutes,
            rrule=rule,
            location=where,
            location_label=label,
            channel=(await self._announce_place(ctx, channel)).key if channel else view.channel,
            script=await self._script_name(ctx, script) if script is not None else view.script,
        )
        add = [add_facilitator.key] if add_facilitator else []
        remove = [remove_facilitator.key] if remove_facilitator else []
        # the same details, checked before `validate`, which refuses a series with no date
        # to come: an edit that changes nothing is told so whatever the meeting's dates
        same = replace(draft, title=check_title(draft.title))
        if not self.service.changes(view, same, add=add, remove=remove):
            raise UserError(render.edit_changes_nothing(title=escape_markdown(view.title)))
        draft = self.service.validate(
            draft, start_changed=(start_local, zone_name) != (view.start_local, view.timezone)
        )
        if not self.service.changes(view, draft, add=add, remove=remove):
            raise UserError(render.edit_changes_nothing(title=escape_markdown(view.title)))
        fresh = await self.service.update(view, ctx.actor.key, draft, add=add, remove=remove)
        changed = (rule, start_local) != (view.rrule, view.start_local)
        notes = [days_note, recurrence.interval_warning(rule, start_local) if changed else None]
        note = " ".join(n for n in notes if n) or None
        await ctx.reply(self._summary(render.updated_heading(), fresh, note))

    @command(
        "meeting",
        "cancel",
        options=(
            MEETING,
            Option(
                "when",
                OptionType.STRING,
                "next, a date such as 2026-12-08, or all (the whole series)",
                max_length=20,
                autocomplete="complete_when",
                shape=WHEN_SHAPE,
            ),
            Option("note", OptionType.STRING, "A note shown in the announcement", required=False),
        ),
        tier=Tier.FACILITATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
    )
    async def cancel(self, ctx: Context, meeting: str, when: str, note: str | None = None) -> None:
        """Cancel one occurrence or the whole series; the channel is told."""
        view = await self._managed(ctx, meeting)
        text = check_note(note)
        if text:
            await self.text_checks.run(ctx, text, "meetings")
        if when.strip().lower() in ("all", "series"):
            if view.cancelled:
                raise UserError(render.series_already_cancelled())
            await self.service.cancel_series(view, ctx.actor.key, text)
            await ctx.reply(render.series_cancelled(view, ctx.prefix), ephemeral=True)
            return
        occ = await self._occurrence(view, when)
        await self.service.cancel_occurrence(view, ctx.actor.key, occ, text)
        await ctx.reply(render.occurrence_cancelled(view, occ, ctx.prefix), ephemeral=True)

    @command(
        "meeting",
        "move",
        options=(
            MEETING,
            Option(
                "when",
                OptionType.STRING,
                "next, or the date of the meeting to move",
                max_length=20,
                autocomplete="complete_when",
                shape=WHEN_SHAPE,
            ),
            Option(
                "to",
                OptionType.STRING,
                "New date and time, e.g. 2026-12-09 19:00 (meeting's zone unless named)",
                max_length=80,
                moment=True,
            ),
            Option("note", OptionType.STRING, "A note shown in announcements", required=False),
        ),
        tier=Tier.FACILITATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
    )
    async def move(
        self, ctx: Context, meeting: str, when: str, to: str, note: str | None = None
    ) -> None:
        """Move one occurrence to another time; announcements follow it."""
        view = await self._managed(ctx, meeting)
        text = check_note(note)
        if text:
            await self.text_checks.run(ctx, text, "meetings")
        occ = await self._occurrence(view, when)
        words = to.split()
        zone_after = len(words) == 2 and ("/" in words[1] or words[1].upper() == "UTC")
        if words and _TIME_ALONE.fullmatch(words[0]) and (len(words) == 1 or zone_after):
            # a time alone (`move Circle 2026-12-10 19:00`): that meeting's own day, not today's
            day = occ.start.astimezone(view.zone).date()
            to = f"{day.isoformat()} {to.strip()}"
        naive, zone_name = parse_start(
            to, None, view.timezone, self.clock.now(), country=ctx.country
        )
        new_start = recurrence.place_in_zone(naive, parse_zone(zone_name))
        if new_start.replace(tzinfo=None) != naive:
            raise UserError(render.time_skipped(time=f"{naive:%Y-%m-%d %H:%M}", zone=zone_name))
        await self.service.move_occurrence(view, ctx.actor.key, occ, new_start, text)
        await ctx.reply(render.moved(view, occ, new_start), ephemeral=True)

    @command(
        "meeting",
        "restore",
        options=(
            MEETING,
            Option(
                "when",
                OptionType.STRING,
                "The date of a cancelled meeting, e.g. 2026-12-08, or all (the series)",
                max_length=20,
                autocomplete="complete_cancelled",
                shape=r"all|series|\d{4}-\d{1,2}-\d{1,2}",
            ),
        ),
        tier=Tier.FACILITATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
    )
    async def restore(self, ctx: Context, meeting: str, when: str) -> None:
        """Take back a cancellation (one date, or the whole series); the channel is told."""
        view = await self._managed(ctx, meeting)
        word = when.strip().lower()
        if word in ("all", "series"):
            await self.service.restore(view, ctx.actor.key, None)
            await ctx.reply(render.series_restored(view), ephemeral=True)
            return
        day = parse_date(word)
        # by the date it was planned for or the date it had moved to
        cancelled = view.cancelled_on(day.isoformat())
        if cancelled is None:
            raise UserError(
                render.no_cancelled_meeting_on(
                    title=escape_markdown(view.title), day=day.isoformat()
                )
            )
        _fresh, occ = await self.service.restore(view, ctx.actor.key, cancelled.occurrence)
        assert occ is not None
        await ctx.reply(render.occurrence_restored(view, occ), ephemeral=True)

    @command(
        "meeting",
        "delete",
        options=(
            MEETING,
            # named only (`confirm:yes`), so a meeting's name of several words keeps them all
            Option(
                "confirm",
                OptionType.STRING,
                "yes: delete although dates are to come or members RSVP'd",
                required=False,
                max_length=10,
                autocomplete="complete_confirm",
                known_only=True,
            ),
        ),
        tier=Tier.FACILITATOR,
        scope=Scope.COMMUNITY,
    )
    async def delete(self, ctx: Context, meeting: str, confirm: str | None = None) -> None:
        """Delete a meeting with its RSVPs; pending announcements are withdrawn. A meeting
        with dates to come or RSVPs is deleted only with `confirm:yes`: without it the answer
        says what would go and how to cancel all its dates instead, which can be undone."""
        view = await self._managed(ctx, meeting)
        if confirm is not None and confirm.strip().lower() not in CONFIRM_WORDS:
            raise UserError(render.confirm_word(word=escape_markdown(confirm[:10])))
        if confirm is None:
            dates, rsvps = await self.service.deletion_stakes(view)
            if dates != 0 or rsvps:
                raise UserError(render.delete_question(view, dates, rsvps, ctx.prefix))
        await self.service.remove(view, ctx.actor.key)
        await ctx.reply(render.deleted(view))

    async def complete_confirm(self, ctx: Context, partial: str) -> list[Choice]:
        """The one word that confirms deleting a meeting for good."""
        return [Choice("yes")]

    @command(
        "meeting",
        "list",
        options=(Option("page", OptionType.INTEGER, "Page number", required=False, min_value=1),),
        scope=Scope.MEMBER,
        ephemeral=True,
    )
    async def list_(self, ctx: Context, page: int = 1) -> None:
        """The next meetings here, in your own time zone."""
        size = self.service.config.page_size
        found = await self.service.upcoming(
            ctx.require_community().id, limit=size + 1, skip=(page - 1) * size
        )
        shown = render.upcoming(found[:size], page, len(found) > size, ctx.prefix)
        await ctx.reply(shown, ephemeral=True)

    @command("meeting", "info", options=(MEETING,), scope=Scope.MEMBER, ephemeral=True)
    async def info(self, ctx: Context, meeting: str) -> None:
        """Details of one meeting; only you see whether you RSVP'd."""
        view = await self._meeting(ctx, meeting)
        service = self.service
        names = await service._pseudonyms([view])
        nxt = view.next_occurrence(self.clock.now())
        going: int | None = None
        rsvped = False
        reminder = NO_REMINDER
        if nxt is not None:
            going = await service.rsvp_count(view, nxt.key)
            mine = await service.rsvps_of(view.id, ctx.actor.key)
            own = chosen_rsvps(mine, nxt.key).get(ctx.actor.key)
            if own is not None:
                rsvped = True
                reminder = await service.reminder_of(view, nxt, ctx.actor.key, own)
        shown = render.info(
            view,
            dict((c.value, c.display) for c in KIND_CHOICES).get(view.kind, view.kind),
            nxt,
            service.where_text(view),
            service.facilitator_text(view, names),
            going,
            reminder,
            rsvped,
            view.last_started(self.clock.now()) if nxt is None else None,
            self.clock.now(),
            script_gone=await self._script_gone(ctx, view),
            prefix=ctx.prefix,
        )
        await ctx.reply(shown, ephemeral=True)

    async def _script_gone(self, ctx: Context, view: MeetingView) -> bool:
        """Whether the meeting names a script the scripts part no longer has (never said
        while that part is off: then no script is offered at all)."""
        if not view.script:
            return False
        found = await self.suggestions.choices("script", ctx, view.script)
        if any(c.value.casefold() == view.script.casefold() for c in found):
            return False
        return bool(await self.suggestions.choices("script", ctx, ""))

    def _remind(self, reminder: str | None) -> int | None:
        """The reminder option as minutes before (None: no reminder): yes/no, a suggestion
        as shown, or a length (`30m`, `1h`, `90`) of at most a day. Raises UserError for a
        time of day (`19:00`, `7pm`) and for more than a day."""
        if reminder is None:
            return None
        word = " ".join(reminder.split()).lower()
        # a suggestion typed out as shown ("30 minutes before") means what picking it means
        word = next(
            (c.value for c in render.reminder_choices() if c.display.casefold() == word), word
        )
        if word in ("no", "off", "none", "false"):
            return None
        if word in ("yes", "on", "true"):
            return self.service.config.rsvp_remind_minutes
        if (time := clock_time_in(reminder)) is not None:
            # `rsvp Circle 2026-12-10 19:00`: a time of day, never "19 hours before"
            raise UserError(render.reminder_is_a_time(text=time))
        minutes: int = int(parse_duration(word).total_seconds()) // 60
        if minutes > 1440:
            raise UserError(render.reminder_too_early())
        return minutes

    @command(
        "meeting",
        "rsvp",
        options=(
            MEETING,
            Option(
                "when",
                OptionType.STRING,
                "next (default), a date such as 2026-12-08, or all",
                required=False,
                max_length=20,
                autocomplete="complete_when",
                shape=WHEN_SHAPE,
            ),
            Option(
                "reminder",
                OptionType.STRING,
                "yes (15 min before), no, or how long before, e.g. 1h",
                required=False,
                max_length=20,
                autocomplete="complete_reminder",
                shape=REMINDER_SHAPE,
            ),
        ),
        scope=Scope.MEMBER,
        ephemeral=True,
    )
    async def rsvp(
        self, ctx: Context, meeting: str, when: str = "next", reminder: str | None = None
    ) -> None:
        """Say privately that you plan to come; optionally get a DM reminder."""
        view = await self._meeting(ctx, meeting)
        remind = self._remind(reminder)
        occ: Occurrence | None = None
        if when.strip().lower() in ("all", "series"):
            if view.next_occurrence(self.clock.now()) is None:
                # the last date, under way: an RSVP to it (the series has no later one)
                occ = await self._occurrence(view, "next", under_way=True)
        else:
            occ = await self._occurrence(view, when, under_way=True)
        await self.service.rsvp(
            view, ctx.actor.key, occ.key if occ else "", remind, keep_reminder=reminder is None
        )
        await ctx.reply(await self._noted(view, occ, ctx.actor.key, ctx.prefix), ephemeral=True)

    async def _noted(
        self, view: MeetingView, occ: Occurrence | None, actor_key: str, prefix: str
    ) -> Message:
        """The answer to an RSVP just recorded (to `occ`, or the series when None), its
        reminder told as the planner treats it (`MeetingService.reminder_of`): for a series
        RSVP, on its next date."""
        now = self.clock.now()
        service = self.service
        if occ is not None:
            reminder = await service.reminder_of(view, occ, actor_key)
            return render.rsvp_noted(view, occ, reminder, prefix, under_way=occ.start <= now)
        series = next(
            (r for r in await service.rsvps_of(view.id, actor_key) if r.occurrence == ""), None
        )
        nxt = view.next_occurrence(now)
        reminder = NO_REMINDER
        later = False
        if nxt is not None and series is not None:
            reminder = await service.reminder_of(view, nxt, actor_key, series)
            later = view.next_occurrence(nxt.start + timedelta(seconds=1)) is not None
        return render.rsvp_noted(view, None, reminder, prefix, later=later)

    @command(
        "meeting",
        "unrsvp",
        options=(
            MEETING,
            Option(
                "when",
                OptionType.STRING,
                "A date such as 2026-12-08, or all (default)",
                required=False,
                max_length=20,
                autocomplete="complete_when",
                shape=WHEN_SHAPE,
            ),
        ),
        scope=Scope.MEMBER,
        ephemeral=True,
    )
    async def unrsvp(self, ctx: Context, meeting: str, when: str = "all") -> None:
        """Take back your RSVP (and its reminder)."""
        view = await self._meeting(ctx, meeting)
        occ: Occurrence | None = None
        if when.strip().lower() not in ("all", "series"):
            occ = await self._occurrence(view, when, under_way=True)
        removed = await self.service.unrsvp(view, ctx.actor.key, occ.key if occ else None)
        if not removed and occ is not None:
            own = await self.service.rsvps_of(view.id, ctx.actor.key)
            if any(r.occurrence == "" for r in own):
                # an RSVP to every meeting covers that date; one date alone cannot be taken back
                await ctx.reply(render.unrsvp_covers_all(view, occ), ephemeral=True)
                return
        await ctx.reply(render.unrsvp(view, occ, removed), ephemeral=True)

    @command(
        "meeting",
        "reminders",
        options=(
            Option(
                "setting",
                OptionType.CHOICE,
                "on or off for every meeting",
                choices=(Choice("on"), Choice("off")),
            ),
        ),
        ephemeral=True,
    )
    async def reminders(self, ctx: Context, setting: str) -> None:
        """Turn all meeting reminder DMs off (or back on)."""
        on = setting == "on"
        await self.service.set_reminders(ctx.actor.key, on)
        late = await self.service.reminders_too_late(ctx.actor.key) if on else []
        await ctx.reply(render.reminders(on, late), ephemeral=True)

    @command(
        "meeting",
        "ical",
        options=(
            Option(
                "meeting",
                OptionType.STRING,
                "One meeting (default: all meetings here)",
                required=False,
                autocomplete="complete",
                names="meeting_names",
            ),
        ),
        scope=Scope.MEMBER,
        ephemeral=True,
    )
    async def ical(self, ctx: Context, meeting: str | None = None) -> None:
        """A calendar file (.ics) for your calendar app."""
        community_id = ctx.require_community().id
        assert ctx.community is not None
        if meeting:
            views = [await self._meeting(ctx, meeting)]
            filename = f"meeting-{views[0].id}.ics"
        else:
            views = await self.service.all_in(community_id)
            filename = "meetings.ics"
        if not views:
            raise NotFound(render.no_meetings())
        data = ical.calendar(
            views,
            name=ctx.community.name,
            now=self.clock.now(),
            days=self.service.config.ical_days,
        )
        await ctx.reply(
            Message.of(
                render.calendar_caption(len(views)),
                attachment=Attachment(filename, data, "text/calendar"),
            ),
            ephemeral=True,
        )

    @command(
        "meeting",
        "ping",
        options=(
            MEETING,
            Option(
                "role",
                OptionType.ROLE,
                "The role to ping; leave out (or off) to stop",
                required=False,
                max_length=64,
            ),
        ),
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
    )
    async def ping(self, ctx: Context, meeting: str, role: str | None = None) -> None:
        """Opt a meeting's announcements into pinging a role (or off)."""
        view = await self._meeting(ctx, meeting)
        role = (role or "").strip()
        value = None if role.lower() in ("", "off", "none", "no") else role
        if value is not None and not re.fullmatch(r"[\w@:.!-]{1,64}", value):
            raise UserError(render.role_expected())
        note = await ctx.responder.ping_note(value) if value is not None else None
        await self.service.set_ping_role(view, ctx.actor.key, value)
        await ctx.reply(render.ping(view, value is not None) + (f"\n\n{note}" if note else ""))

    @command(
        "meeting",
        "announce",
        options=(
            Option(
                "offsets",
                OptionType.STRING,
                "When to announce, e.g. 24h,10m,0 (0 = at start), or default",
                max_length=100,
            ),
        ),
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
    )
    async def announce(self, ctx: Context, offsets: str) -> None:
        """Choose when meetings here are announced before they start."""
        community_id = ctx.require_community().id
        if offsets.strip().lower() == "default":
            minutes = None
        else:
            minutes = []
            # `19:00` or `7 pm` is when, not how long before: refused, never 19 hours before
            for typed in (*offsets.split(","), *offsets.split()):
                if (time := clock_time_in(typed)) is not None:
                    raise UserError(clock_time_refusal(time, "offsets"))
            for word in re.split(r"[\s,]+", offsets.strip()):
                if word == "0":
                    minutes.append(0)
                elif word:
                    minutes.append(int(parse_duration(word).total_seconds() // 60))
            if not minutes or len(minutes) > 5 or max(minutes) > 2 * 1440:
                raise UserError(render.reminders_expected())
            minutes = sorted(set(minutes), reverse=True)
        shown = minutes if minutes is not None else self.service.config.announce_minutes
        if sorted(shown, reverse=True) == sorted(
            await self.service.offsets(community_id), reverse=True
        ):
            # the same setting again: the channel already has the line; nothing is replanned
            raise UserError(render.already_announced(shown))
        await self.service.set_offsets(community_id, minutes)
        await ctx.reply(render.announced(shown))

    @command(
        "meeting",
        "events",
        options=(
            Option(
                "setting",
                OptionType.CHOICE,
                "on or off for every meeting here",
                choices=(Choice("on"), Choice("off")),
            ),
        ),
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
    )
    async def events(self, ctx: Context, setting: str) -> None:
        """Show meetings in the server's calendar (Discord's Events tab), or stop."""
        await self.service.set_events(ctx.require_community().id, ctx.actor.key, setting == "on")
        await ctx.reply(render.mirror_on() if setting == "on" else render.mirror_off())

    async def complete_script(self, ctx: Context, partial: str) -> list[Choice]:
        """The community's facilitator scripts, when the scripts cog runs (none otherwise)."""
        return await self.suggestions.choices("script", ctx, partial)

    async def complete_when(self, ctx: Context, partial: str) -> list[Choice]:
        """The next occurrences of the meeting already chosen in `meeting`, as dates in its
        zone (`2026-12-08`), shown with their start time."""
        ref = ctx.filled.get("meeting", "")
        if not ref or ctx.community is None:
            return []
        try:
            view = await self._meeting(ctx, ref)
        except UserError:
            return []
        now = self.clock.now()
        needle = partial.strip().casefold()
        found = []
        for occ in view.occurrences(now, now + timedelta(days=CHOICE_HORIZON_DAYS)):
            local = occ.start.astimezone(view.zone)
            label = render.occurrence_choice(local, view.timezone)
            if needle in label.casefold():
                found.append(Choice(local.date().isoformat(), label))
        return found[:25]

    async def complete_cancelled(self, ctx: Context, partial: str) -> list[Choice]:
        """The coming dates cancelled of the meeting already chosen in `meeting` (what
        `restore` can bring back)."""
        ref = ctx.filled.get("meeting", "")
        if not ref or ctx.community is None:
            return []
        try:
            view = await self._meeting(ctx, ref)
        except UserError:
            return []
        today = self.clock.now().astimezone(view.zone).date().isoformat()
        needle = partial.strip().casefold()
        days = sorted(
            day
            for c in view.changes
            if c.status == "cancelled" and (day := c.local_days(view.zone)[0]) >= today
        )
        return [Choice(d) for d in days if needle in d][:25]

    async def complete_reminder(self, ctx: Context, partial: str) -> list[Choice]:
        """No reminder, 15 or 30 minutes, an hour or a day before; what was typed is offered
        too when it reads as a duration, since any duration up to a day is taken."""
        needle = partial.strip().casefold()
        offered = [c for c in render.reminder_choices() if needle in c.display.casefold()]
        if needle and not offered:
            try:
                self._remind(partial)
            except (UserError, ValueError):
                return []
            return [Choice(partial.strip()[:20])]
        return offered

    async def check_meeting(self, ctx: Context, ref: str) -> None:
        """Raise the `UserError` `find` gives when `ref` names no meeting here, or several."""
        await self._meeting(ctx, ref)

    async def meeting_names(self, ctx: Context, partial: str) -> list[Choice]:
        """Every meeting title of this community (cancelled ones too, as `find` knows them),
        so an unquoted title of several words is read as one meeting; `partial` is unused."""
        if ctx.community is None:
            return []
        return [Choice(v.title) for v in await self.service.all_in(ctx.community.id)]

    async def complete(self, ctx: Context, partial: str) -> list[Choice]:
        """Suggest meetings of this community by name."""
        if ctx.community is None:
            return []
        return [
            Choice(f"#{v.id}", f"{v.title} (#{v.id})"[:100])
            for v in await self.service.suggest(ctx.community.id, partial)
        ]


__all__ = ["MeetingsCog", "local_key"]
