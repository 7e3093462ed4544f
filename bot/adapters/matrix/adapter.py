"""The Matrix adapter: one nio client, a sync loop that never blocks, and careful sending.

Reliability rules, each with a test in tests/e2e/test_matrix_*.py:
- The sync token and the ids of handled events are saved before handlers start, so a restart
  or a re-delivered event never runs a command twice.
- Handlers run as tasks (one lane per member and room, so answers stay in order); the sync
  loop only sorts events. Shutdown waits for running handlers.
- 429 / M_LIMIT_EXCEEDED pauses every send for `retry_after_ms`; at most a few sends are in
  flight, so an announcement burst is paced instead of lost. Connection errors (a homeserver
  restart) are retried with backoff, in the sync loop and in sends.
- Private content goes only to direct rooms; an encrypted room is refused (with a log line
  saying why) when the bot cannot encrypt for anyone in it.

Tiers: the member's power level in the room (for a DM: their highest level in the community's
rooms) against `matrix.facilitator_power` / `matrix.moderator_power`. Moderators' bindings
override that: a binding whose role id is a Matrix user id (`@ana:example.org`) sets that
person's tier outright; bindings named `power:N` replace the config thresholds (the tier of the
highest N at or below the member's level; member when none applies).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DirectRoomsResponse,
    InviteInfo,
    InviteMemberEvent,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    MemoryDownloadResponse,
    RoomCreateResponse,
    RoomEncryptedMedia,
    RoomGetEventResponse,
    RoomGetStateResponse,
    RoomMemberEvent,
    RoomMessageMedia,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    SyncError,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError, OlmUnverifiedDeviceError, SendRetryError

from bot.adapters.matrix.incoming import read_text
from bot.adapters.matrix.render import file_content, pointer_content, text_content, when_renderer
from bot.adapters.matrix.state import Session, StateStore
from bot.app import App, StartupError
from bot.core.commands import OptionType
from bot.core.convert import bind_text
from bot.core.dispatch import Incoming
from bot.core.errors import ArgumentError, DeliveryError
from bot.core.identity import Actor, Place
from bot.core.message import Attachment, Message
from bot.core.permissions import Tier
from bot.i18n import _, current_language
from bot.outbox import Target
from bot.safety import clean

log = logging.getLogger("circlebot.matrix")

PLATFORM = "matrix"
SYNC_FILTER: dict[str, Any] = {
    "room": {"timeline": {"limit": 50}, "state": {"lazy_load_members": False}},
    "presence": {"types": []},
}
SYNC_TIMEOUT_MS = 30_000
STALE_AFTER_S = 600.0  # commands older than this (bot was down) are not run late
SEND_DEADLINE_S = 90.0  # how long a send keeps retrying a homeserver that is away
RATE_LIMIT_CAP_S = 120.0  # total 429 pauses one send accepts before it is given up as failed
SEND_SLOTS = 3  # sends in flight at once; the rest queue (pacing)
ROOM_WAIT_S = 10.0  # how long to wait for a new room to show up in sync
DM_JOIN_WAIT_S = 5.0  # how long to wait for a member to join a new DM before the first send
UNREADABLE_NOTICE_EVERY_S = 3600.0  # a member is told of unreadable room messages hourly
UNDECRYPTABLE_WAIT_S = 30.0  # keys usually follow within a sync; then we ask to resend
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.25, 5.0
SHUTDOWN_WAIT_S = 10.0
CREATOR_POWER_VERSION = 12  # room versions from here on give creators unlimited power
CREATOR_POWER = 2**53 - 1  # "infinite", above any level in m.room.power_levels


@dataclass(frozen=True)
class CommunityRef:
    """A configured community (space or room set), or one room standing alone."""

    id: str
    name: str


@dataclass(frozen=True)
class MatrixFile:
    """A file a command replied to; downloaded (and decrypted) only when the core reads it."""

    client: AsyncClient
    url: str
    filename: str
    size: int  # from the event's info; 0 when missing (the core checks the bytes too)
    content_type: str | None
    encryption: dict[str, Any] | None = None  # key, hashes and iv of an encrypted file

    async def read(self) -> bytes:
        """The file's bytes from the homeserver."""
        response = await self.client.download(mxc=self.url)
        if not isinstance(response, MemoryDownloadResponse):
            raise ArgumentError(_("I couldn't fetch that file from the server. Please try again."))
        if self.encryption is None:
            return bytes(response.body)
        try:
            return bytes(
                decrypt_attachment(
                    response.body,
                    self.encryption["key"]["k"],
                    self.encryption["hashes"]["sha256"],
                    self.encryption["iv"],
                )
            )
        except (EncryptionError, KeyError, TypeError):
            raise ArgumentError(
                _("I couldn't decrypt that file. Please upload it again.")
            ) from None


def txn_id(key: str) -> str:
    """A Matrix transaction id from an idempotency key: a resend is dropped by the server."""
    return "cb" + hashlib.sha256(key.encode()).hexdigest()[:40]


