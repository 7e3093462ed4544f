"""Helpers shared by the meetings tests: a platform that notes delivery times, the cog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.app import App
from bot.clock import VirtualClock
from bot.core.message import Message
from bot.core.permissions import Tier
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


def cog(app: App) -> MeetingsCog:
    """The app's meetings cog."""
    found = app.cogs["meetings"]
    assert isinstance(found, MeetingsCog)
    return found


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
