"""Per-community, per-cog settings as JSON values (Red-DiscordBot's scoped config, simplified)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Setting


class SettingsService:
    """Read and write `scope.key` values for one community."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, community_id: int, scope: str, key: str, default: Any = None) -> Any:
        """The stored value, or `default`."""
        async with self._sessions() as session:
            raw = await session.scalar(
                select(Setting.value).where(
                    Setting.community_id == community_id,
                    Setting.scope == scope,
                    Setting.key == key,
                )
            )
        return default if raw is None else json.loads(raw)

    async def set(self, community_id: int, scope: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable value (None removes it)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(Setting).where(
                    Setting.community_id == community_id,
                    Setting.scope == scope,
                    Setting.key == key,
                )
            )
            if value is not None:
                session.add(
                    Setting(
                        community_id=community_id, scope=scope, key=key, value=json.dumps(value)
                    )
                )

    async def all(self, community_id: int, scope: str) -> dict[str, Any]:
        """Every value of one cog in one community."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Setting.key, Setting.value).where(
                    Setting.community_id == community_id, Setting.scope == scope
                )
            )
            return {k: json.loads(v) for k, v in rows}
