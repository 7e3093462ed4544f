"""Owner tasks over the whole database: key rotation, moving a community, scrubbing free space.

Everything here walks `Base.metadata` (the core's and every cog's models), so a cog that adds a
table with an `EncryptedText` column is rotated and exported without any change here.

Key rotation, step by step:

1. `circlebot generate-key`, put the new key FIRST in the configured keys (keep the old ones).
2. Restart the bot (new text is now written with the new key) and run `circlebot rotate-key`.
   It re-encrypts every encrypted column in batches, one transaction per batch. A token that
   the newest key already reads is skipped, so after a crash simply run it again.
3. When it reports nothing left, remove the old keys from the config.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import (
    Column,
    Date,
    Table,
    Text,
    and_,
    insert,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

import cogs
from bot.crypto import EncryptedText, KeyringError, write_private
from bot.db import Base, Database, UTCDateTime

log = logging.getLogger("circlebot.maintenance")

COMMUNITY_EXPORT_FORMAT = "circlebot-community-export-1"
DEFAULT_BATCH = 500


def load_all_models() -> None:
    """Import the core's and every shipped cog's models so the metadata is complete."""
    importlib.import_module("bot.models")
    for module in pkgutil.iter_modules(cogs.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"cogs.{module.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"cogs.{module.name}.models":
                    raise


def encrypted_columns() -> list[tuple[Table, list[Column[Any]]]]:
    """Every table with `EncryptedText` columns, with those columns."""
    load_all_models()
    found: list[tuple[Table, list[Column[Any]]]] = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedText)]
        if columns:
            found.append((table, columns))
    return found


# ---------------------------------------------------------------------- scrubbing


async def scrub_free_space(db: Database) -> bool:
    """Make deleted rows unrecoverable from the database files where we can.

    SQLite keeps deleted bytes in free pages and in the write-ahead log until they are reused;
    `VACUUM` rewrites the file without them and a truncating checkpoint empties the -wal file.
    It costs a copy of the database, which is fine for the rare erase. PostgreSQL's own
    (auto)vacuum reclaims dead rows; nothing is done here. Returns False if SQLite was busy.
    """
    if db.engine.dialect.name != "sqlite":
        return True
    try:
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM")
            await auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return True
    except Exception:
        log.warning("could not scrub free space now (the database was busy)", exc_info=True)
        return False


# ---------------------------------------------------------------------- key rotation


@dataclass
class RotationReport:
    """What one `rotate_keys` pass did."""

    rotated: int = 0
    current: int = 0  # already under the newest key
    changed_meanwhile: int = 0  # written by the bot during the pass (already new)
    per_column: dict[str, int] = field(default_factory=dict)


async def rotate_keys(
    db: Database,
    keys: Sequence[str],
    *,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[str], None] | None = None,
) -> RotationReport:
    """Re-encrypt every `EncryptedText` value under `keys[0]`, batch by batch.

    Safe to run while the bot runs and to run again after a crash: each batch is its own
    transaction, tokens the newest key reads are skipped, and an update only lands if the
    token is still the one read (compare-and-set), so a concurrent edit is never overwritten.
    """
    if not keys:
        raise KeyringError("no encryption key configured")
    newest = Fernet(keys[0].encode())
    every = MultiFernet([Fernet(k.encode()) for k in keys])
    report = RotationReport()
    for table, columns in encrypted_columns():
        (pk,) = table.primary_key.columns  # every encrypted table has a single integer id
        for column in columns:
            name = f"{table.name}.{column.name}"
            raw = type_coerce(column, Text())
            last: Any = None
            while True:
                query = select(pk, raw).where(column.is_not(None)).order_by(pk).limit(batch)
                if last is not None:
                    query = query.where(pk > last)
                async with db.engine.begin() as conn:
                    rows = (await conn.execute(query)).all()
                    for row_id, token in rows:
                        last = row_id
                        token_bytes = str(token).encode("ascii")
                        try:
                            newest.decrypt(token_bytes)
                            report.current += 1
                            continue
                        except InvalidToken:
                            pass
                        try:
                            fresh = every.rotate(token_bytes).decode("ascii")
                        except InvalidToken as exc:
                            raise KeyringError(
                                f"{name} row {row_id} cannot be decrypted with the configured "
                                "keys; keep the key that wrote it in the list"
                            ) from exc
                        result = await conn.execute(
                            update(table)
                            .where(and_(pk == row_id, raw == literal(str(token), Text())))
                            .values({column.name: literal(fresh, Text())})
                        )
                        if getattr(result, "rowcount", 1) == 0:
                            report.changed_meanwhile += 1
                        else:
                            report.rotated += 1
                            report.per_column[name] = report.per_column.get(name, 0) + 1
                if progress is not None and rows:
                    progress(f"{name}: up to id {last}")
                if len(rows) < batch:
                    break
    return report


# ---------------------------------------------------------------------- moving a community


def community_tables() -> list[tuple[Table, Column[Any], Table]]:
    """(table, foreign-key column, parent table) for every table hanging off a community.

    Found by walking foreign keys from `community`: a table with a key to `community`, or to
    a table already tied to a community, belongs to it. Sorted parents first.
    """
    load_all_models()
    community = Base.metadata.tables["community"]
    tied: dict[str, tuple[Table, Column[Any], Table]] = {}
    for table in Base.metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
            parent = fk.column.table
            linked = parent is community or parent.name in tied
            if linked and table.name not in tied and table is not community:
                tied[table.name] = (table, fk.parent, parent)
    return list(tied.values())


def _to_json(column: Column[Any], value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _from_json(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    return value


async def _rows(
    conn: AsyncConnection, table: Table, where: Any, *, decrypt: bool
) -> list[dict[str, Any]]:
    columns = [
        c
        if decrypt or not isinstance(c.type, EncryptedText)
        else type_coerce(c, Text()).label(c.name)
        for c in table.columns
    ]
    result = await conn.execute(select(*columns).where(where).order_by(*table.primary_key))
    return [{c.name: _to_json(c, row._mapping[c.name]) for c in table.columns} for row in result]


async def export_community(db: Database, community_id: int, *, decrypt: bool) -> dict[str, Any]:
    """Every row tied to one community, with encrypted text as tokens unless `decrypt`."""
    load_all_models()
    community = Base.metadata.tables["community"]
    tables: dict[str, list[dict[str, Any]]] = {}
    ids: dict[str, set[Any]] = {}
    async with db.engine.connect() as conn:
        rows = await _rows(conn, community, community.c.id == community_id, decrypt=decrypt)
        if not rows:
            raise LookupError(f"there is no community with id {community_id}")
        tables["community"] = rows
        ids["community"] = {community_id}
        for table, fk_column, parent in community_tables():
            parent_ids = sorted(ids.get(parent.name, set()))
            found: list[dict[str, Any]] = []
            for start in range(0, len(parent_ids), DEFAULT_BATCH):
                chunk = parent_ids[start : start + DEFAULT_BATCH]
                found.extend(await _rows(conn, table, fk_column.in_(chunk), decrypt=decrypt))
            tables[table.name] = found
            keys = list(table.primary_key.columns)
            if len(keys) == 1:  # a table keyed by (parent, value), e.g. a search index, has
                ids[table.name] = {r[keys[0].name] for r in found}  # no children to follow
    return {
        "format": COMMUNITY_EXPORT_FORMAT,
        "encrypted": not decrypt,
        "note": (
            "Encrypted text is kept as Fernet tokens: importing needs the same encryption keys."
            if not decrypt
            else "Encrypted text is in plain form here: keep this file safe and delete it soon."
        ),
        "tables": tables,
    }


@dataclass
class ImportReport:
    """What `import_community` added."""

    community_id: int
    rows: dict[str, int]


async def import_community(db: Database, data: dict[str, Any]) -> ImportReport:
    """Add an exported community to this database in one transaction, with fresh ids.

    Refuses a community that already exists here (same platform and platform id).
    """
    if data.get("format") != COMMUNITY_EXPORT_FORMAT:
        raise ValueError("this file is not a circlebot community export")
    encrypted = bool(data.get("encrypted", True))
    load_all_models()
    exported: dict[str, list[dict[str, Any]]] = data["tables"]
    community = Base.metadata.tables["community"]
    order = [(community, None, None), *community_tables()]
    new_ids: dict[str, dict[Any, Any]] = {}
    counts: dict[str, int] = {}
    async with db.engine.begin() as conn:
        (source,) = exported["community"]
        clash = await conn.scalar(
            select(community.c.id).where(
                community.c.platform == source["platform"],
                community.c.platform_id == source["platform_id"],
            )
        )
        if clash is not None:
            raise ValueError(
                f"community {source['platform']}:{source['platform_id']} already exists here "
                f"(id {clash})"
            )
        for table, _fk, _parent in order:
            keys = list(table.primary_key.columns)
            # One id column gets a fresh id here; a key made of a parent and a value (a search
            # index: word code, entry) is copied with its parent's new id.
            pk = keys[0] if len(keys) == 1 else None
            mapping: dict[Any, Any] = {}
            copied = 0
            for row in exported.get(table.name, []):
                values: dict[str, Any] = {}
                for column in table.columns:
                    if column is pk or column.name not in row:
                        continue
                    value = _from_json(column, row[column.name])
                    for fk in column.foreign_keys:
                        parent_ids = new_ids.get(fk.column.table.name)
                        if parent_ids is not None and value is not None:
                            value = parent_ids[value]
                    if encrypted and isinstance(column.type, EncryptedText) and value is not None:
                        value = literal(value, Text())
                    values[column.name] = value
                if pk is None:
                    await conn.execute(insert(table).values(values))
                    copied += 1
                    continue
                result = await conn.execute(insert(table).values(values).returning(pk))
                mapping[row[pk.name]] = result.scalar_one()
            new_ids[table.name] = mapping
            counts[table.name] = len(mapping) + copied
    return ImportReport(community_id=new_ids["community"][source["id"]], rows=counts)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write an export readable only by its owner."""
    write_private(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
