"""Asking for help never fails, on each real platform adapter.

Discord (stand-in): `/help-now words:` and `/crisis now words:` are registered as optional free
text; `/crisis now words: help me` shows the member's own lines and emergency number; a distress
pseudonym gets the private answer and is not set. Matrix (Synapse): `!crisis help me` sends the
lines to the member's DM; `!me name` with a crisis phrase is answered there and not published.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nio import RoomMessageNotice

from tests.harness.discord import COMMANDS, EPHEMERAL, Circle
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e

CARING = "You don't have to carry this alone"
WITHHELD = "haven't shown those words to anyone"


async def test_discord_crisis_with_words_and_a_distress_pseudonym(circle: Circle) -> None:
    app = await circle.app(cogs=["general", "crisis"])
    adapter = circle.adapter(app)
    standin = circle.standin
    async with standin.client_running(adapter.client):
        await circle.reply("me country", {"country": "US"}, user="alice")
        now = await circle.reply("crisis now", {"words": "help me"}, user="alice")
        urgent = await circle.reply(
            "help-now", {"words": "my friend took too many pills"}, user="alice"
        )
        sent = await standin.send_command(
            "me name", {"pseudonym": "i want to kill myself"}, user=circle.user("bob")
        )
        named = await standin.wait_for_interaction_response(sent.id)
        (withheld,) = await standin.wait_for(lambda: standin.followups(sent.id))
    (put,) = standin.requests("PUT", COMMANDS)
    by_name = {c["name"]: c for c in put.json}
    help_now = [
        (o["name"], o["type"], o.get("required", False)) for o in by_name["help-now"]["options"]
    ]
    assert help_now == [("words", 3, False)]
    crisis_now = next(o for o in by_name["crisis"]["options"] if o["name"] == "now")
    assert [o["name"] for o in crisis_now["options"]] == ["words"]
    for reply in (now, urgent, named):
        assert reply["data"]["flags"] & EPHEMERAL
    text = now["data"]["content"]
    assert "**Lines in United States**" in text and "Montenegro" not in text
    assert "Emergency number in United States: **911**." in text
    first = urgent["data"]["content"].split("\n")[0]
    assert first.startswith("If someone may have taken too much") and "**911**" in first
    assert CARING in named["data"]["content"]
    assert WITHHELD in withheld["content"] and withheld["flags"] & EPHEMERAL
    info = await app.members.community("discord", str(circle.general.guild_id))
    assert await app.members.pseudonym(info.id, f"discord:{circle.user('bob').id}") is None
    public = [
        m for m in standin.state.bot_messages(circle.general) if not m.get("flags", 0) & EPHEMERAL
    ]
    assert public == []
    assert standin.violations == []


async def test_matrix_crisis_help_me_and_a_distress_pseudonym(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!me country US")
        await ana.notice("Your country is now", after=mark)
        mark = ana.mark()
        await ana.say(room, "!crisis help me")
        dm, lines = await ana.notice("Lines in United States", not_room=room, after=mark)
        assert "Emergency number in United States: 911." in lines.body
        assert "Too many values" not in lines.body and "Montenegro" not in lines.body
        mark = ana.mark()
        await ana.say(room, "!me name i want to kill myself")
        where, answer = await ana.notice(CARING, after=mark)
        assert where == dm and "911" in answer.body
        where, _withheld = await ana.notice(WITHHELD, after=mark)
        assert where == dm
        mark = ana.mark()
        await ana.say(room, "!me show")
        _where, shown = await ana.notice("Your settings", after=mark)
        assert "kill" not in shown.body
        in_room = [e.body for r, e in ana.seen if r == room and isinstance(e, RoomMessageNotice)]
        assert not any("kill" in body for body in in_room), in_room
