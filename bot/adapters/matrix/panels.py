"""Panels on Matrix (`Message.panel`): reactions are the buttons, edits keep one message.

- A panel is posted with its buttons named as reactions (each with its typed command as the
  alternative, `render.reaction_hint`), and the bot reacts with each emoji itself, so a member
  presses a button by clicking that reaction.
- A member's reaction on a panel message is handed to the core as a press of the button with
  that emoji (`PanelBoard.action_for`), with the member's own tier: the owning cog's checks
  (who may steer, which step is live) are the same as for a Discord button. A press refused is
  answered only in the member's DM, with no pointer in the room.
- The answer to a press on the live panel edits it in place (`m.replace` with
  `m.new_content`, also in encrypted rooms); any other post of the panel is a new message, and
  the previous one is edited to drop its reactions list (retired): a reaction on it is refused
  privately (`retired_refusal`).
- After a press, the member's reaction is withdrawn when the bot may redact it (power to
  redact others' events), so the same button can be pressed again with one click; without
  that power the member clicks the reaction off and on again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol

from bot.adapters.matrix.sending import Sender, txn_id
from bot.adapters.panels import PanelBoard, retired_refusal
from bot.adapters.state import AdapterStore
from bot.core.dispatch import Incoming
from bot.core.errors import DeliveryError
from bot.core.message import Message
from bot.platform import Host

log = logging.getLogger("circlebot.matrix")


class MessageSender(Protocol):
    """Sending a rendered message into a room (`MatrixAdapter.send_message`)."""

    async def send_message(
        self,
        room_id: str,
        message: Message,
        *,
        reader: str | None,
        key: str | None = None,
        relates: dict[str, Any] | None = None,
        replaces: str | None = None,
    ) -> str | None:
        """Send into a room; `reader` is the actor key whose time zone renders the moments;
        `relates` is the `m.relates_to` of every event sent; `replaces`: an edit of that event
        instead. Returns the event ids, space-separated."""


class PanelOutlet(MessageSender, Protocol):
    """What panels ask of the adapter."""

    app: Host
    sender: Sender

    @property
    def state(self) -> AdapterStore:
        """Where the adapter keeps what outlives a restart."""


class MatrixPanels:
    """The live and retired panels of one Matrix account, and presses by reaction."""

    def __init__(self, outlet: PanelOutlet) -> None:
        self.outlet = outlet
        self.board = PanelBoard(outlet.state)

    async def show(
        self,
        room_id: str,
        message: Message,
        *,
        relates: dict[str, Any] | None,
        pressed: str | None,
    ) -> str | None:
        """Post `message` (a panel) in a room, or edit the panel whose reaction was pressed;
        returns the ids of the events showing it (space-separated), None when none was sent.

        Raises:
            DeliveryError: the homeserver refused the post or the edit.
        """
        panel = message.panel or ""
        await self.board.load(room_id)
        live = self.board.live(room_id, panel)
        if (
            pressed is not None
            and (live is None or live.message_id == pressed)
            and not self.board.is_retired(pressed)
        ):
            await self.outlet.send_message(room_id, message, reader=None, replaces=pressed)
            self.board.show(room_id, panel, pressed, message)
            await self.board.save(room_id)
            await self.offer_reactions(room_id, pressed, message, live.message if live else None)
            return pressed
        sent = await self.outlet.send_message(room_id, message, reader=None, relates=relates)
        if sent is None:
            return None
        event_id = sent.split()[0]
        previous = self.board.show(room_id, panel, event_id, message)
        await self.board.save(room_id)
        await self.offer_reactions(room_id, event_id, message, None)
        if previous is not None and previous.message.text and previous.message.actions:
            try:
                await self.outlet.send_message(
                    room_id,
                    replace(previous.message, actions=()),
                    reader=None,
                    replaces=previous.message_id,
                )
            except DeliveryError as exc:
                log.warning("could not retire an earlier panel: %s", exc)
        return sent

    async def offer_reactions(
        self, room_id: str, event_id: str, message: Message, shown: Message | None
    ) -> None:
        """The bot's own reaction with each button's emoji on the event (those `shown` there
        already aside), so a member presses one by clicking it; a failure is only logged."""
        offered = {a.emoji for a in shown.actions} if shown is not None else set()
        for action in message.actions:
            if not action.emoji or action.emoji in offered:
                continue
            relation = {"rel_type": "m.annotation", "event_id": event_id, "key": action.emoji}
            try:
                await self.outlet.sender.send_event(
                    room_id,
                    {"m.relates_to": relation},
                    txn_id(f"{event_id}|{action.emoji}"),
                    "m.reaction",
                )
            except DeliveryError as exc:  # already there (after a restart) or refused
                log.info("no reaction %s offered on a panel: %s", action.emoji, exc)

    async def on_reaction(
        self,
        incoming: Callable[[], Awaitable[Incoming]],
        room_id: str,
        reaction_id: str,
        reacts_to: str,
        key: str,
    ) -> bool:
        """A member's reaction: a press when it is a button of a panel message. `incoming`
        builds the member's `Incoming` for it. False when it is not (chat, or a button of a
        post that is not a panel, for its owner to read)."""
        await self.board.load(room_id)
        action_id = self.board.action_for(reacts_to, key)
        if action_id is None:
            return False
        pressing = await incoming()
        dispatcher = self.outlet.app.dispatcher
        if self.board.is_retired(reacts_to):
            await dispatcher.context(pressing)  # in the member's language
            await pressing.responder.reply(retired_refusal(), ephemeral=True)
        else:
            await dispatcher.handle_action(pressing, action_id)
        try:
            await self.outlet.sender.redact(room_id, reaction_id)
        except DeliveryError as exc:
            log.info("the reaction that pressed a button stays (cannot redact it): %s", exc)
        return True
