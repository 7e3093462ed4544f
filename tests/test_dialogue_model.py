"""The dialogue engine against a model of what must be saved (hypothesis, model-based).

Random sequences of what a member may type in a DM (answers, `back`, `keep`, `skip`, `done`,
`clear`, `pause`, `resume`, `cancel`, the steering words also as people type them: "Done.",
"KEEP!", words to leave such as `stop` or `Beenden!` and the same in quotes, `yes` and `no`,
and starting another dialogue in between) drive a real app; a small oracle that knows only the
rule "nothing the member wrote is dropped unless they ask and say `yes` to a question naming it,
and a word to leave is never an answer unless quoted" says what must be kept after every
message and what the finished dialogue must hand to its owner.

Found in use: `cancel` sent in reply to a meeting reminder deleted a paused worksheet
unasked, and `stop`, `quit` or `exit` typed to leave were saved as private answers.
"""

from __future__ import annotations

import pytest_asyncio
from hypothesis import HealthCheck, given, settings

from tests.harness.app import AppFactory
from tests.harness.dialogue_model import (
    DELETING_MOVES,
    MOVES,
    World,
    model_world,
    play,
)

DIALOGUES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest_asyncio.fixture
async def world(app_factory: AppFactory) -> World:
    return model_world(await app_factory())


@DIALOGUES
@given(moves=MOVES)
async def test_a_dialogue_saves_exactly_what_the_member_kept(
    world: World, moves: list[tuple[str, str]]
) -> None:
    await play(world, moves)


@DIALOGUES
@given(moves=DELETING_MOVES)
async def test_nothing_written_goes_without_a_yes_to_a_question_naming_it(
    world: World, moves: list[tuple[str, str]]
) -> None:
    """`cancel` and `clear`, however typed, on an open or a paused dialogue: what the member
    wrote stays until they answer `yes` to a question naming it (the dialogue and its number of
    answers, or the answer to be cleared); checked after every message."""
    await play(world, moves)
