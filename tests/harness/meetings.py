"""Helpers shared by the meetings tests: a platform that notes delivery times, the cog."""

from __future__ import annotations

from datetime import datetime

from bot.app import App
from bot.core.message import Message
from bot.outbox import Target
from cogs.meetings.cog import MeetingsCog
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
