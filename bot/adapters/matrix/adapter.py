"""The Matrix adapter: one nio client, a sync loop that never blocks, and careful sending.

Reliability rules, each with a test in tests/e2e/test_matrix_*.py; the parts live by concern:
- `sync`: the sync token and the ids of handled events are saved before handlers start, so a
  restart or a re-delivered event never runs a command twice; handlers run as tasks (one lane
  per member and room, so answers stay in order); shutdown waits for running handlers.
- `sending`: 429 / M_LIMIT_EXCEEDED pauses every send for `retry_after_ms`; at most a few
  sends are in flight, so an announcement burst is paced instead of lost. Connection errors (a
  homeserver restart) are retried with backoff, in the sync loop and in sends. An encrypted
  room is refused (with a log line saying why) when the bot cannot encrypt for anyone in it.
- `direct`: private content goes only to direct rooms.
- `communities`: which community a room belongs to, and members' tiers from power levels.
- `responder`, `files`, `login`, `state`, `render`, `incoming`: replies (linked to the command,
  in its thread), files members send, logging in, what is kept across restarts, outgoing and
  incoming content.
- `typing_notice`: a command that takes a while shows the bot typing until it answers.
- `upgrades`: a room upgrade is followed to the replacement room, with what named the old one.

This module wires them together and turns events into the core's `Incoming`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from nio import AsyncClientConfig, InviteInfo, InviteMemberEvent, JoinResponse

from bot.adapters.matrix.communities import Communities, CommunityRef, tier_for
from bot.adapters.matrix.delivered import MARKER_KEY, find_delivery, marker, piece_txn
from bot.adapters.matrix.direct import DirectRooms
from bot.adapters.matrix.files import MatrixFile, run_with_file
from bot.adapters.matrix.incoming import Origin
from bot.adapters.matrix.login import login
from bot.adapters.matrix.panels import MatrixPanels
from bot.adapters.matrix.reactions import LivePosts
from bot.adapters.matrix.render import edit_content, pointer_content, text_content, when_renderer
from bot.adapters.matrix.responder import ChannelReadResponder, MatrixResponder
from bot.adapters.matrix.sending import SEND_SLOTS, RelatingClient, Sender, txn_id
from bot.adapters.matrix.state import StateStore
from bot.adapters.matrix.sync import SyncLoop
from bot.adapters.matrix.typing_notice import typing_while_working
from bot.adapters.matrix.upgrades import RoomUpgrades
from bot.core.dispatch import Incoming
from bot.core.errors import DeliveryError
from bot.core.identity import Actor, Place
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.i18n import _, current_language
from bot.lease import Lease
from bot.outbox import Target
from bot.platform import Capabilities, Host, PlatformDefaults
from bot.safety import clean

__all__ = ["CommunityRef", "MatrixAdapter", "MatrixFile", "tier_for", "txn_id"]

log = logging.getLogger("circlebot.matrix")

PLATFORM = "matrix"


class MatrixAdapter(LivePosts, PlatformDefaults):
    """Connects the core to one Matrix account; also the outbox's Matrix transport."""

    platform = PLATFORM
    capabilities = Capabilities(
        logs_in=True, finds_sent=True, retracts=True, edits=True, delivery_slots=SEND_SLOTS
    )

    def __init__(self, app: Host) -> None:
        self.app = app
        self.config = app.config.matrix
        self.prefix = self.config.command_prefix
        self.state = StateStore(app.db.sessions)
        self.store_path = Path(self.config.store_path)
        self.client = RelatingClient(
            self.config.homeserver,
            self.config.user_id,
            device_id=self.config.device_id or None,
            store_path=str(self.store_path),
            config=AsyncClientConfig(
                encryption_enabled=True,
                store_sync_tokens=False,  # our token lives in the database with handled ids
                max_limit_exceeded=0,  # 429s come back to us: we pause every send, not one
                max_timeouts=0,  # connection errors come back to us: stop-aware backoff
            ),
        )
        self.dms = DirectRooms(self.client, self.wait_until, encrypt=self.config.encrypt_dms)
        self.communities = Communities(self.client, self.config, self.dms, self.state)
        self.sync = SyncLoop(
            self.client, self.state, self.dms, self.communities, self, self.prefix
        )
        self.sender = Sender(self.client, self.wait_until)
        self.panels = MatrixPanels(self)
        self._staying = OrderedDict()
        self.show_panel = self.panels.show
        self.ready = self.sync.ready
        # key -> pieces a lookup found sent (index -> event id), for the send that follows
        self._posted_pieces: dict[str, dict[int, str]] = {}
        self.upgrades = RoomUpgrades(self.client, self.communities, self.state, app, PLATFORM)

    @property
    def direct(self) -> dict[str, list[str]]:
        """m.direct: Matrix user id -> that member's DM room ids with the bot."""
        return self.dms.direct

    async def wait_until(self, predicate: Callable[[], bool], within_seconds: float) -> bool:
        """Wait (across syncs) until `predicate()` holds; False after `within_seconds`."""
        return await self.sync.wait_until(predicate, within_seconds)

    def is_dm(self, room_id: str) -> bool:
        """Rooms in our m.direct account data are DMs."""
        return self.dms.is_dm(room_id)

    def community_of(self, room_id: str) -> CommunityRef | None:
        """A configured community containing the room, else the room alone; DMs have none."""
        return self.communities.of(room_id)

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Log in, sync until `stop`, then let running handlers finish and close. On PostgreSQL
        one process at a time runs the account; another waits to take over (bot/lease.py)."""
        self.app.add_transport(self)
        self.store_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        lease = Lease(self.app.db.url, self.app.db.schema, f"matrix:{self.config.user_id}")
        async with lease.running(stop, self.app.config.scheduler.leader_poll_seconds) as ending:
            try:
                if stop.is_set():
                    return
                await login(self.client, self.config, self.state)
                await self.state.load_handled()
                self.sync.since = await self.state.get("sync_token")
                await self.dms.load()
                await self.upgrades.load()
                await self.communities.load_spaces()
                await self.sync.run(ending)  # a fatal sync error (revoked token) surfaces here
            finally:
                await self.sync.finish()
                await self.client.close()

    async def on_ready(self) -> None:
        """What came due while we were connecting goes out now, not at the next retry."""
        report = await self.app.outbox.deliver_due()
        if report.sent or report.failed:
            log.info("outbox after connecting: %s", report)

    # -- sending -----------------------------------------------------------------------------

    @property
    def can_send(self) -> bool:
        """True once the first sync ran (the outbox waits until then)."""
        return self.ready.is_set()

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str | None:
        """Outbox delivery; the key becomes the txn id, so a resend from the same device is
        dropped by the homeserver. Returns the event ids of the pieces sent, space-separated."""
        if not self.ready.is_set():
            raise DeliveryError("Matrix is not connected yet")
        if target.is_dm:
            return await self.send_dm(target.platform_id, message, key=idempotency_key)
        room_id = await self.upgrades.current_room(target.platform_id)
        sent = await self.send_message(room_id, message, reader=None, key=idempotency_key)
        return await self.add_reactions(room_id, sent, message)

    async def retract(self, target: Target, message_id: str) -> None:
        """Redact an event the bot sent (see `Sender.redact`)."""
        if not self.ready.is_set():
            raise DeliveryError("Matrix is not connected yet")
        room_id = (
            await self.dms.room_for(target.platform_id) if target.is_dm else target.platform_id
        )
        await self.sender.redact(room_id, message_id)

    async def find_sent(self, target: Target, idempotency_key: str, since: datetime) -> str | None:
        """After a crash between send and mark: the event ids of every piece this outbox item
        already sent, space-separated in order (what `retract` needs), else None; see
        `bot.adapters.matrix.delivered` (and what stays uncertain there). If only its text
        arrived, the following `send` sends only the file (and answers with both ids).

        Raises:
            DeliveryError: not connected, or the homeserver failed to answer.
        """
        if not self.ready.is_set():
            raise DeliveryError("Matrix is not connected yet")
        room_id = self.dms.existing(target.platform_id) if target.is_dm else target.platform_id
        if room_id is None:
            return None  # no DM room yet: nothing can have been sent there
        found = await find_delivery(self.client, room_id, idempotency_key, since)
        if found.last is None and found.pieces:
            self._posted_pieces[idempotency_key] = dict(found.pieces)
        return found.ids

    async def dm_room(self, user_id: str) -> str:
        """The member's direct room with the bot: found in m.direct, or created (encrypted)."""
        return await self.dms.room_for(user_id)

    async def send_dm(
        self, user_id: str, message: Message, *, key: str | None = None
    ) -> str | None:
        """Send privately; refuses rooms it cannot encrypt for rather than leak."""
        room_id = await self.dms.room_for(user_id)
        return await self.send_message(room_id, message, reader=f"{PLATFORM}:{user_id}", key=key)

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
        """Render (in the reader's zone) and send text, then the attachment if any; returns
        the ids of the events sent, space-separated (None when none was). A keyed (outbox)
        send marks every piece (`delivered.marker`) and skips pieces a lookup found already
        sent. `relates` (an answer's link to its command, `Origin.relation`) becomes every
        piece's `m.relates_to`; `replaces`: the text is an edit of that event instead."""
        message = clean(message)
        if message.ping_role:
            log.info("ping_role is ignored on Matrix: the bot never pings")
        base = key or uuid.uuid4().hex
        zone = await self._zone(room_id, reader)
        render_when = when_renderer(zone, self.app.clock.now(), current_language())
        content = text_content(message, render_when, self.prefix)
        if replaces is not None and content is not None:
            content, relates = edit_content(content, replaces), None
        pieces = [p for p, there in (("text", content), ("file", message.attachment)) if there]
        posted = self._posted_pieces.pop(key, {}) if key else {}
        ids: list[str] = []
        for index, piece in enumerate(pieces):
            if index in posted:
                ids.append(posted[index])  # so retract takes back the whole delivery
                continue
            extra: dict[str, Any] = {MARKER_KEY: marker(key, index, len(pieces))} if key else {}
            if relates is not None:
                extra["m.relates_to"] = relates
            txn = piece_txn(base, piece)
            if content is not None and piece == "text":
                ids.append(await self.sender.send_event(room_id, {**content, **extra}, txn))
            elif message.attachment is not None:
                ids.append(await self.sender.send_file(room_id, message.attachment, txn, extra))
        return " ".join(ids) or None

    async def send_notice(
        self, room_id: str, text: str, *, relates: dict[str, Any] | None = None
    ) -> None:
        """A short plain notice (pointers, calm status lines); `relates` as in `send_message`."""
        content = pointer_content(text)
        if relates is not None:
            content = {**content, "m.relates_to": relates}
        await self.sender.send_event(room_id, content, txn_id(uuid.uuid4().hex))

    async def _zone(self, room_id: str, reader: str | None) -> ZoneInfo:
        zone: str | None = None
        if reader is not None:
            zone = (await self.app.members.profile(reader)).timezone
        if zone is None:
            user = reader.split(":", 1)[1] if reader else ""
            ref = await self.communities.of_dm(user) if self.is_dm(room_id) else None
            ref = ref or self.community_of(room_id)
            if ref is not None:
                info = await self.app.members.community(
                    PLATFORM, ref.id, ref.name, timezone=self.app.config.bot.timezone
                )
                zone = info.timezone
        return ZoneInfo(zone or self.app.config.bot.timezone)

    async def tell_unreadable(self, sender: str, room_name: str) -> None:
        """Tell a sender privately that their message in a community room was unreadable."""
        try:
            await self.send_dm(
                sender,
                Message.coerce(
                    _(
                        "I couldn't read a message you sent in {room}: it was encrypted with "
                        "a key your app never shared with me. If it was meant for me, please "
                        "send it again (your app may need to verify my session first)."
                    ).format(room=room_name)
                ),
            )
        except DeliveryError as exc:
            log.warning("could not tell a sender their message was unreadable: %s", exc)

    async def ask_resend(self, room_id: str) -> None:
        """Ask the member, in their DM, to send an unreadable message again."""
        await self.send_notice(
            room_id,
            _(
                "I couldn't read your last message: it was encrypted with a key I didn't "
                "receive. Could you send it again?"
            ),
        )

    # -- events ------------------------------------------------------------------------------

    async def on_invite(self, room_id: str, info: InviteInfo) -> None:
        """Join an invite from an allowed server; remember a DM invite in m.direct."""
        inviter, is_direct = "", False
        for event in info.invite_state:
            if (
                isinstance(event, InviteMemberEvent)
                and event.state_key == self.client.user_id
                and event.membership == "invite"
            ):
                inviter = event.sender
                is_direct = bool(event.content.get("is_direct"))
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        allowed = set(self.config.allowed_servers) or {self.client.user_id.split(":", 1)[1]}
        if server not in allowed:
            log.info("declining an invite from server %r (not in allowed_servers)", server)
            await self.client.room_leave(room_id)
            return
        response = await self.client.join(room_id)
        if not isinstance(response, JoinResponse):
            log.warning("could not join an invited room: %s", response)
            return
        log.info("joined a room after an invite (direct: %s)", is_direct)
        self.communities.left.discard(room_id)
        ref = None if is_direct else self.community_of(room_id)
        if ref is not None:  # added back to a community it was removed from: keep it
            await self.app.community_returned(PLATFORM, ref.id)
        if is_direct:
            await self.dms.mark(inviter, room_id)

    async def on_rejoined(self, room_id: str) -> None:
        """Back in a room it had left this run: its community is kept."""
        ref = self.community_of(room_id)
        if ref is not None:
            await self.app.community_returned(PLATFORM, ref.id)

    async def on_upgraded(self, old_room: str, new_room: str) -> bool:
        """Follow a room upgrade (see `bot.adapters.matrix.upgrades`)."""
        return await self.upgrades.follow(old_room, new_room)

    async def on_removed(self, room_id: str, kicker: str | None) -> None:
        """Removed from a room: when no room of its community is left, the community counts
        as removed (data kept for the configured days); whoever removed the bot is told."""
        if self.is_dm(room_id):
            return
        community_id = self.communities.id_of_left(room_id)
        if self.communities.rooms(community_id):
            return  # still in another room of that community
        notice = await self.app.community_removed(PLATFORM, community_id)
        if notice is None or kicker is None:
            return
        try:
            await self.send_dm(kicker, Message.coerce(notice))
        except DeliveryError as exc:
            log.warning("could not tell who removed the bot what happens next: %s", exc)

    async def on_plain(self, room_id: str, sender: str, body: str) -> None:
        """Plain chat in a community room, handed to the core's channel readers only."""
        community = self.community_of(room_id)
        if community is None:
            return
        room = self.client.rooms.get(room_id)
        actor = Actor(PLATFORM, sender, (room.user_name(sender) or "") if room else "")
        place = Place(
            PLATFORM, room_id, community.id, False, room.display_name if room else room_id
        )
        incoming = Incoming(
            actor=actor,
            place=place,
            tier=Tier.MEMBER,  # the watch needs no tier; a match builds the member's context
            responder=ChannelReadResponder(self, actor, place),
            community_name=community.name,
        )
        await self.app.dispatcher.read_channel(incoming, body)

    async def on_text(
        self,
        room_id: str,
        sender: str,
        body: str,
        reply_to: str = "",
        origin: Origin | None = None,
    ) -> None:
        """One command (or DM answer) from a member, handed to the core; answers in the room
        are linked to `origin` (its event), and a slow one shows the bot typing meanwhile."""

        async def set_typing(typing: bool, timeout_ms: int) -> Any:
            return await self.client.room_typing(room_id, typing, timeout=timeout_ms)

        async with typing_while_working(set_typing):
            incoming = await self._incoming(room_id, sender, origin)
            if reply_to and await run_with_file(self.app, self.client, incoming, body, reply_to):
                return
            await self.app.dispatcher.handle_text(incoming, body, self.prefix)

    async def on_reaction(
        self, room_id: str, sender: str, event_id: str, reacts_to: str, key: str
    ) -> None:
        """A reaction in a community room: a press when it is on a panel's button."""
        incoming = partial(self._incoming, room_id, sender, pressed=reacts_to)
        if not await self.panels.on_reaction(incoming, room_id, event_id, reacts_to, key):
            await self.on_live_reaction(room_id, sender, event_id, reacts_to, key)

    async def on_edit(self, room_id: str, sender: str, body: str) -> None:
        """An edited DM: answers are taken as first sent, so the member is told the edit
        changed nothing; its new words still reach the crisis check."""
        incoming = await self._incoming(room_id, sender)
        dispatcher = self.app.dispatcher
        ctx = await dispatcher.context(incoming)
        if await dispatcher.text_checks.run(ctx, body.strip(), await dispatcher.dm_source(ctx)):
            return  # a caring answer went out; no notice about edits after it
        await ctx.reply(
            _(
                "I saw that you edited a message. I keep each message as you first sent it, so "
                "the edit did not change anything I saved. To change a dialogue answer, type "
                "`back` and send it again."
            )
        )

    async def _incoming(
        self, room_id: str, sender: str, origin: Origin | None = None, pressed: str | None = None
    ) -> Incoming:
        """Who wrote in which room, with their tier, as the core needs it; answers are linked
        to `origin` when given; `pressed`: a reaction on that event pressed a button."""
        room = self.client.rooms.get(room_id)
        actor = Actor(PLATFORM, sender, (room.user_name(sender) or "") if room else "")
        is_dm = self.is_dm(room_id)
        community = await self.communities.of_dm(sender) if is_dm else self.community_of(room_id)
        if not is_dm and community is not None:
            await self.state.set_recent_community(sender, community.id)
        place = Place(
            PLATFORM,
            room_id,
            community.id if community else None,
            is_dm,
            room.display_name if room else room_id,
        )
        return Incoming(
            actor=actor,
            place=place,
            tier=await self._tier(sender, room_id, community, is_dm),
            responder=MatrixResponder(self, actor, place, origin, pressed=pressed),
            community_name=community.name if community else "",
        )

    # -- tiers and rooms ---------------------------------------------------------------------

    async def _bindings(self, community: CommunityRef | None) -> dict[str, int]:
        if community is None:
            return {}
        info = await self.app.members.community(
            PLATFORM, community.id, community.name, timezone=self.app.config.bot.timezone
        )
        return await self.app.members.bindings(info.id)

    async def _tier(
        self, user_id: str, room_id: str, community: CommunityRef | None, is_dm: bool
    ) -> Tier:
        level = await self.communities.level(user_id, room_id, community, is_dm)
        return self.communities.tier(level, await self._bindings(community), user_id)

    async def members_can_read(self, place: Place) -> str | None:
        """Who below moderator can read a room (None: moderators and the bot only); see
        `Communities.who_can_read`."""
        room = self.client.rooms.get(place.id)
        if room is None or place.is_dm:
            return _("I have not joined that room; invite me there first.")
        community = self.community_of(place.id)
        return await self.communities.who_can_read(room, lambda: self._bindings(community))

    async def cannot_post(self, place: Place) -> str | None:
        """Why the bot cannot post in a room: not joined, or a power level below what the
        room asks for the events it sends; None when it can."""
        me = self.client.user_id
        room = self.client.rooms.get(place.id)
        if room is None or me not in room.users or me in room.invited_users:
            return _("I have not joined that room; invite me there first.")
        event_type = "m.room.encrypted" if room.encrypted else "m.room.message"
        needed = room.power_levels.get_message_event_required_level(event_type)
        level = await self.communities.power_level(room, me)
        if level < needed:
            return _(
                "Sending messages there needs power level {needed} and mine is {level}."
            ).format(needed=needed, level=level)
        return None

    # -- resolving typed names (see `Communities.resolve_actor`, `resolve_place`) ------------

    def resolve_actor(self, room_id: str, text: str) -> Actor | None:
        """A Matrix id, or a display name that is unique in the room."""
        return self.communities.resolve_actor(room_id, text)

    async def resolve_place(self, here: Place, text: str) -> Place | None:
        """A room id or alias of a joined room in the same community."""
        return await self.communities.resolve_place(here, text)
