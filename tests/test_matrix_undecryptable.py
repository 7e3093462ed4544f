"""An encrypted Matrix event the bot cannot decrypt is no longer dropped: the room key is
requested, the event is handled when the key arrives (a command, or a line for channel watch),
and if it never does the sender is told privately, at most once an hour.

Runs the adapter's own sync-side methods against a stand-in nio client, because a real
homeserver cannot be made to withhold one room key on demand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest
from nio import MegolmEvent, RoomMessageText
from nio.exceptions import EncryptionError

from bot.adapters.matrix import adapter as matrix
from bot.adapters.matrix.adapter import MatrixAdapter
from bot.core.message import Message

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


class Client:
    """What the adapter asks of nio here: decrypt, and request a room key."""

    user_id = "@bot:localhost"

    def __init__(self) -> None:
        self.keys: dict[str, RoomMessageText] = {}  # event id -> what it decrypts to
        self.requested: list[str] = []
        self.rooms: dict[str, Any] = {}

    def decrypt_event(self, event: MegolmEvent) -> RoomMessageText:
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


def adapter() -> tuple[MatrixAdapter, Client, list[tuple[str, Any]], list[str]]:
    """A MatrixAdapter with only what these methods use; handlers and DMs are recorded."""
    a = object.__new__(MatrixAdapter)
    client = Client()
    ran: list[tuple[str, Any]] = []
    dms: list[str] = []
    a.client = client  # type: ignore[assignment]
    a.state = State()  # type: ignore[assignment]
    a.prefix = "!"
    a.direct = {BEN: [DM]}
    a._undecrypted = {}
    a._told_unreadable = {}

    def spawn(lane: str, start: Callable[[], Awaitable[None]]) -> None:
        asyncio.get_running_loop().create_task(start())

    async def on_text(room_id: str, sender: str, body: str, reply_to: str = "") -> None:
        ran.append(("command", body))

    async def on_plain(room_id: str, sender: str, body: str) -> None:
        ran.append(("plain", body))

    async def ask_resend(room_id: str) -> None:
        ran.append(("resend", room_id))

    async def send_dm(user_id: str, message: Message, **_kw: Any) -> None:
        dms.append(str(message.text))

    a._spawn = spawn  # type: ignore[method-assign]
    a._on_text = on_text  # type: ignore[method-assign]
    a._on_plain = on_plain  # type: ignore[method-assign]
    a._ask_resend = ask_resend  # type: ignore[method-assign]
    a.send_dm = send_dm  # type: ignore[method-assign]
    return a, client, ran, dms


async def run(starts: list[tuple[str, Callable[[], Awaitable[None]]]]) -> None:
    for _lane, start in starts:
        await start()


async def test_a_room_event_is_kept_its_key_requested_and_handled_when_it_arrives() -> None:
    a, client, ran, _dms = adapter()
    now = time.time()
    line, command = encrypted("$line"), encrypted("$command")
    assert a._wanted(ROOM, line, now) is None and a._wanted(ROOM, command, now) is None
    await asyncio.sleep(0)  # the key requests run as tasks
    assert client.requested == ["session-$line", "session-$command"]
    assert await run_retry(a, now) == []  # no key yet: still waiting, nothing said
    client.keys["$line"] = text("Ich will nicht mehr leben", "$line")
    client.keys["$command"] = text("!crisis now", "$command")
    await run(a._retry_undecrypted(now + 1))
    assert sorted(ran) == [("command", "!crisis now"), ("plain", "Ich will nicht mehr leben")]
    assert a._undecrypted == {}


async def run_retry(a: MatrixAdapter, now: float) -> list[tuple[str, Any]]:
    starts = a._retry_undecrypted(now)
    await run(starts)
    return [(lane, s) for lane, s in starts]


@pytest.mark.parametrize("room", [ROOM, DM])
async def test_a_key_that_never_comes_is_told_to_the_sender_privately_once_an_hour(
    room: str,
) -> None:
    a, _client, ran, dms = adapter()
    now = time.time()
    for n in range(3):
        a._wanted(room, encrypted(f"$lost{n}", room), now)
    late = now + matrix.UNDECRYPTABLE_WAIT_S + 1
    await run(a._retry_undecrypted(late))
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
    assert a._wanted(ROOM, line, now) is None  # not a command
    read = a._plain(ROOM, line, now)
    assert isinstance(read, partial) and read.args == (ROOM, BEN, "I want to die")
    assert a.state.handled == set()  # type: ignore[attr-defined]
    assert a._plain(DM, line, now) is None  # a DM line is the dispatcher's, as before
    assert a._plain(ROOM, text("!ping", "$cmd"), now) is None
