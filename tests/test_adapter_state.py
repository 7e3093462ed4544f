"""What an adapter stores survives processes writing the same key at once (both engines)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.adapters.state import AdapterStore
from bot.db import Database
from tests.harness.postgres import fresh_pg_schema, pg_url


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_processes_storing_one_key_together_neither_fails(
    engine: str, tmp_path: Path
) -> None:
    """Two processes starting together both store the command hash; neither start fails
    and the key holds one of the values."""
    if engine == "postgresql":
        async with fresh_pg_schema() as schema:
            await race([Database(pg_url(), schema=schema) for _ in range(2)])
    else:
        await race([Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}")])


async def race(databases: list[Database]) -> None:
    for database in databases[:1]:
        await database.migrate()
    try:
        stores = [AdapterStore("discord", db.sessions) for db in databases]
        writers = [stores[i % len(stores)] for i in range(6)]
        await asyncio.gather(*(s.put({"commands": f"hash {i}"}) for i, s in enumerate(writers)))
        assert await stores[0].get("commands") in {f"hash {i}" for i in range(6)}
        await stores[-1].put({"commands": "new", "other": "kept"})
        assert [await stores[0].get(k) for k in ("commands", "other")] == ["new", "kept"]
    finally:
        for database in databases:
            await database.close()
