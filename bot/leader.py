"""Who runs the timed work, and every process's heartbeat; every process handles commands.

PostgreSQL on a real clock: nobody leads. The cogs' named jobs are durable jobs in a shared
queue that any live process takes (`DurableScheduler`, bot/jobs.py), and every process
delivers the outbox under leases (bot/outbox.py), woken by NOTIFY and a 30 s sweep.
PostgreSQL on a virtual clock (tests, where each process has its own idea of now): one leader
holds a session-level advisory lock on a connection of its own and fires the jobs; when it
dies, the server drops the lock, a follower retries every `scheduler.leader_poll_seconds`,
takes it and rebuilds the cogs' jobs and the outbox's plan from the database. A follower there
fires no jobs: what it plans is handed to the leader with NOTIFY.
SQLite: one process only, guarded by an exclusive lock file next to the database; it runs the
in-process scheduler.
Every process writes a heartbeat row (never member data) that `circlebot status` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, VirtualClock
from bot.config import AppConfig
from bot.core.cog import Cog
from bot.db import Database, utcnow
from bot.jobs import JobQueue, QueueCounts, queue_counts
from bot.models import OutboxItem, ProcessStatus
from bot.outbox import RETRACT, Outbox, Report
from bot.platform import Platform
from bot.scheduler import DELIVERY, PLANNING, JobFunc, Scheduler

log = logging.getLogger("circlebot.leader")

SWEEP_SECONDS = 30.0  # the leader delivers whatever is due at least this often
HEARTBEAT_SECONDS = 15.0
FRESH_SECONDS = 45.0  # an older heartbeat means the process is gone or stuck
REBUILD_DELAY = 0.5  # a burst of follower changes to one cog becomes one rebuild
OVERDUE_SECONDS = 60.0  # a queued timed job due longer ago than this is overdue
FORGET_AFTER = timedelta(days=1)  # heartbeat rows of processes that died without closing
LOCK_NAMESPACE = "circlebot-leader"


class ProcessLockError(Exception):
    """Another process already uses this SQLite database."""


def lock_key(database: str, schema: str | None) -> int:
    """The advisory lock key: one per database (and schema, so test schemas stay apart)."""
    digest = hashlib.sha256(f"{LOCK_NAMESPACE}:{database}:{schema or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class GatedScheduler(Scheduler):
    """Fires jobs only while this process leads; a follower hands job ids to `hand_off`."""

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.leading = False
        self.hand_off: Callable[[str], None] | None = None  # set by the Coordinator

    def start(self) -> None:
        """Begin; a follower's scheduler stays paused until it leads."""
        if not self._started:
            self._aps.start(paused=self.virtual or not self.leading)
            self._started = True

    def lead(self) -> None:
        """Fire jobs from now on."""
        self.leading = True
        if self._started and not self.virtual:
            self._aps.resume()

    def follow(self) -> None:
        """Stop firing and forget every job: the next leader rebuilds them from the database."""
        self.leading = False
        if self._started and not self.virtual:
            self._aps.pause()
        super().cancel_prefix("")

    def _pass(self, job_id: str) -> None:
        if self.hand_off is not None:
            self.hand_off(job_id)

    def at(
        self, job_id: str, when: datetime, func: JobFunc, *args: Any, priority: int = PLANNING
    ) -> None:
        """Plan here when leading, else tell the leader."""
        if self.leading:
            super().at(job_id, when, func, *args, priority=priority)
        else:
            self._pass(job_id)

    def cancel(self, job_id: str) -> bool:
        """Cancel here when leading, else tell the leader (it rebuilds that cog)."""
        if self.leading:
            return super().cancel(job_id)
        self._pass(job_id)
        return False

    def cancel_prefix(self, prefix: str) -> int:
        """Cancel here when leading, else tell the leader (it rebuilds that cog)."""
        if self.leading:
            return super().cancel_prefix(prefix)
        self._pass(prefix)
        return 0

    async def advance(self, delta: timedelta) -> int:
        """On a follower the virtual clock moves, but nothing fires."""
        if self.leading or not isinstance(self.clock, VirtualClock):
            return await super().advance(delta)
        self.clock.set(self.clock.now() + delta)
        return 0


