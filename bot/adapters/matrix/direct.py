"""Direct rooms: the bot's `m.direct` account data, and opening a DM when there is none.

A room listed in `m.direct` is a DM; every other joined room belongs to a community. A new DM
is created encrypted (unless `matrix.encrypt_dms` is off) and waited for briefly, because the
first encrypted message is readable only by devices known when it is sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import quote

from nio import AsyncClient, DirectRoomsResponse, RoomCreateResponse, RoomPreset

from bot.adapters.matrix.sending import ROOM_WAIT_S, WaitUntil
from bot.core.errors import DeliveryError

log = logging.getLogger("circlebot.matrix")

DM_JOIN_WAIT_S = 5.0  # how long to wait for a member to join a new DM before the first send


class DirectRooms:
    """`direct` maps a Matrix user id to their DM room ids with the bot (from `m.direct`)."""

    def __init__(self, client: AsyncClient, wait_until: WaitUntil, *, encrypt: bool) -> None:
        self.client = client
        self.direct: dict[str, list[str]] = {}
        self._wait_until = wait_until
        self._encrypt = encrypt
        self._locks: dict[str, asyncio.Lock] = {}

    def is_dm(self, room_id: str) -> bool:
        """Rooms in our m.direct account data are DMs."""
        return any(room_id in rooms for rooms in self.direct.values())

    async def load(self) -> None:
        """Read `m.direct` from the homeserver (kept as it was when that fails)."""
        response = await self.client.list_direct_rooms()
        if isinstance(response, DirectRoomsResponse):
            self.direct = {user: list(rooms) for user, rooms in response.rooms.items()}

    async def mark(self, user_id: str, room_id: str) -> None:
        """Record a DM in m.direct (nio has no helper for global account data)."""
        rooms = self.direct.setdefault(user_id, [])
        if room_id not in rooms:
            rooms.append(room_id)
        path = (
            f"/_matrix/client/v3/user/{quote(self.client.user_id, safe='')}/account_data/m.direct"
        )
        response = await self.client.send(
            "PUT",
            path,
            json.dumps(self.direct),
            {
                "Authorization": f"Bearer {self.client.access_token}",
                "Content-Type": "application/json",
            },
        )
        if response.status != 200:
            log.warning("could not save m.direct (HTTP %s)", response.status)

    async def room_for(self, user_id: str) -> str:
        """The member's direct room with the bot: found in m.direct, or created (encrypted).

        Raises:
            DeliveryError: the room could not be created or did not appear in sync.
        """
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            found = self._existing(user_id)
            if found is not None:
                return found
            return await self._create(user_id)

    def existing(self, user_id: str) -> str | None:
        """The member's direct room with the bot if there is one (never creates one)."""
        return self._existing(user_id)

    def _existing(self, user_id: str) -> str | None:
        candidates = [
            room
            for room_id in self.direct.get(user_id, [])
            if (room := self.client.rooms.get(room_id)) is not None and user_id in room.users
        ]
        if self._encrypt:
            candidates = [room for room in candidates if room.encrypted]
        return candidates[-1].room_id if candidates else None

    async def _create(self, user_id: str) -> str:
        initial_state = []
        if self._encrypt:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        response = await self.client.room_create(
            is_direct=True,
            preset=RoomPreset.trusted_private_chat,
            invite=[user_id],
            initial_state=initial_state,
        )
        if not isinstance(response, RoomCreateResponse):
            raise DeliveryError(f"could not open a direct room: {response}", permanent=False)
        room_id = str(response.room_id)
        await self.mark(user_id, room_id)
        if not await self._wait_until(lambda: room_id in self.client.rooms, ROOM_WAIT_S):
            raise DeliveryError("the new direct room did not appear in sync")
        # The first encrypted message is readable only by devices known when it is sent.
        joined = await self._wait_until(
            lambda: (
                user_id in self.client.rooms[room_id].users
                and user_id not in self.client.rooms[room_id].invited_users
            ),
            DM_JOIN_WAIT_S,
        )
        if not joined:
            log.info("the member has not joined the new DM yet; sending to the invite")
        return room_id
