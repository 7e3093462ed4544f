"""Communities and the member settings several cogs read: pseudonym, zone, country, language."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.core.context import CommunityInfo
from bot.core.errors import UserError
from bot.core.people import numbered, person_label, pseudonym_refusal, stored_key
from bot.crypto import actor_tag
from bot.db import export_row, in_values
from bot.i18n import _
from bot.models import AdapterState, Community, DialogueState, Member, Profile, TierBinding
from bot.services.cache import MISSING, TTLCache
from bot.services.invalidation import InvalidationBus
from bot.services.reads import reading

PSEUDONYM_MAX = 32


def unnamed(*, facilitator: bool = False, opening: bool = False) -> str:
    """The neutral word for someone who chose no pseudonym (see `MemberService.public_name`);
    lists of several people number them instead (`distinct_names`). The words themselves are
    defined once, in `bot.core.people.LABELS`."""
    return person_label("facilitator" if facilitator else "member", opening=opening)


def reads(label: str) -> str:
    """How a label reads to people: without case, look-alike forms (NFKC), invisible format
    characters (zero-width spaces, direction marks) or repeated spaces. Two labels that read
    the same cannot tell two people apart."""
    shown = "".join(
        c for c in unicodedata.normalize("NFKC", label) if unicodedata.category(c) != "Cf"
    )
    return " ".join(shown.casefold().split())


def distinct_names(names: Sequence[str | None], *, opening: bool = False) -> list[str]:
    """Labels for a list of people, one each, no two reading the same (`reads`).

    `names`: each person's chosen name (a pseudonym, or a fixed word such as "a volunteer
    facilitator"), None for someone without one, in the list's stable order (first come
    first). Returns the labels in the same order: a chosen name as it is, except that a later
    person whose name reads like an earlier one's gets " (2)", " (3)"...; people without a
    name are "member 1", "member 2"... in order ("Member 1" for `opening`), skipping any
    number a chosen name in the list already reads as. Nothing but the given names and these
    numbers shows, so no account name or platform id can.
    """
    chosen = [" ".join(n.split()) if n and reads(n) else None for n in names]
    taken = {reads(n) for n in chosen if n}
    used: set[str] = set()
    labels: list[str] = []
    count = 0
    for name in chosen:
        if name is not None:
            label, k = name, 1
            while reads(label) in used or (label != name and reads(label) in taken):
                k += 1
                label = f"{name} ({k})"
        else:
            while True:
                count += 1
                label = numbered(count, opening=opening)
                if reads(label) not in used and reads(label) not in taken:
                    break
        used.add(reads(label))
        labels.append(label)
    return labels


@dataclass(frozen=True)
class CommunityLeft:
    """A community the bot was removed from, and when (UTC)."""

    community: CommunityInfo
    left_at: datetime


def removal_notice(left: CommunityLeft, keep_days: int) -> str:
    """What moderators are told when the bot is removed: what is kept, until when, and after."""
    until = left.left_at + timedelta(days=keep_days)
    return _(
        "I was removed from **{name}**. Its data (meetings, journals written there, settings "
        "and the moderators' log) is kept for {days} days, until {until} (UTC), in case you "
        "add me back: then nothing is lost. Until then whoever runs the bot can export it with "
        "`circlebot export-community {id}`. After that date it is erased for good. Members' "
        "own data outside that community stays theirs; each of them can export or erase it with "
        "`mydata`."
    ).format(
        name=left.community.name,
        days=keep_days,
        until=until.strftime("%d %B %Y, %H:%M"),
        id=left.community.id,
    )


@dataclass(frozen=True)
class ProfileInfo:
    """A person's own settings; None means "not set, use the community's"."""

    actor_key: str
    timezone: str | None = None
    country: str | None = None
    language: str | None = None


