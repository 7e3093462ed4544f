"""The Discord adapter: commands, buttons, forms and DMs in; replies and outbox deliveries out.

It never pings: `allowed_mentions` is none on the client and on every send (only a role a
moderator opted in for an announcement may be mentioned), and all text is defused by
`bot.safety.clean` first. It reads no channel messages (no message-content intent), only DMs,
and, after a crash, its own recent posts (see `Delivery.find_sent` in `delivery.py`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.client import ShardedCircleClient
from bot.adapters.discord.commands import SlashNames, build_tree, payload_hash, plain_values
from bot.adapters.discord.components import (
    FORM_PREFIX,
    ActionButton,
    LongTextButton,
    LongTextForm,
    prompt_digest,
    submitted_text,
)
from bot.adapters.discord.delivery import DELIVERY_SLOTS, SENDS_PER_SECOND, Delivery, Pacer
from bot.adapters.discord.events import ScheduledEvents
from bot.adapters.discord.interest import Interest, hook_interest
from bot.adapters.discord.render import PLACEHOLDER_MAX, PREFIX, trim
from bot.adapters.discord.responder import (
    ChannelMessageResponder,
    DirectMessageResponder,
    InteractionResponder,
)
from bot.adapters.panels import PanelBoard, retired_refusal
from bot.adapters.state import AdapterStore
from bot.core.commands import Choice, CommandSpec
from bot.core.dispatch import Incoming
from bot.core.errors import DeliveryError
from bot.core.identity import Actor, Place
from bot.core.message import Message
from bot.core.mirror import MirroredEvent
from bot.core.permissions import Tier
from bot.i18n import _
from bot.identify_pacing import IdentifyPacer
from bot.platform import Capabilities, Host, StartupError
from bot.shard_claims import ShardClaims

log = logging.getLogger("circlebot.discord")

PLATFORM = "discord"
ACK_AFTER = 2.0  # defer when work runs this long; Discord's window is 3 s
_MENTION = re.compile(r"<@!?(\d{15,21})>|(\d{15,21})")
_CHANNEL = re.compile(r"<#(\d{15,21})>|(\d{15,21})")


class DiscordAdapter(Interest, Delivery):
    """One bot account on Discord, as adapter and as the outbox's transport."""

    platform = PLATFORM
    capabilities = Capabilities(
        logs_in=True,
        finds_sent=True,
        mirrors_events=True,
        retracts=True,
        delivery_slots=DELIVERY_SLOTS,
        edits=True,
    )

    def __init__(
        self,
        app: Host,
        *,
        guild_ready_timeout: float = 2.0,
        sends_per_second: float = SENDS_PER_SECOND,
        ack_after: float = ACK_AFTER,
    ) -> None:
        self.app = app
        self.ack_after = ack_after
        self.pacer = Pacer(sends_per_second)
        self.capabilities = replace(self.capabilities, sends_per_second=sends_per_second)
        config = app.config.discord
        # Channel watch needs server messages and their text: the privileged message-content
        # intent, switched on in the Developer Portal and here (docs in config.example.toml).
        self.reads_channels = config.message_content
        intents = discord.Intents(guilds=True, dm_messages=True, guild_scheduled_events=True)
        if self.reads_channels:
            intents.guild_messages = True
            intents.message_content = True
        options: dict[str, Any] = {
            "intents": intents,
            "allowed_mentions": discord.AllowedMentions.none(),
            "guild_ready_timeout": guild_ready_timeout,
        }
        # No shard_count: Discord's recommended count; on PostgreSQL shared (and paced) by lease.
        self.client: discord.Client = ShardedCircleClient(
            self,
            claims=ShardClaims(app.db.url, app.db.schema),
            pacer=IdentifyPacer(app.db.url, app.db.schema),
            shard_count=config.shard_count or None,
            shard_ids=config.shard_ids or None,
            **options,
        )
        hook_interest(self.client)
        self.command_words = SlashNames(app.registry.specs)  # staff commands move on Discord
        self.tree = build_tree(self.client, app.registry.specs, self, self._describe_group)
        self.tree.error(self._on_tree_error)
        self._guild_ids = [int(g) for g in config.guild_ids]
        for guild_id in self._guild_ids:
            self.tree.copy_global_to(guild=discord.Object(guild_id))
        self._communities: dict[int, int] = {}  # guild id -> community row id
        self.store = AdapterStore(PLATFORM, app.db.sessions)
        self.panels = PanelBoard(self.store)
        # user id -> guild they last used the bot in; saved, so a DM after a restart belongs there
        self._last_guild: dict[int, int] = {}
        self._closed_dms: dict[int, float] = {}  # user id -> when their DMs refused us
        # key -> pieces a lookup found posted (index -> message id), for the send that follows
        self._posted_pieces: dict[str, dict[int, str]] = {}
        app.add_transport(self)

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and serve until `stop` is set; discord.py reconnects and resumes."""
        token = self.app.config.discord.resolved_token()
        if not token:
            raise StartupError(
                "discord.enabled is true but no bot token is set: put it in discord.token or "
                f"the environment variable {self.app.config.discord.token_env}."
            )
        runner = asyncio.create_task(self.client.start(token), name="discord-client")
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            await self.client.close()
            await runner

    async def setup(self) -> None:
        """After login: persistent buttons, then commands (only when they changed)."""
        self.client.add_dynamic_items(ActionButton, LongTextButton)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Upload the command set if its hash differs from the one stored for this bot."""
        digest = payload_hash(self.tree)
        scopes: list[int | None] = list(self._guild_ids) or [None]
        for guild_id in scopes:
            key = f"commands:{self.client.application_id}:{guild_id or 'global'}"
            if await self.store.get(key) == digest:
                continue
            guild = None if guild_id is None else discord.Object(guild_id)
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.HTTPException:
                log.exception("command sync failed; the previous commands stay until next start")
                continue
            await self.store.put({key: digest})
            log.info("synced %d commands (%s)", len(synced), key)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a server: keep its data for the configured days, tell its owner."""
        self._communities.pop(guild.id, None)
        notice = await self.app.community_removed(PLATFORM, str(guild.id))
        if notice is None or guild.owner_id is None:
            return
        try:  # Discord lets a bot DM only people it shares a server with: this may fail
            await self.send_dm(guild.owner_id, Message.coerce(notice))
        except (DeliveryError, discord.HTTPException) as exc:
            log.warning("could not tell the owner of a server that removed the bot: %s", exc)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added to a server: a community the bot was removed from is kept after all."""
        await self.app.community_returned(PLATFORM, str(guild.id))

    async def on_ready(self) -> None:
        # Servers that removed the bot while it was offline and added it back since: keep them.
        far = datetime.now(UTC) + timedelta(days=36500)
        for info in await self.app.members.left_before(far):
            here = info.platform_id.isdigit() and self.client.get_guild(int(info.platform_id))
            if info.platform == PLATFORM and here:
                await self.app.community_returned(PLATFORM, info.platform_id)
        guilds = len(self.client.guilds)
        log.info("connected to Discord as %s in %d guilds", self.client.user, guilds)

    async def catch_up(self) -> None:
        """Send what came due while connecting (the outbox put it off)."""
        await self.app.outbox.deliver_due()

    # -- who and where -------------------------------------------------------------------------

    async def _community(self, guild: discord.Guild) -> int:
        community_id = self._communities.get(guild.id)
        if community_id is None:
            info = await self.app.members.community(
                PLATFORM, str(guild.id), guild.name, timezone=self.app.config.bot.timezone
            )
            community_id = self._communities[guild.id] = info.id
        return community_id

    async def community_id(self, guild: discord.Guild) -> int:
        """The database id of a guild's community row (created on first sight)."""
        return await self._community(guild)

    async def bindings(self, guild: discord.Guild) -> dict[str, int]:
        """The guild's tier bindings: role id -> tier value."""
        return await self.app.members.bindings(await self._community(guild))

    async def _tier(
        self, guild: discord.Guild, member: discord.Member | None, manage_guild: bool
    ) -> Tier:
        """Manage Server means moderator; roles bound by moderators may lift it further. The
        bindings (cached) are read first: the member's roles, which discord.py sorts on each
        read, are looked at only where a community bound some."""
        tier = Tier.MODERATOR if manage_guild else Tier.MEMBER
        bound = await self.app.members.bindings(await self._community(guild)) if member else {}
        for role in member.roles if member and bound else ():
            value = None if role.is_default() else bound.get(str(role.id))
            if value is not None:
                tier = max(tier, Tier(min(value, Tier.MODERATOR)))
        return tier

    async def home_guild(self, user_id: int) -> discord.Guild | None:
        """The community a DM belongs to: where the member last used the bot (remembered
        across restarts), or the only one."""
        guild_id = self._last_guild.get(user_id)
        if guild_id is None:
            saved = await self.store.recent_community(str(user_id))
            if saved is not None and saved.isdigit():
                guild_id = self._last_guild[user_id] = int(saved)
        if guild_id is not None:
            return self.client.get_guild(guild_id)
        guilds = self.client.guilds
        return guilds[0] if len(guilds) == 1 else None

    async def _remember_guild(self, user_id: int, guild_id: int) -> None:
        """Note where a member used the bot; saved only when it changed."""
        if self._last_guild.get(user_id) != guild_id:
            self._last_guild[user_id] = guild_id
            await self.store.set_recent_community(str(user_id), str(guild_id))

    async def _dm_tier(self, guild: discord.Guild | None, user_id: int) -> Tier:
        if guild is None:
            return Tier.MEMBER
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.HTTPException:
                return Tier.MEMBER
        return await self._tier(guild, member, member.guild_permissions.manage_guild)

    async def _incoming(
        self,
        interaction: discord.Interaction,
        responder: InteractionResponder,
        *,
        as_dm: bool = False,
    ) -> Incoming:
        user = interaction.user
        actor = Actor(PLATFORM, str(user.id), user.display_name)
        channel_id = str(interaction.channel_id)
        guild = interaction.guild
        if guild is not None:
            await self._remember_guild(user.id, guild.id)
            name = getattr(interaction.channel, "name", None)
            place = Place(PLATFORM, channel_id, str(guild.id), as_dm, f"#{name}" if name else "")
            member = user if isinstance(user, discord.Member) else None
            tier = await self._tier(guild, member, interaction.permissions.manage_guild)
            return Incoming(actor, place, tier, responder, guild.name)
        home = await self.home_guild(user.id)
        place = Place(PLATFORM, channel_id, str(home.id) if home else None, True, "DM")
        tier = await self._dm_tier(home, user.id)
        return Incoming(actor, place, tier, responder, home.name if home else "")

    async def resolve_actor(
        self, text: str, guild: discord.Guild | None, known: dict[int, discord.abc.User]
    ) -> Actor | None:
        """A mention, an id, or (in the guild's cache) a name, as an actor."""
        text = text.strip()
        user: discord.abc.User | None = None
        match = _MENTION.fullmatch(text)
        if match:
            user_id = int(match[1] or match[2])
            user = known.get(user_id) or (guild.get_member(user_id) if guild else None)
            if user is None:
                try:
                    user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
                except discord.HTTPException:
                    return None
        elif guild is not None:
            user = guild.get_member_named(text.lstrip("@"))
        if user is None:
            return None
        return Actor(PLATFORM, str(user.id), user.display_name)

    def resolve_place(self, text: str, guild: discord.Guild | None) -> Place | None:
        """A channel mention, id or name of this guild, as a place."""
        if guild is None:
            return None
        text = text.strip()
        match = _CHANNEL.fullmatch(text)
        if match:
            channel = guild.get_channel(int(match[1] or match[2]))
        else:
            channel = discord.utils.get(guild.channels, name=text.lstrip("#"))
        if channel is None:
            return None
        return Place(PLATFORM, str(channel.id), str(guild.id), False, f"#{channel.name}")

    # -- interactions --------------------------------------------------------------------------

    def _describe_group(self, specs: list[CommandSpec]) -> str:
        cog = self.app.cogs.get(specs[0].cog)
        return cog.description if cog is not None else specs[0].path[0]

    async def _handle(
        self,
        interaction: discord.Interaction,
        work: Callable[[Incoming], Awaitable[Any]],
        *,
        private: bool,
        slow: bool = False,
        as_dm: bool = False,
        known: dict[int, discord.abc.User] | None = None,
    ) -> None:
        """Acknowledge in time (at once if slow, else when work runs long), then run `work`."""
        responder = InteractionResponder(self, interaction, private=private)
        responder.known_users.update(known or {})
        # A timer, not a sleeping task: most commands answer well within `ack_after`, and a
        # timer handle is far cheaper to start and cancel than a task per interaction.
        deferral: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            self.ack_after,
            lambda: deferral.append(asyncio.create_task(responder.defer(ephemeral=private))),
        )
        failed = True
        try:
            if slow:
                await responder.defer(ephemeral=private)
            await work(await self._incoming(interaction, responder, as_dm=as_dm))
            failed = False
        finally:
            timer.cancel()
            for task in deferral:
                task.cancel()
            try:
                await responder.finish(failed=failed)
            except discord.HTTPException:
                log.exception("could not acknowledge an interaction")

    async def run_command(
        self, interaction: discord.Interaction, spec: CommandSpec, values: dict[str, Any]
    ) -> None:
        """A slash command: discord.py's typed values, handed to the core as plain values."""
        raw, known = plain_values(values)

        async def work(incoming: Incoming) -> None:
            await self.app.dispatcher.run(incoming, spec, raw)

        await self._handle(interaction, work, private=spec.private, slow=spec.slow, known=known)

    async def complete(
        self, interaction: discord.Interaction, spec: CommandSpec, option: str, partial: str
    ) -> list[Choice]:
        responder = InteractionResponder(self, interaction, private=True)
        incoming = await self._incoming(interaction, responder)
        filled = {k: str(v) for k, v in interaction.namespace if v is not None}
        return await self.app.dispatcher.autocomplete(incoming, spec, option, partial, filled)

    async def on_action(self, interaction: discord.Interaction, action_id: str) -> None:
        async def work(incoming: Incoming) -> None:
            pressed = interaction.message
            if pressed is not None and self.panels.is_retired(str(pressed.id)):
                await self.app.dispatcher.context(incoming)  # in the member's language
                await incoming.responder.reply(retired_refusal(), ephemeral=True)
                return
            await self.app.dispatcher.handle_action(incoming, action_id)

        await self._handle(interaction, work, private=True)

    async def on_long_text(self, interaction: discord.Interaction, digest: str) -> None:
        """Open the form if the button belongs to the question the member is on now."""

        async def work(incoming: Incoming) -> None:
            ctx = await self.app.dispatcher.context(incoming)  # sets the member's language
            dialogues = self.app.dialogues
            state = await dialogues.current(incoming.actor.key)
            dialogue = dialogues.dialogues.get(state.dialogue_id) if state is not None else None
            if state is not None and dialogue is not None:
                prompt = dialogue.step(state.step).prompt
                form = LongTextForm(digest, trim(prompt, PLACEHOLDER_MAX))
                responder = incoming.responder
                assert isinstance(responder, InteractionResponder)
                if prompt_digest(prompt) == digest and await responder.show_form(form):
                    return
            await ctx.reply(_("That question has already been answered."), ephemeral=True)

        await self._handle(interaction, work, private=True)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Form submits, read here rather than by discord.py so they survive a restart."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        if not str(data.get("custom_id", "")).startswith(FORM_PREFIX):
            return
        text = submitted_text(data)

        async def work(incoming: Incoming) -> None:
            await self.app.dispatcher.handle_answer(incoming, text, PREFIX)

        await self._handle(interaction, work, private=True, as_dm=True)

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """A command discord.py could not call (stale sync, unreadable option)."""
        log.error("slash command failed before it ran: %r", error)
        if not interaction.response.is_done():
            await interaction.response.send_message(
                _("Sorry, I couldn't run that. Please try again in a minute."),
                ephemeral=interaction.guild_id is not None,
            )

    def cannot_read_channels(self) -> str | None:
        """Why channel watch cannot work on this bot (None: the intent is on)."""
        if self.reads_channels:
            return None
        return _(
            "I can't read channel messages on Discord yet: whoever runs this bot must turn on "
            "the Message Content Intent (Developer Portal, the bot's application, Bot page, "
            "Privileged Gateway Intents) and set `message_content = true` under `[discord]` in "
            "the bot's config, then restart it. A verified bot in more than 100 servers needs "
            "Discord's approval for that intent."
        )

    async def on_message(self, message: discord.Message) -> None:
        """A line in the bot's DMs (a dialogue answer, or a typed command), or, with the
        message-content intent, plain chat in a server channel for channel watch."""
        if message.author.bot or message.webhook_id is not None:
            return
        if message.guild is not None:
            await self._on_channel_message(message)
            return
        user = message.author
        home = await self.home_guild(user.id)
        responder = DirectMessageResponder(self, message.channel, home)
        incoming = Incoming(
            Actor(PLATFORM, str(user.id), user.display_name),
            Place(PLATFORM, str(message.channel.id), str(home.id) if home else None, True, "DM"),
            await self._dm_tier(home, user.id),
            responder,
            home.name if home else "",
        )
        await self.app.dispatcher.handle_text(incoming, message.content, PREFIX)

    async def _on_channel_message(self, message: discord.Message) -> None:
        """Plain chat in a server channel: only the channel watch sees it (never stored)."""
        guild = message.guild
        if not self.reads_channels or guild is None or not message.content:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        channel = message.channel
        incoming = Incoming(
            Actor(PLATFORM, str(message.author.id), message.author.display_name),
            Place(
                PLATFORM,
                str(channel.id),
                str(guild.id),
                False,
                f"#{getattr(channel, 'name', channel.id)}",
            ),
            Tier.MEMBER,  # the watch needs no tier; a match builds the member's context
            ChannelMessageResponder(self, message),
            guild.name,
        )
        await self.app.dispatcher.read_channel(incoming, message.content)

    # -- calendar --------------------------------------------------------------------------------

    @functools.cached_property
    def events(self) -> ScheduledEvents:
        """The server's Events tab, mirroring what cogs put in the core calendar."""
        return ScheduledEvents(self.client, self.app.clock, self.app.db.sessions, self.pacer.wait)

    async def mirror_event(self, event: MirroredEvent | None, key: str) -> None:
        """Queue a Guild Scheduled Event change; it is applied once connected, never raised."""
        self.events.submit(key, event)
