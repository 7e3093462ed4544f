"""Typing notices while a command works, so a slow answer does not look like silence.

A command that has not answered after `TYPING_AFTER_SECONDS` shows the bot as typing in its
room (`m.typing`, the notice Element renders as "... is typing"); each notice lasts
`TYPING_TIMEOUT_SECONDS` and is renewed while the command works, for at most
`TYPING_MAX_SECONDS`, and withdrawn as soon as it answers. A failed notice is only logged:
typing is a courtesy, never a reason for a command to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import ClientConnectionError

log = logging.getLogger("circlebot.matrix")

TYPING_AFTER_SECONDS = 0.5  # quicker answers show no typing at all
TYPING_TIMEOUT_SECONDS = 30.0  # how long one notice lasts on the homeserver
TYPING_RENEW_SECONDS = 20.0  # renewed before it lapses while the command still works
TYPING_MAX_SECONDS = 120.0  # bounded: a command stuck longer stops showing typing

# (typing_state, timeout in milliseconds) -> the homeserver's answer; see AsyncClient.room_typing
SetTyping = Callable[[bool, int], Awaitable[Any]]
Sleep = Callable[[float], Awaitable[None]]


@contextlib.asynccontextmanager
async def typing_while_working(
    set_typing: SetTyping, sleep: Sleep = asyncio.sleep
) -> AsyncIterator[None]:
    """Show typing while the body runs longer than `TYPING_AFTER_SECONDS`; withdrawn on exit
    (also when the body raises). `sleep` is replaceable for tests."""
    started = asyncio.Event()

    async def show() -> None:
        await sleep(TYPING_AFTER_SECONDS)
        shown = 0.0
        while shown < TYPING_MAX_SECONDS:
            started.set()
            await _quietly(set_typing(True, int(TYPING_TIMEOUT_SECONDS * 1000)))
            await sleep(TYPING_RENEW_SECONDS)
            shown += TYPING_RENEW_SECONDS
        await _quietly(set_typing(False, 0))

    task = asyncio.create_task(show())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if started.is_set():
            await _quietly(set_typing(False, 0))


async def _quietly(request: Awaitable[Any]) -> None:
    try:
        response = await request
    except (ClientConnectionError, TimeoutError) as exc:
        log.info("typing notice not sent: %s", type(exc).__name__)
        return
    if getattr(response, "status_code", None):
        log.info("typing notice refused: %s", response.status_code)
