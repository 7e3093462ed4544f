"""The dialogue model test, run longer: how many random sequences agreed with the oracle.

The CI tests (`tests/test_dialogue_model.py`) check 25 hypothesis examples each; this plays many
more random sequences of the same moves (answers, back, keep, skip, done, clear, pause, resume,
cancel, another dialogue in between) and prints how many were checked and how many disagreed.
Run: .venv/bin/python -m benchmarks.dialogue_model [SEQUENCES]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import Goal, emit
from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.loader import parse_config as parse
from tests.harness.dialogue_model import BREAKS, STEERS, WORDS, model_world, play

SEED = 14


def sequence(rng: random.Random) -> list[tuple[str, str]]:
    """Up to 50 moves, weighted like the hypothesis strategy (answers 3, steering 2, breaks 1)."""
    moves = []
    for _ in range(rng.randint(0, 50)):
        pool = rng.choice(["answer"] * 3 + ["steer"] * 2 + ["break"])
        if pool == "answer":
            moves.append(("say", rng.choice(WORDS)))
        elif pool == "steer":
            moves.append(("say", rng.choice(STEERS)))
        else:
            moves.append(rng.choice(BREAKS))
    return moves


async def measure(count: int) -> None:
    crypto.use_keys([crypto.generate_key()])
    rng = random.Random(SEED)
    disagreed = 0
    with tempfile.TemporaryDirectory() as tmp:
        config = parse({"cogs": {"enabled": ["general"]}}, "bench")
        clock = VirtualClock(datetime(2026, 12, 1, tzinfo=UTC))
        app = App(config, clock=clock, db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'd.sqlite3'}")
        await app.open(migrate=True)
        await app.start()
        world = model_world(app)
        start = time.perf_counter()
        for _ in range(count):
            try:
                await play(world, sequence(rng))
            except AssertionError:
                disagreed += 1
        seconds = time.perf_counter() - start
        await app.close()
    print(f"sequences checked: {count} (seed {SEED}), disagreements with the oracle: {disagreed}")
    print(f"time: {seconds:.1f} s ({seconds / max(count, 1) * 1000:.0f} ms per sequence)")
    emit(
        Goal(
            f"dialogue model: disagreements with the oracle ({count} random sequences)",
            0,
            disagreed,
            "",
            "at most",
        )
    )


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
