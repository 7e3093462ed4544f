"""APScheduler 3.x with stable job ids, plus a virtual mode driven by the app clock.

The database is the source of truth; jobs here are derived and rebuilt at start-up. On the
system clock APScheduler fires jobs itself. On a virtual clock the scheduler is started paused
and `advance()` runs every job that came due, in time order, using APScheduler's own triggers.

A job has a priority (`DELIVERY` for the outbox's passes, `PLANNING` for the rest): among jobs
due at the same instant the higher runs first, and on the system clock a planning job waits
while any delivery pass runs, so announcements due now are never queued behind the planning of
later ones (APScheduler itself starts every due job at once and knows no priorities).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.clock import Clock, VirtualClock

log = logging.getLogger("circlebot.scheduler")

JobFunc = Callable[..., Awaitable[Any]]

PLANNING = 0
DELIVERY = 1


class Scheduler:
    """Timed jobs with ids like `meetings.12.2026-12-01T18:00.remind24h`."""

    def __init__(self, clock: Clock, *, misfire_grace: timedelta = timedelta(minutes=15)) -> None:
        self.clock = clock
        self.misfire_grace = misfire_grace
        self._aps = AsyncIOScheduler(timezone="UTC")
        self._started = False
        self._deliveries_running = 0
        self._no_delivery = asyncio.Event()
        self._no_delivery.set()

    @property
    def virtual(self) -> bool:
        """True when the clock only moves on `advance()`."""
        return isinstance(self.clock, VirtualClock)

    def start(self) -> None:
        """Begin firing jobs (paused on a virtual clock: `advance()` fires them)."""
        if not self._started:
            self._aps.start(paused=self.virtual)
            self._started = True

    async def shutdown(self, within_seconds: float = 10.0) -> None:
        """Stop firing jobs and give running ones up to `within_seconds` to finish (APScheduler
        would cancel them); a job still running then is logged and left to the event loop."""
        if not self._started:
            return
        self._aps.pause()
        executor = self._aps._lookup_executor("default")
        running = [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]
        if running:
            _done, late = await asyncio.wait(running, timeout=within_seconds)
            if late:
                log.warning("%d scheduled job(s) still running at shutdown", len(late))
        self._aps.shutdown(wait=False)
        self._started = False

    def at(
        self, job_id: str, when: datetime, func: JobFunc, *args: Any, priority: int = PLANNING
    ) -> None:
        """Run `func(*args)` once at `when`, replacing any job with the same id.

        `priority` is `PLANNING` or `DELIVERY` (see the module docstring). Planning the same
        job again (same id, time and call) changes nothing and costs a lookup: a start-up asks
        for one delivery pass per due time many times over.
        """
        call = (priority, func, *args)
        same = self._aps.get_job(job_id)
        # A job added before the scheduler starts has no next run time yet.
        if same is not None and getattr(same, "next_run_time", None) == when and same.args == call:
            return
        self._aps.add_job(
            self._run,
            trigger=DateTrigger(run_date=when),
            args=call,
            id=job_id,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=int(self.misfire_grace.total_seconds()),
        )

    async def _run(self, priority: int, func: JobFunc, *args: Any) -> Any:
        if priority >= DELIVERY:
            self._deliveries_running += 1
            self._no_delivery.clear()
            try:
                return await func(*args)
            finally:
                self._deliveries_running -= 1
                if not self._deliveries_running:
                    self._no_delivery.set()
        # APScheduler starts the jobs due in one wake-up in id order; one turn of the loop lets
        # the delivery passes among them begin before a planning job looks.
        await asyncio.sleep(0)
        await self._no_delivery.wait()
        return await func(*args)

    def cancel(self, job_id: str) -> bool:
        """Remove one job; False if it was not planned."""
        if self._aps.get_job(job_id) is None:
            return False
        self._aps.remove_job(job_id)
        return True

    def cancel_prefix(self, prefix: str) -> int:
        """Remove every job whose id starts with `prefix` (a cog unloading, a meeting edited)."""
        doomed = [job.id for job in self._aps.get_jobs() if job.id.startswith(prefix)]
        for job_id in doomed:
            self._aps.remove_job(job_id)
        return len(doomed)

    def planned(self, prefix: str = "") -> list[tuple[str, datetime]]:
        """Job ids and their next run time, soonest first."""
        jobs = [(j.id, j.next_run_time) for j in self._aps.get_jobs() if j.id.startswith(prefix)]
        return sorted((j for j in jobs if j[1] is not None), key=lambda j: (j[1], j[0]))

    async def advance(self, delta: timedelta) -> int:
        """Move a virtual clock forward, running every job that comes due, in order."""
        if not isinstance(self.clock, VirtualClock):
            raise RuntimeError("advance() needs a virtual clock")
        target = self.clock.now() + delta
        ran = 0
        while True:
            due = [
                j for j in self._aps.get_jobs() if j.next_run_time and j.next_run_time <= target
            ]
            if not due:
                break
            job = min(due, key=lambda j: (j.next_run_time, -j.args[0], j.id))
            run_time = job.next_run_time
            if run_time > self.clock.now():
                self.clock.set(run_time)
            following = job.trigger.get_next_fire_time(run_time, self.clock.now())
            if following is None:
                job.remove()
            else:
                job.modify(next_run_time=following)
            try:
                await job.func(*job.args, **job.kwargs)
            except Exception:
                log.exception("job %s failed", job.id)
            ran += 1
        self.clock.set(target)
        return ran
