"""Turns of the event loop for long work done on it.

Work that walks thousands of rows on the event loop (start-up planning, reconciling an
outbox) would hold every member's command and every due delivery until it ends. `LoopTurns`
hands the loop a turn once the work has run `every_seconds` since the last one: short beside
the 50 ms a member would notice, long beside a turn itself, so a turn for every row (which cost
as much as the row's own work in start-up planning) is not paid either.
"""

from __future__ import annotations

import asyncio

# Short beside the 50 ms a member notices; long beside a turn: start-up planning that took a
# turn for every meeting spent as long on turns as on planning, and each delivery pass planned
# at start-up costs a scheduler job of about 0.3 ms (benchmarks/meetings_schedule.py).
TURN_EVERY_SECONDS = 0.005


class LoopTurns:
    """Call `await turns.take()` after each piece of work; it yields to the event loop only
    once `every_seconds` (loop time, monotonic) have passed since the last turn.

    Must be made and used inside a running event loop (RuntimeError otherwise).
    """

    def __init__(self, every_seconds: float = TURN_EVERY_SECONDS) -> None:
        self._loop = asyncio.get_running_loop()
        self.every_seconds = every_seconds
        self._turn_at = self._loop.time() + every_seconds

    async def take(self) -> None:
        """A turn for the event loop when `every_seconds` of work have passed, else nothing."""
        if self._loop.time() >= self._turn_at:
            await asyncio.sleep(0)
            self._turn_at = self._loop.time() + self.every_seconds
