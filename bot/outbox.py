"""Announcements and reminders that must arrive exactly once, also across a crash.

Every promised message is written as a row first, then handed to the platform with its key as
the idempotency key (Matrix txn id, Discord nonce), then settled. The key names what the item
IS (for a meeting: occurrence, kind and due time), so planning the same thing twice is refused,
while anything that changes (a new time, a new offset) gets a new key.

Withdrawing and planning again compose: a withdrawn item is deleted, never kept as a tombstone
that could block its re-plan, and every planner reconciles its owner's pending set with what it
wants now through `replan` (one path for every change). Settled rows (sent, skipped, failed)
keep only key, status, due time, the platform's message id and a short reason, and are deleted
`keep_settled` after their DUE time (not after sending), so no planner looking back less than
that can plan a settled key again: `enqueue`/`replan` refuse anything due earlier.

A delivery pass sends each platform's due items through a bounded pool (`Capabilities.
delivery_slots` sends in flight at once; the platform's transport paces them under its own
limits: Discord's global 50 requests per second and per-channel buckets, a homeserver's
rc_message), oldest first. Tries are recorded and outcomes settled in batches, one transaction
for many items, so a burst costs a few commits instead of two per delivery.

Cogs never match key strings to forget: each item carries typed references (`OutboxRef`) to
what its text quotes or names, and `forget` deletes the pending items that carry any of them,
with the plan stamps of those owners. Only a deleted owner's settled rows, which keep no
references, are found by its key prefix (`forget(..., keys_under=...)`), so nothing of it stays.

Deleting reaches the platform too. A sent item that carries something a member can take back
(an entry, feedback, a toolbox share: `RETRACTABLE`) keeps its target, the platform's message
ids and its references (never its text) for as long as that thing exists, instead of expiring.
`forget` turns such rows into retractions: the transport deletes (Discord) or redacts (Matrix)
each message at once; one that fails because the platform is unreachable stays as a `retract`
row and is tried again by every delivery pass (also the one an adapter runs when it connects),
so the promise "gone" survives a restart. A message the platform no longer has counts as done.

Some posts are kept current (an announcement showing how many plan to come: `live_post`). A
sent item carrying a `RefKind.LIVE_POST` reference keeps its target, the platform's message
ids, that reference and its text (public channel text, kept so an edit is only made when the
text really changes). Its owner calls `refresh` after each change; a post whose wanted text
differs becomes an `edit` row, and every delivery pass edits such rows on the platform
(Discord: edit the message; Matrix: `m.replace`), again after a restart, until it works. Such
rows expire with the other settled rows, `keep_settled` after their due time.

A crash between the platform's acceptance and the mark leaves the row pending with a first try
recorded; before trying again the outbox asks the transport whether the platform already holds
it (`Platform.find_sent`: Discord reads the channel's recent history for the marker
line its posts end with; Matrix reads the room's timeline for the event's transaction id, else
the marker in its content), and only then resends under the same key. After downtime, what
came due inside the grace window (and before the item's own `not_after`) is sent with
"(late)"; anything older is recorded as skipped, never sent hours late. An item planned with
a late note (`Instead`) has that note written, due at once, in the same transaction that
records it as skipped (a replan's `_write_missed` or a pass's `_mark_many`, under its lease):
never beside a sent item, once at most (its own key), and withdrawn or forgotten with the
item's owner and references.

What remains uncertain: a lookup reads a bounded stretch of recent history, so a message is
not found (and may show twice) when the platform's record cannot be read there (Discord
without Read Message History; a Matrix room the bot may no longer read; an encrypted Matrix
room after a new login, whose keys stayed with the old device), when many messages arrived
there between the first try and the lookup, or when a member deleted it. A lookup that fails
is treated as "not found" (resend), since a missing announcement is worse than a doubled one;
the platform's own duplicate check (minutes for a Discord nonce, the same device for a Matrix
txn id) still catches a quick retry. A planner and a delivery pass in two different processes
(PostgreSQL) are not serialised: an item deleted by `replan` while another process is sending
it can be planned again under the same key, without its first try, so it is not looked up.

Which process delivers an item: a delivery pass claims due items in batches with
`SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one process and ignores the
clause) and leases them for `lease_seconds`. Every claim raises the item's fencing token
(`lease_token`) by one, so processes never take the same item at once and a later claim always
supersedes an earlier one. A pass acts on an item only under its lease: it sends only while the
lease still holds by this process's monotonic clock (which runs on while the process is paused,
as by SIGSTOP or a frozen VM), the first try is recorded only while the token is still its own
and unexpired, and the item is marked only while the token is still its own. A process that
wakes after its lease ran out therefore sends nothing more under it; another process has taken
the item, and finds a send that did reach the platform through `find_sent`. Transports that
wait before they write (pacing) call `check_lease()` right before the write.

Why the outbox table and not a queue library's job table: pgqueuer and procrastinate both
claim with SKIP LOCKED, but a job there is a second record beside the outbox row, written on
the library's own connection, not in the transaction that writes the row, so a crash between
the two loses or orphans a promise; and both settle a job by its id alone (pgqueuer deletes
it by id in `log_jobs`), so a worker paused past its heartbeat still completes a job another
worker re-picked: neither offers a fencing token. The row already holds the key, the state and
the first try; a lease on it is one column pair and one statement (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeVar, cast

from sqlalchemy import (
    DateTime,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from bot import crypto
from bot.clock import Clock
from bot.core.errors import DeliveryError
from bot.core.message import Action, Message
from bot.db import in_values, is_write_conflict
from bot.i18n import _
from bot.models import OutboxItem, OutboxItemRef, OutboxPlanStamp
from bot.scheduler import DELIVERY, Scheduler
from bot.turns import LoopTurns

log = logging.getLogger("circlebot.outbox")
T = TypeVar("T")

LATE_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 5
KEEP_SETTLED = timedelta(days=7)  # longer than any planner looks back (meetings: 48 h)
PRUNE_EVERY = timedelta(hours=1)
MAX_EARLY = 30  # seconds: the most a pre-announcement may go before its time
LEAD_MARGIN = 1.1  # a burst begins 10% earlier than the pace alone needs (sends take time)
BEGIN_BATCH = 100  # tries recorded in one transaction, ahead of their sends
SETTLE_BATCH = 50  # outcomes written in one transaction...
SETTLE_EVERY_SECONDS = 0.25  # ...or at least this often while a pass runs
LEASE_SECONDS = 60.0  # how long a claimed item stays this process's; renewed while it works
LEASE_MARGIN = 0.2  # the share of a lease never used, for the time a send takes to leave


class LeaseLost(Exception):
    """The lease a delivery was taken under expired or another process took the item over."""


@dataclass
class Lease:
    """A delivery pass's hold on one outbox item: the fencing token it was claimed under and
    the moment (`time.monotonic()` seconds) after which this process must not act under it."""

    item_id: int
    token: int
    deadline_monotonic: float

    def held(self) -> bool:
        """Whether this process may still send under the lease."""
        return time.monotonic() < self.deadline_monotonic


_CURRENT_LEASE: ContextVar[Lease | None] = ContextVar("circlebot_outbox_lease", default=None)


def current_lease() -> Lease | None:
    """The lease the delivery running here was taken under (None outside a delivery pass)."""
    return _CURRENT_LEASE.get()


def check_lease() -> None:
    """Raise `LeaseLost` when the delivery running here was taken under a lease that ran out.

    Transports call it right before writing to the platform, after any wait of their own
    (pacing), so a process that was paused past its lease sends nothing more. Outside a
    delivery pass (a crisis alert, a reply) it does nothing.
    """
    lease = _CURRENT_LEASE.get()
    if lease is not None and not lease.held():
        raise LeaseLost(f"the lease on outbox item {lease.item_id} ran out before sending")


class RefKind(StrEnum):
    """What an outbox item can carry, so its owner can have it forgotten.

    `id` meanings: MEETING / MEETING_NOTICE a meeting id; JOURNAL_ENTRY (anything quoting an
    entry) and JOURNAL_FEED_POST (its post in the feed channel) an entry code; FEEDBACK a
    feedback code; TOOLBOX_ITEM an item id; TOOLBOX_SHARE a share id; MEMBER the
    actor key of a person the message is addressed to, names or quotes; COMMUNITY the id of
    the community it belongs to (erasing the community forgets it); NAMED the actor key of a
    person a channel post shows by name and whose owner can show it again without them
    (`Outbox.on_unname`): such a post is kept findable once sent, so erasing the person edits
    the name out (or deletes the post where the platform cannot edit).
    """

    MEETING = "meeting"
    MEETING_NOTICE = "meeting_notice"
    JOURNAL_ENTRY = "journal_entry"
    JOURNAL_FEED_POST = "journal_feed_post"
    FEEDBACK = "feedback"
    TOOLBOX_ITEM = "toolbox_item"
    TOOLBOX_SHARE = "toolbox_share"
    MEMBER = "member"
    COMMUNITY = "community"
    LIVE_POST = "live_post"
    NAMED = "named"


def live_post(owner: str) -> OutboxRef:
    """The reference that makes an item a post kept current: `owner` names what it shows
    (meetings use `meetings.<meeting id>`). `Outbox.refresh(live_post(owner), ...)` edits the
    sent posts carrying it in place."""
    return OutboxRef(RefKind.LIVE_POST, owner)


# A sent item carrying one of these keeps what it takes to delete it on the platform later.
RETRACTABLE = frozenset(
    {
        RefKind.JOURNAL_ENTRY,
        RefKind.JOURNAL_FEED_POST,
        RefKind.FEEDBACK,
        RefKind.TOOLBOX_ITEM,
        RefKind.TOOLBOX_SHARE,
    }
)
RETRACT = "retract"  # status of a sent item whose platform copy is still to be deleted
EDIT = "edit"  # status of a sent live post whose platform copy is still to be edited
MAX_RETRACT_ATTEMPTS = 50  # about a day of passes with back-off, then it is given up (logged)


@dataclass(frozen=True)
class OutboxRef:
    """A typed reference from an outbox item to something it carries: `OutboxRef(kind, id)`."""

    kind: RefKind
    id: str

    @classmethod
    def member(cls, actor_key: str) -> OutboxRef:
        """The person with this actor key (a DM to them, their name or words in the text)."""
        return cls(RefKind.MEMBER, actor_key)

    @classmethod
    def named(cls, actor_key: str) -> OutboxRef:
        """A person the post shows by name, to be edited out when they erase their data (the
        key's owner registered `Outbox.on_unname`). Give `member` too, so a post still pending
        is withdrawn."""
        return cls(RefKind.NAMED, actor_key)

    @classmethod
    def community(cls, community_id: int) -> OutboxRef:
        """The community the message belongs to (its channel, or a DM about it)."""
        return cls(RefKind.COMMUNITY, str(community_id))


@dataclass(frozen=True)
class Target:
    """Where an outbox item goes: a channel/room id, or a person's DM (their actor key).

    `platform_id` is read once, here, so no adapter takes `target` apart again: the channel or
    room id, or for a DM the platform's user id (the actor key `matrix:@ana:example.org`
    without its `matrix:` prefix; a DM target stored without the prefix is taken as it is).
    """

    platform: str
    target: str
    is_dm: bool = False
    platform_id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        own = self.target.removeprefix(f"{self.platform}:") if self.is_dm else self.target
        object.__setattr__(self, "platform_id", own)


@dataclass(frozen=True)
class Instead:
    """What to send when an item is missed (`Outbox.missed`): a late note in its place.

    `key`: its own idempotency key (never the missed item's); `message`: what it says;
    `not_after` (aware UTC): the last moment it still makes sense (a meeting's end), None for
    the outbox's grace window after it was written. The outbox writes it as a pending item, due
    at once, to the missed item's target with the missed item's references, in the same
    transaction that records the missed item as skipped, and only then: never beside a sent
    item, and once at most (its key is unique). A replan that still wants the missed item keeps
    a written late note pending; one that no longer wants it (an RSVP withdrawn, a meeting
    cancelled) withdraws the note with it, and `forget` forgets it as it forgets the item.
    """

    key: str
    message: Message
    not_after: datetime | None = None

    def to_json(self) -> str:
        """As stored with the pending item (encrypted with its payload)."""
        return json.dumps(
            {
                "key": self.key,
                "message": self.message.to_json(),
                "not_after": None if self.not_after is None else self.not_after.isoformat(),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Instead:
        """Inverse of `to_json`. Raises ValueError, KeyError or TypeError on other text."""
        data = json.loads(text)
        moment = data["not_after"]
        return cls(
            str(data["key"]),
            Message.from_json(data["message"]),
            None if moment is None else datetime.fromisoformat(moment),
        )


@dataclass(frozen=True)
class Planned:
    """One item a planner wants: key, target, message, due time (aware UTC), what it carries.

    `not_after` (aware UTC) is the last moment the item still makes sense (a reminder for a
    meeting is pointless once it began); None means the outbox's grace window after `due_at`.
    `early_seconds` (at most `MAX_EARLY`) is how long before `due_at` the item may go when
    too many are due together for the platform's pace to send them all on time (a channel
    pre-announcement); 0, the default, means never before `due_at` ("starting now", a DM).
    `instead`: the late note written if this item is missed (see `Instead`); None: nothing.
    """

    key: str
    target: Target
    message: Message
    due_at: datetime
    not_after: datetime | None = None
    refs: tuple[OutboxRef, ...] = ()
    early_seconds: int = 0
    instead: Instead | None = None


NOT_RENDERED: Final = Message()
"""The message of an item its planner knows is missed (`Outbox.missed`): a replan records such
an item as skipped at once and never reads its message, so a planner need not render the text
of what can no longer be sent (after downtime, half of a first start's items)."""


Deliver = Callable[[Target, Message, str], Awaitable[str | None]]
FindSent = Callable[[Target, str, datetime], Awaitable[str | None]]
Ready = Callable[[str], bool]
Slots = Callable[[str], int]
"""How many outbox sends to a platform (its name) may be in flight at once."""
Pace = Callable[[str], float | None]
"""How many outbox sends a platform (its name) starts per second at most, None if unknown (then
nothing is sent early)."""
Edit = Callable[[Target, str, Message, str], Awaitable[None]]
"""Replace the text of one sent message (`Target`, the platform's message id, the new text, the
item's key).
Raises `DeliveryError` (permanent: will never work, e.g. the message is gone)."""
Retract = Callable[[Target, str], Awaitable[None]]
# The text a sent post (by key) should show without a person (by actor key); None: delete it.
Unname = Callable[[str, str], Awaitable[Message | None]]
"""Delete one sent message (`Target`, the platform's message id); a message already gone is no
error. Raises `DeliveryError` (permanent: will never work, e.g. not allowed there)."""


@dataclass
class Forgotten:
    """What `forget` did: pending items withdrawn, and sent messages deleted on the platform.

    `removed` / `waiting` / `refused` list the platforms (one entry per message): deleted now,
    to be deleted once that platform is reachable again, and not deletable (the bot may not
    delete there any more, e.g. it was removed).
    """

    withdrawn: int = 0
    removed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.withdrawn or self.removed or self.waiting or self.refused)

    def add(self, other: Forgotten) -> None:
        """Count `other`'s outcomes with these (in place): one note for several forgets."""
        self.withdrawn += other.withdrawn
        self.removed.extend(other.removed)
        self.waiting.extend(other.waiting)
        self.refused.extend(other.refused)

    def note(self) -> str:
        """One or two sentences for the member about messages already sent, or "" if none."""
        parts: list[str] = []
        if self.removed:
            parts.append(
                _("I also deleted {n} message(s) I had already posted with it.").format(
                    n=len(self.removed)
                )
            )
        if self.waiting:
            parts.append(
                _(
                    "{n} message(s) I had already posted with it will be deleted when I reach "
                    "{platforms} again; I keep trying, also after a restart."
                ).format(n=len(self.waiting), platforms=_platforms(self.waiting))
            )
        if self.refused:
            parts.append(
                _(
                    "{n} message(s) I had posted with it could not be deleted on {platforms} "
                    "(I may no longer be allowed to there); a moderator can remove them."
                ).format(n=len(self.refused), platforms=_platforms(self.refused))
            )
        return " ".join(parts)


PLATFORM_NAMES = {"discord": "Discord", "matrix": "Matrix", "console": "the console"}


def _platforms(platforms: list[str]) -> str:
    return ", ".join(PLATFORM_NAMES.get(p, p) for p in sorted(set(platforms)))


@dataclass(frozen=True)
class OwnerPlan:
    """One owner's wanted items for `Outbox.replan_many`, with `replan`'s window (aware UTC).

    `stamp`: what the plan was made from (see `PlanStamp`), stored with the items; None stores
    none, and drops any earlier one.
    """

    owner: OutboxRef
    items: tuple[Planned, ...]
    since: datetime
    until: datetime | None = None
    stamp: PlanStamp | None = None


@dataclass(frozen=True)
class PlanStamp:
    """What a planner made an owner's plan from, so a restart may trust the stored plan.

    `digest` (at most 64 characters) is the planner's digest of everything its plan depends on
    (the owner's state, its settings, the code that renders it); `valid_until` (aware UTC) is
    the moment the planner would plan the owner again anyway (its window moves on), None when
    it never needs to (nothing more to plan). The outbox keeps it beside the owner's items, in
    the same transaction, and drops it whenever the owner's items change any other way.
    """

    digest: str
    valid_until: datetime | None


@dataclass(frozen=True)
class StoredStamp:
    """A `PlanStamp` as stored, with the moment (aware UTC) the plan was written."""

    digest: str
    planned_at: datetime
    valid_until: datetime | None

    def trusted(self, digest: str, now: datetime) -> bool:
        """Whether the owner's stored items are its plan now: made from the same inputs
        (`digest`), not in the future of `now` (a clock set back), and still inside the window
        the planner looked at (before `valid_until`)."""
        return (
            self.digest == digest
            and self.planned_at <= now
            and (self.valid_until is None or now < self.valid_until)
        )


@dataclass
class Report:
    """What one delivery pass did."""

    sent: int = 0
    late: int = 0
    skipped: int = 0
    failed: int = 0
    found: int = 0  # a first try had reached the platform; marked sent without resending
    waiting: int = 0  # the platform was not connected yet; tried again once it is
    retracted: int = 0  # sent messages deleted on the platform after their content was deleted
    edited: int = 0  # sent posts kept current: edited on the platform
    lost: int = 0  # the lease ran out or another process took the item: left to that process

    def add(self, other: Report) -> None:
        """Add `other`'s counts to these (in place)."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class PlanResult:
    """What a `replan` did: keys written, kept pending (updated where they differed), withdrawn,
    recorded as skipped (missed: due too long ago, or what they led up to began), and the late
    notes written in place of skipped items (`Instead`)."""

    written: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)  # late notes written for skipped items


async def _unstamp_refs(session: AsyncSession, refs: Iterable[OutboxRef]) -> None:
    """Drop the plan stamps of these owners: their items changed outside a plan."""
    await _unstamp_pairs(session, ((ref.kind.value, ref.id) for ref in refs))


async def _unstamp_pairs(session: AsyncSession, pairs: Iterable[tuple[str, str]]) -> None:
    """`_unstamp_refs` for (kind, id) pairs as stored."""
    for chunk in _chunks(sorted(set(pairs)), IN_CHUNK):
        await session.execute(
            delete(OutboxPlanStamp).where(
                tuple_(OutboxPlanStamp.kind, OutboxPlanStamp.ref).in_(chunk)
            )
        )


async def _unstamp_items(session: AsyncSession, item_ids: Sequence[int]) -> None:
    """Drop the plan stamps of every owner these items carry (before their references go):
    one statement per `VARS_CHUNK` items."""
    for chunk in _chunks(sorted(item_ids), VARS_CHUNK):
        await session.execute(_UNSTAMP_CARRIED, {"ids": list(chunk)})


def _ids_by_kind(owners: Iterable[OutboxRef]) -> dict[RefKind, list[str]]:
    """The ids of `owners` grouped by kind, in their order (one IN list per kind)."""
    by_kind: dict[RefKind, list[str]] = {}
    for owner in owners:
        by_kind.setdefault(owner.kind, []).append(owner.id)
    return by_kind


def _refs(target: Target, refs: Iterable[OutboxRef]) -> set[OutboxRef]:
    found = set(refs)
    if target.is_dm:
        found.add(OutboxRef.member(target.target))
    return found


class Outbox:
    """Durable, idempotent delivery of timed messages."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        scheduler: Scheduler,
        clock: Clock,
        deliver: Deliver,
        *,
        grace: timedelta = timedelta(minutes=15),
        keep_settled: timedelta = KEEP_SETTLED,
        find_sent: FindSent | None = None,
        ready: Ready | None = None,
        retract: Retract | None = None,
        slots: Slots | None = None,
        edit: Edit | None = None,
        pace: Pace | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._slots = slots
        self._pace = pace
        self._scheduler = scheduler
        self._clock = clock
        self._deliver = deliver
        self._find_sent = find_sent
        self._ready = ready
        self._retract = retract
        self._edit = edit
        self.grace = grace
        self.keep_settled = keep_settled
        self.lease_seconds = lease_seconds
        # Every pass of this process added up since it started: a pass woken by an enqueue and
        # one asked for explicitly each report only their own share.
        self.totals = Report()
        self.lease_on_server = False  # PostgreSQL with a real clock: leases on the server's
        # Set when every process delivers (PostgreSQL, real clock): told of each time planned
        # here, so the others wake for it too; after a pass the outbox plans its next wake-up.
        self.on_planned: Callable[[datetime], None] | None = None
        self._held: dict[int, Lease] = {}  # leases a pass took and has not settled yet
        self._lock = asyncio.Lock()
        self._pruned_at: datetime | None = None
        self._unnamers: dict[str, Unname] = {}

    def on_unname(self, prefix: str, unname: Unname) -> None:
        """Own the posts whose keys start with `prefix` that carry `OutboxRef.named`: when a
        person they name is forgotten (`forget(OutboxRef.member(key))`), `await unname(post
        key, actor key)` gives the post's text without them, edited in on the platform (now or
        by later delivery passes, after restarts too); None, or a platform that cannot edit,
        deletes the post instead. Without an owner the post is deleted."""
        self._unnamers[prefix] = unname

    def _unnamer(self, key: str) -> Unname | None:
        for prefix, unname in self._unnamers.items():
            if key.startswith(prefix):
                return unname
        return None

    # --- planning ------------------------------------------------------------------------

    def _too_old(self, due_at: datetime) -> bool:
        return due_at < self._clock.now() - self.keep_settled

    def missed(self, due_at: datetime, not_after: datetime | None) -> bool:
        """Whether an item due at `due_at` (aware UTC) can no longer be sent: what it led up to
        has begun (`not_after` passed) or it is older than the grace window. A delivery pass
        would skip it; a replan records it as skipped at once, without its message (a planner
        may pass `NOT_RENDERED`). Time only moves on, so a missed item stays missed."""
        return _missed(due_at, not_after, self._clock.now(), self.grace)

    async def enqueue(
        self,
        key: str,
        target: Target,
        message: Message,
        due_at: datetime,
        *,
        refs: Sequence[OutboxRef] = (),
        not_after: datetime | None = None,
        early_seconds: int = 0,
    ) -> bool:
        """Promise `message` at `due_at` (aware UTC); False if this key was already promised.

        `early_seconds`: see `Planned`.

        `refs` name what the message carries (a DM also carries its addressee), so `forget`
        can withdraw it. An item due longer than `keep_settled` ago is refused (False): its key
        may already have expired.

        Raises:
            ValueError: `message` is `NOT_RENDERED` (only a replan may record such an item).
        """
        if message is NOT_RENDERED:
            raise ValueError("NOT_RENDERED is a planner's missed item: replan it, never enqueue")
        if self._too_old(due_at):
            return False
        item = Planned(
            key, target, message, due_at, not_after, tuple(refs), min(early_seconds, MAX_EARLY)
        )
        async with self._sessions() as session:
            try:
                await self._add(session, item)
                await _unstamp_refs(session, _refs(item.target, item.refs))
                await session.commit()
            except IntegrityError:
                return False
        self._plan(due_at, item.early_seconds)
        return True

    async def send_now(self, target: Target, message: Message, idempotency_key: str) -> None:
        """Deliver at once and keep no row: for what must not be stored (a crisis alert).

        Nothing retries it after a crash, which is the price of keeping nothing.

        Raises:
            DeliveryError: the platform is not connected or refused the message.
        """
        await self._deliver(target, message, idempotency_key)

    async def record_post(
        self, key: str, target: Target, message_ids: str, *, refs: Sequence[OutboxRef]
    ) -> bool:
        """Keep a post the bot already made outside the outbox (a public answer to a command,
        `Context.reply`) as a sent item, so `forget` finds it like a delivered one: `key` is
        its own key under its owner's prefix (`on_unname`), `target` the channel it is in,
        `message_ids` the platform's ids (space-separated, as `Context.reply` returns them),
        `refs` whom it names (`OutboxRef.named`) and its community; only those kinds are kept.
        No text is kept. Erasing a person it names edits them out (the owner's `on_unname`)
        or deletes the post. Returns False, keeping nothing, for a post without ids, refs or
        room for its ids, or a key already used."""
        kept = tuple(r for r in refs if r.kind in (RefKind.NAMED, RefKind.COMMUNITY))
        if not message_ids.strip() or not any(r.kind is RefKind.NAMED for r in kept):
            return False
        if len(message_ids) > 255:  # the column's width; a post that long never names anyone
            log.warning("a post of %s ids is not kept: its ids do not fit", key)
            return False
        now = self._clock.now()
        async with self._sessions() as session:
            row = OutboxItem(
                key=key,
                platform=target.platform,
                target=target.target,
                is_dm=target.is_dm,
                payload=None,
                due_at=now,
                status="sent",
                attempts=0,
                settled_at=now,
                platform_message_id=message_ids.strip(),
                note="",
            )
            session.add(row)
            try:
                await session.flush()
                for ref in sorted(set(kept), key=_ref_order):
                    session.add(OutboxItemRef(item_id=row.id, kind=ref.kind.value, ref=ref.id))
                await session.commit()
            except IntegrityError:
                return False
        return True

    async def _add(self, session: AsyncSession, item: Planned) -> None:
        row = _row(item)
        session.add(row)
        await session.flush()
        for ref in _refs(item.target, item.refs):
            session.add(OutboxItemRef(item_id=row.id, kind=ref.kind.value, ref=ref.id))

    async def replan(
        self,
        owner: OutboxRef,
        items: Iterable[Planned],
        *,
        since: datetime,
        until: datetime | None = None,
    ) -> PlanResult:
        """Make `owner`'s pending items due from `since` to `until` (aware UTC) exactly `items`.

        Pending items of `owner` in that window that are not wanted any more are deleted; wanted
        items already pending are updated in place (same key, so a try that may have reached the
        platform is still checked before a resend); wanted items whose key is settled are left
        alone (they already happened); the rest are written. Every item carries `owner` as a
        reference. Items due before `since`, after `until` (None: no end) or too long ago to
        remember are ignored, and pending items outside the window are never touched: a planner
        whose clock or horizon ends earlier than another's (a follower, a process that is still
        starting) cannot withdraw what the other planned beyond what it looked at. A planner
        that must reconcile everything passes `until` at or after `latest_pending(owner)`.
        """
        return (await self.replan_many([OwnerPlan(owner, tuple(items), since, until)]))[0]

    async def replan_many(self, plans: Sequence[OwnerPlan]) -> list[PlanResult]:
        """`replan` for several owners in one transaction (one result per plan, in order).

        Start-up reconciles every meeting at once: one commit for all of them instead of one
        each (a commit costs a disk sync, which dominated a first start). An owner's plan is
        exactly what `replan` would do with it.
        """
        split = [self._wanted(plan) for plan in plans]
        wanted = [live for live, _missed_items in split]
        missed = [missed_items for _live, missed_items in split]
        for attempt in range(3):
            try:
                async with self._lock, self._sessions.begin() as session:
                    batch = await self._replan_batch(session, plans, wanted, missed)
                    if batch is not None:
                        results = batch
                        await self._write_missed(session, missed, results)
                    else:  # one plan after another, in order, as `replan` each
                        results = []
                        for plan, want, gone in zip(plans, wanted, missed, strict=True):
                            result = await self._replan_in(
                                session, plan.owner, want, gone, plan.since, plan.until
                            )
                            await self._write_missed(session, [gone], [result])
                            results.append(result)
                    await self._write_stamps(session, plans)
            except DBAPIError as exc:
                # Another process planned the same key at the same moment, or PostgreSQL chose
                # this transaction as a deadlock victim or could not serialize it: the same
                # plan again succeeds.
                if attempt == 2 or not is_write_conflict(exc):
                    raise
                continue
            due = {
                (item.due_at, item.early_seconds)
                for result, want, gone in zip(results, wanted, missed, strict=True)
                for key in result.written + result.updated
                for item in (want.get(key) or gone[key],)
            }
            skipped = sum(len(result.skipped) for result in results)
            if skipped:
                log.warning(
                    "%d outbox item(s) recorded as skipped when planned: due too long ago, or "
                    "what they led up to had begun (the bot was down, or they were planned late)",
                    skipped,
                )
            if any(result.late for result in results):
                due.add((self._clock.now(), 0))
            for due_at, early_seconds in sorted(due):
                self._plan(due_at, early_seconds)
            return results
        raise AssertionError("unreachable")

    async def _write_stamps(self, session: AsyncSession, plans: Sequence[OwnerPlan]) -> None:
        """Store each plan's stamp (or none) beside its items, in the plan's transaction.

        One executemany INSERT ... ON CONFLICT DO UPDATE for the stamped (compiled once; 10,000
        stamps in 50 transactions took 0.15-0.25 s, a delete and insert 0.37-0.40 s, a
        multi-row VALUES upsert 0.95-1.37 s), a delete for plans without a stamp."""
        for kind, ids in _ids_by_kind(plan.owner for plan in plans if plan.stamp is None).items():
            for chunk in _chunks(ids, IN_CHUNK):
                await session.execute(
                    delete(OutboxPlanStamp).where(
                        OutboxPlanStamp.kind == kind.value, in_values(OutboxPlanStamp.ref, chunk)
                    )
                )
        now = self._clock.now()
        rows = [
            {
                "kind": plan.owner.kind.value,
                "ref": plan.owner.id,
                "stamp": plan.stamp.digest,
                "planned_at": now,
                "valid_until": plan.stamp.valid_until,
            }
            for plan in plans
            if plan.stamp is not None
        ]
        if rows:
            dialect = session.get_bind().dialect.name
            statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(STAMPS)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["kind", "ref"],
                    set_={
                        "stamp": statement.excluded.stamp,
                        "planned_at": statement.excluded.planned_at,
                        "valid_until": statement.excluded.valid_until,
                    },
                ),
                rows,
            )

    async def stamps_of(self, owners: Sequence[OutboxRef]) -> dict[OutboxRef, StoredStamp]:
        """The stored plan stamps of these owners (those that have one), in a few statements
        (one per 500 of a kind); see `PlanStamp`."""
        found: dict[OutboxRef, StoredStamp] = {}
        async with self._sessions() as session:
            for kind, ids in _ids_by_kind(owners).items():
                for chunk in _chunks(ids, IN_CHUNK):
                    rows = await session.execute(
                        select(
                            OutboxPlanStamp.ref,
                            OutboxPlanStamp.stamp,
                            OutboxPlanStamp.planned_at,
                            OutboxPlanStamp.valid_until,
                        ).where(
                            OutboxPlanStamp.kind == kind.value,
                            in_values(OutboxPlanStamp.ref, chunk),
                        )
                    )
                    for ref, stamp, planned, valid in rows:
                        found[OutboxRef(kind, ref)] = StoredStamp(
                            stamp, cast(datetime, _aware(planned)), _aware(valid)
                        )
        return found

    def _wanted(self, plan: OwnerPlan) -> tuple[dict[str, Planned], dict[str, Planned]]:
        """`plan`'s items in its window, by key: those that can still be sent, and those
        missed (`missed`, or passed as `NOT_RENDERED`), which are only recorded as skipped."""
        wanted: dict[str, Planned] = {}
        missed: dict[str, Planned] = {}
        now = self._clock.now()
        for item in plan.items:
            if plan.until is not None and item.due_at > plan.until:
                continue
            if item.due_at >= plan.since and not self._too_old(item.due_at):
                lost = item.message is NOT_RENDERED or _missed(
                    item.due_at, item.not_after, now, self.grace
                )
                (wanted if lost else missed).pop(item.key, None)  # the last item of a key wins
                (missed if lost else wanted)[item.key] = Planned(
                    item.key,
                    item.target,
                    item.message,
                    item.due_at,
                    item.not_after,
                    (*item.refs, plan.owner),
                    min(item.early_seconds, MAX_EARLY),
                    item.instead,
                )
        return wanted, missed

    async def _write_missed(
        self,
        session: AsyncSession,
        missed: Sequence[dict[str, Planned]],
        results: Sequence[PlanResult],
    ) -> None:
        """Record missed items as skipped rows, as a delivery pass settles them (key, status,
        due time and reason; no text, no target, no references), in multi-row INSERTs. A key
        already held (sent, skipped, or pending and left to the next pass) is left as it is."""
        now = self._clock.now()
        rows = [
            {
                "key": key,
                "platform": item.target.platform,
                "target": "",
                "is_dm": item.target.is_dm,
                "payload": None,
                "due_at": item.due_at,
                "not_after": item.not_after,
                "early_seconds": item.early_seconds,
                "status": "skipped",
                "attempts": 0,
                "settled_at": now,
                "note": _missed_reason(item.due_at, item.not_after, now),
                "lease_token": 0,
            }
            for gone in missed
            for key, item in gone.items()
        ]
        if not rows:
            return
        dialect = session.get_bind().dialect.name
        add = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ITEMS)
        add_skipped = add.on_conflict_do_nothing(index_elements=["key"]).returning(ITEMS.c.key)
        written: set[str] = set()
        for chunk in _chunks(rows, INSERT_CHUNK):
            written.update(await session.scalars(add_skipped, chunk))
        for gone, result in zip(missed, results, strict=True):
            result.skipped.extend(key for key in gone if key in written)
        # Recorded as skipped here and now (not sent, nor skipped before): its late note, if any.
        for gone, result in zip(missed, results, strict=True):
            notes = [
                (item.target, item.instead, _ref_pairs(item))
                for key, item in gone.items()
                if key in written and item.instead is not None
            ]
            if notes:
                result.late.extend(await _write_instead(session, notes, now, self.grace))

    async def _replan_batch(
        self,
        session: AsyncSession,
        plans: Sequence[OwnerPlan],
        wanted: Sequence[dict[str, Planned]],
        missed: Sequence[dict[str, Planned]],
    ) -> list[PlanResult] | None:
        """`_replan_in` for every plan at once, in a handful of statements for the whole batch.

        Start-up replans thousands of owners: reading, deleting and inserting per owner cost
        several round trips each (most of a restart). Returns None, and changes nothing, when
        the batch is not independent (an owner twice, or a pending item carrying two owners of
        the batch): the caller then replans one owner after another.

        Pending rows are read as (id, key, due time, digest) only; a row whose stored digest
        equals the wanted item's is as wanted already (a restart finds almost every row so), and
        only the others are read whole, decrypted and compared.
        """
        owners = [plan.owner for plan in plans]
        if len(set(owners)) != len(owners):
            return None
        pending_of: dict[OutboxRef, dict[str, _Pending]] = {owner: {} for owner in owners}
        owner_of: dict[int, OutboxRef] = {}
        for kind, ids in _ids_by_kind(owners).items():
            for chunk in _chunks(ids, IN_CHUNK):
                rows = await session.execute(
                    select(
                        OutboxItemRef.ref,
                        OutboxItem.id,
                        OutboxItem.key,
                        OutboxItem.due_at,
                        OutboxItem.plan_digest,
                    )
                    .join(OutboxItem, OutboxItem.id == OutboxItemRef.item_id)
                    .where(
                        OutboxItemRef.kind == kind.value,
                        in_values(OutboxItemRef.ref, chunk),
                        OutboxItem.status == "pending",
                    )
                )
                for ref, item_id, key, due_at, digest in rows:
                    owner = OutboxRef(kind, ref)
                    if owner_of.setdefault(item_id, owner) != owner:
                        return None
                    pending_of[owner][key] = _Pending(item_id, due_at, digest)
        fresh = [
            key
            for plan, want, gone in zip(plans, wanted, missed, strict=True)
            for key in (*want, *gone)
            if key not in pending_of[plan.owner]
        ]
        held = {key for pending in pending_of.values() for key in pending}
        if len(set(fresh)) != len(fresh) or not held.isdisjoint(fresh):
            return None  # two owners of the batch want or hold one key: the order decides
        results = [PlanResult() for _ in plans]
        doomed: list[int] = []
        kept: list[int] = []  # pending rows still wanted that differ from what is wanted
        # Rendering and digesting every pending item of a start-up's chunk took 70 ms on end
        # (benchmarks/meetings_schedule.py, a restart into new code): members wait meanwhile.
        turns = LoopTurns()
        for plan, want, gone, result in zip(plans, wanted, missed, results, strict=True):
            await turns.take()
            since, until = plan.since, plan.until
            notes = _notes_of(gone)
            for key, row in pending_of[plan.owner].items():
                await turns.take()  # an owner may have thousands (a meeting's reminder DMs)
                if key in notes:
                    continue  # the late note of an item still wanted and missed: it stays
                if key in want:
                    item = want[key]
                    content = _content(item)
                    if row.digest != _plan_digest(content, _ref_pairs(item)):
                        kept.append(row.id)
                elif key in gone:
                    result.updated.append(key)  # still wanted, missed: the next pass skips it
                elif row.due_at >= since and (until is None or row.due_at <= until):
                    doomed.append(row.id)
                    result.withdrawn.append(key)
        for doomed_ids in _chunks(doomed, IN_CHUNK):
            await session.execute(
                delete(OutboxItemRef).where(OutboxItemRef.item_id.in_(doomed_ids))
            )
            await session.execute(delete(OutboxItem).where(OutboxItem.id.in_(doomed_ids)))
        whole: dict[int, OutboxItem] = {}
        carried: dict[int, dict[tuple[str, str], int]] = {item_id: {} for item_id in kept}
        for kept_ids in _chunks(kept, IN_CHUNK):
            whole.update(
                (row.id, row)
                for row in await session.scalars(
                    select(OutboxItem).where(OutboxItem.id.in_(kept_ids))
                )
            )
            for ref_id, item_id, kind_name, ref in await session.execute(
                select(
                    OutboxItemRef.id, OutboxItemRef.item_id, OutboxItemRef.kind, OutboxItemRef.ref
                ).where(OutboxItemRef.item_id.in_(kept_ids))
            ):
                carried[item_id][(kind_name, ref)] = ref_id
        stale: list[int] = []
        new_items: list[Planned] = []
        new_for: list[tuple[PlanResult, str]] = []
        for plan, want, result in zip(plans, wanted, results, strict=True):
            pending = pending_of[plan.owner]
            for key, item in want.items():
                slim = pending.get(key)
                if slim is not None:
                    current = whole.get(slim.id)
                    if current is not None:  # it differs from what is wanted: made so here
                        wants = _update_row(current, item)
                        has = carried[current.id]
                        stale.extend(ref_id for pair, ref_id in has.items() if pair not in wants)
                        session.add_all(
                            OutboxItemRef(item_id=current.id, kind=kind_name, ref=ref)
                            for kind_name, ref in sorted(wants - has.keys())
                        )
                    result.updated.append(key)
                else:
                    new_items.append(item)
                    new_for.append((result, key))
        for stale_ids in _chunks(stale, IN_CHUNK):
            await session.execute(delete(OutboxItemRef).where(OutboxItemRef.id.in_(stale_ids)))
        # Core INSERTs of many rows per statement (the tables, not the ORM classes, which wrote
        # one statement per row): a first start writes thousands of items and three times as
        # many references.
        # A key already taken by a settled row (sent, skipped or failed) is never written
        # again: ON CONFLICT DO NOTHING leaves it out and RETURNING names only the rows
        # written, in the same statement (no read of the settled keys first).
        dialect = session.get_bind().dialect.name
        add = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ITEMS)
        add_new = add.on_conflict_do_nothing(index_elements=["key"]).returning(
            ITEMS.c.id, ITEMS.c.key
        )
        new_ids: dict[str, int] = {}
        for items in _chunks(new_items, INSERT_CHUNK):
            values = []
            for item in items:
                values.append(_values(item))
                await turns.take()
            written = await session.execute(add_new, values)
            new_ids.update((key, item_id) for item_id, key in written)
        for result, key in new_for:
            if key in new_ids:
                result.written.append(key)
        refs = [
            {"item_id": new_ids[item.key], "kind": ref.kind.value, "ref": ref.id}
            for item in new_items
            if item.key in new_ids
            for ref in _refs(item.target, item.refs)
        ]
        for ref_rows in _chunks(refs, INSERT_CHUNK):
            await session.execute(insert(REFS), ref_rows)
        return results

    async def _replan_in(
        self,
        session: AsyncSession,
        owner: OutboxRef,
        wanted: dict[str, Planned],
        missed: dict[str, Planned],
        since: datetime,
        until: datetime | None,
    ) -> PlanResult:
        """`replan` of one owner: `wanted` as in `_replan_batch`; `missed` items still pending
        are left to the next delivery pass (which skips them), the others `_write_missed`
        records."""
        result = PlanResult()

        def in_window(row: OutboxItem) -> bool:
            return row.due_at >= since and (until is None or row.due_at <= until)

        pending = {
            row.key: row
            for row in await session.scalars(
                select(OutboxItem).where(
                    OutboxItem.status == "pending",
                    OutboxItem.id.in_(_carrying(owner)),
                )
            )
        }
        result.updated.extend(key for key in pending if key in missed)
        notes = _notes_of(missed)
        gone = [
            row
            for key, row in pending.items()
            if key not in wanted and key not in missed and key not in notes and in_window(row)
        ]
        doomed = [row.id for row in gone]
        result.withdrawn = [row.key for row in gone]
        if doomed:
            await session.execute(delete(OutboxItemRef).where(OutboxItemRef.item_id.in_(doomed)))
            await session.execute(delete(OutboxItem).where(OutboxItem.id.in_(doomed)))
        fresh = [k for k in wanted if k not in pending]
        settled = set()
        if fresh:
            settled = set(
                await session.scalars(select(OutboxItem.key).where(OutboxItem.key.in_(fresh)))
            )
        kept = [row.id for key, row in pending.items() if key in wanted]
        carried: dict[int, dict[tuple[str, str], int]] = {item_id: {} for item_id in kept}
        if kept:
            for ref_id, item_id, kind, ref in await session.execute(
                select(
                    OutboxItemRef.id, OutboxItemRef.item_id, OutboxItemRef.kind, OutboxItemRef.ref
                ).where(OutboxItemRef.item_id.in_(kept))
            ):
                carried[item_id][(kind, ref)] = ref_id
        for key, item in wanted.items():
            row = pending.get(key)
            if row is not None:
                wants = _update_row(row, item)
                has = carried[row.id]
                stale = [ref_id for pair, ref_id in has.items() if pair not in wants]
                if stale:
                    await session.execute(delete(OutboxItemRef).where(OutboxItemRef.id.in_(stale)))
                for kind, ref in sorted(wants - has.keys()):
                    session.add(OutboxItemRef(item_id=row.id, kind=kind, ref=ref))
                result.updated.append(key)
            elif key not in settled:
                await self._add(session, item)
                result.written.append(key)
        return result

    async def retarget(self, platform: str, old_id: str, new_id: str) -> int:
        """Point every pending item for the channel `old_id` at `new_id` instead (a room
        replaced by its upgrade); returns how many moved. DMs and settled items stay.

        Not under the delivery lock: a delivery in flight may be the one asking the platform
        to follow the upgrade (which calls this), and one UPDATE is atomic on its own."""
        async with self._sessions.begin() as session:
            moving = select(OutboxItem.id).where(
                OutboxItem.platform == platform,
                OutboxItem.target == old_id,
                OutboxItem.is_dm.is_(False),
                OutboxItem.status == "pending",
            )
            await _unstamp_items(session, list(await session.scalars(moving)))
            result = await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.platform == platform,
                    OutboxItem.target == old_id,
                    OutboxItem.is_dm.is_(False),
                    OutboxItem.status == "pending",
                )
                # a change no planner made: the next replan compares the row in full
                .values(target=new_id, plan_digest=None)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def forget(
        self, *refs: OutboxRef, retract: bool = True, keys_under: Sequence[str] = ()
    ) -> Forgotten:
        """Withdraw every pending item that carries any of `refs`, delete on the platform every
        sent message that carries something `RETRACTABLE` among them (see the module's
        docstring), and drop every other trace of them: the plan stamps of `refs` themselves
        and of every owner a dropped item carried, and sent posts kept current (`live_post`),
        which are no longer edited and lose their text (their platform copy stays as posted).

        `keys_under`: key prefixes (a deleted owner's, `meetings.12.ab34cd56.`) whose rows go
        too whatever their state, settled ones included, except a deletion on the platform
        still to do (a `retract` row, which carries nothing but where to delete: it stays until
        done); only for an owner that will never plan those keys again. `retract=False` only
        drops the rows, `retract` ones too, for where the bot can delete nothing any more (a
        community it was removed from). One statement per kind of
        reference (per `VARS_CHUNK` of them), not one per reference. Never raises for a
        platform's failure: a message that could not be deleted yet is tried again later and
        reported in `Forgotten.waiting`.
        """
        result = Forgotten()
        if not refs and not keys_under:
            return result
        unnamed = await self._unnamed(refs)
        async with self._lock, self._sessions.begin() as session:
            pending: set[int] = set()
            sent: set[int] = set()
            edited: set[int] = set()
            for (item_id, actor_key), message in unnamed.items():
                if message is None or not retract:
                    sent.add(item_id)  # retracted below (or, without `retract`, dropped)
                    continue
                found = await session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == item_id, OutboxItem.status.in_(("sent", EDIT)))
                    .values(
                        payload=json.dumps(message.to_json()), status=EDIT, attempts=0, note=""
                    )
                    .returning(OutboxItem.id)
                    .execution_options(synchronize_session=False)
                )
                if found.first() is not None:
                    edited.add(item_id)
                await session.execute(
                    delete(OutboxItemRef).where(
                        OutboxItemRef.item_id == item_id,
                        OutboxItemRef.kind == RefKind.NAMED.value,
                        OutboxItemRef.ref == actor_key,
                    )
                )
            for kind, ids in _ids_by_kind(sorted(set(refs), key=_ref_order)).items():
                for names in _chunks(ids, VARS_CHUNK):
                    rows = await session.execute(
                        _CARRYING_ANY, {"kind": kind.value, "refs": list(names)}
                    )
                    for item_id, status in rows:
                        (pending if status == "pending" else sent).add(item_id)
            for prefixes in _chunks(sorted(set(keys_under)), PREFIX_CHUNK):
                under = select(OutboxItem.id, OutboxItem.status).where(
                    or_(*(OutboxItem.key.startswith(p, autoescape=True) for p in prefixes))
                )
                if retract:  # a deletion still to do is done, not dropped
                    under = under.where(OutboxItem.status != RETRACT)
                rows = await session.execute(under)
                for item_id, status in rows:
                    (pending if status == "pending" else sent).add(item_id)
            retracting: set[int] = set()
            if retract:
                for chunk in _chunks(sorted(sent), VARS_CHUNK):
                    retracting.update(
                        await session.scalars(_RETRACTABLE_AMONG, {"ids": list(chunk)})
                    )
                retracting.update(
                    item_id for (item_id, _key), message in unnamed.items() if message is None
                )
            doomed = sorted(pending | (sent - retracting))
            await _unstamp_items(session, sorted(pending | sent))
            for kind, ids in _ids_by_kind(refs).items():
                for names in _chunks(sorted(set(ids)), VARS_CHUNK):
                    await session.execute(
                        _UNSTAMP_OWNERS, {"kind": kind.value, "refs": list(names)}
                    )
            for chunk in _chunks(doomed, VARS_CHUNK):
                await session.execute(_DELETE_REFS, {"ids": list(chunk)})
                await session.execute(_DELETE_ITEMS, {"ids": list(chunk)})
            # what it carried is gone: only where to delete it remains
            for chunk in _chunks(sorted(retracting), VARS_CHUNK):
                await session.execute(_DELETE_REFS, {"ids": list(chunk)})
                await session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_(bindparam("ids", expanding=True)))
                    .values(status=RETRACT, attempts=0, note="", plan_digest=None),
                    {"ids": list(chunk)},
                )
        result.withdrawn = len(pending)
        if edited:
            await self.deliver_due()
        if retracting:
            taken: list[OutboxItem] = []
            async with self._sessions() as session:
                for chunk in _chunks(sorted(retracting), VARS_CHUNK):
                    taken.extend(
                        await session.scalars(
                            select(OutboxItem).where(
                                OutboxItem.id.in_(chunk), OutboxItem.status == RETRACT
                            )
                        )
                    )
            for row in taken:
                outcome = await self._retract_one(row, self._clock.now())
                getattr(result, outcome).append(row.platform)
        return result

    async def _retract_one(self, row: OutboxItem, now: datetime) -> str:
        """Delete one sent item's messages on the platform: "removed", "waiting" or "refused"."""
        if self._retract is None:
            await self._drop(row.id)
            return "refused"
        if self._ready is not None and not self._ready(row.platform):
            return "waiting"  # the adapter runs a delivery pass once connected
        target = Target(row.platform, row.target, row.is_dm)
        try:
            for message_id in (row.platform_message_id or "").split():
                await self._retract(target, message_id)
        except Exception as exc:
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            if permanent or row.attempts + 1 >= MAX_RETRACT_ATTEMPTS:
                await self._drop(row.id)
                log.warning("a sent message could not be deleted on %s: given up", row.platform)
                return "refused"
            async with self._sessions.begin() as session:
                await session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == row.id)
                    .values(attempts=OutboxItem.attempts + 1, note=str(exc)[:255])
                )
            wait = min(timedelta(seconds=30 * (row.attempts + 1)), timedelta(hours=1))
            self._scheduler.at(
                f"outbox.retract.{row.id}", now + wait, self.deliver_due, priority=DELIVERY
            )
            log.info("a sent message could not be deleted on %s yet; retrying", row.platform)
            return "waiting"
        await self._drop(row.id)
        return "removed"

    async def _unnamed(self, refs: Sequence[OutboxRef]) -> dict[tuple[int, str], Message | None]:
        """For each sent post naming a person among `refs` (`OutboxRef.named`): its text without
        them from its owner (`on_unname`), or None where it is to be deleted instead."""
        people = sorted({ref.id for ref in refs if ref.kind is RefKind.MEMBER})
        if not people:
            return {}
        found: list[tuple[int, str, str]] = []
        async with self._sessions() as session:
            for names in _chunks(people, VARS_CHUNK):
                rows = await session.execute(
                    select(OutboxItem.id, OutboxItem.key, OutboxItemRef.ref)
                    .join(OutboxItemRef, OutboxItemRef.item_id == OutboxItem.id)
                    .where(
                        OutboxItemRef.kind == RefKind.NAMED.value,
                        OutboxItemRef.ref.in_(list(names)),
                        OutboxItem.status.in_(("sent", EDIT)),
                    )
                )
                found.extend((item_id, key, ref) for item_id, key, ref in rows)
        unnamed: dict[tuple[int, str], Message | None] = {}
        for item_id, key, actor_key in sorted(found):
            unname = self._unnamer(key)
            unnamed[(item_id, actor_key)] = (
                None if unname is None or self._edit is None else await unname(key, actor_key)
            )
        return unnamed

    async def refresh(self, ref: OutboxRef, message_for: Callable[[str], Message | None]) -> int:
        """Keep the sent posts carrying `ref` (a `live_post`) current; returns how many changed.

        `message_for(key)` is the text the post with that key should show now, or None to leave
        it as it is. A post whose text differs is edited on the platform in this call when it
        can be, else by a later delivery pass (also after a restart). Never raises for a
        platform's failure.
        """
        async with self._lock, self._sessions.begin() as session:
            rows = (
                await session.scalars(
                    select(OutboxItem).where(
                        OutboxItem.status.in_(("sent", EDIT)),
                        OutboxItem.id.in_(_carrying(ref)),
                    )
                )
            ).all()
            changed = 0
            for row in rows:
                message = message_for(row.key)
                if message is None or not row.platform_message_id:
                    continue
                payload = json.dumps(message.to_json())
                if payload == row.payload:
                    continue
                row.payload = payload
                row.status = EDIT
                row.attempts = 0
                changed += 1
        if changed:
            await self.deliver_due()
        return changed

    async def _edit_one(self, row: OutboxItem, now: datetime) -> int:
        """Edit one kept-current post on the platform; 1 when done, 0 when it waits or failed."""
        if self._edit is None or row.payload is None:
            return await self._edit_refused(row, "edit not possible here", now)
        if self._ready is not None and not self._ready(row.platform):
            return 0  # the adapter runs a delivery pass once connected
        target = Target(row.platform, row.target, row.is_dm)
        message = Message.from_json(json.loads(row.payload))
        ids = (row.platform_message_id or "").split()
        try:
            # the last piece of a split message carries the buttons
            await self._edit(target, ids[-1], message, row.key)
        except Exception as exc:
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            if permanent or row.attempts + 1 >= MAX_ATTEMPTS:
                log.warning("a post kept current could not be edited on %s", row.platform)
                return await self._edit_refused(row, str(exc)[:255], now)
            async with self._sessions.begin() as session:
                await session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == row.id)
                    .values(attempts=OutboxItem.attempts + 1, note=str(exc)[:255])
                )
            wait = timedelta(seconds=30 * (row.attempts + 1))
            self._scheduler.at(
                f"outbox.edit.{row.id}", now + wait, self.deliver_due, priority=DELIVERY
            )
            return 0
        await self._settle_edit(row, "")
        return 1

    async def _edit_refused(self, row: OutboxItem, note: str, now: datetime) -> int:
        """An edit the platform will not make: a post edited to leave a person out
        (`on_unname`) is deleted instead; a live post stays as it was."""
        if self._unnamer(row.key) is None:
            await self._settle_edit(row, note)
            return 0
        async with self._sessions.begin() as session:
            await session.execute(delete(OutboxItemRef).where(OutboxItemRef.item_id == row.id))
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == row.id)
                .values(status=RETRACT, attempts=0, note="", payload=None)
            )
        await self._retract_one(row, now)
        return 0

    async def _settle_edit(self, row: OutboxItem, note: str) -> None:
        """Back to `sent`, unless a newer text was asked for meanwhile (then it stays `edit`)."""
        async with self._sessions.begin() as session:
            current = await session.get(OutboxItem, row.id)
            if current is not None and current.payload == row.payload:  # compared decrypted
                current.status = "sent"
                current.attempts = 0
                current.note = note

    async def _drop(self, item_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(OutboxItemRef).where(OutboxItemRef.item_id == item_id))
            await session.execute(delete(OutboxItem).where(OutboxItem.id == item_id))

    async def recover(self) -> Report:
        """At start-up: settle what came due while down, and plan the rest."""
        report = await self.deliver_due()
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxItem.due_at, OutboxItem.early_seconds)
                    .where(OutboxItem.status == "pending")
                    .distinct()
                )
            ).all()
        turns = LoopTurns()
        for due_at, early_seconds in rows:
            self._plan(due_at, early_seconds)
            await turns.take()
        return report

    def _plan(self, due_at: datetime, early_seconds: int = 0) -> None:
        """A pass at `due_at`, and for an item that may go early one `early_seconds` before,
        which decides whether a burst needs it to begin (`_taken`); when every process
        delivers, the others are told too (`on_planned`)."""
        for at in {due_at, due_at - timedelta(seconds=early_seconds)}:
            self.wake_at(at)
            if self.on_planned is not None:
                self.on_planned(at)

    def wake_at(self, due_at: datetime) -> None:
        """Run a delivery pass here at `due_at` (aware UTC; now if it has passed)."""
        when = max(due_at, self._clock.now())
        self._scheduler.at(f"outbox.{when.isoformat()}", when, self.deliver_due, priority=DELIVERY)

    async def next_wake(self) -> datetime | None:
        """When a pass should next look (aware UTC): the next pending item's due time, or the
        earliest moment a lease another process holds on a due item runs out."""
        now = self._clock.now()
        async with self._sessions() as session:
            due = await session.scalar(
                select(func.min(OutboxItem.due_at)).where(
                    OutboxItem.status == "pending", OutboxItem.due_at > now
                )
            )
            leased = await session.scalar(
                select(func.min(OutboxItem.leased_until)).where(
                    OutboxItem.status == "pending",
                    OutboxItem.due_at <= now,
                    OutboxItem.leased_until.is_not(None),
                )
            )
        found = [t for t in (_aware(due), _aware(leased)) if t is not None]
        return min(found) if found else None

    # --- delivering ----------------------------------------------------------------------

    async def deliver_due(self) -> Report:
        """Send every pending item whose time has come, oldest first.

        Each platform's items go through a pool of at most `slots(platform)` sends at once
        (the platform's transport paces them under its own limits); tries are recorded and
        items settled in batches, one transaction for many items (`BEGIN_BATCH`,
        `SETTLE_BATCH`), never two commits per delivery.
        """
        report = Report()
        async with self._lock:
            now = self._clock.now()
            # A round that skipped missed items wrote their late notes (`Instead`), due now:
            # one more round sends them (a note has no note of its own, so two at most).
            for _round in range(2):
                if not await self._deliver_round(now, report):
                    break
            async with self._sessions() as session:
                retractions = (
                    await session.scalars(
                        select(OutboxItem)
                        .where(OutboxItem.status == RETRACT)
                        .order_by(OutboxItem.id)
                    )
                ).all()
            for row in retractions:
                outcome = await self._retract_one(row, now)
                report.retracted += outcome == "removed"
            async with self._sessions() as session:
                edits = (
                    await session.scalars(
                        select(OutboxItem).where(OutboxItem.status == EDIT).order_by(OutboxItem.id)
                    )
                ).all()
            for row in edits:
                report.edited += await self._edit_one(row, now)
            await self._prune(now)
            self.totals.add(report)
        upcoming = await self.next_wake()  # also when a lease held elsewhere runs out
        if upcoming is not None:
            self.wake_at(upcoming)
        return report

    async def _deliver_round(self, now: datetime, report: Report) -> int:
        """One round of `deliver_due` (under its lock): claim, send and settle every pending
        item due at `now` (aware UTC); returns how many late notes the round wrote for items
        it skipped (`Instead`), which are due now too."""
        async with self._sessions() as session:
            items = (
                await session.scalars(
                    select(OutboxItem)
                    .where(
                        OutboxItem.status == "pending",
                        OutboxItem.due_at <= now + timedelta(seconds=MAX_EARLY),
                    )
                    .order_by(OutboxItem.due_at, OutboxItem.id)
                )
            ).all()
        coming: dict[str, list[OutboxItem]] = {}
        for item in items:
            coming.setdefault(item.platform, []).append(item)
        wanted = sorted(
            (
                item
                for platform, rows in coming.items()
                for item in self._taken(platform, rows, now)
            ),
            key=lambda item: (item.due_at, item.id),
        )
        lost_before = report.lost  # sends stopped by `check_lease` count here too
        settler = _Settler(self)
        try:
            # Chunk after chunk, each claimed under leases (module docstring): a chunk
            # another process holds comes back empty here, and this pass moves on.
            for chunk in _chunks(wanted, BEGIN_BATCH):
                batch = await self._claim([item.id for item in chunk])
                by_platform: dict[str, list[tuple[OutboxItem, Lease]]] = {}
                for item, lease in batch:
                    by_platform.setdefault(item.platform, []).append((item, lease))
                await _all(
                    self._deliver_to(platform, rows, now, report, settler)
                    for platform, rows in by_platform.items()
                )
                for item, _lease in batch:
                    self._held.pop(item.id, None)
        finally:
            await settler.flush()
        report.lost += settler.refused
        if report.lost > lost_before:
            log.warning(
                "%d outbox item(s) left to another process: lease lost", report.lost - lost_before
            )
        return settler.notes

    def _taken(
        self, platform: str, coming: Sequence[OutboxItem], now: datetime
    ) -> list[OutboxItem]:
        """What a pass sends of one platform's items due up to `MAX_EARLY` from now (in due
        order): everything due, and the items allowed to go early (`Planned.early_seconds`)
        that the platform's pace could not send on time if it began only at their due time.

        The lead is how long the platform takes for all of them at its pace, so a burst of
        pre-announcements begins early enough to finish on time; an item allowed early that
        is not taken yet gets a pass planned for when the lead reaches it.
        """
        due = [item for item in coming if item.due_at <= now]
        pace = self._pace(platform) if self._pace is not None else None
        if not pace:
            return due
        lead = timedelta(seconds=len(coming) / pace * LEAD_MARGIN)
        early = [
            item
            for item in coming
            if now < item.due_at <= now + timedelta(seconds=item.early_seconds)
        ]
        taken = [item for item in early if item.due_at <= now + lead]
        later = [item.due_at for item in early if item.due_at > now + lead]
        if later:
            when = min(later) - lead
            self._scheduler.at(
                f"outbox.{when.isoformat()}", when, self.deliver_due, priority=DELIVERY
            )
        return due + taken

    # --- leases ----------------------------------------------------------------------------

    def _lease_now(self) -> ColumnElement[Any]:
        """The clock leases are judged by: the server's own (PostgreSQL with a real clock, so
        processes on several hosts agree), else the app's (SQLite, virtual clocks in tests)."""
        if self.lease_on_server:
            return func.clock_timestamp(type_=DateTime(timezone=True))
        return literal(self._clock.now(), OutboxItem.leased_until.type)

    def _lease_until(self) -> ColumnElement[Any]:
        if self.lease_on_server:
            return self._lease_now() + timedelta(seconds=self.lease_seconds)
        return literal(
            self._clock.now() + timedelta(seconds=self.lease_seconds),
            OutboxItem.leased_until.type,
        )

    def _deadline(self, started_monotonic: float) -> float:
        return started_monotonic + self.lease_seconds * (1 - LEASE_MARGIN)

    async def _claim(self, item_ids: Sequence[int]) -> list[tuple[OutboxItem, Lease]]:
        """Lease those of `item_ids` that are still pending and that no other pass holds
        (rows another transaction has locked are skipped, not waited for), in due order."""
        free = (
            select(OutboxItem.id)
            .where(
                OutboxItem.id.in_(item_ids),
                OutboxItem.status == "pending",
                or_(
                    OutboxItem.leased_until.is_(None), OutboxItem.leased_until <= self._lease_now()
                ),
            )
            .with_for_update(skip_locked=True)
        )
        started = time.monotonic()  # before the claim: the local deadline errs early
        async with self._sessions.begin() as session:
            claimed = (
                await session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_(free.scalar_subquery()))
                    .values(
                        lease_token=OutboxItem.lease_token + 1, leased_until=self._lease_until()
                    )
                    .returning(OutboxItem.id, OutboxItem.lease_token)
                    .execution_options(synchronize_session=False)
                )
            ).all()
        if not claimed:
            return []
        leases = {
            item_id: Lease(item_id, token, self._deadline(started)) for item_id, token in claimed
        }
        self._held.update(leases)
        async with self._sessions() as session:
            items = (
                await session.scalars(
                    select(OutboxItem)
                    .where(OutboxItem.id.in_(leases))
                    .order_by(OutboxItem.due_at, OutboxItem.id)
                )
            ).all()
        return [(item, leases[item.id]) for item in items]

    async def _keep(self, lease: Lease) -> bool:
        """Before acting on an item: once half of its lease is used, renew every lease this
        process holds (those another process took are not renewed). Returns whether `lease`
        still holds."""
        if not lease.held():
            return False
        if (
            lease.deadline_monotonic - time.monotonic()
            > self.lease_seconds * (1 - LEASE_MARGIN) / 2
        ):
            return True
        held = list(self._held.values())
        started = time.monotonic()
        async with self._sessions.begin() as session:
            renewed = set(
                await session.scalars(
                    update(OutboxItem)
                    .where(
                        tuple_(OutboxItem.id, OutboxItem.lease_token).in_(
                            [(each.item_id, each.token) for each in held]
                        ),
                        OutboxItem.status == "pending",
                    )
                    .values(leased_until=self._lease_until())
                    .returning(OutboxItem.id)
                    .execution_options(synchronize_session=False)
                )
            )
        for each in held:
            if each.item_id in renewed and each.held():
                each.deadline_monotonic = self._deadline(started)
        return lease.held()

    async def _hold(self, lease: Lease, wait: timedelta) -> None:
        """Keep an item that failed for `wait` (its retry), then let any pass take it."""
        self._held.pop(lease.item_id, None)  # not renewed with the rest of the batch
        until: ColumnElement[Any] = (
            self._lease_now() + wait
            if self.lease_on_server
            else literal(self._clock.now() + wait, OutboxItem.leased_until.type)
        )
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == lease.item_id, OutboxItem.lease_token == lease.token)
                .values(leased_until=until)
                .execution_options(synchronize_session=False)
            )

    async def _release(self, leases: list[Lease]) -> None:
        """Hand items back at once (their platform was not connected here)."""
        if not leases:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxItem)
                .where(
                    tuple_(OutboxItem.id, OutboxItem.lease_token).in_(
                        [(lease.item_id, lease.token) for lease in leases]
                    )
                )
                .values(leased_until=None)
                .execution_options(synchronize_session=False)
            )

    async def release_held(self) -> None:
        """At shutdown: hand back what a pass claimed and did not get to (interrupted)."""
        held, self._held = list(self._held.values()), {}
        await self._release(held)

    async def release_all(self) -> None:
        """SQLite at start-up: leases left in the file are a previous life's (one process)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.leased_until.is_not(None))
                .values(leased_until=None)
                .execution_options(synchronize_session=False)
            )

    async def _deliver_to(
        self,
        platform: str,
        items: Sequence[tuple[OutboxItem, Lease]],
        now: datetime,
        report: Report,
        settler: _Settler,
    ) -> None:
        """One platform's due items (in due order) through a bounded pool of sends."""
        fresh: list[tuple[OutboxItem, Lease]] = []
        for item, lease in items:
            if _missed(item.due_at, item.not_after, now, self.grace):
                # What it led up to (a meeting's start) has begun: leaving it out is the plan,
                # not a delivery fault, however late the pass is.
                reason = _missed_reason(item.due_at, item.not_after, now)
                await settler.add(
                    _Settled(
                        item.id, "skipped", reason, token=lease.token, instead=_instead_of(item)
                    )
                )
                log.warning("outbox item %s skipped: %s", item.key, reason)
                report.skipped += 1
            else:
                fresh.append((item, lease))
        if not fresh:
            return
        if self._ready is not None and not self._ready(platform):
            report.waiting += len(fresh)  # the adapter flushes the outbox once it is connected
            await self._release([lease for _item, lease in fresh])  # others may be connected
            return
        # One lane per room or DM, in due order: sends to different places run side by side,
        # sends to one place one after another, so its readers see them in the order planned
        # (and a place's own rate limit is met by waiting, not by a reordering race).
        lanes: dict[tuple[str, bool], list[tuple[OutboxItem, Lease]]] = {}
        for item, lease in fresh:
            lanes.setdefault((item.target, item.is_dm), []).append((item, lease))
        workers = max(1, min(self._slots(platform) if self._slots else 1, len(lanes)))
        queue: asyncio.Queue[list[tuple[OutboxItem, Lease]] | None] = asyncio.Queue(
            maxsize=workers
        )

        async def begin(batch: list[list[tuple[OutboxItem, Lease]]]) -> None:
            # Only under a lease still this pass's and unexpired (module docstring).
            tried = await self._begin_tries([lease for b in batch for _item, lease in b], now)
            for lane in batch:
                kept = [(item, lease) for item, lease in lane if item.id in tried]
                report.lost += len(lane) - len(kept)
                if kept:
                    await queue.put(kept)

        async def feed() -> None:
            # A try is on record before its send starts, so a crash leaves a lookup to do.
            batch: list[list[tuple[OutboxItem, Lease]]] = []
            for lane in lanes.values():
                batch.append(lane)
                if sum(len(b) for b in batch) >= BEGIN_BATCH:
                    await begin(batch)
                    batch = []
            if batch:
                await begin(batch)
            for _worker in range(workers):
                await queue.put(None)

        async def work() -> None:
            while (lane := await queue.get()) is not None:
                for item, lease in lane:
                    try:
                        await self._send_one(item, lease, now, report, settler)
                    except Exception:
                        # One item's trouble stays its own: the pool's other sends go on (an
                        # error here would cancel them all, leaving their tries on record
                        # with no pass planned), and this item gets a pass after a lookup.
                        log.exception("outbox item %s could not be handled", item.key)
                        await self._plan_retry(item, lease, now)

        await _all([feed(), *(work() for _ in range(workers))])

    async def _send_one(
        self, item: OutboxItem, lease: Lease, now: datetime, report: Report, settler: _Settler
    ) -> None:
        """Deliver one item whose try is recorded: look it up first if an earlier try may have
        reached the platform, then send it (only while `lease` holds) and hand its outcome to
        `settler`."""
        if not await self._keep(lease):
            report.lost += 1
            return
        lateness = now - item.due_at
        target = Target(item.platform, item.target, item.is_dm)
        if item.first_try_at is not None and self._find_sent is not None:
            try:
                found = await self._find_sent(target, item.key, item.first_try_at)
            except Exception as exc:
                log.warning(
                    "outbox item %s: could not read the platform's record (%s); sending again",
                    item.key,
                    type(exc).__name__ if not isinstance(exc, DeliveryError) else exc,
                )
                found = None
            if found is not None:
                await settler.add(
                    _Settled(item.id, "sent", "found on the platform", found, token=lease.token)
                )
                report.found += 1
                return
        try:  # pending rows always hold their message; one that cannot be read is given up
            message = Message.from_json(json.loads(item.payload or ""))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # Sending again would not make it readable: given up now, not tried every pass.
            note = f"unreadable message ({exc})"[:255]
            await settler.add(_Settled(item.id, "failed", note, token=lease.token))
            report.failed += 1
            log.error("outbox item %s holds a message that cannot be read", item.key)
            return
        if lateness > LATE_AFTER:
            message = message.with_prefix(_("(late) "))
        current = _CURRENT_LEASE.set(lease)
        try:
            check_lease()
            message_id = await self._deliver(target, message, item.key)
        except LeaseLost:
            report.lost += 1
            return
        except Exception as exc:
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            if permanent or item.attempts + 1 >= MAX_ATTEMPTS:
                await settler.add(_Settled(item.id, "failed", str(exc)[:255], token=lease.token))
                report.failed += 1
                log.error("an outbox item could not be delivered and was given up")
            else:
                await self._plan_retry(item, lease, now)
            if isinstance(exc, DeliveryError):
                log.warning("outbox item %s not delivered: %s", item.key, exc)
            else:
                log.exception("outbox item %s failed in the adapter", item.key)
            return
        finally:
            _CURRENT_LEASE.reset(current)
        late = lateness > LATE_AFTER
        await settler.add(
            _Settled(item.id, "sent", "late" if late else "", message_id, token=lease.token)
        )
        report.sent += 1
        if late:
            report.late += 1

    async def _plan_retry(self, item: OutboxItem, lease: Lease, now: datetime) -> None:
        """A pass for `item` 30 seconds after `now` per try so far (its try is on record, so
        that pass looks it up before sending again); no pass takes it before then."""
        wait = timedelta(seconds=30 * (item.attempts + 1))
        self._scheduler.at(
            f"outbox.retry.{item.id}", now + wait, self.deliver_due, priority=DELIVERY
        )
        try:
            await self._hold(lease, wait)
        except Exception:  # its lease runs out on its own; the retry is planned either way
            log.exception("outbox item %s: could not hold it for its retry", item.key)

    async def _begin_tries(self, leases: Sequence[Lease], now: datetime) -> set[int]:
        """Record a try of each item (attempts + 1, the first try's time) in one transaction,
        only where the lease is unexpired and still this pass's; returns those items' ids (the
        try is what lets a later holder look the send up on the platform before resending)."""
        async with self._sessions.begin() as session:
            tried = await session.scalars(
                update(OutboxItem)
                .where(
                    tuple_(OutboxItem.id, OutboxItem.lease_token).in_(
                        [(lease.item_id, lease.token) for lease in leases]
                    ),
                    OutboxItem.leased_until > self._lease_now(),
                )
                .values(
                    attempts=OutboxItem.attempts + 1,
                    first_try_at=func.coalesce(
                        OutboxItem.first_try_at, literal(now, OutboxItem.first_try_at.type)
                    ),
                )
                .returning(OutboxItem.id)
                .execution_options(synchronize_session=False)
            )
            return set(tried)

    async def _mark_many(self, marks: Sequence[_Settled], now: datetime) -> tuple[int, int]:
        """Settle items in one transaction: only key, status, due time, the platform's id and
        a reason remain. Returns (how many were refused: another pass claimed them since, their
        token moved on, so that pass settles them; how many late notes (`Instead`) were written
        for items skipped, due now). The rows are locked while checked, so a late mark either
        lands before a takeover's claim (which then finds the item settled) or not at all.

        A sent item that carries something `RETRACTABLE` also keeps its target and references
        (never its text), so deleting that thing can delete the message on the platform.
        """
        async with self._sessions.begin() as session:
            owned = set(
                await session.scalars(
                    select(OutboxItem.id)
                    .where(
                        tuple_(OutboxItem.id, OutboxItem.lease_token).in_(
                            [(m.item_id, m.token) for m in marks]
                        )
                    )
                    .with_for_update()
                )
            )
            refused = len(marks) - len(owned)
            marks = [m for m in marks if m.item_id in owned]
            if not marks:
                return refused, 0
            # Skipped under this pass's own token: their late notes, in the same transaction
            # as the skip (before their references go), so a note is written with it or not
            # at all, whatever stops in between.
            written = 0
            late = [m for m in marks if m.status == "skipped" and m.instead is not None]
            if late:
                pairs: dict[int, set[tuple[str, str]]] = {m.item_id: set() for m in late}
                for item_id, kind_name, ref in await session.execute(
                    select(OutboxItemRef.item_id, OutboxItemRef.kind, OutboxItemRef.ref).where(
                        OutboxItemRef.item_id.in_(list(pairs))
                    )
                ):
                    pairs[item_id].add((kind_name, ref))
                notes = [(*m.instead, pairs[m.item_id]) for m in late if m.instead is not None]
                written = len(await _write_instead(session, notes, now, self.grace))
            sent = [m.item_id for m in marks if m.status == "sent" and m.message_id]
            keep: set[int] = set()
            live: set[int] = set()
            named: set[int] = set()
            if sent:
                keep = set(
                    await session.scalars(
                        select(OutboxItemRef.item_id)
                        .where(
                            OutboxItemRef.item_id.in_(sent),
                            OutboxItemRef.kind.in_([kind.value for kind in RETRACTABLE]),
                        )
                        .distinct()
                    )
                )
                live = (
                    set(
                        await session.scalars(
                            select(OutboxItemRef.item_id)
                            .where(
                                OutboxItemRef.item_id.in_(sent),
                                OutboxItemRef.kind == RefKind.LIVE_POST.value,
                            )
                            .distinct()
                        )
                    )
                    - keep
                )
                # a post naming people (`OutboxRef.named`) keeps where it is and whom it
                # names, never its text, so erasing one of them edits the name out
                named = (
                    set(
                        await session.scalars(
                            select(OutboxItemRef.item_id)
                            .where(
                                OutboxItemRef.item_id.in_(sent),
                                OutboxItemRef.kind == RefKind.NAMED.value,
                            )
                            .distinct()
                        )
                    )
                    - keep
                    - live
                )
            dropped = [m.item_id for m in marks if m.item_id not in keep]
            if dropped:
                await session.execute(
                    delete(OutboxItemRef).where(
                        OutboxItemRef.item_id.in_(dropped),
                        # a post kept current keeps only what finds it again, and its
                        # community, so erasing the community drops its text and place too
                        ~(
                            OutboxItemRef.item_id.in_(live)
                            & OutboxItemRef.kind.in_(
                                (RefKind.LIVE_POST.value, RefKind.COMMUNITY.value)
                            )
                        ),
                        ~(
                            OutboxItemRef.item_id.in_(named)
                            & OutboxItemRef.kind.in_(
                                (RefKind.NAMED.value, RefKind.COMMUNITY.value)
                            )
                        ),
                    )
                )
            for kind in ("keep", "live", "plain"):
                rows: list[dict[str, Any]] = [
                    {
                        "id": m.item_id,
                        "status": m.status,
                        "settled_at": now,
                        "note": m.note,
                        "platform_message_id": m.message_id,
                        "leased_until": None,
                        "plan_digest": None,
                        "instead": None,
                        # a live post keeps its public text, so an edit is made only on a change
                        **({} if kind == "live" else {"payload": None}),
                        **({} if kind != "plain" else {"target": ""}),
                    }
                    for m in marks
                    if kind
                    == (
                        "keep"
                        if m.item_id in keep or m.item_id in named
                        else "live"
                        if m.item_id in live
                        else "plain"
                    )
                ]
                if rows:  # SQLAlchemy's bulk UPDATE by primary key: one executemany
                    await session.execute(update(OutboxItem), rows)
        return refused, written

    async def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        await self.prune()

    async def prune(self) -> int:
        """Delete settled items due more than `keep_settled` ago; returns how many went.

        Sent items kept to be deleted on the platform later (they still carry references) and
        retractions and edits still to do stay; posts kept current expire like other rows.
        """
        cutoff = self._clock.now() - self.keep_settled
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(OutboxItem).where(
                    OutboxItem.status.not_in(("pending", RETRACT, EDIT)),
                    OutboxItem.due_at < cutoff,
                    OutboxItem.id.not_in(
                        select(OutboxItemRef.item_id).where(
                            OutboxItemRef.kind.not_in(
                                (RefKind.LIVE_POST.value, RefKind.COMMUNITY.value)
                            )
                        )
                    ),
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    # --- reading -------------------------------------------------------------------------

    async def known(self, owner: OutboxRef) -> dict[str, str]:
        """Key -> status of the pending items that carry `owner`."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(OutboxItem.key, OutboxItem.status).where(
                    OutboxItem.id.in_(_carrying(owner))
                )
            )
            return {key: status for key, status in rows}

    async def latest_pending(self, owner: OutboxRef) -> datetime | None:
        """The due time (aware UTC) of `owner`'s last pending item, None when it has none."""
        async with self._sessions() as session:
            latest = await session.scalar(
                select(func.max(OutboxItem.due_at)).where(
                    OutboxItem.status == "pending", OutboxItem.id.in_(_carrying(owner))
                )
            )
        return _aware(latest)

    async def latest_pending_many(
        self, owners: Sequence[OutboxRef]
    ) -> dict[OutboxRef, datetime | None]:
        """`latest_pending` for many owners in a few statements (one per 500 of a kind)."""
        return await self._pending_due_many(owners, latest=True)

    async def earliest_pending_many(
        self, owners: Sequence[OutboxRef]
    ) -> dict[OutboxRef, datetime | None]:
        """The due time (aware UTC) of each owner's first pending item, None without one, in a
        few statements (one per 500 of a kind): what a delivery pass would send first."""
        return await self._pending_due_many(owners, latest=False)

    async def _pending_due_many(
        self, owners: Sequence[OutboxRef], *, latest: bool
    ) -> dict[OutboxRef, datetime | None]:
        found: dict[OutboxRef, datetime | None] = dict.fromkeys(owners)
        bound = func.max if latest else func.min
        async with self._sessions() as session:
            for kind, ids in _ids_by_kind(owners).items():
                for chunk in _chunks(ids, IN_CHUNK):
                    rows = await session.execute(
                        select(OutboxItemRef.ref, bound(OutboxItem.due_at))
                        .join(OutboxItem, OutboxItem.id == OutboxItemRef.item_id)
                        .where(
                            OutboxItemRef.kind == kind.value,
                            OutboxItemRef.ref.in_(chunk),
                            OutboxItem.status == "pending",
                        )
                        .group_by(OutboxItemRef.ref)
                    )
                    for ref, due_at in rows:
                        found[OutboxRef(kind, ref)] = _aware(due_at)
        return found

    async def live_actions(self, platform: str, message_id: str) -> tuple[Action, ...]:
        """The buttons a post kept current shows now, found by the platform's id of its last
        piece (a Matrix event id a member reacted to); empty when it is no such post or has
        expired. Lets a reaction press a button after a restart too."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(OutboxItem).where(
                        OutboxItem.platform == platform,
                        OutboxItem.status.in_(("sent", EDIT)),
                        OutboxItem.payload.is_not(None),
                        (OutboxItem.platform_message_id == message_id)
                        | OutboxItem.platform_message_id.like(f"% {message_id}"),
                    )
                )
            ).all()
        for row in rows:
            if row.payload is not None and (row.platform_message_id or "").split()[-1:] == [
                message_id
            ]:
                return Message.from_json(json.loads(row.payload)).actions
        return ()

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these idempotency keys have a row (pending or settled: sent, skipped,
        failed), in a few statements (one per 500)."""
        found: set[str] = set()
        async with self._sessions() as session:
            for chunk in _chunks(sorted(set(keys)), IN_CHUNK):
                found.update(
                    await session.scalars(select(OutboxItem.key).where(OutboxItem.key.in_(chunk)))
                )
        return found

    async def status_of(self, key: str) -> str | None:
        """The state of one promised message (pending, sent, skipped, failed), None if unknown.

        A withdrawn item is deleted, so it reads as None.
        """
        async with self._sessions() as session:
            return await session.scalar(select(OutboxItem.status).where(OutboxItem.key == key))


@dataclass(frozen=True, slots=True)
class _Pending:
    """What a replan reads of a pending row before it knows whether the row must change."""

    id: int
    due_at: datetime
    digest: str | None


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate's datetime as aware UTC (SQLite aggregates lose the column type)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


IN_CHUNK = 500  # values per IN (...) list: well inside every database's parameter limit
# Values per expanding IN list where one statement should take many (`forget`): under SQLite's
# default limit of 32,766 bound variables (3.32+) and asyncpg's 32,767 arguments.
VARS_CHUNK = 30_000
PREFIX_CHUNK = 200  # key prefixes per statement (each a LIKE of its own)
INSERT_CHUNK = 200  # rows per multi-row INSERT
ITEMS = cast(Table, OutboxItem.__table__)
REFS = cast(Table, OutboxItemRef.__table__)
STAMPS = cast(Table, OutboxPlanStamp.__table__)


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _row(item: Planned) -> OutboxItem:
    """A new pending row for `item` (its references are added once it has an id)."""
    return OutboxItem(**_values(item))


def _missed(due_at: datetime, not_after: datetime | None, now: datetime, grace: timedelta) -> bool:
    """What can no longer be sent at `now` (aware UTC): due longer than `grace` ago, or what it
    led up to began (`not_after` passed). Delivery passes and planners both ask this."""
    return now - due_at > grace or (not_after is not None and now > not_after)


def _instead_of(item: OutboxItem) -> tuple[Target, Instead] | None:
    """A pending row's late note (`Instead`) with its target; None without one, or when what
    is stored cannot be read (logged: a missed item then stays without its note)."""
    if not item.instead:
        return None
    try:
        note = Instead.from_json(item.instead)
    except (ValueError, TypeError, KeyError, AttributeError):
        log.error("outbox item %s holds a late note that cannot be read", item.key)
        return None
    return Target(item.platform, item.target, item.is_dm), note


def _notes_of(missed: dict[str, Planned]) -> set[str]:
    """The keys of the late notes (`Instead`) of these missed items: a replan that still
    wants the items leaves their notes as they are (written once, when the item was skipped)."""
    return {item.instead.key for item in missed.values() if item.instead is not None}


async def _write_instead(
    session: AsyncSession,
    notes: Sequence[tuple[Target, Instead, set[tuple[str, str]]]],
    now: datetime,
    grace: timedelta,
) -> list[str]:
    """Write the late notes of items being recorded as skipped in this transaction: each
    (target, note, the (kind, ref) pairs the skipped item carried) as a pending item due `now`
    (aware UTC), unless its `not_after` has passed. A key already held (the note was written
    before) is left as it is. Returns the keys written."""
    rows: list[dict[str, Any]] = []
    carried: dict[str, set[tuple[str, str]]] = {}
    for target, note, pairs in notes:
        if _missed(now, note.not_after, now, grace) or note.key in carried:
            continue
        item = Planned(note.key, target, note.message, now, note.not_after)
        content = _content(item)
        rows.append(
            {
                "key": note.key,
                **content,
                "plan_digest": _plan_digest(content, pairs),
                "status": "pending",
                "attempts": 0,
                "note": "",
                "lease_token": 0,
            }
        )
        carried[note.key] = pairs
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    add = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ITEMS)
    add_new = add.on_conflict_do_nothing(index_elements=["key"]).returning(ITEMS.c.id, ITEMS.c.key)
    written: dict[str, int] = {}
    for chunk in _chunks(rows, INSERT_CHUNK):
        written.update((key, item_id) for item_id, key in await session.execute(add_new, chunk))
    refs = [
        {"item_id": item_id, "kind": kind, "ref": ref}
        for key, item_id in written.items()
        for kind, ref in sorted(carried[key])
    ]
    for chunk in _chunks(refs, INSERT_CHUNK):
        await session.execute(insert(REFS), chunk)
    return sorted(written)


