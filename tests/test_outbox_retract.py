"""Deleting reaches the platform: a sent message carrying what a member deleted is taken back.

Model-based: random sends, forgets, platform outages, restarts and weeks passing; at the end a
message is still readable exactly when it carries nothing retractable that was forgotten after
it was sent, and no row keeps a forgotten reference.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.message import Message
from bot.models import OutboxItem, OutboxItemRef
from bot.outbox import RETRACTABLE, OutboxRef, RefKind, Target
from tests.harness.app import AppFactory, MigratedSQLite, make_config
from tests.harness.console import status
from tests.harness.platform import FakePlatform

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REFS = (
    OutboxRef(RefKind.JOURNAL_ENTRY, "e1"),
    OutboxRef(RefKind.JOURNAL_FEED_POST, "e1"),
    OutboxRef(RefKind.FEEDBACK, "f1"),
    OutboxRef(RefKind.TOOLBOX_SHARE, "s1"),
    OutboxRef(RefKind.MEETING, "7"),
    OutboxRef.member("fake:ana"),
    OutboxRef.community(1),
)


@dataclass(frozen=True)
class Send:
    refs: frozenset[int]
    dm: bool


@dataclass(frozen=True)
class Forget:
    ref: int


@dataclass(frozen=True)
class Simple:
    what: str  # "down", "up", "pass", "restart", "weeks"


steps = st.lists(
    st.one_of(
        st.builds(
            Send,
            refs=st.frozensets(st.integers(0, len(REFS) - 1), max_size=3),
            dm=st.booleans(),
        ),
        st.builds(Forget, ref=st.integers(0, len(REFS) - 1)),
        st.sampled_from([Simple(w) for w in ("down", "up", "pass", "restart", "weeks")]),
    ),
    min_size=1,
    max_size=14,
)


async def open_app(url: str, clock: VirtualClock, platform: FakePlatform) -> App:
    app = App(make_config(), clock=clock, db_url=url)
    await app.open(migrate=True)
    await app.start()
    app.add_transport(platform)
    return app


async def run(database: Path, plan: list[Send | Forget | Simple]) -> None:
    MigratedSQLite.copy_to(database)
    url = f"sqlite+aiosqlite:///{database}"
    clock = VirtualClock(START)
    platform = FakePlatform(None)  # type: ignore[arg-type]  # the server side: sends only
    app = await open_app(url, clock, platform)
    carried: dict[str, frozenset[OutboxRef]] = {}  # message id -> refs
    withdrawn: set[str] = set()  # keys forgotten before they were sent
    must_go: set[str] = set()  # message ids whose content was forgotten after sending
    forgotten: set[OutboxRef] = set()  # forgotten and not carried by a later message
    try:
        for n, step in enumerate(plan):
            if isinstance(step, Send):
                key = f"k{n}"
                refs = frozenset(REFS[i] for i in step.refs)
                target = Target("fake", "fake:bob", True) if step.dm else Target("fake", "feed")
                await app.outbox.enqueue(
                    key, target, Message.of(f"text {n}"), clock.now(), refs=refs
                )
                forgotten -= refs
                carried[f"m-{key}"] = refs | ({OutboxRef.member("fake:bob")} if step.dm else set())
            elif isinstance(step, Forget):
                ref = REFS[step.ref]
                forgotten.add(ref)
                sent = {s.message_id for s in platform.said}
                for message_id, refs in carried.items():
                    if ref not in refs:
                        continue
                    if message_id not in sent:
                        withdrawn.add(message_id)
                    elif any(r.kind in RETRACTABLE for r in refs):
                        must_go.add(message_id)
                await app.outbox.forget(ref)
            elif step.what == "down":
                platform.reachable = False
            elif step.what == "up":
                platform.reachable = True
            elif step.what == "pass":
                await app.outbox.deliver_due()
            elif step.what == "restart":
                await app.close()
                app = await open_app(url, clock, platform)
            else:  # the bot runs through those weeks: what is due goes out on time
                await app.outbox.deliver_due()
                clock.set(clock.now() + timedelta(days=8))
                await app.outbox.prune()
        platform.reachable = True
        await app.outbox.deliver_due()
        said = {s.message_id: s for s in platform.said}
        assert not withdrawn & set(said), "a message forgotten before sending was sent"
        assert set(said) == set(carried) - withdrawn, "a message was lost"
        deleted = {m for m, s in said.items() if s.deleted}
        assert deleted == must_go, f"taken back {sorted(deleted)}, expected {sorted(must_go)}"
        async with app.db.sessions() as session:
            statuses = set(await session.scalars(select(OutboxItem.status)))
            assert statuses <= {"pending", "sent"}, statuses  # no retraction left undone
            rows = (await session.execute(select(OutboxItemRef.kind, OutboxItemRef.ref))).all()
            left = {OutboxRef(RefKind(kind), ref) for kind, ref in rows}
            payloads = [
                p for p in await session.scalars(select(OutboxItem.payload)) if p is not None
            ]
        assert not left & forgotten, "a row still carries a forgotten reference"
        assert len(payloads) == 0, "a sent row kept its text"
    finally:
        await app.close()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps)
def test_a_sent_message_is_taken_back_exactly_when_what_it_carries_is_deleted(
    plan: list[Send | Forget | Simple],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder) / "bot.sqlite3", plan))


async def test_a_deletion_while_the_platform_is_down_happens_after_a_restart(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    clock = VirtualClock(START)
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}"
    app = await app_factory(clock=clock, db_url=url)
    platform = FakePlatform(app)
    app.add_transport(platform)
    entry = OutboxRef(RefKind.JOURNAL_ENTRY, "e1")
    reminder = OutboxRef(RefKind.MEETING, "7")
    await app.outbox.enqueue(
        "feed", Target("fake", "feed"), Message.of("my entry"), START, refs=(entry,)
    )
    await app.outbox.enqueue(
        "remind", Target("fake", "feed"), Message.of("meeting"), START, refs=(reminder,)
    )
    await app.outbox.deliver_due()
    assert [s.text for s in platform.visible()] == ["my entry", "meeting"]

    platform.reachable = False
    gone = await app.outbox.forget(entry, reminder)
    assert (gone.withdrawn, gone.removed, gone.waiting) == (0, [], ["fake"])
    assert "will be deleted when I reach fake again" in gone.note()
    assert await app.outbox.status_of("feed") == "retract"
    await app.leader.beat()
    waiting = status(tmp_path / "r.sqlite3", tmp_path)
    assert "Outbox: 1 posted message(s) still to delete on the platform" in waiting.stdout
    await app.close()

    platform.reachable = True
    again = await app_factory(clock=clock, db_url=url, name="again")
    again.add_transport(platform)
    await again.outbox.recover()
    assert [s.text for s in platform.visible()] == ["meeting"]  # a reminder is not taken back
    assert await again.outbox.status_of("feed") is None
    now = await again.outbox.forget(entry)
    assert not now and now.note() == ""
    assert "still to delete" not in status(tmp_path / "r.sqlite3", tmp_path).stdout
