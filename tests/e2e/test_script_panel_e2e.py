"""The facilitator's script panel as members meet it: one message, edited in place.

Discord (discord.py's real client on the stand-in): pressing a button edits the pressed message
(an "update message" response), a timed step shows a `<t:...:R>` timer, a new panel greys out
the previous one's buttons, and a press on an old panel is refused privately.
Matrix (real Synapse, encrypted room): reactions on the bot's panel are its buttons, with the
same tier checks and stale-press rules, and the panel is edited in place with `m.replace`.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nio import RoomMessageNotice

from bot.core.dispatch import Incoming
from bot.core.permissions import Tier
from tests.harness.discord import EPHEMERAL, Circle, DiscordStandin, button_ids, walk
from tests.harness.matrix import Member, scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e

UPDATE_MESSAGE = 7
NEXT = "\u23ed\ufe0f"  # the emoji of the Next step button
RESUME = "\u25b6\ufe0f"


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
        shown = {c["custom_id"]: c for c in walk(panel["components"]) if c.get("type") == 2}
        assert shown[first_next]["emoji"]["name"] == NEXT  # the emoji a Matrix reaction uses
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
        assert "this meeting's named facilitator" in no["data"]["content"]
    assert standin.violations == []


async def react(member: Member, room: str, event_id: str, key: str, *, encrypt: bool) -> str:
    """React as a member's client does: encrypted like Element in an encrypted room (the
    relation also on the clear envelope), or plain like matrix-nio; the reaction's id."""
    relation = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
    content: dict[str, Any] = {"m.relates_to": relation}
    event_type = "m.reaction"
    if encrypt:
        event_type, content = member.client.encrypt(room, "m.reaction", content)
        content = {**content, "m.relates_to": relation}
    url = (
        f"{member.server.base_url}/_matrix/client/v3/rooms/{room}/send/{event_type}/"
        f"{uuid.uuid4().hex}"
    )
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with aiohttp.ClientSession() as http, http.put(url, json=content, headers=headers) as r:
        assert r.status == 200, await r.text()
        return str((await r.json())["event_id"])


def edits_of(member: Member, room: str, event_id: str) -> list[RoomMessageNotice]:
    """The bot's edits (`m.replace`) of one of its messages, as a member received them."""
    return [
        e
        for r, e in member.seen
        if r == room
        and isinstance(e, RoomMessageNotice)
        and e.source["content"].get("m.relates_to", {}).get("rel_type") == "m.replace"
        and e.source["content"]["m.relates_to"].get("event_id") == event_id
    ]


async def test_matrix_reactions_press_the_panel_in_an_encrypted_room(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path, encrypted=True) as s:
        ana, room = s.ana, s.room  # ana created the room: a moderator, so also a facilitator
        ben = await s.member("ben")
        mark = ana.mark()
        await ana.say(room, "!script start standard Tuesday circle")
        _r, panel = await ana.notice("Welcome to Tuesday circle", room=room, after=mark)
        assert getattr(panel, "decrypted", False)
        assert "React to choose" in panel.body and "(!script next)" in panel.body
        assert "<code>!script next</code>" in panel.source["content"]["formatted_body"]

        # The facilitator's reaction presses Next: the same message is edited in place.
        pressed = await react(ana, room, panel.event_id, NEXT, encrypt=True)
        await ana.until(lambda: bool(edits_of(ana, room, panel.event_id)))
        edit = edits_of(ana, room, panel.event_id)[0]
        assert getattr(edit, "decrypted", False)  # the edit is encrypted like the panel
        new = edit.source["content"]["m.new_content"]
        assert "Check-in" in new["body"] and "Welcome to" not in new["body"]
        assert "(!script next)" in new["body"] and edit.body.startswith("* ")

        # A member's reaction asks for a facilitator action: refused in ben's DM only.
        mark_ben = ben.mark()
        await react(ben, room, panel.event_id, NEXT, encrypt=False)
        await ben.notice("this meeting's named facilitator", not_room=room, after=mark_ben)
        await ben.say(room, "!ping")  # same lane as the reaction: answered after it
        await ben.notice("pong", room=room, after=mark_ben)
        in_room = [
            e.body
            for r, e in ben.seen[mark_ben:]
            if r == room and isinstance(e, RoomMessageNotice)
        ]
        assert not any("private reply" in body for body in in_room)
        assert len(edits_of(ana, room, panel.event_id)) == 1  # the step did not move

        # A typed command posts a new panel; a reaction on the old one is then refused.
        mark = ana.mark()
        await ana.say(room, "!script pause")
        _r, paused = await ana.notice("The script is paused", room=room, after=mark)
        await ana.until(lambda: len(edits_of(ana, room, panel.event_id)) == 2)
        retired = edits_of(ana, room, panel.event_id)[1].source["content"]["m.new_content"]
        assert "Check-in" in retired["body"] and "React to choose" not in retired["body"]
        # Clicking the reaction again: Element takes the first one back, then sends a new one.
        # (The bot has no power to redact it here, so the first press stayed.)
        await ana.client.room_redact(room, pressed)
        await react(ana, room, panel.event_id, NEXT, encrypt=True)
        await ana.notice("earlier panel", not_room=room, after=mark)
        await react(ana, room, paused.event_id, RESUME, encrypt=True)
        await ana.until(lambda: bool(edits_of(ana, room, paused.event_id)))
        resumed = edits_of(ana, room, paused.event_id)[0].source["content"]["m.new_content"]
        assert "We're back" in resumed["body"] and "Check-in" in resumed["body"]


