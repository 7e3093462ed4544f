"""How the core answers on Discord: an interaction (command, button, form) or a DM line.

An interaction must be acknowledged within three seconds: the first reply is the interaction
response, a deferral fills in later, and everything after goes out as follow-ups. A lock keeps
the automatic deferral (when work runs long) from racing a reply.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import discord

from bot.adapters.discord.commands import TIER_PERMISSIONS, SlashNames
from bot.adapters.discord.render import PREFIX, Outgoing, render
from bot.adapters.panels import PanelBoard
from bot.core.context import ResponderDefaults
from bot.core.errors import DMsClosed, UserError
from bot.core.identity import Actor, Place
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.i18n import _
from bot.safety import escape_markdown

log = logging.getLogger("circlebot.discord")
DMS_CLOSED = 50007  # Discord's error code: "Cannot send messages to this user"


class Outlet(Protocol):
    """What a responder asks of the adapter (the adapter implements it)."""

    panels: PanelBoard  # the live and retired panel messages (`Message.panel`)

    async def retire_panel(self, channel_id: int, message_id: str, message: Message) -> None:
        """Disable the buttons of a panel message that a newer one replaced."""

    async def post(
        self,
        channel: discord.abc.Messageable,
        message: Message,
        *,
        idempotency_key: str | None = None,
    ) -> str | None:
        """Send every piece of a message into a channel; the last piece's id."""

    async def send_dm(
        self, user_id: int, message: Message, *, idempotency_key: str | None = None
    ) -> str | None:
        """DM a member; raises `DMsClosed` when their DMs are closed to the bot."""

    async def resolve_actor(
        self, text: str, guild: discord.Guild | None, known: dict[int, discord.abc.User]
    ) -> Actor | None:
        """A mention, an id, or a name of the guild, as an actor."""

    def resolve_place(self, text: str, guild: discord.Guild | None) -> Place | None:
        """A channel mention, id or name of the guild, as a place."""

    def cannot_read_channels(self) -> str | None:
        """Why channel watch cannot work on this bot (None: it can)."""

    async def bindings(self, guild: discord.Guild) -> dict[str, int]:
        """The guild's tier bindings: role id -> tier value."""

    # The slash command that runs the command at `path` (staff ones are moved), and the
    # top-level commands of each tier.
    command_words: SlashNames


def staff_role_note(role: discord.Role | None, tier: Tier, commands: list[str]) -> str | None:
    """Who sees the `commands` of `tier` once `role` holds it: Discord shows a top-level
    command by its default permission alone, never by the bot's role bindings."""
    if role is None or not commands:
        return None
    names = ", ".join(f"`/{c}`" for c in commands)
    shown = f"**@{escape_markdown(role.name)}**"  # a mention here would be defused anyway
    needed = TIER_PERMISSIONS.get(tier)
    if needed is None:
        return _(
            "Discord shows {commands} to everyone (only members of {role} can use them). To "
            "show them to {role} alone: Server Settings → Integrations → this bot, open each "
            "one, turn off @everyone and add {role}."
        ).format(commands=names, role=shown)
    if needed <= role.permissions or role.permissions.administrator:
        return None
    return _(
        "{role} lacks Manage Server, so Discord does not show its members {commands}. Add "
        "{role} to each of them under Server Settings → Integrations → this bot."
    ).format(commands=names, role=shown)


def dms_closed_notice() -> Message:
    """Said privately (once) when a member's DMs are closed to the bot."""
    return Message.coerce(
        _(
            "I couldn't send you a direct message because your DMs are closed to me. If you'd "
            "like to continue privately, open this server's menu, choose Privacy Settings, "
            "allow direct messages, and then run the command again."
        )
    )


def cannot_post(guild: discord.Guild | None, place: Place) -> str | None:
    """Why the bot could not post its messages (text, cards, files) in `place`, or None."""
    channel = guild.get_channel_or_thread(int(place.id)) if guild and place.id.isdigit() else None
    if guild is None or channel is None or guild.me is None:
        return _("I cannot find it in this server.")
    if isinstance(channel, discord.CategoryChannel | discord.ForumChannel):
        return _("It is a category or forum, not a channel for messages.")
    allowed = channel.permissions_for(guild.me)
    threaded = isinstance(channel, discord.Thread)
    send = allowed.send_messages_in_threads if threaded else allowed.send_messages
    # Without View Channel or Send Messages Discord also withholds the rest: name only that.
    if not allowed.view_channel:
        missing = [_("View Channel")]
    elif not send:
        missing = [_("Send Messages")]
    else:
        # Read Message History: after a crash the bot reads its own recent posts back, so an
        # announcement that already went out is not posted twice (DiscordAdapter.find_sent).
        extras = (
            (allowed.embed_links, _("Embed Links")),
            (allowed.attach_files, _("Attach Files")),
            (allowed.read_message_history, _("Read Message History")),
        )
        missing = [label for granted, label in extras if not granted]
    if not missing:
        return None
    return _("My role is missing these permissions there: {missing}.").format(
        missing=", ".join(missing)
    )


