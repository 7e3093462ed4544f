"""Posts kept current: the platform ends up showing the last text the owner wanted.

Model-based: an announcement is sent, then its count changes again and again (members press
and take back), while the platform goes down and up, delivery passes run and the bot
restarts. At the end the post shows the last wanted text, it was never posted twice, and no
edit was made that changed nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.errors import DeliveryError
from bot.core.message import Message
from bot.outbox import Target, live_post
from bot.platform import Capabilities
from tests.harness.app import MigratedSQLite, make_config
from tests.harness.platform import FakePlatform

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POST = live_post("meetings.7")


@dataclass
class EditingPlatform(FakePlatform):
    """The fake platform that can also edit what it posted (down: edits fail)."""

    capabilities = Capabilities(retracts=True, edits=True)
    shown: dict[str, str] = field(default_factory=dict)  # message id -> text now
    edits: int = 0

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str:
        message_id = await super().send(target, message, idempotency_key)
        self.shown.setdefault(message_id, words(message))
        return message_id

    async def edit(
        self, target: Target, message_id: str, message: Message, idempotency_key: str
    ) -> None:
        if not self.reachable:
            raise DeliveryError("the fake platform is unreachable")
        assert message_id in self.shown, "an edit of a message never posted"
        self.shown[message_id] = words(message)
        self.edits += 1


def words(message: Message) -> str:
    return "".join(part for part in message.text if isinstance(part, str))


def text(going: int) -> Message:
    return Message.of(f"{going} plan to come")


steps = st.lists(
    st.one_of(
        st.integers(0, 3),  # the count becomes this
        st.sampled_from(["down", "up", "pass", "restart"]),
    ),
    max_size=16,
)


async def open_app(url: str, clock: VirtualClock, platform: FakePlatform) -> App:
    app = App(make_config(), clock=clock, db_url=url)
    await app.open(migrate=True)
    await app.start()
    app.add_transport(platform)
    return app


async def run(database: Path, plan: list[int | str]) -> None:
    MigratedSQLite.copy_to(database)
    url = f"sqlite+aiosqlite:///{database}"
    clock = VirtualClock(START)
    platform = EditingPlatform(None)  # type: ignore[arg-type]  # the server side only
    app = await open_app(url, clock, platform)
    wanted = 0
    changes = 0  # how often the wanted text really changed
    try:
        await app.outbox.enqueue("post", Target("fake", "feed"), text(0), START, refs=(POST,))
        await app.outbox.deliver_due()
        for step in plan:
            if isinstance(step, int):
                changes += step != wanted
                wanted = step
                await app.outbox.refresh(POST, lambda key, n=step: text(n))
            elif step == "down":
                platform.reachable = False
            elif step == "up":
                platform.reachable = True
            elif step == "pass":
                await app.outbox.deliver_due()
            else:
                await app.close()
                app = await open_app(url, clock, platform)
                await app.outbox.recover()
        platform.reachable = True
        await app.outbox.deliver_due()
        assert len(platform.said) == 1, "the post was posted again instead of edited"
        assert platform.shown == {"m-post": words(text(wanted))}
        assert platform.edits <= changes, "an edit changed nothing"
        assert await app.outbox.status_of("post") == "sent"
    finally:
        await app.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps)
def test_a_post_kept_current_shows_the_last_wanted_text(plan: list[int | str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder) / "bot.sqlite3", plan))


def test_a_post_kept_current_goes_with_its_community_and_expires_like_the_rest() -> None:
    """A kept post holds its public text and place: erasing its community (the bot was removed)
    drops it, and otherwise it is pruned `keep_settled` after its time like any settled row."""
    from datetime import timedelta

    from bot.outbox import OutboxRef

    async def go(folder: Path) -> None:
        clock = VirtualClock(START)
        platform = EditingPlatform(None)  # type: ignore[arg-type]  # the server side only
        app = await open_app(f"sqlite+aiosqlite:///{folder / 'b.sqlite3'}", clock, platform)
        try:
            for n, community in enumerate((1, 2)):
                refs = (live_post(f"meetings.{n}"), OutboxRef.community(community))
                await app.outbox.enqueue(
                    f"p{n}", Target("fake", "feed"), text(0), START, refs=refs
                )
            await app.outbox.deliver_due()
            await app.outbox.forget(OutboxRef.community(1), retract=False)
            assert await app.outbox.status_of("p0") is None  # gone with its community
            assert await app.outbox.status_of("p1") == "sent"  # the other is kept current
            assert await app.outbox.refresh(live_post("meetings.1"), lambda key: text(2)) == 1
            clock.set(START + app.outbox.keep_settled + timedelta(hours=1))
            assert await app.outbox.prune() >= 1
            assert await app.outbox.status_of("p1") is None
        finally:
            await app.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(go(Path(folder)))
