"""The crisis cog's main path on each real platform adapter: lines privately, phrase answers in DM.

Discord: `/crisis now` answers ephemerally; a crisis phrase in the DM is answered in the DM and
nothing reaches the public channel. Matrix: `!crisis` in a room goes to the member's DM with a
short pointer in the room, and a crisis phrase in that DM gets the calm answer there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.discord import EPHEMERAL, Circle
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer
from tests.harness.waiting import quiet_period

pytestmark = pytest.mark.e2e

NOT_A_SERVICE = "not a crisis service"
ANSWER = "You don't have to carry this alone"


async def test_discord_crisis_lines_are_ephemeral_and_a_phrase_is_answered_in_the_dm(
    circle: Circle,
) -> None:
    app = await circle.app()
    adapter = circle.adapter(app)
    standin = circle.standin
    alice, dm = circle.user("alice"), circle.dm("alice")
    async with standin.client_running(adapter.client):
        await circle.reply("me country", {"country": "GB"}, user="alice")
        lines = await circle.reply("crisis now", user="alice")
        await standin.send_message_create(dm, alice, "I don't want to be alive anymore")
        # Only the calm answer: no "I only understand commands" after it.
        await circle.bot_messages(dm, 1)
        await quiet_period(lambda: len(standin.state.bot_messages(dm)))
        answered = standin.state.bot_messages(dm)
    assert lines["data"]["flags"] == EPHEMERAL
    content = lines["data"]["content"]
    assert "**Samaritans**: call **116 123**" in content and NOT_A_SERVICE in content
    assert "findahelpline.com" in content
    assert len(answered) == 1
    assert ANSWER in answered[0]["content"]
    public = [
        m for m in standin.state.bot_messages(circle.general) if not m.get("flags", 0) & EPHEMERAL
    ]
    assert public == []
    assert standin.violations == []


async def test_discord_help_words_in_the_dm_get_the_lines(circle: Circle) -> None:
    app = await circle.app()
    adapter = circle.adapter(app)
    standin = circle.standin
    alice, dm = circle.user("alice"), circle.dm("alice")
    async with standin.client_running(adapter.client):
        await circle.reply("me country", {"country": "GB"}, user="alice")
        await standin.send_message_create(dm, alice, "help me please")
        await circle.bot_messages(dm, 1)
        await quiet_period(lambda: len(standin.state.bot_messages(dm)))
        answered = standin.state.bot_messages(dm)
    assert len(answered) == 1
    assert "116 123" in answered[0]["content"] and NOT_A_SERVICE in answered[0]["content"]
    assert "only understand commands" not in answered[0]["content"]
    assert standin.violations == []


async def test_matrix_crisis_goes_to_the_dm_and_a_phrase_there_is_answered(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!me country US")
        await ana.notice("Your country is now", after=mark)
        mark = ana.mark()
        await ana.say(room, "!crisis")
        dm, lines = await ana.notice("988 Suicide & Crisis Lifeline", not_room=room, after=mark)
        assert NOT_A_SERVICE in lines.body and "findahelpline.com" in lines.body
        assert "988" in lines.body
        mark = ana.mark()
        await ana.say(dm, "I want to end my life")
        where, answer = await ana.notice(ANSWER, after=mark)
        assert where == dm
        assert "988" in answer.body and NOT_A_SERVICE in answer.body
        mark = ana.mark()
        await ana.say(dm, "Help me!")  # plain words asking for help: the lines, not a refusal
        where, asked = await ana.notice("to see what else I can do", after=mark)
        assert where == dm and "988" in asked.body
        assert "only understand commands" not in asked.body
