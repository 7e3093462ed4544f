"""Scripts cog: parsing/validation cost, and the latency of meeting commands through the core.

Prints microseconds per parse of the standard script, milliseconds to reject a 5,000-step
script, and milliseconds per command for hand raise / next-speaker / script next on SQLite.
Run: .venv/bin/python -m benchmarks.scripts_meeting [N]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.loader import parse_config as parse
from bot.core.permissions import Tier
from bot.paths import DATA_DIR
from cogs.scripts.script import ScriptError, parse_script
from tests.harness.platform import FakePlatform

HUGE_STEP = '[[steps]]\nid = "s{n}"\nkind = "announcement"\nminutes = 1\ntext = "x"\n\n'


def parsing(n: int) -> tuple[float, float]:
    source = (DATA_DIR / "scripts" / "standard.toml").read_text()
    start = time.perf_counter()
    for _ in range(n):
        parse_script(source)
    per_parse = (time.perf_counter() - start) / n * 1e6
    huge = 'name = "huge"\ntitle = "Huge"\nminutes = 60\n\n' + "".join(
        HUGE_STEP.format(n=i) for i in range(5000)
    )
    start = time.perf_counter()
    with contextlib.suppress(ScriptError):
        parse_script(huge)
    return per_parse, (time.perf_counter() - start) * 1000


async def commands(n: int) -> dict[str, float]:
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        config = parse(
            {
                "bot": {"rate_limit": {"commands": 10**9, "per_seconds": 1}},
                "cogs": {"enabled": ["general", "scripts"]},
            },
            "bench",
        )
        app = App(
            config,
            clock=VirtualClock(datetime(2026, 12, 1, 18, tzinfo=UTC)),
            db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'b.sqlite3'}",
        )
        await app.open(migrate=True)
        await app.start()
        fake = FakePlatform(app)
        fake.actor("fran", Tier.FACILITATOR)
        await fake.say("fran", "!script start standard")
        await fake.say("fran", "!script next")
        timings: dict[str, float] = {}
        start = time.perf_counter()
        for i in range(n):
            await fake.say(f"m{i}", "!hand")
        timings["hand raise (queue grows to N)"] = (time.perf_counter() - start) / n * 1000
        start = time.perf_counter()
        for _ in range(n):
            await fake.say("fran", "!script next-speaker")
        timings["script next-speaker"] = (time.perf_counter() - start) / n * 1000
        start = time.perf_counter()
        for _ in range(n):
            await fake.say("fran", "!script goto check_in")
        timings["script goto (posts a step)"] = (time.perf_counter() - start) / n * 1000
        await app.close()
    return timings


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    per_parse, huge_ms = parsing(n)
    timings = asyncio.run(commands(n))
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.machine()}, SQLite file, N={n}"
    )
    print(f"parse + validate standard.toml: {per_parse:8.0f} us")
    print(f"reject a 5,000-step script:     {huge_ms:8.1f} ms")
    for name, ms in timings.items():
        print(f"{name:32}{ms:8.2f} ms/command")


if __name__ == "__main__":
    main()