class MatrixResponder:
    """Answers one event; an ephemeral reply in a room goes to the DM with a short pointer."""

    points_to_dm = True  # private replies and DMs already leave a pointer in the room

    def __init__(self, adapter: MatrixAdapter, actor: Actor, place: Place) -> None:
        self.prefix = adapter.prefix
        self._adapter = adapter
        self._actor = actor
        self._place = place
        self._pointed = False

    async def reply(self, message: Message, *, ephemeral: bool) -> None:
        if self._place.is_dm:
            await self._adapter.send_message(self._place.id, message, reader=self._actor.key)
        elif ephemeral:
            await self._private(message)
        else:
            await self._adapter.send_message(self._place.id, message, reader=None)

    async def _private(self, message: Message) -> None:
        try:
            await self._adapter.send_dm(self._actor.id, message)
        except DeliveryError as exc:
            log.warning("private reply not delivered, pointing the member to it: %s", exc)
            await self._adapter.send_notice(
                self._place.id,
                _(
                    "I couldn't send you a private reply just now. Please check that you "
                    "accept direct messages from me, then try again."
                ),
            )
            return
        await self._point()

    async def _point(self) -> None:
        """One pointer in the room per command, however many private messages follow."""
        if not self._place.is_dm and not self._pointed:
            self._pointed = True
            try:
                await self._adapter.send_notice(
                    self._place.id, _("I've sent you a private reply.")
                )
            except DeliveryError as exc:  # the private reply itself did arrive
                log.warning("no pointer in the room: %s", exc)

    async def dm(self, message: Message) -> None:
        await self._adapter.send_dm(self._actor.id, message)
        await self._point()

    async def defer(self, *, ephemeral: bool) -> None:
        return None  # text platforms have no reply deadline

    async def resolve_actor(self, text: str) -> Actor | None:
        return self._adapter.resolve_actor(self._place.id, text)

    async def resolve_place(self, text: str) -> Place | None:
        return await self._adapter.resolve_place(self._place, text)

    async def can_post(self, place: Place) -> str | None:
        """Joined, and a power level at least what the room asks for the events we send."""
        adapter = self._adapter
        me = adapter.client.user_id
        room = adapter.client.rooms.get(place.id)
        if room is None or me not in room.users or me in room.invited_users:
            return _("I have not joined that room; invite me there first.")
        event_type = "m.room.encrypted" if room.encrypted else "m.room.message"
        needed = room.power_levels.get_message_event_required_level(event_type)
        level = await adapter._power_level(room, me)
        if level < needed:
            return _(
                "Sending messages there needs power level {needed} and mine is {level}."
            ).format(needed=needed, level=level)
        return None

    async def members_can_read(self, place: Place) -> str | None:
        return await self._adapter.members_can_read(place)


class ChannelReadResponder(MatrixResponder):
    """Answers plain chat read by channel watch: only in the member's DM, never in the room
    (no pointer either); a DM that cannot be sent raises `DeliveryError`."""

    async def reply(self, message: Message, *, ephemeral: bool) -> None:
        await self.dm(message)

    async def dm(self, message: Message) -> None:
        await self._adapter.send_dm(self._actor.id, message)


