"""A community's own calendar (Discord's Events tab) showing what a cog has planned.

A cog describes an event without knowing the platform; a transport that can show events
implements `mirror_event`, and on the others (console, Matrix) the mirror does nothing. Keys are
stable per mirrored thing (`meetings.12`), so a later call replaces what an earlier one showed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger("circlebot.mirror")


@dataclass(frozen=True)
class MirroredEvent:
    """One event as the community's calendar should show it (public text only)."""

    key: str
    community_platform: str
    community_id: str  # the platform's id of the community, e.g. a guild id
    title: str
    start: datetime  # aware
    end: datetime  # aware
    description: str = ""
    location_channel_id: str | None = None  # a channel of that community, by platform id
    location_label: str = ""  # how to name the place when it is not a voice channel
    external_url: str | None = None
    # Button ids a member presses by marking the event "Interested" (and by taking that back),
    # where the platform tells the bot (Discord's Events tab); "" when it means nothing.
    interested_action: str = ""
    uninterested_action: str = ""


class EventMirror(Protocol):
    """What the calendar mirror needs of a platform with `capabilities.mirrors_events`."""

    @property
    def platform(self) -> str:
        """The platform's name."""

    async def mirror_event(self, event: MirroredEvent | None, key: str) -> None:
        """Show `event` under `key` (None removes what `key` showed); never raises for refusals."""


class CalendarMirror:
    """Hands events to the transport of their platform, if it has a calendar at all."""

    def __init__(self, mirrors: Mapping[str, EventMirror]) -> None:
        """`mirrors`: the platforms with a calendar, by name (the app keeps it current)."""
        self._transports = mirrors

    def _mirror(self, platform: str) -> EventMirror | None:
        return self._transports.get(platform)

    def available(self, platform: str) -> bool:
        """Whether `platform` has a calendar, so cogs can skip building events for nothing."""
        return self._mirror(platform) is not None

    async def show(self, event: MirroredEvent) -> None:
        """Show (or update) the event in its community's calendar."""
        await self._send(event.community_platform, event.key, event)

    async def hide(self, platform: str, key: str) -> None:
        """Remove what `key` showed on `platform` (nothing happens if it showed nothing)."""
        await self._send(platform, key, None)

    async def hide_everywhere(self, key: str) -> None:
        """Remove what `key` showed on every platform with a calendar (for a thing whose
        community is no longer known, e.g. deleted with it)."""
        for platform in sorted(self._transports):
            await self.hide(platform, key)

    async def _send(self, platform: str, key: str, event: MirroredEvent | None) -> None:
        mirror = self._mirror(platform)
        if mirror is None:
            return
        try:
            await mirror.mirror_event(event, key)
        except Exception:  # a calendar is a convenience; it must never break the cog's work
            log.exception("could not mirror %s on %s", key, platform)
