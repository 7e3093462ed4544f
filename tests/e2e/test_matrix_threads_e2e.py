"""Answers linked to the command, in its thread, in an encrypted room, against a real Synapse.

What Element users expect: the bot's answer is a reply to the command (`m.in_reply_to`), a
command typed in a thread is answered in that thread, and a slow command shows the bot typing
until it answers. Private answers go to the DM and are not linked to the room's event.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nio import MatrixRoom, RoomMessageNotice, TypingNoticeEvent

from tests.harness.matrix import Member, scene, send
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e


def relates_to(event: RoomMessageNotice) -> dict[str, Any]:
    relates = event.source.get("content", {}).get("m.relates_to", {})
    assert isinstance(relates, dict)
    return relates


def in_thread(root: str, body: str) -> dict[str, Any]:
    """A message typed in a thread, as Element sends it (falling back to the latest event)."""
    return {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }


async def raw_event(server: SynapseServer, member: Member, room: str, event_id: str) -> Any:
    """The event as the homeserver stores it (still encrypted in an encrypted room)."""
    url = f"{server.base_url}/_matrix/client/v3/rooms/{room}/event/{event_id}"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_answers_are_replies_to_the_command_and_stay_in_its_thread(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path, encrypted=True) as s:
        ana, room = s.ana, s.room
        assert ana.client.rooms[room].encrypted

        mark = ana.mark()
        command = await send(ana, room, {"msgtype": "m.text", "body": "!ping"})
        _r, pong = await ana.notice("pong", room=room, after=mark)
        assert getattr(pong, "decrypted", False)
        assert relates_to(pong) == {"m.in_reply_to": {"event_id": command}}
        # The link is also on the encrypted envelope, so the server and clients see it unread.
        stored = await raw_event(synapse, ana, room, pong.event_id)
        assert stored["type"] == "m.room.encrypted"
        assert stored["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": command}}

        root = await send(ana, room, {"msgtype": "m.text", "body": "Tuesday check-in thread"})
        mark = ana.mark()
        threaded = await send(ana, room, in_thread(root, "!ping"))
        _r, pong = await ana.notice("pong", room=room, after=mark)
        assert relates_to(pong) == {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": False,
            "m.in_reply_to": {"event_id": threaded},
        }
        stored = await raw_event(synapse, ana, room, pong.event_id)
        assert stored["content"]["m.relates_to"]["rel_type"] == "m.thread"
        assert stored["content"]["m.relates_to"]["event_id"] == root

        # A private answer: the DM is not linked to the room's event; the pointer in the room
        # is, in the thread the command was typed in.
        mark = ana.mark()
        helped = await send(ana, room, in_thread(root, "!help"))
        dm, private = await ana.notice("Commands you can use", not_room=room, after=mark)
        _r, pointer = await ana.notice("I've sent you a private reply.", room=room, after=mark)
    assert s.bot.adapter.is_dm(dm)
    assert "m.relates_to" not in private.source.get("content", {})
    assert relates_to(pointer) == {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": False,
        "m.in_reply_to": {"event_id": helped},
    }


async def test_a_slow_command_shows_the_bot_typing_until_it_answers(
    synapse: SynapseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with scene(synapse, tmp_path, encrypted=True) as s:
        ana, room, bot = s.ana, s.room, s.bot
        # (position in ana.seen when it arrived, whether the bot was typing)
        typing: list[tuple[int, bool]] = []

        async def record(in_room: MatrixRoom, event: TypingNoticeEvent) -> None:
            if in_room.room_id == room:
                typing.append((ana.mark(), bot.user_id in event.users))

        ana.client.add_ephemeral_callback(record, TypingNoticeEvent)
        dispatcher = bot.app.dispatcher
        handle_text = dispatcher.handle_text

        async def slowly(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(3.0)  # a command that takes a while to work out its answer
            return await handle_text(*args, **kwargs)

        monkeypatch.setattr(dispatcher, "handle_text", slowly)
        mark = ana.mark()
        await ana.say(room, "!ping")
        await ana.until(lambda: any(on for _at, on in typing))
        first = next(i for i, (_at, on) in enumerate(typing) if on)
        _r, pong = await ana.notice("pong", room=room, after=mark)
        answered = next(i for i, (_r, e) in enumerate(ana.seen) if e is pong)
        await ana.until(lambda: any(not on for _at, on in typing[first:]))
    assert typing[first][0] <= answered  # typing was shown before the answer arrived
    assert typing[-1][1] is False  # and withdrawn once it did