def _missed_reason(due_at: datetime, not_after: datetime | None, now: datetime) -> str:
    """The note a skipped row keeps: why it was never sent."""
    if not_after is not None and now > not_after:
        return "no longer useful: what it led up to had already begun, so it was left out"
    return f"stale by {int((now - due_at).total_seconds())}s"


def _content(item: Planned) -> dict[str, Any]:
    """What `item` says of a pending row: where, what, and when (by attribute name)."""
    return {
        "platform": item.target.platform,
        "target": item.target.target,
        "is_dm": item.target.is_dm,
        "payload": json.dumps(item.message.to_json()),
        "due_at": item.due_at,
        "not_after": item.not_after,
        "early_seconds": item.early_seconds,
        "instead": None if item.instead is None else item.instead.to_json(),
    }


def _plan_digest(content: dict[str, Any], refs: set[tuple[str, str]]) -> str:
    """The keyed digest of what a pending row says (`_content`) and carries ((kind, ref)).

    Stored with the row (`OutboxItem.plan_digest`): a replan compares it with the wanted item's
    and reads the row's text only when they differ. Keyed (the tag secret), so a reader of the
    database alone cannot test a guessed text against it.
    """
    due, not_after = content["due_at"], content["not_after"]
    # The payload (JSON text already) goes after the other fields' JSON, raw: quoting it inside
    # that JSON cost as much as the rest of the digest. Unambiguous, since `json.dumps` writes no
    # raw line break, so the first one ends the fields.
    fields = json.dumps(
        [
            content["platform"],
            content["target"],
            content["is_dm"],
            due.isoformat(),
            None if not_after is None else not_after.isoformat(),
            content["early_seconds"],
            sorted(refs),
        ],
        separators=(",", ":"),
    )
    # A late note (`Instead`, JSON without raw line breaks too) follows on a line of its own;
    # items without one keep the digest they had before notes existed.
    note = "" if content["instead"] is None else f"\n{content['instead']}"
    return crypto.keyed_digest(f"{fields}\n{content['payload']}{note}", "outbox.plan_digest")


