"""Run every benchmark, print one table against the goals, and keep it in benchmarks/RESULTS.md.

Each benchmark runs as its own process with a timeout; a benchmark that fails, times out or is
missing shows up as such in its row and the rest still run. The machine (cores, Python, CPU
model) is printed with the numbers. `--quick` uses smaller sizes (each row says which).
Run: .venv/bin/python -m benchmarks.run_all [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    benchmark: str
    result: str
    goal: str
    verdict: str  # "met", "missed", "-" (no goal) or why nothing was measured


@dataclass(frozen=True)
class Bench:
    """How to run one benchmark script and read its output."""

    name: str
    args: tuple[str, ...]
    quick_args: tuple[str, ...]
    timeout: float
    summarise: Callable[[str, str], list[Row]]  # (stdout, size label) -> rows


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


def result_json(out: str) -> dict[str, float]:
    """The `RESULT {...}` line our own benchmarks print last."""
    for line in reversed(out.splitlines()):
        if line.startswith("RESULT "):
            found: dict[str, float] = json.loads(line[len("RESULT ") :])
            return found
    raise ValueError("no RESULT line")


def verdict(ok: bool) -> str:
    """The table's word for a goal."""
    return "met" if ok else "missed"


def dispatch_rows(out: str, size: str) -> list[Row]:
    r = result_json(out)
    return [
        Row(
            f"dispatch: read `me show` ({size})",
            f"{r['read_console']:,.0f} cmd/s console, {r['read_core']:,.0f} dispatcher",
            ">= 1,000 cmd/s",
            verdict(r["read_console"] >= 1000),
        ),
        Row(
            f"dispatch: write `me timezone` ({size})",
            f"{r['write_console']:,.0f} cmd/s console, {r['write_core']:,.0f} dispatcher",
            ">= 300 cmd/s",
            verdict(r["write_console"] >= 300),
        ),
        Row(
            "dispatch: direct SQLAlchemy / core, read",
            f"{r['read_ratio']:.2f}x ({r['read_direct']:,.0f} direct ops/s, uncached)",
            "<= 1.3x",
            verdict(r["read_ratio"] <= 1.3),
        ),
        Row(
            "dispatch: direct SQLAlchemy / core, write",
            f"{r['write_ratio']:.2f}x ({r['write_direct']:,.0f} direct ops/s)",
            "<= 1.3x",
            verdict(r["write_ratio"] <= 1.3),
        ),
    ]


def lag_rows(out: str, size: str) -> list[Row]:
    r = result_json(out)
    return [
        Row(
            f"event-loop lag under load ({size})",
            f"p99 {r['lag_p99_ms']:.1f} ms, max {r['lag_max_ms']:.1f} ms "
            f"at {r['commands_per_s']:,.0f} cmd/s",
            "p99 < 50 ms",
            verdict(r["lag_p99_ms"] < 50),
        )
    ]


def memory_rows(out: str, size: str) -> list[Row]:
    r = result_json(out)
    return [
        Row("memory RSS idle", f"{r['idle_mb']:.0f} MB", "-", "-"),
        Row(
            f"memory RSS, {r['communities']:.0f} communities loaded",
            f"{r['loaded_mb']:.0f} MB",
            "< 150 MB",
            verdict(r["loaded_mb"] < 150),
        ),
    ]


def number(pattern: str, out: str) -> str:
    """The first group of `pattern` in the output, or '?'."""
    found = re.search(pattern, out)
    return found.group(1) if found else "?"


def meetings_rows(out: str, size: str) -> list[Row]:
    rebuild = number(r"rebuild the schedule from the database: ([\d.]+ s)", out)
    first = number(r"first start .*\): ([\d.]+ s)", out)
    return [
        Row(
            f"scheduler: start-up rebuild ({size} meetings, communities)",
            f"{rebuild} (first start, planning the outbox: {first})",
            "-",
            "-",
        ),
        Row(
            "scheduler: announcement lateness",
            number(r"added lateness: (.*)", out),
            "-",
            "-",
        ),
    ]


def failover_rows(out: str, size: str) -> list[Row]:
    table = [
        line.split()
        for line in out.splitlines()
        if re.match(r"\s*[\d.]+\s+[\d.]+\s+[\d.]+\s*$", line)
    ]
    result = "; ".join(f"poll {p} s: median {m} s, max {x} s" for p, m, x in table)
    return [Row("leader failover (PostgreSQL)", result or last_lines(out), "-", "-")]


MACHINE_LINE = re.compile(r"^(machine:|python |Python |cores:)", re.IGNORECASE)


def last_lines(out: str) -> str:
    """The result lines of a benchmark we do not parse specially, joined."""
    keep = [
        re.sub(r"\s{2,}", " ", line.strip())
        for line in out.splitlines()
        if line.strip()
        and not MACHINE_LINE.match(line.strip())
        and not line.startswith(("  missed:", "  false positive:"))
    ]
    return "; ".join(keep)


