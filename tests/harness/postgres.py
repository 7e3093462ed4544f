"""PostgreSQL for storage tests: the DSN, a SQLAlchemy URL and a throwaway schema per test.

The server is the project's local PostgreSQL (127.0.0.1:5432, trust auth, database `test`);
set CIRCLEBOT_TEST_PG to use another. A missing PostgreSQL fails the test, never skips it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
import pytest_asyncio

PG_DSN = os.environ.get("CIRCLEBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_url() -> str:
    """The asyncpg URL for SQLAlchemy (`postgresql+asyncpg://...`) of PG_DSN."""
    return PG_DSN.replace("postgresql://", "postgresql+asyncpg://", 1)


@asynccontextmanager
async def fresh_pg_schema() -> AsyncIterator[str]:
    """Create a uniquely named schema (`t_` + 12 hex digits), yield its name, drop it after.

    Fails the test (pytest.fail) when PostgreSQL cannot be reached within 5 seconds.
    """
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


@pytest_asyncio.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards. Missing PostgreSQL fails the test."""
    async with fresh_pg_schema() as name:
        yield name
