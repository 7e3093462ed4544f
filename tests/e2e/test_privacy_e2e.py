"""Private stays private on each real platform adapter.

Discord: `/crisis alerts` refuses a channel @everyone can see and one a non-moderator role can
see after overwrites, accepts one only moderators see; a crisis phrase in a DM then puts the
pseudonym and a silent mention (never the words) in that channel. Removing the bot from the
server tells the owner what is kept and until when.
Matrix: `!crisis alerts` refuses a public room and an invite-only room with a member below
moderator power, accepts an invite-only room of moderators, and the alert arrives there with
the pseudonym and a link to the account, never the words.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from nio import (
    ErrorResponse,
    RoomCreateResponse,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
)

from bot.models import OutboxItem
from tests.harness.discord import EPHEMERAL, VIEW_CHANNEL, Circle
from tests.harness.matrix import WAIT_S, Bot, Member, in_room, new_member, scene
from tests.harness.synapse import SynapseServer, unique_localpart

pytestmark = pytest.mark.e2e

PHRASE = "I want to end my life, marker77q"
ALERT = "A member may need support"


async def test_discord_alerts_only_to_a_channel_members_cannot_see(circle: Circle) -> None:
    standin = circle.standin
    state, guild = standin.state, standin.guild
    bot_role = state.role_named(guild, "CircleBot")
    member_role = state.role_named(guild, "Member")
    hidden = {"type": 0, "allow": 0, "deny": VIEW_CHANNEL}
    mods = state.add_text_channel(guild, "mods")
    mods.overwrites = [
        {**hidden, "id": guild.id},
        {"id": bot_role.id, "type": 0, "allow": VIEW_CHANNEL, "deny": 0},
    ]
    leaky = state.add_text_channel(guild, "leaky")
    leaky.overwrites = [
        {**hidden, "id": guild.id},
        {"id": member_role.id, "type": 0, "allow": VIEW_CHANNEL, "deny": 0},
    ]
    app = await circle.app(cogs=["general", "crisis"])
    bob, dm = circle.user("bob"), circle.dm("bob")
    async with standin.client_running(circle.adapter(app).client):
        everyone = await circle.reply(
            "crisis-mod alerts", {"channel": circle.general}, user="owner"
        )
        role = await circle.reply("crisis-mod alerts", {"channel": leaky}, user="owner")
        accepted = await circle.reply("crisis-mod alerts", {"channel": mods}, user="owner")
        await circle.reply("me name", {"pseudonym": "Heron"}, user="bob")
        await standin.send_message_create(dm, bob, PHRASE)
        (alert,) = await circle.bot_messages(mods, 1)
        answer = (await circle.bot_messages(dm, 1))[-1]
        await standin.dispatch("GUILD_DELETE", {"id": str(guild.id)})
        owner_dm = circle.dm("owner")
        (notice,) = await circle.bot_messages(owner_dm, 1)
        far = datetime.now(UTC) + timedelta(days=31)
        assert [c.platform_id for c in await app.members.left_before(far)] == [str(guild.id)]
        # Added back: the server arrives again, and nothing will be erased.
        joined = {**state.guild_payload(guild)}
        joined.pop("unavailable", None)  # a join, not a server coming back from an outage
        await standin.dispatch("GUILD_CREATE", joined)
        async with asyncio.timeout(5):
            while await app.members.left_before(far):  # noqa: ASYNC110 - a database row
                await asyncio.sleep(0.02)
    assert "@everyone" in everyone["data"]["content"] or "everyone" in everyone["data"]["content"]
    assert "only moderators can read" in everyone["data"]["content"]
    assert "Member" in role["data"]["content"] and "Nothing was changed" in role["data"]["content"]
    assert "will get their pseudonym" in accepted["data"]["content"]
    assert ALERT in alert["content"] and "Heron" in alert["content"]
    assert f"<@{bob.id}>" in alert["content"] and "marker77q" not in alert["content"]
    (posted,) = standin.requests("POST", f"/channels/{mods.id}/messages")
    assert posted.json["allowed_mentions"] == {"parse": []}  # shown as a name, pings nobody
    assert alert["mentions"] == []
    assert "moderators know" in answer["content"]
    public = [m for m in state.bot_messages(circle.general) if not m.get("flags", 0) & EPHEMERAL]
    assert public == []
    assert "kept for 30 days" in notice["content"] and "export-community" in notice["content"]
    assert standin.violations == []
    async with app.db.sessions() as session:
        assert (await session.get(OutboxItem, 1)) is None  # the alert was never stored


async def test_matrix_alerts_only_to_an_invite_only_room_of_moderators(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        bot_user = await synapse.register_user(unique_localpart("circlebot"))
        ana = await new_member(synapse, tmp_path, "ana")
        stack.push_async_callback(ana.stop)
        rooms: dict[str, str] = {}
        for name, preset in (
            ("circle", RoomPreset.private_chat),
            ("open", RoomPreset.public_chat),
            ("mods", RoomPreset.private_chat),
        ):
            made = await ana.client.room_create(
                name=name, preset=preset, invite=[bot_user.user_id]
            )
            assert isinstance(made, RoomCreateResponse), made
            rooms[name] = str(made.room_id)
        community = {"id": "circle", "name": "Circle", "rooms": list(rooms.values())}
        bot = Bot(synapse, bot_user, tmp_path / "bot", {"communities": [community]})
        await bot.start()
        stack.push_async_callback(bot.stop)
        for room_id in rooms.values():
            await ana.until(lambda r=room_id: in_room(ana, r, bot.user_id))
        circle, mods = rooms["circle"], rooms["mods"]

        async def alerts(target: str, expect: str) -> str:
            mark = ana.mark()
            await ana.say(circle, f"!crisis alerts {target}")
            _where, said = await ana.notice(expect, after=mark)
            return str(said.body)

        await ana.say(circle, "!me name Kestrel")
        refused = await alerts(rooms["open"], "only moderators can read")
        assert "invite-only" in refused and "Nothing was changed" in refused
        ben = await new_member(synapse, tmp_path, "ben")
        stack.push_async_callback(ben.stop)
        await ana.client.room_invite(mods, ben.user_id)
        await ben.until(lambda: in_room(ben, mods, ana.user_id))
        seen = bot.adapter.client.rooms[mods].users  # what the bot knows of the room
        assert await bot.adapter.wait_until(lambda: ben.user_id in seen, WAIT_S)
        refused = await alerts(mods, "only moderators can read")
        assert ben.user_id in refused and "power level 0" in refused
        await ana.client.room_kick(mods, ben.user_id)
        assert await bot.adapter.wait_until(lambda: ben.user_id not in seen, WAIT_S)
        await alerts(mods, "will get their pseudonym")

        mark = ana.mark()
        await ana.say(circle, "!crisis")  # opens the direct room with the bot
        dm, _lines = await ana.notice("not a crisis service", not_room=circle, after=mark)
        mark = ana.mark()
        await ana.say(dm, PHRASE)
        _where, answer = await ana.notice("moderators know", room=dm, after=mark)
        # the alert is a message moderators are notified of (m.text), not a quiet m.notice
        _where, alert = await ana.wait_for(
            lambda r, e: (
                r == mods
                and isinstance(e, RoomMessageText)
                and e.sender == bot.user_id
                and ALERT in e.body
            ),
            after=mark,
        )
        content = alert.source["content"]
        assert "Kestrel" in alert.body and ana.user_id in alert.body
        assert "marker77q" not in alert.body and "marker77q" not in content["formatted_body"]
        assert f"https://matrix.to/#/{ana.user_id}" in content["formatted_body"]
        assert content["m.mentions"] == {} and content["msgtype"] == "m.text"
        assert "may not see it" in answer.body

        # What the homeserver's push rules make of that content (spec v1.7, MSC3952): with
        # `m.mentions` present, the legacy body rules are off, so the account's pill and id in
        # the text do not highlight anyone; the same text without `m.mentions` would.
        client = bot.adapter.client
        quiet = {**content, "msgtype": "m.text"}
        loud = {k: v for k, v in quiet.items() if k != "m.mentions"}
        sent = {}
        for name, body in (("quiet", quiet), ("loud", loud)):
            response = await client.room_send(mods, "m.room.message", body)
            assert isinstance(response, RoomSendResponse), response
            sent[name] = response.event_id
        notified, highlighted = await push_verdict(synapse, ana, set(sent.values()))
        assert highlighted == {sent["loud"]}, highlighted
        # The alert itself notifies the moderators reading the room (an m.notice would not:
        # `.m.rule.suppress_notices`), without highlighting the member it names.
        notified, highlighted = await push_verdict(synapse, ana, {alert.event_id})
        assert notified == {alert.event_id} and highlighted == set(), (notified, highlighted)


async def push_verdict(
    server: SynapseServer, member: Member, events: set[str]
) -> tuple[set[str], set[str]]:
    """(notified, highlighted): which of `events` the homeserver's push rules notified
    `member` of, and which of those it highlighted (GET /notifications)."""
    url = f"{server.base_url}/_matrix/client/v3/notifications"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    found: set[str] = set()
    notified: set[str] = set()
    async with aiohttp.ClientSession() as http:
        for _attempt in range(50):  # push actions are stored as the event is persisted
            async with http.get(url, headers=headers) as response:
                assert response.status == 200, await response.text()
                data = await response.json()
            seen = {n["event"]["event_id"]: n for n in data["notifications"]}
            notified = events & set(seen)
            found = {
                e
                for e in events & set(seen)
                if any(
                    isinstance(a, dict)
                    and a.get("set_tweak") == "highlight"
                    and a.get("value", True)
                    for a in seen[e]["actions"]
                )
            }
            if events <= set(seen) or found:
                break
            await asyncio.sleep(0.1)
    return notified, found


async def test_matrix_a_room_that_removes_the_bot_is_told_what_happens(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!ping")  # the bot now knows this room as a community
        await ana.notice("pong", room=room, after=mark)
        mark = ana.mark()
        kicked = await ana.client.room_kick(room, s.bot.user_id, reason="trying another bot")
        assert not isinstance(kicked, ErrorResponse), kicked
        dm, notice = await ana.notice("kept for 30 days", not_room=room, after=mark)
        assert "export-community" in notice.body and "erased for good" in notice.body
        left = await s.bot.app.members.left_before(datetime.now(UTC) + timedelta(days=31))
        assert [c.platform_id for c in left] == [room] and dm != room
