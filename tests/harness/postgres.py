"""PostgreSQL for storage tests: the DSN, a SQLAlchemy URL and a throwaway schema per test.

The server is the project's local PostgreSQL (127.0.0.1:5432, trust auth, database `test`);
set CIRCLEBOT_TEST_PG to use another. A missing PostgreSQL fails the test, never skips it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import event

from bot.db import Database

PG_DSN = os.environ.get("CIRCLEBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_url() -> str:
    """The asyncpg URL for SQLAlchemy (`postgresql+asyncpg://...`) of PG_DSN."""
    return PG_DSN.replace("postgresql://", "postgresql+asyncpg://", 1)


class MigratedPostgres:
    """What migrating an empty schema writes, recorded once per process; a new migrated schema
    replays it instead of running Alembic again.

    Alembic spends about a quarter of a second of Python per schema, and every app that starts
    on an empty schema migrates to the same tables. The first call migrates a schema of its own
    through `Database.migrate` (as `App.open(migrate=True)` does) and records every statement
    it sends; each migrated schema then runs those statements, in order, as one script in one
    transaction with the new schema first on its search path. Only reads are left out (the
    catalog lookups and a data migration's read of a table that is empty then): given the same
    empty schema, the writes are what the migration does. No statement names a schema, and
    one that did, or one with parameters, is refused (RuntimeError) rather than replayed wrong.
    Migrating an empty schema itself stays tested where it is the point (tests/test_storage.py,
    tests/test_keys.py); tests/test_harness.py checks a replayed schema equals a migrated one.
    """

    script: ClassVar[str | None] = None

    @classmethod
    async def fill(cls, conn: asyncpg.Connection, schema: str) -> None:
        """Make the empty `schema` a migrated one, through `conn`."""
        if cls.script is None:
            cls.script = await cls._record()
        async with conn.transaction():
            await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            await conn.execute(cls.script)

    @staticmethod
    async def _record() -> str:
        sent: list[tuple[str, Any]] = []

        def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            sent.append((statement, parameters))

        async with fresh_pg_schema() as schema:
            db = Database(pg_url(), schema=schema)
            event.listen(db.engine.sync_engine, "before_cursor_execute", note)
            try:
                await db.migrate()
            finally:
                await db.close()
        writes = [(s, p) for s, p in sent if not s.lstrip().upper().startswith("SELECT")]
        for statement, parameters in writes:
            if parameters or schema in statement:
                raise RuntimeError(f"a migration statement cannot be replayed: {statement!r}")
        return ";\n".join(statement for statement, _ in writes)


@asynccontextmanager
async def fresh_pg_schema(*, migrated: bool = False) -> AsyncIterator[str]:
    """Create a uniquely named schema (`t_` + 12 hex digits), yield its name, drop it after.

    Empty, or with `migrated` at the newest migrations (`MigratedPostgres`). Fails the test
    (pytest.fail) when PostgreSQL cannot be reached within 5 seconds.
    """
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is needed at {PG_DSN} for this test: {exc}")
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        if migrated:
            await MigratedPostgres.fill(conn, name)
        yield name
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.close()


@asynccontextmanager
async def schema_for(backend: str, *, migrated: bool = False) -> AsyncIterator[str | None]:
    """For backend "postgres", a fresh schema (`fresh_pg_schema`, `migrated` as there); for
    any other, None, without touching PostgreSQL."""
    if backend != "postgres":
        yield None
        return
    async with fresh_pg_schema(migrated=migrated) as name:
        yield name


@pytest_asyncio.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards. Missing PostgreSQL fails the test."""
    async with fresh_pg_schema() as name:
        yield name
