"""What the Matrix adapter must remember across restarts, kept in the `adapter_state` table.

The sync token and the ids of handled events make a restart (or a re-delivered event) never run
a command twice; the session (access token, device id) keeps one device, so the crypto store
next to it stays valid. The session holds a secret, so it is stored encrypted.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import crypto
from bot.adapters.state import AdapterStore

PLATFORM = "matrix"
HANDLED_KEEP = 2000  # enough to cover any timeline a sync can re-deliver


@dataclass(frozen=True)
class Session:
    """A login to reuse: same device, same crypto identity."""

    user_id: str
    device_id: str
    access_token: str


class StateStore(AdapterStore):
    """Reads and writes the adapter's rows; one transaction per call."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(PLATFORM, sessions)
        self.handled: deque[str] = deque(maxlen=HANDLED_KEEP)
        self._handled_set: set[str] = set()

    async def load_session(self) -> Session | None:
        """The saved login, if any."""
        raw = await self.get("session")
        if raw is None:
            return None
        data = json.loads(crypto.keyring().decrypt(raw))
        return Session(data["user_id"], data["device_id"], data["access_token"])

    async def save_session(self, session: Session) -> None:
        """Remember the login (encrypted: it is a credential)."""
        data = json.dumps(
            {
                "user_id": session.user_id,
                "device_id": session.device_id,
                "access_token": session.access_token,
            }
        )
        await self.put({"session": crypto.keyring().encrypt(data)})

    async def load_handled(self) -> None:
        """Fill the in-memory dedupe window from the database."""
        raw = await self.get("handled_events")
        for event_id in json.loads(raw) if raw else []:
            self._remember(event_id)

    def claim(self, event_id: str) -> bool:
        """True the first time an event id is seen; the caller then handles it."""
        if event_id in self._handled_set:
            return False
        self._remember(event_id)
        return True

    def _remember(self, event_id: str) -> None:
        if len(self.handled) == self.handled.maxlen:
            self._handled_set.discard(self.handled[0])
        self.handled.append(event_id)
        self._handled_set.add(event_id)

    async def save_progress(self, token: str, *, handled_changed: bool) -> None:
        """Persist the next sync token (and the handled ids when they changed)."""
        values = {"sync_token": token}
        if handled_changed:
            values["handled_events"] = json.dumps(list(self.handled))
        await self.put(values)

    async def load_upgrades(self) -> dict[str, str]:
        """Rooms the bot followed to their upgrade: old room id -> replacement room id."""
        raw = await self.get("room_upgrades")
        return dict(json.loads(raw)) if raw else {}

    async def save_upgrades(self, successors: dict[str, str]) -> None:
        """Remember the followed room upgrades (room ids only, nothing about members)."""
        await self.put({"room_upgrades": json.dumps(successors, sort_keys=True)})