def dialogue_rows(out: str, size: str) -> list[Row]:
    checked = number(r"sequences checked: (\d+)", out)
    disagreed = number(r"disagreements with the oracle: (\d+)", out)
    return [
        Row(
            f"dialogue model: random sequences ({size})" if size else "dialogue model",
            f"{checked} sequences, {disagreed} disagreements, "
            + number(r"\((\d+ ms per sequence)\)", out),
            "0 disagreements",
            verdict(disagreed == "0"),
        )
    ]


def generic(title: str) -> Callable[[str, str], list[Row]]:
    def rows(out: str, size: str) -> list[Row]:
        return [Row(f"{title} ({size})" if size else title, last_lines(out), "-", "-")]

    return rows


BENCHES = [
    Bench("dispatch", ("1000",), ("300",), 300, dispatch_rows),
    Bench("loop_lag", ("4000", "20"), ("1000", "10"), 300, lag_rows),
    Bench("memory", ("1000",), ("1000",), 300, memory_rows),
    Bench("meetings_schedule", ("10000", "1000"), ("2000", "200"), 600, meetings_rows),
    Bench("leader_failover", (), ("1",), 300, failover_rows),
    Bench("meetings_model", ("200", "40"), ("20", "25"), 1800, generic("meetings delivery model")),
    Bench("journal_search", (), ("50",), 600, generic("journal search")),
    Bench("crisis_phrases", (), ("500",), 120, generic("crisis phrases")),
    Bench("worksheets_toolbox", (), ("100",), 300, generic("worksheets and toolbox")),
    Bench("dialogue_model", (), ("100",), 600, dialogue_rows),
    Bench("scripts_meeting", (), ("50",), 300, generic("scripts in a meeting")),
    Bench("discord_interactions", (), ("100", "10"), 300, generic("Discord interactions")),
    Bench("matrix_roundtrip", ("--rounds", "50"), ("--rounds", "10"), 600, generic("Matrix")),
]


def size_label(args: tuple[str, ...]) -> str:
    """How the sizes were given, for the row title."""
    return "N=" + " ".join(a.lstrip("-") for a in args) if args else "default size"


def run(bench: Bench, quick: bool) -> tuple[list[Row], str, float]:
    """One benchmark in its own process; never raises."""
    script = HERE / f"{bench.name}.py"
    if not script.exists():
        return [Row(bench.name, "not measured (no script yet)", "-", "not measured")], "", 0.0
    args = bench.quick_args if quick else bench.args
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{bench.name}", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=bench.timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        why = f"not measured (timed out after {bench.timeout:.0f} s)"
        return [Row(bench.name, why, "-", "not measured")], out, time.perf_counter() - started
    elapsed = time.perf_counter() - started
    output = done.stdout + (f"\n[stderr]\n{done.stderr[-2000:]}" if done.returncode else "")
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
        why = f"not measured (exit {done.returncode}: {tail})"
        return [Row(bench.name, why, "-", "not measured")], output, elapsed
    try:
        return bench.summarise(done.stdout, size_label(args)), output, elapsed
    except (ValueError, KeyError) as exc:
        why = f"output not understood ({exc}); see the full output"
        return [Row(bench.name, why, "-", "not measured")], output, elapsed


def table(rows: list[Row]) -> str:
    """A Markdown table (readable as plain text too)."""
    head = ["benchmark", "result", "goal", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        cells = [row.benchmark, row.result, row.goal, row.verdict]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    parser.add_argument("--only", nargs="*", help="only these (by name); RESULTS.md is kept")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    options = parser.parse_args()
    benches = [b for b in BENCHES if not options.only or b.name in options.only]
    where = machine()
    print(f"machine: {where}", flush=True)
    rows: list[Row] = []
    outputs: list[str] = []
    for bench in benches:
        print(f"running {bench.name} ...", flush=True)
        found, output, elapsed = run(bench, options.quick)
        rows.extend(found)
        for row in found:
            print(f"  {row.result}  [{row.verdict}]", flush=True)
        outputs.append(f"### {bench.name} ({elapsed:.0f} s)\n\n```\n{output.strip()}\n```\n")
    text = table(rows)
    print()
    print(text)
    if options.no_write or options.only:
        return  # RESULTS.md always holds a whole run
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    RESULTS.write_text(
        "# Benchmark results\n\n"
        f"Last run: {stamp}{' (--quick)' if options.quick else ''}  \n"
        f"Machine: {where}  \n"
        "Command: `.venv/bin/python -m benchmarks.run_all`\n\n"
        f"{text}\n\n## Full output\n\n" + "\n".join(outputs)
    )
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
