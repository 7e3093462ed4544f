"""Storage: one declarative Base, engines for SQLite and PostgreSQL, and the migration check."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, MetaData, bindparam, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_

from bot.crypto import private_file

log = logging.getLogger("circlebot.db")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every model of the core and the cogs."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BUSY_TIMEOUT_MS = 5000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # Deleted rows are overwritten with zeros in the database file, whatever SQLite's build
    # default is (their bytes would otherwise stay readable in free space).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


SCRUB_WAL = "circlebot_scrub_wal"
HOLDS_WRITE_LOCK = "circlebot_holds_write_lock"
# Statements that never take SQLite's write lock; anything else (INSERT, UPDATE, DELETE,
# REPLACE, DDL) is a write.
READ_ONLY_PREFIXES = ("SELECT", "PRAGMA", "EXPLAIN")
WRITE_LOCK_WAIT_SECONDS = 120.0


class SQLiteWriteLock:
    """One write transaction at a time inside this process, in arrival order.

    SQLite has one writer per database. A connection that finds the write lock taken waits in
    SQLite's busy handler, which polls with growing sleeps and serves nobody in order: with
    many members writing at once (each transaction holds the lock across event-loop turns
    between its INSERT and its COMMIT) one connection can lose every poll until `busy_timeout`
    runs out and the member is told "something went wrong" although nothing was wrong with
    the write. Waiting here instead, on an asyncio lock (FIFO), before a transaction's first
    write, turns the busy handler's lottery into a queue, so a write is never lost to
    contention (SQLite's busy timeout still covers other processes and the checkpoint that
    empties the write-ahead log). The lock is held from a connection's first writing statement to
    its commit or rollback, which is exactly when SQLite holds its write lock too (the
    driver begins a transaction at the first INSERT, UPDATE or DELETE; reads before it run
    outside any transaction).

    A task that already holds the lock and writes through a second connection would wait for
    itself (SQLite would refuse it after `busy_timeout`); that is a bug in the caller and is
    raised at once as RuntimeError, as is a wait longer than
    WRITE_LOCK_WAIT_SECONDS.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    async def acquire(self) -> None:
        """Wait for the write lock (FIFO). Raises RuntimeError (see the class)."""
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise RuntimeError(
                "database is locked: this task already holds the write lock on another connection"
            )
        try:
            # asyncio.timeout, not wait_for: no task per write when the lock is free.
            async with asyncio.timeout(WRITE_LOCK_WAIT_SECONDS):
                await self._lock.acquire()
        except TimeoutError:
            raise RuntimeError(
                f"database is locked: no write lock within {WRITE_LOCK_WAIT_SECONDS:.0f} s"
            ) from None
        self._owner = task

    def release(self) -> None:
        """Hand the write lock to the next writer in line."""
        self._owner = None
        self._lock.release()


