"""`circlebot web` as a real process: it serves a published community's page from the
database the bot wrote, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.crypto import generate_key
from tests.harness.console import ROOT, circlebot

WAIT_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@pytest.mark.parametrize("key_in_config", [True, False])
def test_circlebot_web_serves_what_the_bot_published(tmp_path: Path, key_in_config: bool) -> None:
    # without a key in the config, the console makes w.key beside the database and the pages
    # read it from there (a newcomer's console-then-web)
    port = _free_port()
    db = tmp_path / "w.sqlite3"
    key = f'[security]\nencryption_keys = ["{generate_key()}"]\n' if key_in_config else ""
    (tmp_path / "config.toml").write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n'
        + key
        + '[cogs]\nenabled = ["general", "admin", "meetings"]\n'
        f'[web]\nbase_url = "https://meetings.example.org"\nport = {port}\n'
    )
    assert circlebot("migrate", cwd=tmp_path).returncode == 0
    soon = datetime.now(UTC).date() + timedelta(days=7)  # `circlebot web` reads the real clock
    session = circlebot(
        "console",
        "--db",
        str(db),
        stdin="!settings set web.publish on\n"
        f'!meeting schedule "Evening circle" "{soon:%Y-%m-%d} 19:00" 60m zone:UTC\n',
        cwd=tmp_path,
    )
    assert "webcal://meetings.example.org/c/1/calendar.ics" in session.stdout, session.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLEBOT_")}
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "web"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
    ) as proc:
        status, html = 0, ""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, html = _get(f"http://127.0.0.1:{port}/c/1/")
                break
            except OSError:  # not listening yet
                time.sleep(0.2)
        try:
            assert status == 200, proc.stderr.read() if proc.poll() is not None else status
            assert "Evening circle" in html
            assert _get(f"http://127.0.0.1:{port}/c/2/")[0] == 404
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
            assert proc.stderr is not None and "Stopped cleanly" in proc.stderr.read()
