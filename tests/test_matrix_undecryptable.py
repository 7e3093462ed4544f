"""An encrypted Matrix event the bot cannot decrypt is no longer dropped: the room key is
requested, the event is handled when the key arrives (a command, or a line for channel watch),
and if it never does the sender is told privately, at most once an hour.

Runs the adapter's sync loop against a stand-in nio client, because a real
homeserver cannot be made to withhold one room key on demand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest
from nio import MegolmEvent, ReactionEvent, RoomMessageText
from nio.exceptions import EncryptionError

from bot.adapters.matrix import sync as matrix
from bot.adapters.matrix.direct import DirectRooms
from bot.adapters.matrix.incoming import Origin
from bot.adapters.matrix.sync import SyncLoop

ROOM, DM = "!circle:localhost", "!dm:localhost"
BEN = "@ben:localhost"


def encrypted(event_id: str, room_id: str = ROOM) -> MegolmEvent:
    event = MegolmEvent.from_dict(
        {
            "type": "m.room.encrypted",
            "event_id": event_id,
            "sender": BEN,
            "origin_server_ts": int(time.time() * 1000),
            "room_id": room_id,
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "opaque",
                "sender_key": "key",
                "device_id": "BENDEVICE",
                "session_id": f"session-{event_id}",
            },
        }
    )
    assert isinstance(event, MegolmEvent)
    event.room_id = room_id
    return event


def text(body: str, event_id: str) -> RoomMessageText:
    event = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "event_id": event_id,
            "sender": BEN,
            "origin_server_ts": int(time.time() * 1000),
            "content": {"msgtype": "m.text", "body": body},
        }
    )
    assert isinstance(event, RoomMessageText)
    return event


def reaction(key: str, reacts_to: str, event_id: str) -> ReactionEvent:
    event = ReactionEvent.from_dict(
        {
            "type": "m.reaction",
            "event_id": event_id,
            "sender": BEN,
            "origin_server_ts": int(time.time() * 1000),
            "content": {
                "m.relates_to": {"rel_type": "m.annotation", "event_id": reacts_to, "key": key}
            },
        }
    )
    assert isinstance(event, ReactionEvent)
    return event


class Client:
    """What the adapter asks of nio here: decrypt, and request a room key."""

    user_id = "@bot:localhost"

    def __init__(self) -> None:
        self.keys: dict[str, RoomMessageText | ReactionEvent] = {}  # id -> what it decrypts to
        self.requested: list[str] = []
        self.rooms: dict[str, Any] = {}

    def decrypt_event(self, event: MegolmEvent) -> RoomMessageText | ReactionEvent:
        found = self.keys.get(event.event_id)
        if found is None:
            raise EncryptionError("no room key")
        return found

    async def request_room_key(self, event: MegolmEvent) -> None:
        self.requested.append(event.session_id)


class State:
    def __init__(self) -> None:
        self.handled: set[str] = set()

    def claim(self, event_id: str) -> bool:
        if event_id in self.handled:
            return False
        self.handled.add(event_id)
        return True


class Recorder:
    """The adapter's side of the loop: what it was asked to run, and DMs it was asked to send."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Any]] = []
        self.dms: list[str] = []
        self.origins: list[Origin | None] = []  # the events answers are linked to

    async def on_text(
        self,
        room_id: str,
        sender: str,
        body: str,
        reply_to: str = "",
        origin: Origin | None = None,
    ) -> None:
        self.ran.append(("command", body))
        self.origins.append(origin)

    async def on_plain(self, room_id: str, sender: str, body: str) -> None:
        self.ran.append(("plain", body))

    async def on_reaction(
        self, room_id: str, sender: str, event_id: str, reacts_to: str, key: str
    ) -> None:
        self.ran.append(("reaction", (reacts_to, key)))

    async def ask_resend(self, room_id: str) -> None:
        self.ran.append(("resend", room_id))

    async def tell_unreadable(self, sender: str, room_name: str) -> None:
        self.dms.append(f"couldn't read a message you sent in {room_name}")


