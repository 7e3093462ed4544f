"""A room upgrade keeps the community working, against a real Synapse, in encrypted rooms.

A moderator upgrades the community room (the client-server API's `/rooms/{id}/upgrade`, what
Element's "upgrade room" does); the old room gets an `m.room.tombstone`. The bot follows: it
joins the replacement (once invited: the room is invite-only), the community's announcement
setting and the announcements still waiting move there, `!ping` in the new room is answered,
and an announcement addressed to the old room arrives in the new one instead of failing with
M_FORBIDDEN. The same holds when the bot was offline during the upgrade.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from nio import RoomCreateResponse, RoomPutStateResponse
from sqlalchemy import select

from bot.app import App
from bot.core.message import Message
from bot.models import OutboxItem
from bot.outbox import Target
from tests.harness.matrix import WAIT_S, Member, in_room, new_member, scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e


async def upgrade(server: SynapseServer, member: Member, room: str) -> str:
    """Upgrade `room` as `member` (a moderator); returns the replacement room's id."""
    url = f"{server.base_url}/_matrix/client/v3/rooms/{room}/upgrade"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, headers=headers, json={"new_version": "12"}) as response,
    ):
        assert response.status == 200, await response.text()
        return str((await response.json())["replacement_room"])


async def until_row(app: App, key: str, holds: Callable[[OutboxItem], bool]) -> OutboxItem:
    """The outbox row of `key` once `holds(row)` (bounded by WAIT_S)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        async with app.db.sessions() as session:
            row = await session.scalar(select(OutboxItem).where(OutboxItem.key == key))
        if row is not None and holds(row):
            return row
        assert time.monotonic() < deadline, f"outbox item {key} never got there"
        await asyncio.sleep(0.05)


async def test_an_upgraded_room_is_followed_with_its_settings_and_announcements(
    synapse: SynapseServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="circlebot")
    async with scene(synapse, tmp_path, encrypted=True) as s:
        ana, room, bot = s.ana, s.room, s.bot
        app = bot.app
        mark = ana.mark()
        await ana.say(room, f"!settings set announce_channel {room}")
        await ana.notice(f"is now matrix:{room}", after=mark)
        community = await app.members.community("matrix", room)
        tomorrow = app.clock.now() + timedelta(days=1)
        await app.outbox.enqueue(
            "meeting:tomorrow", Target("matrix", room), Message.of("See you tomorrow"), tomorrow
        )

        new = await upgrade(synapse, ana, room)
        # Invite-only: the bot cannot join by itself and says so; a moderator's invitation
        # (Element's "invite members to the new room") lets it in, and the move happens then.
        await ana.until(
            lambda: any("cannot join its replacement" in r.getMessage() for r in caplog.records)
        )
        assert (await app.settings.get(community.id, "admin", "announce_channel")) == (
            f"matrix:{room}"
        )
        await ana.client.room_invite(new, bot.user_id)
        await until_row(app, "meeting:tomorrow", lambda r: r.target == new)
        assert await app.settings.get(community.id, "admin", "announce_channel") == (
            f"matrix:{new}"
        )
        # the same community (its data, history and settings), now living in the new room
        ref = bot.adapter.community_of(new)
        assert ref is not None and ref.id == room

        await ana.until(lambda: in_room(ana, new, bot.user_id))
        assert ana.client.rooms[new].encrypted
        mark = ana.mark()
        await ana.say(new, "!ping")
        _r, pong = await ana.notice("pong", room=new, after=mark)
        assert getattr(pong, "decrypted", False)

        # an announcement to the configured channel, and one still addressed to the old room
        channel = await app.settings.get(community.id, "admin", "announce_channel")
        now = app.clock.now()
        await app.outbox.enqueue(
            "announce:now",
            Target("matrix", channel.partition(":")[2]),
            Message.of("Circle at 7"),
            now,
        )
        await app.outbox.enqueue(
            "announce:old", Target("matrix", room), Message.of("Old address, new room"), now
        )
        await app.outbox.deliver_due()
        _r, announced = await ana.notice("Circle at 7", room=new, after=mark)
        assert getattr(announced, "decrypted", False)
        await ana.notice("Old address, new room", room=new, after=mark)
        assert (await until_row(app, "announce:old", lambda r: r.status != "pending")).status == (
            "sent"
        )
        assert not ana.notices(room, "Circle at 7")


async def test_an_upgrade_while_the_bot_was_offline_is_followed_at_start(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path, encrypted=True) as s:
        ana, room, bot = s.ana, s.room, s.bot
        await bot.stop()
        new = await upgrade(synapse, ana, room)
        await ana.client.room_invite(new, bot.user_id)
        await bot.start()
        app = bot.app
        mark = ana.mark()
        await app.outbox.enqueue(
            "announce:old", Target("matrix", room), Message.of("Still here"), app.clock.now()
        )
        await ana.notice("Still here", room=new, after=mark)
        await ana.until(lambda: in_room(ana, new, bot.user_id))
        await ana.say(new, "!ping")
        await ana.notice("pong", room=new, after=mark)

        # the followed upgrade is remembered across a restart
        await bot.stop()
        await bot.start()
        assert bot.adapter.communities.latest(room) == new
        mark = ana.mark()
        await ana.say(new, "!ping")
        await ana.notice("pong", room=new, after=mark)


async def test_a_tombstone_pointing_at_another_communitys_room_is_not_followed(
    synapse: SynapseServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # eve runs a room of her own with the bot in it; she sets a tombstone there that names
    # ana's community room, which is no upgrade of hers. Following it would make ana's room
    # part of eve's community (eve's settings and bindings) and move eve's meetings there.
    caplog.set_level(logging.INFO, logger="circlebot")
    async with scene(synapse, tmp_path, encrypted=True) as s:
        ana, room, bot = s.ana, s.room, s.bot
        app = bot.app
        eve = await new_member(synapse, tmp_path, "eve")
        s.stack.push_async_callback(eve.stop)
        created = await eve.client.room_create(name="Eve's room", invite=[bot.user_id])
        assert isinstance(created, RoomCreateResponse), created
        own = str(created.room_id)
        await eve.until(lambda: in_room(eve, own, bot.user_id))
        mark = eve.mark()
        await eve.say(own, f"!settings set announce_channel {own}")
        await eve.notice(f"is now matrix:{own}", after=mark)

        sent = await eve.client.room_put_state(
            own, "m.room.tombstone", {"body": "moved", "replacement_room": room}
        )
        assert isinstance(sent, RoomPutStateResponse), sent
        await eve.until(lambda: own in bot.adapter.communities.refused)
        assert any("does not say it replaces" in r.getMessage() for r in caplog.records)
        assert bot.adapter.communities.latest(own) == own
        ref = bot.adapter.community_of(room)
        assert ref is not None and ref.id == room  # ana's room is still its own community
        eves = await app.members.community("matrix", own)
        assert await app.settings.get(eves.id, "admin", "announce_channel") == f"matrix:{own}"
        mark = eve.mark()
        await app.outbox.enqueue(
            "announce:eve", Target("matrix", own), Message.of("Eve's circle"), app.clock.now()
        )
        await app.outbox.deliver_due()
        await eve.notice("Eve's circle", room=own, after=mark)
        assert not ana.notices(room, "Eve's circle")
