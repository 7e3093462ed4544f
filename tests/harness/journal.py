"""Journal test helpers: a journal app on the fake platform, its entry codes and deliveries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.clock import VirtualClock
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


CODE = re.compile(r"`([2-9a-z]{6})`")


async def journal_app(
    app_factory: AppFactory, *, clock: VirtualClock | None = None, **settings: Any
) -> tuple[App, FakePlatform]:
    """General and journal cogs (journal `settings`, e.g. page_size=3) on the fake platform."""
    return await app_factory.on_platform(
        ["general", "journal"], settings={"journal": settings}, clock=clock or VirtualClock(START)
    )


def code_in(said: list[Said]) -> str:
    for item in said:
        if m := CODE.search(item.text):
            return m.group(1)
    raise AssertionError(f"no code in {[s.text for s in said]}")


def texts(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def deliver(app: App) -> None:
    await app.scheduler.advance(timedelta(seconds=1))
