"""The journal's main path on each real platform adapter.

Discord: `/journal write` opens a DM dialogue whose first question offers a form for long text;
the shared entry then shows in another member's `/journal feed` under "a member". Matrix: an
entry shared from the room, read by a second member, whose feedback reaches the author's DM.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness.discord import EPHEMERAL, Circle, button_ids
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e

CODE = re.compile(r"([2-9a-z]{6})")


async def test_discord_write_through_the_form_share_and_read_in_the_feed(circle: Circle) -> None:
    app = await circle.app()
    adapter = circle.adapter(app)
    alice, dm = circle.user("alice"), circle.dm("alice")
    standin = circle.standin
    entry = "\n".join(f"Paragraph {n}: the evening walk helped, slowly." for n in range(12))
    async with standin.client_running(adapter.client):
        pointer = await circle.reply("journal write", user="alice")
        _intro, question = await circle.bot_messages(dm, 2)
        pressed = await standin.send_component(
            question, button_ids(question)["Write a longer answer"], user=alice
        )
        form = await standin.wait_for_interaction_response(pressed.id)
        submitted = await standin.send_modal_submit(
            form["data"]["custom_id"], {"text": entry}, user=alice, dm=True
        )
        added = await standin.wait_for_interaction_response(submitted.id)
        await circle.bot_messages(dm, 3)  # "Added (1)" after the form
        for n, answer in enumerate(["done", "skip", "skip", "shared"], start=4):
            await standin.send_message_create(dm, alice, answer)
            await circle.bot_messages(dm, n)
        saved = standin.state.bot_messages(dm)[-1]["content"]
        code = CODE.search(saved.split("shared as", 1)[1])
        assert code is not None, saved
        feed = await circle.reply("journal feed", user="bob")
        hidden = await circle.reply("journal read", {"id": "zzzzzz"}, user="bob")
        own = await circle.reply("journal read", {"id": code.group(1)}, user="alice")
    assert pointer["data"]["flags"] == EPHEMERAL
    assert form["type"] == 9
    assert "Added (1)" in added["data"]["content"]
    assert "Saved and shared" in saved
    assert feed["data"]["flags"] == EPHEMERAL
    assert "Paragraph 0: the evening walk helped" in feed["data"]["content"]
    assert "by a member" in feed["data"]["content"] and "alice" not in feed["data"]["content"]
    assert "I can't find an entry `zzzzzz`" in hidden["data"]["content"]
    assert "Paragraph 11: the evening walk helped, slowly." in own["data"]["content"]
    assert standin.violations == []


async def test_matrix_share_read_and_feedback_reaches_the_author(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        ben = await s.member("ben")
        mark = ana.mark()
        await ana.say(room, "!journal write visibility:shared Today felt lighter than last week.")
        dm, saved = await ana.notice("Saved and shared as", not_room=room, after=mark)
        match = CODE.search(saved.body.split("shared as", 1)[1])
        assert match is not None
        code = match.group(1)

        mark = ben.mark()
        await ben.say(room, "!journal feed")
        _r, feed = await ben.notice("Today felt lighter", not_room=room, after=mark)
        assert "by a member" in feed.body and ana.user_id not in feed.body

        mark = ana.mark()
        await ben.say(room, f"!journal feedback {code} That sounds like real progress.")
        where, told = await ana.notice("left feedback on your shared entry", after=mark)
        assert where == dm
        assert "That sounds like real progress." in told.body
        assert getattr(told, "decrypted", False)


async def test_discord_group_write_without_a_group_goes_to_the_members_only_group(
    circle: Circle,
) -> None:
    app = await circle.app()
    adapter = circle.adapter(app)
    async with circle.standin.client_running(adapter.client):
        await circle.reply("group create", {"name": "Tuesdays"}, user="alice")
        saved = await circle.reply("group write", {"text": "Week was hard"}, user="alice")
        read = await circle.reply("group read", user="alice")
    assert "Saved to the group journal **Tuesdays**" in saved["data"]["content"]
    assert "Week was hard" in read["data"]["content"]
    assert circle.standin.violations == []
