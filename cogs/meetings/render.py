"""The words of the meetings cog: how its facts read to members."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from babel.lists import format_list

from bot.core import (
    Choice,
    Command,
    Message,
    Part,
    When,
    _,
    current_language,
    escape_markdown,
    fill_parts,
    ngettext,
)
from cogs.meetings import recurrence
from cogs.meetings.kinds import kind_label
from cogs.meetings.recurrence import Occurrence
from cogs.meetings.service import Fate, MeetingView, Reminder
from cogs.meetings.words import span, too_soon


def announced(offsets_minutes: list[int]) -> str:
    """When announcements go out: `Meetings here are announced 1 day before, 1 hour before
    and when they start.`"""
    moments = [
        _("when they start") if m == 0 else _("{span} before").format(span=span(m))
        for m in sorted(offsets_minutes, reverse=True)
    ]
    listed = format_list(moments, locale=current_language().replace("-", "_"))
    return _("Meetings here are announced {moments}.").format(moments=listed)


def already_announced(offsets_minutes: list[int]) -> str:
    """The answer to setting the announcement times they already have: the same line as
    `announced`, and that nothing changed."""
    return announced(offsets_minutes) + " " + _("That is the setting already; nothing changed.")


def length(duration_minutes: int) -> str:
    """A meeting's length as people say it: `30 minutes`, `1 hour`, `1 hour 30 minutes`."""
    hours, minutes = divmod(duration_minutes, 60)
    said_hours = ngettext("{n} hour", "{n} hours", hours).format(n=hours)
    said_minutes = ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    if not hours:
        return said_minutes
    if not minutes:
        return said_hours
    return _("{hours} {minutes}").format(hours=said_hours, minutes=said_minutes)


def info(
    view: MeetingView,
    kind: str,
    nxt: Occurrence | None,
    where: str,
    facilitators: str,
    going: int | None,
    reminder: Reminder,
    rsvped: bool,
    last: Occurrence | None = None,
    now: datetime | None = None,
    script_gone: bool = False,
    prefix: str = "!",
) -> Message:
    """`meeting info`: one meeting's details; whether the reader RSVP'd is theirs alone.

    `reminder`: the reader's reminder for the next date; a reminder is shown as coming only
    when it is `promised`. Without a next occurrence, `last` (the latest one that took place,
    `last_started`) says the meeting is over, or under way when it has not ended by `now`
    (aware UTC). `script_gone`: the meeting's script no longer exists (said, with how to pick
    another)."""
    parts: list[Part] = [f"**{escape_markdown(view.title)}** (#{view.id}), {kind}"]
    if view.cancelled:
        parts.append("\n" + _("This series is cancelled."))
        if view.cancel_note:
            parts.append(" " + _("Note: {note}").format(note=escape_markdown(view.cancel_note)))
    if nxt is not None:
        parts.extend(["\n" + _("Next: "), When(nxt.start)])
        if nxt.moved_from is not None:
            parts.extend([" " + _("(moved from "), When(nxt.moved_from), ")"])
    elif not view.cancelled:
        parts.extend(["\n", *_over(view, last, now)])
    parts.append(
        "\n"
        + _("Repeats: {rule}, at {time} {zone}").format(
            rule=recurrence.describe(view.rrule),
            time=view.start_local.strftime("%H:%M"),
            zone=view.timezone,
        )
    )
    parts.append("\n" + _("Length: {length}").format(length=length(view.duration_minutes)))
    parts.append("\n" + _("Where: {where}").format(where=where))
    parts.append("\n" + _("Facilitator: {names}").format(names=facilitators))
    if view.script and script_gone:
        parts.append(
            "\n"
            + _(
                "Script: {name}, which no longer exists here. Give the meeting another with "
                "`{prefix}meeting edit #{id} script:NAME`."
            ).format(name=escape_markdown(view.script), prefix=prefix, id=view.id)
        )
    elif view.script:
        parts.append("\n" + _("Script: {name}").format(name=escape_markdown(view.script)))
    if going is not None:
        parts.append("\n" + _("Planning to come next time: {n}").format(n=going))
    if rsvped:
        parts.append("\n" + _own_rsvp(reminder))
    for change in view.changes:
        if change.status == "cancelled" and change.new_start is not None:
            parts.extend(
                [
                    "\n"
                    + _("- {date}: cancelled (it had moved to ").format(
                        date=change.occurrence[:10]
                    ),
                    When(change.new_start),
                    ")",
                ]
            )
        elif change.status == "cancelled":
            parts.append("\n" + _("- {date}: cancelled").format(date=change.occurrence[:10]))
        elif change.new_start is not None:
            parts.extend(
                [
                    "\n" + _("- {date}: moved to ").format(date=change.occurrence[:10]),
                    When(change.new_start),
                ]
            )
    return Message.of(*parts)


