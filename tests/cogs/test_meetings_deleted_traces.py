"""What was deleted is gone: a deleted meeting, or an erased community, leaves nothing behind.

A meeting leaves traces outside its own rows: pending outbox items, sent announcements kept
current (their text, to edit the RSVP count), settled rows under its keys and the plan stamp a
restart trusts its stored plan by. After `meeting delete`, and after a community the bot was
removed from is erased, no table holds any of them (the scan reflects the live schema and
decrypts what is encrypted), and on SQLite neither the database file nor its log holds the
title or the ciphertext of the announcements. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.cog import Cog
from bot.core.loader import available_cogs, cog_class
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.models import OutboxItem, OutboxItemRef, OutboxPlanStamp
from bot.outbox import OutboxRef, OwnerPlan, Planned, PlanStamp, RefKind, Target
from cogs.meetings.service import MeetingView
from tests.harness.app import AppFactory, MigratedSQLite, make_config
from tests.harness.deleted_traces import (
    BACKENDS,
    START,
    Posting,
    ciphertexts,
    file_bytes,
    on,
    prefix_of,
    traces,
    view_of,
)
from tests.harness.platform import COMMUNITY
from tests.harness.postgres import pg_url, schema_for
from tests.harness.privacy_scan import scan_database


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_deleted_meeting_leaves_no_row_stamp_post_or_text_behind(
    app_factory: AppFactory, tmp_path: Path, backend: str
) -> None:
    async with schema_for(backend, migrated=True) as schema:
        app, fake = await on(app_factory, backend, tmp_path, schema, ["general", "meetings"])
        for line in (
            '!meeting schedule Qzweeklycircle "2026-12-01 19:00" 60m repeat:weekly zone:UTC',
            '!meeting schedule Qzonceonly "2026-12-01 12:00" 60m zone:UTC',
            '!meeting schedule Keeper "2026-12-01 20:00" 60m repeat:weekly zone:UTC',
        ):
            await fake.say("fac", line)
        # the one-off is over (everything sent, nothing pending); the weekly ones have posted
        # their first announcements (kept current) and planned the next week's
        await app.scheduler.advance(datetime(2026, 12, 1, 20, 30, tzinfo=UTC) - START)
        weekly, once, keeper = [
            await view_of(app, t) for t in ("Qzweeklycircle", "Qzonceonly", "Keeper")
        ]
        assert any("Qzweeklycircle" in s.text for s in fake.said if s.where == "channel")
        stamped = await app.outbox.stamps_of([OutboxRef(RefKind.MEETING, str(once.id))])
        assert stamped, "a finished meeting keeps the stamp of its (empty) plan"
        tokens = set()
        for view in (weekly, once):
            assert await traces(app, view.id, view.uid, view.title)  # there is something to go
            tokens |= await ciphertexts(app, prefix_of(view.id, view.uid))
        assert tokens, "the sent posts kept their (encrypted) text"
        keeper_before = await traces(app, keeper.id, keeper.uid, keeper.title)

        await fake.say("fac", "!meeting delete Qzweeklycircle confirm:yes")
        await fake.say("fac", f"!meeting delete #{once.id} confirm:yes")

        for view in (weekly, once):
            assert await traces(app, view.id, view.uid, view.title) == [], view.title
        # the other meeting keeps everything it had
        assert await traces(app, keeper.id, keeper.uid, keeper.title) == keeper_before
        if backend == "sqlite":
            blob = file_bytes(tmp_path)
            for needle in [b"Qzweeklycircle", b"Qzonceonly", *tokens]:
                assert needle not in blob, needle[:40]
        await app.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_erased_community_leaves_nothing_of_its_meetings_scripts_or_journals(
    app_factory: AppFactory, tmp_path: Path, backend: str
) -> None:
    async with schema_for(backend, migrated=True) as schema:
        app, fake = await on(
            app_factory,
            backend,
            tmp_path,
            schema,
            ["general", "meetings", "journal", "privacy", "scripts"],
        )
        for line in (
            '!meeting schedule Qzweeklycircle "2026-12-01 19:00" 60m repeat:weekly zone:UTC',
            '!meeting schedule Qzonceonly "2026-12-20 12:00" 60m zone:UTC',
            "!journal feed-channel #general",
            "!journal write visibility:shared Qzsharedwords in the circle",
        ):
            await fake.say("fac", line)
        await app.scheduler.advance(timedelta(hours=11))
        views = [await view_of(app, t) for t in ("Qzweeklycircle", "Qzonceonly")]
        assert await app.community_removed("fake", COMMUNITY)
        # during the 30 days kept, the weekly meeting goes on posting; the one-off is held
        await app.scheduler.advance(timedelta(days=31))
        assert await app.members.community_by_id(1) is None
        for view in views:
            assert await traces(app, view.id, view.uid, view.title) == [], view.title
        async with app.db.sessions() as session:
            assert (await session.scalars(select(OutboxPlanStamp.ref))).all() == []
            assert (await session.scalars(select(OutboxItemRef.ref))).all() == []
            keys = (await session.scalars(select(OutboxItem.key))).all()
            assert [k for k in keys if k.startswith(("meetings.", "journal."))] == []
        assert await scan_database(app.db.engine, ["Qzsharedwords"]) == []
        if backend == "sqlite":
            blob = file_bytes(tmp_path)
            for needle in (b"Qzweeklycircle", b"Qzonceonly", b"Qzsharedwords"):
                assert needle not in blob, needle
        await app.close()


def test_every_shipped_cog_erases_its_data_of_a_community() -> None:
    for name in available_cogs():
        assert cog_class(name).delete_community_data is not Cog.delete_community_data, name


# --- a model: random sequences of create / plan and send (time passes) / delete --------------


@dataclass(frozen=True)
class Create:
    ahead: int  # quarter hours from now
    weekly: bool


@dataclass(frozen=True)
class Advance:
    minutes: int  # planning sweeps and deliveries run meanwhile


@dataclass(frozen=True)
class Delete:
    pick: int  # which of the meetings still there (modulo)


Step = Create | Advance | Delete
STEPS = st.tuples(
    st.lists(
        st.one_of(
            st.builds(Create, st.integers(1, 6), st.booleans()),
            st.builds(Advance, st.sampled_from([20, 45, 70, 200, 24 * 60])),
            st.builds(Delete, st.integers(0, 5)),
        ),
        min_size=2,
        max_size=8,
    ),
    st.builds(Delete, st.integers(0, 5)),
).map(lambda both: [*both[0], both[1]])  # every sequence ends by deleting one


async def model_run(steps: list[Step], backend: str) -> None:
    """Play `steps`; after each, every deleted meeting has no trace and the others keep theirs."""
    async with schema_for(backend, migrated=True) as schema:
        folder = Path(tempfile.mkdtemp(prefix="circlebot-traces-"))
        if backend == "sqlite":
            MigratedSQLite.copy_to(folder / "b.db")
        app = App(
            make_config(cogs={"enabled": ["general", "meetings"]}),
            clock=VirtualClock(START),
            db_url=(
                pg_url() if backend == "postgres" else f"sqlite+aiosqlite:///{folder / 'b.db'}"
            ),
            db_schema=schema,
        )
        await app.open(migrate=True)
        await app.start()
        try:
            fake = Posting(app)
            app.add_transport(fake)
            fake.actor("fac", Tier.FACILITATOR)
            here: list[MeetingView] = []
            gone: list[MeetingView] = []
            made = 0
            for step in steps:
                # what the others hold before a delete (only a delete compares it)
                before = (
                    {v.id: await traces(app, v.id, v.uid, v.title) for v in here}
                    if isinstance(step, Delete)
                    else {}
                )
                if isinstance(step, Create):
                    made += 1
                    start = app.clock.now().replace(second=0, microsecond=0) + timedelta(
                        minutes=15 * step.ahead
                    )
                    title = f"Qzm{made}x"
                    repeat = " repeat:weekly" if step.weekly else ""
                    await fake.say(
                        "fac",
                        f'!meeting schedule {title} "{start:%Y-%m-%d %H:%M}" 60m{repeat} zone:UTC',
                    )
                    here.append(await view_of(app, title))
                elif isinstance(step, Advance):
                    await app.scheduler.advance(timedelta(minutes=step.minutes))
                elif here:
                    view = here.pop(step.pick % len(here))
                    await fake.say("fac", f"!meeting delete #{view.id} confirm:yes")
                    gone.append(view)
                    # nothing of the others went with it
                    for other in here:
                        assert (
                            await traces(app, other.id, other.uid, other.title) == before[other.id]
                        ), other.title
                reused = {v.id for v in here}
                for view in gone:
                    left = await traces(
                        app, view.id, view.uid, view.title, by_id=view.id not in reused
                    )
                    assert left == [], (
                        view.title,
                        step,
                    )
        finally:
            await app.close()
            shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_creates_sends_and_deletes_leave_no_trace_of_what_was_deleted(
    backend: str, encryption_keys: list[str]
) -> None:
    examples = 14 if backend == "sqlite" else 4  # each PostgreSQL run makes its schema

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(steps=STEPS)
    def check(steps: list[Step]) -> None:
        crypto.use_keys(encryption_keys)
        asyncio.run(model_run(steps, backend))

    check()


# --- the outbox itself: forgetting drops stamps, in a few statements however many owners ------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_forgetting_owners_drops_their_stamps_in_a_few_statements(
    app_factory: AppFactory, tmp_path: Path, backend: str
) -> None:
    async with schema_for(backend, migrated=True) as schema:
        app = await app_factory(
            clock=VirtualClock(START),
            db_url=pg_url() if backend == "postgres" else None,
            db_schema=schema,
        )
        owners = [OutboxRef(RefKind.MEETING, str(n)) for n in range(1, 1201)]
        kept = OutboxRef(RefKind.MEETING, "9999")
        since, until = START - timedelta(hours=1), START + timedelta(days=2)

        def plan(owner: OutboxRef, items: int) -> OwnerPlan:
            made = tuple(
                Planned(
                    f"meetings.{owner.id}.x.{n}",
                    Target("fake", "general"),
                    Message.of(f"Circle {owner.id} meets soon."),
                    START + timedelta(hours=1 + n),
                )
                for n in range(items)
            )
            return OwnerPlan(owner, made, since, until, PlanStamp("digest", None))

        # half the owners have pending items; the others only a stamp (a plan with nothing
        # left to send, as a meeting that is over)
        await app.outbox.replan_many(
            [plan(owner, 1 if n % 2 else 0) for n, owner in enumerate(owners)] + [plan(kept, 1)]
        )
        assert len(await app.outbox.stamps_of(owners)) == len(owners)
        statements: list[str] = []

        def note(*args: Any) -> None:
            statements.append(str(args[2]))

        engine = app.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            gone = await app.outbox.forget(
                *owners, *(OutboxRef(RefKind.MEETING_NOTICE, o.id) for o in owners)
            )
        finally:
            event.remove(engine, "before_cursor_execute", note)
        assert gone.withdrawn == len(owners) // 2
        assert await app.outbox.stamps_of(owners) == {}
        assert await app.outbox.stamps_of([kept]) != {}  # another owner's stays
        assert len(await app.outbox.known(kept)) == 1
        # one statement per kind of reference, not one per reference (1,200 took 1,200+)
        assert len(statements) <= 20, len(statements)
        await app.close()
