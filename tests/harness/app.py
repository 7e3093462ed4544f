"""Apps for tests: a validated config from keyword sections and the `app_factory` fixture.

Every cog and core test builds its app here, so how a test app is opened, started, put on the
recording platform, freed from the per-member rate limit and closed lives in one place.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest_asyncio

from bot import crypto
from bot.app import App
from bot.clock import Clock
from bot.config import AppConfig
from bot.core.dispatch import RateLimiter
from bot.core.loader import parse_config
from bot.core.permissions import Tier
from bot.db import Database
from tests.harness.platform import FakePlatform

P = TypeVar("P", bound=FakePlatform)


def make_config(**sections: dict[str, object]) -> AppConfig:
    """A validated config from keyword sections, e.g. make_config(bot={"timezone": "UTC"}).

    Raises whatever `bot.config.parse` raises for an invalid section.
    """
    return parse_config(dict(sections), "test")


def lift_rate_limit(app: App) -> None:
    """Tests type faster than people: no per-member command limit (`RateLimiter.unlimited()`).

    A test sends many commands within one minute of the app's clock, so it would otherwise be
    told to slow down. Tests of the limit itself keep it: they set `bot.rate_limit`.
    """
    app.dispatcher.rate_limiter = RateLimiter.unlimited()


class MigratedSQLite:
    """An empty SQLite database migrated once per process; each new test database is a copy.

    Migrating takes about half a second of alembic per database (most of an app's start in
    a test), and every test app starts from the same empty schema, so the migration runs once,
    through the same `Database.migrate` as `App.open(migrate=True)`, and each database starts
    as a copy of that image. The image holds only the schema: no key check (the first start
    stores it under the test's own key) and no rows (no migration adds any to an empty
    database). Migrating an empty database itself stays tested where it is the point
    (tests/test_storage.py, tests/test_keys.py, the apps that call `App.open` themselves).
    """

    image: ClassVar[bytes | None] = None

    @classmethod
    def copy_to(cls, path: Path) -> None:
        """Make `path` (absent) a migrated, empty SQLite database, readable by its owner only
        (`crypto.private_file`, as the app makes its own file)."""
        if cls.image is None:
            cls.image = cls._migrate_once()
        crypto.private_file(path)
        path.write_bytes(cls.image)

    @staticmethod
    def _migrate_once() -> bytes:
        with tempfile.TemporaryDirectory(prefix="circlebot-template-") as folder:
            path = Path(folder) / "template.sqlite3"

            async def migrate() -> None:
                db = Database(f"sqlite+aiosqlite:///{path}")
                try:
                    await db.migrate()
                finally:
                    await db.close()

            # Its own thread and event loop: callers may be inside a running loop or not.
            with ThreadPoolExecutor(max_workers=1) as thread:
                thread.submit(asyncio.run, migrate()).result()
            with closing(sqlite3.connect(path)) as conn:
                return conn.serialize()


class AppFactory:
    """Builds started apps on SQLite files under one directory; `close()` closes them all."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.apps: list[App] = []

    async def __call__(
        self,
        config: AppConfig | None = None,
        *,
        clock: Clock | None = None,
        db_url: str | None = None,
        db_schema: str | None = None,
        name: str = "bot",
        start: bool = True,
        fast_typing: bool = False,
    ) -> App:
        """An opened (migrated) and, unless `start=False`, started `App`. Apps with the same
        `name` share one SQLite file, which is how a test restarts the bot; a new file starts
        as a copy of `MigratedSQLite`. `db_url` and `db_schema` put it elsewhere (PostgreSQL).
        `fast_typing` lifts the rate limit."""
        path = self.directory / f"{name}.sqlite3"
        if db_url is None and not path.exists():
            MigratedSQLite.copy_to(path)
        url = db_url or f"sqlite+aiosqlite:///{path}"
        app = App(config or make_config(), clock=clock, db_url=url, db_schema=db_schema)
        await app.open(migrate=True)
        if start:
            await app.start()
        self.apps.append(app)
        if fast_typing:
            lift_rate_limit(app)
        return app

    async def on_platform(
        self,
        cogs: list[str] | None = None,
        *,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        actors: Mapping[str, Tier] | None = None,
        platform: type[P] = FakePlatform,  # type: ignore[assignment]
        fast_typing: bool = True,
        **options: Any,
    ) -> tuple[App, P]:
        """An app with `cogs` (default: every cog; `settings` per cog, e.g. {"journal":
        {"page_size": 3}}) on a recording `platform`, with `actors` given their tiers (others
        are members) and, unless `fast_typing=False`, no rate limit. `options` go to
        `__call__` (clock, db_url, db_schema, name, start). Returns (app, platform)."""
        sections: dict[str, Any] = {} if cogs is None else {"enabled": cogs}
        sections.update({cog: dict(values) for cog, values in (settings or {}).items()})
        app = await self(make_config(cogs=sections), fast_typing=fast_typing, **options)
        fake = platform(app)
        app.add_transport(fake)
        for name, tier in (actors or {}).items():
            fake.actor(name, tier)
        return app, fake

    async def close(self) -> None:
        """Close every app built, newest first."""
        for app in reversed(self.apps):
            await app.close()


@pytest_asyncio.fixture
async def app_factory(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """An `AppFactory` on tmp_path; every app it built is closed after the test."""
    factory = AppFactory(tmp_path)
    yield factory
    await factory.close()


@contextmanager
def own_loop(directory: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, AppFactory]]:
    """A new event loop and an `AppFactory` for it, for a hypothesis property whose examples
    share the apps it builds: `@given` calls the example synchronously, so each runs with
    `loop.run_until_complete`. The apps and then the loop are closed on leaving."""
    loop = asyncio.new_event_loop()
    factory = AppFactory(directory)
    try:
        yield loop, factory
    finally:
        loop.run_until_complete(factory.close())
        loop.close()