def _own_rsvp(reminder: Reminder) -> str:
    """`meeting info`'s line for the reader's own RSVP and what becomes of its reminder."""
    minutes = span(reminder.minutes)
    if reminder.fate is Fate.COMING:
        return _("You RSVP'd (only you see this); a reminder {span} before.").format(span=minutes)
    if reminder.fate is Fate.OFF:
        return _("You RSVP'd (only you see this); your reminder DMs are off.")
    if reminder.fate is Fate.NONE:
        return _("You RSVP'd (only you see this).")
    return _(
        "You RSVP'd (only you see this); the time for a reminder {span} before has passed, so "
        "none will come."
    ).format(span=minutes)


def _over(view: MeetingView, last: Occurrence | None, now: datetime | None) -> list[Part]:
    """The line `info` shows in place of `Next:` for a meeting with no date to come."""
    if last is None:
        return [_("No date is coming up.")]
    if now is not None and last.start + view.duration > now:
        return [_("Happening now: it began "), When(last.start), "."]
    if not view.rrule:
        return [_("This meeting is over: it took place on "), When(last.start), "."]
    return [_("This series is over: the last meeting took place on "), When(last.start), "."]


def upcoming(
    found: Sequence[tuple[MeetingView, Occurrence]], page: int, more: bool, prefix: str
) -> Message:
    """`meeting list`: the next meetings, each in the reader's own zone."""
    if not found:
        if page == 1:
            return Message.of(_("No meetings are coming up here."))
        return Message.of(_("There is no page {page}.").format(page=page))
    parts: list[Part] = [_("Coming up (page {page}):").format(page=page)]
    for view, occ in found:
        parts.extend(
            [
                "\n- ",
                When(occ.start),
                f" **{escape_markdown(view.title)}** (#{view.id}), {kind_label(view.kind)}",
            ]
        )
        if occ.moved_from is not None:
            parts.append(" " + _("(moved)"))
    if more:
        parts.append(
            "\n" + _("More: `{prefix}meeting list {page}`").format(prefix=prefix, page=page + 1)
        )
    return Message.of(*parts)


def rsvp_noted(
    view: MeetingView,
    occurrence: Occurrence | None,
    reminder: Reminder,
    prefix: str,
    under_way: bool = False,
    later: bool = False,
) -> Message:
    """The private answer to an RSVP: to which meeting (or the whole series), and the DM.

    `reminder`: what becomes of its reminder DM (for a series RSVP, on the next date; `later`:
    a date follows that one); a DM is promised only when it is `promised`. `under_way`: the
    occurrence has begun and not ended."""
    title = escape_markdown(view.title)
    what: list[Part] = (
        [_("every **{title}**").format(title=title)]
        if occurrence is None
        else [_("**{title}** on ").format(title=title), When(occurrence.start)]
    )
    parts: list[Part] = [_("Noted: you plan to come to "), *what, "."]
    if under_way:
        parts.append(" " + _("It is under way now."))
    parts.append(" " + _("Only you see this; others see a count."))
    fate = reminder.fate
    if fate is Fate.NONE:
        pass
    elif fate is Fate.COMING:
        parts.append(" " + _("I'll DM you {span} before.").format(span=span(reminder.minutes)))
    elif under_way:
        parts.append(" " + _("It has begun, so there is no reminder for it."))
    elif fate is Fate.OFF:
        parts.append(
            " "
            + _("Reminders are off; `{prefix}meeting reminders on` brings them back.").format(
                prefix=prefix
            )
        )
    elif reminder.start is not None:
        if occurrence is None and later:
            parts.extend(
                fill_parts(
                    " "
                    + _(
                        "The next one starts {when}, too soon for a reminder {span} before; I'll "
                        "DM you {span} before the ones after it."
                    ),
                    {"when": [When(reminder.start, "relative")], "span": [span(reminder.minutes)]},
                )
            )
        else:
            parts.extend([" ", *too_soon(reminder.start, reminder.minutes)])
    return Message.of(*parts)