async def members_can_read(
    adapter: Outlet, guild: discord.Guild | None, place: Place
) -> str | None:
    """Who below moderator can see `place` after overwrites (None: moderators only).

    A role counts as moderator when it has Manage Server or Administrator, or moderators bound
    it to the moderator tier; every other role, @everyone included, must lack View Channel
    there, and so must every member given View Channel by an overwrite of their own.
    """
    channel = guild.get_channel_or_thread(int(place.id)) if guild and place.id.isdigit() else None
    if guild is None or channel is None:
        return _("I cannot find it in this server.")
    if isinstance(channel, discord.Thread | discord.CategoryChannel):
        return _("Pick a channel, not a thread or a category.")
    bound = await adapter.bindings(guild)
    mine = {r.id for r in guild.me.roles if r.managed} if guild.me is not None else set()

    def moderator(role: discord.Role) -> bool:
        perms = role.permissions
        return (
            role.id in mine  # the bot's own integration role: only the bot has it
            or perms.administrator
            or perms.manage_guild
            or bound.get(str(role.id), Tier.MEMBER) >= Tier.MODERATOR
        )

    for role in guild.roles:
        if not moderator(role) and channel.permissions_for(role).view_channel:
            name = "@everyone" if role.is_default() else role.name
            return _("Everyone with the role {role} can see it.").format(role=name)
    for target, overwrite in channel.overwrites.items():
        if not isinstance(target, discord.Member) or overwrite.view_channel is not True:
            continue
        if guild.me is not None and target.id == guild.me.id:
            continue  # the bot itself posts the alerts
        if not any(moderator(r) for r in target.roles):
            return _("{name} can see it and is not a moderator.").format(name=target.display_name)
    return None


