"""The platform contract: a target is read once, and the core asks a platform only for what
its capabilities say it can do."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.core.message import Message
from bot.core.mirror import MirroredEvent
from bot.outbox import Target
from bot.platform import Capabilities, PlatformDefaults
from tests.harness.app import AppFactory

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
platforms = st.sampled_from(["discord", "matrix", "console"])
ids = st.text(min_size=1, max_size=40)  # Matrix ids hold colons: "!room:example.org"


@given(platforms, ids)
def test_a_dm_target_gives_the_platforms_own_user_id(platform: str, user_id: str) -> None:
    target = Target(platform, f"{platform}:{user_id}", is_dm=True)
    assert target.platform_id == user_id
    assert target == Target(platform, f"{platform}:{user_id}", True)  # still a plain value


@given(platforms, ids)
def test_a_channel_target_is_the_channel_id_untouched(platform: str, channel_id: str) -> None:
    assert Target(platform, channel_id).platform_id == channel_id
    assert Target(platform, f"{platform}:{channel_id}").platform_id == f"{platform}:{channel_id}"


class Recording(PlatformDefaults):
    """Records which optional calls the core made."""

    platform = "fake"

    def __init__(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities  # type: ignore[misc]
        self.asked: list[str] = []

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str:
        return idempotency_key

    async def find_sent(self, target: Target, idempotency_key: str, since: datetime) -> str | None:
        self.asked.append("find_sent")
        return None

    async def mirror_event(self, event: MirroredEvent | None, key: str) -> None:
        self.asked.append("mirror_event")


async def test_only_capable_platforms_are_asked_for_their_record_and_calendar(
    app_factory: AppFactory,
) -> None:
    app = await app_factory()
    plain = Recording(Capabilities())
    app.add_transport(plain)
    assert not app.mirror.available("fake")
    await app.mirror.hide("fake", "k")
    assert await app._find_sent(Target("fake", "c"), "k", START) is None
    assert plain.asked == []

    able = Recording(Capabilities(finds_sent=True, mirrors_events=True))
    app.add_transport(able)
    assert app.mirror.available("fake")
    await app.mirror.hide("fake", "k")
    await app._find_sent(Target("fake", "c"), "k", START)
    assert able.asked == ["mirror_event", "find_sent"]
