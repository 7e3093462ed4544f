"""The audit log: who changed what and when, never a member's private content."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.core.paging import Page, page_count, page_offset
from bot.models import AuditEntry

DETAIL_MAX = 500


@dataclass(frozen=True)
class AuditRecord:
    """One line of the audit log: `id` (grows with time, across communities), who acted
    (`actor_key`, or "circlebot" for the bot's own passes), the `action` ("settings.set"),
    a `detail` naming things (ids, keys; at most 500 characters, never a member's words) and
    `created_at` (aware UTC)."""

    id: int
    actor_key: str
    action: str
    detail: str
    created_at: datetime


class AuditService:
    """Append-only log of moderator actions (the core's `audit_entry` table): record a line,
    read a page of it, or the lines after one."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._listeners: dict[str, Callable[[int | None], None]] = {}

    def listen(self, name: str, listener: Callable[[int | None], None]) -> None:
        """Call `listener(community_id)` after each line is recorded (the mod-log mirror
        plans its pass then, instead of polling); listening again under `name` replaces it."""
        self._listeners[name] = listener

    async def record(
        self, community_id: int | None, actor_key: str, action: str, detail: str = ""
    ) -> None:
        """Add a line; `detail` names things (ids, keys), never what a member wrote."""
        async with self._sessions.begin() as session:
            session.add(
                AuditEntry(
                    community_id=community_id,
                    actor_key=actor_key,
                    action=action,
                    detail=detail[:DETAIL_MAX],
                    created_at=self._clock.now(),
                )
            )
        for listener in list(self._listeners.values()):
            listener(community_id)

    async def recent(self, community_id: int, limit: int = 20) -> list[AuditRecord]:
        """Newest lines first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.community_id == community_id)
                .order_by(AuditEntry.id.desc())
                .limit(limit)
            )
            return [_record(r) for r in rows]

    async def page(self, community_id: int, page: int, size: int) -> Page[AuditRecord]:
        """The 1-based `page` of a community's log, newest first, `size` lines a page.

        A page past the end comes back with no items (and the real number of `pages`), so the
        caller can say how many there are.
        """
        async with self._sessions() as session:
            total = await session.scalar(
                select(func.count()).where(AuditEntry.community_id == community_id)
            )
            rows = await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.community_id == community_id)
                .order_by(AuditEntry.id.desc())
                .offset(page_offset(page, size))
                .limit(size)
            )
            items = tuple(_record(r) for r in rows)
        return Page(items, page, page_count(int(total or 0), size), int(total or 0))

    async def after(self, community_id: int, after_id: int, limit: int) -> list[AuditRecord]:
        """Up to `limit` lines of a community newer than line `after_id`, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.community_id == community_id, AuditEntry.id > after_id)
                .order_by(AuditEntry.id)
                .limit(limit)
            )
            return [_record(r) for r in rows]

    async def last_id(self) -> int:
        """The id of the newest line in any community (0 for an empty log)."""
        async with self._sessions() as session:
            return int(await session.scalar(select(func.max(AuditEntry.id))) or 0)


def _record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(row.id, row.actor_key, row.action, row.detail, row.created_at)
