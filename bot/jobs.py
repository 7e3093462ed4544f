"""Timed work on PostgreSQL as durable jobs that any live process takes (pgqueuer).

Why pgqueuer: it runs on asyncpg, which the bot already uses, and keeps its whole queue in
PostgreSQL: deferred jobs (`execute_after`), dequeue with `SELECT ... FOR UPDATE SKIP LOCKED`,
a heartbeat per running job so a job whose process died (SIGKILL, a lost machine) is taken
again by another, and LISTEN/NOTIFY plus the next job's due time to wake the workers, so a
job runs when it comes due instead of at the next poll. procrastinate would bring psycopg 3
as a second driver and polls every few seconds unless tuned.

A job is named like the in-process scheduler's (`meetings.plan`, `scripts.12.step`): the
first part names the cog that owns it. It is stored as the cog, the attribute of the cog that
holds the method (`""` for the cog itself, `service` for its service), the method and its
arguments as JSON, so any process with the same cogs can run it.

Planning under a name replaces the queued job of that name. pgqueuer's own `dedupe_key` is
not used for that: its unique index covers running jobs too, and a job that plans its own
next run under its own name (the meetings plan sweep does) would be refused. Instead a
transaction-scoped advisory lock per name serialises planners, and the queued job of that
name (and the copy of a dead process, whose heartbeat is older than the timeout) is deleted
before the new one is enqueued. A plan identical to the queued job (same time within a
second, same arguments) leaves it alone, so N processes starting at once do not churn.

Plans and cancellations are written in the order they were made, by one writer task, since
the scheduler's API (`at`, `cancel`) is synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    # pgqueuer (13 MB resident) is imported where a queue starts, so a process on SQLite,
    # which never starts one, does not carry it (benchmarks/memory.py).
    from pgqueuer.adapters.persistence.queries import Queries
    from pgqueuer.core.qm import QueueManager
    from pgqueuer.domain.models import Job
from sqlalchemy.engine import make_url

log = logging.getLogger("circlebot.jobs")

ENTRYPOINT = "circlebot.timed"
SAME_TIME = timedelta(seconds=1)  # a plan this close to the queued one's time leaves it be
QUEUE_TABLE = "pgqueuer"

Resolve = Callable[[str, str, str], Callable[..., Awaitable[Any]] | None]
Runner = Callable[[Callable[..., Awaitable[Any]], list[Any]], Awaitable[Any]]


def encode_args(args: tuple[Any, ...]) -> list[Any]:
    """Arguments as JSON values; datetimes become `{"$dt": iso}`.

    Raises:
        TypeError: an argument is neither None, bool, int, float, str nor an aware datetime.
    """
    out: list[Any] = []
    for arg in args:
        if isinstance(arg, datetime):
            if arg.tzinfo is None:
                raise TypeError("a timed job's datetime argument must be aware")
            out.append({"$dt": arg.isoformat()})
        elif arg is None or isinstance(arg, bool | int | float | str):
            out.append(arg)
        else:
            raise TypeError(f"a timed job cannot carry a {type(arg).__name__} argument")
    return out


def decode_args(values: list[Any]) -> list[Any]:
    """The inverse of `encode_args`."""
    return [
        datetime.fromisoformat(v["$dt"]) if isinstance(v, dict) and "$dt" in v else v
        for v in values
    ]


def _queries(conn: asyncpg.Connection) -> Queries:
    """pgqueuer's queries on `conn`."""
    from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
    from pgqueuer.adapters.persistence.queries import Queries

    return Queries(AsyncpgDriver(conn))


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


@dataclass(frozen=True)
class _Op:
    kind: str  # "at", "cancel", "cancel_prefix"
    name: str
    when: datetime | None = None
    payload: bytes = b""


@dataclass(frozen=True)
class QueueCounts:
    """Timed jobs in the queue: waiting, due longer ago than `overdue_after`, running."""

    queued: int
    overdue: int
    running: int
    next_due: datetime | None


