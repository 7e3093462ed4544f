"""Announcements due at the same instant: how late they reach a platform with Discord's limits.

N channel announcements, one per channel, are written to the outbox due at the same moment a
little ahead; the scheduler on the real clock fires the delivery and a stand-in platform takes
each one. The stand-in behaves like Discord as discord.py meets it: a send takes 50 ms, at most
50 sends start in any second across the bot (the global limit) and at most 5 in 5 seconds per
channel (a channel's bucket); a send over a limit waits for its slot, as discord.py waits out
a 429. Lateness = the moment the platform holds the message - its due time.

Goals: with 40 "starting now" due at once, p99 lateness < 1 s; with 1,000 pre-announcements
due at once, the last one arrives within 1.2x the platform's floor (1,000 / 50 per second =
20 s) after the due time. An item sent before its due time counts as early: pre-announcements
may go up to 30 s early (the outbox begins a burst as early as the platform's pace needs, so
the large burst starts about 20 s before its time); "starting now" never.
Run: .venv/bin/python -m benchmarks.delivery [N] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import collections
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import Goal, emit, machine, note, percentile
from bot import crypto
from bot.app import App
from bot.core.loader import parse_config as parse
from bot.core.message import Message
from bot.outbox import Target
from bot.platform import Capabilities, PlatformDefaults

SEND_SECONDS = 0.050
GLOBAL_PER_SECOND = 50
CHANNEL_PER_5_SECONDS = 5
EARLY_ALLOWED_SECONDS = 30.0


class DiscordLike(PlatformDefaults):
    """A platform with a 50 ms send and Discord's global and per-channel limits."""

    platform = "bench"
    capabilities = Capabilities(
        delivery_slots=GLOBAL_PER_SECOND, sends_per_second=GLOBAL_PER_SECOND
    )

    def __init__(self) -> None:
        self.delivered: dict[str, float] = {}  # key -> wall time (time.time()) it arrived
        self._global: collections.deque[float] = collections.deque()
        self._channels: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._gate = asyncio.Lock()
        self.done = asyncio.Event()
        self.expected = 0

    async def _slot(self, channel: str) -> None:
        """Wait until one more send may start on `channel` (a sliding window per limit)."""
        while True:
            async with self._gate:
                now = time.monotonic()
                window = self._global
                while window and window[0] <= now - 1.0:
                    window.popleft()
                mine = self._channels[channel]
                while mine and mine[0] <= now - 5.0:
                    mine.popleft()
                if len(window) < GLOBAL_PER_SECOND and len(mine) < CHANNEL_PER_5_SECONDS:
                    window.append(now)
                    mine.append(now)
                    return
                wait = min(
                    window[0] + 1.0 - now if len(window) >= GLOBAL_PER_SECOND else 5.0,
                    mine[0] + 5.0 - now if len(mine) >= CHANNEL_PER_5_SECONDS else 5.0,
                )
            await asyncio.sleep(max(wait, 0.001))

    async def send(self, target: Target, message: Message, key: str) -> str:
        await self._slot(target.target)
        await asyncio.sleep(SEND_SECONDS)
        self.delivered[key] = time.time()
        if len(self.delivered) >= self.expected:
            self.done.set()
        return f"m{len(self.delivered)}"


async def one_round(n: int) -> tuple[list[float], float]:
    """Lateness of each of `n` items due at once (seconds, negative = early), and the span."""
    with tempfile.TemporaryDirectory() as tmp:
        config = parse({"cogs": {"enabled": ["general"]}}, "bench")
        app = App(config, db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'd.sqlite3'}")
        platform = DiscordLike()
        platform.expected = n
        app.add_transport(platform)
        await app.open(migrate=True)
        await app.start()
        # Due when writing them is surely over (about 5 ms each on a busy machine, plus 1 s).
        # A large burst may begin early (about n / 50 per second): leave it that room, and
        # time to write the items first (a pass that sees only part of the burst starts late).
        room = (
            min(EARLY_ALLOWED_SECONDS, 1.2 * n / GLOBAL_PER_SECOND + 0.01 * n)
            if n > GLOBAL_PER_SECOND
            else 0
        )
        due = datetime.now(UTC) + timedelta(seconds=1.0 + 0.005 * n + room)
        # The small burst is "starting now" (never early); the large one pre-announcements,
        # which may begin up to 30 s early so that the last is on time.
        early = int(EARLY_ALLOWED_SECONDS) if n > GLOBAL_PER_SECOND else 0
        text = "Meeting {i} starts in 10 minutes" if early else "Meeting {i} is starting now"
        for i in range(n):
            await app.outbox.enqueue(
                f"bench.{i}",
                Target("bench", f"chan{i}"),
                Message.of(text.format(i=i)),
                due,
                early_seconds=early,
            )
        written = datetime.now(UTC)
        if written >= due:
            note(f"delivery: writing {n} items took longer than planned; lateness includes it")
        await asyncio.wait_for(platform.done.wait(), timeout=60 + 3 * n * SEND_SECONDS)
        await app.close()
    due_wall = due.timestamp()
    lateness = [arrived - due_wall for arrived in platform.delivered.values()]
    return lateness, max(lateness)


async def measure(n: int, rounds: int) -> None:
    crypto.use_keys([crypto.generate_key()])
    p99s: list[float] = []
    spans: list[float] = []
    earliest = 0.0
    for _ in range(rounds):
        lateness, span = await one_round(n)
        p99s.append(percentile(lateness, 0.99))
        spans.append(span)
        earliest = min(earliest, min(lateness))
    floor = n / GLOBAL_PER_SECOND
    print(machine())
    print(
        f"{n} announcements due at once in {n} channels, {SEND_SECONDS * 1000:.0f} ms send, "
        f"{GLOBAL_PER_SECOND}/s global, {CHANNEL_PER_5_SECONDS} per 5 s per channel; "
        f"{rounds} round(s), medians"
    )
    print(
        f"lateness p99 {statistics.median(p99s):.2f} s; last one after "
        f"{statistics.median(spans):.2f} s (platform floor {floor:.1f} s); "
        f"earliest {earliest:.2f} s"
    )
    size = f"{n:,} due at once in {n:,} channels, 50 ms send, Discord's limits"
    if n <= GLOBAL_PER_SECOND:
        emit(
            Goal(
                f"delivery: lateness p99 of a burst ({size})",
                1,
                round(statistics.median(p99s), 3),
                "s",
            )
        )
    else:
        # Pre-announcements may begin up to 30 s early, so the last can arrive before its
        # time: that counts as 0 (on time), never as a negative share of the floor.
        emit(
            Goal(
                f"delivery: a large burst, time to deliver all / the platform's floor of "
                f"{floor:.0f} s ({size}; pre-announcements, up to 30 s early allowed)",
                1.2,
                round(max(0.0, statistics.median(spans)) / floor, 2),
                "x",
                "at most",
            )
        )
        note(
            f"{n:,} pre-announcements went from {earliest:.1f} s to "
            f"{statistics.median(spans):.1f} s around their due time (floor {floor:.0f} s)"
        )
    emit(
        Goal(
            f"delivery: earliest send before its due time ({size})",
            EARLY_ALLOWED_SECONDS,
            round(max(0.0, -earliest), 3),
            "s",
            "at most",
        )
    )


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    asyncio.run(measure(count, repeat))