class DurableScheduler(GatedScheduler):
    """PostgreSQL on a real clock: every named job is a durable job in the shared queue
    (bot/jobs.py) that any live process takes; there is no leader for timed work.

    A job's name starts with the name of the cog that owns it; the method must belong to that
    cog or to an object the cog holds as an attribute (its service), and its arguments must be
    JSON values or aware datetimes. Outbox wake-ups (`outbox.*`) stay local timers: every
    process delivers the shared outbox under leases already.
    """

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.leading = True  # local timers (outbox wake-ups) always fire here
        self.jobs: JobQueue | None = None  # set by the App once it knows the database
        self.cogs: Mapping[str, Cog] = {}

    def lead(self) -> None:
        """Nothing to take over: the queue is everyone's."""

    def follow(self) -> None:
        """Nothing to hand over: the queue is everyone's."""

    def owner(self, job_id: str, func: JobFunc) -> tuple[str, str, str] | None:
        """`(cog, attribute, method)` naming `func` for any process, or None."""
        cog = self.cogs.get(job_id.split(".", 1)[0])
        target = getattr(func, "__self__", None)
        if cog is None or target is None:
            return None
        if target is cog:
            return cog.name, "", func.__name__
        for attribute, value in vars(cog).items():
            if value is target:
                return cog.name, attribute, func.__name__
        return None

    def resolve(self, cog_name: str, attribute: str, method: str) -> JobFunc | None:
        """The callable a stored job names, in this process."""
        cog = self.cogs.get(cog_name)
        if cog is None:
            return None
        target = getattr(cog, attribute) if attribute else cog
        found = getattr(target, method, None)
        return found if callable(found) else None

    async def run_job(self, func: JobFunc, args: list[Any]) -> Any:
        """Run a job taken from the queue behind any delivery pass (see bot/scheduler.py)."""
        return await self._run(PLANNING, func, *args)

    def at(
        self, job_id: str, when: datetime, func: JobFunc, *args: Any, priority: int = PLANNING
    ) -> None:
        """Store the job in the shared queue (`outbox.*` wake-ups: a local timer)."""
        owner = None if job_id.startswith("outbox.") else self.owner(job_id, func)
        if owner is not None and self.jobs is not None:
            try:
                self.jobs.plan(job_id, when, owner, args)
                return
            except TypeError:
                log.exception("timed job %s cannot be stored; runs here", job_id)
        elif not job_id.startswith("outbox."):
            log.error("timed job %s has no owner another process can find; runs here", job_id)
        super().at(job_id, when, func, *args, priority=priority)

    def cancel(self, job_id: str) -> bool:
        """Drop the job from the queue (and any local timer); True only for a local one."""
        if self.jobs is not None and not job_id.startswith("outbox."):
            self.jobs.cancel(job_id)
        return super().cancel(job_id)

    def cancel_prefix(self, prefix: str) -> int:
        """Drop the queued jobs whose names start with `prefix`; returns local ones dropped."""
        if self.jobs is not None and not "outbox.".startswith(prefix):
            self.jobs.cancel_prefix(prefix)
        return super().cancel_prefix(prefix)

    async def shutdown(self, within_seconds: float = 10.0) -> None:
        """Stop taking jobs from the queue (a running one gets `within_seconds`), then the
        local timers."""
        if self.jobs is not None:
            await self.jobs.stop(within_seconds)
        await super().shutdown(within_seconds)


class GatedOutbox(Outbox):
    """Every process delivers when `shared` (PostgreSQL on a real clock: items are leased, see
    bot/outbox.py); otherwise a follower writes outbox rows and leaves sending to the leader
    (virtual clocks in tests: each process has its own idea of now, so one judges what is due).
    """

    shared = False

    async def deliver_due(self) -> Report:
        """Send what is due when leading or shared; a follower asks the leader to do it now."""
        if self.shared:
            return await super().deliver_due()
        scheduler = self._scheduler
        if isinstance(scheduler, GatedScheduler) and not scheduler.leading:
            now = self._clock.now()
            scheduler.at(f"outbox.{now.isoformat()}", now, self.deliver_due, priority=DELIVERY)
            return Report()
        return await super().deliver_due()


_PLACEHOLDER = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdrifxg]")


class ErrorRing(logging.Handler):
    """The last few ERROR records as summaries: logger, message template, exception type.

    Only the template is kept, never its arguments, so no member text can end up here.
    """

    def __init__(self, size: int = 10) -> None:
        super().__init__(logging.ERROR)
        self.items: deque[dict[str, str]] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        """Remember one ERROR record."""
        kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        self.items.append(
            {
                "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
                "logger": record.name,
                "what": _PLACEHOLDER.sub("…", str(record.msg))[:160],
                "type": kind,
            }
        )