def _take_write_lock(lock: SQLiteWriteLock) -> Any:
    def before_execute(
        conn: Connection, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if conn.info.get(HOLDS_WRITE_LOCK):
            return
        if statement.lstrip()[:7].upper().startswith(READ_ONLY_PREFIXES):
            return
        # Runs in SQLAlchemy's greenlet under the async engine, so it may await the lock.
        await_(lock.acquire())
        conn.info[HOLDS_WRITE_LOCK] = True

    return before_execute


def _give_write_lock(lock: SQLiteWriteLock, end: str) -> Any:
    def on_end(conn: Connection) -> None:
        if not conn.info.pop(HOLDS_WRITE_LOCK, False):
            return
        # The event fires before the driver's COMMIT/ROLLBACK; ending the transaction here
        # first (the driver's own call after it is then a no-op) hands the lock over only
        # once SQLite has let go of its own, so the next writer never meets a busy database.
        try:
            getattr(conn.connection.dbapi_connection, end)()
        finally:
            lock.release()

    return on_end


def _give_write_lock_on_checkin(lock: SQLiteWriteLock) -> Any:
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(HOLDS_WRITE_LOCK, False):
            lock.release()

    return on_checkin


def _scrub_wal(dbapi_connection: Any, record: Any, writers: SQLiteWriteLock | None = None) -> None:
    """Empty the write-ahead log once a connection that deleted rows is handed back.

    SQLite keeps a deleted row's old page in the -wal file until the log is checkpointed and
    overwritten, so "deleted" text (a journal entry, a toolbox share, a dialogue's answers)
    would stay readable there, with the key, long after the member was told it is gone. A
    truncating checkpoint after the transaction copies the pages (already zeroed by
    secure_delete) into the database and cuts the log to nothing. It never waits: when another
    connection still reads an older snapshot the checkpoint does what it can now, and the next
    delete (or closing the database, or `mydata erase`) finishes it. A truncating checkpoint
    keeps writers out while it runs, so it waits its turn in `writers` like any write.
    """
    if dbapi_connection is None or not record.info.pop(SCRUB_WAL, False):
        return
    if writers is not None:
        try:
            await_(writers.acquire())
        except Exception:  # outside the async engine's greenlet: the next delete scrubs
            log.debug("could not queue for the write lock to empty the log", exc_info=True)
            return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception:  # a scrub must never fail the work that already committed
        log.debug("could not empty the write-ahead log now", exc_info=True)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()
        if writers is not None:
            writers.release()


def _note_delete(
    conn: Connection, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if statement.lstrip()[:6].upper() == "DELETE":
        conn.info[SCRUB_WAL] = True


CONNECT_TIMEOUT_SECONDS = 10.0


class DatabaseUnreachable(Exception):
    """The database could not be reached; `str()` is one line naming it (without password)
    and why, for an operator."""

    def __init__(self, display_url: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the database {display_url}: {reason}. Is it running there, and is "
            "database.url right?"
        )
        self.display_url = display_url
        self.reason = reason


def unreachable_reason(exc: BaseException) -> str | None:
    """Why a connection failed, in a few words, when `exc` (or what caused it) says the
    database cannot be reached; None for any other error."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        found = stack.pop()
        if id(found) in seen:
            continue
        seen.add(id(found))
        reason = _reason(found)
        if reason is not None:
            return reason
        for inner in (getattr(found, "orig", None), found.__cause__, found.__context__):
            if isinstance(inner, BaseException):
                stack.append(inner)
    return None


def _reason(exc: BaseException) -> str | None:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS:g} s"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "that database does not exist on the server"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return "the server refused the user name or password"
    if isinstance(exc, (asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)):
        return "the server accepts no connections now (starting, stopping or full)"
    if isinstance(exc, (ConnectionError, OSError)) and exc.errno is not None:
        return (exc.strerror or str(exc)).lower()
    if isinstance(exc, (ConnectionError, asyncpg.InterfaceError, asyncpg.ProtocolViolationError)):
        # Something answered, but not as PostgreSQL does (a web server or a proxy on that
        # port: asyncpg says it "rejected SSL upgrade"), or the connection broke off.
        return f"what answers there does not speak PostgreSQL's protocol ({exc})"
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
        return "the database file cannot be opened"
    return None


@contextlib.contextmanager
def reaching(display_url: str) -> Iterator[None]:
    """Turn a failure to connect inside the block into `DatabaseUnreachable`; anything else
    passes through unchanged."""
    try:
        yield
    except DatabaseUnreachable:
        raise
    except Exception as exc:
        reason = unreachable_reason(exc)
        if reason is None:
            raise
        raise DatabaseUnreachable(display_url, reason) from None


def create_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    """An async engine with the settings each backend needs.

    SQLite gets WAL, foreign keys, a busy timeout and the in-process writer queue
    (`SQLiteWriteLock`); `schema` (PostgreSQL only) sets the search path so tests can each use
    their own schema.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            # Members' text lives here: readable by the bot's user only, whatever the umask.
            # SQLite gives its -wal and -shm files the same mode as the database file.
            private_file(Path(database))
    else:
        # asyncpg waits 60 s for a server that does not answer; say so sooner.
        kwargs["connect_args"] = {"timeout": CONNECT_TIMEOUT_SECONDS}
        if schema:
            kwargs["connect_args"]["server_settings"] = {"search_path": schema}
    # A SQLite file cannot drop a connection, so pinging it would only add a round trip to
    # the driver's thread on every checkout; a PostgreSQL server can, so it is pinged.
    sqlite = parsed.get_backend_name() == "sqlite"
    engine = create_async_engine(url, pool_pre_ping=not sqlite, **kwargs)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "after_cursor_execute", _note_delete)
        writers = SQLiteWriteLock()
        event.listen(engine.sync_engine, "before_cursor_execute", _take_write_lock(writers))
        event.listen(engine.sync_engine, "commit", _give_write_lock(writers, "commit"))
        event.listen(engine.sync_engine, "rollback", _give_write_lock(writers, "rollback"))
        event.listen(engine.sync_engine.pool, "checkin", _give_write_lock_on_checkin(writers))
        event.listen(
            engine.sync_engine.pool,
            "checkin",
            lambda dbapi_connection, record: _scrub_wal(dbapi_connection, record, writers),
        )
    return engine


COGS_DIR = Path(__file__).resolve().parent.parent / "cogs"


def version_locations() -> list[Path]:
    """The core's migrations, then each cog's own branch (`cogs/NAME/migrations`)."""
    return [MIGRATIONS_DIR / "versions", *sorted(COGS_DIR.glob("*/migrations"))]


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config over the core's and every cog's migrations.

    Each cog keeps its migrations on a branch of its own (`branch_labels = ("NAME",)`, based on
    the core's first revision), like maubot's per-plugin migrations, so cogs never conflict.
    `connection` is handed to env.py.
    """
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@dataclass(frozen=True)
class SchemaStatus:
    """Where the database stands against the code's migrations."""

    current: frozenset[str]
    heads: frozenset[str]

    @property
    def up_to_date(self) -> bool:
        """True when no migration is pending on any branch."""
        return self.current == self.heads

    @property
    def describe_current(self) -> str:
        """The applied revisions, for messages."""
        return ", ".join(sorted(self.current)) or "empty"

    @property
    def describe_heads(self) -> str:
        """The revisions this code needs, for messages."""
        return ", ".join(sorted(self.heads))


class Database:
    """The engine and session factory every service uses."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        self.engine = create_engine(url, schema=schema)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )

    @property
    def display_url(self) -> str:
        """The URL without a password, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    async def status(self) -> SchemaStatus:
        """Compare the database's applied revisions with the heads of every branch.

        Raises:
            DatabaseUnreachable: the database cannot be reached (one line says why).
        """
        heads = _schema_heads()

        def current(conn: Connection) -> frozenset[str]:
            return frozenset(MigrationContext.configure(conn).get_current_heads())

        with reaching(self.display_url):
            async with self.engine.connect() as conn:
                applied = await conn.run_sync(current)
        return SchemaStatus(current=applied, heads=heads)

    async def migrate(self) -> SchemaStatus:
        """Upgrade to the newest schema.

        Raises:
            DatabaseUnreachable: the database cannot be reached (one line says why).
        """

        def upgrade(conn: Connection) -> None:
            command.upgrade(alembic_config(conn), "heads")

        with reaching(self.display_url):
            async with self.engine.begin() as conn:
                await conn.run_sync(upgrade)
        return await self.status()

    async def close(self) -> None:
        """Release connections (shutdown)."""
        await self.engine.dispose()


@functools.cache
def _schema_heads() -> frozenset[str]:
    """The head revision of every migration branch, read once per process: the migration
    files are the code's own and do not change while it runs (Alembic parses every one of
    them to answer, 50-100 ms of each start-up)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


# SQLSTATEs of a transaction PostgreSQL rolled back because another one got in its way
# (https://www.postgresql.org/docs/current/errcodes-appendix.html): run again, it succeeds.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def is_write_conflict(exc: BaseException) -> bool:
    """True for an error that trying the same transaction again may cure: a unique key
    another process wrote at the same moment (IntegrityError), or PostgreSQL aborting this
    transaction as a deadlock victim or for a serialization failure (`RETRYABLE_SQLSTATES`)."""
    if isinstance(exc, IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES
    return False


def utcnow() -> datetime:
    """Wall-clock now in UTC (services use the app clock instead where tests control time)."""
    return datetime.now(UTC)


def export_row(row: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A model row as a JSON-ready dict keyed by column name (`skip` names columns to leave
    out): times in ISO 8601, encrypted columns already decrypted."""
    out: dict[str, Any] = {}
    mapper = sqlalchemy.inspect(row).mapper
    for column in row.__table__.columns:
        if column.key in skip:
            continue
        # The attribute may be named apart from its column (DialogueState.dialogue_id).
        value = getattr(row, mapper.get_property_by_column(column).key)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        out[column.key] = value
    return out


def in_values(column: Any, values: Iterable[Any]) -> sqlalchemy.ColumnElement[bool]:
    """`column IN (values)` as one expanding parameter of the column's type.

    The same SQL as `column.in_(values)`, which checks and wraps every value on its own: at
    start-up, planning ten thousand meetings asks hundreds of such lists of hundreds of ids, and
    that checking was a few percent of it. Raises nothing of its own; an empty `values` matches
    no row, as `in_` does.
    """
    parameter = bindparam(None, list(values), type_=column.type, expanding=True)
    result: sqlalchemy.ColumnElement[bool] = column.in_(parameter)
    return result
