"""Worksheets: loading and validating the data files, one DM answer, and urge insights.

Prints milliseconds for loading every worksheet file, the median time for one dialogue answer
(decrypt state, validate, write it back), `toolbox list` with many items, and `urge insights`
(summary + PNG chart) for many logged urges. Run: .venv/bin/python -m
benchmarks.worksheets_toolbox [URGES]
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.loader import parse_config as parse
from bot.paths import DATA_DIR
from cogs.worksheets.definitions import load_all
from tests.harness.platform import FakePlatform


async def measure(urges: int) -> None:
    crypto.use_keys([crypto.generate_key()])
    start = time.perf_counter()
    for _ in range(20):
        sheets, problems = load_all(DATA_DIR / "worksheets")
    load_ms = (time.perf_counter() - start) / 20 * 1000
    assert not problems
    with tempfile.TemporaryDirectory() as tmp:
        config = parse(
            {
                "bot": {"rate_limit": {"commands": 10**9, "per_seconds": 1}},
                "cogs": {"enabled": ["general", "worksheets"]},
            },
            "bench",
        )
        clock = VirtualClock(datetime(2026, 12, 1, tzinfo=UTC))
        app = App(config, clock=clock, db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'b.sqlite3'}")
        await app.open(migrate=True)
        await app.start()
        fake = FakePlatform(app)
        await fake.say("ana", "!worksheet start cba")
        await fake.say("ana", "weeknight drinking", dm=True)
        answer_ms = []
        for i in range(200):
            begin = time.perf_counter()
            await fake.say("ana", f"long: benefit number {i}", dm=True)
            answer_ms.append((time.perf_counter() - begin) * 1000)
        for i in range(urges):
            await fake.say("ana", f"!urge log {i % 10 + 1} trigger {i % 7}; walked {i % 30} min")
            await app.scheduler.advance(timedelta(minutes=97))
        begin = time.perf_counter()
        await fake.say("ana", "!toolbox list")
        list_ms = (time.perf_counter() - begin) * 1000
        begin = time.perf_counter()
        said = await fake.say("ana", "!urge insights")
        insights_ms = (time.perf_counter() - begin) * 1000
        begin = time.perf_counter()
        await fake.say("ana", "!urge insights")
        insights_warm_ms = (time.perf_counter() - begin) * 1000
        points = said[0].message.meta["points"]
        await app.close()
    print(f"cores: {os.cpu_count()}, python {platform.python_version()} ({sys.platform})")
    print(f"load + validate {len(sheets)} worksheet files: {load_ms:.2f} ms")
    print(
        f"one list answer in a dialogue: median {statistics.median(answer_ms):.2f} ms, "
        f"p95 {statistics.quantiles(answer_ms, n=20)[18]:.2f} ms (200 answers)"
    )
    print(f"toolbox list with {urges} items: {list_ms:.1f} ms")
    print(
        f"urge insights for {points} urges: first {insights_ms:.0f} ms "
        f"(includes importing matplotlib), then {insights_warm_ms:.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
