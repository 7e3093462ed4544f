"""Which community a room belongs to, and what power a member holds there.

A community is a configured space or room set (`matrix.communities`), or one room standing
alone. A DM belongs to the community the member shares with the bot, the one they last used a
command in first.

Tiers: the member's power level in the room (for a DM: their highest level in the community's
rooms) against `matrix.facilitator_power` / `matrix.moderator_power`. Moderators' bindings
override that: a binding whose role id is a Matrix user id (`@ana:example.org`) sets that
person's tier outright; bindings named `power:N` replace the config thresholds (the tier of the
highest N at or below the member's level; member when none applies).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import ClientConnectionError
from nio import AsyncClient, MatrixRoom, RoomGetStateResponse

from bot.adapters.matrix.direct import DirectRooms
from bot.adapters.matrix.state import PLATFORM, StateStore
from bot.config import MatrixConfig
from bot.core.identity import Actor, Place
from bot.core.permissions import Tier
from bot.i18n import _

log = logging.getLogger("circlebot.matrix")

CREATOR_POWER_VERSION = 12  # room versions from here on give creators unlimited power
CREATOR_POWER = 2**53 - 1  # "infinite", above any level in m.room.power_levels


@dataclass(frozen=True)
class CommunityRef:
    """A configured community (space or room set), or one room standing alone."""

    id: str
    name: str


def tier_for(
    level: int, bindings: dict[str, int], user_id: str, facilitator: int, moderator: int
) -> Tier:
    """A member's tier from a power level, overridden by bindings (see the module docstring)."""
    if user_id in bindings:
        return Tier(min(bindings[user_id], Tier.MODERATOR))
    power = sorted(
        (int(role.split(":", 1)[1]), tier)
        for role, tier in bindings.items()
        if role.startswith("power:") and role.split(":", 1)[1].lstrip("-").isdigit()
    )
    if power:
        granted = [tier for needed, tier in power if level >= needed]
        return Tier(min(max(granted, default=Tier.MEMBER), Tier.MODERATOR))
    if level >= moderator:
        return Tier.MODERATOR
    if level >= facilitator:
        return Tier.FACILITATOR
    return Tier.MEMBER


