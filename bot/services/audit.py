"""The audit log: who changed what and when, never a member's private content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.models import AuditEntry

DETAIL_MAX = 500


@dataclass(frozen=True)
class AuditRecord:
    """One line of the audit log."""

    id: int
    actor_key: str
    action: str
    detail: str
    created_at: datetime


class AuditService:
    """Append-only log of moderator actions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

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

    async def recent(self, community_id: int, limit: int = 20) -> list[AuditRecord]:
        """Newest lines first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.community_id == community_id)
                .order_by(AuditEntry.id.desc())
                .limit(limit)
            )
            return [AuditRecord(r.id, r.actor_key, r.action, r.detail, r.created_at) for r in rows]
