"""A facilitator types "tomorrow 7pm" as people do: it is read in their own zone, on Discord
(the stand-in, with Discord timestamps) and on Matrix (a real Synapse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.harness.app import AppFactory
from tests.harness.discord import Circle, DiscordStandin
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
        scheduled = await circle.reply(
            "meeting schedule",
            {"title": "Evening circle", "start": "tomorrow 7pm", "duration": "60m"},
            user="owner",
        )
    meant = tomorrow_7pm(app.clock.now())
    text = scheduled["data"]["content"]
    assert f"<t:{int(meant.timestamp())}:F>" in text, text
    assert f"19:00 {meant.tzname()} (Europe/Berlin)" in text
    assert circle.standin.violations == []


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
    day = datetime.now(UTC).astimezone(ZoneInfo("Europe/London")).date() + timedelta(days=1)
    meant = datetime(day.year, day.month, day.day, 19, 0, tzinfo=ZoneInfo("Europe/London"))
    assert f"{meant:%a %d %b %Y}, 19:00 {meant.tzname()} (Europe/London)" in scheduled.body
