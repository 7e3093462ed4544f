"""A replaced channel (a Matrix room upgrade) leaves nothing pointing at the old one.

`App.place_moved` must move every live reference: channel settings in either stored form (place
key or bare id), meetings' announcement room and location, a running script, pending outbox
items. The check reads every column of every table of the live database (reflected, so a table
or column added later is covered too): after the move the old channel appears only in the
audit log, which records what happened.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from tests.harness.app import AppFactory
from tests.harness.platform import CHANNEL, COMMUNITY
from tests.harness.privacy_scan import all_values

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
NEW = "replacement-room"
HISTORY = {"audit_entry.detail"}  # what was done, kept as it was


def forms(place_id: str) -> set[str]:
    """Every way a stored value can name the channel: id, place key, and both as JSON."""
    plain = {place_id, f"fake:{place_id}"}
    return plain | {json.dumps(p) for p in plain}


async def where_named(app: App, place_id: str) -> set[str]:
    """The columns ("table.column") holding a value that names the channel exactly."""
    wanted = forms(place_id)
    return {
        where
        for where, value in await all_values(app.db.engine)
        if value is not None and str(value) in wanted
    }


async def test_after_a_move_only_the_audit_log_names_the_old_channel(
    app_factory: AppFactory,
) -> None:
    app, fake = await app_factory.on_platform(
        ["general", "admin", "meetings", "scripts", "journal", "crisis"],
        actors={"fac": Tier.FACILITATOR, "mod": Tier.MODERATOR},
        clock=VirtualClock(START),
    )
    said = await fake.say("mod", "!settings set announce_channel #general")
    assert any("is now fake:general" in s.text for s in said), said
    community = await app.members.community("fake", COMMUNITY)
    await app.settings.set(community.id, "journal", "feed_channel", CHANNEL.key)
    await app.settings.set(community.id, "crisis", "alert_channel", CHANNEL.id)
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC')
    await fake.say("fac", "!script start standard")
    before = await where_named(app, CHANNEL.id)
    # the set-up really stored the channel in each kind of place
    assert {
        "setting.value",
        "meeting.channel",
        "script_run.channel_id",
        "script_run.place_key",
        "outbox_item.target",
    } <= before

    await app.place_moved("fake", CHANNEL.id, NEW)

    assert await where_named(app, CHANNEL.id) <= HISTORY
    after = await where_named(app, NEW)
    assert before - HISTORY <= after
    settings = app.settings
    assert await settings.get(community.id, "admin", "announce_channel") == f"fake:{NEW}"
    assert await settings.get(community.id, "journal", "feed_channel") == f"fake:{NEW}"
    assert await settings.get(community.id, "crisis", "alert_channel") == NEW

    # moving again changes nothing; settled items keep no target to move
    await app.place_moved("fake", CHANNEL.id, NEW)
    assert await where_named(app, CHANNEL.id) <= HISTORY
