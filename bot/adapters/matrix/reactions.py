"""Posts kept current on Matrix: the outbox's `edit`, and reactions offered on outbox posts.

An outbox post whose actions all carry an emoji (`Action.emoji`: a meeting's RSVP choices)
gets the bot's own reaction with each one, as a panel does (`MatrixPanels.offer_reactions`), so
members press a choice with one tap; a member's reaction on it is read back through
`on_live_reaction` when it is no panel's button, which finds such a post's buttons in the
outbox (`Outbox.live_actions`), so a reaction on a post from before a restart still works. The
member's reaction is then redacted when the room lets the bot (a reaction shows who pressed).
When it cannot be, the reaction stays, and the member taking it back (a redaction of their
own reaction) presses the button's `undo` for them: removing ✅ withdraws that RSVP. Such
reactions are remembered in memory only (at most `REMEMBERED_PRESSES`), so one left from
before a restart is taken back by typing the command instead.
An edit is an `m.replace` with the whole new text in `m.new_content` (`render.edit_content`),
encrypted in an encrypted room with the relation also on the clear envelope (`RelatingClient`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import cast

from bot.adapters.matrix.direct import DirectRooms
from bot.adapters.matrix.panels import MatrixPanels, MessageSender
from bot.adapters.matrix.sending import Sender
from bot.adapters.panels import emoji_key
from bot.core.dispatch import Incoming
from bot.core.errors import DeliveryError
from bot.core.message import Message
from bot.outbox import Target
from bot.platform import Host

log = logging.getLogger("circlebot.matrix")

REMEMBERED_PRESSES = 2000  # reactions that stayed after pressing a button with an `undo`


@dataclass(frozen=True)
class StayingPress:
    """A member's reaction that pressed a button and stays in the room."""

    room_id: str
    sender: str
    undo: str  # the action id that takes the press back


class LivePosts:
    """Editing outbox posts in place and offering their reactions (mixed into
    `MatrixAdapter`, which owns the attributes named here)."""

    app: Host
    ready: asyncio.Event
    dms: DirectRooms
    panels: MatrixPanels
    sender: Sender

    _staying: OrderedDict[str, StayingPress]

    async def _incoming(self, room_id: str, sender: str) -> Incoming:
        """The adapter's (`MatrixAdapter._incoming`)."""
        raise NotImplementedError

    async def add_reactions(
        self, room_id: str, event_ids: str | None, message: Message
    ) -> str | None:
        """Offer the bot's own reaction for each button's emoji under the post (its last
        piece); returns `event_ids` unchanged. Never raises: the post is out, and the typed
        command it names still works."""
        if event_ids and message.actions and all(a.emoji for a in message.actions):
            await self.panels.offer_reactions(room_id, event_ids.split()[-1], message, None)
        return event_ids

    async def edit(
        self, target: Target, message_id: str, message: Message, idempotency_key: str
    ) -> None:
        """Show `message` in the post `message_id` instead: an `m.replace` edit.

        Raises:
            DeliveryError: not connected, or refused by the homeserver.
        """
        if not self.ready.is_set():
            raise DeliveryError("Matrix is not connected yet")
        room_id = (
            await self.dms.room_for(target.platform_id) if target.is_dm else target.platform_id
        )
        outlet = cast(MessageSender, self)  # the adapter sends
        await outlet.send_message(room_id, message, reader=None, replaces=message_id)

    async def on_live_reaction(
        self, room_id: str, sender: str, reaction_id: str, reacts_to: str, key: str
    ) -> bool:
        """A member's reaction on an outbox post with buttons (a meeting announcement):
        presses the button with that emoji, answered privately. False when it is none."""
        live = await self.app.outbox.live_actions("matrix", reacts_to)
        action = next((a for a in live if a.emoji and emoji_key(a.emoji) == emoji_key(key)), None)
        if action is None:
            return False
        await self.app.dispatcher.handle_action(await self._incoming(room_id, sender), action.id)
        try:
            await self.sender.redact(room_id, reaction_id)
        except DeliveryError as exc:
            log.info("the reaction that pressed a button stays (cannot redact it): %s", exc)
            if action.undo:
                self._staying[reaction_id] = StayingPress(room_id, sender, action.undo)
                while len(self._staying) > REMEMBERED_PRESSES:
                    self._staying.popitem(last=False)
        return True

    async def on_redaction(self, room_id: str, sender: str, redacts: str) -> None:
        """A redaction in a community room: when it takes back the sender's own reaction that
        pressed a button with an `undo` (a meeting's ✅), press that undo for them, answered
        privately like the press was. Anyone else's redaction of it changes nothing."""
        press = self._staying.get(redacts)
        if press is None or press.room_id != room_id or press.sender != sender:
            return
        del self._staying[redacts]
        await self.app.dispatcher.handle_action(await self._incoming(room_id, sender), press.undo)
