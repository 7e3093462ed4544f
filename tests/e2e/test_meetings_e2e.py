"""The meetings cog end to end: on Discord with announcements on the clock, on Matrix with
private RSVPs and the calendar file in the encrypted DM."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from nio import RoomEncryptedFile

from bot.clock import VirtualClock
from tests.harness.app import AppFactory
from tests.harness.discord import EPHEMERAL, Circle, DiscordStandin
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e


async def test_discord_schedule_rsvp_and_announcements_with_timestamps(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    circle = Circle(discord_standin, app_factory)
    app = await circle.app()
    assert isinstance(app.clock, VirtualClock)
    standin = circle.standin
    start = (app.clock.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    async with standin.client_running(circle.adapter(app).client):
        scheduled = await circle.reply(
            "meeting-facilitator schedule",
            {
                "title": "Tuesday circle",
                "start": start.strftime("%Y-%m-%d %H:%M"),
                "duration": "90m",
                "zone": "UTC",
                "repeat": "weekly",
            },
            user="owner",
        )
        refused = await circle.reply(
            "meeting-facilitator schedule",
            {"title": "Mine", "start": start.strftime("%Y-%m-%d %H:%M"), "duration": "60m"},
            user="bob",
        )
        rsvp = await circle.reply(
            "meeting rsvp", {"meeting": "Tuesday circle", "reminder": "yes"}, user="bob"
        )
        listed = await circle.reply("meeting list", user="alice")
        await app.scheduler.advance(timedelta(days=2, minutes=1))
        # schedule (public post + the private reading), refusal, RSVP, list, 3 announcements
        posts = await circle.bot_messages(circle.general, 8)
        reminders = await circle.bot_messages(circle.dm("bob"), 1)
    unix = int(start.timestamp())
    assert "Tuesday circle" in scheduled["data"]["content"]
    assert refused["data"]["flags"] == EPHEMERAL
    assert "Only a facilitator" in refused["data"]["content"]
    assert rsvp["data"]["flags"] == EPHEMERAL
    assert f"<t:{unix}:F>" in str(listed["data"])
    public = [p["content"] for p in posts if not p.get("flags", 0) & EPHEMERAL]
    announcements = [t for t in public if t.startswith("Reminder:") or "starting now" in t]
    assert len(announcements) == 3  # 24 h and 10 min before, and at the start
    assert all("Tuesday circle" in t for t in announcements)
    assert f"<t:{unix}:F>" in announcements[0]
    texts = [p["content"] for p in posts]
    assert "Tuesday circle" in reminders[0]["content"]
    assert "bob" not in " ".join(texts).lower()  # RSVPs stay private
    assert standin.violations == []


async def test_matrix_schedule_list_private_rsvp_and_calendar_file(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room  # ana created the room: a moderator here
        ben = await s.member("ben")
        mark = ana.mark()
        await ana.say(
            room, '!meeting schedule "Tuesday circle" "2031-03-04 19:00" 90m repeat:weekly'
        )
        _r, scheduled = await ana.notice("Scheduled", room=room, after=mark)
        assert "Tuesday circle" in scheduled.body
        assert "19:00" in scheduled.body  # shown in the community's zone (America/New_York)

        mark = ben.mark()
        await ben.say(room, '!meeting schedule "Mine" "2031-03-05 19:00" 60m')
        where, _refused = await ben.notice("Only a facilitator", after=mark)
        assert where != room  # refusals are private

        mark = ben.mark()
        await ben.say(room, '!meeting rsvp "Tuesday circle" reminder:yes')
        dm, noted = await ben.notice("Noted: you plan to come", after=mark)
        assert dm != room and getattr(noted, "decrypted", False)

        mark = ben.mark()
        await ben.say(room, "!meeting ical")
        _w, calendar = await ben.wait_for(
            lambda r, e: r == dm and isinstance(e, RoomEncryptedFile), mark
        )
        assert isinstance(calendar, RoomEncryptedFile)
        assert calendar.body.endswith(".ics")

        room_texts = [getattr(e, "body", "") for r, e in ana.seen if r == room]
        assert not [t for t in room_texts if "plan to come" in t]  # RSVPs stay private


async def test_discord_announce_with_the_same_times_answers_privately_the_second_time(
    circle: Circle,
) -> None:
    app = await circle.app(cogs=["general", "meetings"])
    adapter = circle.adapter(app)
    async with circle.standin.client_running(adapter.client):
        first = await circle.reply("meeting-mod announce", {"offsets": "1h,0"}, user="owner")
        again = await circle.reply("meeting-mod announce", {"offsets": "0,1h"}, user="owner")
    assert "announced 1 hour before and when they start" in first["data"]["content"]
    assert not first["data"].get("flags")
    assert "nothing changed" in again["data"]["content"]
    assert again["data"]["flags"] == EPHEMERAL
