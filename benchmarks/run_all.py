"""Run every benchmark, print one table of goal rows, and keep it in benchmarks/RESULTS.md.

Every row is a goal judged: goal, measured, ratio (measured / goal) and verdict. Each benchmark
runs as its own process (once per size) with a timeout; a goal row a benchmark did not print
(it failed, timed out) is shown as "not measured" with the reason, and the rest still run.
Numbers without a goal are listed under the table. The machine, its load and the commit
measured are printed with the numbers. `--quick` runs small sizes for a CI smoke run (rows name
the sizes measured; its verdicts are no claim) and never writes RESULTS.md.
Run: .venv/bin/python -m benchmarks.run_all [--quick] [--only NAME ...] [--no-write]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    benchmark: str
    goal: str
    measured: str
    ratio: str
    verdict: str  # "met", "missed" or "not measured (why)"


@dataclass(frozen=True)
class Bench:
    """One benchmark script: the argument sets it runs with (one process each) and the goal
    rows it must print (by the start of their names; a missing one is shown as not measured)."""

    name: str
    runs: tuple[tuple[str, ...], ...]
    quick_runs: tuple[tuple[str, ...], ...]
    timeout_seconds: float
    expects: tuple[str, ...]


def machine() -> str:
    """Cores, Python and the CPU model."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )


def python_speed_seconds() -> float:
    """Seconds for a fixed piece of pure Python (10 million additions in a loop), least of
    three: the same code measured on two machines of this kind has differed by 3x, and the
    absolute goals (seconds, commands per second) move with it, the ratios much less."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - began)
    return best


def cpu_ticks() -> tuple[int, int]:
    """(all CPU time, time stolen by the host) in clock ticks since boot, from /proc/stat's
    first line (steal is its eighth value; proc(5)); (0, 0) where there is none."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def stolen_percent(before: tuple[int, int], after: tuple[int, int]) -> str:
    """The share of CPU time the host took from this machine between two `cpu_ticks`."""
    total, steal = after[0] - before[0], after[1] - before[1]
    return f"{100 * steal / total:.0f} %" if total > 0 else "unknown"


def load() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: read numbers with them)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def rows_of(out: str) -> list[Row]:
    """The `ROW {...}` lines a benchmark printed (see benchmarks/common.py)."""
    found = []
    for line in out.splitlines():
        if line.startswith("ROW "):
            r = json.loads(line[4:])
            found.append(
                Row(
                    r["name"],
                    r["goal_text"],
                    r["measured_text"],
                    f"{r['ratio']:.2f}",
                    r["verdict"],
                )
            )
    return found


def notes_of(out: str) -> list[str]:
    """The `NOTE text` lines a benchmark printed: numbers no goal judges."""
    return [line[5:] for line in out.splitlines() if line.startswith("NOTE ")]


# Sizes grow where cost grows (meetings 1k / 10k / 50k, journal entries 1k / 10k / 100k);
# --quick runs every benchmark once at small sizes, for a smoke run in CI (about a minute).
BENCHES = [
    Bench(
        "delivery",
        (("40", "3"), ("1000", "1")),
        (("40", "1"), ("100", "1")),
        900,
        ("delivery: lateness p99", "delivery: a large burst"),
    ),
    Bench(
        "meetings_schedule",
        (("1000",), ("10000", "--day", "--judge"), ("50000", "--judge")),
        (("300", "--day", "--judge"),),
        1800,
        (
            "scheduler: first start",
            "scheduler: restart",
            "scheduler: event-loop lag",
            "scheduler: announcement lateness",
        ),
    ),
    Bench(
        "journal_search",
        (("1000", "100"), ("10000", "100"), ("100000", "200", "--judge")),
        (("300", "10", "--judge"),),
        1800,
        ("journal: search p99", "journal: event-loop lag", "journal: RSS"),
    ),
    Bench(
        "dispatch",
        (("1000", "5"),),
        (("30", "2"),),
        600,
        (
            "dispatch: `me show` via",
            "dispatch: `me timezone` via",
            "dispatch: uncached",
            "dispatch: `me timezone` /",
        ),
    ),
    Bench(
        "discord_interactions",
        (("300", "10", "15"),),
        (("20", "5", "1"),),
        600,
        ("Discord: circlebot / bare",),
    ),
    Bench(
        "matrix_roundtrip",
        (("--rounds", "40", "--repeats", "5"),),
        (("--rounds", "3", "--repeats", "1"),),
        600,
        ("Matrix: circlebot / bare",),
    ),
    Bench("loop_lag", (("4000", "20"),), (("200", "10"),), 300, ("event-loop lag p99 under",)),
    Bench("memory", (("1000",),), (("30",),), 300, ("memory RSS",)),
    Bench("job_takeover", (("3",),), (("1", "--heartbeats", "2"),), 300, ("timed job takeover",)),
    Bench(
        "shared_delivery",
        (("10000",),),
        (("150",),),
        1800,
        (
            "shared delivery: 1 process",
            "shared delivery: 2 process",
            "shared delivery: 3 process",
        ),
    ),
    Bench("crisis_phrases", (("2000",),), (("50",),), 120, ("crisis phrases",)),
    Bench("dialogue_model", (("200",),), (("10",),), 600, ("dialogue model",)),
    Bench("meetings_model", (("50", "30"),), (("3", "8", "1"),), 1800, ("meetings model",)),
    Bench("worksheets_toolbox", ((),), (("20",),), 300, ()),
    Bench("scripts_meeting", ((),), (("20",),), 300, ()),
]


