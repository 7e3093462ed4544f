"""`mydata` in a real `circlebot console` process: export to files, then erase with the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]


def read_until(stream: IO[str], pattern: str, seen: list[str], timeout: float = 30) -> str:
    """Read lines until one matches; returns the match's first group."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if match := re.search(pattern, line):
            return match.group(1)
    raise AssertionError(f"never saw {pattern!r} in:\n{''.join(seen)}")


def test_export_then_erase_in_the_console(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLEBOT_")}
    db = tmp_path / "c.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "--db", str(db), "--files", "files",
         "--clock", "2026-12-01T09:00:00Z"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    seen: list[str] = []
    try:
        proc.stdin.write("@ana !me name Pebblecanary\n@ana !journal write A calm day canaryQ\n")
        proc.stdin.write("@ana !mydata export\n@ana !mydata erase\n")
        proc.stdin.flush()
        code = read_until(proc.stdout, r"mydata erase confirm ([2-9a-z]{6})", seen)
        proc.stdin.write(f"@ana !mydata erase confirm {code}\n@ana !journal list\n:quit\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    transcript = "".join(seen) + out
    assert proc.returncode == 0, err
    assert "[file circlebot-mydata-20261201.json" in transcript
    assert "I sent your data to you in a direct message." in transcript
    assert "Everything stored about you is erased" in transcript
    exported = (tmp_path / "files" / "circlebot-mydata-20261201.md").read_text()
    assert "A calm day canaryQ" in exported and "Pebblecanary" in exported
    after_erase = transcript.split("Everything stored about you is erased", 1)[1]
    assert "canaryQ" not in after_erase
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("c.sqlite3*"))
    assert b"Pebblecanary" not in blob
