"""`circlebot status`: what an operator (or a health check) sees about the running bot."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from bot.core.message import Message
from bot.crypto import generate_key
from bot.db import utcnow
from bot.models import ProcessStatus
from bot.outbox import Target
from tests.harness.app import AppFactory
from tests.harness.console import circlebot, status

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_status_shows_the_leader_backlog_and_last_error_without_member_text(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    app = await app_factory(clock=VirtualClock(START), db_url=f"sqlite+aiosqlite:///{db}")
    channel = Target("fake", "general")
    await app.outbox.enqueue("a", channel, Message.of("later"), START + timedelta(hours=2))
    await app.outbox.enqueue("b", channel, Message.of("sooner"), START + timedelta(hours=1))
    try:
        raise KeyError("x")
    except KeyError:
        logging.getLogger("circlebot.test").exception("could not save %s", "my private words")
    await app.leader.beat()

    result = status(db, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"leader   {app.leader.host} pid {os.getpid()}" in out
    assert "Processes: 1" in out
    assert "Outbox: 2 pending, oldest due 2026-12-01 10:00:00 UTC" in out
    assert "circlebot.test: could not save … (KeyError)" in out
    assert "my private words" not in out
    assert f"Leader: {app.leader.host} pid {os.getpid()}" in out

    async with app.db.sessions.begin() as session:  # the process hangs: no fresh heartbeat
        row = await session.get(ProcessStatus, app.leader.process_id)
        assert row is not None
        row.heartbeat_at = utcnow() - timedelta(minutes=5)
    stale = status(db, tmp_path)
    assert stale.returncode == 1
    assert "heartbeat 5m ago (stale)" in stale.stdout
    assert "Leader: none" in stale.stdout

    await app.close()  # a clean stop removes the process from the list
    stopped = status(db, tmp_path)
    assert stopped.returncode == 1
    assert "Processes: 0" in stopped.stdout


def test_status_of_a_missing_database_says_so(tmp_path: Path) -> None:
    result = status(tmp_path / "nothing.sqlite3", tmp_path)
    assert result.returncode == 1
    assert "nothing.sqlite3 does not exist" in result.stderr


async def test_status_shows_what_was_skipped_after_downtime(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    clock = VirtualClock(START)
    app = await app_factory(clock=clock, db_url=f"sqlite+aiosqlite:///{db}")
    channel = Target("fake", "general")
    await app.outbox.enqueue("old", channel, Message.of("Meet by the lake"), START)
    await app.outbox.enqueue("soon", channel, Message.of("in time"), START + timedelta(hours=2))
    await app.leader.beat()
    assert "skipped" not in status(db, tmp_path).stdout
    clock.set(START + timedelta(hours=1))  # down for an hour: past the 15-minute grace window
    report = await app.outbox.deliver_due()
    assert report.skipped == 1
    await app.leader.beat()
    out = status(db, tmp_path).stdout
    # Which item, due when, and why: an operator can tell what a member missed.
    assert (
        "Outbox: 1 skipped (could not be sent in time: the bot was down, or they were planned "
        "too late); the last: old (due 2026-12-01 09:00:00 UTC): stale by 3600s"
    ) in out
    assert "Outbox: 1 pending" in out and "by the lake" not in out
    found = json.loads(circlebot("status", "--db", str(db), "--json", cwd=tmp_path).stdout)
    assert found["outbox"]["skipped"] == 1
    assert found["outbox"]["last_skip"] == "old (due 2026-12-01 09:00:00 UTC): stale by 3600s"
    assert found["outbox"]["last_failure"] is None


async def test_status_json_gives_a_supervisor_the_same_facts(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    app = await app_factory(clock=VirtualClock(START), db_url=f"sqlite+aiosqlite:///{db}")
    await app.outbox.enqueue(
        "a", Target("fake", "general"), Message.of("later"), START + timedelta(hours=2)
    )
    await app.leader.beat()

    result = circlebot("status", "--db", str(db), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["healthy"] is True
    assert found["database"] == {
        "url": f"sqlite+aiosqlite:///{db}",
        "reachable": True,
        "problem": None,
    }
    assert found["timed_work_by"]["pid"] == os.getpid() and found["timed_work_by"]["fresh"]
    assert found["processes"][0]["does_timed_work"] is True
    assert [p["pid"] for p in found["processes"]] == [os.getpid()]
    assert found["outbox"]["pending"] == 1
    assert found["outbox"]["oldest_due"] == "2026-12-01T11:00:00+00:00"
    assert found["last_error"] is None

    await app.close()
    stopped = circlebot("status", "--db", str(db), "--json", cwd=tmp_path)
    assert stopped.returncode == 1
    assert json.loads(stopped.stdout)["healthy"] is False


def refusing_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", ["migrate", "status", "run"])
def test_an_unreachable_database_is_one_clear_line(command: str, tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://circle:s3cret@127.0.0.1:{refusing_port()}/circlebot"
    (tmp_path / "config.toml").write_text(
        f'[database]\nurl = "{url}"\n\n[security]\nencryption_keys = ["{generate_key()}"]\n\n'
        '[discord]\nenabled = true\ntoken = "not-used"\n'
    )
    result = circlebot(command, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"circlebot {command}: cannot reach the database "
        f"postgresql+asyncpg://circle:***@{url.split('@')[1]}: connection refused. "
        "Is it running there, and is database.url right?"
    ], result.stderr
    assert "s3cret" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["migrate", "status"])
def test_db_takes_a_database_url_not_only_a_file(command: str, tmp_path: Path) -> None:
    # --db with a URL once made a SQLite file named after it and said "Migrated".
    url = f"postgresql+asyncpg://circle@127.0.0.1:{refusing_port()}/circlebot"
    result = circlebot(command, "--db", url, cwd=tmp_path)
    assert result.returncode == 1
    assert "connection refused" in result.stderr and "Migrated" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # no file or folder made from the URL


def http_port() -> int:
    """A port on 127.0.0.1 where a web server answers, not PostgreSQL (a wrong port)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def answer() -> None:
        while True:
            conn, _ = listener.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    return int(listener.getsockname()[1])


