"""The discord.py client classes, forwarding every event the bot uses to the adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import discord
import yarl

from bot.identify_pacing import IdentifyPacer
from bot.platform import StartupError
from bot.shard_claims import ShardClaims

log = logging.getLogger("circlebot.discord")
HANDLERS_WAIT_SECONDS = 10.0  # closing waits this long for running handlers, then cancels


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
        """A form (modal) submit, after discord.py's own routing; other interactions are not
        forwarded (`ShardedCircleClient.dispatch`)."""

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
    _event_tasks: set[asyncio.Task[Any]]  # event handlers and the catch-up, while they run
    _caught_up = False
    _closing = False  # set as close() begins: no catch-up starts after that
    _shut = False  # set once the gateways closed: no event is handled after that

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)
        return task

    async def setup_hook(self) -> None:
        await self.events.setup()

    async def on_ready(self) -> None:
        await self.events.on_ready()
        if not self._caught_up and not self._closing:
            self._caught_up = True
            self._track(asyncio.create_task(self._run_catch_up(), name="catch-up"))

    async def _run_catch_up(self) -> None:
        try:
            await self.events.catch_up()
        except Exception:
            log.exception("sending what came due while connecting failed")

    async def _finish_handlers(self) -> None:
        """Let running handlers finish (bounded, then cancel them): they may hold database
        connections, which must not outlive the client or the app."""
        running = {
            t for t in self._event_tasks if not t.done() and t is not asyncio.current_task()
        }
        if not running:
            return
        _done, late = await asyncio.wait(running, timeout=HANDLERS_WAIT_SECONDS)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def on_message(self, message: discord.Message) -> None:
        await self.events.on_message(message)

    async def _on_form_submit(self, interaction: discord.Interaction) -> None:
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
    (see `bot.shard_claims`): every claim round it starts the ones a dead process left free
    and closes the ones it gives up to a process running fewer.
    """

    def __init__(
        self,
        events: Events,
        *,
        claims: ShardClaims | None = None,
        pacer: IdentifyPacer | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.events = events
        self._event_tasks = set()
        self.claims = claims
        self.pacer = pacer
        self.max_concurrency = 1  # IDENTIFY buckets, as GET /gateway/bot says
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
        recommended, url, limits = await self.http.get_bot_gateway()
        self.max_concurrency = max(int(limits.get("max_concurrency", 1)), 1)
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
            decided = await claims.claim_round(count)
            if decided.surplus:  # close first, unlock after: a shard never runs twice
                for shard_id in decided.surplus:
                    shard = self.get_shard(shard_id)
                    if shard is not None:
                        await shard.disconnect()
                ids = self._connection.shard_ids or []
                self._connection.shard_ids = [s for s in ids if s not in decided.surplus]
                await claims.give_up(decided.surplus)
            for shard_id in decided.claimed:
                first = not self._connection.shard_ids
                self._connection.shard_ids = [*(self._connection.shard_ids or []), shard_id]
                await self.launch_shard(gateway, shard_id, initial=first)

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        """Hand an event to its handlers, unless the client has closed.

        Only a form submit goes on to the adapter's `on_interaction`: discord.py would start a
        task for every interaction (commands and buttons are routed by the command tree and the
        dynamic items), and the adapter reads nothing else there.
        """
        if self._shut:
            return
        super().dispatch(event, *args, **kwargs)
        if event == "interaction" and args[0].type is discord.InteractionType.modal_submit:
            self._schedule_event(self._on_form_submit, "on_interaction", *args)

    def _schedule_event(
        self,
        coro: Callable[..., Coroutine[Any, Any, Any]],
        event_name: str,
        *args: Any,
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        # discord.py runs each handler as a task of its own and forgets it; kept here so
        # that closing waits for them (discord.py has no public hook for this)
        return self._track(super()._schedule_event(coro, event_name, *args, **kwargs))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for this shard's IDENTIFY turn, shared with every process (see
        `bot.identify_pacing`); without a pacer, discord.py's own 5 s pause."""
        if self.pacer is None:
            return await super().before_identify_hook(shard_id, initial=initial)
        await self.pacer.turn(shard_id or 0, self.max_concurrency)

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
        await self._finish_handlers()  # while they can still answer over HTTP
        await super().close()
        self._shut = True  # discord.py may still dispatch (a delayed ready): not handled
        await self._finish_handlers()  # any dispatched while the gateways closed
        if self.claims is not None:  # after the shards closed: no two processes run one
            await self.claims.release()
        if self.pacer is not None:
            await self.pacer.close()


def events_of(interaction: discord.Interaction) -> Events:
    """The adapter behind the client that received `interaction`."""
    client = interaction.client
    if not isinstance(client, _Forwarding):
        raise TypeError("interaction did not come through a circlebot client")
    return client.events
