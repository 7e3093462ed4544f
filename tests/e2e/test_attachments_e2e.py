"""Importing from a file on each real platform adapter.

Discord: `/crisis import` with an attached CSV imports it; a file over the cap is refused
without being downloaded. Matrix: a moderator uploads a script to the room and replies to it
with `!script import`; the same command without a file says how to send one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nio import RoomCreateResponse

from bot.core.convert import MAX_FILE_BYTES
from tests.harness.app import AppFactory
from tests.harness.discord import COMMANDS, EPHEMERAL, Circle, DiscordStandin, StandinAttachment
from tests.harness.matrix import SCRIPT, in_room, scene, send, upload
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e

CSV = (
    "id,country,name,category,phone,hours,languages,source,verified_at\n"
    "nz-adult-line,NZ,Adult line,mental_health,0800543354,24/7,en,https://example.org/a,"
    "2026-10-01\n"
)


async def test_discord_crisis_import_reads_the_attached_file_and_refuses_a_large_one(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    circle = Circle(discord_standin, app_factory)
    app = await circle.app(cogs=["general", "crisis"])
    standin = circle.standin
    lines = StandinAttachment("lines.csv", CSV.encode(), "text/csv")
    huge = StandinAttachment("huge.csv", b"x" * (MAX_FILE_BYTES + 1), "text/csv")
    async with standin.client_running(circle.adapter(app).client):
        sent = await standin.send_command(
            "crisis-mod import", {"file": lines}, user=circle.user("owner")
        )
        too_big = await standin.send_command(
            "crisis-mod import", {"file": huge}, user=circle.user("owner")
        )
        imported, refused = [
            await standin.wait_for(
                lambda i=i: (m := standin.original_response(i)) and m["content"] and m
            )
            for i in (sent.id, too_big.id)
        ]
        listed = await circle.reply("crisis list", {"country": "NZ"}, user="bob")
    (put,) = standin.requests("PUT", COMMANDS)
    crisis = next(c for c in put.json if c["name"] == "crisis-mod")
    options = next(o for o in crisis["options"] if o["name"] == "import")["options"]
    assert [(o["name"], o["type"], o.get("required", False)) for o in options] == [
        ("data", 3, False),
        ("file", 11, False),
    ]
    assert imported["flags"] & EPHEMERAL
    assert "Imported 1 entries; 0 problem(s) refused." in imported["content"]
    assert "Adult line" in listed["data"]["content"]
    assert refused["flags"] & EPHEMERAL
    assert (
        "That file is too large for `file`: 2.0 MB, and I accept files up to 2 MB"
        in (refused["content"])
    )
    assert [path.rsplit("/", 1)[1] for path in standin.attachment_downloads] == ["lines.csv"]
    assert standin.violations == []


def reply_to(event_id: str, body: str) -> dict[str, Any]:
    return {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
    }


async def test_matrix_script_import_from_an_uploaded_file_the_command_replies_to(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room  # ana created the room: a moderator
        mark = ana.mark()
        await ana.say(room, "!script import")
        _where, how = await ana.notice("Give the script as TOML text or as a file.", after=mark)
        file_event = await upload(ana, room, "short.toml", SCRIPT.encode())
        mark = ana.mark()
        await send(ana, room, reply_to(file_event, "!script import"))
        _where, imported = await ana.notice("Imported short", after=mark)
        mark = ana.mark()
        await ana.say(room, "!script list")
        _where, listed = await ana.notice("Short check-in", after=mark)
    assert "Upload the file to this room, then reply to it with !script import." in how.body
    assert "<code>!script import</code>" in how.source["content"]["formatted_body"]
    assert "Imported short: Short check-in, 1 steps." in imported.body
    assert "short: Short check-in (15 min, 1 steps, imported)" in listed.body


async def test_matrix_an_encrypted_upload_is_decrypted_for_the_import(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, bot = s.ana, s.bot
        created = await ana.client.room_create(
            name="Private circle",
            invite=[bot.user_id],
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ],
        )
        assert isinstance(created, RoomCreateResponse), created
        room = str(created.room_id)
        await ana.until(lambda: in_room(ana, room, bot.user_id))
        file_event = await upload(ana, room, "short.toml", SCRIPT.encode(), encrypt=True)
        mark = ana.mark()
        await send(ana, room, reply_to(file_event, "!script import"))
        _where, imported = await ana.notice("Imported short", after=mark)
    assert "Imported short: Short check-in, 1 steps." in imported.body
