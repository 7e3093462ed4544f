"""The console runner: a real `circlebot` process, run as the README does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def circlebot(
    *args: str,
    stdin: str = "",
    cwd: Path,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` in `cwd` with `stdin` fed in (UTF-8); `timeout` in seconds;
    `env`: variables to set for the run (`PYTHONIOENCODING`).

    CIRCLEBOT_* variables of the test process are not passed on, so each run sees only what
    its arguments and files say. Returns the finished process (never raises on a non-zero exit).
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLEBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env={**base, **(env or {}), "PYTHONPATH": str(ROOT)},
        timeout=timeout,
        check=False,
    )


def status(db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `circlebot status --db DB` in `cwd`, as an operator would; see `circlebot`."""
    return circlebot("status", "--db", str(db), cwd=cwd)
