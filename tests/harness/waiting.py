"""Waiting in tests without guessing how fast the machine is.

`wait_until` waits for something to become true. `quiet_period` waits until nothing new has
arrived for a while, which is how a test proves "and nothing more was sent": a fixed
`sleep(0.3)` followed by an assert passes on a slow machine whatever the bot does later, while
a quiet period keeps watching for as long as messages keep coming (up to its bound) and fails
loudly if they never stop. Where the test can send a marker after the thing it checks (a
command whose answer must come after), waiting for the marker's answer is stronger still.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

POLL_SECONDS = 0.01


async def wait_until(
    condition: Callable[[], object], *, within_seconds: float = 15.0, what: str = "the condition"
) -> None:
    """Return as soon as `condition()` is truthy; AssertionError naming `what` after
    `within_seconds` (a liveness bound, not a timing goal)."""
    deadline = time.monotonic() + within_seconds
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {within_seconds} s")
        await asyncio.sleep(POLL_SECONDS)


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    within_seconds: float = 15.0,
    what: str = "the condition",
) -> None:
    """Like `wait_until` for a condition that must ask something asynchronously (a service,
    another process's answer): awaits `check()` until it is true; AssertionError after
    `within_seconds` (a liveness bound, not a timing goal)."""
    deadline = time.monotonic() + within_seconds
    while not await check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {within_seconds} s")
        await asyncio.sleep(POLL_SECONDS)


async def quiet_period(
    count: Callable[[], int], *, quiet_seconds: float = 0.5, within_seconds: float = 15.0
) -> int:
    """Wait until `count()` (e.g. messages received so far) has not changed for `quiet_seconds`,
    then return it. Every change restarts the quiet window, so a message that arrives late is
    still counted. AssertionError if the count is still changing after `within_seconds`.
    """
    deadline = time.monotonic() + within_seconds
    seen = count()
    quiet_since = time.monotonic()
    while True:
        await asyncio.sleep(POLL_SECONDS)
        now = time.monotonic()
        current = count()
        if current != seen:
            seen, quiet_since = current, now
        elif now - quiet_since >= quiet_seconds:
            return seen
        if now >= deadline:
            raise AssertionError(
                f"still changing after {within_seconds} s (last count {seen}); "
                f"never quiet for {quiet_seconds} s"
            )


async def calls_after(obj: object, name: str, times: int, *, within_seconds: float = 15.0) -> None:
    """Wait until the coroutine method `obj.name` has completed `times` more calls from now.

    A marker for periodic loops (a leader's poll, a retry): "after 3 more polls it still
    leads" holds however slow the machine is, where sleeping 3 poll intervals does not. The
    method is wrapped on the instance for the wait and restored afterwards.
    """
    method = getattr(obj, name)
    done = 0

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal done
        try:
            return await method(*args, **kwargs)
        finally:
            done += 1

    setattr(obj, name, counted)
    try:
        await wait_until(
            lambda: done >= times,
            within_seconds=within_seconds,
            what=f"{times} calls of {type(obj).__name__}.{name}",
        )
    finally:
        delattr(obj, name)
