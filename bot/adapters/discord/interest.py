""" "Interested" on the Events tab read back as an RSVP.

Discord tells the bot when a member marks one of its scheduled events Interested or takes that
back (GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE, with the guild_scheduled_events intent, which
is not privileged). The event the bot made for a meeting remembers the button ids to press then
(`MirroredEvent.interested_action` / `uninterested_action`, kept in `ScheduledEvents`), so the
member's mark becomes the same press as "I'll come" / "Not this time" on the announcement, by
that member, answered in their DM (which also says that Discord shows everyone who is
interested, while an RSVP made with the bot stays private).

discord.py drops these events unless the member is in its user cache, which it is not without
the privileged members intent, so the gateway payload is read directly (`hook_interest`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

import discord

from bot.adapters.discord.events import ScheduledEvents
from bot.adapters.discord.responder import DirectMessageResponder, Outlet
from bot.core.dispatch import Incoming
from bot.core.identity import Actor, Place
from bot.core.permissions import Tier
from bot.platform import Host

log = logging.getLogger("circlebot.discord")

PLATFORM = "discord"
INTEREST_EVENTS = {
    "GUILD_SCHEDULED_EVENT_USER_ADD": True,
    "GUILD_SCHEDULED_EVENT_USER_REMOVE": False,
}


def hook_interest(client: discord.Client) -> None:
    """Have `client` dispatch `on_interest(data, added)` for every Interested mark or unmark,
    whatever its cache holds (discord.py's own parser runs first, unchanged).

    Own code: discord.py offers no raw event for these; its parser table is the one place
    that sees every payload.
    """
    parsers: dict[str, Any] = client._connection.parsers
    for name, added in INTEREST_EVENTS.items():
        original = parsers.get(name)

        def parse(data: Mapping[str, Any], original: Any = original, added: bool = added) -> None:
            if original is not None:
                original(data)
            client.dispatch("interest", dict(data), added)

        parsers[name] = parse


class Interest:
    """Interested marks as RSVP presses (mixed into `DiscordAdapter`)."""

    app: Host
    client: discord.Client

    @property
    def events(self) -> ScheduledEvents:
        """The adapter's (its Events tab)."""
        raise NotImplementedError

    async def _dm_tier(self, guild: discord.Guild | None, user_id: int) -> Tier:
        """The adapter's."""
        raise NotImplementedError

    async def on_interest(self, data: Mapping[str, Any], added: bool) -> None:
        """A member marked (or unmarked) one of the bot's events Interested: press its action."""
        try:
            event_id, user_id = int(data["guild_scheduled_event_id"]), int(data["user_id"])
            guild = self.client.get_guild(int(data["guild_id"]))
        except (KeyError, TypeError, ValueError):
            return
        if guild is None or self.client.user is None or user_id == self.client.user.id:
            return
        shown = await self.events.interest_actions(event_id)
        action = (shown.interested_action if added else shown.uninterested_action) if shown else ""
        if not action:
            return  # not an event the bot made, or one that means nothing to press
        channel = await self.client.create_dm(discord.Object(user_id))
        responder = DirectMessageResponder(cast(Outlet, self), channel, guild)
        incoming = Incoming(
            Actor(PLATFORM, str(user_id), ""),
            Place(PLATFORM, str(channel.id), str(guild.id), True, "DM"),
            await self._dm_tier(guild, user_id),
            responder,
            guild.name,
        )
        log.debug("an Interested mark on event %s read as an RSVP press", event_id)
        await self.app.dispatcher.handle_action(incoming, action)
