"""The facilitator's script panel as members meet it: one message, edited in place.

Discord (discord.py's real client on the stand-in): pressing a button edits the pressed message
(an "update message" response), a timed step shows a `<t:...:R>` timer, a new panel greys out
the previous one's buttons, and a press on an old panel is refused privately.
Matrix (real Synapse, encrypted room): reactions on the bot's panel are its buttons, with the
same tier checks and stale-press rules, and the panel is edited in place with `m.replace`.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.core.permissions import Tier
from tests.harness.discord import EPHEMERAL, Circle, DiscordStandin, button_ids, walk

pytestmark = pytest.mark.e2e

UPDATE_MESSAGE = 7


def buttons_disabled(message: dict[str, Any]) -> list[bool]:
    return [bool(c.get("disabled")) for c in walk(message["components"]) if c.get("type") == 2]


async def test_discord_panel_is_edited_in_place_and_old_panels_go_grey(
    discord_standin: DiscordStandin, circle: Circle
) -> None:
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
        await standin.wait_for_interaction_response(started.id)
        panel = standin.original_response(started.id)
        assert panel is not None
        first_next = button_ids(panel)["Next step"]
        as_first_seen = copy.deepcopy(panel)  # a second press in flight sees this
        posted_before = len(standin.state.bot_messages(circle.general))

        pressed = await standin.send_component(panel, first_next, user=alice)
        update = await standin.wait_for_interaction_response(pressed.id)
        edited = standin.state.find_message(int(panel["id"]))
        assert edited is not None
        assert update["type"] == UPDATE_MESSAGE
        assert "Check-in" in edited["content"] and "Welcome to" not in edited["content"]
        assert "<t:" in edited["content"] and ":R>" in edited["content"]  # a timed step
        assert button_ids(edited)["Next step"].endswith(":1:next")
        assert len(standin.state.bot_messages(circle.general)) == posted_before

        # A second press that was in flight before the edit (a co-facilitator clicking the
        # same moment): its step is over, so it is refused privately and moves nothing.
        stale = await standin.send_component(as_first_seen, first_next, user=alice)
        refused = await standin.wait_for_interaction_response(stale.id)
        assert refused["data"]["flags"] == EPHEMERAL
        assert "earlier step" in refused["data"]["content"]
        assert "Check-in" in (standin.state.find_message(int(panel["id"])) or {})["content"]

        # The meeting starts again: a new panel, and the old one's buttons are greyed out.
        before_retired = copy.deepcopy(standin.state.find_message(int(panel["id"])))
        assert before_retired is not None
        ended = await circle.reply("script end", user="alice")
        assert "has ended" in ended["data"]["content"]
        restarted = await standin.send_command("script start", {"script": "standard"}, user=alice)
        await standin.wait_for_interaction_response(restarted.id)
        new_panel = standin.original_response(restarted.id)
        assert new_panel is not None and new_panel["id"] != panel["id"]
        old = await standin.wait_for(
            lambda: (
                (m := standin.state.find_message(int(panel["id"])))
                and all(buttons_disabled(m))
                and m
            )
        )
        assert buttons_disabled(old) and "Check-in" in old["content"]
        assert not any(buttons_disabled(new_panel))

        # A press in flight on the old panel when it was retired: refused privately.
        for user in (alice, bob):
            late = await standin.send_component(
                before_retired, button_ids(old)["Next step"], user=user
            )
            answer = await standin.wait_for_interaction_response(late.id)
            assert answer["data"]["flags"] == EPHEMERAL
            assert "earlier panel" in answer["data"]["content"]
        live = standin.state.find_message(int(new_panel["id"]))
        assert live is not None and "step 1 of 7" in live["content"]

        # A member's press on the live panel is refused for a facilitator action.
        denied = await standin.send_component(
            new_panel, button_ids(new_panel)["Next step"], user=bob
        )
        no = await standin.wait_for_interaction_response(denied.id)
        assert no["data"]["flags"] == EPHEMERAL
        assert "Only this meeting's facilitator" in no["data"]["content"]
    assert standin.violations == []
