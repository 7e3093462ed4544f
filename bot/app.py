"""Wires config, storage, keys, services, cogs and transports into one running bot."""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot import crypto, keycheck
from bot.clock import Clock, SystemClock, VirtualClock
from bot.config import AppConfig
from bot.core import loader
from bot.core.cog import Cog, Services
from bot.core.dialogue import Dialogues
from bot.core.dispatch import Dispatcher, RateLimiter
from bot.core.errors import DeliveryError
from bot.core.hooks import TextChecks
from bot.core.message import Message
from bot.core.mirror import CalendarMirror
from bot.core.registry import Registry
from bot.core.suggest import SharedSuggestions
from bot.db import Database
from bot.jobs import JobQueue
from bot.leader import (
    Coordinator,
    DurableScheduler,
    GatedOutbox,
    GatedScheduler,
    ProcessLockError,
)
from bot.leader import sqlite_path as sqlite_path
from bot.outbox import Target
from bot.platform import Platform
from bot.platform import StartupError as StartupError  # raised by App; adapters raise it too
from bot.scheduler import Scheduler
from bot.services.audit import AuditService
from bot.services.invalidation import InvalidationBus
from bot.services.members import MemberService, removal_notice
from bot.services.settings import SettingsService

log = logging.getLogger("circlebot.app")


@dataclass(frozen=True)
class KeySource:
    """Where the encryption keys came from, for a start-up notice."""

    keys: list[str]
    description: str
    created: bool = False


def resolve_keys(
    config: AppConfig,
    *,
    console_key_file: Path | None,
    create: bool = True,
    database_url: bool = False,
) -> KeySource:
    """Keys from config, the environment or a key file; the console may create its own file.

    `create=False` (the database already holds encrypted text, or `database_url`: a server
    database the console cannot look into first) refuses to make a new console key: a new key
    cannot read what is stored, and writing under it would split the data.

    Raises:
        StartupError: no key is configured, or a needed key file is missing.
    """
    sec = config.security
    if sec.encryption_keys:
        return KeySource(list(sec.encryption_keys), "the config file")
    env = os.environ.get(sec.encryption_keys_env, "")
    if env.strip():
        keys = [k.strip() for k in env.split(",") if k.strip()]
        return KeySource(keys, f"the environment variable {sec.encryption_keys_env}")
    if sec.key_file:
        path = Path(sec.key_file)
        if not path.exists():
            raise StartupError(f"security.key_file {path} does not exist")
        keys, _created = crypto.load_or_create_key_file(path)
        return KeySource(keys, f"the key file {path}")
    if console_key_file is not None:
        try:
            keys, created = crypto.load_or_create_key_file(console_key_file, create=create)
        except crypto.KeyringError:
            if database_url:
                raise StartupError(
                    "A database URL needs the key its text is stored under, and I will not "
                    "make a new one for it. Set security.encryption_keys or the environment "
                    f"variable {sec.encryption_keys_env}, or put the key in {console_key_file} "
                    "(for a new database, a key from `circlebot generate-key`)."
                ) from None
            raise StartupError(
                f"The database next to {console_key_file} holds encrypted text, but that key "
                "file is missing; I will not make a new key that cannot read it. Put the key "
                "file back from your backup (README, 'Backups'), or use another --db."
            ) from None
        return KeySource(keys, f"the key file {console_key_file}", created)
    raise StartupError(
        "No encryption key is configured, and I will not store what members write without one. "
        f"Set security.encryption_keys, the environment variable {sec.encryption_keys_env}, or "
        "security.key_file. `circlebot generate-key` prints a new key."
    )


