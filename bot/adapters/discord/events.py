"""Core calendar events as Guild Scheduled Events (the server's Events tab).

Changes are queued (the latest per key wins) and applied by one worker once the client is
ready, so a command never waits on Discord and start-up can mirror before the gateway is up.
Per key, AdapterState remembers the guild, the event id and a digest of what was sent: an
unchanged event costs no request, an edit is a PATCH, and an event whose time has passed is
replaced by a new one. A refusal (no Create Events) is logged once per guild and never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import discord
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapters.discord.render import trim
from bot.clock import Clock
from bot.core.mirror import MirroredEvent
from bot.models import AdapterState

log = logging.getLogger("circlebot.discord.events")

PLATFORM = "discord"
NAME_MAX = 100
DESCRIPTION_MAX = 1000
LOCATION_MAX = 100
READY_POLL = 0.25  # seconds between looks at whether the client has logged in
STATE_PREFIX = "event:"


@dataclass(frozen=True)
class Shown:
    """What one key shows in Discord, as remembered in AdapterState."""

    guild_id: int
    event_id: int
    digest: str
    interested_action: str = ""  # pressed when a member marks the event Interested
    uninterested_action: str = ""  # pressed when they take that back


@dataclass(frozen=True)
class Plan:
    """The request fields for one event, resolved against the guild."""

    name: str
    description: str
    start: datetime
    end: datetime
    channel: discord.VoiceChannel | discord.StageChannel | None
    location: str

    @property
    def digest(self) -> str:
        fields = [
            self.name,
            self.description,
            self.start.isoformat(),
            self.end.isoformat(),
            str(self.channel.id if self.channel else ""),
            self.location,
        ]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:32]


def plan_for(event: MirroredEvent, guild: discord.Guild) -> Plan:
    """A voice or stage channel of the guild becomes the event's channel; else a location."""
    channel = None
    if event.location_channel_id and event.location_channel_id.isdigit():
        found = guild.get_channel(int(event.location_channel_id))
        if isinstance(found, discord.VoiceChannel | discord.StageChannel):
            channel = found
    location = ""
    if channel is None:
        url = event.external_url or ""
        location = url if url and len(url) <= LOCATION_MAX else event.location_label or url
        location = trim(location or event.title, LOCATION_MAX)
    return Plan(
        name=trim(event.title, NAME_MAX),
        description=trim(event.description, DESCRIPTION_MAX),
        start=event.start,
        end=event.end,
        channel=channel,
        location=location,
    )


