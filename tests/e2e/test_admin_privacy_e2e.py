"""Set-up, the audit log and `mydata` on each real platform adapter.

Discord: the guild owner (Manage Server) runs `/setup` and `/audit list`, a channel whose
overwrite denies the bot Send Messages is refused with that reason, a member whose client shows
a moderator command (an admin overrode `default_member_permissions`) is still refused by the
bot, and the member's export arrives as two files in their DM before erase removes everything.
Matrix: the room creator changes a setting and reads the audit log, a room the bot may not post
in is refused, and a member gets both export files in the encrypted DM, then erases.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nio import RoomEncryptedFile, RoomGetStateEventResponse, RoomPutStateResponse
from nio.crypto.attachments import decrypt_attachment

from bot.app import App
from cogs.privacy.cog import PrivacyCog
from tests.harness.db import snapshot
from tests.harness.discord import (
    COMMANDS,
    EPHEMERAL,
    SEND_MESSAGES,
    Circle,
    StandinChannel,
    StandinState,
)
from tests.harness.matrix import WAIT_S, download, scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e

ERASE_CODE = re.compile(r"mydata erase confirm ([2-9a-z]{6})")
ERASED = "Everything stored about you is erased"


@dataclass
class LockedChannel(StandinChannel):
    """A text channel whose overwrite denies one role Send Messages."""

    denied_role: int = 0

    def payload(self, state: StandinState) -> dict[str, Any]:
        data = super().payload(state)
        data["permission_overwrites"] = [
            {"id": str(self.denied_role), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)}
        ]
        return data


def db_bytes(path: Path) -> bytes:
    """The SQLite file and its write-ahead log, as stored on disk."""
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )


async def exported(app: App, actor_key: str) -> str:
    privacy = app.cogs["privacy"]
    assert isinstance(privacy, PrivacyCog)
    return json.dumps(await privacy.service.export(actor_key), ensure_ascii=False)


async def test_discord_setup_audit_refusals_export_and_erase(
    circle: Circle, tmp_path: Path
) -> None:
    standin = circle.standin
    state, guild = standin.state, standin.guild
    announcements = state.add_text_channel(guild, "announcements")
    plain = state.add_text_channel(guild, "quiet")
    quiet = LockedChannel(**vars(plain), denied_role=state.role_named(guild, "CircleBot").id)
    state.channels[quiet.id] = quiet
    app = await circle.app()
    bob, dm = circle.user("bob"), circle.dm("bob")
    bob_key = f"discord:{bob.id}"
    name, entry = "Bobcanary7qx", "A slow walk helped today, canary8qx."
    async with standin.client_running(circle.adapter(app).client):
        saved = await circle.reply(
            "setup",
            {"timezone": "Europe/Berlin", "announce_channel": announcements},
            user="owner",
        )
        locked = await circle.reply("setup", {"modlog_channel": quiet}, user="owner")
        audit = await circle.reply("audit list", user="owner")

        await circle.reply("me name", {"pseudonym": name}, user="bob")
        await circle.reply("journal write", {"text": entry}, user="bob")
        before = await snapshot(app)
        overridden = await circle.reply(
            "settings set", {"key": "timezone", "value": "Asia/Tokyo"}, user="bob"
        )
        assert await snapshot(app) == before

        sent = await standin.send_command("mydata export", user=bob)
        await standin.wait_for(lambda: (m := standin.original_response(sent.id)) and m["content"])
        pointer = standin.original_response(sent.id)
        first = await circle.reply("mydata erase", user="bob")
        code = ERASE_CODE.search(first["data"]["content"])
        assert code is not None, first
        done = await circle.reply("mydata erase", {"code": code.group(1)}, user="bob")

    # the owner's set-up, the channel the bot cannot post in, and the audit log
    assert saved["data"]["flags"] == EPHEMERAL
    assert saved["data"]["embeds"][0]["title"] == "Saved 2 settings."
    community = await app.members.community("discord", str(guild.id))
    assert community.timezone == "Europe/Berlin"
    assert await app.settings.get(community.id, "admin", "announce_channel") == (
        f"discord:{announcements.id}"
    )
    refusal = locked["data"]["content"]
    assert "I can't post in #quiet (`modlog_channel`), so nothing was changed." in refusal
    assert refusal.endswith("My role is missing these permissions there: Send Messages.")
    assert await app.settings.get(community.id, "admin", "modlog_channel") is None
    listed = audit["data"]["content"]
    assert "`settings.set` `timezone=Europe/Berlin`" in listed
    assert f"`announce_channel=discord:{announcements.id}`" in listed
    assert "modlog_channel" not in listed and audit["data"]["flags"] == EPHEMERAL

    # the client showed bob a moderator command; the bot's own check refuses it all the same
    (put,) = standin.requests("PUT", COMMANDS)
    (settings,) = [c for c in put.json if c["name"] == "settings"]
    assert str(settings["default_member_permissions"]) == "32"  # only a hint to clients
    assert overridden["data"]["content"] == "Only a moderator can use `settings set`."
    assert overridden["data"]["flags"] == EPHEMERAL

    # the export: two files in the DM only, with everything decrypted
    assert pointer is not None and "direct message" in pointer["content"]
    posts = standin.requests("POST", rf"/channels/{dm.id}/messages")
    files = {f.filename: f.data for post in posts for f in post.files}
    (json_name,) = [n for n in files if n.endswith(".json")]
    (md_name,) = [n for n in files if n.endswith(".md")]
    assert json_name.startswith("circlebot-mydata-") and md_name.startswith("circlebot-mydata-")
    assert [a["filename"] for m in state.bot_messages(dm) for a in m["attachments"]] == [
        json_name,
        md_name,
    ]
    data = json.dumps(json.loads(files[json_name]), ensure_ascii=False)
    markdown = files[md_name].decode()
    for canary in (name, "canary8qx"):
        assert canary in data and canary in markdown, canary
    public = [a for m in state.bot_messages(circle.general) for a in m["attachments"]]
    assert public == []

    # erased: nothing of bob's is stored any more, not even in the database file's free space
    assert first["data"]["flags"] == EPHEMERAL
    assert ERASED in done["data"]["content"]
    blob = db_bytes(tmp_path / "bot.sqlite3")
    assert name.encode() not in blob and bob_key.encode() not in blob
    assert "canary8qx" not in await exported(app, bob_key)
    assert standin.violations == []


async def test_matrix_settings_audit_export_and_erase(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room, adapter = s.ana, s.room, s.bot.adapter
        ben = await s.member("ben")

        # the room creator is a moderator: settings and the audit log answer in her DM
        mark = ana.mark()
        await ana.say(room, "!settings set timezone Europe/Berlin")
        where, changed = await ana.notice("is now Europe/Berlin", after=mark)
        assert where != room and changed.body.startswith("timezone is now Europe/Berlin.")
        await ana.say(room, f"!settings set announce_channel {room}")
        await ana.notice(f"is now matrix:{room}", after=mark)
        mark = ana.mark()
        await ana.say(room, "!audit list")
        _r, listed = await ana.notice("settings.set", after=mark)
        assert "timezone=Europe/Berlin" in listed.body

        # a room where the bot's power is below events_default is refused with that reason
        levels = await ana.client.room_get_state_event(room, "m.room.power_levels")
        assert isinstance(levels, RoomGetStateEventResponse), levels
        put = await ana.client.room_put_state(
            room, "m.room.power_levels", {**levels.content, "events_default": 50}
        )
        assert isinstance(put, RoomPutStateResponse), put
        await adapter.wait_until(
            lambda: adapter.client.rooms[room].power_levels.defaults.events_default == 50, WAIT_S
        )
        mark = ana.mark()
        await ana.say(room, f"!settings set modlog_channel {room}")
        _r, refused = await ana.notice("so nothing was changed", after=mark)
        assert "Sending messages there needs power level 50 and mine is 0." in refused.body
        community = await s.bot.app.members.community("matrix", room)
        assert await s.bot.app.settings.get(community.id, "admin", "modlog_channel") is None
        put = await ana.client.room_put_state(room, "m.room.power_levels", levels.content)
        assert isinstance(put, RoomPutStateResponse), put
        await adapter.wait_until(
            lambda: adapter.client.rooms[room].power_levels.defaults.events_default < 50, WAIT_S
        )

        # a member: the export arrives as two encrypted files in the DM, then erase
        name = "Bencanary5qx"
        mark = ben.mark()
        await ben.say(room, f"!me name {name}")
        await ben.notice("Bencanary5qx", after=mark)
        mark = ben.mark()
        await ben.say(room, "!mydata export")
        files: dict[str, bytes] = {}
        for _n in range(2):
            dm, event = await ben.wait_for(
                lambda _r, e: isinstance(e, RoomEncryptedFile) and e.body not in files, mark
            )
            assert isinstance(event, RoomEncryptedFile) and dm != room
            cipher = await download(synapse, ben, event.url)
            files[event.body] = decrypt_attachment(
                cipher, event.key["k"], event.hashes["sha256"], event.iv
            )
        (json_name,) = [n for n in files if n.endswith(".json")]
        (md_name,) = [n for n in files if n.endswith(".md")]
        assert name in json.dumps(json.loads(files[json_name]), ensure_ascii=False)
        assert name in files[md_name].decode()

        mark = ben.mark()
        await ben.say(room, "!mydata erase")
        dm, asked = await ben.notice("mydata erase confirm", not_room=room, after=mark)
        code = ERASE_CODE.search(asked.body)
        assert code is not None, asked.body
        mark = ben.mark()
        await ben.say(dm, f"!mydata erase confirm {code.group(1)}")
        await ben.notice(ERASED, room=dm, after=mark)
        assert name not in await exported(s.bot.app, f"matrix:{ben.user_id}")
        blob = db_bytes(tmp_path / "bot" / "bot.sqlite3")
        assert name.encode() not in blob and ben.user_id.encode() not in blob
