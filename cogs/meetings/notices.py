"""What members who RSVP'd are told privately when a date they planned to attend changes.

Every change to a meeting's dates (one date cancelled, moved or restored; the series edited to
another time, cancelled, restored or deleted) hands the meeting as it was and as it is now, with
the RSVPs of both moments, to `notices`. It compares, for each member, the dates they RSVP'd to
(one occurrence, or every one for a series RSVP) and returns one notice per member who had a
future date affected: what changed, each date named as a `When` so every reader sees it in
their own time zone, and the moderator's note. Dates already begun are never mentioned.

Members who turned reminder DMs off are told as well: such a notice is not a reminder, and
without it they would go to a meeting that does not take place.

A date that now takes place too soon for the reminder a member asked for, which was still to
come before the change (or the date was cancelled), says so after its line (`too_soon`): the
reminder the RSVP's answer promised will not come.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from bot.core import Command, Part, When, _, escape_markdown, fill_parts
from cogs.meetings import recurrence
from cogs.meetings.recurrence import Occurrence
from cogs.meetings.words import too_soon

Lost = Callable[[str, Occurrence | None, Occurrence], int | None]
"""(actor key, a date as it was or None, the date as it takes place now) -> the minutes of that
member's reminder for it that will not come though it was still to come before the change
(None: nothing to tell). `MeetingService._tell` answers it by `reminder_fate`."""


class Dated(Protocol):
    """An exception of a meeting (`service.Change`): the occurrence key it is about."""

    @property
    def occurrence(self) -> str: ...


class MeetingView(Protocol):
    """What is read here of a meeting (`service.MeetingView`; the service imports this
    module, so the shape is named here)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def start_local(self) -> datetime: ...
    @property
    def timezone(self) -> str: ...
    @property
    def rrule(self) -> str: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def changes(self) -> Sequence[Dated]: ...
    def change(self, occurrence: str) -> object:
        """The exception for one occurrence, if any (compared, never read)."""

    def next_occurrence(self, now: datetime) -> Occurrence | None:
        """The next occurrence that starts at or after `now`."""


class RsvpView(Protocol):
    """What is read here of an RSVP (`service.RsvpView`)."""

    @property
    def id(self) -> int: ...
    @property
    def actor_key(self) -> str: ...
    @property
    def occurrence(self) -> str: ...


V = TypeVar("V", bound=MeetingView)


@dataclass(frozen=True)
class Notice:
    """One member's private notice about one change.

    `rsvp_id`: the member's lowest RSVP id for the meeting (part of the outbox key, so the
    notice is promised once); `scope`: the one occurrence key it is about, or "series".
    """

    actor_key: str
    rsvp_id: int
    scope: str
    parts: tuple[Part, ...]


def notices(
    before: V,
    rsvps_before: Sequence[RsvpView],
    after: V | None,
    rsvps_after: Sequence[RsvpView],
    now: datetime,
    note: str,
    find: Callable[[V, str], Occurrence | None],
    lost: Lost | None = None,
) -> list[Notice]:
    """The notices one change calls for, one per member at most (sorted by actor key).

    `after` is None when the meeting was deleted; `find` gives the occurrence with a key as
    it takes place in a view (`MeetingService.occurrence_of`). `now` is aware UTC; a date
    starting at or before it is in the past (or under way) and never mentioned. `lost` tells
    which reminders a date as it takes place now leaves out (see `Lost`; None: none). Call
    inside the community's language (`using_language`): the text is written here.
    """
    if before.cancelled and (after is None or after.cancelled):
        return []  # nothing took place before, nothing takes place now
    title = escape_markdown(before.title if after is None else after.title)
    mine: dict[str, list[RsvpView]] = {}
    for r in rsvps_before:
        mine.setdefault(r.actor_key, []).append(r)
    after_key = {r.id: r.occurrence for r in rsvps_after}
    ended = after is None or (after.cancelled and not before.cancelled)
    restored = after is not None and before.cancelled and not after.cancelled
    schedule_changed = after is not None and (
        (before.start_local, before.timezone, before.rrule)
        != (after.start_local, after.timezone, after.rrule)
    )
    changed_keys = (
        []
        if after is None
        else sorted(
            k
            for k in {c.occurrence for c in (*before.changes, *after.changes)}
            if before.change(k) != after.change(k)
        )
    )
    found: list[Notice] = []
    for actor_key, rsvps in sorted(mine.items()):
        series = any(r.occurrence == "" for r in rsvps)
        lines: list[tuple[str, list[Part]]] = []
        if ended or restored:
            view = before if ended else after
            assert view is not None
            if series and view.next_occurrence(now) is not None:
                line = _series_line(title, ended, view, now)
                if restored:
                    line += _reminder(lost, actor_key, None, view.next_occurrence(now))
                lines.append(("series", line))
            else:
                for r in rsvps:
                    occ = find(view, r.occurrence) if r.occurrence else None
                    if occ is not None and occ.start > now:
                        line = _date_line(title, occ, None, ended)
                        if restored:
                            line += _reminder(lost, actor_key, None, occ)
                        lines.append((r.occurrence, line))
        elif after is not None:
            if series and schedule_changed:
                old, new = before.next_occurrence(now), after.next_occurrence(now)
                same = old is not None and new is not None and old.start == new.start
                if (old is not None or new is not None) and not (same and not after.rrule):
                    line = _schedule_line(title, after, old, new)
                    if not same:
                        line += _reminder(lost, actor_key, old, new)
                    lines.append(("series", line))
            else:
                pairs = [(r.occurrence, after_key.get(r.id)) for r in rsvps if r.occurrence]
                if series:
                    own = {b for b, _a in pairs}
                    pairs += [(k, k) for k in changed_keys if k not in own]
                for old_key, new_key in pairs:
                    if new_key is None:
                        continue  # that RSVP went with the change (two met on one date)
                    b = find(before, old_key)
                    a = find(after, new_key)
                    compared = _compared(title, b, a, now)
                    if compared is not None:
                        lines.append((new_key, compared + _reminder(lost, actor_key, b, a)))
        if not lines:
            continue
        parts: list[Part] = []
        for i, (_scope, line) in enumerate(lines):
            parts.extend(["\n" if i else "", *line])
        if note:
            parts.append("\n" + _("Note: {note}").format(note=escape_markdown(note)))
        parts.append("\n" + _("You are told because you RSVP'd; nobody else sees your RSVP."))
        if after is not None:  # a deleted meeting has nothing more to show
            parts.append(" ")
            parts.extend(
                fill_parts(
                    _("{command} shows the meeting."),
                    {"command": [Command(f"meeting info {before.id}")]},
                )
            )
        scope = lines[0][0] if len(lines) == 1 else "series"
        found.append(
            Notice(actor_key, min(r.id for r in rsvps), scope, tuple(p for p in parts if p))
        )
    return found


