"""The scripts cog end to end on each adapter: start, a button or command step, the queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.permissions import Tier
from tests.harness.app import AppFactory
from tests.harness.discord import EPHEMERAL, Circle, DiscordStandin, button_ids
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e


async def test_discord_meeting_start_button_hands_and_next_speaker(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    circle = Circle(discord_standin, app_factory)
    app = await circle.app()
    standin = circle.standin
    alice, bob = circle.user("alice"), circle.user("bob")
    async with standin.client_running(circle.adapter(app).client):
        community = await app.members.community("discord", str(standin.guild.id))
        role = standin.state.role_named(standin.guild, "Facilitator")
        await app.members.bind(community.id, str(role.id), int(Tier.FACILITATOR))
        started = await standin.send_command(
            "script start", {"script": "standard", "meeting": "Tuesday circle"}, user=alice
        )
        opening = await standin.wait_for_interaction_response(started.id)
        message = standin.original_response(started.id)
        assert message is not None
        next_id = button_ids(message)["Next step"]
        refused = await standin.send_component(message, next_id, user=bob)
        denied = await standin.wait_for_interaction_response(refused.id)
        pressed = await standin.send_component(message, next_id, user=alice)
        check_in = await standin.wait_for_interaction_response(pressed.id)
        hand = await circle.reply("hand raise", user="bob")
        speaker = await circle.reply("script next-speaker", user="alice")
        status = await circle.reply("script status", user="bob")
    assert not opening["data"].get("flags")
    assert "Welcome to Tuesday circle" in opening["data"]["content"]
    assert next_id.startswith("scripts:") and next_id.endswith(":0:next")
    assert denied["data"]["flags"] == EPHEMERAL
    assert "this meeting's named facilitator" in denied["data"]["content"]
    assert "Check-in" in check_in["data"]["content"]
    assert "raised a hand" in hand["data"]["content"]
    assert "The floor is yours" in speaker["data"]["content"]
    assert status["data"]["flags"] == EPHEMERAL
    assert "step 2 of 7" in status["data"]["content"]
    assert standin.violations == []


async def test_matrix_meeting_start_steps_hands_and_a_private_refusal(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room  # ana created the room: a moderator, so also a facilitator
        ben = await s.member("ben")
        mark = ana.mark()
        await ana.say(room, "!script start standard Tuesday circle")
        _r, opening = await ana.notice("Welcome to Tuesday circle", room=room, after=mark)
        assert "step 1 of 7" in opening.body
        await ana.say(room, "!script next")
        _r, check_in = await ana.notice("Check-in", room=room, after=mark)
        assert "<strong>Check-in</strong>" in check_in.source["content"]["formatted_body"]

        mark = ben.mark()
        await ben.say(room, "!hand")
        await ben.notice("raised a hand", room=room, after=mark)
        await ben.say(room, "!script next")
        await ben.notice("this meeting's named facilitator", not_room=room, after=mark)

        mark = ana.mark()
        await ana.say(room, "!script next-speaker")
        _r, floor = await ana.notice("The floor is yours", room=room, after=mark)
        await ana.say(room, "!script end")
        await ana.notice("The meeting script has ended", room=room, after=mark)
    assert "Hands up" not in floor.body
