"""The sync loop: it only sorts events; handlers run as tasks, one lane per member and room.

- The sync token and the ids of handled events are saved before handlers start, so a restart
  or a re-delivered event never runs a command twice.
- Handlers in the same lane (`room|sender`) run in order; the loop never waits for them, and
  shutdown waits up to `SHUTDOWN_WAIT_S` for those still running.
- Connection errors (a homeserver restart) are retried with backoff; a revoked token stops the
  adapter with a `StartupError`.
- An event the bot cannot decrypt yet is kept: its room key is requested and the event retried
  when the key arrives; if it never does, the sender is told (in a DM, at most hourly).
- Commands older than `STALE_AFTER_S` (the bot was down) are not run late.
- An upgraded room (`m.room.tombstone`, live or found at start) is followed to its
  replacement (`Handlers.on_upgraded`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    InviteInfo,
    LocalProtocolError,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomMemberEvent,
    RoomMessageText,
    SyncError,
    SyncResponse,
)
from nio.exceptions import EncryptionError

from bot.adapters.matrix.communities import Communities
from bot.adapters.matrix.direct import DirectRooms
from bot.adapters.matrix.incoming import Origin, read_text
from bot.adapters.matrix.state import StateStore
from bot.platform import StartupError

log = logging.getLogger("circlebot.matrix")

SYNC_FILTER: dict[str, Any] = {
    "room": {"timeline": {"limit": 50}, "state": {"lazy_load_members": False}},
    "presence": {"types": []},
}
SYNC_TIMEOUT_MS = 30_000
STALE_AFTER_S = 600.0  # commands older than this (bot was down) are not run late
UNREADABLE_NOTICE_EVERY_S = 3600.0  # a member is told of unreadable room messages hourly
UNDECRYPTABLE_WAIT_S = 30.0  # keys usually follow within a sync; then we ask to resend
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.25, 5.0
SHUTDOWN_WAIT_S = 10.0

Start = Callable[[], Awaitable[None]]


class Handlers(Protocol):
    """What the adapter does with the events the loop sorted out."""

    async def on_invite(self, room_id: str, info: InviteInfo) -> None:
        """The bot was invited to a room."""

    async def on_removed(self, room_id: str, kicker: str | None) -> None:
        """The bot left or was removed from a room (`kicker`: who removed it, if not itself)."""

    async def on_rejoined(self, room_id: str) -> None:
        """The bot is in a room again that it had left this run."""

    async def on_text(
        self,
        room_id: str,
        sender: str,
        body: str,
        reply_to: str = "",
        origin: Origin | None = None,
    ) -> None:
        """A command in a room, or any text in a DM; `origin` is its event (answers link to
        it)."""

    async def on_edit(self, room_id: str, sender: str, body: str) -> None:
        """An edited DM message."""

    async def on_reaction(
        self, room_id: str, sender: str, event_id: str, reacts_to: str, key: str
    ) -> None:
        """A reaction in a community room (a press when it is on a panel's button)."""

    async def on_redaction(self, room_id: str, sender: str, redacts: str) -> None:
        """`sender` redacted event `redacts` in a community room (a reaction taken back)."""

    async def on_plain(self, room_id: str, sender: str, body: str) -> None:
        """Plain chat in a community room (for channel watch)."""

    async def ask_resend(self, room_id: str) -> None:
        """A DM event stayed undecryptable: ask the member to send it again."""

    async def tell_unreadable(self, sender: str, room_name: str) -> None:
        """A room event stayed undecryptable: tell its sender privately."""

    async def on_ready(self) -> None:
        """The first sync ran."""

    async def on_upgraded(self, old_room: str, new_room: str) -> bool:
        """A community room was upgraded: join its replacement and move what pointed at the
        old room; False when the replacement cannot be joined (yet)."""


class SyncLoop:
    """Runs `client.sync` until stopped and starts the handlers for what arrived."""

    def __init__(
        self,
        client: AsyncClient,
        state: StateStore,
        direct: DirectRooms,
        communities: Communities,
        handlers: Handlers,
        prefix: str,
    ) -> None:
        self.client = client
        self.state = state
        self.direct = direct
        self.communities = communities
        self.handlers = handlers
        self.prefix = prefix
        self.ready = asyncio.Event()
        self.since: str | None = None
        self._synced = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._joining: set[str] = set()
        self._undecrypted: dict[str, tuple[MegolmEvent, float]] = {}
        self._told_unreadable: dict[str, float] = {}  # sender -> monotonic time told
        self._following: set[str] = set()  # upgraded rooms being followed now
        self._cannot_join: set[str] = set()  # replacements the bot could not join (no invite)

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until `stop` is set.

        Raises:
            StartupError: the access token was revoked.
        """
        backoff = BACKOFF_MIN_S
        while not stop.is_set():
            request = asyncio.create_task(
                self.client.sync(
                    timeout=SYNC_TIMEOUT_MS if self.ready.is_set() else 0,  # catch up at once
                    sync_filter=SYNC_FILTER,
                    since=self.since,
                    # The first sync of a process asks for every joined room's state: the
                    # client knows rooms only from syncs, and after a new login (a new device)
                    # a quiet room would otherwise stay unknown and refuse every send.
                    full_state=self.since is None or not self.ready.is_set(),
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
            await self.after_sync(response)

    async def finish(self) -> None:
        """Wait up to `SHUTDOWN_WAIT_S` for running handlers, then cancel the rest."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_WAIT_S)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d Matrix handler(s) still running at shutdown", len(pending))

    async def wait_until(self, predicate: Callable[[], bool], within_seconds: float) -> bool:
        """Wait (across syncs) until `predicate` holds; False after `within_seconds`."""
        async with self._synced:
            try:
                await asyncio.wait_for(self._synced.wait_for(predicate), within_seconds)
            except TimeoutError:
                return False
        return True

    async def after_sync(self, response: SyncResponse) -> None:
        """Sort one sync's events; save progress first, then start handlers."""
        first = self.since is None
        await self._crypto_chores()
        for room_id, info in response.rooms.invite.items():
            if room_id not in self._joining:
                self._joining.add(room_id)
                self.spawn(f"invite:{room_id}", partial(self._invited, room_id, info))
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
                self.communities.left.add(room_id)  # nio keeps a left room in client.rooms
                self.spawn(f"left:{room_id}", partial(self.handlers.on_removed, room_id, kicker))
        starts: list[tuple[str, Start]] = []
        now = time.time()
        reads: list[tuple[str, Start]] = []
        for room_id, joined in response.rooms.join.items():
            if room_id in self.communities.left:  # invited back and joined again
                self.communities.left.discard(room_id)
                await self.handlers.on_rejoined(room_id)
            if self.communities.is_space(room_id):
                await self.communities.load_spaces()
            for event in joined.timeline.events:
                start = None if first else self.wanted(room_id, event, now)
                if start is not None and self.state.claim(event.event_id):
                    starts.append((f"{room_id}|{event.sender}", start))
                elif start is None and not first:
                    # Plain chat, for channel watch: not claimed, so no trace of it is kept.
                    read = self.plain(room_id, event, now)
                    if read is not None:
                        reads.append((f"{room_id}|{event.sender}", read))
        starts.extend(self.retry_undecrypted(now))
        self.since = response.next_batch
        await self.state.save_progress(response.next_batch, handled_changed=bool(starts))
        for lane, start in [*starts, *reads]:
            self.spawn(lane, start)
        self.follow_upgrades(set(response.rooms.join))
        async with self._synced:
            self._synced.notify_all()
        if not self.ready.is_set():
            self.ready.set()
            log.info("Matrix sync is running as %s", self.client.user_id)
            self.spawn("outbox", self.handlers.on_ready)

    def follow_upgrades(self, joined_now: set[str]) -> None:
        """Follow each upgraded room (seen live, or in the state the first sync brings after
        the bot was away). A replacement the bot could not join is tried again once it shows
        up joined (an invitation was accepted), not on every sync."""
        for old_room, new_room in self.communities.unfollowed():
            if old_room in self._following:
                continue
            if new_room in self._cannot_join and new_room not in joined_now:
                continue
            self._following.add(old_room)
            self.spawn(f"upgrade:{old_room}", partial(self._follow, old_room, new_room))

    async def _follow(self, old_room: str, new_room: str) -> None:
        try:
            if await self.handlers.on_upgraded(old_room, new_room):
                self._cannot_join.discard(new_room)
            else:
                self._cannot_join.add(new_room)
        finally:
            self._following.discard(old_room)

    async def _invited(self, room_id: str, info: InviteInfo) -> None:
        try:
            await self.handlers.on_invite(room_id, info)
        finally:
            self._joining.discard(room_id)

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

    def wanted(self, room_id: str, event: Any, now: float) -> Start | None:
        """The handler for an event the bot should act on, else None (chat is not read)."""
        if getattr(event, "sender", None) == self.client.user_id:
            return None
        if now - event.server_timestamp / 1000 > STALE_AFTER_S:
            return None
        is_dm = self.direct.is_dm(room_id)
        if isinstance(event, MegolmEvent):
            # Not dropped: the room key is requested, the event retried when it arrives, and
            # the sender told privately if it never does (`retry_undecrypted`).
            self._undecrypted[event.event_id] = (event, now)
            self.spawn(f"keys:{event.session_id}", partial(self._request_key, event))
            log.warning(
                "could not decrypt an event in a %s yet; room key requested",
                "DM" if is_dm else "community room",
            )
            return None
        if isinstance(event, RedactionEvent) and not is_dm:
            return partial(self.handlers.on_redaction, room_id, event.sender, event.redacts)
        if isinstance(event, ReactionEvent) and not is_dm:
            return partial(
                self.handlers.on_reaction,
                room_id,
                event.sender,
                event.event_id,
                event.reacts_to,
                event.key,
            )
        if not isinstance(event, RoomMessageText):
            return None
        text = read_text(event.source.get("content", {}))  # without a quoted reply fallback
        if text.replaces:
            # An edit: the original was handled; in a DM the member learns what became of it.
            return (
                partial(self.handlers.on_edit, room_id, event.sender, text.body) if is_dm else None
            )
        if not is_dm and not text.body.lstrip().startswith(self.prefix):
            return None
        origin = Origin(event.event_id, text.thread_root)
        return partial(
            self.handlers.on_text, room_id, event.sender, text.body, text.reply_to, origin
        )

    def plain(self, room_id: str, event: Any, now: float) -> Start | None:
        """Plain chat in a community room, for channel watch (which reads only where it is
        on); None for anything else."""
        if getattr(event, "sender", None) == self.client.user_id or self.direct.is_dm(room_id):
            return None
        if not isinstance(event, RoomMessageText):
            return None
        text = read_text(event.source.get("content", {}))  # without a quoted reply fallback
        if text.body.lstrip().startswith(self.prefix) or text.replaces:
            return None
        if now - event.server_timestamp / 1000 > STALE_AFTER_S:
            return None
        return partial(self.handlers.on_plain, room_id, event.sender, text.body)

    async def _request_key(self, event: MegolmEvent) -> None:
        """Ask the sender's devices for the room key of an event we could not decrypt."""
        try:
            await self.client.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested for this session
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("room key request postponed: %s", type(exc).__name__)

    def retry_undecrypted(self, now: float) -> list[tuple[str, Start]]:
        """Decrypt events whose room keys arrived late; after a while, tell the sender."""
        handlers = self.handlers
        starts: list[tuple[str, Start]] = []
        for event_id, (event, seen) in list(self._undecrypted.items()):
            try:
                decrypted = self.client.decrypt_event(event)
            except (EncryptionError, LocalProtocolError):
                decrypted = None
            lane = f"{event.room_id}|{event.sender}"
            is_dm = self.direct.is_dm(event.room_id)
            if isinstance(decrypted, RoomMessageText):
                del self._undecrypted[event_id]
                log.info("decrypted an event after its room key arrived")
                text = read_text(decrypted.source.get("content", {}))
                body = text.body
                command = is_dm or body.lstrip().startswith(self.prefix)
                if text.replaces:
                    if is_dm and self.state.claim(event_id):
                        starts.append(
                            (lane, partial(handlers.on_edit, event.room_id, event.sender, body))
                        )
                elif command and self.state.claim(event_id):
                    origin = Origin(event_id, text.thread_root)
                    start = partial(
                        handlers.on_text, event.room_id, event.sender, body, text.reply_to, origin
                    )
                    starts.append((lane, start))
                elif not command:
                    starts.append(
                        (lane, partial(handlers.on_plain, event.room_id, event.sender, body))
                    )
            elif isinstance(decrypted, ReactionEvent):
                del self._undecrypted[event_id]  # a button pressed before its key came
                if not is_dm and self.state.claim(event_id):
                    press = partial(
                        handlers.on_reaction,
                        event.room_id,
                        event.sender,
                        event_id,
                        decrypted.reacts_to,
                        decrypted.key,
                    )
                    starts.append((lane, press))
            elif decrypted is not None:
                del self._undecrypted[event_id]  # decrypted, and not text we act on
            elif now - seen > UNDECRYPTABLE_WAIT_S and self.state.claim(event_id):
                del self._undecrypted[event_id]
                if is_dm:
                    log.warning("gave up decrypting a DM event; asking the member to resend")
                    starts.append((lane, partial(handlers.ask_resend, event.room_id)))
                else:
                    log.warning("gave up decrypting a room event; telling the sender privately")
                    starts.append((lane, partial(self._tell_unreadable, event)))
        return starts

    async def _tell_unreadable(self, event: MegolmEvent) -> None:
        """Tell the sender, at most once an hour, that a message they sent in a community
        room could not be read (the room key never came)."""
        last = self._told_unreadable.get(event.sender)
        now = time.monotonic()
        if last is not None and now - last < UNREADABLE_NOTICE_EVERY_S:
            return
        self._told_unreadable[event.sender] = now
        room = self.client.rooms.get(event.room_id)
        await self.handlers.tell_unreadable(
            event.sender, room.display_name if room else event.room_id
        )

    def spawn(self, lane: str, start: Start) -> None:
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


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return
