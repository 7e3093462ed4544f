"""The discord.py client classes, forwarding every event the bot uses to the adapter."""

from __future__ import annotations

from typing import Any, Protocol

import discord


class Events(Protocol):
    """What the adapter handles; the client only forwards."""

    async def setup(self) -> None:
        """Once per login, before the gateway connects (sync commands, persistent buttons)."""

    async def on_ready(self) -> None:
        """The gateway is ready (again)."""

    async def on_message(self, message: discord.Message) -> None:
        """A message the intents let through (direct messages)."""

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Every interaction, after discord.py's own routing (used for form submits)."""

    async def on_action(self, interaction: discord.Interaction, action_id: str) -> None:
        """A press on one of the bot's buttons."""

    async def on_long_text(self, interaction: discord.Interaction, digest: str) -> None:
        """A press on a "write a longer answer" button."""

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from a server (kicked, banned, or the server was deleted)."""

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """The bot was added to a server (again)."""

    async def on_interest(self, data: dict[str, Any], added: bool) -> None:
        """A member marked (`added`) or unmarked a scheduled event Interested (raw payload)."""


class _Forwarding:
    """Event methods discord.py finds by name (`on_<event>`, `setup_hook`)."""

    events: Events

    async def setup_hook(self) -> None:
        await self.events.setup()

    async def on_ready(self) -> None:
        await self.events.on_ready()

    async def on_message(self, message: discord.Message) -> None:
        await self.events.on_message(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self.events.on_interaction(interaction)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.events.on_guild_remove(guild)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.events.on_guild_join(guild)

    async def on_interest(self, data: dict[str, Any], added: bool) -> None:
        await self.events.on_interest(data, added)


class ShardedCircleClient(_Forwarding, discord.AutoShardedClient):
    """The bot's gateway connections: Discord's recommended shard count, or
    `discord.shard_count` / `shard_ids` from the config."""

    def __init__(self, events: Events, **options: Any) -> None:
        super().__init__(**options)
        self.events = events


def events_of(interaction: discord.Interaction) -> Events:
    """The adapter behind the client that received `interaction`."""
    client = interaction.client
    if not isinstance(client, _Forwarding):
        raise TypeError("interaction did not come through a circlebot client")
    return client.events