class Communities:
    """Rooms grouped into communities, and members' power levels in them.

    `left` holds the rooms the bot was removed from (or left) this run: nio keeps a left room
    in `client.rooms`, so it is filtered out here.
    """

    def __init__(
        self, client: AsyncClient, config: MatrixConfig, direct: DirectRooms, state: StateStore
    ) -> None:
        self.client = client
        self.config = config
        self.left: set[str] = set()
        self._direct = direct
        self._state = state
        self._space_children: dict[str, set[str]] = {}
        self._room_creators: dict[str, set[str]] = {}
        # old room id -> the room that replaced it (followed room upgrades, saved in state)
        self.successors: dict[str, str] = {}
        # rooms whose tombstone names a room that does not say it replaces them (not followed)
        self.refused: set[str] = set()

    def latest(self, room_id: str) -> str:
        """The room that replaced this one, and so on (the room itself when not upgraded)."""
        seen = {room_id}
        while (after := self.successors.get(room_id)) is not None and after not in seen:
            seen.add(after)
            room_id = after
        return room_id

    def lineage(self, room_id: str) -> list[str]:
        """Every room in this room's upgrade line, oldest first (just the room when none)."""
        before = {new: old for old, new in self.successors.items()}
        line = [self.latest(room_id)]
        while (earlier := before.get(line[-1])) is not None and earlier not in line:
            line.append(earlier)
        return line[::-1]

    def unfollowed(self) -> list[tuple[str, str]]:
        """(old, replacement) for each joined community room that was upgraded (it holds an
        `m.room.tombstone`) and not followed yet; DMs are left as they are."""
        return [
            (room_id, room.replacement_room)
            for room_id, room in self.client.rooms.items()
            if room.replacement_room
            and room_id not in self.successors
            and room_id not in self.refused
            and room_id not in self.left
            and not self._direct.is_dm(room_id)
        ]

    async def load_spaces(self) -> None:
        """Remember each configured space's child rooms (re-read when the space changes)."""
        for community in self.config.communities:
            if not community.space:
                continue
            try:
                response = await self.client.room_get_state(community.space)
            except (ClientConnectionError, TimeoutError):
                continue
            if not isinstance(response, RoomGetStateResponse):
                log.warning("cannot read the space %s: %s", community.space, response)
                continue
            self._space_children[community.space] = {
                event["state_key"]
                for event in response.events
                if event.get("type") == "m.space.child" and event.get("content")
            }

    def is_space(self, room_id: str) -> bool:
        """True for a configured community's space."""
        return any(c.space == room_id for c in self.config.communities)

    def of(self, room_id: str) -> CommunityRef | None:
        """A configured community containing the room, else the room alone; DMs have none."""
        if self._direct.is_dm(room_id):
            return None
        line = self.lineage(room_id)
        for c in self.config.communities:
            children = self._space_children.get(c.space, set())
            if any(r in c.rooms or r == c.space or r in children for r in line):
                return CommunityRef(c.id, c.name or c.id)
        # A room standing alone keeps the id of the first room of its upgrade line, so an
        # upgrade keeps the community (and everything stored under it).
        room = self.client.rooms.get(line[-1])
        return CommunityRef(line[0], room.display_name if room else line[-1])

    def id_of_left(self, room_id: str) -> str:
        """The community id a room the bot just left belonged to (the first room of its
        upgrade line when it stood alone)."""
        line = self.lineage(room_id)
        community_id = line[0]
        for c in self.config.communities:
            children = self._space_children.get(c.space, set())
            if any(r in c.rooms or r == c.space or r in children for r in line):
                community_id = c.id
        return community_id

    def rooms(self, community_id: str) -> list[MatrixRoom]:
        """The joined rooms of a community."""
        return [
            room
            for room_id, room in self.client.rooms.items()
            if room_id not in self.left
            and (ref := self.of(room_id)) is not None
            and ref.id == community_id
        ]

    async def of_dm(self, user_id: str) -> CommunityRef | None:
        """The community a DM belongs to: shared with the member, the most recent first."""
        shared: dict[str, CommunityRef] = {}
        for room_id, room in self.client.rooms.items():
            ref = self.of(room_id)
            if ref is not None and user_id in room.users and room_id not in self.left:
                shared[ref.id] = ref
        recent = await self._state.recent_community(user_id)
        if recent in shared:
            return shared[recent]
        return shared[min(shared)] if shared else None

    async def level(
        self, user_id: str, room_id: str, community: CommunityRef | None, is_dm: bool
    ) -> int:
        """The member's power level where they wrote: in a DM, their highest in the
        community's rooms; 0 when they are in none."""
        rooms = self.rooms(community.id) if community and is_dm else []
        if not is_dm and room_id in self.client.rooms:
            rooms = [self.client.rooms[room_id]]
        return max(
            [await self.power_level(r, user_id) for r in rooms if user_id in r.users],
            default=0,
        )

    def tier(self, level: int, bindings: dict[str, int], user_id: str) -> Tier:
        """`tier_for` with the configured thresholds."""
        return tier_for(
            level, bindings, user_id, self.config.facilitator_power, self.config.moderator_power
        )

    async def who_can_read(
        self, room: MatrixRoom, bindings_of: Callable[[], Awaitable[dict[str, int]]]
    ) -> str | None:
        """Why someone below moderator can read a room, or None (moderators and the bot only).

        The room must be invite-only (not public, not joinable by members of the space), not
        readable without joining, and everyone in it or invited to it must be a moderator by
        power level (or by a moderators' binding, read with `bindings_of` once the room's
        rules pass).
        """
        if room.join_rule != "invite":
            return _(
                "Its join rule is “{rule}”: people can join without an invitation. Make it "
                "invite-only (private, not joinable from the space)."
            ).format(rule=room.join_rule)
        if room.history_visibility == "world_readable":
            # (guest access only lets guests join rooms they could join anyway: with an
            # invite-only room that still needs an invitation)
            return _("Anyone can read its history without joining; make it members only.")
        bindings = await bindings_of()
        me = self.client.user_id
        for user_id in sorted({*room.users, *room.invited_users} - {me}):
            level = await self.power_level(room, user_id)
            if self.tier(level, bindings, user_id) < Tier.MODERATOR:
                return _(
                    "{user} is in it (or invited) with power level {level}, below moderator "
                    "({needed})."
                ).format(user=user_id, level=level, needed=self.config.moderator_power)
        return None

    async def power_level(self, room: MatrixRoom, user_id: str) -> int:
        """The member's level; room creators outrank everyone from room version 12 on.

        Version 12 rooms (Synapse's default since 1.136) leave creators out of
        `m.room.power_levels` and give them unlimited power; nio 0.26 does not know that.
        """
        legacy = room.room_version.isdigit() and int(room.room_version) < CREATOR_POWER_VERSION
        if not legacy and user_id in await self._creators(room.room_id):
            return CREATOR_POWER
        return int(room.power_levels.get_user_level(user_id))

    async def _creators(self, room_id: str) -> set[str]:
        if room_id not in self._room_creators:
            response = await self.client.room_get_state(room_id)
            if not isinstance(response, RoomGetStateResponse):
                return set()  # not cached: asked again next time
            creators: set[str] = set()
            for event in response.events:
                if event.get("type") == "m.room.create":
                    content = event.get("content", {})
                    creators = {event.get("sender", ""), *content.get("additional_creators", [])}
            self._room_creators[room_id] = creators
        return self._room_creators[room_id]

    # -- resolving typed names ---------------------------------------------------------------

    def resolve_actor(self, room_id: str, text: str) -> Actor | None:
        """A Matrix id, or a display name that is unique in the room."""
        room = self.client.rooms.get(room_id)
        needle = text.strip()
        if room is None or not needle:
            return None
        if needle in room.users:
            return Actor(PLATFORM, needle, room.user_name(needle) or "")
        matches = [u for u in room.users if (room.user_name(u) or "").lower() == needle.lower()]
        return Actor(PLATFORM, matches[0], needle) if len(matches) == 1 else None

    async def resolve_place(self, here: Place, text: str) -> Place | None:
        """A room id or alias of a joined room in the same community."""
        needle = text.strip()
        if needle.startswith("#"):
            response = await self.client.room_resolve_alias(needle)
            needle = getattr(response, "room_id", "") or ""
        room = self.client.rooms.get(needle)
        if room is None or self._direct.is_dm(needle):
            return None
        ref = self.of(needle)
        if here.community_id is not None and (ref is None or ref.id != here.community_id):
            return None
        return Place(PLATFORM, needle, ref.id if ref else None, False, room.display_name)
