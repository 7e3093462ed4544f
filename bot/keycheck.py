"""The key check: proof at start that the configured keys read this database.

Without it, a bot started with a lost or wrong key would fail on every read with an error id
and, worse, write new text under the wrong key, leaving the database split between two keys.
The first start stores a random secret encrypted with the keys (`key_check` table); every
start decrypts it, or refuses with one line that says what to do. The secret also keys the
HMAC of `crypto.actor_tag`.

A database made before the check existed gets its check value on the first start whose keys
can read a value already stored in it.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from sqlalchemy import Table, select, type_coerce
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

from bot import crypto
from bot.db import Database, utcnow
from bot.models import KeyCheck

CHECK_ROW = 1
WHAT_TO_DO = (
    "Start with the key this database was made with: restore the key file (or "
    "security.encryption_keys) from the backup you made together with the database, or point "
    "the bot at the database that belongs to these keys. See README, 'Backups'."
)


class KeyMismatch(Exception):
    """The configured keys cannot read this database; the message says what to do."""


def _mismatch(where: str, source: str) -> KeyMismatch:
    return KeyMismatch(
        f"The encryption keys from {source} cannot read {where}: it was written with another "
        f"key. {WHAT_TO_DO}"
    )


async def _stored_sample(conn: AsyncConnection) -> str | None:
    """Any encrypted value already in the database (raw token), or None when there is none."""
    from bot.maintenance import encrypted_columns

    for table, columns in encrypted_columns():
        if table.name == KeyCheck.__tablename__:
            continue
        for column in columns:
            raw = type_coerce(column, Text())
            try:
                value = await conn.scalar(
                    select(raw).select_from(table).where(column.is_not(None)).limit(1)
                )
            except (OperationalError, ProgrammingError):
                # A cog's table that its migration has not created here: nothing stored in it.
                await conn.rollback()
                continue
            if value:
                return str(value)
    return None


async def verify(db: Database, *, source: str) -> None:
    """Check the keys against the database, store the check value on first use, install it.

    Args:
        db: a migrated database.
        source: where the keys came from, for the message ("the key file data/x.key").

    Raises:
        KeyMismatch: the keys cannot read the stored check value, or (for a database made
            before the check existed) a value already stored.
    """
    table: Table = KeyCheck.__table__  # type: ignore[assignment]
    for _attempt in range(2):
        async with db.engine.connect() as conn:
            token = await conn.scalar(
                select(type_coerce(table.c.secret, Text())).where(table.c.id == CHECK_ROW)
            )
            if token is not None:
                try:
                    secret_hex = crypto.keyring().decrypt(str(token))
                except crypto.KeyringError:
                    raise _mismatch(db.display_url, source) from None
                break
            sample = await _stored_sample(conn)
            if sample is not None:
                try:
                    crypto.keyring().decrypt(sample)
                except crypto.KeyringError:
                    raise _mismatch(db.display_url, source) from None
            secret_hex = secrets.token_hex(crypto.TAG_SECRET_BYTES)
            try:
                # The column type encrypts with the newest key. A fixed id: when two processes
                # start on a new database together, one insert wins and both use its secret.
                await conn.execute(
                    table.insert().values(id=CHECK_ROW, secret=secret_hex, created_at=utcnow())
                )
                await conn.commit()
                break
            except IntegrityError:
                await conn.rollback()
    crypto.use_tag_secret(bytes.fromhex(secret_hex))


def sqlite_holds_encrypted_data(path: Path) -> bool:
    """True when a SQLite file holds a key check value or any encrypted value.

    Read-only and synchronous: the console asks before it would create a key, so that a lost
    key file is reported instead of being replaced by a new key the old data cannot use.
    """
    if not path.exists() or path.stat().st_size == 0:
        return False
    from bot.maintenance import encrypted_columns

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for table, columns in encrypted_columns():
            for column in columns:
                try:
                    found = conn.execute(
                        f'SELECT 1 FROM "{table.name}" WHERE "{column.name}" IS NOT NULL LIMIT 1'
                    ).fetchone()
                except sqlite3.OperationalError:
                    continue  # no such table in this file
                if found:
                    return True
        return False
    finally:
        conn.close()
