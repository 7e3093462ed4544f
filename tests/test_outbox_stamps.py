"""A plan's stamp is stored with it and dropped whenever the owner's items change another way.

A restart trusts an owner's stored items only while its stamp stands (see `PlanStamp`), so
every path that changes pending items outside a plan must drop the stamps of the owners those
items carry: `enqueue` (an item carrying the owner), `forget` (items withdrawn), `retarget`
(items moved to another room). On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import VirtualClock
from bot.core.message import Message
from bot.outbox import OutboxRef, OwnerPlan, Planned, PlanStamp, RefKind, Target
from tests.harness.app import AppFactory
from tests.harness.postgres import pg_url, schema_for

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHANNEL = Target("fake", "general")
OWNER = OutboxRef(RefKind.MEETING, "7")
OTHER = OutboxRef(RefKind.MEETING, "8")


def plan(owner: OutboxRef, stamp: PlanStamp | None, hours: int = 2) -> OwnerPlan:
    item = Planned(
        f"meetings.{owner.id}.start.{hours}",
        CHANNEL,
        Message.of("Circle is starting now."),
        START + timedelta(hours=hours),
        refs=(OutboxRef.member("fake:ana"),),
    )
    return OwnerPlan(owner, (item,), START - timedelta(hours=1), START + timedelta(days=2), stamp)


async def stamped(app: App) -> set[str]:
    found = await app.outbox.stamps_of([OWNER, OTHER])
    return {owner.id for owner in found}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_stamp_lives_with_its_plan_and_goes_when_items_change_outside_one(
    app_factory: AppFactory, tmp_path: Path, backend: str
) -> None:
    async with schema_for(backend, migrated=True) as schema:
        url = pg_url() if backend == "postgres" else f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
        app = await app_factory(
            clock=VirtualClock(START),
            db_url=url,
            db_schema=schema,
        )
        outbox = app.outbox
        until = START + timedelta(days=1)

        async def both() -> None:
            await outbox.replan_many(
                [plan(OWNER, PlanStamp("d1", until)), plan(OTHER, PlanStamp("d2", None))]
            )

        await both()
        stored = await outbox.stamps_of([OWNER, OTHER])
        assert stored[OWNER].trusted("d1", START)
        assert not stored[OWNER].trusted("d2", START)  # other inputs
        assert not stored[OWNER].trusted("d1", until)  # its next planning moment came
        assert not stored[OWNER].trusted("d1", START - timedelta(seconds=1))  # clock set back
        assert stored[OTHER].trusted("d2", START + timedelta(days=3650))  # nothing more to plan

        # a plan written without a stamp drops the owner's
        await outbox.replan_many([plan(OWNER, None)])
        assert await stamped(app) == {"8"}

        # an item carrying the owner, enqueued outside its plan
        await both()
        await outbox.enqueue(
            "meetings.7.notice", CHANNEL, Message.of("Moved"), START, refs=(OWNER,)
        )
        assert await stamped(app) == {"8"}

        # items withdrawn by something they carry (a member's erasure)
        await both()
        await outbox.forget(OutboxRef.member("fake:ana"))
        assert await stamped(app) == set()

        # items moved to an upgraded room
        await both()
        assert await outbox.retarget("fake", "general", "general-v2") == 2
        assert await stamped(app) == set()

        # an item carrying someone else only leaves the stamps alone
        await both()
        await outbox.enqueue(
            "journal.x", Target("fake", "fake:ben", True), Message.of("Hi"), START
        )
        assert await stamped(app) == {"7", "8"}
        await app.close()