def _ref_pairs(item: Planned) -> set[tuple[str, str]]:
    """The (kind, ref) pairs a pending row for `item` carries."""
    return {(ref.kind.value, ref.id) for ref in _refs(item.target, item.refs)}


def _values(item: Planned) -> dict[str, Any]:
    """The column values of a new pending row for `item`, by attribute name."""
    content = _content(item)
    return {
        "key": item.key,
        **content,
        "plan_digest": _plan_digest(content, _ref_pairs(item)),
        "status": "pending",
        "attempts": 0,
        "note": "",
        "lease_token": 0,
    }


def _update_row(row: OutboxItem, item: Planned) -> set[tuple[str, str]]:
    """Make a pending row say what `item` says; returns the (kind, ref) pairs it must carry.

    Only what differs is written: a restart replans every pending row, and almost all of them
    are as wanted already (rewriting their references each time made a restart slower than the
    first start).
    """
    content = _content(item)
    for name, value in content.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    pairs = _ref_pairs(item)
    digest = _plan_digest(content, pairs)
    if row.plan_digest != digest:
        row.plan_digest = digest
    return pairs


def _ref_order(ref: OutboxRef) -> tuple[str, str]:
    return (ref.kind.value, ref.id)


# `forget`'s statements, each with an expanding IN list (compiled once, whatever its length):
# ids of the items carrying any of `refs` of one `kind`, with their status...
_CARRYING_ANY = select(OutboxItem.id, OutboxItem.status).where(
    OutboxItem.id.in_(
        select(OutboxItemRef.item_id).where(
            OutboxItemRef.kind == bindparam("kind"),
            OutboxItemRef.ref.in_(bindparam("refs", expanding=True)),
        )
    )
)
# ...those of the items `ids` that carry something retractable...
_RETRACTABLE_AMONG = (
    select(OutboxItemRef.item_id)
    .where(
        OutboxItemRef.item_id.in_(bindparam("ids", expanding=True)),
        OutboxItemRef.kind.in_(sorted(kind.value for kind in RETRACTABLE)),
    )
    .distinct()
)
# ...dropping the stamps of the owners `refs` of one `kind`, of every owner the items `ids`
# carry, and the items' references and rows.
_UNSTAMP_OWNERS = delete(OutboxPlanStamp).where(
    OutboxPlanStamp.kind == bindparam("kind"),
    OutboxPlanStamp.ref.in_(bindparam("refs", expanding=True)),
)
_UNSTAMP_CARRIED = delete(OutboxPlanStamp).where(
    tuple_(OutboxPlanStamp.kind, OutboxPlanStamp.ref).in_(
        select(OutboxItemRef.kind, OutboxItemRef.ref).where(
            OutboxItemRef.item_id.in_(bindparam("ids", expanding=True))
        )
    )
)
_DELETE_REFS = delete(OutboxItemRef).where(
    OutboxItemRef.item_id.in_(bindparam("ids", expanding=True))
)
_DELETE_ITEMS = delete(OutboxItem).where(OutboxItem.id.in_(bindparam("ids", expanding=True)))