def adapter() -> tuple[SyncLoop, Client, list[tuple[str, Any]], list[str]]:
    """The sync loop with a stand-in client; handlers and DMs are recorded."""
    client = Client()
    handlers = Recorder()
    direct = DirectRooms(client, None, encrypt=True)  # type: ignore[arg-type]
    direct.direct = {BEN: [DM]}
    a = SyncLoop(client, State(), direct, None, handlers, "!")  # type: ignore[arg-type]

    def spawn(lane: str, start: Callable[[], Awaitable[None]]) -> None:
        asyncio.get_running_loop().create_task(start())

    a.spawn = spawn  # type: ignore[method-assign]
    return a, client, handlers.ran, handlers.dms


async def run(starts: list[tuple[str, Callable[[], Awaitable[None]]]]) -> None:
    for _lane, start in starts:
        await start()


async def test_a_room_event_is_kept_its_key_requested_and_handled_when_it_arrives() -> None:
    a, client, ran, _dms = adapter()
    now = time.time()
    line, command = encrypted("$line"), encrypted("$command")
    assert a.wanted(ROOM, line, now) is None and a.wanted(ROOM, command, now) is None
    await asyncio.sleep(0)  # the key requests run as tasks
    assert client.requested == ["session-$line", "session-$command"]
    assert await run_retry(a, now) == []  # no key yet: still waiting, nothing said
    client.keys["$line"] = text("Ich will nicht mehr leben", "$line")
    client.keys["$command"] = text("!crisis now", "$command")
    await run(a.retry_undecrypted(now + 1))
    assert sorted(ran) == [("command", "!crisis now"), ("plain", "Ich will nicht mehr leben")]
    assert a._undecrypted == {}
    assert a.handlers.origins == [Origin("$command")]  # its answer replies to the late event


async def test_a_reaction_whose_key_came_late_still_presses_once() -> None:
    """An encrypted reaction (a button press on a panel) decrypted only when its room key
    arrives is handed on then, once; in a DM it is no press."""
    a, client, ran, _dms = adapter()
    now = time.time()
    in_room, in_dm = encrypted("$press"), encrypted("$dm-press", DM)
    assert a.wanted(ROOM, in_room, now) is None and a.wanted(DM, in_dm, now) is None
    client.keys["$press"] = reaction("\u23ed\ufe0f", "$panel", "$press")
    client.keys["$dm-press"] = reaction("\u23ed\ufe0f", "$panel", "$dm-press")
    await run(a.retry_undecrypted(now + 1))
    await run(a.retry_undecrypted(now + 2))
    assert ran == [("reaction", ("$panel", "\u23ed\ufe0f"))]
    assert a._undecrypted == {}


async def run_retry(a: SyncLoop, now: float) -> list[tuple[str, Any]]:
    starts = a.retry_undecrypted(now)
    await run(starts)
    return [(lane, s) for lane, s in starts]


@pytest.mark.parametrize("room", [ROOM, DM])
async def test_a_key_that_never_comes_is_told_to_the_sender_privately_once_an_hour(
    room: str,
) -> None:
    a, _client, ran, dms = adapter()
    now = time.time()
    for n in range(3):
        a.wanted(room, encrypted(f"$lost{n}", room), now)
    late = now + matrix.UNDECRYPTABLE_WAIT_S + 1
    await run(a.retry_undecrypted(late))
    if room == DM:
        assert ran == [("resend", DM)] * 3  # in the DM itself, as before
        assert dms == []
    else:
        assert len(dms) == 1 and "couldn't read a message you sent" in dms[0]
        assert ran == []  # nothing said in the community room
    assert a._undecrypted == {}


def test_a_plain_line_in_a_community_room_is_read_without_being_claimed() -> None:
    a, _client, _ran, _dms = adapter()
    now = time.time()
    line = text("I want to die", "$plain")
    assert a.wanted(ROOM, line, now) is None  # not a command
    read = a.plain(ROOM, line, now)
    assert isinstance(read, partial) and read.args == (ROOM, BEN, "I want to die")
    assert a.state.handled == set()
    assert a.plain(DM, line, now) is None  # a DM line is the dispatcher's, as before
    assert a.plain(ROOM, text("!ping", "$cmd"), now) is None
