"""Journal at scale: one member with 10,000 entries on SQLite, and 100 members writing at once.

Prints p50/p99 of `journal list` and `journal search` through the whole command path (the
dispatcher, the service, decryption, rendering), the first (cold-cache) search, and writes per
second for 100 concurrent members. Run: .venv/bin/python -m benchmarks.journal_search [N]
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import crypto
from bot.app import App
from bot.config import parse
from cogs.journal.models import JournalEntry
from cogs.journal.service import new_code
from tests.harness.platform import FakePlatform

ENTRIES = 10_000
WORDS = (
    "walk",
    "morning",
    "evening",
    "urge",
    "calm",
    "friend",
    "sister",
    "work",
    "tired",
    "proud",
    "harbour",
    "coffee",
    "sleep",
    "meeting",
    "plan",
    "rain",
    "garden",
    "call",
    "music",
    "breathe",
    "anxious",
    "hopeful",
    "cooking",
    "bus",
    "slow",
    "day",
)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fill(app: App, author: str, community_id: int, n: int) -> None:
    """Insert `n` encrypted entries of about 60 words over the past years."""
    rng = random.Random(7)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for batch in range(0, n, 1000):
        async with app.db.sessions.begin() as session:
            session.add_all(
                JournalEntry(
                    code=new_code(8),
                    author_key=author,
                    community_id=community_id,
                    title=" ".join(rng.choices(WORDS, k=3)),
                    body=" ".join(rng.choices(WORDS, k=60)) + f" marker{i}",
                    mood=rng.randint(1, 10),
                    visibility="private",
                    feedback_open=True,
                    created_at=start + timedelta(hours=4 * i),
                    version=1,
                )
                for i in range(batch, min(n, batch + 1000))
            )


async def timed(fake: FakePlatform, line: str) -> float:
    started = time.perf_counter()
    said = await fake.say("ana", line)
    elapsed = (time.perf_counter() - started) * 1000
    assert said and "Sorry" not in said[-1].text, said
    return elapsed


async def measure(runs: int) -> None:
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        config = parse(
            {
                "bot": {"rate_limit": {"commands": 10**9, "per_seconds": 1}},
                "cogs": {"enabled": ["general", "journal"], "journal": {"writes_per_hour": 10**6}},
            },
            "bench",
        )
        app = App(config, db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'j.sqlite3'}")
        await app.open(migrate=True)
        await app.start()
        fake = FakePlatform(app)
        await fake.say("ana", "!ping")
        community = await app.members.community("fake", "c1")
        started = time.perf_counter()
        await fill(app, "fake:ana", community.id, ENTRIES)
        print(f"filled {ENTRIES} entries in {time.perf_counter() - started:.1f} s")

        cold = await timed(fake, "!journal search marker9999")
        lists = [await timed(fake, f"!journal list {1 + i % 1000}") for i in range(runs)]
        filtered = [
            await timed(fake, f"!journal list since:2022-01-01 until:2023-06-30 mood:{1 + i % 10}")
            for i in range(runs)
        ]
        rng = random.Random(3)
        searches = [
            await timed(fake, f"!journal search {rng.choice(WORDS)} {rng.choice(WORDS)}")
            for _ in range(runs)
        ]
        rare = [await timed(fake, f"!journal search marker{i * 37}") for i in range(runs)]

        print(f"Python {platform.python_version()} on {os.cpu_count()} cores, SQLite, {runs} runs")
        for label, samples in (
            ("journal list (page)", lists),
            ("journal list (date+mood filter)", filtered),
            ("journal search (two common words)", searches),
            ("journal search (one rare word)", rare),
        ):
            print(
                f"{label:36} p50 {statistics.median(samples):7.1f} ms   "
                f"p99 {percentile(samples, 0.99):7.1f} ms"
            )
        print(f"{'journal search, first (cold cache)':36} {cold:7.1f} ms")

        members = [f"m{i}" for i in range(100)]
        per_member = 10
        for name in members:
            await fake.say(name, "!ping")

        async def writer(name: str) -> None:
            for k in range(per_member):
                said = await fake.say(name, f"!journal write entry {k} from {name}, a calm day")
                assert "Saved" in said[-1].text, said[-1].text

        started = time.perf_counter()
        await asyncio.gather(*(writer(name) for name in members))
        elapsed = time.perf_counter() - started
        total = len(members) * per_member
        print(
            f"writes: {total} entries by 100 concurrent members in {elapsed:.2f} s = "
            f"{total / elapsed:.0f} writes/s"
        )
        await app.close()


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