class ScheduledEvents:
    """The adapter's Events tab: one queue, one worker, state in AdapterState."""

    def __init__(
        self,
        client: discord.Client,
        clock: Clock,
        sessions: async_sessionmaker[AsyncSession],
        pace: Callable[[], Awaitable[None]],
    ) -> None:
        """`pace()` waits for the adapter's next send slot (requests share Discord's limits)."""
        self._client = client
        self._clock = clock
        self._sessions = sessions
        self._pace = pace
        self._pending: dict[str, MirroredEvent | None] = {}
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._refused: set[int] = set()  # guilds whose refusal was already logged

    def submit(self, key: str, event: MirroredEvent | None) -> None:
        """Queue the latest wish for `key`; the worker applies it when connected."""
        self._pending.pop(key, None)
        self._pending[key] = event
        self._idle.clear()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="discord-events")

    async def settled(self) -> None:
        """Wait until every queued change has been applied (or given up on)."""
        await self._idle.wait()

    async def _run(self) -> None:
        client = self._client
        try:
            await self._connected()
            while self._pending and not client.is_closed():
                key = next(iter(self._pending))
                event = self._pending.pop(key)
                try:
                    await self._apply(key, event)
                except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError):
                    log.warning("could not update the Discord event for %s", key, exc_info=True)
                except Exception:  # one bad event must not stop the others
                    log.exception("mirroring %s failed", key)
        finally:
            self._idle.set()

    async def _connected(self) -> None:
        """Wait for the gateway (the app starts its cogs before the client logs in)."""
        client = self._client
        while True:
            if client.is_ready() or client.is_closed():
                return
            await asyncio.sleep(READY_POLL)

    # -- one change --------------------------------------------------------------------------

    async def _apply(self, key: str, event: MirroredEvent | None) -> None:
        shown = await self._load(key)
        guild_id = int(event.community_id) if event else shown.guild_id if shown else 0
        try:
            if event is None:
                if shown is not None:
                    await self._delete(shown)
                    await self._forget(key)
            else:
                await self._show(key, event, shown)
        except discord.Forbidden:
            if guild_id not in self._refused:
                self._refused.add(guild_id)
                log.warning(
                    "no Create Events permission in guild %s: meetings stay off its Events tab",
                    guild_id,
                )
            return
        self._refused.discard(guild_id)

    async def _show(self, key: str, event: MirroredEvent, shown: Shown | None) -> None:
        guild = self._client.get_guild(int(event.community_id))
        if guild is None:
            log.warning("guild %s is not available; its event %s waits", event.community_id, key)
            return
        plan = plan_for(event, guild)
        if shown is not None and shown.guild_id == guild.id and shown.digest == plan.digest:
            if (shown.interested_action, shown.uninterested_action) != (
                event.interested_action,
                event.uninterested_action,
            ):
                await self._remember(key, guild.id, shown.event_id, plan, event)
            return
        now = self._clock.now()
        if shown is not None:
            current = await self._fetch(guild, shown)
            if current is not None and self._reusable(current, plan, now):
                edited = await self._edit(current, plan)
                await self._remember(key, guild.id, edited.id, plan, event)
                return
            if current is not None:
                await self._delete(shown)
            await self._forget(key)
        if plan.start <= now:
            return  # Discord takes no events in the past; the next occurrence follows
        created = await self._create(guild, plan)
        await self._remember(key, guild.id, created.id, plan, event)

    @staticmethod
    def _reusable(current: discord.ScheduledEvent, plan: Plan, now: datetime) -> bool:
        """An upcoming event can be edited; one that started or ended is replaced."""
        if current.status is not discord.EventStatus.scheduled:
            return False
        return current.start_time > now or current.start_time == plan.start

    async def _fetch(self, guild: discord.Guild, shown: Shown) -> discord.ScheduledEvent | None:
        await self._pace()
        try:
            return await guild.fetch_scheduled_event(shown.event_id, with_counts=False)
        except discord.NotFound:
            return None  # a moderator deleted it; a new one is made

    async def _create(self, guild: discord.Guild, plan: Plan) -> discord.ScheduledEvent:
        await self._pace()
        if plan.channel is not None:
            return await guild.create_scheduled_event(
                name=plan.name,
                description=plan.description,
                start_time=plan.start,
                end_time=plan.end,
                channel=plan.channel,
                privacy_level=discord.PrivacyLevel.guild_only,
            )
        return await guild.create_scheduled_event(
            name=plan.name,
            description=plan.description,
            start_time=plan.start,
            end_time=plan.end,
            entity_type=discord.EntityType.external,
            location=plan.location,
            privacy_level=discord.PrivacyLevel.guild_only,
        )

    async def _edit(self, current: discord.ScheduledEvent, plan: Plan) -> discord.ScheduledEvent:
        await self._pace()
        if plan.channel is not None:  # discord.py takes voice or stage from the channel
            return await current.edit(
                name=plan.name,
                description=plan.description,
                start_time=plan.start,
                end_time=plan.end,
                channel=plan.channel,
            )
        return await current.edit(
            name=plan.name,
            description=plan.description,
            start_time=plan.start,
            end_time=plan.end,
            entity_type=discord.EntityType.external,
            location=plan.location,
        )

    async def _delete(self, shown: Shown) -> None:
        await self._pace()
        with contextlib.suppress(discord.NotFound):  # already gone
            await self._client.http.delete_scheduled_event(shown.guild_id, shown.event_id)

    # -- state -------------------------------------------------------------------------------

    async def _load(self, key: str) -> Shown | None:
        async with self._sessions() as session:
            raw = await session.scalar(
                select(AdapterState.value).where(
                    AdapterState.platform == PLATFORM, AdapterState.key == STATE_PREFIX + key
                )
            )
        if raw is None:
            return None
        data = json.loads(raw)
        return _shown(data)

    async def interest_actions(self, event_id: int) -> Shown | None:
        """What the bot shows as the Discord event `event_id` (its interest actions), or None
        when the event is not one of the bot's."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AdapterState.value).where(
                    AdapterState.platform == PLATFORM, AdapterState.key.like(STATE_PREFIX + "%")
                )
            )
            for raw in rows:
                shown = _shown(json.loads(raw))
                if shown.event_id == event_id:
                    return shown
        return None

    async def _remember(
        self, key: str, guild_id: int, event_id: int, plan: Plan, event: MirroredEvent
    ) -> None:
        value = json.dumps(
            {
                "guild": str(guild_id),
                "event": str(event_id),
                "digest": plan.digest,
                "interested": event.interested_action,
                "uninterested": event.uninterested_action,
            }
        )
        async with self._sessions.begin() as session:
            await session.execute(
                delete(AdapterState).where(
                    AdapterState.platform == PLATFORM, AdapterState.key == STATE_PREFIX + key
                )
            )
            session.add(AdapterState(platform=PLATFORM, key=STATE_PREFIX + key, value=value))

    async def _forget(self, key: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(AdapterState).where(
                    AdapterState.platform == PLATFORM, AdapterState.key == STATE_PREFIX + key
                )
            )


def _shown(data: dict[str, str]) -> Shown:
    return Shown(
        int(data["guild"]),
        int(data["event"]),
        str(data["digest"]),
        str(data.get("interested", "")),
        str(data.get("uninterested", "")),
    )
