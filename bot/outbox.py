"""Announcements and reminders that must arrive exactly once, also across a crash.

Every promised message is written as a row first (unique key = occurrence + kind), then handed
to the platform with that key as its idempotency key (Matrix txn id, Discord nonce), then marked
sent. A crash between send and mark leaves the row pending; the retry carries the same key, so
the platform drops the duplicate. After downtime, what came due inside the grace window is sent
with "(late)"; anything older is recorded as skipped, never sent hours late.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.core.errors import DeliveryError
from bot.core.message import Message
from bot.i18n import _
from bot.models import OutboxItem
from bot.scheduler import Scheduler

log = logging.getLogger("circlebot.outbox")

LATE_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Target:
    """Where an outbox item goes: a channel/room id, or a person's DM (their actor key)."""

    platform: str
    target: str
    is_dm: bool = False


Deliver = Callable[[Target, Message, str], Awaitable[None]]


@dataclass
class Report:
    """What one delivery pass did."""

    sent: int = 0
    late: int = 0
    skipped: int = 0
    failed: int = 0


class Outbox:
    """Durable, idempotent delivery of timed messages."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        scheduler: Scheduler,
        clock: Clock,
        deliver: Deliver,
        *,
        grace: timedelta = timedelta(minutes=15),
    ) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._clock = clock
        self._deliver = deliver
        self.grace = grace
        self._lock = asyncio.Lock()

    async def enqueue(self, key: str, target: Target, message: Message, due_at: datetime) -> bool:
        """Promise `message` at `due_at`; False if this key was already promised."""
        async with self._sessions() as session:
            session.add(
                OutboxItem(
                    key=key,
                    platform=target.platform,
                    target=target.target,
                    is_dm=target.is_dm,
                    payload=json.dumps(message.to_json()),
                    due_at=due_at,
                    status="pending",
                    attempts=0,
                    note="",
                )
            )
            try:
                await session.commit()
            except IntegrityError:
                return False
        self._plan(due_at)
        return True

    async def send_now(self, target: Target, message: Message, idempotency_key: str) -> None:
        """Deliver at once and keep no row: for what must not be stored (a crisis alert).

        Nothing retries it after a crash, which is the price of keeping nothing.

        Raises:
            DeliveryError: the platform is not connected or refused the message.
        """
        await self._deliver(target, message, idempotency_key)

    async def withdraw(self, key_prefix: str) -> int:
        """Cancel pending items (a meeting edited or cancelled never announces the old time)."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(OutboxItem)
                .where(OutboxItem.key.startswith(key_prefix, autoescape=True))
                .where(OutboxItem.status == "pending")
                .values(status="withdrawn", settled_at=self._clock.now())
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def recover(self) -> Report:
        """At start-up: settle what came due while down, and plan the rest."""
        report = await self.deliver_due()
        async with self._sessions() as session:
            rows = await session.execute(
                select(OutboxItem.due_at).where(OutboxItem.status == "pending")
            )
            for (due_at,) in rows:
                self._plan(due_at)
        return report

    def _plan(self, due_at: datetime) -> None:
        when = max(due_at, self._clock.now())
        self._scheduler.at(f"outbox.{when.isoformat()}", when, self.deliver_due)

    async def deliver_due(self) -> Report:
        """Send every pending item whose time has come, oldest first."""
        report = Report()
        async with self._lock:
            now = self._clock.now()
            async with self._sessions() as session:
                items = (
                    await session.scalars(
                        select(OutboxItem)
                        .where(OutboxItem.status == "pending", OutboxItem.due_at <= now)
                        .order_by(OutboxItem.due_at, OutboxItem.id)
                    )
                ).all()
            for item in items:
                await self._settle(item, now, report)
        return report

    async def _settle(self, item: OutboxItem, now: datetime, report: Report) -> None:
        lateness = now - item.due_at
        if lateness > self.grace:
            await self._mark(item.id, "skipped", now, f"stale by {int(lateness.total_seconds())}s")
            log.warning("outbox item %s skipped: %s late", item.key, lateness)
            report.skipped += 1
            return
        message = Message.from_json(json.loads(item.payload))
        if lateness > LATE_AFTER:
            message = message.with_prefix(_("(late) "))
        await self._bump_attempts(item.id)
        try:
            await self._deliver(Target(item.platform, item.target, item.is_dm), message, item.key)
        except Exception as exc:
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            if permanent or item.attempts + 1 >= MAX_ATTEMPTS:
                await self._mark(item.id, "failed", now, str(exc)[:255])
                report.failed += 1
            else:
                retry = now + timedelta(seconds=30 * (item.attempts + 1))
                self._scheduler.at(f"outbox.retry.{item.id}", retry, self.deliver_due)
            if isinstance(exc, DeliveryError):
                log.warning("outbox item %s not delivered: %s", item.key, exc)
            else:
                log.exception("outbox item %s failed in the adapter", item.key)
            return
        await self._mark(item.id, "sent", now, "late" if lateness > LATE_AFTER else "")
        report.sent += 1
        if lateness > LATE_AFTER:
            report.late += 1

    async def _bump_attempts(self, item_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id)
                .values(attempts=OutboxItem.attempts + 1)
            )

    async def _mark(self, item_id: int, status: str, now: datetime, note: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id)
                .values(status=status, settled_at=now, note=note)
            )

    async def known(self, key_prefix: str) -> dict[str, str]:
        """Key -> status of every item under a prefix, so a planner skips what it promised."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(OutboxItem.key, OutboxItem.status).where(
                    OutboxItem.key.startswith(key_prefix, autoescape=True)
                )
            )
            return {key: status for key, status in rows}

    async def status_of(self, key: str) -> str | None:
        """The state of one promised message (pending, sent, skipped, failed, withdrawn)."""
        async with self._sessions() as session:
            return await session.scalar(select(OutboxItem.status).where(OutboxItem.key == key))
