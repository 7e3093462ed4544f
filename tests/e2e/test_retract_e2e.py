"""Deleting reaches the platform: a shared entry's feed post is deleted (Discord) or redacted
(Matrix) when its author deletes the entry, and the author is told so.

Discord also shows a deletion the platform refused for the moment (a 503): the author is told it
will happen, and the next delivery pass does it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from nio import RedactedEvent, RoomGetEventResponse

from tests.harness.discord import EPHEMERAL, Circle
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e

CODE = re.compile(r"([2-9a-z]{6})")


def feed_posts(circle: Circle) -> list[dict[str, Any]]:
    """What the bot posted in #general for everyone (not the private answers)."""
    found = circle.standin.state.bot_messages(circle.general)
    return [m for m in found if not m.get("flags", 0) & EPHEMERAL]


async def test_discord_deleting_an_entry_deletes_its_feed_post(circle: Circle) -> None:
    app = await circle.app()
    adapter = circle.adapter(app)
    standin, general = circle.standin, circle.general
    alice = circle.user("alice")
    journal = app.cogs["journal"]
    async with standin.client_running(adapter.client):
        community = await app.members.community("discord", str(standin.guild.id))
        await app.settings.set(community.id, "journal", "feed_channel", f"discord:{general.id}")
        codes = []
        for text in ("Retractmarker one: the walk helped.", "Retractmarker two: still here."):
            saved = await journal.service.write(f"discord:{alice.id}", community.id, text)  # type: ignore[attr-defined]
            codes.append(saved.entry.code)
            shared = await circle.reply("journal share", {"id": saved.entry.code}, user="alice")
            assert "Others here see it under your pseudonym" in shared["data"]["content"]
        await app.outbox.deliver_due()
        posts = await standin.wait_for(lambda: len(feed_posts(circle)) == 2 and feed_posts(circle))
        assert "Retractmarker one" in posts[0]["content"]
        assert "Retractmarker two" in posts[1]["content"]

        done = await circle.reply("journal delete", {"id": codes[0]}, user="alice")
        assert [m["id"] for m in feed_posts(circle)] == [posts[1]["id"]]
        assert posts[0]["id"] in [m["id"] for m in standin.state.deleted_messages]

        standin.fail_next("DELETE", rf"/channels/{general.id}/messages/\d+", status=503)
        later = await circle.reply("journal delete", {"id": codes[1]}, user="alice")
        assert [m["id"] for m in feed_posts(circle)] == [posts[1]["id"]]
        await app.outbox.deliver_due()  # the next pass: Discord answers again
        assert feed_posts(circle) == []
    assert done["data"]["flags"] == EPHEMERAL
    assert done["data"]["content"] == (
        "Deleted. It's gone for good. I also deleted 1 message(s) I had already posted with it."
    )
    assert "will be deleted when I reach Discord again" in later["data"]["content"]
    assert standin.violations == []


async def test_matrix_deleting_an_entry_redacts_its_feed_post(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, f"!journal feed-channel {room}")
        await ana.notice("Newly shared entries will appear in", after=mark)
        mark = ana.mark()
        await ana.say(room, "!journal write visibility:shared Redactmarker: a calmer week.")
        dm, saved = await ana.notice("Saved and shared as", not_room=room, after=mark)
        match = CODE.search(saved.body.split("shared as", 1)[1])
        assert match is not None
        _r, post = await ana.notice("Redactmarker: a calmer week.", room=room, after=mark)

        mark = ana.mark()
        await ana.say(dm, f"!journal delete {match.group(1)}")
        _r, answer = await ana.notice("It's gone for good.", room=dm, after=mark)
        assert "I also deleted 1 message(s) I had already posted with it." in answer.body
        fetched = await ana.client.room_get_event(room, post.event_id)
        assert isinstance(fetched, RoomGetEventResponse), fetched
        assert isinstance(fetched.event, RedactedEvent), fetched.event  # no body left
        assert fetched.event.sender == s.bot.user_id