class MatrixAdapter:
    """Connects the core to one Matrix account; also the outbox's Matrix transport."""

    platform = PLATFORM

    def __init__(self, app: App) -> None:
        self.app = app
        self.config = app.config.matrix
        self.prefix = self.config.command_prefix
        self.state = StateStore(app.db.sessions)
        self.store_path = Path(self.config.store_path)
        self.client = AsyncClient(
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
        self.ready = asyncio.Event()
        self.direct: dict[str, list[str]] = {}  # m.direct: user id -> DM room ids
        self._since: str | None = None
        self._synced = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._joining: set[str] = set()
        self._dm_locks: dict[str, asyncio.Lock] = {}
        self._send_slots = asyncio.Semaphore(SEND_SLOTS)
        self._paused_until = 0.0
        self._space_children: dict[str, set[str]] = {}
        self._room_creators: dict[str, set[str]] = {}
        self._undecrypted: dict[str, tuple[MegolmEvent, float]] = {}
        self._told_unreadable: dict[str, float] = {}  # sender -> monotonic time told
        self._left: set[str] = set()  # rooms the bot was removed from (or left) this run

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Log in, sync until `stop`, then let running handlers finish and close."""
        self.app.add_transport(self)
        self.store_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            await self._login()
            await self.state.load_handled()
            self._since = await self.state.get("sync_token")
            await self._load_direct()
            await self._load_spaces()
            syncing = asyncio.create_task(self._sync_loop(stop))
            stopping = asyncio.create_task(stop.wait())
            done, _pending = await asyncio.wait(
                {syncing, stopping}, return_when=asyncio.FIRST_COMPLETED
            )
            stopping.cancel()
            if syncing in done:
                syncing.result()  # a fatal sync error (revoked token) surfaces here
            else:
                await syncing
        finally:
            await self._finish_tasks()
            await self.client.close()

    async def _finish_tasks(self) -> None:
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_WAIT_S)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d Matrix handler(s) still running at shutdown", len(pending))

    async def _login(self) -> None:
        """Token from config, else the saved session, else the password (same device id)."""
        cfg = self.config
        saved = await self.state.load_session()
        if saved is not None and saved.user_id != cfg.user_id:
            saved = None
        token = cfg.resolved_token()
        if token:
            device_id = cfg.device_id or (
                saved.device_id if saved and saved.access_token == token else ""
            )
            self.client.access_token = token  # whoami needs it before restore_login
            if not device_id:
                who = await self.client.whoami()
                if not isinstance(who, WhoamiResponse) or not who.device_id:
                    raise StartupError(f"matrix.access_token was not accepted: {who}")
                device_id = who.device_id
            self.client.restore_login(cfg.user_id, device_id, token)
            await self.state.save_session(Session(cfg.user_id, device_id, token))
            log.info("logged in to Matrix with an access token (device %s)", device_id)
            return
        if saved is not None:
            self.client.restore_login(saved.user_id, saved.device_id, saved.access_token)
            if isinstance(await self.client.whoami(), WhoamiResponse):
                log.info("reusing the saved Matrix session (device %s)", saved.device_id)
                return
            log.warning("the saved Matrix session is no longer valid; logging in again")
            self.client.access_token = ""
        self.client.device_id = cfg.device_id or (saved.device_id if saved else None)
        response = await self.client.login(
            cfg.resolved_password(), device_name=cfg.device_name or "circlebot"
        )
        if not isinstance(response, LoginResponse):
            raise StartupError(
                f"Matrix login as {cfg.user_id} failed: {getattr(response, 'message', response)}"
            )
        await self.state.save_session(
            Session(response.user_id, response.device_id, response.access_token)
        )
        log.info("logged in to Matrix with a password (device %s)", response.device_id)

    # -- sync --------------------------------------------------------------------------------

    async def _sync_loop(self, stop: asyncio.Event) -> None:
        backoff = BACKOFF_MIN_S
        while not stop.is_set():
            request = asyncio.create_task(
                self.client.sync(
                    timeout=SYNC_TIMEOUT_MS if self.ready.is_set() else 0,  # catch up at once
                    sync_filter=SYNC_FILTER,
                    since=self._since,
                    full_state=self._since is None,
                )
            )
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({request, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not request.done():
                request.cancel()
                return
            try:
                response = request.result()
            except (ClientConnectionError, TimeoutError) as exc:
                log.warning("Matrix homeserver unreachable (%s); retrying", type(exc).__name__)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            if isinstance(response, SyncError):
                if response.status_code == "M_UNKNOWN_TOKEN":
                    raise StartupError("the Matrix access token was revoked; log in again")
                wait = (response.retry_after_ms or 0) / 1000 or backoff
                log.warning("sync failed (%s); retrying in %.1f s", response.status_code, wait)
                await _sleep_or_stop(stop, wait)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_MIN_S
            await self._after_sync(response)

    async def _after_sync(self, response: SyncResponse) -> None:
        """Sort one sync's events; save progress first, then start handlers."""
        first = self._since is None
        await self._crypto_chores()
        for room_id, info in response.rooms.invite.items():
            if room_id not in self._joining:
                self._joining.add(room_id)
                self._spawn(f"invite:{room_id}", partial(self._on_invite, room_id, info))
        if not first:
            for room_id, left in response.rooms.leave.items():
                kicker = next(
                    (
                        e.sender
                        for e in left.timeline.events
                        if isinstance(e, RoomMemberEvent)
                        and e.state_key == self.client.user_id
                        and e.membership in ("leave", "ban")
                        and e.sender != self.client.user_id
                    ),
                    None,
                )
                self._left.add(room_id)  # nio keeps a left room in client.rooms
                self._spawn(f"left:{room_id}", partial(self._on_removed, room_id, kicker))
        starts: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        now = time.time()
        reads: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        for room_id, joined in response.rooms.join.items():
            if room_id in self._left:  # invited back and joined again
                self._left.discard(room_id)
                ref = self.community_of(room_id)
                if ref is not None:
                    await self.app.community_returned(PLATFORM, ref.id)
            if any(c.space == room_id for c in self.config.communities):
                await self._load_spaces()
            for event in joined.timeline.events:
                start = None if first else self._wanted(room_id, event, now)
                if start is not None and self.state.claim(event.event_id):
                    starts.append((f"{room_id}|{event.sender}", start))
                elif start is None and not first:
                    # Plain chat, for channel watch: not claimed, so no trace of it is kept.
                    read = self._plain(room_id, event, now)
                    if read is not None:
                        reads.append((f"{room_id}|{event.sender}", read))
        starts.extend(self._retry_undecrypted(now))
        self._since = response.next_batch
        await self.state.save_progress(response.next_batch, handled_changed=bool(starts))
        for lane, start in [*starts, *reads]:
            self._spawn(lane, start)
        async with self._synced:
            self._synced.notify_all()
        if not self.ready.is_set():
            self.ready.set()
            log.info("Matrix sync is running as %s", self.client.user_id)
            self._spawn("outbox", self._flush_outbox)

    async def _crypto_chores(self) -> None:
        """What `sync_forever` would do: keep our keys uploaded and others' keys known."""
        try:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
        except (ClientConnectionError, TimeoutError, LocalProtocolError) as exc:
            log.warning("key maintenance postponed: %s", type(exc).__name__)

    def _wanted(
        self, room_id: str, event: Any, now: float
    ) -> Callable[[], Awaitable[None]] | None:
        """The handler for an event the bot should act on, else None (chat is not read)."""
        if getattr(event, "sender", None) == self.client.user_id:
            return None
        if now - event.server_timestamp / 1000 > STALE_AFTER_S:
            return None
        is_dm = self.is_dm(room_id)
        if isinstance(event, MegolmEvent):
            # Not dropped: the room key is requested, the event retried when it arrives, and
            # the sender told privately if it never does (`_retry_undecrypted`).
            self._undecrypted[event.event_id] = (event, now)
            self._spawn(f"keys:{event.session_id}", partial(self._request_key, event))
            log.warning(
                "could not decrypt an event in a %s yet; room key requested",
                "DM" if is_dm else "community room",
            )
            return None
        if not isinstance(event, RoomMessageText):
            return None
        text = read_text(event.source.get("content", {}))  # without a quoted reply fallback
        if text.replaces:
            # An edit: the original was handled; in a DM the member learns what became of it.
            return partial(self._on_edit, room_id, event.sender, text.body) if is_dm else None
        if not is_dm and not text.body.lstrip().startswith(self.prefix):
            return None
        return partial(self._on_text, room_id, event.sender, text.body, text.reply_to)

    def _plain(self, room_id: str, event: Any, now: float) -> Callable[[], Awaitable[None]] | None:
        """Plain chat in a community room, for channel watch (which reads only where it is
        on); None for anything else."""
        if getattr(event, "sender", None) == self.client.user_id or self.is_dm(room_id):
            return None
        if not isinstance(event, RoomMessageText):
            return None
        text = read_text(event.source.get("content", {}))  # without a quoted reply fallback
        if text.body.lstrip().startswith(self.prefix) or text.replaces:
            return None
        if now - event.server_timestamp / 1000 > STALE_AFTER_S:
            return None
        return partial(self._on_plain, room_id, event.sender, text.body)

    async def _request_key(self, event: MegolmEvent) -> None:
        """Ask the sender's devices for the room key of an event we could not decrypt."""
        try:
            await self.client.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested for this session
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("room key request postponed: %s", type(exc).__name__)

    def _retry_undecrypted(self, now: float) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        """Decrypt events whose room keys arrived late; after a while, tell the sender."""
        starts: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        for event_id, (event, seen) in list(self._undecrypted.items()):
            try:
                decrypted = self.client.decrypt_event(event)
            except (EncryptionError, LocalProtocolError):
                decrypted = None
            lane = f"{event.room_id}|{event.sender}"
            if isinstance(decrypted, RoomMessageText):
                del self._undecrypted[event_id]
                log.info("decrypted an event after its room key arrived")
                text = read_text(decrypted.source.get("content", {}))
                body = text.body
                command = self.is_dm(event.room_id) or body.lstrip().startswith(self.prefix)
                if text.replaces:
                    if self.is_dm(event.room_id) and self.state.claim(event_id):
                        starts.append(
                            (lane, partial(self._on_edit, event.room_id, event.sender, body))
                        )
                elif command and self.state.claim(event_id):
                    starts.append(
                        (lane, partial(self._on_text, event.room_id, event.sender, body))
                    )
                elif not command:
                    starts.append(
                        (lane, partial(self._on_plain, event.room_id, event.sender, body))
                    )
            elif decrypted is not None:
                del self._undecrypted[event_id]  # decrypted, and not text we act on
            elif now - seen > UNDECRYPTABLE_WAIT_S and self.state.claim(event_id):
                del self._undecrypted[event_id]
                if self.is_dm(event.room_id):
                    log.warning("gave up decrypting a DM event; asking the member to resend")
                    starts.append((lane, partial(self._ask_resend, event.room_id)))
                else:
                    log.warning("gave up decrypting a room event; telling the sender privately")
                    starts.append((lane, partial(self._tell_unreadable, event)))
        return starts

    async def _tell_unreadable(self, event: MegolmEvent) -> None:
        """Tell the sender, in a DM and at most once an hour, that a message they sent in a
        community room could not be read (the room key never came)."""
        last = self._told_unreadable.get(event.sender)
        now = time.monotonic()
        if last is not None and now - last < UNREADABLE_NOTICE_EVERY_S:
            return
        self._told_unreadable[event.sender] = now
        room = self.client.rooms.get(event.room_id)
        name = room.display_name if room else event.room_id
        try:
            await self.send_dm(
                event.sender,
                Message.coerce(
                    _(
                        "I couldn't read a message you sent in {room}: it was encrypted with "
                        "a key your app never shared with me. If it was meant for me, please "
                        "send it again (your app may need to verify my session first)."
                    ).format(room=name)
                ),
            )
        except DeliveryError as exc:
            log.warning("could not tell a sender their message was unreadable: %s", exc)

    async def _on_plain(self, room_id: str, sender: str, body: str) -> None:
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

    async def _ask_resend(self, room_id: str) -> None:
        await self.send_notice(
            room_id,
            _(
                "I couldn't read your last message: it was encrypted with a key I didn't "
                "receive. Could you send it again?"
            ),
        )

    def _spawn(self, lane: str, start: Callable[[], Awaitable[None]]) -> None:
        """Run a handler as a task, after the previous one in the same lane (keeps order)."""
        previous = self._lanes.get(lane)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait({previous})
            try:
                await start()
            except Exception:
                log.exception("a Matrix handler failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        self._lanes[lane] = task

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._lanes.get(lane) is finished:
                del self._lanes[lane]

        task.add_done_callback(done)

    async def _flush_outbox(self) -> None:
        """What came due while we were connecting goes out now, not at the next retry."""
        report = await self.app.outbox.deliver_due()
        if report.sent or report.failed:
            log.info("outbox after connecting: %s", report)

    async def wait_until(self, predicate: Callable[[], bool], within: float) -> bool:
        """Wait (across syncs) until `predicate` holds; False on timeout."""
        async with self._synced:
            try:
                await asyncio.wait_for(self._synced.wait_for(predicate), within)
            except TimeoutError:
                return False
        return True

    # -- events ------------------------------------------------------------------------------

    async def _on_invite(self, room_id: str, info: InviteInfo) -> None:
        try:
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
            self._left.discard(room_id)
            ref = None if is_direct else self.community_of(room_id)
            if ref is not None:  # added back to a community it was removed from: keep it
                await self.app.community_returned(PLATFORM, ref.id)
            if is_direct:
                await self._mark_direct(inviter, room_id)
        finally:
            self._joining.discard(room_id)

    async def _on_removed(self, room_id: str, kicker: str | None) -> None:
        """Removed from a room: when no room of its community is left, the community counts
        as removed (data kept for the configured days); whoever removed the bot is told."""
        if self.is_dm(room_id):
            return
        community_id = room_id
        for c in self.config.communities:
            if (
                room_id in c.rooms
                or room_id == c.space
                or room_id in self._space_children.get(c.space, set())
            ):
                community_id = c.id
        if self._community_rooms(community_id):
            return  # still in another room of that community
        notice = await self.app.community_removed(PLATFORM, community_id)
        if notice is None or kicker is None:
            return
        try:
            await self.send_dm(kicker, Message.coerce(notice))
        except DeliveryError as exc:
            log.warning("could not tell who removed the bot what happens next: %s", exc)

    async def _on_text(self, room_id: str, sender: str, body: str, reply_to: str = "") -> None:
        """One command (or DM answer) from a member, handed to the core."""
        incoming = await self._incoming(room_id, sender)
        if reply_to and await self._run_with_file(incoming, body, reply_to):
            return
        await self.app.dispatcher.handle_text(incoming, body, self.prefix)

    async def _on_edit(self, room_id: str, sender: str, body: str) -> None:
        """An edited DM: answers are taken as first sent, so the member is told the edit
        changed nothing; its new words still reach the crisis check."""
        incoming = await self._incoming(room_id, sender)
        dispatcher = self.app.dispatcher
        ctx = await dispatcher.context(incoming)
        if await dispatcher.text_checks.run(ctx, body.strip(), "dm"):
            return  # a caring answer went out; no notice about edits after it
        await ctx.reply(
            _(
                "I saw that you edited a message. I keep each message as you first sent it, so "
                "the edit did not change anything I saved. To change a dialogue answer, type "
                "`back` and send it again."
            )
        )

    async def _incoming(self, room_id: str, sender: str) -> Incoming:
        """Who wrote in which room, with their tier, as the core needs it."""
        room = self.client.rooms.get(room_id)
        actor = Actor(PLATFORM, sender, (room.user_name(sender) or "") if room else "")
        is_dm = self.is_dm(room_id)
        community = await self._dm_community(sender) if is_dm else self.community_of(room_id)
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
            responder=MatrixResponder(self, actor, place),
            community_name=community.name if community else "",
        )

    async def _run_with_file(self, incoming: Incoming, body: str, reply_to: str) -> bool:
        """A command sent as a reply to an uploaded file gets that file as its file option.

        False when the command takes no file or the replied-to event holds none: the text is
        then handled as usual, and a command that needs a file says how to send one.
        """
        line = body.strip()
        resolved = (
            self.app.registry.resolve(line[len(self.prefix) :].split())
            if line.startswith(self.prefix)
            else None
        )
        options = resolved.spec.options if resolved is not None else ()
        option = next((o for o in options if o.type is OptionType.ATTACHMENT), None)
        if resolved is None or option is None:
            return False
        response = await self.client.room_get_event(incoming.place.id, reply_to)
        event = response.event if isinstance(response, RoomGetEventResponse) else None
        if not isinstance(event, RoomMessageMedia | RoomEncryptedMedia):
            return False  # not a file, or one we could not decrypt
        content = event.source.get("content", {})
        info = content.get("info") if isinstance(content.get("info"), dict) else {}
        size = info.get("size")
        file = MatrixFile(
            self.client,
            event.url,
            str(content.get("filename") or event.body or "file"),
            size if isinstance(size, int) else 0,
            info.get("mimetype") if isinstance(info.get("mimetype"), str) else None,
            content.get("file") if isinstance(event, RoomEncryptedMedia) else None,
        )
        rest = line[len(self.prefix) :]
        for _word in range(resolved.consumed):
            parts = rest.lstrip().split(None, 1)
            rest = parts[1] if len(parts) > 1 else ""
        try:
            values: dict[str, Any] = dict(bind_text(resolved.spec, rest))
        except ArgumentError:
            return False  # the dispatcher reads the text again and explains the mistake
        if option.name in values:
            return False
        values[option.name] = file
        await self.app.dispatcher.run(incoming, resolved.spec, values)
        return True

    # -- communities and tiers ---------------------------------------------------------------

    async def _load_spaces(self) -> None:
        """Remember each configured space's child rooms (re-read when the space changes)."""
        for community in self.config.communities:
            if not community.space:
                continue
            try:
                response = await self.client.room_get_state(community.space)
            except (ClientConnectionError, TimeoutError):
                continue
            if not isinstance(response, RoomGetStateResponse):
                log.warning("cannot read the space %s: %s", community.space, response)
                continue
            self._space_children[community.space] = {
                event["state_key"]
                for event in response.events
                if event.get("type") == "m.space.child" and event.get("content")
            }

    def community_of(self, room_id: str) -> CommunityRef | None:
        """A configured community containing the room, else the room alone; DMs have none."""
        if self.is_dm(room_id):
            return None
        for c in self.config.communities:
            children = self._space_children.get(c.space, set())
            if room_id in c.rooms or room_id == c.space or room_id in children:
                return CommunityRef(c.id, c.name or c.id)
        room = self.client.rooms.get(room_id)
        return CommunityRef(room_id, room.display_name if room else room_id)

    def _community_rooms(self, community_id: str) -> list[MatrixRoom]:
        return [
            room
            for room_id, room in self.client.rooms.items()
            if room_id not in self._left
            and (ref := self.community_of(room_id)) is not None
            and ref.id == community_id
        ]

    async def _dm_community(self, user_id: str) -> CommunityRef | None:
        """The community a DM belongs to: shared with the member, the most recent first."""
        shared: dict[str, CommunityRef] = {}
        for room_id, room in self.client.rooms.items():
            ref = self.community_of(room_id)
            if ref is not None and user_id in room.users and room_id not in self._left:
                shared[ref.id] = ref
        recent = await self.state.recent_community(user_id)
        if recent in shared:
            return shared[recent]
        return shared[min(shared)] if shared else None

    async def _tier(
        self, user_id: str, room_id: str, community: CommunityRef | None, is_dm: bool
    ) -> Tier:
        rooms = self._community_rooms(community.id) if community and is_dm else []
        if not is_dm and room_id in self.client.rooms:
            rooms = [self.client.rooms[room_id]]
        level = max(
            [await self._power_level(r, user_id) for r in rooms if user_id in r.users],
            default=0,
        )
        bindings: dict[str, int] = {}
        if community is not None:
            info = await self.app.members.community(
                PLATFORM, community.id, community.name, timezone=self.app.config.bot.timezone
            )
            bindings = await self.app.members.bindings(info.id)
        return tier_for(
            level, bindings, user_id, self.config.facilitator_power, self.config.moderator_power
        )

    async def members_can_read(self, place: Place) -> str | None:
        """Who below moderator can read a room (None: moderators and the bot only).

        The room must be invite-only (not public, not joinable by members of the space), not
        readable without joining, and everyone in it or invited to it must be a moderator by
        power level (or by a moderators' binding).
        """
        room = self.client.rooms.get(place.id)
        if room is None or place.is_dm:
            return _("I have not joined that room; invite me there first.")
        if room.join_rule != "invite":
            return _(
                "Its join rule is “{rule}”: people can join without an invitation. Make it "
                "invite-only (private, not joinable from the space)."
            ).format(rule=room.join_rule)
        if room.history_visibility == "world_readable":
            # (guest access only lets guests join rooms they could join anyway: with an
            # invite-only room that still needs an invitation)
            return _("Anyone can read its history without joining; make it members only.")
        community = self.community_of(place.id)
        bindings: dict[str, int] = {}
        if community is not None:
            info = await self.app.members.community(
                PLATFORM, community.id, community.name, timezone=self.app.config.bot.timezone
            )
            bindings = await self.app.members.bindings(info.id)
        me = self.client.user_id
        for user_id in sorted({*room.users, *room.invited_users} - {me}):
            level = await self._power_level(room, user_id)
            tier = tier_for(
                level,
                bindings,
                user_id,
                self.config.facilitator_power,
                self.config.moderator_power,
            )
            if tier < Tier.MODERATOR:
                return _(
                    "{user} is in it (or invited) with power level {level}, below moderator "
                    "({needed})."
                ).format(user=user_id, level=level, needed=self.config.moderator_power)
        return None

    async def _power_level(self, room: MatrixRoom, user_id: str) -> int:
        """The member's level; room creators outrank everyone from room version 12 on.

        Version 12 rooms (Synapse's default since 1.136) leave creators out of
        `m.room.power_levels` and give them unlimited power; nio 0.26 does not know that.
        """
        legacy = room.room_version.isdigit() and int(room.room_version) < CREATOR_POWER_VERSION
        if not legacy and user_id in await self._creators(room.room_id):
            return CREATOR_POWER
        return int(room.power_levels.get_user_level(user_id))

    async def _creators(self, room_id: str) -> set[str]:
        if room_id not in self._room_creators:
            response = await self.client.room_get_state(room_id)
            if not isinstance(response, RoomGetStateResponse):
                return set()  # not cached: asked again next time
            creators: set[str] = set()
            for event in response.events:
                if event.get("type") == "m.room.create":
                    content = event.get("content", {})
                    creators = {event.get("sender", ""), *content.get("additional_creators", [])}
            self._room_creators[room_id] = creators
        return self._room_creators[room_id]

    # -- DMs ---------------------------------------------------------------------------------

    def is_dm(self, room_id: str) -> bool:
        """Rooms in our m.direct account data are DMs."""
        return any(room_id in rooms for rooms in self.direct.values())

    async def _load_direct(self) -> None:
        response = await self.client.list_direct_rooms()
        if isinstance(response, DirectRoomsResponse):
            self.direct = {user: list(rooms) for user, rooms in response.rooms.items()}

    async def _mark_direct(self, user_id: str, room_id: str) -> None:
        """Record a DM in m.direct (nio has no helper for global account data)."""
        rooms = self.direct.setdefault(user_id, [])
        if room_id not in rooms:
            rooms.append(room_id)
        path = (
            f"/_matrix/client/v3/user/{quote(self.client.user_id, safe='')}/account_data/m.direct"
        )
        response = await self.client.send(
            "PUT",
            path,
            json.dumps(self.direct),
            {
                "Authorization": f"Bearer {self.client.access_token}",
                "Content-Type": "application/json",
            },
        )
        if response.status != 200:
            log.warning("could not save m.direct (HTTP %s)", response.status)

    async def dm_room(self, user_id: str) -> str:
        """The member's direct room with the bot: found in m.direct, or created (encrypted)."""
        lock = self._dm_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            found = self._existing_dm(user_id)
            if found is not None:
                return found
            return await self._create_dm(user_id)

    def _existing_dm(self, user_id: str) -> str | None:
        candidates = [
            room
            for room_id in self.direct.get(user_id, [])
            if (room := self.client.rooms.get(room_id)) is not None and user_id in room.users
        ]
        if self.config.encrypt_dms:
            candidates = [room for room in candidates if room.encrypted]
        return candidates[-1].room_id if candidates else None

    async def _create_dm(self, user_id: str) -> str:
        initial_state = []
        if self.config.encrypt_dms:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        response = await self.client.room_create(
            is_direct=True,
            preset=RoomPreset.trusted_private_chat,
            invite=[user_id],
            initial_state=initial_state,
        )
        if not isinstance(response, RoomCreateResponse):
            raise DeliveryError(f"could not open a direct room: {response}", permanent=False)
        room_id = str(response.room_id)
        await self._mark_direct(user_id, room_id)
        if not await self.wait_until(lambda: room_id in self.client.rooms, ROOM_WAIT_S):
            raise DeliveryError("the new direct room did not appear in sync")
        # The first encrypted message is readable only by devices known when it is sent.
        joined = await self.wait_until(
            lambda: (
                user_id in self.client.rooms[room_id].users
                and user_id not in self.client.rooms[room_id].invited_users
            ),
            DM_JOIN_WAIT_S,
        )
        if not joined:
            log.info("the member has not joined the new DM yet; sending to the invite")
        return room_id

    # -- sending -----------------------------------------------------------------------------

    @property
    def can_send(self) -> bool:
        """True once the first sync ran (the outbox waits until then)."""
        return self.ready.is_set()

    async def send(self, target: Target, message: Message, idempotency_key: str) -> None:
        """Outbox delivery; the key becomes the txn id, so a resend is dropped by Synapse."""
        if not self.ready.is_set():
            raise DeliveryError("Matrix is not connected yet")
        if target.is_dm:
            user_id = (
                target.target.split(":", 1)[1]
                if target.target.startswith("matrix:")
                else (target.target)
            )
            await self.send_dm(user_id, message, key=idempotency_key)
        else:
            await self.send_message(target.target, message, reader=None, key=idempotency_key)

    async def send_dm(self, user_id: str, message: Message, *, key: str | None = None) -> None:
        """Send privately; refuses rooms it cannot encrypt for rather than leak."""
        room_id = await self.dm_room(user_id)
        await self.send_message(room_id, message, reader=f"{PLATFORM}:{user_id}", key=key)

    async def send_message(
        self, room_id: str, message: Message, *, reader: str | None, key: str | None = None
    ) -> None:
        """Render (in the reader's zone) and send text, then the attachment if any."""
        message = clean(message)
        if message.ping_role:
            log.info("ping_role is ignored on Matrix: the bot never pings")
        base = key or uuid.uuid4().hex
        zone = await self._zone(room_id, reader)
        render_when = when_renderer(zone, self.app.clock.now(), current_language())
        content = text_content(message, render_when)
        if content is not None:
            await self._send_event(room_id, content, txn_id(base + ":text"))
        if message.attachment is not None:
            await self._send_file(room_id, message.attachment, txn_id(base + ":file"))

    async def send_notice(self, room_id: str, text: str) -> None:
        """A short plain notice (pointers, calm status lines)."""
        await self._send_event(room_id, pointer_content(text), txn_id(uuid.uuid4().hex))

    async def _zone(self, room_id: str, reader: str | None) -> ZoneInfo:
        zone: str | None = None
        if reader is not None:
            zone = (await self.app.members.profile(reader)).timezone
        if zone is None:
            user = reader.split(":", 1)[1] if reader else ""
            ref = await self._dm_community(user) if self.is_dm(room_id) else None
            ref = ref or self.community_of(room_id)
            if ref is not None:
                info = await self.app.members.community(
                    PLATFORM, ref.id, ref.name, timezone=self.app.config.bot.timezone
                )
                zone = info.timezone
        return ZoneInfo(zone or self.app.config.bot.timezone)

    async def _room(self, room_id: str) -> MatrixRoom:
        if room_id not in self.client.rooms:
            await self.wait_until(lambda: room_id in self.client.rooms, ROOM_WAIT_S)
        room = self.client.rooms.get(room_id)
        if room is None:
            raise DeliveryError(f"not in room {room_id}", permanent=True)
        return room

    async def _check_encryptable(self, room: MatrixRoom) -> None:
        """Refuse (and say why in the log) to send where nobody could read it."""
        if self.client.olm is None:
            log.error(
                "refusing to send into encrypted room %s: encryption is not available "
                "(is matrix-nio[e2e] installed and the store writable?)",
                room.room_id,
            )
            raise DeliveryError("encryption unavailable", permanent=True)
        others = [u for u in room.users if u != self.client.user_id]
        if self.client.should_query_keys:
            with contextlib.suppress(LocalProtocolError):  # the sync loop may be querying too
                await self.client.keys_query()
        readable = [u for u in others if list(self.client.device_store.active_user_devices(u))]
        if not readable:
            log.error(
                "refusing to send into encrypted room %s: none of its %d other member(s) has "
                "a device I know keys for yet",
                room.room_id,
                len(others),
            )
            raise DeliveryError("no device to encrypt for")

    async def _send_event(self, room_id: str, content: dict[str, Any], txn: str) -> str:
        room = await self._room(room_id)
        if room.encrypted:
            await self._check_encryptable(room)

        async def request() -> Any:
            return await self.client.room_send(
                room_id, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
            )

        response = await self._paced(request)
        if not isinstance(response, RoomSendResponse):
            # a refusal (M_FORBIDDEN: not allowed to post there) will not change on retry
            permanent = getattr(response, "status_code", None) == "M_FORBIDDEN"
            raise DeliveryError(
                f"the homeserver refused the message: {response}", permanent=permanent
            )
        return str(response.event_id)

    async def _send_file(self, room_id: str, attachment: Attachment, txn: str) -> None:
        room = await self._room(room_id)
        if room.encrypted:
            await self._check_encryptable(room)

        async def request() -> Any:
            return await self.client.upload(
                lambda _got_429, _got_timeouts: io.BytesIO(attachment.data),
                content_type=attachment.mime,
                filename=attachment.filename,
                encrypt=room.encrypted,
                filesize=len(attachment.data),
            )

        uploaded, keys = await self._paced(request)
        if not isinstance(uploaded, UploadResponse):
            raise DeliveryError(f"the homeserver refused the file: {uploaded}")
        await self._send_event(room_id, file_content(attachment, uploaded.content_uri, keys), txn)

    async def _paced(self, request: Callable[[], Awaitable[Any]]) -> Any:
        """Run a request in a send slot, honouring 429s globally and retrying lost connections."""
        deadline = time.monotonic() + SEND_DEADLINE_S
        backoff = BACKOFF_MIN_S
        limited = 0.0  # seconds this request waited out 429s so far
        async with self._send_slots:
            while True:
                pause = self._paused_until - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                try:
                    response = await request()
                except (ClientConnectionError, TimeoutError) as exc:
                    if time.monotonic() + backoff > deadline:
                        raise DeliveryError("the homeserver is unreachable") from exc
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                    continue
                except (OlmUnverifiedDeviceError, EncryptionError, SendRetryError) as exc:
                    raise DeliveryError(f"could not encrypt: {exc}") from exc
                except LocalProtocolError as exc:
                    raise DeliveryError(f"cannot send: {exc}", permanent=True) from exc
                first = response[0] if isinstance(response, tuple) else response
                if getattr(first, "status_code", None) in ("M_LIMIT_EXCEEDED", 429):
                    wait = (getattr(first, "retry_after_ms", None) or 1000) / 1000
                    limited += wait
                    if limited > RATE_LIMIT_CAP_S:
                        raise DeliveryError(
                            f"rate limited for over {RATE_LIMIT_CAP_S:.0f} s; given up",
                            permanent=True,
                        )
                    self._paused_until = max(self._paused_until, time.monotonic() + wait)
                    log.info("rate limited by the homeserver; pausing sends for %.1f s", wait)
                    continue
                return response

    # -- resolving typed names ---------------------------------------------------------------

    def resolve_actor(self, room_id: str, text: str) -> Actor | None:
        """A Matrix id, or a display name that is unique in the room."""
        room = self.client.rooms.get(room_id)
        needle = text.strip()
        if room is None or not needle:
            return None
        if needle in room.users:
            return Actor(PLATFORM, needle, room.user_name(needle) or "")
        matches = [u for u in room.users if (room.user_name(u) or "").lower() == needle.lower()]
        return Actor(PLATFORM, matches[0], needle) if len(matches) == 1 else None

    async def resolve_place(self, here: Place, text: str) -> Place | None:
        """A room id or alias of a joined room in the same community."""
        needle = text.strip()
        if needle.startswith("#"):
            response = await self.client.room_resolve_alias(needle)
            needle = getattr(response, "room_id", "") or ""
        room = self.client.rooms.get(needle)
        if room is None or self.is_dm(needle):
            return None
        ref = self.community_of(needle)
        if here.community_id is not None and (ref is None or ref.id != here.community_id):
            return None
        return Place(PLATFORM, needle, ref.id if ref else None, False, room.display_name)


def tier_for(
    level: int, bindings: dict[str, int], user_id: str, facilitator: int, moderator: int
) -> Tier:
    """A member's tier from a power level, overridden by bindings (see the module docstring)."""
    if user_id in bindings:
        return Tier(min(bindings[user_id], Tier.MODERATOR))
    power = sorted(
        (int(role.split(":", 1)[1]), tier)
        for role, tier in bindings.items()
        if role.startswith("power:") and role.split(":", 1)[1].lstrip("-").isdigit()
    )
    if power:
        granted = [tier for needed, tier in power if level >= needed]
        return Tier(min(max(granted, default=Tier.MEMBER), Tier.MODERATOR))
    if level >= moderator:
        return Tier.MODERATOR
    if level >= facilitator:
        return Tier.FACILITATOR
    return Tier.MEMBER


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return