def member_state_key(actor_key: str, name: str) -> str:
    """The `adapter_state` key of a row about one person: `<name>.<keyed tag of the account>`.

    The tag is `crypto.actor_tag`, so the row names nobody to a reader of the database, and
    erasing the person finds every such row by its tag (`MemberService.delete_user_data`).
    """
    return f"{name}.{_state_tag(actor_key)}"


def _state_tag(actor_key: str) -> str:
    return actor_tag(actor_key, "adapter-state", length=32)


def fold(name: str) -> str:
    """Compare pseudonyms without case or compatibility-form differences
    (`member.pseudonym_folded`); look-alikes are compared by `bot.core.people.stored_key`
    (`member.pseudonym_lookalike`)."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def _info(row: Community) -> CommunityInfo:
    return CommunityInfo(
        id=row.id,
        platform=row.platform,
        platform_id=row.platform_id,
        name=row.name,
        timezone=row.timezone,
        country=row.country,
        language=row.language,
    )


class MemberService:
    """Communities, members and their profiles (the core's tables). One public method = one
    transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        # Every command looks these up; they change rarely and, in one process, only through
        # this service, which invalidates what it writes. On a shared PostgreSQL database the
        # other processes hear of each write by NOTIFY (`attach`, bot/services/cache.py).
        self._communities: TTLCache[tuple[str, str], CommunityInfo] = TTLCache()
        self._communities_by_id: TTLCache[int, CommunityInfo | None] = TTLCache()
        self._joined: TTLCache[tuple[int, str], bool] = TTLCache()
        self._bindings: TTLCache[int, dict[str, int]] = TTLCache()
        self._profiles: TTLCache[str, ProfileInfo] = TTLCache()
        self._pseudonyms: TTLCache[tuple[int, str], str | None] = TTLCache()
        # Told (community id, actor key) after a pseudonym changed here (`on_renamed`).
        self._renamed: list[Callable[[int, str], Awaitable[None]]] = []

    def attach(self, bus: InvalidationBus) -> None:
        """Share cache invalidations with the other processes on the same PostgreSQL."""
        self._communities.attach(bus, "communities")
        self._communities_by_id.attach(bus, "communities_by_id")
        self._joined.attach(bus, "joined")
        self._bindings.attach(bus, "bindings")
        self._profiles.attach(bus, "profiles")
        self._pseudonyms.attach(bus, "pseudonyms")

    async def community(
        self, platform: str, platform_id: str, name: str = "", *, timezone: str = "UTC"
    ) -> CommunityInfo:
        """The community row for a guild/space, created on first sight."""
        cached = self._communities.lookup((platform, platform_id))
        if cached is not MISSING and (not name or cached.name == name):
            return cached
        token = self._communities.token()
        info = await self._load_community(platform, platform_id, name, timezone)
        self._communities.put((platform, platform_id), info, token)
        return info

    async def _load_community(
        self, platform: str, platform_id: str, name: str, timezone: str
    ) -> CommunityInfo:
        async with reading(self._sessions) as session:
            row = await session.scalar(
                select(Community).where(
                    Community.platform == platform, Community.platform_id == platform_id
                )
            )
            if row is not None:
                if name and row.name != name:
                    row.name = name
                    await session.commit()
                return _info(row)
            row = Community(
                platform=platform,
                platform_id=platform_id,
                name=name or platform_id,
                timezone=timezone,
                country="",
                language="en",
                created_at=self._clock.now(),
            )
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                row = (
                    await session.scalars(
                        select(Community).where(
                            Community.platform == platform, Community.platform_id == platform_id
                        )
                    )
                ).one()
            return _info(row)

    async def community_by_id(self, community_id: int) -> CommunityInfo | None:
        """A community by its database id (cached; planners ask for every meeting)."""
        cached = self._communities_by_id.get(community_id)
        if cached is not MISSING:
            return cached
        token = self._communities_by_id.token()
        async with self._sessions() as session:
            row = await session.get(Community, community_id)
        info = None if row is None else _info(row)
        self._communities_by_id.put(community_id, info, token)
        return info

    async def preload_communities(self, community_ids: Iterable[int]) -> None:
        """Read many communities into the `community_by_id` cache, 500 to a statement."""
        wanted = sorted({c for c in community_ids if self._communities_by_id.get(c) is MISSING})
        for first in range(0, len(wanted), 500):
            chunk = wanted[first : first + 500]
            token = self._communities_by_id.token()
            found: dict[int, CommunityInfo | None] = dict.fromkeys(chunk)
            async with self._sessions() as session:
                for row in await session.scalars(select(Community).where(Community.id.in_(chunk))):
                    found[row.id] = _info(row)
            for community_id, info in found.items():
                self._communities_by_id.put(community_id, info, token)

    async def mark_left(self, platform: str, platform_id: str) -> CommunityLeft | None:
        """Record that the bot was removed from a community; None if it never knew it.

        The first removal counts: a repeated event does not push the erase date back.
        `returned` clears it when the bot is added back.
        """
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(Community).where(
                    Community.platform == platform, Community.platform_id == platform_id
                )
            )
            if row is None:
                return None
            if row.left_at is None:
                row.left_at = self._clock.now()
            left = CommunityLeft(_info(row), row.left_at)
        self._communities.invalidate((platform, platform_id))
        self._communities_by_id.invalidate(left.community.id)
        return left

    async def returned(self, platform: str, platform_id: str) -> bool:
        """The bot was added back to a community it was removed from: nothing will be erased.

        Returns True when a removal was pending. Adapters call this on the platform's own
        "joined" signal, not on every lookup: a lookup can happen after removal too.
        """
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(Community).where(
                    Community.platform == platform,
                    Community.platform_id == platform_id,
                    Community.left_at.is_not(None),
                )
            )
            if row is None:
                return False
            row.left_at = None
        return True

    async def left_before(self, cutoff: datetime) -> list[CommunityInfo]:
        """Communities the bot was removed from before `cutoff` (and not added back)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Community).where(Community.left_at.is_not(None), Community.left_at < cutoff)
            )
            return [_info(r) for r in rows]

    async def erase_community(self, community_id: int) -> None:
        """Delete a community's row and, through the foreign keys, every row tied to it.

        Rows outside those keys (the outbox, plan stamps) are not reached here: erase a
        community through `PrivacyService.erase_community`, which first runs every cog's
        `delete_community_data`."""
        async with self._sessions.begin() as session:
            row = await session.get(Community, community_id)
            if row is None:
                return
            key = (row.platform, row.platform_id)
            await session.delete(row)
        self._communities.invalidate(key)
        self._communities_by_id.invalidate(community_id)
        self._joined.invalidate_where(lambda k: k[0] == community_id)
        self._pseudonyms.invalidate_where(lambda k: k[0] == community_id)
        self._bindings.invalidate(community_id)

    async def update_community(self, community_id: int, **values: str) -> CommunityInfo:
        """Change a community's zone, country, language or name."""
        allowed = {"timezone", "country", "language", "name"}
        if not set(values) <= allowed:
            raise ValueError(f"unknown community fields: {set(values) - allowed}")
        async with self._sessions.begin() as session:
            row = await session.get(Community, community_id)
            if row is None:
                raise UserError(_("That community is not known."))
            for key, value in values.items():
                setattr(row, key, value)
        info = _info(row)
        self._communities.invalidate((info.platform, info.platform_id))
        self._communities_by_id.invalidate(community_id)
        return info

    async def profile(self, actor_key: str) -> ProfileInfo:
        """A person's own settings (empty when they never set any; cached, every event asks)."""
        cached = self._profiles.lookup(actor_key)
        if cached is not MISSING:
            return cached
        token = self._profiles.token()
        async with reading(self._sessions) as session:
            row = await session.get(Profile, actor_key)
            info = (
                ProfileInfo(actor_key)
                if row is None
                else ProfileInfo(actor_key, row.timezone, row.country, row.language)
            )
        self._profiles.put(actor_key, info, token)
        return info

    async def update_profile(self, actor_key: str, **values: str | None) -> ProfileInfo:
        """Set (or clear with None) zone, country or language."""
        allowed = {"timezone", "country", "language"}
        if not set(values) <= allowed:
            raise ValueError(f"unknown profile fields: {set(values) - allowed}")
        token = self._profiles.token()
        now = self._clock.now()
        try:
            async with self._sessions.begin() as session:
                # One statement when the row exists (the usual case): the UPDATE returns it.
                found = (
                    await session.execute(
                        update(Profile)
                        .where(Profile.actor_key == actor_key)
                        .values(**values, updated_at=now)
                        .returning(Profile.timezone, Profile.country, Profile.language)
                        .execution_options(synchronize_session=False)
                    )
                ).first()
                if found is None:
                    row = Profile(actor_key=actor_key, updated_at=now, **values)
                    session.add(row)
                    info = ProfileInfo(actor_key, row.timezone, row.country, row.language)
                else:
                    info = ProfileInfo(actor_key, *found)
        except BaseException:
            self._profiles.invalidate(actor_key)
            raise
        self._profiles.put_written(actor_key, info, token)
        return info

    async def join(self, community_id: int, actor_key: str) -> None:
        """Record that a person is in a community (idempotent)."""
        if self._joined.lookup((community_id, actor_key)) is not MISSING:
            return
        token = self._joined.token()
        names = self._pseudonyms.token()
        async with reading(self._sessions) as session:
            # The pseudonym comes with the membership: the command about to run may show it.
            found = (
                await session.execute(
                    select(Member.id, Member.pseudonym).where(
                        Member.community_id == community_id, Member.actor_key == actor_key
                    )
                )
            ).first()
            if found is None:
                session.add(
                    Member(
                        community_id=community_id, actor_key=actor_key, joined_at=self._clock.now()
                    )
                )
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
            else:
                self._pseudonyms.put((community_id, actor_key), found.pseudonym, names)
        self._joined.put((community_id, actor_key), True, token)

    async def pseudonym(self, community_id: int, actor_key: str) -> str | None:
        """The name a person chose for this community, if any (cached)."""
        cached = self._pseudonyms.lookup((community_id, actor_key))
        if cached is not MISSING:
            return cached
        token = self._pseudonyms.token()
        async with reading(self._sessions) as session:
            name = await session.scalar(
                select(Member.pseudonym).where(
                    Member.community_id == community_id, Member.actor_key == actor_key
                )
            )
        self._pseudonyms.put((community_id, actor_key), name, token)
        return name

    async def public_name(
        self,
        community_id: int | None,
        actor_key: str,
        *,
        facilitator: bool = False,
        opening: bool = False,
    ) -> str:
        """The name others see: the pseudonym the person chose in `community_id`, else a
        neutral word ("a member", or "a volunteer facilitator" for `facilitator`; capitalised
        for `opening`, the start of a sentence). Never the account or display name a platform
        shows: on Discord and Matrix that can be a real name. Plain text, not
        Markdown-escaped; cached like `pseudonym`."""
        chosen = None if community_id is None else await self.pseudonym(community_id, actor_key)
        return chosen or unnamed(facilitator=facilitator, opening=opening)

    async def public_names(
        self,
        community_id: int,
        keys: Sequence[str],
        *,
        facilitator: bool = False,
        opening: bool = False,
    ) -> list[str]:
        """`public_name` of several people of one community, in the order of `keys`, in at
        most one query."""
        chosen = await self.pseudonyms_in(community_id, keys)
        neutral = unnamed(facilitator=facilitator, opening=opening)
        return [chosen.get(key) or neutral for key in keys]

    async def listed_names(
        self,
        community_id: int,
        keys: Sequence[str],
        *,
        fixed: dict[str, str] | None = None,
        opening: bool = False,
    ) -> dict[str, str]:
        """Labels for a list of people of one community shown together (a speaking queue),
        by actor key: no two read the same (`distinct_names`). `keys` in the list's stable
        order (first come first), duplicates ignored; `fixed`: words that stand for some of
        them instead of their pseudonym (a former member, the facilitator), kept apart from
        the others' labels like a pseudonym. Plain text, not Markdown-escaped."""
        fixed = fixed or {}
        order = list(dict.fromkeys(keys))
        chosen = await self.pseudonyms_in(community_id, [k for k in order if k not in fixed])
        labels = distinct_names(
            [fixed[k] if k in fixed else chosen.get(k) for k in order], opening=opening
        )
        return dict(zip(order, labels, strict=True))

    async def pseudonyms_in(self, community_id: int, keys: Sequence[str]) -> dict[str, str]:
        """Chosen pseudonyms of several people in one community, by actor key (people without
        one are left out); cached per person, the rest read in one query."""
        found: dict[str, str] = {}
        missing: list[str] = []
        for key in dict.fromkeys(keys):
            cached = self._pseudonyms.get((community_id, key))
            if cached is MISSING:
                missing.append(key)
            elif cached:
                found[key] = cached
        if not missing:
            return found
        token = self._pseudonyms.token()
        async with self._sessions() as session:
            result = await session.execute(
                select(Member.actor_key, Member.pseudonym).where(
                    Member.community_id == community_id, in_values(Member.actor_key, missing)
                )
            )
            rows = {key: name for key, name in result}
        for key in missing:
            name = rows.get(key)
            self._pseudonyms.put((community_id, key), name, token)
            if name:
                found[key] = name
        return found

    async def pseudonyms(self, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
        """Chosen names for many (community id, actor key) pairs in few queries."""
        keys = sorted({key for _community, key in pairs})
        found: dict[tuple[int, str], str] = {}
        async with self._sessions() as session:
            for start in range(0, len(keys), 500):
                rows = await session.execute(
                    select(Member.community_id, Member.actor_key, Member.pseudonym).where(
                        in_values(Member.actor_key, keys[start : start + 500]),
                        Member.pseudonym.is_not(None),
                    )
                )
                for community_id, key, name in rows:
                    if (community_id, key) in pairs and name:
                        found[(community_id, key)] = name
        return found

    async def set_pseudonym(self, community_id: int, actor_key: str, name: str | None) -> None:
        """Choose (or clear) a pseudonym.

        Names are unique per community ignoring case (`fold`) and by how they look
        (`bot.core.people.stored_key`: spacing, invisible characters, punctuation and symbols,
        accents on Latin, Greek and Cyrillic letters, NFKC, UTS #39 confusables, case), and
        none may read as one of the bot's own labels for people or as staff
        (`bot.core.people.pseudonym_refusal`). Raises UserError, changing nothing, for a name
        refused. Names stored before look-alikes were compared so stay as they are:
        migrations 0013 and 0014 give the first of a look-alike group (lowest row id) the
        look-alike key and leave that key of the others empty, so nobody is renamed; a later
        look-alike is refused against the first, and someone holding an older look-alike who
        renames must pick a free name."""
        if name is not None:
            name = " ".join(name.split())
            if not name:
                raise UserError(_("A pseudonym cannot be empty."))
            if len(name) > PSEUDONYM_MAX:
                raise UserError(
                    _("A pseudonym can be at most {n} characters.").format(n=PSEUDONYM_MAX)
                )
            if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in name):
                raise UserError(_("A pseudonym cannot contain invisible or control characters."))
            if name.startswith(("@", "#", "!", "/", ":")):
                raise UserError(_("A pseudonym cannot start with @, #, !, / or :."))
            refusal = pseudonym_refusal(name)
            if refusal:
                raise UserError(refusal)
        await self.join(community_id, actor_key)
        async with self._sessions() as session:
            row = (
                await session.scalars(
                    select(Member).where(
                        Member.community_id == community_id, Member.actor_key == actor_key
                    )
                )
            ).one()
            row.pseudonym = name
            row.pseudonym_folded = fold(name) if name else None
            row.pseudonym_lookalike = stored_key(name) if name else None
            try:
                await session.commit()
            except IntegrityError:
                raise UserError(
                    _(
                        "Someone here already uses that pseudonym or one that looks the same; "
                        "your pseudonym was not changed. Please pick another."
                    )
                ) from None
            finally:
                self._pseudonyms.invalidate((community_id, actor_key))
        for listener in list(self._renamed):
            await listener(community_id, actor_key)

    def on_renamed(self, listener: Callable[[int, str], Awaitable[None]]) -> None:
        """Call `listener(community id, actor key)` after each pseudonym chosen or cleared here
        (what shows that name, e.g. planned announcements, follows it)."""
        self._renamed.append(listener)

    def off_renamed(self, listener: Callable[[int, str], Awaitable[None]]) -> None:
        """Stop calling a listener given to `on_renamed`; one never given is ignored."""
        if listener in self._renamed:
            self._renamed.remove(listener)

    async def bindings(self, community_id: int) -> dict[str, int]:
        """Role id -> tier value bound by moderators (cached; every event asks)."""
        cached = self._bindings.lookup(community_id)
        if cached is not MISSING:
            return dict(cached)
        token = self._bindings.token()
        async with reading(self._sessions) as session:
            rows = await session.execute(
                select(TierBinding.role_id, TierBinding.tier).where(
                    TierBinding.community_id == community_id
                )
            )
            found = {role: tier for role, tier in rows}
        self._bindings.put(community_id, found, token)
        return dict(found)

    async def bind(self, community_id: int, role_id: str, tier: int | None) -> None:
        """Bind a platform role to a tier (None removes the binding)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(TierBinding).where(
                    TierBinding.community_id == community_id, TierBinding.role_id == role_id
                )
            )
            if tier is not None:
                session.add(TierBinding(community_id=community_id, role_id=role_id, tier=tier))
        self._bindings.invalidate(community_id)

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """A person's profile, memberships (pseudonym per community) and unfinished dialogues
        (answers decrypted), JSON-ready: {"profile": {...} | None, "communities": [{...,
        "community_name"}], "unfinished_dialogues": [{..., "answers": {...}}]}."""
        async with self._sessions() as session:
            profile = await session.get(Profile, actor_key)
            memberships = await session.execute(
                select(Member, Community.name)
                .join(Community, Community.id == Member.community_id)
                .where(Member.actor_key == actor_key)
                .order_by(Member.id)
            )
            dialogues = await session.scalars(
                select(DialogueState)
                .where(DialogueState.actor_key == actor_key)
                .order_by(DialogueState.id)
            )
            return {
                "profile": export_row(profile) if profile else None,
                "communities": [
                    {
                        **export_row(m, skip=("pseudonym_folded", "pseudonym_lookalike")),
                        "community_name": name,
                    }
                    for m, name in memberships
                ],
                "unfinished_dialogues": [
                    {**export_row(d, skip=("answers",)), "answers": json.loads(d.answers)}
                    for d in dialogues
                ],
            }

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase a person's profile, memberships, unfinished dialogues and adapter rows."""
        try:
            async with self._sessions.begin() as session:
                await session.execute(delete(Profile).where(Profile.actor_key == actor_key))
                await session.execute(delete(Member).where(Member.actor_key == actor_key))
                await session.execute(
                    delete(DialogueState).where(DialogueState.actor_key == actor_key)
                )
                await session.execute(
                    delete(AdapterState).where(
                        AdapterState.key.endswith(f".{_state_tag(actor_key)}", autoescape=True)
                    )
                )
        finally:
            self._profiles.invalidate(actor_key)
            self._joined.invalidate_where(lambda key: key[1] == actor_key)
            self._pseudonyms.invalidate_where(lambda key: key[1] == actor_key)