_HELD: dict[Path, tuple[int, int]] = {}  # lock file -> (fd, Apps of this process using it)


class _FileLock:
    """`<db>.lock` held with flock; it holds the owner's pid.

    The guard is per process: Apps of the same process (tests restarting a bot) share it.
    """

    def __init__(self, db_file: Path) -> None:
        self.db_file = db_file
        self.path = db_file.with_name(db_file.name + ".lock").resolve()
        self._held = False

    def acquire(self) -> None:
        if self._held:
            return
        if self.path in _HELD:
            fd, users = _HELD[self.path]
            _HELD[self.path] = (fd, users + 1)
            self._held = True
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ProcessLockError(
                f"Another circlebot (pid {holder}) is using {self.db_file}; SQLite supports "
                "one process. Use PostgreSQL to run several."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _HELD[self.path] = (fd, 1)
        self._held = True

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        fd, users = _HELD.pop(self.path)
        if users > 1:
            _HELD[self.path] = (fd, users - 1)
            return
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class _AdvisoryLock:
    """A PostgreSQL session lock on a dedicated connection; also carries NOTIFY/LISTEN."""

    def __init__(self, url: str, schema: str | None) -> None:
        parsed = make_url(url)
        self.dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.key = lock_key(parsed.database or "", schema)
        self.channel = f"circlebot_{self.key & 0xFFFFFFFFFFFFFFFF:016x}"
        self._conn: asyncpg.Connection | None = None
        self._mutex = asyncio.Lock()  # one query at a time on the connection

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn, timeout=10)
        return self._conn

    async def try_acquire(self) -> bool:
        async with self._mutex:
            conn = await self._connection()
            return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key))

    async def alive(self, within_seconds: float) -> bool:
        """Still connected (so still holding the lock)? False when PostgreSQL does not answer
        within `within_seconds` or the connection is gone."""
        async with self._mutex:
            try:
                if self._conn is None or self._conn.is_closed():
                    return False
                await self._conn.fetchval("SELECT 1", timeout=within_seconds)
                return True
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                await self._drop()
                return False

    async def notify(self, payload: str) -> None:
        async with self._mutex:
            conn = await self._connection()
            await conn.execute("SELECT pg_notify($1, $2)", self.channel, payload)

    async def listen(self, callback: Any) -> None:
        async with self._mutex:
            conn = await self._connection()
            await conn.add_listener(self.channel, callback)

    async def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def close(self) -> None:
        """Closing the session releases the lock."""
        async with self._mutex:
            if self._conn is not None and not self._conn.is_closed():
                await self._conn.close(timeout=5)
            self._conn = None


class Led(Protocol):
    """What the coordinator leads: the parts of an `App` it hands over, rebuilds and reports."""

    @property
    def config(self) -> AppConfig: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def db(self) -> Database: ...
    @property
    def scheduler(self) -> GatedScheduler: ...
    @property
    def outbox(self) -> GatedOutbox: ...
    @property
    def cogs(self) -> Mapping[str, Cog]: ...
    @property
    def transports(self) -> Mapping[str, Platform]: ...