@pytest.mark.parametrize("command", ["migrate", "status", "status --json"])
def test_a_port_where_something_else_answers_is_one_clear_line(
    command: str, tmp_path: Path
) -> None:
    url = f"postgresql+asyncpg://circle@127.0.0.1:{http_port()}/circlebot"
    (tmp_path / "config.toml").write_text(
        f'[database]\nurl = "{url}"\n\n[security]\nencryption_keys = ["{generate_key()}"]\n'
    )
    result = circlebot(*command.split(), cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "does not speak PostgreSQL's protocol" in line and "Traceback" not in result.stderr
    if command.endswith("--json"):
        assert json.loads(result.stdout)["database"]["reachable"] is False


def test_status_json_says_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://circle@127.0.0.1:{refusing_port()}/circlebot"
    (tmp_path / "config.toml").write_text(f'[database]\nurl = "{url}"\n')
    result = circlebot("status", "--json", cwd=tmp_path)
    assert result.returncode == 1
    found = json.loads(result.stdout)
    assert found["healthy"] is False
    assert found["database"] == {"url": url, "reachable": False, "problem": "connection refused"}
    assert len(result.stderr.strip().splitlines()) == 1


async def test_status_calls_a_skipped_item_whose_meeting_had_begun_no_longer_useful(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    clock = VirtualClock(START)
    app = await app_factory(clock=clock, db_url=f"sqlite+aiosqlite:///{db}")
    channel = Target("fake", "general")
    begins = START + timedelta(minutes=30)
    await app.outbox.enqueue("pre", channel, Message.of("in 30 min"), START, not_after=begins)
    clock.set(START + timedelta(hours=3))  # down for hours, well past the grace window too
    report = await app.outbox.deliver_due()
    assert report.skipped == 1
    await app.leader.beat()
    out = status(db, tmp_path).stdout
    assert (
        "the last: pre (due 2026-12-01 09:00:00 UTC): no longer useful: what it led up to had "
        "already begun"
    ) in out, out
    assert "stale by" not in out
