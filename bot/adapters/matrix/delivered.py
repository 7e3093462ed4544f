"""Finding a delivery the homeserver already holds, after a crash between send and mark.

A Matrix transaction id stops a resend only from the device that sent it, and the outbox may
retry after a new login. So before a resend the adapter reads the room's recent timeline back
(`/messages`, newest first, bounded) for an event of the bot that is one of this delivery's
pieces (its text, its file):

- by `unsigned.transaction_id`, which the homeserver shows only to the device that sent the
  event (the same login after a restart);
- else by the marker every piece carries under `MARKER_KEY`: a custom content key, which
  clients do not display, holding a keyed tag of the idempotency key and the piece's place
  (`"<tag> 1/2"`). In an encrypted room the bot can read it only while it still holds the
  session keys it encrypted with (the same crypto store).

What stays uncertain (the outbox then sends again, and the message may show twice): after a
new login in an encrypted room (neither the transaction id nor the marker is readable); more
than `HISTORY_LIMIT` events in the room since the first try; clocks apart by more than
`CLOCK_SKEW`; a redacted event; a room the bot may no longer read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nio import AsyncClient, RoomMessagesResponse

from bot.adapters.matrix.sending import txn_id
from bot.core.errors import DeliveryError
from bot.crypto import actor_tag

log = logging.getLogger("circlebot.matrix")

MARKER_KEY = "org.circlebot.delivery"
MARKER_LENGTH = 12  # hex characters of the keyed tag (48 bits)
HISTORY_LIMIT = 200  # timeline events one lookup reads at most
PAGE_EVENTS = 50  # events per /messages request
CLOCK_SKEW = timedelta(minutes=2)  # this host's clock against the homeserver's


def piece_txn(key: str, piece: str) -> str:
    """The transaction id of one piece (`text` or `file`) of the delivery keyed `key`."""
    return txn_id(f"{key}:{piece}")


def marker(key: str, index: int, count: int) -> str:
    """The `MARKER_KEY` value of piece `index` (0-based) of `count`: `"<tag> 1/2"`.

    The tag is keyed (`bot.crypto.actor_tag`): keys name meetings and members, and nobody
    without the encryption keys can tell from a tag what it belongs to.
    """
    tag = actor_tag(key, "matrix.delivery", length=MARKER_LENGTH)
    return f"{tag} {index + 1}/{count}"


@dataclass
class Found:
    """Pieces of one delivery found in a room: piece index -> event id, and how many the
    delivery has (None when no marker said so)."""

    pieces: dict[int, str] = field(default_factory=dict)
    count: int | None = None
    file_found: str | None = None  # the file always comes last

    @property
    def last(self) -> str | None:
        """The event id of the delivery's last piece when every piece is there, else None."""
        if self.file_found is not None:
            return self.file_found
        if self.count is not None and self.count - 1 in self.pieces:
            return self.pieces[self.count - 1]
        return None

    @property
    def ids(self) -> str | None:
        """The event ids of every piece found, space-separated in order (what `retract`
        needs to take the whole delivery back), when its last piece is there; else None."""
        if self.last is None:
            return None
        found = [self.pieces[index] for index in sorted(self.pieces)]
        if self.file_found is not None and self.file_found not in found:
            found.append(self.file_found)
        return " ".join(found)


async def find_delivery(client: AsyncClient, room_id: str, key: str, since: datetime) -> Found:
    """The bot's events in `room_id` since `since` (aware UTC) that belong to delivery `key`.

    Reads at most `HISTORY_LIMIT` events, newest first, stopping at events older than `since`
    minus `CLOCK_SKEW`. A homeserver that refuses the read (M_FORBIDDEN: the bot may no
    longer read that room) is logged and yields nothing found, so the outbox sends again.

    Raises:
        DeliveryError: the homeserver failed to answer.
    """
    found = Found()
    texts = {piece_txn(key, "text")}
    files = {piece_txn(key, "file")}
    prefix = marker(key, 0, 1).split(" ", 1)[0] + " "
    floor_ms = (since - CLOCK_SKEW).timestamp() * 1000
    start: str | None = None
    read = 0
    while read < HISTORY_LIMIT:
        response = await client.room_messages(
            room_id, start=start, limit=min(PAGE_EVENTS, HISTORY_LIMIT - read)
        )
        if not isinstance(response, RoomMessagesResponse):
            if getattr(response, "status_code", None) == "M_FORBIDDEN":
                log.warning(
                    "cannot read a room back to check whether an announcement was already "
                    "sent (%s); sending it again (it may show twice)",
                    response,
                )
                return found
            raise DeliveryError(f"could not read the room's timeline: {response}")
        for event in response.chunk:
            read += 1
            if event.server_timestamp < floor_ms:
                return found
            if event.sender != client.user_id:
                continue
            source = event.source
            txn = (source.get("unsigned") or {}).get("transaction_id")
            value = (source.get("content") or {}).get(MARKER_KEY)
            if txn in files:
                found.file_found = event.event_id
            elif isinstance(value, str) and value.startswith(prefix):
                place, _sep, total = value[len(prefix) :].partition("/")
                if place.isdigit() and total.isdigit():
                    found.pieces[int(place) - 1] = event.event_id
                    found.count = int(total)
            elif txn in texts:
                found.pieces[0] = event.event_id
        if not response.chunk or not response.end or response.end == start:
            return found
        start = response.end
    return found
