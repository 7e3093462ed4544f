"""Moderators' set-up and settings, the audit log, and who may run what in every cog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.models import AuditEntry
from tests.harness.app import AppFactory
from tests.harness.db import snapshot
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REFUSAL = {
    Tier.FACILITATOR: "Only a facilitator can use",
    Tier.MODERATOR: "Only a moderator can use",
}


async def full_app(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    staff = {"mod": Tier.MODERATOR, "fac": Tier.FACILITATOR, "mem": Tier.MEMBER}
    return await app_factory.on_platform(clock=VirtualClock(START), actors=staff)


def texts(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def test_every_guarded_command_refuses_lower_tiers_and_changes_nothing(
    app_factory: AppFactory,
) -> None:
    app, fake = await full_app(app_factory)
    for name in ("mod", "fac", "mem"):
        await fake.say(name, "!ping")
    guarded = [s for s in app.registry.specs if s.tier > Tier.MEMBER]
    assert {s.cog for s in guarded} >= {"admin", "crisis", "journal", "meetings", "scripts"}
    before = await snapshot(app)
    for spec in guarded:
        for name, tier in (("mem", Tier.MEMBER), ("fac", Tier.FACILITATOR)):
            if tier >= spec.tier:
                continue
            said = await fake.say(name, f"!{spec.name} x y")
            assert len(said) == 1 and said[0].where == "ephemeral", spec.name
            # a command on a meeting names no meeting here ("x y"): that is said to anyone, not
            # who may change it, which would read as if the meeting existed
            if any(o.name == "meeting" for o in spec.options) and (
                app.cogs[spec.cog].hooks().named_refusal is not None
            ):
                assert "There is no meeting `x" in said[0].text, spec.name
                continue
            own = app.cogs[spec.cog].hooks().tier_refusal
            if own is not None and (words := own(spec)) is not None:  # the cog's own words
                assert said[0].text == words, spec.name
                continue
            # a command a meeting's named facilitator may run says so (`CogHooks.meeting_of`)
            named = (
                spec.tier is Tier.FACILITATOR and app.cogs[spec.cog].hooks().meeting_of is not None
            )
            who = " or the meeting's named facilitator" if named else ""
            assert REFUSAL[spec.tier].replace(" can", who + " can") in said[0].text, spec.name
            assert f"`{spec.name}`" in said[0].text
    assert await snapshot(app) == before
    for spec in guarded:  # the tier itself is let through (it may then ask for arguments)
        name = "mod" if spec.tier is Tier.MODERATOR else "fac"
        said = await fake.say(name, f"!{spec.name}")
        assert "Only a" not in texts(said), spec.name


async def test_a_moderator_whose_role_was_just_removed_is_refused(
    app_factory: AppFactory,
) -> None:
    app, fake = await full_app(app_factory)
    assert "is now" in texts(await fake.say("mod", "!settings set timezone Europe/Paris"))
    fake.tiers["mod"] = Tier.MEMBER
    said = await fake.say("mod", "!settings set timezone Asia/Tokyo")
    assert "Only a moderator can use `settings set`" in texts(said)
    community = await app.members.community_by_id(1)
    assert community is not None and community.timezone == "Europe/Paris"


async def test_setup_sets_the_essentials_at_once_and_lists_what_is_unset(
    app_factory: AppFactory,
) -> None:
    app, fake = await full_app(app_factory)
    first = texts(await fake.say("mod", "!setup"))
    assert "Still unset: country, announce_channel" in first
    said = texts(
        await fake.say(
            "mod",
            "!setup timezone:Europe/Dublin country:IE announce_channel:#general "
            "journal_channel:#general alert_channel:#mods modlog_channel:#general "
            "facilitator_role:<@&111> moderator_role:222",
        )
    )
    assert "Saved 8 settings." in said and "retention_days" in said
    assert "Still unset: language" not in said
    community = await app.members.community_by_id(1)
    assert community is not None and (community.timezone, community.country) == (
        "Europe/Dublin",
        "IE",
    )
    assert await app.members.bindings(1) == {"111": 1, "222": 2}
    assert await app.settings.get(1, "journal", "feed_channel") == "fake:general"
    assert await app.settings.get(1, "crisis", "alert_channel") == "mods"
    shown = texts(await fake.say("mod", "!settings show"))
    assert "Europe/Dublin" in shown and "Still unset: retention_days" in shown


async def test_bad_values_are_refused_with_one_message_and_change_nothing(
    app_factory: AppFactory,
) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("mod", "!ping")
    before = await snapshot(app)
    cases = {
        "!settings set timezone Mars/Olympus": "not a time zone I know",
        "!settings set country Atlantis": "not a country I know",
        "!settings set journal_channel #elsewhere": "could not find the channel",
        "!settings set retention_days 0": "number of days from 30 to 3650",
        # a week's quiet must not cost anyone their journal
        "!settings set retention_days 7": "erase people who are only taking a break",
        "!settings set timezone clear": "cannot be cleared",
        "!setup timezone:Europe/Rome country:Atlantis": "not a country I know",
        "!cogs disable privacy": "`privacy` is always on; it cannot be switched off.",
        "!cogs disable nosuch": "`nosuch` names no part of the bot. Parts you can switch:",
        "!cogs enable nosuch": "`journal`, `meetings`",
    }
    for line, expected in cases.items():
        said = await fake.say("mod", line)
        assert len(said) == 1 and expected in said[0].text, (line, texts(said))
    assert await snapshot(app) == before  # `setup` checks every value before saving any


async def test_cogs_switch_per_community_and_everything_is_audited(
    app_factory: AppFactory,
) -> None:
    app, fake = await full_app(app_factory)
    assert "is off here" in texts(await fake.say("mod", "!cogs disable journal"))
    assert "Switched off here: journal." in texts(await fake.say("mod", "!settings show"))
    refused = texts(await fake.say("ana", "!journal write a note"))
    assert "`journal write` is switched off in this community." in refused
    assert "is on here" in texts(await fake.say("mod", "!cogs enable journal"))
    assert "switched off" not in texts(await fake.say("ana", "!journal write a note"))
    await fake.say("mod", "!settings set country GB")
    async with app.db.sessions() as session:
        lines = [
            (a.actor_key, a.action, a.detail) for a in await session.scalars(select(AuditEntry))
        ]
    assert lines == [
        ("fake:mod", "cogs.disable", "journal"),
        ("fake:mod", "cogs.enable", "journal"),
        ("fake:mod", "settings.set", "country=GB"),
    ]


async def test_audit_list_is_newest_first_paged_and_mirrored_to_the_mod_log(
    app_factory: AppFactory,
) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("mod", "!me name Sam")
    await fake.say("mod", "!settings set country GB")
    await fake.say("mod", "!settings set modlog_channel #general")
    for n in range(12):
        await fake.say("mod", f"!settings set retention_days {n + 30}")
    page1 = texts(await fake.say("mod", "!audit list"))
    assert page1.index("retention_days=41") < page1.index("retention_days=32")
    assert "Sam: `settings.set`" in page1 and "Page 1 of 2." in page1
    page2 = texts(await fake.say("mod", "!audit list 2"))
    assert "modlog_channel=fake:general" in page2 and "Page 2 of 2." in page2
    assert "has 2 pages" in texts(await fake.say("mod", "!audit list 3"))
    assert "country=GB" in page2
    await app.scheduler.advance(timedelta(minutes=6))
    mirrored = [s.text for s in fake.said if s.where == "channel" and "Audit log:" in s.text]
    assert len(mirrored) == 1 and "retention_days=41" in mirrored[0]
    assert "modlog_channel" in mirrored[0]
    assert "country" not in mirrored[0]  # history from before the channel stays out
    await app.scheduler.advance(timedelta(minutes=6))
    assert len([s for s in fake.said if "Audit log:" in s.text]) == 1


ALERT_PATHS = (
    "!crisis alerts {channel}",
    "!settings set alert_channel {channel}",
    "!setup alert_channel:{channel}",
)


@pytest.mark.parametrize("path", ALERT_PATHS)
async def test_every_way_to_set_the_alert_channel_refuses_one_members_read(
    app_factory: AppFactory, path: str
) -> None:
    """Whichever command sets it, the alert channel is only ever one only moderators read;
    a refusal says why and leaves the setting as it was."""
    app, fake = await full_app(app_factory)
    refused = texts(await fake.say("mod", path.format(channel="#general")))
    assert "only moderators can read" in refused and "Nothing was changed" in refused
    assert await app.settings.get(1, "crisis", "alert_channel") is None
    await fake.say("mod", path.format(channel="#mods"))
    assert await app.settings.get(1, "crisis", "alert_channel") == "mods"
    again = texts(await fake.say("mod", path.format(channel="#general")))
    assert "Nothing was changed" in again
    assert await app.settings.get(1, "crisis", "alert_channel") == "mods"


async def test_a_moderator_action_reaches_the_mod_log_within_seconds_and_idle_costs_nothing(
    app_factory: AppFactory,
) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("mod", "!settings set modlog_channel #general")
    await app.scheduler.advance(timedelta(seconds=11))
    posts = [s.text for s in fake.said if s.where == "channel" and "Audit log:" in s.text]
    assert len(posts) == 1 and "modlog_channel" in posts[0]
    await app.scheduler.advance(timedelta(seconds=11))  # the pass after a post finds nothing
    assert app.scheduler.planned("admin.modlog") == []  # and no pass runs while none is due
    await fake.say("mod", "!settings set retention_days 40")
    await fake.say("mod", "!settings set retention_days 45")
    await app.scheduler.advance(timedelta(seconds=11))
    posts = [s.text for s in fake.said if s.where == "channel" and "Audit log:" in s.text]
    assert len(posts) == 2 and "retention_days=40" in posts[1] and "retention_days=45" in posts[1]
