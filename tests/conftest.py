"""Shared fixtures: encryption keys, a real app on a throwaway database, PostgreSQL schemas."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings

from bot import crypto
from bot.app import App
from bot.clock import Clock
from bot.config import AppConfig
from bot.config import parse as parse_config

PG_DSN = os.environ.get("CIRCLEBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

AppFactory = Callable[..., Awaitable[App]]

# Under CI every property test draws the same examples on every run, so a red build is
# reproducible and a green one is not luck; locally, new examples each time. A test's own
# @settings still decides its example count.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def encryption_keys() -> list[str]:
    """Every test gets a fresh key, as a deployment would have."""
    keys = [crypto.generate_key()]
    crypto.use_keys(keys)
    return keys


def make_config(**sections: dict[str, object]) -> AppConfig:
    """A validated config from keyword sections, e.g. make_config(bot={"timezone": "UTC"})."""
    return parse_config(dict(sections), "test")


@pytest_asyncio.fixture
async def app_factory(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Build started apps on SQLite files under tmp_path; all are closed after the test."""
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


@pytest_asyncio.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards. Missing PostgreSQL fails the test."""
    async with fresh_pg_schema() as name:
        yield name


@asynccontextmanager
async def fresh_pg_schema() -> AsyncIterator[str]:
    """Create a uniquely named schema and drop it afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is needed at {PG_DSN} for this test: {exc}")
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        yield name
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.close()


def pg_url() -> str:
    """The asyncpg URL for SQLAlchemy."""
    return PG_DSN.replace("postgresql://", "postgresql+asyncpg://", 1)