def _carrying(ref: OutboxRef) -> Select[Any]:
    return select(OutboxItemRef.item_id).where(
        OutboxItemRef.kind == ref.kind.value, OutboxItemRef.ref == ref.id
    )


@dataclass(frozen=True)
class _Settled:
    """How one item of a delivery pass ended, to be written with others (`_Settler`)."""

    item_id: int
    status: str
    note: str
    message_id: str | None = None
    token: int = 0  # the lease's fencing token the outcome was reached under
    # a skipped item's late note and where it goes, written if the skip is (`Instead`)
    instead: tuple[Target, Instead] | None = None


class _Settler:
    """The outcomes of one delivery pass, written in batches: every `SETTLE_BATCH` items or
    `SETTLE_EVERY_SECONDS`, whichever comes first, and once more when the pass ends.

    An outcome not yet written when the process dies leaves its item pending with a try on
    record, which the next pass resolves with a lookup (`find_sent`) before any resend.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._marks: list[_Settled] = []
        self._written_at = asyncio.get_running_loop().time()
        self._lock = asyncio.Lock()
        self.refused = 0  # outcomes not written: another pass had claimed the item since
        self.notes = 0  # late notes written for items skipped (`Instead`)

    async def add(self, mark: _Settled) -> None:
        self._marks.append(mark)
        elapsed = asyncio.get_running_loop().time() - self._written_at
        if len(self._marks) >= SETTLE_BATCH or elapsed >= SETTLE_EVERY_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            marks, self._marks = self._marks, []
            self._written_at = asyncio.get_running_loop().time()
            if marks:
                refused, notes = await self._outbox._mark_many(marks, self._outbox._clock.now())
                self.refused += refused
                self.notes += notes


async def _all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run `coroutines` at once; when one raises, cancel the rest and raise that.

    `asyncio.TaskGroup` would wrap the error in an ExceptionGroup; callers (and a crash in the
    middle of a send) expect the error itself.
    """
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
