"""Channel watch end to end: on Discord (discord.py against the stand-in, with and without the
message-content intent) and on Matrix (a real Synapse, in an encrypted room).

A crisis phrase in a watched channel is answered in the member's DM and never in the channel;
a member whose DMs are closed gets nothing in public while the moderators' channel is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nio import RoomCreateResponse, RoomMessageNotice

from bot.app import App
from bot.clock import VirtualClock
from tests.harness.app import AppFactory, make_config
from tests.harness.discord import (
    EPHEMERAL,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Circle,
    DiscordStandin,
    StandinChannel,
    StandinState,
)
from tests.harness.matrix import Bot, in_room, new_member
from tests.harness.synapse import SynapseServer, unique_localpart

pytestmark = pytest.mark.e2e

CARE = "You don't have to carry this alone"
CLOSED = "Their direct messages are closed"


@dataclass
class ModsChannel(StandinChannel):
    """A channel only moderators (and the bot, by its own overwrite) can see."""

    bot_id: int = 0

    def payload(self, state: StandinState) -> dict[str, Any]:
        data = super().payload(state)
        data["permission_overwrites"] = [
            {"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
            {
                "id": str(self.bot_id),
                "type": 1,
                "allow": str(VIEW_CHANNEL | SEND_MESSAGES),
                "deny": "0",
            },
        ]
        return data


class WatchCircle(Circle):
    async def watching_app(self, *, intent: bool) -> App:
        config = make_config(discord={"message_content": intent})
        return await self.app_factory(config, clock=VirtualClock(datetime.now(UTC)))

    def mods(self) -> StandinChannel:
        state = self.standin.state
        plain = state.add_text_channel(self.standin.guild, "mods")
        mods = ModsChannel(**vars(plain), bot_id=state.bot.id)
        state.channels[mods.id] = mods
        return mods


@pytest_asyncio.fixture
async def circle(discord_standin: DiscordStandin, app_factory: AppFactory) -> WatchCircle:
    return WatchCircle(discord_standin, app_factory)


def public(circle: Circle, channel: StandinChannel) -> list[dict[str, Any]]:
    return [
        m for m in circle.standin.state.bot_messages(channel) if not m.get("flags", 0) & EPHEMERAL
    ]


async def test_discord_watch_answers_in_the_dm_and_never_in_the_channel(
    circle: WatchCircle,
) -> None:
    standin = circle.standin
    mods = circle.mods()
    app = await circle.watching_app(intent=True)
    alice, dm = circle.user("alice"), circle.dm("alice")
    async with standin.client_running(circle.adapter(app).client):
        assert standin.state.intents & INTENT_GUILD_MESSAGES
        assert standin.state.intents & INTENT_MESSAGE_CONTENT
        await standin.send_message_create(circle.general, alice, "I want to end my life")
        alerts = await circle.reply("crisis-mod alerts", {"channel": mods}, user="owner")
        on = await circle.reply("crisis-mod watch on", user="owner")
        await standin.send_message_create(circle.general, alice, "honestly i wanna kms")
        answer = (await circle.bot_messages(dm, 1))[0]["content"]
        alert = (await circle.bot_messages(mods, 1))[0]["content"]  # sent before the DM
        await standin.send_message_create(circle.general, alice, "i want to die")
        # A marker sent after it: by the time bob's DM is answered, alice's line was read.
        await standin.send_message_create(circle.dm("bob"), circle.user("bob"), "!ping")
        await circle.bot_messages(circle.dm("bob"), 1)
    assert "crisis phrases" in on["data"]["content"] and on["data"]["flags"] == EPHEMERAL
    assert "mods" in alerts["data"]["content"]
    assert "Crisis alerts are on" in on["data"]["content"]  # where alerts go, members told
    assert CARE in answer and "moderators know" in answer
    assert "A member may need support" in alert and "kms" not in alert and CLOSED not in alert
    assert public(circle, circle.general) == []  # not before watch, not after, never
    assert len(standin.state.bot_messages(dm)) == 1  # once an hour per member
    assert standin.violations == []


async def test_discord_closed_dms_alert_the_moderators_and_post_nothing(
    circle: WatchCircle,
) -> None:
    standin = circle.standin
    mods = circle.mods()
    bob = circle.user("bob")
    bob.dms_open = False
    app = await circle.watching_app(intent=True)
    async with standin.client_running(circle.adapter(app).client):
        await circle.reply("crisis-mod alerts", {"channel": mods}, user="owner")
        await circle.reply(
            "crisis-mod watch on", {"channels": f"<#{circle.general.id}>"}, user="owner"
        )
        await standin.send_message_create(
            circle.general, bob, "I took way too many pills and I can't breathe"
        )
        # The alert goes first; the DM then fails, and a second alert says the DMs are closed.
        first, closed = (await circle.bot_messages(mods, 2))[:2]
    assert CLOSED not in first["content"] and "pills" not in first["content"]
    assert CLOSED in closed["content"] and "pills" not in closed["content"]
    assert public(circle, circle.general) == []
    assert standin.state.bot_messages(circle.dm("bob")) == []
    assert standin.violations == []


async def test_discord_without_the_intent_watch_is_refused_and_nothing_is_read(
    circle: WatchCircle,
) -> None:
    standin = circle.standin
    app = await circle.watching_app(intent=False)
    alice = circle.user("alice")
    async with standin.client_running(circle.adapter(app).client):
        assert not standin.state.intents & INTENT_MESSAGE_CONTENT
        refused = await circle.reply("crisis-mod watch on", user="owner")
        about = await circle.reply("about", user="alice")
        await standin.send_message_create(circle.general, alice, "I want to kill myself")
        await standin.send_message_create(circle.dm("alice"), alice, "!ping")
        await circle.bot_messages(circle.dm("alice"), 1)  # the marker: the DM line was handled
    text = refused["data"]["content"]
    assert "Message Content Intent" in text and "Developer Portal" in text
    assert "100 servers" in text
    assert "Channel watch is off here" in str(about["data"])
    assert public(circle, circle.general) == []
    assert [m["content"] for m in standin.state.bot_messages(circle.dm("alice"))] != []
    assert not any(CARE in m["content"] for m in standin.state.bot_messages(circle.dm("alice")))


# -- Matrix ----------------------------------------------------------------------------------

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


async def test_matrix_watch_in_an_encrypted_room_answers_in_the_dm_only(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    bot_user = await synapse.register_user(unique_localpart("circlebot"))
    bot = Bot(synapse, bot_user, tmp_path / "bot")
    await bot.start()
    ana = await new_member(synapse, tmp_path, "ana")
    ben = await new_member(synapse, tmp_path, "ben")
    try:
        created = await ana.client.room_create(
            name="Evening circle", invite=[bot.user_id, ben.user_id], initial_state=[ENCRYPTION]
        )
        assert isinstance(created, RoomCreateResponse), created
        room = str(created.room_id)
        await ana.until(
            lambda: in_room(ana, room, bot.user_id) and in_room(ana, room, ben.user_id)
        )
        assert ana.client.rooms[room].encrypted

        mark = ana.mark()
        await ana.say(room, "!crisis watch on")
        await ana.notice("Channel watch is on", after=mark)
        await ben.notice("I've sent you a private reply.", room=room)  # ana's, not ben's

        mark = ben.mark()
        await ben.say(room, "Ich will nicht mehr leben")
        where, answer = await ben.notice("", not_room=room, after=mark)
        assert bot.adapter.is_dm(where) and ben.client.rooms[where].encrypted
        assert getattr(answer, "decrypted", False)
        # The lane of ben's messages in this room is ordered: the pong comes after the read.
        await ben.say(room, "!ping")
        await ben.notice("pong", room=room, after=mark)
        in_the_room = [
            e
            for r, e in ben.seen[mark:]
            if r == room and isinstance(e, RoomMessageNotice) and e.sender == bot.user_id
        ]
        assert [e.body for e in in_the_room] == ["pong"]
    finally:
        await ben.stop()
        await ana.stop()
        await bot.stop()
