"""Toolbox storage: each public method is one transaction over the member's own rows only.

Lookups always filter by the owner's key, so another member's item number is simply not found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Clock, NotFound, _, export_row
from cogs.worksheets.models import ToolboxItem, ToolboxShare


@dataclass(frozen=True)
class Share:
    """One live share of an item."""

    recipient_key: str
    recipient_name: str
    outbox_key: str


@dataclass(frozen=True)
class Item:
    """A toolbox item as the cog works with it (answers decrypted)."""

    number: int
    worksheet_id: str
    answers: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    shares: tuple[Share, ...] = ()


def not_found(number: int) -> NotFound:
    """The one message for missing and for other members' items alike."""
    return NotFound(_("There is no item #{number} in your toolbox.").format(number=number))


class Toolbox:
    """Completed worksheets per member."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def save(
        self,
        actor_key: str,
        worksheet_id: str,
        answers: dict[str, Any],
        *,
        source: str | None = None,
    ) -> Item:
        """Store a finished worksheet under the member's next number (once per `source`)."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if source:
                existing = await session.scalar(
                    select(ToolboxItem).where(ToolboxItem.source == source)
                )
                if existing is not None:
                    return _item(existing, [])
            highest = await session.scalar(
                select(func.max(ToolboxItem.number)).where(ToolboxItem.actor_key == actor_key)
            )
            row = ToolboxItem(
                actor_key=actor_key,
                number=(highest or 0) + 1,
                worksheet_id=worksheet_id,
                answers=json.dumps(answers, ensure_ascii=False),
                created_at=now,
                updated_at=now,
                source=source or None,
            )
            session.add(row)
            await session.flush()
            return _item(row, [])

    async def items(self, actor_key: str, worksheet_id: str | None = None) -> list[Item]:
        """The member's items, oldest first, optionally of one worksheet."""
        async with self._sessions() as session:
            query = select(ToolboxItem).where(ToolboxItem.actor_key == actor_key)
            if worksheet_id is not None:
                query = query.where(ToolboxItem.worksheet_id == worksheet_id)
            rows = list(await session.scalars(query.order_by(ToolboxItem.number)))
            shares = await self._shares(session, [r.id for r in rows])
            return [_item(r, shares.get(r.id, [])) for r in rows]

    async def get(self, actor_key: str, number: int) -> Item:
        """One of the member's items."""
        async with self._sessions() as session:
            row = await self._row(session, actor_key, number)
            shares = await self._shares(session, [row.id])
            return _item(row, shares.get(row.id, []))

    async def replace_answer(
        self, actor_key: str, number: int, step_id: str, value: Any | None
    ) -> Item:
        """Change one answer (None removes it)."""
        async with self._sessions.begin() as session:
            row = await self._row(session, actor_key, number)
            answers = json.loads(row.answers)
            if value is None:
                answers.pop(step_id, None)
            else:
                answers[step_id] = value
            row.answers = json.dumps(answers, ensure_ascii=False)
            row.updated_at = self._clock.now()
            await session.flush()
            return _item(row, [])

    async def delete(self, actor_key: str, number: int) -> list[Share]:
        """Remove an item; returns its live shares so the caller can withdraw them."""
        async with self._sessions.begin() as session:
            row = await self._row(session, actor_key, number)
            shares = (await self._shares(session, [row.id])).get(row.id, [])
            await session.execute(delete(ToolboxShare).where(ToolboxShare.item_id == row.id))
            await session.delete(row)
            return shares

    async def add_share(
        self, actor_key: str, number: int, recipient_key: str, recipient_name: str, key: str
    ) -> None:
        """Record that a copy went to `recipient_key` through outbox item `key`."""
        async with self._sessions.begin() as session:
            row = await self._row(session, actor_key, number)
            session.add(
                ToolboxShare(
                    item_id=row.id,
                    owner_key=actor_key,
                    recipient_key=recipient_key,
                    recipient_name=recipient_name,
                    outbox_key=key,
                    created_at=self._clock.now(),
                )
            )

    async def remove_shares(self, actor_key: str, number: int) -> list[Share]:
        """Forget every share of an item; returns what was removed."""
        async with self._sessions.begin() as session:
            row = await self._row(session, actor_key, number)
            shares = (await self._shares(session, [row.id])).get(row.id, [])
            await session.execute(delete(ToolboxShare).where(ToolboxShare.item_id == row.id))
            return shares

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Every toolbox item and urge log (answers decrypted) and shares to or from them."""
        async with self._sessions() as session:
            items = await session.scalars(
                select(ToolboxItem)
                .where(ToolboxItem.actor_key == actor_key)
                .order_by(ToolboxItem.number)
            )
            shares = await session.scalars(
                select(ToolboxShare).where(
                    (ToolboxShare.owner_key == actor_key)
                    | (ToolboxShare.recipient_key == actor_key)
                )
            )
            return {
                "toolbox": [
                    {**export_row(r, skip=("answers",)), "answers": json.loads(r.answers)}
                    for r in items
                ],
                "shares": [export_row(r, skip=("outbox_key",)) for r in shares],
            }

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase the person's items and every share to or from them, with the copies sent."""
        async with self._sessions.begin() as session:
            ids = select(ToolboxItem.id).where(ToolboxItem.actor_key == actor_key)
            await session.execute(delete(ToolboxShare).where(ToolboxShare.item_id.in_(ids)))
            await session.execute(
                delete(ToolboxShare).where(ToolboxShare.recipient_key == actor_key)
            )
            await session.execute(delete(ToolboxItem).where(ToolboxItem.actor_key == actor_key))

    @staticmethod
    async def _row(session: AsyncSession, actor_key: str, number: int) -> ToolboxItem:
        row = await session.scalar(
            select(ToolboxItem).where(
                ToolboxItem.actor_key == actor_key, ToolboxItem.number == number
            )
        )
        if row is None:
            raise not_found(number)
        return row

    @staticmethod
    async def _shares(session: AsyncSession, item_ids: list[int]) -> dict[int, list[Share]]:
        if not item_ids:
            return {}
        rows = await session.scalars(
            select(ToolboxShare)
            .where(ToolboxShare.item_id.in_(item_ids))
            .order_by(ToolboxShare.id)
        )
        found: dict[int, list[Share]] = {}
        for row in rows:
            found.setdefault(row.item_id, []).append(
                Share(row.recipient_key, row.recipient_name, row.outbox_key)
            )
        return found


def _item(row: ToolboxItem, shares: list[Share]) -> Item:
    return Item(
        number=row.number,
        worksheet_id=row.worksheet_id,
        answers=json.loads(row.answers),
        created_at=row.created_at,
        updated_at=row.updated_at,
        shares=tuple(shares),
    )