def interested_note(platform: str) -> str:
    """After an RSVP by button: who sees it, and on Discord how "Interested" differs."""
    if platform == "discord":
        return _(
            "Marking the event Interested on the Events tab counts as an RSVP too, but "
            "Discord shows everyone who is interested; an RSVP here stays private."
        )
    if platform == "matrix":
        return _(
            "The post shows only a count. A reaction is seen in the room until it is removed "
            "(I remove it when the room lets me); typed in a DM with me, an RSVP is seen by "
            "nobody."
        )
    return _("Nobody else sees who RSVP'd; the post shows only a count.")


def rsvp_skipped(removed: bool, series: bool, meeting_id: int, prefix: str) -> str:
    """After "Not this time": the occurrence's RSVP went (or there was none)."""
    said = (
        _("Noted: not this time. Your RSVP for it is removed.")
        if removed
        else _("Noted: not this time.")
    )
    if series:
        said += " " + _(
            "You are still down for every meeting of the series; "
            "`{prefix}meeting unrsvp {id} all` takes that back."
        ).format(id=meeting_id, prefix=prefix)
    return said


def rsvp_meeting_gone() -> str:
    """An RSVP button of a meeting that was deleted."""
    return _("That meeting no longer exists, so there is nothing to RSVP to.")


def rsvp_series_ended(title: str) -> str:
    """An RSVP button of a series that was ended."""
    return _("**{title}** has ended; there is nothing more to RSVP to.").format(title=title)


def rsvp_occurrence_cancelled(title: str) -> str:
    """An RSVP button of an occurrence that was cancelled."""
    return _("That **{title}** was cancelled, so your RSVP was not recorded.").format(title=title)


def rsvp_occurrence_gone(title: str, prefix: str) -> str:
    """An RSVP button of an occurrence that no longer takes place at that time."""
    return _(
        "That **{title}** no longer takes place as announced; see `{prefix}meeting info` for "
        "the next one."
    ).format(title=title, prefix=prefix)


def rsvp_occurrence_over(title: str) -> str:
    """An RSVP button on the post of a meeting that is over."""
    return _(
        "That **{title}** is over; the buttons on the next announcement are for the next one."
    ).format(title=title)


def summary(
    verb: str, view: MeetingView, nxt: Occurrence | None, note: str | None = None
) -> Message:
    """After scheduling or editing: what was done, the rule, the next time, the zone, and
    `note` (why the first meeting is later than the start typed, `interval_warning`)."""
    parts: list[Part] = [
        _("{verb} **{title}** (#{id}), {rule}.").format(
            verb=verb,
            title=escape_markdown(view.title),
            id=view.id,
            rule=recurrence.describe(view.rrule),
        )
    ]
    if nxt is not None:
        parts.extend(["\n" + _("Next: "), When(nxt.start)])
    parts.append(
        "\n"
        + _("The time stays {time} {zone}, also when clocks change.").format(
            time=view.start_local.strftime("%H:%M"), zone=view.timezone
        )
    )
    if warning := recurrence.skip_warning(view.rrule, view.start_local):
        parts.append("\n" + warning)
    if note:
        parts.append("\n" + note)
    return Message.of(*parts)


def series_cancelled(view: MeetingView, prefix: str) -> str:
    """A whole series cancelled, and how to undo it."""
    return _(
        "**{title}** is cancelled for good; nothing more will be announced. The "
        "channel was told. `{prefix}meeting restore #{id} all` undoes it."
    ).format(title=escape_markdown(view.title), prefix=prefix, id=view.id)