class InteractionResponder(ResponderDefaults):
    """Answers one interaction."""

    prefix = PREFIX

    def command_words(self, path: tuple[str, ...]) -> tuple[str, ...]:
        return self._adapter.command_words(path)

    def __init__(
        self, adapter: Outlet, interaction: discord.Interaction, *, private: bool
    ) -> None:
        self._adapter = adapter
        self._interaction = interaction
        self._in_dm = interaction.guild_id is None
        self._private = private  # visibility of an automatic deferral
        self._lock = asyncio.Lock()
        self._deferred: bool | None = None  # the deferral's ephemeral flag, None if none
        self._original_pending = False  # deferred, and the "thinking" message not filled yet
        self._answered = False
        self._dm_refused = False
        self.known_users: dict[int, discord.abc.User] = {}  # option values discord.py resolved

    async def reply(self, message: Message, *, ephemeral: bool) -> str | None:
        # In a DM nobody else can see the message, and the DM history is the dialogue.
        private = ephemeral and not self._in_dm
        parts = render(message)
        async with self._lock:
            panel = message.panel if parts and not private else None
            channel = self._interaction.channel_id or 0
            if panel is not None:
                await self._adapter.panels.load(str(channel))
            pressed = self._pressed_panel(panel)
            if pressed is not None and len(parts) == 1:
                await self._edit_pressed(parts[0], pressed)
                sent: str | None = str(pressed.id)
            else:
                sent = None
                ids: list[str] = []
                for part in parts:
                    sent = await self._send(part, private)
                    ids.extend([sent] if sent else [])
            self._answered = self._answered or bool(parts)
            if panel is not None and sent is not None:
                previous = self._adapter.panels.show(str(channel), panel, sent, message)
                await self._adapter.panels.save(str(channel))
                if previous is not None:
                    await self._adapter.retire_panel(
                        channel, previous.message_id, previous.message
                    )
            if private or self._in_dm:
                return None
            return str(pressed.id) if pressed is not None and len(parts) == 1 else " ".join(ids)

    def _pressed_panel(self, panel: str | None) -> discord.Message | None:
        """The message whose button was pressed, when it is the live `panel` here (or, after a
        restart, a panel nobody replaced yet): the answer then edits it in place."""
        pressed = self._interaction.message
        if panel is None or pressed is None or pressed.flags.ephemeral:
            return None
        if self._interaction.type is not discord.InteractionType.component:
            return None
        live = self._adapter.panels.live(str(self._interaction.channel_id), panel)
        if live is not None and live.message_id != str(pressed.id):
            return None
        return None if self._adapter.panels.is_retired(str(pressed.id)) else pressed

    async def _edit_pressed(self, part: Outgoing, pressed: discord.Message) -> None:
        """Show the answer on the pressed message itself (Discord's "update message")."""
        interaction = self._interaction
        if not interaction.response.is_done():
            await interaction.response.edit_message(**part.kwargs(editing=True))
            return
        await pressed.edit(**part.kwargs(editing=True))  # after an automatic deferral
        if self._original_pending:  # the private "thinking..." has nothing more to say
            self._original_pending = False
            await interaction.delete_original_response()

    async def _send(self, part: Outgoing, private: bool) -> str | None:
        """Send one piece; the id of the message it became, when Discord says."""
        interaction = self._interaction
        if not interaction.response.is_done():
            sent = await interaction.response.send_message(**part.kwargs(), ephemeral=private)
            return str(sent.message_id) if sent.message_id else None
        if self._original_pending:
            self._original_pending = False
            if self._deferred or not private:
                edited = await interaction.edit_original_response(**part.kwargs(editing=True))
                return str(edited.id)
            # A public "thinking..." must not turn into a private answer: replace it.
            await interaction.delete_original_response()
        followed = await interaction.followup.send(**part.kwargs(), ephemeral=private, wait=True)
        return str(followed.id)

    async def defer(self, *, ephemeral: bool) -> None:
        async with self._lock:
            await self._defer(ephemeral)

    async def _defer(self, ephemeral: bool) -> None:
        if self._interaction.response.is_done():
            return
        private = ephemeral and not self._in_dm
        await self._interaction.response.defer(ephemeral=private, thinking=True)
        self._deferred = private
        self._original_pending = True

    async def show_form(self, form: discord.ui.Modal) -> bool:
        """Open a form; only possible as the first response. Its submit comes back through
        `on_interaction`, also after a restart, so discord.py need not keep it."""
        async with self._lock:
            if self._interaction.response.is_done():
                return False
            await self._interaction.response.send_modal(form)
            form.stop()
            self._answered = True
            return True

    async def finish(self, *, failed: bool) -> None:
        """Make sure Discord saw an answer: a silent acknowledgement, or a short apology."""
        async with self._lock:
            if self._answered:
                return
            response = self._interaction.response
            sorry = _("Sorry, something went wrong on my side. Please try again in a moment.")
            if self._original_pending:
                self._original_pending = False
                if failed:
                    await self._interaction.edit_original_response(content=sorry)
                else:
                    await self._interaction.delete_original_response()
            elif not response.is_done():
                if failed:
                    await response.send_message(sorry, ephemeral=not self._in_dm)
                elif self._interaction.type is discord.InteractionType.application_command:
                    await response.send_message(_("Done."), ephemeral=not self._in_dm)
                else:
                    await response.defer()

    async def dm(self, message: Message) -> None:
        if self._dm_refused:
            return
        try:
            await self._adapter.send_dm(self._interaction.user.id, message)
        except DMsClosed:
            self._dm_refused = True
            await self.reply(dms_closed_notice(), ephemeral=True)

    async def resolve_actor(self, text: str) -> Actor | None:
        return await self._adapter.resolve_actor(text, self._interaction.guild, self.known_users)

    async def resolve_place(self, text: str) -> Place | None:
        return self._adapter.resolve_place(text, self._interaction.guild)

    async def can_post(self, place: Place) -> str | None:
        return cannot_post(self._interaction.guild, place)

    async def cannot_read_channels(self) -> str | None:
        return self._adapter.cannot_read_channels()

    async def members_can_read(self, place: Place) -> str | None:
        return await members_can_read(self._adapter, self._interaction.guild, place)

    async def role_note(self, role: str, tier: Tier) -> str | None:
        guild = self._interaction.guild
        found = guild.get_role(int(role)) if guild is not None and role.isdigit() else None
        return staff_role_note(found, tier, self._adapter.command_words.top_level(tier))

    async def held_by_everyone(self, role: str) -> bool:
        """@everyone: the role whose id is the server's own."""
        guild = self._interaction.guild
        return guild is not None and role == str(guild.id)

    async def ping_note(self, role: str) -> str | None:
        guild = self._interaction.guild
        found = guild.get_role(int(role)) if guild is not None and role.isdigit() else None
        if guild is None or guild.me is None:
            return None
        if found is None:
            raise UserError(
                _("`{role}` names no role of this server; choose one from the list.").format(
                    role=escape_markdown(role[:64])
                )
            )
        shown = f"**@{escape_markdown(found.name)}**"
        if found.is_default():
            raise UserError(
                _("{role} is not a role a post can ping; choose another role.").format(role=shown)
            )
        if found.mentionable or guild.me.guild_permissions.mention_everyone:
            return None
        return _(
            "{role} does not allow mentions, so the announcements will name it without "
            'notifying anyone. Turn on "Allow anyone to @mention this role" under Server '
            "Settings → Roles → {role}."
        ).format(role=shown)


