"""A facilitator types "tomorrow 7pm" as people do: it is read in their own zone, on Discord
(the stand-in, with Discord timestamps) and on Matrix (a real Synapse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.harness.app import AppFactory
from tests.harness.discord import EPHEMERAL, Circle, DiscordStandin
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e
BERLIN = ZoneInfo("Europe/Berlin")


def tomorrow_7pm(now: datetime) -> datetime:
    day = now.astimezone(BERLIN).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 19, 0, tzinfo=BERLIN)


async def test_discord_tomorrow_7pm_in_the_authors_zone(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    circle = Circle(discord_standin, app_factory)
    app = await circle.app()
    async with circle.standin.client_running(circle.adapter(app).client):
        await circle.reply("me timezone", {"zone": "berlin"}, user="owner")
        standin = circle.standin
        sent = await standin.send_command(
            "meeting-facilitator schedule",
            {"title": "Evening circle", "start": "tomorrow 7pm", "duration": "60m"},
            user=circle.user("owner"),
        )
        scheduled = await standin.wait_for_interaction_response(sent.id)
        (understood,) = await standin.wait_for(lambda: standin.followups(sent.id))
    meant = tomorrow_7pm(app.clock.now())
    # The public post: Discord timestamps, each reader sees their own zone; no private reading.
    text = scheduled["data"]["content"]
    assert not int(scheduled["data"].get("flags") or 0) & EPHEMERAL, scheduled
    assert f"<t:{int(meant.timestamp())}:F>" in text, text
    assert "I read" not in text
    # The author alone reads how "tomorrow 7pm" was understood, in their own zone.
    assert int(understood["flags"]) & EPHEMERAL, understood
    assert f"19:00 {meant.tzname()} (Europe/Berlin)" in understood["content"]
    assert standin.violations == []


async def test_matrix_tomorrow_7pm_in_the_authors_zone(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!me timezone Europe/london")
        _r, zone = await ana.notice("Your time zone is now Europe/London.", after=mark)
        assert "It is now" in zone.body
        mark = ana.mark()
        await ana.say(room, '!meeting schedule "Evening circle" "tomorrow 7pm" 60m')
        _r, scheduled = await ana.notice("Scheduled", room=room, after=mark)
        dm, understood = await ana.notice("I read", not_room=room, after=mark)
    day = datetime.now(UTC).astimezone(ZoneInfo("Europe/London")).date() + timedelta(days=1)
    meant = datetime(day.year, day.month, day.day, 19, 0, tzinfo=ZoneInfo("Europe/London"))
    # The room's post is in the community's zone (the scene's bot runs on New York time) and
    # keeps the reading private.
    there = meant.astimezone(ZoneInfo("America/New_York"))
    assert f"{there:%a %-d %b %Y, %H:%M} {there.tzname()}" in scheduled.body, scheduled.body
    assert "I read" not in scheduled.body
    # The author's direct messages say how "tomorrow 7pm" was read, in their own zone.
    assert dm != room
    assert f"{meant:%a %d %b %Y}, 19:00 {meant.tzname()} (Europe/London)" in understood.body