def occurrence_cancelled(view: MeetingView, occ: Occurrence, prefix: str) -> Message:
    """One meeting cancelled, and how to undo it."""
    return Message.of(
        _("Cancelled **{title}** on ").format(title=escape_markdown(view.title)),
        When(occ.start),
        ". "
        + _("The channel was told. `{prefix}meeting restore #{id} {day}` undoes it.").format(
            prefix=prefix, id=view.id, day=occ.start.astimezone(view.zone).date().isoformat()
        ),
    )


def moved(view: MeetingView, occ: Occurrence, new_start: datetime) -> Message:
    """One meeting moved to another time."""
    return Message.of(
        _("Moved **{title}** from ").format(title=escape_markdown(view.title)),
        When(occ.start),
        _(" to "),
        When(new_start),
        ". " + _("The channel was told."),
    )


def series_restored(view: MeetingView) -> str:
    """A cancelled series meets again."""
    return _("**{title}** meets again; announcements are planned as before.").format(
        title=escape_markdown(view.title)
    )


def occurrence_restored(view: MeetingView, occ: Occurrence) -> Message:
    """A cancelled meeting takes place again."""
    return Message.of(
        _("**{title}** on ").format(title=escape_markdown(view.title)),
        When(occ.start),
        " " + _("takes place again. The channel was told."),
    )


def deleted(view: MeetingView) -> str:
    """A meeting deleted with its RSVPs."""
    return _("Deleted **{title}** (#{id}).").format(title=escape_markdown(view.title), id=view.id)


def delete_question(view: MeetingView, dates: int | None, rsvps: int, prefix: str) -> str:
    """Asked before a meeting with dates to come (`dates`; None: a series with no end) or
    RSVPs is deleted: what would go for good, how to go ahead, and the choice that can be
    undone (cancelling the series) while it is not cancelled already."""
    title = escape_markdown(view.title)
    if dates is None:
        what = _("every date to come (it repeats with no end)")
    elif dates:
        what = ngettext("its {n} date to come", "its {n} dates to come", dates).format(n=dates)
    else:
        what = _("no date to come")
    said_rsvps = (
        ngettext("{n} RSVP", "{n} RSVPs", rsvps).format(n=rsvps) if rsvps else _("no RSVPs")
    )
    lines = [
        _(
            "Deleting **{title}** (#{id}) removes {what} and {rsvps} for good; it cannot be "
            "undone. Nothing was changed."
        ).format(title=title, id=view.id, what=what, rsvps=said_rsvps),
        _("To delete it: `{prefix}meeting delete #{id} confirm:yes`").format(
            prefix=prefix, id=view.id
        ),
    ]
    if not view.cancelled:
        lines.append(
            _(
                "To stop it and keep the choice to bring it back: `{prefix}meeting cancel #{id} "
                "all` (undone by `{prefix}meeting restore #{id} all`)."
            ).format(prefix=prefix, id=view.id)
        )
    return "\n".join(lines)


def confirm_word(word: object) -> str:
    return _("`confirm` takes yes, not `{word}`. Nothing was changed.").format(word=word)


def ping(view: MeetingView, on: bool) -> str:
    """Whether a meeting's announcements ping a role."""
    title = escape_markdown(view.title)
    if on:
        return _("Announcements of **{title}** will ping that role.").format(title=title)
    return _("Announcements of **{title}** ping nobody.").format(title=title)


def unrsvp(view: MeetingView, occurrence: Occurrence | None, removed: int) -> Message:
    """An RSVP taken back (`removed` of them), or none to take back: to which meeting and
    date (`occurrence`; None: every RSVP to the meeting)."""
    title = escape_markdown(view.title)
    if occurrence is None:
        if removed:
            return Message.of(
                _("Your RSVP to **{title}** is removed, with its reminder.").format(title=title)
            )
        return Message.of(_("You had no RSVP to **{title}**.").format(title=title))
    template = (
        _("Your RSVP to **{title}** on {when} is removed, with its reminder.")
        if removed
        else _("You had no RSVP to **{title}** on {when}.")
    )
    return Message.of(*fill_parts(template, {"title": [title], "when": [When(occurrence.start)]}))


