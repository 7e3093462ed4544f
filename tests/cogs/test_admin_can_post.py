"""A channel setting the bot could not post in is refused with the platform's reason.

The fake platform here has a second channel, `#quiet`, where the bot may not post; its
responder answers `can_post` the way the Discord and Matrix responders do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.dispatch import Incoming
from bot.core.identity import Place
from bot.core.permissions import Tier
from bot.models import AuditEntry
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import CHANNEL, COMMUNITY, FakePlatform, FakeResponder, Said

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
QUIET = Place("fake", "quiet", COMMUNITY, False, "#quiet")
REASON = "My role is missing these permissions there: Send Messages."
CHANNEL_KEYS = ("announce_channel", "journal_channel", "alert_channel", "modlog_channel")


@dataclass
class GuardedResponder(FakeResponder):
    """Knows `#quiet` too, and refuses to post there."""

    async def resolve_place(self, text: str) -> Place | None:
        name = text.strip().lstrip("#")
        return {CHANNEL.id: CHANNEL, QUIET.id: QUIET}.get(name)

    async def can_post(self, place: Place) -> str | None:
        return REASON if place == QUIET else None


@dataclass
class GuardedPlatform(FakePlatform):
    def incoming(self, name: str, *, dm: bool = False) -> Incoming:
        plain = super().incoming(name, dm=dm)
        responder = GuardedResponder(self, plain.actor, plain.place)
        return Incoming(plain.actor, plain.place, plain.tier, responder, plain.community_name)


async def guarded_app(app_factory: AppFactory) -> tuple[App, GuardedPlatform]:
    app, fake = await app_factory.on_platform(
        ["general", "admin", "privacy", "journal", "crisis"],
        clock=VirtualClock(START),
        actors={"mod": Tier.MODERATOR},
        platform=GuardedPlatform,
        fast_typing=False,
    )
    await fake.say("mod", "!ping")
    return app, fake


def only(said: list[Said]) -> str:
    assert len(said) == 1 and said[0].where == "ephemeral", said
    return said[0].text


async def channel_settings(app: App) -> tuple[object, ...]:
    settings = app.settings
    return (
        await settings.get(1, "admin", "announce_channel"),
        await settings.get(1, "journal", "feed_channel"),
        await settings.get(1, "crisis", "alert_channel"),
        await settings.get(1, "admin", "modlog_channel"),
    )


async def audit_count(app: App) -> int:
    async with app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_settings_set_refuses_every_channel_key_the_bot_cannot_post_in(
    app_factory: AppFactory,
) -> None:
    app, fake = await guarded_app(app_factory)
    for key in CHANNEL_KEYS:
        text = only(await fake.say("mod", f"!settings set {key} #quiet"))
        assert f"I can't post in #quiet (`{key}`), so nothing was changed." in text
        assert REASON in text
    assert await channel_settings(app) == (None, None, None, None)
    assert await audit_count(app) == 0

    assert "is now fake:general" in only(
        await fake.say("mod", "!settings set journal_channel #general")
    )
    assert (await channel_settings(app))[1] == "fake:general"


async def test_setup_with_one_unpostable_channel_saves_nothing(app_factory: AppFactory) -> None:
    app, fake = await guarded_app(app_factory)
    text = only(
        await fake.say(
            "mod",
            "!setup timezone:Europe/Berlin announce_channel:#general alert_channel:#quiet",
        )
    )
    assert "I can't post in #quiet (`alert_channel`)" in text and REASON in text
    community = await app.members.community_by_id(1)
    assert community is not None and community.timezone != "Europe/Berlin"
    assert await channel_settings(app) == (None, None, None, None)
    assert await audit_count(app) == 0


async def test_a_platform_that_cannot_tell_is_treated_as_able_to_post(
    app_factory: AppFactory,
) -> None:
    config = make_config(cogs={"enabled": ["general", "admin", "privacy"]})
    app = await app_factory(config, clock=VirtualClock(START))
    fake = FakePlatform(app)
    fake.actor("mod", Tier.MODERATOR)
    assert await fake.incoming("mod").responder.can_post(CHANNEL) is None  # cannot tell
    said = await fake.say("mod", "!settings set announce_channel #general")
    assert "is now fake:general" in only(said)
    assert await app.settings.get(1, "admin", "announce_channel") == "fake:general"


async def test_meetings_refuse_an_announcement_channel_the_bot_cannot_post_in(
    app_factory: AppFactory,
) -> None:
    config = make_config(cogs={"enabled": ["general", "meetings"]})
    app = await app_factory(config, clock=VirtualClock(START))
    fake = GuardedPlatform(app)
    fake.actor("fay", Tier.FACILITATOR)
    said = await fake.say(
        "fay", '!meeting schedule "Quiet circle" "2026-12-08 19:00" 60m channel:#quiet'
    )
    assert "I can't post announcements in #quiet, so nothing was saved." in only(said)
    assert REASON in said[0].text
    assert "Quiet circle" not in (await fake.say("fay", "!meeting list"))[0].text
    said = await fake.say(
        "fay", '!meeting schedule "Open circle" "2026-12-08 19:00" 60m channel:#general'
    )
    assert "Scheduled **Open circle**" in said[0].text
