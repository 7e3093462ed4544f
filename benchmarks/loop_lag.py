"""Event-loop lag under command load: how late a 10 ms ticker wakes up while commands run.

Several members send a mix of reads (`me show`, `help`) and writes (`me timezone`) through the
console adapter at once (real SQLite, output to a StringIO) while a ticker task sleeps 10 ms at
a time and records how much later than asked it woke. A late ticker means every other event
(a heartbeat, an announcement) waits as long. Goal: p99 < 50 ms. The goal row is read by
benchmarks.run_all. Run: .venv/bin/python -m benchmarks.loop_lag [COMMANDS] [MEMBERS]
"""

from __future__ import annotations

import asyncio
import io
import statistics
import sys
import tempfile
import time

from benchmarks.common import Goal, LagProbe, emit, machine
from benchmarks.dispatch import bench_app
from bot import crypto
from bot.adapters.console import ConsoleAdapter

TICK = 0.010


async def measure(commands: int, members: int) -> dict[str, float]:
    """Run the load with the probe; returns lag percentiles and the achieved rate."""
    crypto.use_keys([crypto.generate_key()])
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        await app.open(migrate=True)
        await app.start()
        console = ConsoleAdapter(app, out=io.StringIO())
        lines = ["!me show", "!help", "!me show", "!me timezone Europe/Berlin"]
        for m in range(members):
            await console.handle_line(f"@m{m} !me show")  # first sight: rows are created

        async def member(m: int, count: int) -> None:
            out = console.out
            for i in range(count):
                if isinstance(out, io.StringIO) and out.tell() > 1_000_000:
                    out.seek(0)
                    out.truncate()
                await console.handle_line(f"@m{m} {lines[(i + m) % len(lines)]}")

        probe = LagProbe(TICK)
        probe.start()
        start = time.perf_counter()
        await asyncio.gather(*(member(m, commands // members) for m in range(members)))
        elapsed = time.perf_counter() - start
        await probe.stop()
        await app.close()
    return {
        "commands_per_s": (commands // members) * members / elapsed,
        "lag_p50_ms": statistics.median(probe.lags) * 1000,
        "lag_p99_ms": probe.percentile_ms(0.99),
        "lag_max_ms": max(probe.lags) * 1000,
        "ticks": len(probe.lags),
    }


def report(commands: int, members: int, r: dict[str, float]) -> None:
    """Human lines, then the goal row."""
    print(machine() + ", SQLite file")
    print(
        f"{commands} console commands (3 reads : 1 write) from {members} members at once: "
        f"{r['commands_per_s']:.0f} cmd/s"
    )
    print(
        f"loop lag ({TICK * 1000:.0f} ms ticker, {r['ticks']:.0f} ticks): p50 "
        f"{r['lag_p50_ms']:.1f} ms, p99 {r['lag_p99_ms']:.1f} ms, max {r['lag_max_ms']:.1f} ms"
    )
    emit(
        Goal(
            f"event-loop lag p99 under command load ({commands:,} commands, {members} members, "
            f"{r['commands_per_s']:.0f} cmd/s)",
            50,
            round(r["lag_p99_ms"], 1),
            "ms",
        )
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    report(n, m, asyncio.run(measure(n, m)))