def unrsvp_covers_all(view: MeetingView, occurrence: Occurrence) -> Message:
    """One date taken back by a member whose RSVP is to every meeting of the series: it
    stays, and how to change it."""
    template = _(
        "Your RSVP to **{title}** is for every meeting, so it still covers {when}; nothing "
        "changed. To take it back, use {command}, then RSVP to the dates you plan to come to."
    )
    return Message.of(
        *fill_parts(
            template,
            {
                "title": [escape_markdown(view.title)],
                "when": [When(occurrence.start)],
                "command": [Command(f'meeting unrsvp "{view.title}" all')],
            },
        )
    )


def reminders(on: bool, too_late: Sequence[tuple[MeetingView, Reminder]] = ()) -> Message:
    """Reminder DMs switched on or off for every meeting; switched on, `too_late` names the
    next dates whose reminder came due before that (`MeetingService.reminders_too_late`)."""
    if not on:
        return Message.of(_("No more meeting reminder DMs. Your RSVPs stay."))
    parts: list[Part] = [
        _("Meeting reminders are on for the meetings you RSVP'd with a reminder.")
    ]
    for view, reminder in too_late:
        if reminder.start is not None:
            parts.extend(
                ["\n", *too_soon(reminder.start, reminder.minutes, escape_markdown(view.title))]
            )
    return Message.of(*parts)


# The cog's replies: errors, questions and confirmations, each in the reader's language
# (cog.py only chooses which one to send).


def two_zones() -> str:
    return _("The start names one zone and `zone` another; give just one.")


def repeat_empty() -> str:
    return _("That repeat never produces a meeting.")


def not_your_meeting() -> str:
    return _("Only a moderator or one of this meeting's facilitators can change it.")


def named_facilitator_below_tier(
    command: object, tier: object, start: object, before_minutes: int, after_minutes: int
) -> str:
    """A meeting's named facilitator, without the facilitator role, refused a command on that
    meeting that needs a tier: what the command needs and what they can do instead (run its
    script from `before_minutes` before an occurrence starts until `after_minutes` after it
    ends, with `start`, the command that starts it)."""
    return _(
        "`{command}` needs the {tier} role. As this meeting's named facilitator you can run "
        "its script, with the step timer and the speaking queue, from {before} before it "
        "starts until {after} after it ends: `{start}`. To change the meeting itself, ask a "
        "moderator."
    ).format(
        command=command,
        tier=tier,
        start=start,
        before=length(before_minutes),
        after=length(after_minutes),
    )


def named_facilitator_nothing_to_run(command: object, tier: object) -> str:
    """The same refusal for a meeting with no occurrence to come (cancelled or over): there is
    no script to offer."""
    return _(
        "`{command}` needs the {tier} role, and this meeting has no date to come for you to "
        "run. To change the meeting itself, ask a moderator."
    ).format(command=command, tier=tier)


def https_expected() -> str:
    return _("Please give an https link for the location.")


def read_as(typed: object, time: object, zone: object, name: object) -> str:
    """How a typed start was read; the zone's name once when its label is the same (UTC)."""
    if str(zone) == str(name):
        return _("I read `{typed}` as {time} {zone}.").format(typed=typed, time=time, zone=zone)
    return _("I read `{typed}` as {time} {zone} ({name}).").format(
        typed=typed, time=time, zone=zone, name=name
    )


def reminder_too_early() -> str:
    return _("A reminder can be at most 24 hours before.")


def reminder_is_a_time(text: object) -> str:
    """A time of day typed where the reminder goes (`rsvp Circle 2026-12-10 19:00`)."""
    return _(
        "`{text}` is a time of day, not how long before to remind you, so nothing was noted. "
        "The date alone picks the meeting; for a reminder say how long before, e.g. 30m or 1h."
    ).format(text=text)


def no_meetings() -> str:
    return _("There are no meetings here yet.")


def no_such_script(name: object, prefix: object) -> str:
    """A meeting's script that names none of the community's scripts."""
    return _(
        "There is no script called `{name}` here, so nothing was saved. "
        "`{prefix}script list` shows the scripts you can name."
    ).format(name=name, prefix=prefix)


def role_expected() -> str:
    return _("Give the role's id, or off.")


