"""Replies and edits on Matrix, against a real Synapse, as older clients send them.

A reply carries a quote of the message it answers (the rich-reply fallback) in `body` and an
`<mx-reply>` block in `formatted_body`. The bot must act on the member's words only: a command
sent as a reply runs, a dialogue answer sent as a reply saves just what the member typed, and
an edited DM answer is not dropped without a word.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest

from cogs.worksheets.cog import WorksheetsCog
from tests.harness.matrix import SCRIPT, scene, send, upload
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e


def reply_with_fallback(
    room: str, event_id: str, sender: str, quoted: str, body: str
) -> dict[str, Any]:
    """A reply as clients following the older spec build it: the quote, then the reply."""
    first, *rest = quoted.split("\n")
    quote = "\n".join([f"> <{sender}> {first}", *(f"> {line}" for line in rest)])
    return {
        "msgtype": "m.text",
        "body": f"{quote}\n\n{body}",
        "format": "org.matrix.custom.html",
        "formatted_body": (
            f'<mx-reply><blockquote><a href="https://matrix.to/#/{room}/{event_id}">In reply '
            f'to</a> <a href="https://matrix.to/#/{sender}">{sender}</a><br />'
            f"{html.escape(quoted)}</blockquote></mx-reply>{html.escape(body)}"
        ),
        "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
    }


async def test_a_command_sent_as_a_reply_with_a_fallback_runs(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room  # ana created the room: a moderator
        file_event = await upload(ana, room, "short.toml", SCRIPT.encode())
        mark = ana.mark()
        await send(
            ana,
            room,
            reply_with_fallback(room, file_event, ana.user_id, "sent a file.", "!script import"),
        )
        _where, imported = await ana.notice("Imported short", after=mark)
    assert "Imported short: Short check-in, 1 steps." in imported.body


async def test_a_dm_answer_sent_as_a_reply_saves_only_the_members_words(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room, bot = s.ana, s.room, s.bot
        mark = ana.mark()
        await ana.say(room, "!worksheet start stage_check")
        dm, choice = await ana.notice("Which of these sounds", not_room=room, after=mark)
        mark = ana.mark()
        await send(ana, dm, reply_with_fallback(dm, choice.event_id, bot.user_id, "Which?", "2"))
        _r, question = await ana.notice("What tells you that?", room=dm, after=mark)
        mark = ana.mark()
        answer = "reading about it a lot"
        await send(
            ana, dm, reply_with_fallback(dm, question.event_id, bot.user_id, question.body, answer)
        )
        _r, done = await ana.notice("saved in your toolbox", room=dm, after=mark)
        cog = bot.app.services.cogs["worksheets"]
        assert isinstance(cog, WorksheetsCog)
        item = await cog.toolbox.get(f"matrix:{ana.user_id}", 1)
    assert "#1" in done.body
    assert item.answers == {"stage": "contemplation", "evidence": answer}


async def test_an_edited_dm_answer_is_not_dropped_silently(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!me setup")
        dm, _question = await ana.notice("What name would you like", not_room=room, after=mark)
        mark = ana.mark()
        first = await send(ana, dm, {"msgtype": "m.text", "body": "Rowan"})
        await ana.notice("time zone", room=dm, after=mark)
        mark = ana.mark()
        await send(
            ana,
            dm,
            {
                "msgtype": "m.text",
                "body": "* Willow",
                "m.new_content": {"msgtype": "m.text", "body": "Willow"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": first},
            },
        )
        _r, told = await ana.notice("edited a message", room=dm, after=mark)
    assert "type `back`" in told.body or "type back" in told.body


async def test_a_quoted_message_is_not_read_again_by_the_crisis_check(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    """A member replying to their own earlier words quotes them; only the reply is read."""
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!help")
        dm, _help = await ana.notice("Commands you can use", not_room=room, after=mark)
        mark = ana.mark()
        worry = "I want to end my life"
        first = await send(ana, dm, {"msgtype": "m.text", "body": worry})
        await ana.notice("You don't have to carry this alone", room=dm, after=mark)
        mark = ana.mark()
        await send(ana, dm, reply_with_fallback(dm, first, ana.user_id, worry, "thank you"))
        # Read as the plain "thank you" it is: no second caring answer, the usual pointer.
        _r, pointer = await ana.notice("I only understand commands here", room=dm, after=mark)
    later = [getattr(e, "body", "") for r, e in ana.seen[mark:] if r == dm]
    assert not [t for t in later if "carry this alone" in t]
    assert pointer.sender == s.bot.user_id
