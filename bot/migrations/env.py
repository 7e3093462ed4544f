"""Alembic environment: runs on a connection the app hands over, or on a URL for autogenerate."""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil

from alembic import context
from sqlalchemy.engine import Connection

import bot.models  # noqa: F401  (registers the core tables)
import cogs
from bot.db import Base, create_engine

for module in pkgutil.iter_modules(cogs.__path__):
    if module.ispkg:
        try:
            importlib.import_module(f"cogs.{module.name}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"cogs.{module.name}.models":
                raise

target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    asyncio.run(run_from_url(os.environ.get("CIRCLEBOT_DB_URL", "sqlite+aiosqlite:///:memory:")))
