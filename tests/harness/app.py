"""Apps for tests: a validated config from keyword sections and the `app_factory` fixture.

Every cog and core test builds its app here, so how a test app is opened, started and closed
lives in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest_asyncio

from bot.app import App
from bot.clock import Clock
from bot.config import AppConfig
from bot.core.loader import parse_config

AppFactory = Callable[..., Awaitable[App]]


def make_config(**sections: dict[str, object]) -> AppConfig:
    """A validated config from keyword sections, e.g. make_config(bot={"timezone": "UTC"}).

    Raises whatever `bot.config.parse` raises for an invalid section.
    """
    return parse_config(dict(sections), "test")


@pytest_asyncio.fixture
async def app_factory(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Build started apps on SQLite files under tmp_path; all are closed after the test.

    `await app_factory(config=None, *, clock=None, db_url=None, db_schema=None, name="bot",
    start=True)` returns an opened (migrated) and, unless `start=False`, started `App`. Apps
    with the same `name` share one SQLite file, which is how a test restarts the bot.
    """
    apps: list[App] = []

    async def build(
        config: AppConfig | None = None,
        *,
        clock: Clock | None = None,
        db_url: str | None = None,
        db_schema: str | None = None,
        name: str = "bot",
        start: bool = True,
    ) -> App:
        url = db_url or f"sqlite+aiosqlite:///{tmp_path / f'{name}.sqlite3'}"
        app = App(config or make_config(), clock=clock, db_url=url, db_schema=db_schema)
        await app.open(migrate=True)
        if start:
            await app.start()
        apps.append(app)
        return app

    yield build
    for app in reversed(apps):
        await app.close()
