"""The shared queue of timed jobs on PostgreSQL against a model: after any sequence of plans,
re-plans and cancellations, the queue holds exactly one job per name still planned, at its last
planned time, carrying its last arguments (bot/jobs.py); SQLite keeps the in-process scheduler."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.leader import DurableScheduler
from tests.harness.app import make_config
from tests.harness.chaos.jobs_worker import Probe, connect, durable
from tests.harness.postgres import fresh_pg_schema, pg_url

NAMES = ["probe.1.step", "probe.1.speaker", "probe.2.step", "probe.12.step", "probe.plan"]
PREFIXES = ["probe.1.", "probe.2.", "probe.", "probe.1_"]
BASE = datetime(2030, 1, 1, tzinfo=UTC)  # far ahead: nothing comes due during the test

ops = st.lists(
    st.one_of(
        st.tuples(st.just("at"), st.sampled_from(NAMES), st.integers(0, 5), st.integers(0, 2)),
        st.tuples(st.just("cancel"), st.sampled_from(NAMES)),
        st.tuples(st.just("cancel_prefix"), st.sampled_from(PREFIXES)),
    ),
    max_size=25,
)


async def queued(conn: asyncpg.Connection) -> dict[str, tuple[datetime, list[Any]]]:
    rows = await conn.fetch(
        "SELECT headers->>'job' AS name, execute_after, payload FROM pgqueuer "
        "WHERE status = 'queued'"
    )
    found: dict[str, tuple[datetime, list[Any]]] = {}
    for row in rows:
        assert row["name"] not in found, f"{row['name']} is queued twice"
        found[row["name"]] = (row["execute_after"], json.loads(row["payload"])["args"])
    return found


async def check(steps: list[tuple[Any, ...]]) -> None:
    async with fresh_pg_schema(migrated=True) as schema:
        app = App(make_config(cogs={"enabled": ["general"]}), db_url=pg_url(), db_schema=schema)
        await app.open(migrate=True)
        await app.close()
        conn = await connect(pg_url(), schema)
        plans: DurableScheduler = durable(pg_url(), schema, {"probe": Probe(conn, 0)}, 30.0)
        assert plans.jobs is not None
        await plans.jobs.start(work=False)
        model: dict[str, tuple[datetime, list[Any]]] = {}
        try:
            for n, step in enumerate(steps):
                if step[0] == "at":
                    _kind, name, hours, arg = step
                    when = BASE + timedelta(hours=hours)
                    plans.at(name, when, plans.cogs["probe"].run, f"label{arg}", False)
                    model[name] = (when, [f"label{arg}", False])
                elif step[0] == "cancel":
                    plans.cancel(step[1])
                    model.pop(step[1], None)
                else:
                    plans.cancel_prefix(step[1])
                    model = {k: v for k, v in model.items() if not k.startswith(step[1])}
                if n % 7 == 6:  # some steps reach the database one at a time, others in batches
                    await plans.jobs.flush()
            await plans.jobs.flush()
            assert await queued(conn) == model
        finally:
            await plans.shutdown(5)
            await conn.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_the_queue_holds_one_job_per_planned_name_at_its_last_time(
    steps: list[tuple[Any, ...]],
) -> None:
    asyncio.run(check(steps))