class App:
    """One bot process: everything the adapters and cogs share."""

    def __init__(
        self,
        config: AppConfig,
        *,
        clock: Clock | None = None,
        db_url: str | None = None,
        db_schema: str | None = None,
    ) -> None:
        self.config = config
        self.key_source = "the configured keys"  # named in the key check's refusal
        self.clock: Clock = clock or SystemClock()
        url = db_url or config.database.url
        self.db = Database(url, schema=db_schema)
        # PostgreSQL on a real clock: every process delivers due items, each leased to one
        # process at a time (bot/outbox.py), on timers of its own, and cogs' timed jobs are
        # durable jobs in a shared queue that any live process takes (bot/jobs.py); a virtual
        # clock is one process's own idea of now, so there one leader alone does timed work
        # (bot/leader.py). SQLite: one process, the in-process scheduler.
        shared = make_url(url).get_backend_name() == "postgresql" and not isinstance(
            self.clock, VirtualClock
        )
        self.scheduler: GatedScheduler
        if shared:
            durable = DurableScheduler(self.clock)
            durable.jobs = JobQueue(
                url,
                db_schema,
                durable.resolve,
                durable.run_job,
                heartbeat_timeout_seconds=float(config.scheduler.lease_seconds),
            )
            self.scheduler = durable
        else:
            self.scheduler = GatedScheduler(self.clock)
        self.delivery_scheduler = Scheduler(self.clock) if shared else self.scheduler
        self.registry = Registry()
        self.members = MemberService(self.db.sessions, self.clock)
        self.settings = SettingsService(self.db.sessions)
        self.audit = AuditService(self.db.sessions, self.clock)
        self.dialogues = Dialogues(self.db.sessions, self.clock)
        self.outbox = GatedOutbox(
            self.db.sessions,
            self.delivery_scheduler,
            self.clock,
            self._deliver,
            grace=timedelta(minutes=config.scheduler.grace_minutes),
            find_sent=self._find_sent,
            ready=self._transport_ready,
            retract=self._retract,
            slots=self._delivery_slots,
            edit=self._edit,
            pace=self._delivery_pace,
            lease_seconds=float(config.scheduler.lease_seconds),
        )
        self.outbox.shared = self.outbox.lease_on_server = shared
        self.transports: dict[str, Platform] = {}
        self.mirrors: dict[str, Platform] = {}  # the platforms with a calendar
        self.mirror = CalendarMirror(self.mirrors)  # events in platforms' calendars
        self.cogs: dict[str, Cog] = {}
        self.text_checks = TextChecks()
        self.suggestions = SharedSuggestions()
        self.dispatcher = Dispatcher(
            self.registry,
            self.members,
            self.dialogues,
            text_checks=self.text_checks,
            suggestions=self.suggestions,
            owners=frozenset(config.bot.owners),
            default_timezone=config.bot.timezone,
            rate_limiter=RateLimiter(
                config.bot.rate_limit.commands,
                float(config.bot.rate_limit.per_seconds),
                clock=self.clock.now,
            ),
            clock=self.clock.now,
        )
        self.services = Services(
            config=config,
            db=self.db,
            clock=self.clock,
            scheduler=self.scheduler,
            outbox=self.outbox,
            members=self.members,
            settings=self.settings,
            audit=self.audit,
            dialogues=self.dialogues,
            registry=self.registry,
            cogs=self.cogs,
            text_checks=self.text_checks,
            suggestions=self.suggestions,
            dispatcher=self.dispatcher,
            mirror=self.mirror,
        )
        self.leader = Coordinator(self, url, db_schema)  # leader or follower, heartbeat
        # Several processes may share a PostgreSQL database: their caches hear of each
        # other's writes by NOTIFY. One process on SQLite needs nothing of the kind.
        self.invalidations: InvalidationBus | None = None
        if self.db.engine.dialect.name == "postgresql":
            self.invalidations = InvalidationBus(url, db_schema, self._send_notices)
            self.members.attach(self.invalidations)
            self.settings.attach(self.invalidations)
        self._loaded = False
        self._started = False
        self._running_cogs: list[Cog] = []  # started by `start`, in order; `close` stops them
        self._listening = False

    async def _send_notices(self, channel: str, payloads: list[str]) -> None:
        async with self.db.sessions.begin() as session:
            for payload in payloads:
                await session.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": channel, "payload": payload},
                )

    async def open(self, *, migrate: bool, claim: bool = True) -> None:
        """Check (or bring up to date) the schema and load the cogs; no platform yet.

        `claim=False` (a process that only reads, such as `circlebot web`) leaves a SQLite
        file's single-process lock to the bot itself.
        """
        if claim:
            try:
                self.leader.claim_database()
            except ProcessLockError as exc:
                raise StartupError(str(exc)) from None
        status = await self.db.status()
        if not status.up_to_date:
            if migrate or self.config.database.auto_migrate:
                log.info(
                    "migrating %s from %s to %s",
                    self.db.display_url,
                    status.describe_current,
                    status.describe_heads,
                )
                await self.db.migrate()
            else:
                where = "is empty" if not status.current else f"is at {status.describe_current}"
                raise StartupError(
                    f"The database {self.db.display_url} {where}, but this version needs "
                    f"{status.describe_heads}. Run `circlebot migrate` (back it up first), then "
                    "start again."
                )
        try:
            await keycheck.verify(self.db, source=self.key_source)
        except keycheck.KeyMismatch as exc:
            raise StartupError(str(exc)) from None
        if self.invalidations is not None and not self._listening:
            await self.invalidations.start()
            self._listening = True
        if not self._loaded:
            loader.load(self.config.cogs.enabled, self.config.cogs.settings, self.services)
            self._loaded = True

    async def community_removed(self, platform: str, platform_id: str) -> str | None:
        """The bot was removed from a server or room: record it, and say what happens next.

        Returns the notice for the community's moderators (the adapter delivers it where it
        still can, e.g. a DM), or None when the community was never known. The privacy cog's
        daily pass erases the community after `bot.removed_community_keep_days`.
        """
        left = await self.members.mark_left(platform, platform_id)
        if left is None:
            return None
        log.info("removed from community %s; its data is kept for now", left.community.id)
        return removal_notice(left, self.config.bot.removed_community_keep_days)

    async def community_returned(self, platform: str, platform_id: str) -> None:
        """The bot was added (back) to a server or room: a pending erase is called off."""
        if await self.members.returned(platform, platform_id):
            log.info("added back to a community; its data will not be erased")

    async def place_moved(self, platform: str, old_id: str, new_id: str) -> None:
        """A channel was replaced by another (a Matrix room upgrade): every channel setting
        naming it (by place key or bare id), every pending outbox item for it and every
        cog's own rows (`Cog.move_place`) now point at the new one. Safe to repeat; what was
        already sent stays where it was (the old room keeps its history)."""
        old_key, new_key = f"{platform}:{old_id}", f"{platform}:{new_id}"
        changed = await self.settings.replace_value(old_key, new_key)
        changed += await self.settings.replace_value(old_id, new_id)
        moved = await self.outbox.retarget(platform, old_id, new_id)
        for cog in self.cogs.values():
            try:
                await cog.move_place(old_key, new_key)
            except Exception:
                log.exception("the %s cog could not move its rows to the new room", cog.name)
        log.info(
            "followed a replaced %s room: %d setting(s) and %d pending item(s) moved",
            platform,
            changed,
            moved,
        )

    def add_transport(self, transport: Platform) -> None:
        """Register an adapter so the outbox (and, if it has a calendar, the calendar mirror)
        can reach its platform."""
        self.transports[transport.platform] = transport
        if transport.capabilities.mirrors_events:
            self.mirrors[transport.platform] = transport
        else:
            self.mirrors.pop(transport.platform, None)

    async def start(self, *, freeze_gc: bool = False) -> None:
        """Start timed work and the cogs, then keep the heartbeat.

        `freeze_gc` (the long-running process: `circlebot run` and the console): before the
        cogs rebuild their plans, move what is loaded so far (modules, config, phrase lists,
        which live as long as the process) out of the garbage collector's reach with
        `gc.freeze()`. Each full collection during a rebuild of thousands of meetings walked
        all of it, about 50 ms with the event loop stopped (benchmarks/meetings_schedule.py);
        tests leave it off, as they start many apps in one process.

        PostgreSQL with a real clock: every process takes due timed jobs from the shared queue
        and due outbox items under leases; none leads. SQLite (one process) and virtual clocks
        (tests): this process leads, or follows until the leader is gone and then rebuilds the
        jobs (bot/leader.py).
        """
        await self.leader.begin()
        if self.db.engine.dialect.name == "sqlite":
            await self.outbox.release_all()  # one process: any lease left is a past life's
        self.scheduler.start()
        if self.delivery_scheduler is not self.scheduler:
            self.delivery_scheduler.start()
        if isinstance(self.scheduler, DurableScheduler) and self.scheduler.jobs is not None:
            self.scheduler.cogs = self.cogs
            await self.scheduler.jobs.start()
        if freeze_gc:
            gc.collect()  # start-up garbage is dropped, not kept for good
            gc.freeze()
        with self.leader.booting():
            for cog in self.cogs.values():
                await cog.start()
                self.dispatcher.attach(cog.name, cog.hooks())
                self._running_cogs.append(cog)  # stopped by `close`, even if start-up fails
        if self.leader.leading or self.outbox.shared:
            report = await self.outbox.recover()
            if report.sent or report.skipped:
                log.info("outbox after start: %s", report)
        await self.leader.run()
        self._started = True
        for cog in self.cogs.values():
            await cog.after_start()

    async def settled(self) -> None:
        """Wait until every cog's background start-up work is done (`Cog.settled`): a large
        schedule's later meetings are planned after `start` returns. Tests and benchmarks
        wait for it; a running bot does not need to."""
        for cog in list(self.cogs.values()):
            await cog.settled()

    async def _deliver(self, target: Target, message: Message, key: str) -> str | None:
        transport = self.transports.get(target.platform)
        if transport is None:
            raise DeliveryError(f"{target.platform} is not connected")
        return await transport.send(target, message, key)

    def _transport_ready(self, platform: str) -> bool:
        """Whether the outbox may try `platform` now.

        Until its adapter registered (and, for one that logs in, connected), items for a
        platform wait; the adapter sends them once ready, the grace window still applies.
        """
        transport = self.transports.get(platform)
        if transport is None:
            return False
        return transport.can_send

    def _delivery_slots(self, platform: str) -> int:
        """How many outbox sends to `platform` may be in flight at once (its capability)."""
        transport = self.transports.get(platform)
        return transport.capabilities.delivery_slots if transport is not None else 1

    def _delivery_pace(self, platform: str) -> float | None:
        """The most outbox sends `platform` starts per second, None when unknown."""
        transport = self.transports.get(platform)
        return transport.capabilities.sends_per_second if transport is not None else None

    async def _retract(self, target: Target, message_id: str) -> None:
        transport = self.transports.get(target.platform)
        if transport is None:
            raise DeliveryError(f"{target.platform} is not connected")
        if not transport.capabilities.retracts:
            raise DeliveryError(f"{target.platform} cannot delete messages", permanent=True)
        await transport.retract(target, message_id)

    async def _edit(self, target: Target, message_id: str, message: Message, key: str) -> None:
        transport = self.transports.get(target.platform)
        if transport is None:
            raise DeliveryError(f"{target.platform} is not connected")
        if not transport.capabilities.edits:
            raise DeliveryError(f"{target.platform} cannot edit messages", permanent=True)
        await transport.edit(target, message_id, message, key)

    async def _find_sent(self, target: Target, key: str, since: datetime) -> str | None:
        transport = self.transports.get(target.platform)
        if transport is None or not transport.capabilities.finds_sent:
            return None
        return await transport.find_sent(target, key, since)

    async def close(self, *, drain_timeout_seconds: float = 10.0) -> None:
        """Stop taking commands, give running commands and then running jobs up to
        `drain_timeout_seconds` each to finish, stop the cogs, close the database."""
        drained = await self.dispatcher.drain(drain_timeout_seconds)
        if not drained:
            log.warning("some commands were still running at shutdown")
        await self.leader.stop()
        running, self._running_cogs = self._running_cogs, []
        for cog in running:
            self.dispatcher.detach(cog.name, cog.hooks())
            await cog.stop()
            if not isinstance(self.scheduler, DurableScheduler):  # shared jobs outlive us
                self.scheduler.cancel_prefix(f"{cog.name}.")
        self._started = False
        await self.scheduler.shutdown(drain_timeout_seconds)
        if self.delivery_scheduler is not self.scheduler:
            await self.delivery_scheduler.shutdown(drain_timeout_seconds)
        try:
            await self.outbox.release_held()
        except Exception:
            log.warning("could not hand back the outbox items this process held", exc_info=True)
        await self.leader.close()  # releases leadership: another process takes over
        if self.invalidations is not None and self._listening:
            await self.invalidations.close()
            self._listening = False
        await self.db.close()
