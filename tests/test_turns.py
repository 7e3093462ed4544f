"""`LoopTurns`: long work on the event loop lets other tasks (members' commands, due
deliveries) run once its time slice is spent, and not before."""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import LoopTurns


async def _interleavings(turns: LoopTurns, pieces: int) -> list[int]:
    """Runs `pieces` pieces of work with `turns.take()` after each while another task counts
    its own runs; returns, for each piece, how many times the other task had run by then."""
    ran = 0

    async def other() -> None:
        nonlocal ran
        while True:
            ran += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    seen = []
    try:
        for _ in range(pieces):
            seen.append(ran)
            await turns.take()
    finally:
        task.cancel()
    return seen


@given(pieces=st.integers(min_value=2, max_value=50))
@settings(max_examples=20, deadline=None)
def test_spent_time_slice_gives_other_tasks_a_turn_after_every_piece(pieces: int) -> None:
    async def run() -> list[int]:
        return await _interleavings(LoopTurns(every_seconds=0.0), pieces)

    seen = asyncio.run(run())
    # the other task ran between every two pieces of work
    assert all(b > a for a, b in itertools.pairwise(seen))


@given(pieces=st.integers(min_value=2, max_value=50))
@settings(max_examples=20, deadline=None)
def test_work_inside_its_time_slice_is_not_interrupted(pieces: int) -> None:
    async def run() -> list[int]:
        return await _interleavings(LoopTurns(every_seconds=3600.0), pieces)

    seen = asyncio.run(run())
    assert seen == [0] * pieces  # no turn taken: a turn per piece costs as much as the piece


async def test_a_turn_starts_a_new_time_slice() -> None:
    turns = LoopTurns(every_seconds=0.2)
    loop = asyncio.get_running_loop()
    began = loop.time()
    while loop.time() - began < 0.21:  # work past the slice
        pass
    seen = await _interleavings(turns, 3)
    assert seen[1] > seen[0]  # the first take gave a turn (the slice was spent)...
    assert seen[2] == seen[1]  # ...and began a new one, so the next did not


async def test_after_a_turn_the_next_slice_is_as_long_as_the_first() -> None:
    turns = LoopTurns(every_seconds=0.2)
    loop = asyncio.get_running_loop()
    for _slice in range(2):  # the second slice must end after 0.2 s too, not later
        began = loop.time()
        while loop.time() - began < 0.21:
            pass
        seen = await _interleavings(turns, 2)
        assert seen[1] > seen[0]
