"""Helpers shared by the meetings tests: a platform that notes delivery times, the cog."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.models import OutboxItem, OutboxItemRef, OutboxPlanStamp
from bot.outbox import Target
from cogs.meetings.cog import MeetingsCog
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform


class Recorder(FakePlatform):
    """A fake platform that also notes the (virtual) time of every delivery."""

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.at: list[tuple[datetime, str, str]] = []

    async def send(self, target: Target, message: Message, idempotency_key: str) -> None:
        before = len(self.said)
        await super().send(target, message, idempotency_key)
        if len(self.said) > before:
            self.at.append((self.app.clock.now(), idempotency_key, self.said[-1].text))


class Gate:
    """Holds every call of an async method at its entry: `entered` is set once a call has
    arrived, `release()` lets held and later calls go on to the real method (`real`), and
    `restore()` puts the real method back for later calls (held ones still wait for
    `release`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        self.real = getattr(owner, name)
        self.entered = asyncio.Event()
        self._open = asyncio.Event()
        self._monkeypatch, self._owner, self._name = monkeypatch, owner, name

        async def held(*args: Any) -> Any:
            self.entered.set()
            await self._open.wait()
            return await self.real(*args)

        monkeypatch.setattr(owner, name, held)

    def release(self) -> None:
        """Let held and later calls through."""
        self._open.set()

    def restore(self) -> None:
        """Later calls go straight to the real method."""
        self._monkeypatch.setattr(self._owner, self._name, self.real)


def cog(app: App) -> MeetingsCog:
    """The app's meetings cog."""
    found = app.cogs["meetings"]
    assert isinstance(found, MeetingsCog)
    return found


async def after_an_update(app: App) -> None:
    """Drop every stored plan stamp, as a restart into new code finds them (their digests name
    the old code): the next rebuild plans every meeting."""
    async with app.db.sessions.begin() as session:
        await session.execute(delete(OutboxPlanStamp))


PendingRow = tuple[
    str, bool, datetime, datetime | None, int, str | None, tuple[tuple[str, str], ...]
]


async def pending(app: App) -> dict[str, PendingRow]:
    """Every pending outbox item by key: (target, is DM, due, not after, early seconds, the
    decrypted payload, its sorted (kind, ref) references)."""
    async with app.db.sessions() as session:
        refs: dict[int, list[tuple[str, str]]] = {}
        for item_id, kind, ref in await session.execute(
            select(OutboxItemRef.item_id, OutboxItemRef.kind, OutboxItemRef.ref)
        ):
            refs.setdefault(item_id, []).append((kind, ref))
        rows = await session.scalars(select(OutboxItem).where(OutboxItem.status == "pending"))
        return {
            row.key: (
                row.target,
                row.is_dm,
                row.due_at,
                row.not_after,
                row.early_seconds,
                row.payload,
                tuple(sorted(refs.get(row.id, []))),
            )
            for row in rows
        }


async def circle(
    app_factory: AppFactory,
    *,
    clock: VirtualClock,
    meetings: dict[str, Any] | None = None,
    more: tuple[str, ...] = (),
) -> tuple[App, Recorder]:
    """An app with the meetings cog (and the cogs named in `more`) on `clock`, a recording
    platform, a facilitator `fac` and a moderator `mod`."""
    cogs: dict[str, Any] = {"enabled": ["general", "meetings", *more]}
    if meetings:
        cogs["meetings"] = meetings
    app = await app_factory(make_config(cogs=cogs), clock=clock)
    fake = Recorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    fake.actor("mod", Tier.MODERATOR)
    return app, fake
