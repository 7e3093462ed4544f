"""Per-community, per-cog settings as JSON values (Red-DiscordBot's scoped config, simplified)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Setting
from bot.services.cache import MISSING, TTLCache
from bot.services.invalidation import InvalidationBus
from bot.services.reads import reading


class SettingsService:
    """Read and write `scope.key` values for one community.

    Every command asks for some setting (the admin cog's switched-off cogs, for one), so each
    community's settings are loaded in one query and cached; `set` invalidates the community in
    this process and, on PostgreSQL, in the other processes (`attach`).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        # community id -> (scope, key) -> the stored JSON text (decoded per read, so callers
        # can never change the cached value by mutating what they got).
        self._cache: TTLCache[int, dict[tuple[str, str], str]] = TTLCache(max_items=5_000)

    def attach(self, bus: InvalidationBus) -> None:
        """Share cache invalidations with the other processes on the same PostgreSQL."""
        self._cache.attach(bus, "settings")

    async def _community(self, community_id: int) -> dict[tuple[str, str], str]:
        cached = self._cache.lookup(community_id)
        if cached is not MISSING:
            return cached
        token = self._cache.token()
        async with reading(self._sessions) as session:
            rows = await session.execute(
                select(Setting.scope, Setting.key, Setting.value).where(
                    Setting.community_id == community_id
                )
            )
            found = {(scope, key): value for scope, key, value in rows}
        self._cache.put(community_id, found, token)
        return found

    async def preload(self, community_ids: Iterable[int]) -> None:
        """Read the settings of many communities into the cache, 500 to a statement (a start-up
        that plans every meeting asks for each community's once)."""
        wanted = sorted({c for c in community_ids if self._cache.get(c) is MISSING})
        for first in range(0, len(wanted), 500):
            chunk = wanted[first : first + 500]
            token = self._cache.token()
            found: dict[int, dict[tuple[str, str], str]] = {c: {} for c in chunk}
            async with self._sessions() as session:
                rows = await session.execute(
                    select(Setting.community_id, Setting.scope, Setting.key, Setting.value).where(
                        Setting.community_id.in_(chunk)
                    )
                )
                for community_id, scope, key, value in rows:
                    found[community_id][(scope, key)] = value
            for community_id, values in found.items():
                self._cache.put(community_id, values, token)

    async def communities_with(self, scope: str, key: str) -> list[int]:
        """Ids of the communities that have a value stored for `scope.key` (read from the
        database, not the cache: a background pass asks across all communities)."""
        async with self._sessions() as session:
            return list(
                await session.scalars(
                    select(Setting.community_id).where(Setting.scope == scope, Setting.key == key)
                )
            )

    async def get(self, community_id: int, scope: str, key: str, default: Any = None) -> Any:
        """The stored value, or `default`."""
        raw = (await self._community(community_id)).get((scope, key))
        return default if raw is None else json.loads(raw)

    async def set(self, community_id: int, scope: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable value (None removes it)."""
        try:
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
                            community_id=community_id,
                            scope=scope,
                            key=key,
                            value=json.dumps(value),
                        )
                    )
        finally:
            self._cache.invalidate(community_id)

    async def all(self, community_id: int, scope: str) -> dict[str, Any]:
        """Every value of one cog in one community."""
        return {
            key: json.loads(raw)
            for (found_scope, key), raw in (await self._community(community_id)).items()
            if found_scope == scope
        }

    async def replace_value(self, old: Any, new: Any) -> int:
        """Store `new` wherever a setting holds exactly `old`, in every community and scope
        (a room replaced by its upgrade: every channel setting pointing at it follows);
        returns how many settings changed."""
        try:
            async with self._sessions.begin() as session:
                result = await session.execute(
                    update(Setting)
                    .where(Setting.value == json.dumps(old))
                    .values(value=json.dumps(new))
                )
                return int(getattr(result, "rowcount", 0) or 0)
        finally:
            self._cache.clear()
