"""Careful sending to a homeserver: paced, idempotent, and never into a room nobody can read.

At most `SEND_SLOTS` requests are in flight; a 429 (M_LIMIT_EXCEEDED) pauses every send for
`retry_after_ms`, so an announcement burst is paced instead of lost. Connection errors (a
homeserver restart) are retried with backoff until `SEND_DEADLINE_S`. An encrypted room is
refused, with a log line saying why, when the bot cannot encrypt for anyone in it. Every event
carries a transaction id derived from the caller's idempotency key, so a resend is dropped by
the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    LocalProtocolError,
    MatrixRoom,
    RoomRedactResponse,
    RoomSendResponse,
    UploadResponse,
)
from nio.exceptions import EncryptionError, OlmUnverifiedDeviceError, SendRetryError

from bot.adapters.matrix.render import file_content
from bot.core.errors import DeliveryError
from bot.core.message import Attachment
from bot.outbox import check_lease

log = logging.getLogger("circlebot.matrix")

SEND_DEADLINE_S = 90.0  # how long a send keeps retrying a homeserver that is away
RATE_LIMIT_CAP_S = 120.0  # total 429 pauses one send accepts before it is given up as failed
SEND_SLOTS = 3  # sends in flight at once; the rest queue (pacing)
ROOM_WAIT_S = 10.0  # how long to wait for a new room to show up in sync
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.25, 5.0

WaitUntil = Callable[[Callable[[], bool], float], Awaitable[bool]]


class RelatingClient(AsyncClient):  # type: ignore[misc]  # nio ships no type stubs
    """matrix-nio's client, sending an encrypted event's `m.relates_to` also in the clear.

    The spec ("End-to-end encryption", relations) wants the relation on the unencrypted
    envelope, so the server can aggregate threads and clients can place a reply before
    decrypting; nio encrypts it away. Own code: nio has no option for it.
    """

    def encrypt(
        self, room_id: str, message_type: str, content: dict[Any, Any]
    ) -> tuple[str, dict[str, str]]:
        event_type, encrypted = super().encrypt(room_id, message_type, content)
        relates = content.get("m.relates_to")
        if relates is not None:
            encrypted = {**encrypted, "m.relates_to": relates}
        return event_type, encrypted


def txn_id(key: str) -> str:
    """A Matrix transaction id from an idempotency key: a resend is dropped by the server."""
    return "cb" + hashlib.sha256(key.encode()).hexdigest()[:40]


class Sender:
    """Sends events and files for the adapter; one per client.

    `wait_until(predicate, seconds)` waits across syncs (a room created a moment ago appears
    in `client.rooms` only after the next sync).
    """

    def __init__(self, client: AsyncClient, wait_until: WaitUntil) -> None:
        self.client = client
        self._wait_until = wait_until
        self._slots = asyncio.Semaphore(SEND_SLOTS)
        self._paused_until = 0.0  # monotonic time until which every send waits (429)

    async def room(self, room_id: str) -> MatrixRoom:
        """The joined room, waiting up to `ROOM_WAIT_S` for sync to show it.

        Raises:
            DeliveryError: (permanent) the bot is not in that room.
        """
        if room_id not in self.client.rooms:
            await self._wait_until(lambda: room_id in self.client.rooms, ROOM_WAIT_S)
        room = self.client.rooms.get(room_id)
        if room is None:
            raise DeliveryError(f"not in room {room_id}", permanent=True)
        return room

    async def check_encryptable(self, room: MatrixRoom) -> None:
        """Refuse (and say why in the log) to send where nobody could read it.

        Raises:
            DeliveryError: encryption is unavailable (permanent), or no member of the room
                has a device whose keys the bot knows yet.
        """
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

    async def send_event(
        self, room_id: str, content: dict[str, Any], txn: str, event_type: str = "m.room.message"
    ) -> str:
        """Send one event (an `m.room.message` unless told; nio does not encrypt an
        `m.reaction`); returns the event id.

        Raises:
            DeliveryError: refused by the homeserver (permanent for M_FORBIDDEN), unreachable
                past the deadline, or not encryptable.
        """
        room = await self.room(room_id)
        if room.encrypted:
            await self.check_encryptable(room)

        async def request() -> Any:
            check_lease()  # after pacing: a process paused past its outbox lease sends nothing
            return await self.client.room_send(
                room_id, event_type, content, tx_id=txn, ignore_unverified_devices=True
            )

        response = await self.paced(request)
        if not isinstance(response, RoomSendResponse):
            # a refusal (M_FORBIDDEN: not allowed to post there) will not change on retry
            permanent = getattr(response, "status_code", None) == "M_FORBIDDEN"
            raise DeliveryError(
                f"the homeserver refused the message: {response}", permanent=permanent
            )
        return str(response.event_id)

    async def redact(self, room_id: str, event_id: str) -> None:
        """Redact an event: one the bot sent (a sender may always redact its own), or a
        member's (a command carrying private words, a reaction that pressed a button: that
        needs the room's power to redact others' events); gone is fine.

        Raises:
            DeliveryError: unreachable (tried again later), or permanent when the bot is no
                longer in the room or the homeserver forbids it.
        """
        if room_id not in self.client.rooms:
            raise DeliveryError("not in that room any more", permanent=True)

        async def request() -> Any:
            return await self.client.room_redact(room_id, event_id)

        response = await self.paced(request)
        if isinstance(response, RoomRedactResponse):
            return
        code = getattr(response, "status_code", None)
        if code == "M_NOT_FOUND":
            return  # redacted or purged already
        raise DeliveryError(
            f"the homeserver refused the redaction: {response}", permanent=code == "M_FORBIDDEN"
        )

    async def send_file(
        self,
        room_id: str,
        attachment: Attachment,
        txn: str,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Upload a file (encrypted in an encrypted room), then send the event pointing at it
        (with `extra` content keys added); returns the event id.

        Raises:
            DeliveryError: as `send_event`, or the upload was refused.
        """
        room = await self.room(room_id)
        if room.encrypted:
            await self.check_encryptable(room)

        async def request() -> Any:
            return await self.client.upload(
                lambda _got_429, _got_timeouts: io.BytesIO(attachment.data),
                content_type=attachment.mime,
                filename=attachment.filename,
                encrypt=room.encrypted,
                filesize=len(attachment.data),
            )

        uploaded, keys = await self.paced(request)
        if not isinstance(uploaded, UploadResponse):
            raise DeliveryError(f"the homeserver refused the file: {uploaded}")
        content = {**file_content(attachment, uploaded.content_uri, keys), **(extra or {})}
        return await self.send_event(room_id, content, txn)

    async def paced(self, request: Callable[[], Awaitable[Any]]) -> Any:
        """Run a request in a send slot, honouring 429s globally and retrying lost connections.

        Raises:
            DeliveryError: unreachable past `SEND_DEADLINE_S`, rate limited for over
                `RATE_LIMIT_CAP_S` in total (permanent), or the client refused to send.
        """
        deadline = time.monotonic() + SEND_DEADLINE_S
        backoff = BACKOFF_MIN_S
        limited = 0.0  # seconds this request waited out 429s so far
        async with self._slots:
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
