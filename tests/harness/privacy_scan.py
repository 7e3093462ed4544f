"""Find a member's words or account id anywhere in a database, decrypting what is encrypted.

The schema comes from reflecting the live database (not from the models), so a table or a
column added later is scanned without changing this file. Every value is expanded into every
readable form it holds: Fernet tokens are decrypted (also tokens inside JSON text and inside
decrypted text), JSON is parsed and its strings unescaped, and base64 strings inside JSON (file
attachments in outbox payloads) are decoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Text, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import crypto

FERNET_TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}")
BASE64 = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")
HASHES = (hashlib.sha256, hashlib.sha1, hashlib.md5, hashlib.blake2b, hashlib.sha512)


@dataclass(frozen=True)
class Hit:
    """One needle found: where, which needle, and a little context."""

    where: str
    needle: str
    context: str


def id_encodings(actor_key: str) -> set[str]:
    """Forms of an account id a reader could join on: raw, plain hash prefixes, base64."""
    _platform, ident = actor_key.split(":", 1)
    forms = {actor_key, ident}
    for raw in (actor_key, ident):
        forms.add(base64.b64encode(raw.encode()).decode().rstrip("="))
        for digest in HASHES:
            forms.add(digest(raw.encode()).hexdigest()[:8])
    return forms


def readable_forms(value: Any) -> Iterator[str]:
    """The value as text plus everything hidden inside it (decrypted, parsed, decoded)."""
    stack: list[Any] = [value]
    seen: set[str] = set()
    while stack:
        item = stack.pop()
        if item is None:
            continue
        if isinstance(item, bytes | bytearray | memoryview):
            raw = bytes(item)
            text = raw.decode("utf-8", "replace")
        else:
            text = item if isinstance(item, str) else str(item)
            raw = text.encode("utf-8", "surrogatepass")
        if text in seen:
            continue
        seen.add(text)
        yield text
        for token in FERNET_TOKEN.findall(raw):
            try:
                stack.append(crypto.keyring().decrypt(token.decode("ascii")))
            except crypto.KeyringError:
                yield "<undecryptable token>"
        stripped = text.strip()
        if stripped[:1] in ("{", "[", '"'):
            try:
                parsed = json.loads(stripped)
            except ValueError:
                continue
            stack.extend(_json_strings(parsed))
        elif BASE64.match(stripped):
            try:
                stack.append(base64.b64decode(stripped, validate=True))
            except (binascii.Error, ValueError):
                continue


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _json_strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _json_strings(inner)
    elif value is not None:
        yield str(value)


def find(where: str, value: Any, needles: Iterable[str]) -> list[Hit]:
    """Every needle (case-insensitive) in any readable form of `value`."""
    wanted = [n for n in needles if n]
    hits: dict[str, Hit] = {}
    for form in readable_forms(value):
        low = form.lower()
        for needle in wanted:
            at = low.find(needle.lower())
            if at >= 0 and needle not in hits:
                hits[needle] = Hit(where, needle, form[max(0, at - 40) : at + len(needle) + 40])
    return list(hits.values())


# Everything that defines a schema, as one query per backend: SQLite's own record of every
# table and index (their CREATE statements), PostgreSQL's columns, constraints and indexes of
# the connection's schema (index definitions without the schema's name, which differs per test).
SCHEMA_TEXT = {
    "sqlite": "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY 1, 2, 3",
    "postgresql": """
        SELECT 'column', c.relname, a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
            || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
            || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = current_schema()::regnamespace
        UNION ALL
        SELECT 'constraint', conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
        UNION ALL
        SELECT 'index', tablename, replace(indexdef, quote_ident(current_schema()) || '.', '')
        FROM pg_indexes WHERE schemaname = current_schema()
        ORDER BY 1, 2, 3
    """,
}
# Reflected schemas by backend and schema text: reflecting is most of a scan (about 0.25 s of
# SQLAlchemy per call on SQLite) and a test scans the same schema many times.
_reflected: dict[tuple[str, tuple[tuple[Any, ...], ...]], MetaData] = {}


def reflect(conn: Connection) -> MetaData:
    """The live database's tables, reflected; reflected again whenever its schema text (every
    table, column, constraint and index, `SCHEMA_TEXT`) is one not seen before."""
    dialect = conn.dialect.name
    key = (dialect, tuple(map(tuple, conn.exec_driver_sql(SCHEMA_TEXT[dialect]).all())))
    meta = _reflected.get(key)
    if meta is None:
        meta = MetaData()
        meta.reflect(conn)
        _reflected[key] = meta
    return meta


async def all_values(engine: AsyncEngine) -> Iterator[tuple[str, Any]]:
    """("table.column", value) for every value of every table the live database has."""
    found: list[tuple[str, Any]] = []
    async with engine.connect() as conn:
        meta = await conn.run_sync(reflect)
        assert meta.tables, "reflection found no tables"
        for table in meta.sorted_tables:
            columns = [type_coerce(c, Text()).label(c.name) for c in table.columns]
            for row in (await conn.execute(select(*columns))).all():
                for name, value in row._mapping.items():
                    found.append((f"{table.name}.{name}", value))
    return iter(found)


async def scan_database(engine: AsyncEngine, needles: Iterable[str]) -> list[Hit]:
    """Reflect every table of the live database and search every value of every column."""
    wanted = list(needles)
    hits: list[Hit] = []
    for where, value in await all_values(engine):
        hits.extend(find(where, value, wanted))
    return hits


async def live_tokens(engine: AsyncEngine) -> set[bytes]:
    """Every Fernet token the live rows hold (the file scan reports only the others)."""
    tokens: set[bytes] = set()
    for _where, value in await all_values(engine):
        if value is not None:
            tokens.update(FERNET_TOKEN.findall(str(value).encode("utf-8", "surrogatepass")))
    return tokens


def scan_sqlite_files(
    database: Path,
    needles: Iterable[str],
    *,
    skip_tokens: set[bytes] = frozenset(),  # type: ignore[assignment]
) -> list[Hit]:
    """The database file and its write-ahead log as raw bytes: plaintext and any token in them
    that no live row holds (a deleted row's token can linger in a free page or a WAL frame)."""
    wanted = list(needles)
    hits: list[Hit] = []
    for path in (database, database.with_name(database.name + "-wal")):
        if not path.exists():
            continue
        data = path.read_bytes()
        text = data.decode("latin-1")
        low = text.lower()
        for needle in wanted:
            at = low.find(needle.lower())
            if at >= 0:
                hits.append(Hit(path.name, needle, text[max(0, at - 40) : at + 40]))
        for token in set(FERNET_TOKEN.findall(data)) - skip_tokens:
            hits.extend(find(f"{path.name} token", token, wanted))
    return hits
