"""What an adapter keeps across restarts, in the `adapter_state` table (one row per key).

Shared by the platform adapters so that what one platform remembers, every platform remembers
the same way: the community a member last used a command in (their DMs belong to it after a
restart too) is a row keyed by `member_state_key`, erased with the member.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import AdapterState
from bot.services.members import member_state_key


class AdapterStore:
    """Reads and writes one platform's rows; one transaction per call."""

    def __init__(self, platform: str, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.platform = platform
        self._sessions = sessions

    async def get(self, key: str) -> str | None:
        """One stored value, None when there is none."""
        async with self._sessions() as session:
            return await session.scalar(
                select(AdapterState.value).where(
                    AdapterState.platform == self.platform, AdapterState.key == key
                )
            )

    async def put(self, values: dict[str, str]) -> None:
        """Upsert several values together, so values that belong together commit as one.

        An INSERT ... ON CONFLICT DO UPDATE, so processes starting together on one PostgreSQL
        (both storing the command hash) do not fail on each other's row.
        """
        if not values:
            return
        async with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            rows = [{"platform": self.platform, "key": k, "value": v} for k, v in values.items()]
            statement = insert(AdapterState).values(rows)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["platform", "key"], set_={"value": statement.excluded.value}
                )
            )

    def _recent_key(self, user_id: str) -> str:
        """Row key for a member's most recent community: a keyed tag, erased with the member."""
        return member_state_key(f"{self.platform}:{user_id}", "recent")

    async def recent_community(self, user_id: str) -> str | None:
        """The platform id of the community a member last used a command in, if any."""
        return await self.get(self._recent_key(user_id))

    async def set_recent_community(self, user_id: str, community: str) -> None:
        """Remember where a member last spoke, so their DMs belong to that community."""
        await self.put({self._recent_key(user_id): community})