def time_of_day_missing(text: object) -> str:
    return _("`{text}` needs a time of day too, such as `{text} 19:00` or `tomorrow 7pm`.").format(
        text=text
    )


def repeat_time_missing(text: object) -> str:
    return _("`{text}` says how often but not at what time; add one, e.g. `{text} 7pm`.").format(
        text=text
    )


def year_out_of_range(low: object, high: object) -> str:
    return _("Please pick a date between the years {low} and {high}.").format(low=low, high=high)


def no_such_month(month: object) -> str:
    return _("There is no month {month}.").format(month=month)


def no_such_day(year: object, month: object, day: object, n: object) -> str:
    return _(
        "{year}-{month:02d}-{day:02d} is not on the calendar: that month has {n} days."
    ).format(year=year, month=month, day=day, n=n)


def not_a_date(text: object) -> str:
    return _("`{text}` is not a date. Use the form 2027-06-30.").format(text=text)


def link_incomplete() -> str:
    return _("That link does not look complete.")


def already_cancelled() -> str:
    return _("That meeting is already cancelled.")


def scheduled_heading() -> str:
    return _("Scheduled")


def last_facilitator() -> str:
    return _("A meeting keeps at least one facilitator.")


def updated_heading() -> str:
    return _("Updated")


def edit_names_nothing(command: object, help_command: object) -> str:
    """`meeting edit` given a meeting and nothing to change in it (`command`: the edit of
    that meeting as typed here; `help_command`: its help)."""
    return _(
        'Nothing was changed: say what to change, e.g. `{command} title:"New name"` or '
        "`{command} duration:90m`. `{help}` lists everything you can change."
    ).format(command=command, help=help_command)


def edit_changes_nothing(title: object) -> str:
    """`meeting edit` whose values are the ones the meeting already has."""
    return _("**{title}** already has those details, so nothing was changed.").format(title=title)


def series_already_cancelled() -> str:
    return _("That series is already cancelled.")


def reminders_expected() -> str:
    return _("Give one to five times, each at most 48h before the start.")


def mirror_on() -> str:
    return _("Each meeting's next time is shown in this community's calendar, where it has one.")


def mirror_off() -> str:
    return _("Meetings are no longer shown in this community's calendar.")


def no_such_time(hour: object, minute: object) -> str:
    return _("{hour:02d}:{minute:02d} is not a time of day.").format(hour=hour, minute=minute)


def cannot_announce(channel: object, reason: object) -> str:
    return _("I can't post announcements in {channel}, so nothing was saved. {reason}").format(
        channel=channel, reason=reason
    )


def channel_not_found(where: object) -> str:
    return _(
        "I could not find the channel `{where}` here. Give a channel or an https link."
    ).format(where=where)


def no_meeting_on(title: object, day: object) -> str:
    return _("**{title}** has no upcoming meeting on {day}.").format(title=title, day=day)


def time_skipped(time: object, zone: object) -> str:
    return _("{time} does not exist in {zone}: the clocks jump forward then.").format(
        time=time, zone=zone
    )


def no_cancelled_meeting_on(title: object, day: object) -> str:
    return _("**{title}** has no cancelled meeting on {day}.").format(title=title, day=day)


def no_upcoming_meeting(title: object) -> str:
    return _("**{title}** has no upcoming meeting.").format(title=title)


def calendar_caption(n: int) -> str:
    return ngettext(
        "Here is the calendar ({n} meeting). Times carry their zone.",
        "Here is the calendar ({n} meetings). Times carry their zone.",
        n,
    ).format(n=n)


def occurrence_choice(local: datetime, zone: str) -> str:
    """One date offered for a meeting option: `2026-12-08 19:00 (Europe/London)`."""
    return f"{local:%Y-%m-%d %H:%M} ({zone})"[:100]


def reminder_choices() -> list[Choice]:
    """The reminders offered for an RSVP; any other duration up to a day is taken as well."""
    return [
        Choice("no", _("no reminder")),
        Choice("15m", _("15 minutes before")),
        Choice("30m", _("30 minutes before")),
        Choice("1h", _("1 hour before")),
        Choice("1d", _("1 day before")),
    ]