async def test_discord_a_slow_press_still_edits_the_panel_and_leaves_no_trace(
    discord_standin: DiscordStandin, circle: Circle
) -> None:
    """A press whose work outlasts Discord's window is acknowledged privately first; the
    panel is then edited as a message, and the private "thinking..." is taken away."""
    app = await circle.app()
    standin = circle.standin
    adapter = circle.adapter(app, ack_after=0)
    handle_action = app.dispatcher.handle_action

    async def after_acknowledgement(incoming: Incoming, action_id: str) -> None:
        pressed = max(standin.state.interactions.values(), key=lambda r: r.id)
        await standin.wait_for(lambda: pressed.callbacks)
        await handle_action(incoming, action_id)

    app.dispatcher.handle_action = after_acknowledgement  # type: ignore[method-assign]
    async with standin.client_running(adapter.client):
        await circle.reply("script start", {"script": "standard"}, user="owner")
        panel = await standin.wait_for(
            lambda: next(
                (m for m in standin.state.bot_messages(circle.general) if m["components"]), None
            )
        )
        pressed = await standin.send_component(
            panel, button_ids(panel)["Next step"], user=circle.user("owner")
        )
        deferral = await standin.wait_for_interaction_response(pressed.id)
        edited = await standin.wait_for(
            lambda: (
                (m := standin.state.find_message(int(panel["id"])))
                and "Check-in" in m["content"]
                and m
            )
        )
        thinking = standin.state.interactions[pressed.id].original_message_id
        await standin.wait_for(
            lambda: any(int(m["id"]) == thinking for m in standin.state.deleted_messages)
        )
    assert deferral["type"] == 5 and deferral["data"]["flags"] == EPHEMERAL
    assert button_ids(edited)["Next step"].endswith(":1:next")
    assert standin.violations == []


async def test_discord_the_live_panel_is_remembered_across_a_restart(
    discord_standin: DiscordStandin, circle: Circle
) -> None:
    app = await circle.app()
    standin = circle.standin
    async with standin.client_running(circle.adapter(app).client):
        started = await standin.send_command(
            "script start", {"script": "standard"}, user=circle.user("owner")
        )
        await standin.wait_for_interaction_response(started.id)
        panel = standin.original_response(started.id)
        assert panel is not None and not any(buttons_disabled(panel))
    async with standin.client_running(circle.adapter(app).client):  # a new process
        paused = await circle.reply("script pause", user="owner")
        assert "paused" in paused["data"]["content"]
        old = await standin.wait_for(
            lambda: (
                (m := standin.state.find_message(int(panel["id"])))
                and all(buttons_disabled(m))
                and m
            )
        )
    assert "step 1 of 7" in old["content"]
    assert standin.violations == []


async def test_matrix_a_panel_from_before_a_restart_still_answers_reactions(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path, encrypted=True) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!script start standard")
        _r, panel = await ana.notice("step 1 of 7", room=room, after=mark)
        await s.bot.stop()
        await s.bot.start()  # a new process: the panel is known only from what was saved
        await react(ana, room, panel.event_id, NEXT, encrypt=True)
        await ana.until(lambda: bool(edits_of(ana, room, panel.event_id)))
        new = edits_of(ana, room, panel.event_id)[0].source["content"]["m.new_content"]
        assert "Check-in" in new["body"]
