"""Smoke run of the benchmarks: `python -m benchmarks.run_all --quick` runs every benchmark at
small sizes and prints every goal row with a verdict.

Only that it runs and judges is asserted, never a timing: the numbers of a quick run on a shared
machine are no claim (benchmarks/RESULTS.md holds a full run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.run_all import BENCHES

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_prints_every_goal_row_with_a_verdict() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_all", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in done.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| goal row")
    ]
    assert table, done.stdout[-3000:]
    unjudged = [row for row in table if row[-1] not in ("met", "missed")]
    assert not unjudged, unjudged
    names = [row[0] for row in table]
    for bench in BENCHES:
        for expected in bench.expects:
            assert any(name.startswith(expected) for name in names), (expected, names)
    assert all(len(row) == 5 and row[1] != "-" and row[3] != "-" for row in table), table
