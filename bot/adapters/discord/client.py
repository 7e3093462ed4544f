"""The discord.py client classes, forwarding every event the bot uses to the adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

import discord
import yarl

from bot.platform import StartupError
from bot.shard_claims import ShardClaims

log = logging.getLogger("circlebot.discord")
CATCH_UP_WAIT_SECONDS = 10.0  # closing waits this long for the catch-up, then cancels it


class Events(Protocol):
    """What the adapter handles; the client only forwards."""

    async def setup(self) -> None:
        """Once per login, before the gateway connects (sync commands, persistent buttons)."""

    async def on_ready(self) -> None:
        """The gateway is ready (again)."""

    async def catch_up(self) -> None:
        """Once, after the first ready: work put off while connecting (sends). Closing the
        client waits for it, so it never outlives the client or the database."""

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
    _catch_up: asyncio.Task[None] | None = None
    _closing = False  # set as close() begins: no catch-up starts after that

    async def setup_hook(self) -> None:
        await self.events.setup()

    async def on_ready(self) -> None:
        await self.events.on_ready()
        if self._catch_up is None and not self._closing:
            self._catch_up = asyncio.create_task(self.events.catch_up(), name="catch-up")

    async def _finish_catch_up(self) -> None:
        """Let the catch-up finish (bounded), so it holds no database connection past close."""
        task = self._catch_up
        if task is None or task.done() or task is asyncio.current_task():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), CATCH_UP_WAIT_SECONDS)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception:
            log.exception("sending what came due while connecting failed")

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
    `discord.shard_count` / `shard_ids` from the config.

    With `claims` and no `shard_ids`, this process runs only the shards it claims by lease
    (see `bot.shard_claims`) and starts the ones a dead process left free, every claim round.
    """

    def __init__(
        self, events: Events, *, claims: ShardClaims | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.events = events
        self.claims = claims
        self._takeover: asyncio.Task[None] | None = None
        self._claims_lost = False

    async def start(self, token: str, *, reconnect: bool = True) -> None:
        """Run until closed.

        Raises:
            StartupError: the shard leases were lost (one line for the operator).
        """
        await super().start(token, reconnect=reconnect)
        if self._claims_lost:
            raise StartupError(
                "lost the database connection that holds this process's Discord shards; "
                "stopped so that no shard runs twice (start again to claim shards)"
            )

    async def launch_shards(self) -> None:
        """Launch the claimed shards (all of them without claims or with explicit ids)."""
        if self.claims is None or self.shard_ids is not None or self.is_closed():
            return await super().launch_shards()
        recommended, url, _limits = await self.http.get_bot_gateway()
        count = self.shard_count = self.shard_count or recommended
        self._connection.shard_count = count
        gateway = yarl.URL(url)
        mine = await self.claims.first_claim(count)
        self._connection.shard_ids = list(mine)
        for shard_id in mine:
            await self.launch_shard(gateway, shard_id, initial=shard_id == mine[0])
        if self.claims.shared:  # on SQLite this process already runs every shard
            self._takeover = asyncio.create_task(self._take_over(gateway, count), name="shards")

    async def _take_over(self, gateway: yarl.URL, count: int) -> None:
        claims = self.claims
        assert claims is not None
        while not self.is_closed():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(claims.lost.wait(), timeout=claims.poll_seconds)
            if claims.lost.is_set():
                # another process may run these shards now: stop rather than answer twice
                log.warning("lost the shard leases; closing the Discord connection")
                self._claims_lost = True
                await self.close()
                return
            for shard_id in await claims.claim_round(count):
                first = not self._connection.shard_ids
                self._connection.shard_ids = [*self._connection.shard_ids, shard_id]
                await self.launch_shard(gateway, shard_id, initial=first)

    async def close(self) -> None:
        """Close the gateway connections and give the shard leases up."""
        self._closing = True
        task, self._takeover = self._takeover, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # closing still closes the shards and gives the leases up
                log.exception("the shard claim rounds failed")
        await self._finish_catch_up()
        await super().close()
        if self.claims is not None:  # after the shards closed: no two processes run one
            await self.claims.release()


def events_of(interaction: discord.Interaction) -> Events:
    """The adapter behind the client that received `interaction`."""
    client = interaction.client
    if not isinstance(client, _Forwarding):
        raise TypeError("interaction did not come through a circlebot client")
    return client.events
