"""The worksheets cog end to end on each adapter: a worksheet in DMs, the toolbox, the chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.app import AppFactory
from tests.harness.discord import EPHEMERAL, Circle, DiscordStandin, button_ids
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.e2e

DEFERRED_CHANNEL_MESSAGE = 5  # Discord's interaction callback type: "thinking...", answer later
CHART_WITHIN_SECONDS = 60.0


async def test_discord_worksheet_in_dms_with_a_button_then_toolbox_and_chart(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    circle = Circle(discord_standin, app_factory)
    app = await circle.app()
    standin = circle.standin
    alice, dm = circle.user("alice"), circle.dm("alice")
    async with standin.client_running(circle.adapter(app).client):
        pointer = await circle.reply("worksheet start", {"name": "stage_check"}, user="alice")
        intro, question = await circle.bot_messages(dm, 2)
        choice = button_ids(question)["I'm thinking about changing"]
        pressed = await standin.send_component(question, choice, user=alice)
        await standin.wait_for_interaction_response(pressed.id)
        await standin.send_message_create(dm, alice, "reading about it a lot")
        done = await standin.wait_for(
            lambda: next(
                (m for m in standin.state.bot_messages(dm) if "Tools that often" in m["content"]),
                None,
            )
        )
        view = await circle.reply("toolbox view", {"id": 1}, user="alice")
        logged = await circle.reply(
            "urge log", {"intensity": 6, "details": "after work; walked it off"}, user="alice"
        )
        sent = await standin.send_command("urge insights", user=alice)
        deferred = await standin.wait_for_interaction_response(sent.id)
        # The chart is drawn in a worker thread after the command deferred (Discord then allows
        # 15 minutes), and matplotlib's first import and drawing take several seconds on a
        # loaded machine: a liveness bound, not a timing goal.
        await wait_until(
            lambda: (m := standin.original_response(sent.id)) and m["attachments"],
            within_seconds=CHART_WITHIN_SECONDS,
            what="the urge chart",
        )
        insights = standin.original_response(sent.id)
    assert pointer["data"]["flags"] == EPHEMERAL and "direct message" in pointer["data"]["content"]
    assert "Change isn't a straight line" in intro["content"]
    assert "worksheet start cba" in done["content"]
    assert view["data"]["flags"] == EPHEMERAL
    embed = view["data"]["embeds"][0]
    assert embed["title"] == "#1 Where am I now?"
    assert any("reading about it a lot" in f["value"] for f in embed["fields"])
    assert logged["data"]["flags"] == EPHEMERAL and "Logged as **#2**" in logged["data"]["content"]
    assert deferred["type"] == DEFERRED_CHANNEL_MESSAGE and deferred["data"]["flags"] == EPHEMERAL
    assert insights is not None and insights["attachments"][0]["filename"] == "urge-insights.png"
    assert "You have logged 1 urge." in insights["content"]
    assert not [
        m for m in standin.state.bot_messages(circle.general) if "reading" in m.get("content", "")
    ]
    assert standin.violations == []


async def test_matrix_worksheet_over_an_encrypted_dm_and_a_private_toolbox(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!worksheet start stage_check")
        dm, question = await ana.notice("Which of these sounds", not_room=room, after=mark)
        assert ana.client.rooms[dm].encrypted and getattr(question, "decrypted", False)
        mark = ana.mark()
        await ana.say(dm, "2")
        await ana.notice("What tells you that?", room=dm, after=mark)
        mark = ana.mark()
        await ana.say(dm, "reading about it a lot")
        _r, done = await ana.notice("Tools that often help", room=dm, after=mark)
        assert "worksheet start cba" in done.body
        mark = ana.mark()
        await ana.say(room, "!toolbox view 1")
        where, card = await ana.notice("Where am I now?", after=mark)
        assert where == dm and "reading about it a lot" in card.body
        room_texts = [getattr(e, "body", "") for r, e in ana.seen if r == room]
        assert not [t for t in room_texts if "reading about" in t or "Which of these" in t]
