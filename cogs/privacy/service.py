"""Export and erase across every cog, the core's own rows, presence and retention.

Erasure reaches every shipped cog, loaded or not: a cog switched off still has its tables, and
a member who asks to be forgotten must not depend on what happens to be switched on today.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from bot.core import (
    AuditEntry,
    Clock,
    Cog,
    CogDirectory,
    Community,
    Database,
    Forgotten,
    Member,
    MemberService,
    Message,
    Outbox,
    OutboxItem,
    OutboxRef,
    Profile,
    Setting,
    SettingsService,
    Target,
    actor_tag,
    export_row,
    render_parts,
    scrub_free_space,
)
from cogs.privacy.models import EraseCode, Presence

log = logging.getLogger("circlebot.privacy")


@dataclass(frozen=True)
class Departing:
    """A person every community of whom has a retention period: when it passes for them.

    `community_id` and `days`: the community whose period passes last (the warning names
    it); `last_seen`: their last activity there (or when the period was turned on, if later);
    `erase_at` = `last_seen` + `days` (aware UTC); `warned_at`: when they were warned of it
    (None: not yet).
    """

    actor_key: str
    community_id: int
    days: int
    last_seen: datetime
    erase_at: datetime
    warned_at: datetime | None = None  # see `Presence.warned_at` (in that community)


def _warning_key(person: Departing) -> str:
    """The outbox key of the warning before one erase: a keyed tag of the person (no account
    id in keys) and the day the erase is due."""
    tag = actor_tag(person.actor_key, "retention", length=16)
    return f"privacy.retention_warning.{tag}.{person.erase_at.astimezone(UTC):%Y%m%d}"


FORMER_MEMBER = "a former member"
SCOPE = "privacy"
RETENTION_DAYS = "retention_days"
RETENTION_SINCE = "retention_since"
EXPORT_FORMAT = "circlebot-member-export-1"


YOU = "you"
ANOTHER_MEMBER = "another member"
# An account id as rows store it: a platform name, a colon, an id (Matrix ids have colons too).
ACCOUNT_LIKE = re.compile(r"\b[a-z][a-z0-9_-]{1,19}:[^\s,;\"'`()<>\[\]{}]+")


def _message_text(payload: str) -> str:
    """What a stored message says, as plain text (times in UTC, a card's lines after it)."""
    message = Message.from_json(json.loads(payload))
    text = render_parts(message.text, lambda w: w.at.isoformat())
    if message.card is not None:
        card = message.card
        lines = [card.title, card.description, *(f"{f.name}: {f.value}" for f in card.fields)]
        text = "\n".join([text, *(line for line in lines if line)]).strip()
    return text


PLACE_FIELDS = {"place_key", "outbox_key"}  # end like a person's field, hold something else


def _person_fields(value: Any) -> set[str]:
    """Values of fields that hold a person's account (`*_key`, `*_by`, `target`)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                person = str(key).endswith(("_key", "_by")) or key == "target"
                if person and key not in PLACE_FIELDS and isinstance(inner, str):
                    if ACCOUNT_LIKE.fullmatch(inner):
                        found.add(inner)
                else:
                    stack.append(inner)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


def _strings(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, str):
            out.append(item)
    return out


def _replace_keys(value: Any, names: dict[str, str]) -> Any:
    """`value` with every account id in `names` replaced by its name, in keys and in text."""
    if not names:
        return value
    pattern = re.compile("|".join(re.escape(k) for k in sorted(names, key=len, reverse=True)))

    def swap(text: str) -> str:
        return pattern.sub(lambda m: names[m.group(0)], text)

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {swap(str(k)) if isinstance(k, str) else k: walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        if isinstance(item, str):
            return swap(item)
        return item

    return walk(value)


class PrivacyService:
    """One public method = one piece of work over the whole database."""

    def __init__(
        self,
        *,
        clock: Clock,
        cogs: CogDirectory,
        db: Database,
        outbox: Outbox,
        settings: SettingsService,
        members: MemberService,
    ) -> None:
        self.clock = clock
        self.members = members
        self.cogs = cogs
        self.db = db
        self.outbox = outbox
        self.settings = settings
        self._sessions = db.sessions
        self._touched: dict[tuple[int, str], str] = {}

    def every_cog(self) -> list[Cog]:
        """Loaded cogs, plus a bare instance of each shipped cog that is switched off."""
        return self.cogs.every_cog()

    # ------------------------------------------------------------------ export

    async def export(self, actor_key: str) -> dict[str, Any]:
        """Everything stored about one person, decrypted, grouped by cog.

        Other people appear only by the pseudonym they chose in a community the person shares
        with them, else as "another member"; the person's own account id appears as "you"
        (and once, under "account"). Shape: {"format", "account", "exported_at",
        "communities": {id: name}, "cogs": {cog: {...}}, "core": {...}}.
        """
        cogs: dict[str, Any] = {}
        for cog in self.every_cog():
            cogs[cog.name] = await cog.export_user_data(actor_key)
        body = {"cogs": cogs, "core": await self.core_export(actor_key)}
        names = await self._names_for(actor_key, body)
        return {
            "format": EXPORT_FORMAT,
            "account": actor_key,
            "exported_at": self.clock.now().isoformat(),
            "communities": await self._communities_of(actor_key),
            **_replace_keys(body, names),
        }

    async def _communities_of(self, actor_key: str) -> dict[str, str]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(Community.id, Community.name)
                .join(Member, Member.community_id == Community.id)
                .where(Member.actor_key == actor_key)
            )
            return {str(cid): name for cid, name in rows}

    async def _names_for(self, actor_key: str, body: Any) -> dict[str, str]:
        """Account id -> how the export shows it, for every person the export mentions."""
        named = _person_fields(body)  # in a field that holds a person: a person, known or not
        found = {m for text in _strings(body) for m in ACCOUNT_LIKE.findall(text)} | named
        found.discard(actor_key)
        names = {actor_key: YOU}
        if not found:
            return names
        async with self._sessions() as session:
            mine = select(Member.community_id).where(Member.actor_key == actor_key)
            people: set[str] = set()
            keys = sorted(found)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                people.update(
                    await session.scalars(
                        select(Member.actor_key).where(Member.actor_key.in_(chunk))
                    )
                )
                people.update(
                    await session.scalars(
                        select(Profile.actor_key).where(Profile.actor_key.in_(chunk))
                    )
                )
                rows = await session.execute(
                    select(Member.actor_key, Member.pseudonym)
                    .where(
                        Member.actor_key.in_(chunk),
                        Member.community_id.in_(mine),
                        Member.pseudonym.is_not(None),
                    )
                    .order_by(Member.community_id)
                )
                for key, pseudonym in rows:
                    if pseudonym:
                        names.setdefault(key, pseudonym)
        for key in people | (named - {actor_key}):
            names.setdefault(key, ANOTHER_MEMBER)
        return names

    async def core_export(self, actor_key: str) -> dict[str, Any]:
        """Rows of the core no cog owns: moderator actions, messages to the person, presence."""
        async with self._sessions() as session:
            audit = await session.scalars(
                select(AuditEntry).where(AuditEntry.actor_key == actor_key).order_by(AuditEntry.id)
            )
            messages = await session.scalars(
                select(OutboxItem)
                .where(
                    OutboxItem.is_dm.is_(True),
                    OutboxItem.target == actor_key,
                    OutboxItem.status == "pending",
                )
                .order_by(OutboxItem.id)
            )
            return {
                "moderator_actions": [export_row(r) for r in audit],
                "messages_to_you": [
                    {
                        **export_row(r, skip=("payload", "key", "attempts", "note")),
                        "message": _message_text(r.payload) if r.payload else "",
                    }
                    for r in messages
                ],
            }

    # ------------------------------------------------------------------ erase

    async def erase(self, actor_key: str) -> Forgotten:
        """Every cog's deletion hook, then the core's rows, then free space is overwritten.

        Messages with the person's words or name are forgotten first, before any hook runs:
        every such message carries them (`OutboxRef.member`), and while nothing is deleted yet,
        every sent one that can be taken back is still on record, so it is deleted on the
        platform (now, or by later delivery passes until the platform allows it) whatever a
        hook then removes. Once more at the end, for anything planned meanwhile.

        Returns what happened to messages already posted with the person's words or name
        (deleted on the platform now, or later once it is reachable).
        """
        gone = await self.outbox.forget(OutboxRef.member(actor_key))
        for cog in self.every_cog():
            await cog.delete_user_data(actor_key)
        async with self._sessions.begin() as session:
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.actor_key == actor_key)
                .values(actor_key=FORMER_MEMBER)
            )
        gone.add(await self.outbox.forget(OutboxRef.member(actor_key)))
        await scrub_free_space(self.db)
        return gone

    async def erase_community(self, community_id: int) -> None:
        """Erase a community the bot was removed from: every cog's rows for it (switched-off
        cogs too) and all they planned in the outbox, the outbox items that still belong to it,
        then its row and, through the foreign keys, the core's rows tied to it. Nothing is
        deleted on the platform, where the bot is no longer present."""
        for cog in self.every_cog():
            await cog.delete_community_data(community_id)
        await self.outbox.forget(OutboxRef.community(community_id), retract=False)
        await self.members.erase_community(community_id)

    # ------------------------------------------------------------------ erase confirmation

    async def new_erase_code(self, actor_key: str, code: str, expires_at: datetime) -> None:
        """Store the code the member must type back (replacing an older one)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(EraseCode).where(EraseCode.actor_key == actor_key))
            session.add(EraseCode(actor_key=actor_key, code=code, expires_at=expires_at))

    async def erase_code(self, actor_key: str) -> tuple[str, datetime] | None:
        """The member's waiting code and when it expires, if any."""
        async with self._sessions() as session:
            row = await session.get(EraseCode, actor_key)
            return None if row is None else (row.code, row.expires_at)

    async def forget_erase_code(self, actor_key: str) -> None:
        """Drop a waiting code (used, replaced, or erased with the person)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(EraseCode).where(EraseCode.actor_key == actor_key))

    async def presence(self, actor_key: str) -> list[dict[str, Any]]:
        """The days the person was last seen, per community."""
        async with self._sessions() as session:
            rows = await session.scalars(select(Presence).where(Presence.actor_key == actor_key))
            return [export_row(r, skip=("id", "actor_key")) for r in rows]

    async def forget_community_presence(self, community_id: int) -> None:
        """Drop the presence rows of one community."""
        async with self._sessions.begin() as session:
            await session.execute(delete(Presence).where(Presence.community_id == community_id))
        self._touched = {k: v for k, v in self._touched.items() if k[0] != community_id}

    async def forget_presence(self, actor_key: str) -> None:
        """Drop the person's presence rows."""
        async with self._sessions.begin() as session:
            await session.execute(delete(Presence).where(Presence.actor_key == actor_key))
        self._touched = {k: v for k, v in self._touched.items() if k[1] != actor_key}

    # ------------------------------------------------------------------ presence & retention

    async def touch(self, community_id: int, actor_key: str) -> None:
        """Note that the person was here today (written at most once a day per community)."""
        now = self.clock.now()
        day = now.date().isoformat()
        if self._touched.get((community_id, actor_key)) == day:
            return
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(Presence).where(
                    Presence.community_id == community_id, Presence.actor_key == actor_key
                )
            )
            if row is None:
                session.add(Presence(community_id=community_id, actor_key=actor_key, seen_at=now))
            else:
                row.seen_at = now
                row.warned_at = None  # here again: a retention warning is called off
        self._touched[(community_id, actor_key)] = day

    async def retention_periods(self) -> dict[int, tuple[int, datetime]]:
        """Community id -> (days, since when the period counts) for communities that set one.

        The period starts counting when a moderator turns it on, so turning it on never erases
        people at once for having been quiet before anyone decided on a period.
        """
        now = self.clock.now()
        settings = self.settings
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(Setting.community_id).where(
                        Setting.scope == SCOPE, Setting.key == RETENTION_DAYS
                    )
                )
            )
        found: dict[int, tuple[int, datetime]] = {}
        for community_id in ids:
            days = await settings.get(community_id, SCOPE, RETENTION_DAYS)
            if not isinstance(days, int) or days <= 0:
                continue
            since_text = await settings.get(community_id, SCOPE, RETENTION_SINCE)
            if not since_text:
                await settings.set(community_id, SCOPE, RETENTION_SINCE, now.isoformat())
                since = now
            else:
                since = datetime.fromisoformat(str(since_text))
            found[community_id] = (days, since)
        return found

    async def departing(self) -> list[Departing]:
        """Everyone whose every community has a retention period, with the moment it passes
        for them (past or future): the community whose period passes last decides it.

        "Passes" means: neither joining nor any activity the bot saw (`Presence`) happened
        within the period, and the period has been on for at least that long.
        """
        periods = await self.retention_periods()
        if not periods:
            return []
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    Member.actor_key,
                    Member.community_id,
                    Member.joined_at,
                    Presence.seen_at,
                    Presence.warned_at,
                )
                .outerjoin(
                    Presence,
                    (Presence.community_id == Member.community_id)
                    & (Presence.actor_key == Member.actor_key),
                )
                .where(
                    Member.actor_key.in_(
                        select(Member.actor_key).where(Member.community_id.in_(list(periods)))
                    )
                )
            )
            kept: set[str] = set()  # in a community without a period: kept
            latest: dict[str, Departing] = {}
            for key, community_id, joined_at, seen_at, warned_at in rows:
                period = periods.get(community_id)
                if period is None:
                    kept.add(key)
                    continue
                days, since = period
                last = max(joined_at, seen_at or joined_at, since)
                here = Departing(
                    key, community_id, days, last, last + timedelta(days=days), warned_at
                )
                if key not in latest or here.erase_at > latest[key].erase_at:
                    latest[key] = here
        return sorted(
            (d for key, d in latest.items() if key not in kept), key=lambda d: d.actor_key
        )

    async def retention_warning(self, person: Departing, message: Message) -> None:
        """Promise the warning DM now and note it on the person's presence row in the deciding
        community (activity there clears it: `touch`). The outbox key names the person by a
        keyed tag and the erase day, so each erase is warned of once; the DM carries the
        person, so erasing withdraws it."""
        now = self.clock.now()
        platform = person.actor_key.split(":", 1)[0]
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(Presence).where(
                    Presence.community_id == person.community_id,
                    Presence.actor_key == person.actor_key,
                )
            )
            if row is None:  # joined and never seen since: the row starts with the warning
                row = Presence(
                    community_id=person.community_id,
                    actor_key=person.actor_key,
                    seen_at=person.last_seen,
                )
                session.add(row)
            row.warned_at = now
        await self.outbox.enqueue(
            _warning_key(person),
            Target(platform, person.actor_key, is_dm=True),
            message,
            now,
            refs=(OutboxRef.member(person.actor_key), OutboxRef.community(person.community_id)),
        )
