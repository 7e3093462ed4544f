"""The scheduler: deliveries due now go before the planning of later ones, on both clocks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import SystemClock, VirtualClock
from bot.scheduler import DELIVERY, PLANNING, Scheduler

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

_jobs = st.dictionaries(
    st.sampled_from(
        ["meetings.1.plan", "meetings.2.plan", "outbox.a", "outbox.retry.1", "privacy.retention"]
    ),
    st.tuples(st.integers(0, 3), st.sampled_from([PLANNING, DELIVERY])),
    min_size=1,
)


@settings(max_examples=40, deadline=None)
@given(jobs=_jobs)
def test_on_a_virtual_clock_jobs_run_by_time_then_deliveries_first(
    jobs: dict[str, tuple[int, int]],
) -> None:
    """Jobs due at the same minute run deliveries first, whatever their ids; then by id."""
    ran: list[str] = []

    async def run() -> None:
        scheduler = Scheduler(VirtualClock(START))
        scheduler.start()

        async def job(job_id: str) -> None:
            ran.append(job_id)

        for job_id, (minute, priority) in jobs.items():
            scheduler.at(job_id, START + timedelta(minutes=minute), job, job_id, priority=priority)
        await scheduler.advance(timedelta(minutes=5))
        await scheduler.shutdown()

    asyncio.run(run())
    expected = sorted(jobs, key=lambda j: (jobs[j][0], -jobs[j][1], j))
    assert ran == expected


async def test_on_the_system_clock_planning_waits_for_the_delivery_due_with_it() -> None:
    """APScheduler starts both at once (planning first, by id); the planning job waits until
    the delivery pass has finished instead of competing with it."""
    scheduler = Scheduler(SystemClock())
    scheduler.start()
    events: list[str] = []
    planned = asyncio.Event()

    async def deliver() -> None:
        events.append("delivery starts")
        for _ in range(20):  # the delivery pass awaits its sends; the loop turns meanwhile
            await asyncio.sleep(0)
        events.append("delivery ends")

    async def plan() -> None:
        events.append("planning")
        planned.set()

    when = datetime.now(UTC) + timedelta(milliseconds=300)
    scheduler.at("meetings.1.plan", when, plan)
    scheduler.at("outbox.now", when, deliver, priority=DELIVERY)
    try:
        await asyncio.wait_for(planned.wait(), 10)
    finally:
        await scheduler.shutdown()
    assert events == ["delivery starts", "delivery ends", "planning"]
