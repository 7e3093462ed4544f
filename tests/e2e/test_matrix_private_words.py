"""A journal entry typed as a command in a Matrix room, on a real Synapse.

Without the power to redact others' events the bot saves the entry and tells the member in
their DM that the message is still in the room, why, and how to remove it; once a room admin
raises the bot's power level, the next such message is redacted and the member told so. The
entry's words never appear in anything the bot posts in the room.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nio import (
    RedactedEvent,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomMessageText,
    RoomPutStateResponse,
)

from tests.harness.matrix import WAIT_S, Member, scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e


def bot_posts_in_room(member: Member, room: str, bot: str) -> str:
    """Every text the bot posted in the room, as the member's client received it."""
    return "\n".join(
        getattr(event, "body", "")
        for room_id, event in member.seen
        if room_id == room and getattr(event, "sender", "") == bot
    )


async def typed_event(member: Member, room: str, body: str, after: int) -> str:
    """The id of the member's own message `body` in the room, once their client has it."""

    def mine(room_id: str, event: object) -> bool:
        return room_id == room and isinstance(event, RoomMessageText) and event.body == body

    _room, event = await member.wait_for(mine, after)
    return str(event.event_id)


async def test_matrix_a_journal_entry_typed_in_a_room_is_redacted_or_the_member_told(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room, bot = s.ana, s.room, s.bot.user_id
        first = "!journal write I relapsed last night and feel awful"
        mark = ana.mark()
        await ana.say(room, first)
        event_id = await typed_event(ana, room, first, mark)
        dm, _saved = await ana.notice("Saved privately", not_room=room, after=mark)
        _r, note = await ana.notice("still there for others to read", room=dm, after=mark)
        assert "needs power level 50 and mine is 0" in note.body
        assert "choose Remove" in note.body
        fetched = await ana.client.room_get_event(room, event_id)
        assert isinstance(fetched, RoomGetEventResponse), fetched
        assert isinstance(fetched.event, RoomMessageText)  # still there: the bot may not

        levels = await ana.client.room_get_state_event(room, "m.room.power_levels")
        assert isinstance(levels, RoomGetStateEventResponse), levels
        content = dict(levels.content)
        content["users"] = {**content.get("users", {}), bot: 50}
        put = await ana.client.room_put_state(room, "m.room.power_levels", content)
        assert isinstance(put, RoomPutStateResponse), put
        adapter = s.bot.adapter
        assert await adapter.wait_until(
            lambda: adapter.client.rooms[room].power_levels.get_user_level(bot) == 50, WAIT_S
        )

        second = "!journal write Called my sponsor at two in the morning"
        mark = ana.mark()
        await ana.say(room, second)
        event_id = await typed_event(ana, room, second, mark)
        await ana.notice("Saved privately", room=dm, after=mark)
        _r, note = await ana.notice("I removed your message from", room=dm, after=mark)
        assert "direct message" in note.body
        fetched = await ana.client.room_get_event(room, event_id)
        assert isinstance(fetched, RoomGetEventResponse), fetched
        assert isinstance(fetched.event, RedactedEvent), fetched.event  # no body left
        assert fetched.event.redacter == bot

        shown = bot_posts_in_room(ana, room, bot)
        for words in ("relapsed", "feel awful", "sponsor", "two in the morning"):
            assert words not in shown, shown
