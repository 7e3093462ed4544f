"""How the core answers on Matrix: in the room, or privately in the member's DM.

An ephemeral reply in a room goes to the DM, with one short pointer in the room per command.
What is answered where the command was typed (answers, the pointer) is linked to the command's
event (`Origin.relation`): a reply, inside its thread when it was typed in one. Private answers
sent to the DM are not linked to the room's event. Matrix has no reply deadline, so `defer`
does nothing.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from bot.adapters.matrix.incoming import Origin
from bot.adapters.matrix.panels import MessageSender
from bot.adapters.matrix.sending import Sender
from bot.core.context import ResponderDefaults
from bot.core.errors import DeliveryError
from bot.core.identity import Actor, Place
from bot.core.message import Message
from bot.i18n import _

log = logging.getLogger("circlebot.matrix")


class Outlet(MessageSender, Protocol):
    """What a responder asks of the adapter."""

    prefix: str
    sender: Sender

    async def send_dm(
        self, user_id: str, message: Message, *, key: str | None = None
    ) -> str | None:
        """Send privately to a Matrix user id; returns the last event id."""

    async def send_notice(
        self, room_id: str, text: str, *, relates: dict[str, Any] | None = None
    ) -> None:
        """A short plain notice in a room, with `relates` as its `m.relates_to`."""

    async def show_panel(
        self,
        room_id: str,
        message: Message,
        *,
        relates: dict[str, Any] | None,
        pressed: str | None,
    ) -> str | None:
        """Post a panel (`Message.panel`), or edit the one whose reaction `pressed` is on;
        returns the ids of the events it shows in (space-separated), None when none."""

    def resolve_actor(self, room_id: str, text: str) -> Actor | None:
        """A member of the room named by id or unique display name."""

    async def resolve_place(self, here: Place, text: str) -> Place | None:
        """A joined room of the same community named by id or alias."""

    async def cannot_post(self, place: Place) -> str | None:
        """Why the bot cannot post in a room, or None."""

    async def members_can_read(self, place: Place) -> str | None:
        """Who below moderator can read a room, or None."""


class MatrixResponder(ResponderDefaults):
    """Answers one event; an ephemeral reply in a room goes to the DM with a short pointer."""

    points_to_dm = True  # private replies and DMs already leave a pointer in the room

    def __init__(
        self,
        outlet: Outlet,
        actor: Actor,
        place: Place,
        origin: Origin | None = None,
        *,
        pressed: str | None = None,
    ) -> None:
        self.prefix = outlet.prefix
        self._outlet = outlet
        self._actor = actor
        self._place = place
        # A reaction pressing a button on this event: a private answer leaves no pointer in
        # the room (nothing there shows who pressed), and a panel answer edits that event.
        self._pressed = pressed
        self._pointed = pressed is not None
        # m.relates_to of what is answered where the command was typed; None: not linked
        self._relates = origin.relation() if origin is not None else None
        self._origin = origin

    async def reply(self, message: Message, *, ephemeral: bool) -> str | None:
        if self._place.is_dm:
            await self._outlet.send_message(
                self._place.id, message, reader=self._actor.key, relates=self._relates
            )
        elif ephemeral:
            await self._private(message)
        elif message.panel is not None:
            return await self._outlet.show_panel(
                self._place.id, message, relates=self._relates, pressed=self._pressed
            )
        else:
            return await self._outlet.send_message(
                self._place.id, message, reader=None, relates=self._relates
            )
        return None

    async def _private(self, message: Message) -> None:
        try:
            await self._outlet.send_dm(self._actor.id, message)
        except DeliveryError as exc:
            log.warning("private reply not delivered, pointing the member to it: %s", exc)
            await self._outlet.send_notice(
                self._place.id,
                _(
                    "I couldn't send you a private reply just now. Please check that you "
                    "accept direct messages from me, then try again."
                ),
                relates=self._relates,
            )
            return
        await self._point()

    async def _point(self) -> None:
        """One pointer in the room per command, however many private messages follow."""
        if not self._place.is_dm and not self._pointed:
            self._pointed = True
            try:
                await self._outlet.send_notice(
                    self._place.id, _("I've sent you a private reply."), relates=self._relates
                )
            except DeliveryError as exc:  # the private reply itself did arrive
                log.warning("no pointer in the room: %s", exc)

    async def dm(self, message: Message) -> None:
        await self._outlet.send_dm(self._actor.id, message)
        await self._point()

    async def defer(self, *, ephemeral: bool) -> None:
        return None  # text platforms have no reply deadline

    async def resolve_actor(self, text: str) -> Actor | None:
        return self._outlet.resolve_actor(self._place.id, text)

    async def remove_command(self) -> str | None:
        """Redact the command's event (the bot needs the room's power to redact others'
        events); why not, and how the member redacts it, when that fails."""
        how = _(
            "To remove it, open the message's menu in your Matrix app and choose Remove (or "
            "Delete)."
        )
        if self._origin is None:
            return how
        room_id, sender = self._place.id, self._outlet.sender
        try:
            await sender.redact(room_id, self._origin.event_id)
        except DeliveryError as exc:
            log.info("a command with private words stays in its room: %s", exc)
            room = sender.client.rooms.get(room_id)
            if room is None:
                return how
            levels = room.power_levels
            needed, mine = levels.defaults.redact, levels.get_user_level(sender.client.user_id)
            if mine >= needed:
                return _("The homeserver did not let me just now.") + " " + how
            return (
                _(
                    "Removing others' messages in this room needs power level {needed} and "
                    "mine is {level}; a room admin can raise mine."
                ).format(needed=needed, level=mine)
                + " "
                + how
            )
        return None

    async def resolve_place(self, text: str) -> Place | None:
        return await self._outlet.resolve_place(self._place, text)

    async def held_by_everyone(self, role: str) -> bool:
        """`power:N` at or below the room's default level for users (`users_default`, 0
        unless the room says otherwise): everyone who joins holds it."""
        level = role.removeprefix("power:")
        if not role.startswith("power:") or not level.lstrip("-").isdigit():
            return False
        room = self._outlet.sender.client.rooms.get(self._place.id)
        default = int(room.power_levels.defaults.users_default) if room is not None else 0
        return int(level) <= default

    async def can_post(self, place: Place) -> str | None:
        """Joined, and a power level at least what the room asks for the events we send."""
        return await self._outlet.cannot_post(place)

    async def members_can_read(self, place: Place) -> str | None:
        return await self._outlet.members_can_read(place)


class ChannelReadResponder(MatrixResponder):
    """Answers plain chat read by channel watch: only in the member's DM, never in the room
    (no pointer either); a DM that cannot be sent raises `DeliveryError`."""

    async def reply(self, message: Message, *, ephemeral: bool) -> str | None:
        await self.dm(message)
        return None

    async def dm(self, message: Message) -> None:
        await self._outlet.send_dm(self._actor.id, message)
