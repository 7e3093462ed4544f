"""Typing notices while a Matrix command works (`bot.adapters.matrix.typing_notice`), on a
stand-in clock: none for a quick answer, renewed while slow, bounded, withdrawn at the end."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.matrix.typing_notice import (
    TYPING_AFTER_SECONDS,
    TYPING_MAX_SECONDS,
    TYPING_TIMEOUT_SECONDS,
    typing_while_working,
)


class Clock:
    """Sleeps advance a stand-in clock at once; `run_until(t)` lets the typing task run to t."""

    def __init__(self) -> None:
        self.now = 0.0
        self.limit = 0.0
        self.moved = asyncio.Event()
        self.notices: list[tuple[float, bool, int]] = []

    async def sleep(self, seconds: float) -> None:
        while self.now + seconds > self.limit:
            self.moved.clear()
            await self.moved.wait()
        self.now += seconds

    async def set_typing(self, typing: bool, timeout_ms: int) -> None:
        self.notices.append((self.now, typing, timeout_ms))

    async def run_until(self, limit: float) -> None:
        self.limit = limit
        self.moved.set()
        for _ in range(50):  # let the typing task take every step up to the limit
            await asyncio.sleep(0)


@settings(max_examples=30, deadline=None)
@given(working_seconds=st.floats(min_value=0.0, max_value=TYPING_MAX_SECONDS * 2))
def test_typing_shows_only_while_a_slow_command_works(working_seconds: float) -> None:
    async def scenario() -> list[tuple[float, bool, int]]:
        clock = Clock()
        async with typing_while_working(clock.set_typing, clock.sleep):
            await clock.run_until(working_seconds)
        return clock.notices

    notices = asyncio.run(scenario())
    if working_seconds < TYPING_AFTER_SECONDS:
        assert notices == []  # a quick answer shows no typing
        return
    shown = [(at, ms) for at, on, ms in notices if on]
    assert shown and shown[0][0] == pytest.approx(TYPING_AFTER_SECONDS)
    assert all(ms == TYPING_TIMEOUT_SECONDS * 1000 for _at, ms in shown)
    # renewed before each notice lapses, never past the bound
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(shown)]
    assert all(gap <= TYPING_TIMEOUT_SECONDS for gap in gaps)
    assert shown[-1][0] < TYPING_AFTER_SECONDS + TYPING_MAX_SECONDS
    assert notices[-1][1] is False  # withdrawn: when it answered, or at the bound
    assert notices[-1][0] <= min(working_seconds, TYPING_AFTER_SECONDS + TYPING_MAX_SECONDS)


def test_typing_is_withdrawn_when_the_command_fails() -> None:
    async def scenario() -> list[tuple[float, bool, int]]:
        clock = Clock()

        async def failing_command() -> None:
            async with typing_while_working(clock.set_typing, clock.sleep):
                await clock.run_until(5.0)
                raise RuntimeError("the command failed")

        with pytest.raises(RuntimeError):
            await failing_command()
        return clock.notices

    notices = asyncio.run(scenario())
    assert [on for _at, on, _ms in notices] == [True, False]