class DirectMessageResponder(ResponderDefaults):
    """Answers in the bot's DM channel with a member (a line typed there, or an Interested
    mark on an event read as a press)."""

    prefix = PREFIX

    def command_words(self, path: tuple[str, ...]) -> tuple[str, ...]:
        return self._adapter.command_words(path)

    def __init__(
        self, adapter: Outlet, channel: discord.abc.Messageable, guild: discord.Guild | None
    ) -> None:
        self._adapter = adapter
        self._channel = channel
        self._guild = guild

    async def reply(self, message: Message, *, ephemeral: bool) -> None:
        await self._post(message)

    async def dm(self, message: Message) -> None:
        await self._post(message)

    async def _post(self, message: Message) -> None:
        """Post in the DM; when the member's DMs are closed (an Interested mark needs no open
        DM) there is nobody to tell, and what they did still counts."""
        try:
            await self._adapter.post(self._channel, message)
        except discord.Forbidden as exc:
            if exc.code != DMS_CLOSED:
                raise
            log.info("a direct answer was not delivered: the member's DMs are closed")

    async def defer(self, *, ephemeral: bool) -> None:
        return None

    async def resolve_actor(self, text: str) -> Actor | None:
        return await self._adapter.resolve_actor(text, self._guild, {})

    async def resolve_place(self, text: str) -> Place | None:
        return self._adapter.resolve_place(text, self._guild)

    async def can_post(self, place: Place) -> str | None:
        return cannot_post(self._guild, place)

    async def members_can_read(self, place: Place) -> str | None:
        return await members_can_read(self._adapter, self._guild, place)


class ChannelMessageResponder(ResponderDefaults):
    """Answers a plain message read in a server channel (channel watch): only ever privately.

    A DM that cannot be delivered raises `DMsClosed` and nothing is posted in the channel, where
    a line seconds after the member's message would point at them.
    """

    prefix = PREFIX

    def command_words(self, path: tuple[str, ...]) -> tuple[str, ...]:
        return self._adapter.command_words(path)

    def __init__(self, adapter: Outlet, message: discord.Message) -> None:
        self._adapter = adapter
        self._message = message
        self._guild = message.guild

    async def reply(self, message: Message, *, ephemeral: bool) -> None:
        await self.dm(message)  # never in the channel, whatever was asked

    async def dm(self, message: Message) -> None:
        await self._adapter.send_dm(self._message.author.id, message)

    async def defer(self, *, ephemeral: bool) -> None:
        return None

    async def remove_command(self) -> str | None:
        """Delete the member's message (someone else's message needs Manage Messages)."""
        how = _(
            "To remove it, hover over the message (or long-press it), open its menu and choose "
            "Delete Message."
        )
        try:
            await self._message.delete()
        except discord.NotFound:
            return None  # gone already
        except discord.Forbidden:
            return (
                _("Deleting others' messages there needs the Manage Messages permission.")
                + " "
                + how
            )
        except discord.HTTPException as exc:
            log.info("a message with private words stays in its channel: %s", exc)
            return how
        return None

    async def resolve_actor(self, text: str) -> Actor | None:
        return await self._adapter.resolve_actor(text, self._guild, {})

    async def resolve_place(self, text: str) -> Place | None:
        return self._adapter.resolve_place(text, self._guild)

    async def can_post(self, place: Place) -> str | None:
        return cannot_post(self._guild, place)

    async def members_can_read(self, place: Place) -> str | None:
        return await members_can_read(self._adapter, self._guild, place)
