"""The dialogue engine against a model of what must be saved (hypothesis, model-based).

Random sequences of what a member may type in a DM (answers, `back`, `keep`, `skip`, `done`,
`clear`, `pause`, `resume`, `cancel`, the steering words also as people type them: "Done.",
"KEEP!", and starting another dialogue in between) drive a real
app; a small oracle that knows only the rule "nothing the member wrote is dropped unless they
ask" says what the finished dialogue must hand to its owner.
"""

from __future__ import annotations

import os

import pytest_asyncio
from hypothesis import HealthCheck, given, settings

from tests.harness.app import AppFactory
from tests.harness.dialogue_model import (
    MOVES,
    World,
    model_world,
    play,
)

DIALOGUES = settings(
    max_examples=60,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
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
