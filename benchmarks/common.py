"""What every benchmark shares: goal rows, interleaved repeats, percentiles, a loop-lag probe.

A benchmark prints its own readable lines and, for each goal it judges, one machine-readable
line `ROW {...}` (see `Goal`); numbers without a goal go out as `NOTE text` lines. run_all
collects both into one table. Ratios are always measured / goal, so a ratio above 1 on an
"at most" goal (or below 1 on an "at least" goal) is a miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Direction = Literal["at most", "below", "at least"]


@dataclass(frozen=True)
class Goal:
    """One judged row: `name` (with the size measured), `goal` and `measured` in `unit`."""

    name: str
    goal: float
    measured: float
    unit: str
    direction: Direction = "below"

    @property
    def met(self) -> bool:
        """Whether the measurement meets the goal."""
        if self.direction == "at least":
            return self.measured >= self.goal
        if self.direction == "at most":
            return self.measured <= self.goal
        return self.measured < self.goal

    @property
    def ratio(self) -> float:
        """measured / goal (0 when the goal is 0)."""
        return self.measured / self.goal if self.goal else 0.0

    def goal_text(self) -> str:
        """The goal as people read it: '< 1 s', '<= 1.3x', '>= 1,000 cmd/s'."""
        sign = {"at most": "<=", "below": "<", "at least": ">="}[self.direction]
        return f"{sign} {fmt(self.goal)} {self.unit}".replace(" x", "x").strip()

    def measured_text(self) -> str:
        """The measurement with its unit."""
        return f"{fmt(self.measured)} {self.unit}".replace(" x", "x").strip()


def fmt(value: float) -> str:
    """A number with sensible digits: 1,234 / 12.3 / 1.23 / 0.123."""
    size = abs(value)
    if size >= 1000 or value == int(value):
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def emit(goal: Goal, *, quiet: bool = False) -> None:
    """Print the readable row (unless `quiet`: the caller printed its own) and the `ROW` line
    run_all reads."""
    if not quiet:
        print(
            f"{goal.name}: {goal.measured_text()} (goal {goal.goal_text()}, "
            f"ratio {goal.ratio:.2f}, {'met' if goal.met else 'missed'})"
        )
    row = asdict(goal) | {
        "goal_text": goal.goal_text(),
        "measured_text": goal.measured_text(),
        "ratio": round(goal.ratio, 3),
        "verdict": "met" if goal.met else "missed",
    }
    print("ROW " + json.dumps(row), flush=True)


def note(text: str) -> None:
    """A number worth keeping that no goal judges (printed, and kept by run_all)."""
    print(f"NOTE {text}", flush=True)


def machine() -> str:
    """Cores and Python, for the first line of every benchmark."""
    return (
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.machine()}, load average {os.getloadavg()[0]:.2f}"
    )


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (nearest rank, 0 <= q <= 1) of a non-empty list."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def interleaved(
    variants: dict[str, Callable[[], Awaitable[float]]], rounds: int
) -> dict[str, float]:
    """Run each variant once per round, in turn (A B A B ...), and return each one's median.

    Interleaving spreads the machine's noise (other processes, a warming cache) over every
    variant alike instead of favouring whichever ran in the quieter moment.
    """
    samples = await interleaved_samples(variants, rounds)
    return {name: statistics.median(values) for name, values in samples.items()}


async def interleaved_samples(
    variants: dict[str, Callable[[], Awaitable[float]]], rounds: int
) -> dict[str, list[float]]:
    """As `interleaved`, but every round's result: name -> one value per round, in order."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            samples[name].append(await run())
    return samples


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median over rounds of numerator[i] / denominator[i].

    Each round ran both variants back to back, so a round's ratio compares them under the
    same load; on a shared machine whose speed drifts from second to second this is steadier
    than the ratio of the two medians, which may come from different rounds."""
    if not numerator or len(numerator) != len(denominator):
        raise ValueError("one value per round on both sides")
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def spread(values: list[float]) -> tuple[float, float]:
    """The lower and upper quartiles of `values` (at least two values), within their range."""
    quartiles = statistics.quantiles(values, n=4, method="inclusive")
    return quartiles[0], quartiles[2]


class LagProbe:
    """A task that sleeps `tick_seconds` in a loop and keeps each overshoot (seconds).

    A late wake-up means every other event (a heartbeat, an announcement) waited as long.
    """

    def __init__(self, tick_seconds: float = 0.010) -> None:
        self.tick_seconds = tick_seconds
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.tick_seconds)
            self.lags.append(max(0.0, time.perf_counter() - asked - self.tick_seconds))

    def start(self) -> None:
        """Begin ticking on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        """Stop ticking."""
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def percentile_ms(self, q: float) -> float:
        """The q-quantile of the lags in milliseconds (0 when nothing was measured)."""
        return percentile(self.lags, q) * 1000 if self.lags else 0.0

    def max_ms(self) -> float:
        """The worst lag in milliseconds."""
        return max(self.lags, default=0.0) * 1000


def rss_mb() -> float:
    """This process's resident memory in MB (VmRSS from /proc/self/status; 0 if unknown)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