def _reminder(
    lost: Lost | None, actor_key: str, was: Occurrence | None, now_at: Occurrence | None
) -> list[Part]:
    """The words after a date's line when the member's reminder for it, as it takes place now
    (`now_at`; it was `was`), will not come (`Lost`); nothing otherwise."""
    if lost is None or now_at is None:
        return []
    minutes = lost(actor_key, was, now_at)
    return [] if minutes is None else [" ", *too_soon(now_at.start, minutes)]


def _compared(
    title: str, b: Occurrence | None, a: Occurrence | None, now: datetime
) -> list[Part] | None:
    """The line for one date as it was (`b`) and is (`a`); None when nothing a member would
    notice changed, or the date is past."""
    if b is None:
        return None if a is None or a.start <= now else _date_line(title, a, None, False)
    if b.start <= now:
        return None
    if a is None:
        return _date_line(title, b, None, True)
    return None if b.start == a.start else _date_line(title, b, a, False)


def _date_line(
    title: str, occ: Occurrence, moved_to: Occurrence | None, cancelled: bool
) -> list[Part]:
    """`**Circle** on <date> is cancelled.` / `... moves to <date>.` / `... takes place
    after all.`"""
    values: dict[str, list[Part]] = {"title": [title], "when": [When(occ.start)]}
    if moved_to is not None:
        values["new"] = [When(moved_to.start)]
        return fill_parts(_("**{title}** on {when} moves to {new}."), values)
    if cancelled:
        return fill_parts(_("**{title}** on {when} is cancelled. You had RSVP'd to it."), values)
    return fill_parts(
        _("**{title}** on {when} takes place after all. You had RSVP'd to it."), values
    )


def _series_line(title: str, ended: bool, view: MeetingView, now: datetime) -> list[Part]:
    """A series RSVP's line when the series ends or is restored (`view`: as it takes place)."""
    if ended:
        return [
            _("**{title}** will not meet any more. You had RSVP'd to every meeting.").format(
                title=title
            )
        ]
    nxt = view.next_occurrence(now)
    assert nxt is not None
    return fill_parts(
        _("**{title}** meets again, as before; the next one is {when}."),
        {"title": [title], "when": [When(nxt.start)]},
    )


def _schedule_line(
    title: str, after: MeetingView, old: Occurrence | None, new: Occurrence | None
) -> list[Part]:
    """A series RSVP's line when the meeting's time or repeat was edited."""
    if not after.rrule and old is not None and new is not None:
        return _date_line(title, old, new, False)
    if new is None:
        return [_("**{title}** has no date coming up any more.").format(title=title)]
    values: dict[str, list[Part]] = {"title": [title], "when": [When(new.start)]}
    if not after.rrule:
        return fill_parts(_("**{title}** has a new time: {when}."), values)
    values["rule"] = [recurrence.describe(after.rrule)]
    return fill_parts(
        _("**{title}** has a new time: it repeats {rule}; the next one is {when}."), values
    )
