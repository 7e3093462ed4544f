"""Deleted is gone from the files too: no byte of a deleted row stays in SQLite's file or -wal.

Whatever table a row lives in and however it was deleted (ORM or a plain statement, one row or
many, in one transaction with other writes), once the deleting transaction is done neither the
database file nor its write-ahead log holds the row's text, while the rows that remain are
still there. The scan reads the raw bytes while the engine is open, as someone copying the files
of a running bot would.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.db import create_engine


@dataclass(frozen=True)
class Write:
    """Insert one row holding a marker into one of the tables."""

    table: int


@dataclass(frozen=True)
class Delete:
    """Delete some of the live rows (picked by index) in one transaction."""

    picks: tuple[int, ...]
    table_wide: bool  # delete every live row of the first pick's table with one statement


Step = Write | Delete
TABLES = ("journal_like", "share_like", "dialogue_like")
steps = st.lists(
    st.one_of(
        st.builds(Write, st.integers(0, len(TABLES) - 1)),
        st.builds(
            Delete, st.lists(st.integers(0, 50), min_size=1, max_size=3).map(tuple), st.booleans()
        ),
    ),
    min_size=1,
    max_size=25,
)


def marker(n: int) -> str:
    return f"qzmark{n:04d}qz"


def file_bytes(database: Path) -> bytes:
    wal = database.with_name(database.name + "-wal")
    return b"".join(p.read_bytes() for p in (database, wal) if p.exists())


async def run(database: Path, plan: list[Step]) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as conn:
            for name in TABLES:
                await conn.execute(
                    text(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, body TEXT)")
                )
        live: list[tuple[str, str]] = []  # (table, marker)
        gone: list[str] = []
        for n, step in enumerate(plan):
            if isinstance(step, Write):
                # padded so a row is larger than a few bytes, as members' entries are
                body = marker(n) + " " + "x" * 300
                async with engine.begin() as conn:
                    await conn.execute(
                        text(f"INSERT INTO {TABLES[step.table]} (body) VALUES (:b)"), {"b": body}
                    )
                live.append((TABLES[step.table], marker(n)))
                continue
            if not live:
                continue
            chosen = {live[i % len(live)] for i in step.picks}
            if step.table_wide:
                table = live[step.picks[0] % len(live)][0]
                chosen = {row for row in live if row[0] == table}
            async with engine.begin() as conn:
                for table, mark in sorted(chosen):
                    await conn.execute(
                        text(f"DELETE FROM {table} WHERE body LIKE :m"), {"m": mark + "%"}
                    )
            live = [row for row in live if row not in chosen]
            gone.extend(mark for _table, mark in chosen)
            stored = file_bytes(database)
            left = [m for m in gone if m.encode() in stored]
            assert not left, f"deleted, yet in the files: {left}"
            missing = [m for _t, m in live if m.encode() not in stored]
            assert not missing, f"live rows not in the files (the scan sees nothing): {missing}"
    finally:
        await engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps)
def test_no_deleted_row_stays_in_the_database_file_or_its_write_ahead_log(
    plan: list[Step],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder) / "bot.sqlite3", plan))
