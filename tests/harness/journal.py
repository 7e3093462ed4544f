"""Journal test helpers: a journal app on the fake platform, its entry codes and deliveries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.clock import VirtualClock
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


CODE = re.compile(r"`([2-9a-z]{6})`")


async def journal_app(
    app_factory: AppFactory, *, clock: VirtualClock | None = None, **settings: Any
) -> tuple[App, FakePlatform]:
    cogs: dict[str, Any] = {"enabled": ["general", "journal"]}
    if settings:
        cogs["journal"] = settings
    config = make_config(cogs=cogs, bot={"rate_limit": {"commands": 1000, "per_seconds": 1}})
    app = await app_factory(config, clock=clock or VirtualClock(START))
    fake = FakePlatform(app)
    app.add_transport(fake)
    return app, fake


def code_in(said: list[Said]) -> str:
    for item in said:
        if m := CODE.search(item.text):
            return m.group(1)
    raise AssertionError(f"no code in {[s.text for s in said]}")


def texts(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def deliver(app: App) -> None:
    await app.scheduler.advance(timedelta(seconds=1))