def run(bench: Bench, args: tuple[str, ...]) -> tuple[str, str, float]:
    """One benchmark process: (stdout, why it failed or '', seconds); never raises."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{bench.name}", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=bench.timeout_seconds,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        why = f"timed out after {bench.timeout_seconds:.0f} s"
        return out, why, time.perf_counter() - started
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
        return (
            done.stdout + f"\n[stderr]\n{done.stderr[-2000:]}",
            f"exit {done.returncode}: {tail}",
            elapsed,
        )
    return done.stdout, "", elapsed


def missing_rows(bench: Bench, rows: list[Row], why: str) -> list[Row]:
    """A 'not measured' row for every expected goal no run printed."""
    return [
        Row(expected + " ...", "-", "-", "-", f"not measured ({why or 'no row printed'})")
        for expected in bench.expects
        if not any(row.benchmark.startswith(expected) for row in rows)
    ]


def result_lines(out: str) -> list[str]:
    """The lines of a benchmark without goals, less its machine line and stderr."""
    body = out.split("\n[stderr]\n")[0]
    return [
        " ".join(line.split())
        for line in body.splitlines()
        if line.strip() and not line.lower().startswith(("machine:", "python ", "cores:"))
    ]


def commit_measured() -> str:
    """The commit whose code is measured, and whether the work tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "log", "-1", "--format=%H %s"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!benchmarks/RESULTS.md"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" (with uncommitted changes)" if dirty else "")


def table(rows: list[Row]) -> str:
    """A Markdown table (readable as plain text too)."""
    head = ["goal row", "goal", "measured", "ratio", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        cells = [row.benchmark, row.goal, row.measured, row.ratio, row.verdict]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a CI smoke run")
    parser.add_argument("--only", nargs="*", help="only these (by name); RESULTS.md is kept")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument(
        "--jobs",
        type=int,
        help="benchmark processes at once (default 1; 3 with --quick, whose numbers are no "
        "claim); more than 1 adds load to what is measured, and RESULTS.md says how many ran",
    )
    options = parser.parse_args()
    jobs = options.jobs or (3 if options.quick else 1)
    benches = [b for b in BENCHES if not options.only or b.name in options.only]
    where = machine()
    speed = python_speed_seconds()
    ticks_before = cpu_ticks()
    load_before = load()
    measured = commit_measured()
    print(
        f"machine: {where}; load average {load_before}; a fixed Python loop took {speed:.2f} s",
        flush=True,
    )
    print(f"code measured: {measured}", flush=True)
    rows: list[Row] = []
    notes: list[str] = []
    outputs: list[str] = []
    work = [(b, args) for b in benches for args in (b.quick_runs if options.quick else b.runs)]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = {(bench.name, args): pool.submit(run, bench, args) for bench, args in work}
    for bench in benches:
        found: list[Row] = []
        failures: list[str] = []
        for args in bench.quick_runs if options.quick else bench.runs:
            print(f"{bench.name} {' '.join(args)}:", flush=True)
            out, why, elapsed = futures[(bench.name, args)].result()
            these = rows_of(out)
            found.extend(these)
            notes.extend(f"{bench.name}: {text}" for text in notes_of(out))
            if not bench.expects:  # no goal: every result line is a note
                notes.extend(f"{bench.name}: {text}" for text in result_lines(out))
            for row in these:
                print(
                    f"  {row.benchmark}: {row.measured} ({row.goal}) [{row.verdict}]", flush=True
                )
            if why:
                failures.append(why)
                print(f"  failed: {why}", flush=True)
            shown = "\n".join(
                line for line in out.strip().splitlines() if not line.startswith(("ROW ", "NOTE "))
            )
            outputs.append(
                f"### {bench.name} {' '.join(args)} ({elapsed:.0f} s)\n\n```\n{shown}\n```\n"
            )
        rows.extend(found)
        rows.extend(missing_rows(bench, found, "; ".join(failures)))
    pool.shutdown()
    text = table(rows)
    load_after = load()
    stolen = stolen_percent(ticks_before, cpu_ticks())
    print()
    print(text)
    if notes:
        print("\nnumbers without a goal:")
        for line in notes:
            print(f"- {line}")
    print(f"\nload average before {load_before}, after {load_after}; CPU time stolen {stolen}")
    if options.no_write or options.only or options.quick:
        return  # RESULTS.md always holds a whole full-size run
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    met = sum(row.verdict == "met" for row in rows)
    RESULTS.write_text(
        "# Benchmark results\n\n"
        f"Code measured: commit {measured}  \n"
        f"Run: {stamp}, {met} of {len(rows)} goals met, {jobs} benchmark process(es) at once  \n"
        f"Machine: {where}; load average (1/5/15 min) {load_before} before, {load_after} after "
        "(a shared machine: other processes ran too); CPU time stolen by the host during the "
        f"run: {stolen}  \n"
        f"Speed: a fixed Python loop (10 million additions, `python_speed_seconds`) took "
        f"{speed:.2f} s; absolute goals (seconds, commands per second) move with it  \n"
        "Regenerate: `.venv/bin/python -m benchmarks.run_all`, then commit this file alone, so "
        "the commit before it is the code measured. Ratios are measured / goal; comparisons "
        "run their variants interleaved, repeated, and report medians.\n\n"
        f"{text}\n\n## Numbers without a goal\n\n"
        + "".join(f"- {line}\n" for line in notes)
        + "\n## Full output\n\n"
        + "\n".join(outputs)
    )
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
