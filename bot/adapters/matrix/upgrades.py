"""Following room upgrades: an `m.room.tombstone` names the room that replaces a room.

The sync loop notices a tombstone in a joined community room (live, or in the state the
first sync brings after the bot was away) and calls `RoomUpgrades.follow`: the bot joins the
replacement, remembers the line of rooms (`Communities.successors`, saved in
`adapter_state`), and the host moves every setting, meeting, running script and pending
outbox item that named the old room (`Host.place_moved`). A send still addressed to the old
room goes to the replacement (`current_room`), never into the room the upgrade closed.

An invite-only room cannot be joined without an invitation: the bot logs that it waits for
one, and the move happens once the invitation is accepted.

A tombstone is believed only when the replacement says it replaces the old room (its
`m.room.create` names the old room as `predecessor`, as every real upgrade does). Otherwise
anyone allowed to set a tombstone in one room could point it at another community's room and
move their community onto it (its rooms, and the bindings that make someone a moderator): such
a tombstone is refused (`Communities.refused`), logged, and the old room is used as before; a
room the bot joined only to check is left again.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import ClientConnectionError
from nio import AsyncClient, JoinResponse, RoomGetStateEventResponse

from bot.adapters.matrix.communities import Communities
from bot.adapters.matrix.state import StateStore
from bot.core.errors import DeliveryError
from bot.platform import Host

log = logging.getLogger("circlebot.matrix")


class RoomUpgrades:
    """Joins replacement rooms and moves what pointed at the rooms they replace."""

    def __init__(
        self,
        client: AsyncClient,
        communities: Communities,
        state: StateStore,
        host: Host,
        platform: str,
    ) -> None:
        self.client = client
        self.communities = communities
        self.state = state
        self.host = host
        self.platform = platform
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self) -> None:
        """Read the upgrades followed in earlier runs."""
        self.communities.successors.update(await self.state.load_upgrades())

    async def follow(self, old_room: str, new_room: str) -> bool:
        """Join `new_room` (unless already in it), then move what named `old_room`; safe to
        call twice. The community and its history stay as they were; the bot stays in the old
        room, which keeps its timeline. Returns False when the replacement cannot be joined
        yet (an invite-only room needs an invitation)."""
        async with self._locks.setdefault(old_room, asyncio.Lock()):
            if old_room in self.communities.successors:
                return True
            known = self.client.rooms.get(new_room)
            joined = (
                known is not None
                and self.client.user_id in known.users
                and new_room not in self.communities.left
            )
            if not joined:
                response = await self.client.join(new_room)
                if not isinstance(response, JoinResponse):
                    log.warning(
                        "a community room was upgraded, but I cannot join its replacement "
                        "yet (%s); a moderator needs to invite me there",
                        getattr(response, "status_code", response),
                    )
                    return False
            if not await self._replaces(new_room, old_room):
                log.warning(
                    "a community room's tombstone names a room that does not say it replaces "
                    "it; not followed (the old room is used as before)"
                )
                self.communities.refused.add(old_room)
                if not joined:
                    await self.client.room_leave(new_room)
                return True
            self.communities.successors[old_room] = new_room
            await self.state.save_upgrades(self.communities.successors)
            await self.host.place_moved(self.platform, old_room, new_room)
            log.info("followed a room upgrade to its replacement")
            return True

    async def _replaces(self, new_room: str, old_room: str) -> bool:
        """True when `new_room`'s create event names `old_room` as its predecessor.

        Raises:
            DeliveryError: the homeserver could not be asked (tried again later).
        """
        try:
            response = await self.client.room_get_state_event(new_room, "m.room.create")
        except (ClientConnectionError, TimeoutError) as exc:
            raise DeliveryError(f"cannot read the replacement room: {exc}") from exc
        if not isinstance(response, RoomGetStateEventResponse):
            raise DeliveryError(f"cannot read the replacement room: {response}")
        predecessor = response.content.get("predecessor")
        return isinstance(predecessor, dict) and predecessor.get("room_id") == old_room

    async def current_room(self, room_id: str) -> str:
        """The room to post in for `room_id`: its replacement when it was upgraded (followed
        first if the sync loop has not done it yet).

        Raises:
            DeliveryError: the room was upgraded and its replacement cannot be joined yet (an
                invitation is missing); tried again later.
        """
        room = self.client.rooms.get(room_id)
        latest = self.communities.latest(room_id)
        if (
            room is not None
            and room.replacement_room
            and latest == room_id
            and room_id not in self.communities.refused
        ):
            if not await self.follow(room_id, room.replacement_room):
                raise DeliveryError(
                    "the room was upgraded and I cannot join its replacement yet; invite me there"
                )
            latest = self.communities.latest(room_id)
        return latest