class JobQueue:
    """Durable named timed jobs in PostgreSQL, run by whichever live process takes them.

    Args:
        url: the SQLAlchemy PostgreSQL URL.
        schema: the schema the app's tables (and the queue) live in, if not the default.
        resolve: `(cog, attribute, method)` -> the callable to run here, or None.
        run: how a resolved callable is run (the scheduler's priority gate).
        heartbeat_timeout_seconds: a running job whose heartbeat is older than this is taken
            again by another process (its process died or froze).
        idle_poll_seconds: the longest a worker waits for a NOTIFY before looking anyway (a
            dead process's job is noticed then); default half the heartbeat timeout, at most
            30 s.
    """

    def __init__(
        self,
        url: str,
        schema: str | None,
        resolve: Resolve,
        run: Runner,
        *,
        heartbeat_timeout_seconds: float = 60.0,
        idle_poll_seconds: float | None = None,
    ) -> None:
        parsed = make_url(url)
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.schema = schema
        self.resolve = resolve
        self.run = run
        self.heartbeat_timeout = timedelta(seconds=heartbeat_timeout_seconds)
        if idle_poll_seconds is None:
            idle_poll_seconds = min(30.0, heartbeat_timeout_seconds / 2)
        self.idle_poll = timedelta(seconds=idle_poll_seconds)
        self.working = False  # True while this process's worker takes jobs
        self.ran = 0  # jobs run here (status, tests)
        self._ops: asyncio.Queue[_Op | None] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._qm: QueueManager | None = None
        self._conns: list[asyncpg.Connection] = []

    async def _connect(self) -> asyncpg.Connection:
        settings = {"search_path": self.schema} if self.schema else {}
        conn: asyncpg.Connection = await asyncpg.connect(
            self.dsn, timeout=10, server_settings=settings
        )
        self._conns.append(conn)
        return conn

    # -- planning (synchronous API, written in order by one task) ---------------------------

    def plan(
        self, name: str, when: datetime, owner: tuple[str, str, str], args: tuple[Any, ...]
    ) -> None:
        """Run `owner`'s method with `args` at `when` in some live process, replacing a queued
        job of the same `name`. Raises TypeError for arguments JSON cannot carry."""
        cog, attribute, method = owner
        body: dict[str, Any] = {"name": name, "cog": cog, "attr": attribute, "method": method}
        body["args"] = encode_args(args)
        payload = json.dumps(body, sort_keys=True).encode()
        self._put(_Op("at", name, when.astimezone(UTC), payload))

    def cancel(self, name: str) -> None:
        """Drop the queued job called `name`, if any."""
        self._put(_Op("cancel", name))

    def cancel_prefix(self, prefix: str) -> None:
        """Drop every queued job whose name starts with `prefix`."""
        self._put(_Op("cancel_prefix", prefix))

    def _put(self, op: _Op) -> None:
        self._idle.clear()
        self._ops.put_nowait(op)

    async def flush(self) -> None:
        """Wait until every plan and cancellation made so far is in the database."""
        await self._idle.wait()

    async def _write_forever(self, conn: asyncpg.Connection, queries: Queries) -> None:
        while True:
            op = await self._ops.get()
            if op is None:
                return
            batch = [op]
            while not self._ops.empty() and len(batch) < 500:
                nxt = self._ops.get_nowait()
                if nxt is None:
                    await self._apply(conn, queries, batch)
                    self._idle.set()
                    return
                batch.append(nxt)
            while True:
                try:
                    await self._apply(conn, queries, batch)
                    break
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("could not store timed jobs (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(1.0)
                    if conn.is_closed():
                        conn = await self._connect()
                        queries = _queries(conn)
            if self._ops.empty():
                self._idle.set()

    async def _apply(self, conn: asyncpg.Connection, queries: Queries, batch: list[_Op]) -> None:
        async with conn.transaction():
            for op in batch:
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    f"circlebot-job:{self.schema or ''}:{op.name}",
                )
                if op.kind == "cancel":
                    await conn.execute(
                        f"DELETE FROM {QUEUE_TABLE} WHERE status = 'queued' "
                        "AND headers->>'job' = $1",
                        op.name,
                    )
                elif op.kind == "cancel_prefix":
                    await conn.execute(
                        f"DELETE FROM {QUEUE_TABLE} WHERE status = 'queued' "
                        "AND headers->>'job' LIKE $1 ESCAPE '\\'",
                        _like_prefix(op.name),
                    )
                else:
                    await self._replace(conn, queries, op)

    async def _replace(self, conn: asyncpg.Connection, queries: Queries, op: _Op) -> None:
        assert op.when is not None
        rows = await conn.fetch(
            f"SELECT id, execute_after, payload FROM {QUEUE_TABLE} WHERE status = 'queued' "
            "AND headers->>'job' = $1",
            op.name,
        )
        if (
            len(rows) == 1
            and rows[0]["payload"] == op.payload
            and abs(rows[0]["execute_after"] - op.when) < SAME_TIME
        ):
            return
        await conn.execute(
            f"DELETE FROM {QUEUE_TABLE} WHERE headers->>'job' = $1 AND (status = 'queued' "
            "OR (status = 'picked' AND heartbeat < NOW() - $2::interval))",
            op.name,
            self.heartbeat_timeout,
        )
        now = await conn.fetchval("SELECT NOW()")
        await queries.enqueue(ENTRYPOINT, op.payload, 0, op.when - now, None, {"job": op.name})

    # -- running ------------------------------------------------------------------------------

    async def start(self, *, work: bool = True) -> None:
        """Connect, start writing plans and (with `work`) taking due jobs (raises OSError or
        asyncpg errors when PostgreSQL cannot be reached)."""
        write_conn = await self._connect()
        self._writer = asyncio.create_task(
            self._write_forever(write_conn, _queries(write_conn)),
            name="circlebot-jobs-writer",
        )
        if not work:
            return
        work_conn = await self._connect()
        from pgqueuer.core.qm import QueueManager

        qm = QueueManager(_queries(work_conn))
        qm.entrypoint(ENTRYPOINT, accepts_context=False)(self._execute)
        self._qm = qm
        self._worker = asyncio.create_task(self._work(qm), name="circlebot-jobs-worker")

    async def _work(self, qm: QueueManager) -> None:
        self.working = True
        try:
            await qm.run(
                dequeue_timeout=self.idle_poll,
                batch_size=10,
                heartbeat_timeout=self.heartbeat_timeout,
                log_aggregation_interval=timedelta(0),
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the timed-job worker stopped")
        finally:
            self.working = False

    async def _execute(self, job: Job) -> None:
        body = json.loads(job.payload or b"{}")
        func = self.resolve(body["cog"], body["attr"], body["method"])
        if func is None:
            raise LookupError(f"no {body['cog']} cog here to run timed job {body['name']}")
        self.ran += 1
        await self.run(func, decode_args(body["args"]))

    async def stop(self, within_seconds: float = 10.0) -> None:
        """Write what is still to be written, stop taking jobs, give running ones up to
        `within_seconds`; a job cut short is taken again by another process later."""
        if self._writer is not None:
            self._ops.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer, within_seconds)
        if self._qm is not None:
            self._qm.shutdown.set()
        if self._worker is not None:
            try:
                await asyncio.wait_for(self._worker, within_seconds)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("timed jobs still running at shutdown; another process retakes them")
        for conn in self._conns:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
        self._conns.clear()
        self._writer = self._worker = None
        self._qm = None
        self.working = False


async def queue_counts(conn: Any, overdue_after: timedelta) -> QueueCounts | None:
    """What the timed-job queue holds, read through a SQLAlchemy async connection or session;
    None when the queue's table does not exist (SQLite, or a schema not yet migrated)."""
    from sqlalchemy import text

    exists = await conn.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": QUEUE_TABLE})
    if not exists:
        return None
    row = (
        await conn.execute(
            text(
                f"SELECT COUNT(*) FILTER (WHERE status = 'queued'), "
                "COUNT(*) FILTER (WHERE status = 'queued' "
                "AND execute_after < NOW() - CAST(:late AS interval)), "
                "COUNT(*) FILTER (WHERE status = 'picked'), "
                "MIN(execute_after) FILTER (WHERE status = 'queued') "
                f"FROM {QUEUE_TABLE} WHERE entrypoint = :ep"
            ),
            {"late": overdue_after, "ep": ENTRYPOINT},
        )
    ).one()
    return QueueCounts(int(row[0]), int(row[1]), int(row[2]), row[3])