class Coordinator:
    """Leader or follower for one App, its background loop and its heartbeat row."""

    def __init__(self, app: Led, url: str, schema: str | None) -> None:
        self.app = app
        self.poll_seconds = float(app.config.scheduler.leader_poll_seconds)
        self.leading = False
        self.host = socket.gethostname()
        self.process_id = f"{self.host[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.started_at = utcnow()
        self.errors = ErrorRing()
        backend = make_url(url).get_backend_name()
        self._pg = _AdvisoryLock(url, schema) if backend == "postgresql" else None
        db_file = sqlite_path(url)
        self._file = _FileLock(db_file) if db_file is not None else None
        self._booting = False
        self._loop: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dirty: set[str] = set()
        self._rebuilder: asyncio.Task[None] | None = None
        self._beat_written = False
        self._announced: datetime | None = None  # the earliest due time told to the others
        # PostgreSQL on a real clock: timed jobs live in a shared queue; nobody leads
        self.durable = isinstance(app.scheduler, DurableScheduler)

    # -- life cycle ------------------------------------------------------------------------

    def claim_database(self) -> None:
        """SQLite: refuse a second process on the same file (raises ProcessLockError)."""
        if self._file is not None:
            self._file.acquire()

    async def begin(self) -> None:
        """Try once to lead, so a lone process starts leading at once."""
        logging.getLogger().addHandler(self.errors)
        if self.durable:
            self.leading = False
            if self._pg is not None:
                self.app.outbox.on_planned = self._announce
                await self._pg.listen(self._on_notice)
            return
        self.leading = True if self._pg is None else await self._pg.try_acquire()
        if self.app.outbox.shared and self._pg is not None:
            self.app.outbox.on_planned = self._announce
            await self._pg.listen(self._on_notice)  # every process delivers: every one listens
        if self.leading:
            self.app.scheduler.lead()
            if self._pg is not None and not self.app.outbox.shared:
                await self._pg.listen(self._on_notice)
        else:
            self.app.scheduler.hand_off = self._hand_off
            log.info("another process leads; this one handles commands only")

    @contextlib.contextmanager
    def booting(self) -> Iterator[None]:
        """While cogs start on a follower, their jobs are the leader's already: keep quiet."""
        self._booting = True
        try:
            yield
        finally:
            self._booting = False

    async def run(self) -> None:
        """Write the first heartbeat, then keep trying/holding leadership in the background."""
        await self.beat()
        self._loop = asyncio.create_task(self._forever(), name="circlebot-leader")

    async def stop(self) -> None:
        """No more takeovers or hand-offs (shutdown)."""
        self.app.scheduler.hand_off = None
        for task in (self._loop, self._rebuilder, *self._tasks):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._loop = self._rebuilder = None

    async def close(self) -> None:
        """Remove the heartbeat row, release the lock (the next leader takes over)."""
        logging.getLogger().removeHandler(self.errors)
        if self._beat_written:
            try:
                async with self.app.db.sessions.begin() as session:
                    await session.execute(
                        delete(ProcessStatus).where(ProcessStatus.id == self.process_id)
                    )
            except Exception:
                log.warning("could not remove this process's status row", exc_info=True)
            self._beat_written = False
        if self._pg is not None:
            await self._pg.close()
        if self._file is not None:
            self._file.release()
        self.leading = False

    # -- the loop --------------------------------------------------------------------------

    async def _forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + HEARTBEAT_SECONDS
        next_sweep = loop.time() + SWEEP_SECONDS
        while True:
            await asyncio.sleep(min(self.poll_seconds, HEARTBEAT_SECONDS))
            try:
                await self.check()
                now = loop.time()
                if (self.leading or self.app.outbox.shared) and now >= next_sweep:
                    next_sweep = now + SWEEP_SECONDS
                    await self.app.outbox.deliver_due()
                if now >= next_beat:
                    next_beat = now + HEARTBEAT_SECONDS
                    await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the leadership loop failed; trying again")

    async def check(self) -> None:
        """One poll: a leader checks it still holds the lock; a follower tries to take it
        (nothing to do when timed jobs are a shared queue)."""
        if self._pg is None or self.durable:
            return
        if self.leading:
            if not await self._pg.alive(within_seconds=max(self.poll_seconds, 1.0)):
                self._step_down()
        else:
            try:
                won = await self._pg.try_acquire()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                log.warning("cannot reach PostgreSQL for leadership; retrying")
                return
            if won:
                await self.take_over()

    def _step_down(self) -> None:
        log.warning("lost the connection that held leadership; timed work stops here")
        self.leading = False
        self.app.scheduler.follow()
        self.app.scheduler.hand_off = self._hand_off

    async def take_over(self) -> None:
        """Become the leader: listen for hand-offs, rebuild every cog's jobs, settle the outbox."""
        started = time.monotonic()
        self.leading = True
        self.app.scheduler.hand_off = None
        self.app.scheduler.lead()
        if self._pg is not None and not self.app.outbox.shared:
            await self._pg.listen(self._on_notice)
        for cog in list(self.app.cogs.values()):
            await self._rebuild(cog)
        report = await self.app.outbox.recover()
        await self.beat()
        log.warning(
            "this process now leads (took %.2fs); outbox after takeover: %s",
            time.monotonic() - started,
            report,
        )

    async def _rebuild(self, cog: Cog) -> None:
        """Rebuild one cog's jobs; when that fails (the database went away for a moment) it is
        tried again `REBUILD_DELAY` later, for as long as this process leads, so a takeover
        never leaves a cog without its timed work."""
        try:
            self.app.scheduler.cancel_prefix(f"{cog.name}.")
            await cog.start()  # cogs' start() must be safe to run again (a takeover)
            await cog.after_start()
        except Exception:
            log.exception("rebuilding a cog's jobs failed; trying again shortly")
            self._mark_dirty(cog.name)

    def _mark_dirty(self, name: str) -> None:
        """Rebuild cog `name` soon (one rebuild for a burst of changes)."""
        self._dirty.add(name)
        if self._rebuilder is None or self._rebuilder.done():
            self._rebuilder = asyncio.get_running_loop().create_task(self._rebuild_dirty())

    # -- hand-offs between processes -------------------------------------------------------

    def _hand_off(self, job_id: str, *, always: bool = False) -> None:
        """Follower: tell the leader a job was planned or cancelled here."""
        if self._pg is None or (self._booting and not job_id.startswith("outbox.")):
            return
        if job_id.startswith("outbox.") and self.app.outbox.shared and not always:
            return  # every process delivers: `_announce` told them already
        pg = self._pg
        task = asyncio.get_running_loop().create_task(self._send(pg, job_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _send(pg: _AdvisoryLock, job_id: str) -> None:
        try:
            await pg.notify(job_id[:7900])
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            log.warning("could not hand a job to the leader; its sweep or rebuild will")

    def _announce(self, due_at: datetime) -> None:
        """Every process delivers: tell the others (and, harmlessly, this one) of a due time.

        A time no earlier than one already announced and still ahead is not repeated: the
        passes at that time plan their next wake-up from the database (`next_wake`).
        """
        now = self.app.clock.now()
        if self._announced is not None and now < self._announced <= due_at:
            return
        self._announced = max(due_at, now)
        self._hand_off(f"outbox.{self._announced.isoformat()}", always=True)

    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """Leader (or every process, when deliveries are shared): another process planned."""
        if payload.startswith("outbox.") and self.app.outbox.shared:
            try:
                self.app.outbox.wake_at(datetime.fromisoformat(payload.removeprefix("outbox.")))
            except ValueError:
                self.app.outbox.wake_at(self.app.clock.now())
            return
        if not self.leading:
            return
        if payload.startswith("outbox."):
            now = self.app.clock.now()
            try:
                when = datetime.fromisoformat(payload.removeprefix("outbox."))
            except ValueError:
                when = now
            when = max(when, now)
            self.app.scheduler.at(
                f"outbox.{when.isoformat()}", when, self.app.outbox.deliver_due, priority=DELIVERY
            )
            return
        name = payload.split(".", 1)[0]
        if name in self.app.cogs:
            self._mark_dirty(name)

    async def _rebuild_dirty(self) -> None:
        while self._dirty and self.leading:
            await asyncio.sleep(REBUILD_DELAY)
            dirty, self._dirty = self._dirty, set()
            for name in sorted(dirty):
                cog = self.app.cogs.get(name)
                if cog is not None and self.leading:
                    await self._rebuild(cog)  # a failure marks it dirty again

    # -- heartbeat ---------------------------------------------------------------------------

    @property
    def works_timed_jobs(self) -> bool:
        """This process runs timed work: it leads, or its worker takes jobs from the queue."""
        scheduler = self.app.scheduler
        jobs = scheduler.jobs if isinstance(scheduler, DurableScheduler) else None
        return self.leading or (jobs is not None and jobs.working)

    def platforms(self) -> dict[str, bool]:
        """Configured and registered platforms, and whether each is connected."""
        found = dict.fromkeys(self.app.config.platforms, False)
        for name, transport in self.app.transports.items():
            found[name] = transport.can_send
        return found

    async def beat(self) -> None:
        """Write this process's status row (wall clock, never the app's virtual clock)."""
        now = utcnow()
        async with self.app.db.sessions.begin() as session:
            row = await session.get(ProcessStatus, self.process_id)
            if row is None:
                row = ProcessStatus(
                    id=self.process_id,
                    host=self.host[:255],
                    pid=os.getpid(),
                    started_at=self.started_at,
                )
                session.add(row)
            row.heartbeat_at = now
            # `leader`: this process does timed work (leads, or works the shared queue)
            row.leader = self.works_timed_jobs
            row.platforms = json.dumps(self.platforms())
            row.errors = json.dumps(list(self.errors.items))
            if self.leading or self.durable:
                await session.execute(
                    delete(ProcessStatus).where(ProcessStatus.heartbeat_at < now - FORGET_AFTER)
                )
        self._beat_written = True


def sqlite_path(url: str) -> Path | None:
    """The SQLite file behind a URL (None for PostgreSQL or memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@dataclass(frozen=True)
class ProcessView:
    """One process as `circlebot status` shows it."""

    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    leader: bool
    platforms: dict[str, bool]
    errors: list[dict[str, str]]

    def fresh(self, now: datetime) -> bool:
        """Heartbeat recent enough that the process is alive."""
        return (now - self.heartbeat_at).total_seconds() <= FRESH_SECONDS


@dataclass(frozen=True)
class StatusView:
    """Everything `circlebot status` prints."""

    processes: list[ProcessView]
    pending: int
    oldest_due: datetime | None
    failed: int = 0  # outbox items given up on (kept until they expire), with the last one
    last_failure: str = ""
    # sent messages whose text a member deleted, still to be deleted on the platform
    retracting: int = 0
    # outbox items not sent because no process could deliver them in time (past the grace
    # window, or a reminder whose meeting had begun), kept until they expire, with the last one
    # (key, due time, reason)
    skipped: int = 0
    last_skip: str = ""
    # PostgreSQL: the shared queue of timed jobs (None on SQLite: the leader's own timers)
    jobs: QueueCounts | None = None

    def leader(self, now: datetime) -> ProcessView | None:
        """The process doing timed work with a fresh heartbeat, if any (with a shared queue of
        timed jobs: the first of the `workers`)."""
        return next((p for p in self.processes if p.leader and p.fresh(now)), None)

    def workers(self, now: datetime) -> list[ProcessView]:
        """Processes with a fresh heartbeat that do timed work (lead, or work the queue)."""
        return [p for p in self.processes if p.leader and p.fresh(now)]

    def last_error(self) -> tuple[ProcessView, dict[str, str]] | None:
        """The newest error summary any process reported."""
        found = [(p, e) for p in self.processes for e in p.errors]
        return max(found, key=lambda pe: pe[1].get("at", "")) if found else None


async def _last_settled(session: AsyncSession, status: str) -> str:
    """The newest settled outbox item of `status` ("failed", "skipped") as one line, or "":
    its key (what it was: the planner, e.g. a meeting's id and occurrence, and the kind), its
    due time (UTC) and why it settled so. Keys and notes name no member and hold no text."""
    row = (
        await session.execute(
            select(OutboxItem.key, OutboxItem.due_at, OutboxItem.note)
            .where(OutboxItem.status == status)
            .order_by(OutboxItem.settled_at.desc(), OutboxItem.due_at.desc(), OutboxItem.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return ""
    key, due_at, note = row  # due_at aware UTC (`UTCDateTime`)
    when = f"{due_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"{key} (due {when}): {note or 'no reason kept'}"


async def read_status(sessions: async_sessionmaker[AsyncSession]) -> StatusView:
    """Heartbeat rows and the outbox backlog; no keys needed, nothing decrypted."""
    async with sessions() as session:
        rows = (
            await session.scalars(select(ProcessStatus).order_by(ProcessStatus.started_at))
        ).all()
        pending, oldest = (
            await session.execute(
                select(func.count(OutboxItem.id), func.min(OutboxItem.due_at)).where(
                    OutboxItem.status == "pending"
                )
            )
        ).one()
        failed = int(
            await session.scalar(
                select(func.count(OutboxItem.id)).where(OutboxItem.status == "failed")
            )
            or 0
        )
        retracting = int(
            await session.scalar(
                select(func.count(OutboxItem.id)).where(OutboxItem.status == RETRACT)
            )
            or 0
        )
        last_failure = await _last_settled(session, "failed")
        skipped = int(
            await session.scalar(
                select(func.count(OutboxItem.id)).where(OutboxItem.status == "skipped")
            )
            or 0
        )
        last_skip = await _last_settled(session, "skipped")
        jobs = None
        if session.get_bind().dialect.name == "postgresql":
            jobs = await queue_counts(session, timedelta(seconds=OVERDUE_SECONDS))
    if isinstance(oldest, str):  # SQLite aggregates lose the column type
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    processes = [
        ProcessView(
            id=row.id,
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
            leader=row.leader,
            platforms=json.loads(row.platforms or "{}"),
            errors=json.loads(row.errors or "[]"),
        )
        for row in rows
    ]
    return StatusView(
        processes,
        int(pending or 0),
        oldest,
        failed,
        last_failure,
        retracting,
        skipped,
        last_skip,
        jobs,
    )
