"""What one cog offers another, named and typed.

A cog never imports another cog. When it needs something another cog has (scripts asks the
meetings cog who facilitates), the need is a protocol here. The providing cog declares it by
inheriting the protocol (`class MeetingsCog(Cog, MeetingSchedule)`), so mypy checks every
method's signature against it; the using cog asks for it by type in its constructor:

    def __init__(self, config: ScriptsConfig | None = None, *, clock: Clock,
                 meetings: MeetingSchedule | None = None) -> None:

The loader passes the enabled cog that provides it. A need typed `X | None` is optional (the
cog works without it and says what it does then); a need typed `X` is required, and loading
stops with `MissingProvider`, naming the cog, the need and the cogs that would provide it.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Union, get_args, get_origin, get_type_hints, runtime_checkable


@dataclass(frozen=True)
class ScheduledMeeting:
    """A meeting as the scripts part sees it.

    `script` is the script name chosen for it (its `script` option), which may no longer
    name a script; "" when it names none (it then runs the community's default script);
    `places` are the keys of the places it is held or announced in; `start` is the start
    (aware UTC) of the occurrence under way, else of the next one, None when none is left (as
    for a `cancelled` series, which may still be restored); `current`: one of its occurrences
    is in the window its named facilitators may act in now (from an hour before its start
    until half an hour after its end), the same window `CogHooks.named_facilitator` judges.
    """

    meeting_id: int
    title: str
    script: str
    places: tuple[str, ...]
    start: datetime | None
    duration_minutes: int
    cancelled: bool = False
    current: bool = False


@runtime_checkable
class MeetingSchedule(Protocol):
    """Who facilitates which meeting, and when the next one is (the meetings cog)."""

    async def is_facilitator(self, community_id: int, meeting: str, actor_key: str) -> bool:
        """Whether `actor_key` is an assigned facilitator of the meeting titled `meeting`."""
        ...

    async def next_meeting(
        self, community_id: int, meeting: str | None = None
    ) -> tuple[str, datetime] | None:
        """(title, next start as an aware UTC datetime) of the meeting titled `meeting`, or of
        the community's next meeting when `meeting` is None; None when there is none."""
        ...

    async def meeting_titles(self, community_id: int, partial: str) -> list[str]:
        """Titles of the community's coming meetings that contain `partial`, soonest first
        (for autocomplete); none from a schedule that cannot tell."""
        return []

    async def scheduled_meetings(self, community_id: int) -> list[ScheduledMeeting]:
        """Every meeting of the community, with a script or not, cancelled series included;
        none from a schedule that cannot tell. Reads only."""
        return []


@dataclass(frozen=True)
class PublicOccurrence:
    """One meeting time as the public schedule shows it: nothing about any member.

    `start` and `moved_from` are aware UTC datetimes; `kind` is one of the meetings cog's
    kinds (`standard`, `family_friends`, `hosted_discussion`, `other`) and `kind_label` its
    name in the current language; `join_url` is an https link or None, `where` the place's
    label (a channel name) when there is no link; `going` is the RSVP count, or None unless
    the community shows counts.
    """

    meeting_id: int
    title: str
    kind: str
    kind_label: str
    start: datetime
    duration_minutes: int
    zone: str  # the meeting's own IANA zone
    repeats: str  # `every week on Tuesday`, or `once`
    join_url: str | None
    where: str
    moved_from: datetime | None
    going: int | None


@runtime_checkable
class PublicSchedule(Protocol):
    """What a community publishes about its meetings (the meetings cog): the web pages and
    the calendar feed read it, never the meetings' tables."""

    async def public_upcoming(
        self, community_id: int, *, limit: int, with_counts: bool
    ) -> list[PublicOccurrence]:
        """The next `limit` occurrences across the community's meetings, soonest first."""
        ...

    async def public_meeting(
        self, community_id: int, meeting_id: int, *, limit: int, with_counts: bool
    ) -> list[PublicOccurrence] | None:
        """The next `limit` occurrences of one meeting (possibly none), or None when the
        community has no such meeting."""
        ...

    async def public_feed(self, community_id: int, *, name: str, url: str) -> bytes:
        """The community's meetings as an iCalendar file (RFC 5545) named `name`, linking to
        `url`: one VEVENT per series with a stable UID, SEQUENCE raised on every change,
        EXDATE for a cancelled occurrence and a RECURRENCE-ID override for a moved one."""
        ...


@runtime_checkable
class CrisisLines(Protocol):
    """The helplines to show people (the crisis cog)."""

    async def lines_for(
        self, community_id: int | None, country: str | None, *, prefix: str
    ) -> str:
        """Markdown lines for `country` (ISO 3166-1 alpha-2; None: the community's country),
        then the fallback directory; never empty. `prefix` (`!` or `/`) starts any command the
        text names."""
        ...


@runtime_checkable
class GroupJournal(Protocol):
    """Posting into a group journal on a member's behalf (the journal cog)."""

    async def share_into_group(
        self, community_id: int, author_key: str, group: str, title: str, body: str
    ) -> tuple[str, str]:
        """Post `body` (Markdown) as `author_key`'s entry in their group journal named `group`.

        Returns (entry code, group name). Raises `UserError` when the author is in no group of
        that name.
        """
        ...

    async def withdraw_from_group(self, author_key: str, code: str) -> None:
        """Remove an entry `share_into_group` made; a no-op when it is already gone."""
        ...

    async def group_names(self, community_id: int, actor_key: str) -> list[str]:
        """The group journals of the community `actor_key` is in (for autocomplete: only that
        member's own groups); none from a journal that cannot tell."""
        return []


RETENTION_MIN_DAYS = 30
"""The shortest retention period a community may set: a member on a break for a few weeks must
not lose their journal for it."""
RETENTION_WARNING_DAYS = 7
"""How long before a retention erase the member is warned by DM; an erase never comes sooner
than this after the warning went out (also when the warning itself was late)."""


@runtime_checkable
class RetentionPlanner(Protocol):
    """Plans the daily pass that erases people past a community's retention period (privacy)."""

    def plan_retention(self) -> None:
        """Plan the next pass (idempotent: one pass is planned at a time)."""
        ...


NEEDS: tuple[type[Any], ...] = (
    MeetingSchedule,
    CrisisLines,
    GroupJournal,
    RetentionPlanner,
    PublicSchedule,
)


def unimplemented(cls: type[Any]) -> list[str]:
    """`Protocol.method` for each method of a protocol in `NEEDS` that `cls` inherits but does
    not define itself, so calls reach the protocol's empty body (returning None). A method
    renamed in the providing cog overrides nothing, and mypy has no override to check, so the
    loader checks this instead. Returns an empty list when `cls` implements all it declares."""
    missing: list[str] = []
    for protocol in NEEDS:
        if protocol not in cls.__mro__:
            continue
        for member, value in vars(protocol).items():
            if member.startswith("_") or not callable(value):
                continue
            owner = next(k for k in cls.__mro__ if member in vars(k))
            if owner is protocol:
                missing.append(f"{protocol.__name__}.{member}")
    return missing


class MissingProvider(Exception):
    """A cog's required need is provided by no enabled cog (raised while loading)."""


@dataclass(frozen=True)
class Need:
    """One keyword parameter of a cog's constructor: a core service, or what another cog offers."""

    parameter: str
    kind: type[Any]  # one of NEEDS, or a core service type
    optional: bool  # typed `X | None`: the cog works without it


def needs_of(cls: type[Any], core: Collection[type[Any]] = ()) -> list[Need]:
    """What a cog class asks for: its keyword-only constructor parameters, each typed with a
    protocol from `NEEDS` (optionally `| None`) or with one of the `core` service types.
    Raises `TypeError` for a keyword-only parameter the loader cannot fill."""
    init = cls.__init__
    hints = get_type_hints(init)
    found: list[Need] = []
    for parameter in inspect.signature(init).parameters.values():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        hint = hints.get(parameter.name)
        args = get_args(hint)
        optional = get_origin(hint) in (Union, types.UnionType) and type(None) in args
        kind = next((a for a in args if a is not type(None)), None) if optional else hint
        if not optional and isinstance(hint, type) and hint in core:
            found.append(Need(parameter.name, hint, optional=False))
            continue
        if kind not in NEEDS or (optional and len(args) != 2):
            known = ", ".join(sorted(t.__name__ for t in (*NEEDS, *core)))
            raise TypeError(
                f"{cls.__name__}: keyword parameter {parameter.name!r} must be typed with one "
                f"of {known} (another cog's protocol may be `| None`)"
            )
        found.append(Need(parameter.name, kind, optional))
    return found


def missing_message(cog: str, need: Need, shipped: Sequence[tuple[str, type[Any]]]) -> str:
    """Why a cog cannot load: which need, and which shipped cogs would provide it."""
    offer = [name for name, cls in shipped if need.kind in cls.__mro__]
    hint = (
        f"enable {' or '.join(repr(n) for n in offer)} in [cogs] enabled"
        if offer
        else "no shipped cog provides it"
    )
    return (
        f"cog {cog!r} needs {need.kind.__name__} (its {need.parameter!r} parameter), which no "
        f"enabled cog provides: {hint}"
    )
