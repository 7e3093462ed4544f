"""The README's meetings scenario, run through a real `circlebot console` process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
from icalendar import Calendar

from bot import crypto
from tests.harness.console import circlebot
from tests.harness.postgres import PG_DSN, pg_url

SCENARIO = """\
:tier ana facilitator
@ana !me name River
@ana !meeting schedule "Tuesday circle" "2026-12-01 19:00" 90m repeat:"weekly on tue" \
zone:Europe/London
@ben !meeting rsvp "Tuesday circle" reminder:yes
!meeting list
:advance 1d12h
@ana !meeting cancel "Tuesday circle" next note:"Winter break"
:advance 7d
!meeting ical
"""


def test_schedule_list_advance_cancel_and_export_in_the_console(tmp_path: Path) -> None:
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "m.sqlite3"),
        "--clock",
        "2026-11-30T09:00:00Z",
        "--files",
        str(tmp_path / "files"),
        stdin=SCENARIO,
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "[#general] Scheduled Tuesday circle (#1), every week on Tue." in out
    assert "- Tue 8 Dec 2026, 19:00 UTC" in out
    assert "[#general] Reminder: Tuesday circle begins Tue 1 Dec 2026, 19:00 UTC" in out
    assert "[dm ben] You planned to join Tuesday circle" in out
    assert "Stop these with !meeting reminders off;" in out  # a command that works when copied
    assert "[#general] Tuesday circle is starting now." in out
    assert "Facilitator: River" in out
    assert "Tuesday circle on Tue 8 Dec 2026, 19:00 UTC (in 1 week) is cancelled." in out
    assert out.count("is starting now") == 1  # nothing on the cancelled Tuesday
    assert "[file meetings.ics" in out
    calendar = Calendar.from_ical((tmp_path / "files" / "meetings.ics").read_bytes())
    event = next(c for c in calendar.walk() if c.name == "VEVENT")
    assert str(event["summary"]) == "Tuesday circle"
    assert "EXDATE" in event


ISSUE_SCENARIO = """\
:tier ana facilitator
@ana !meeting schedule "Evening circle" "2026-12-01 19:00" 1h zone:Europe/London
@ben !meeting rsvp "Evening circle" reminder:1h
@ben !meeting rsvp "Evening circle" reminder:30m
@cat !meeting rsvp "Evening circle" reminder:yes
@cat !meeting reminders off
@cat !meeting reminders on
@dan !meeting rsvp "Evening circle" reminder:20m
!meeting announce 1h,0
:advance 11h
"""


@contextmanager
def console_database(backend: str, tmp_path: Path) -> Iterator[list[str]]:
    """`--db` arguments (and a config with the key, for a URL) for a fresh database."""
    if backend == "sqlite":
        yield ["--db", str(tmp_path / "m.sqlite3")]
        return
    name = f"console_{uuid.uuid4().hex[:12]}"
    admin = psycopg_free_admin()
    admin(f'CREATE DATABASE "{name}"')
    key_file = tmp_path / "pg.key"
    key_file.write_text(crypto.generate_key() + "\n")
    key_file.chmod(0o600)
    config = tmp_path / "pg.toml"
    config.write_text(f'[security]\nkey_file = "{key_file}"\n')
    url = pg_url().rsplit("/", 1)[0] + f"/{name}"
    try:
        yield ["--config", str(config), "console", "--db", url]
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def psycopg_free_admin() -> Callable[[str], None]:
    """Run one statement on the server's `test` database (asyncpg, in its own loop)."""

    def run(statement: str) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(PG_DSN, timeout=5)
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        asyncio.run(go())

    return run


def console_args(db: list[str], *rest: str) -> list[str]:
    """`console` comes after a global `--config`, before its own options."""
    if db[0] == "--config":
        return [*db, *rest]
    return ["console", *db, *rest]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_reminder_and_announcement_arrives_once_after_replans(
    tmp_path: Path, backend: str
) -> None:
    with console_database(backend, tmp_path) as db:
        result = circlebot(
            *console_args(db, "--clock", "2026-12-01T09:00:00Z", "--files", str(tmp_path)),
            stdin=ISSUE_SCENARIO,
            cwd=tmp_path,
            timeout=120,
        )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    lines = out.splitlines()

    def shown(prefix: str) -> list[str]:
        return [line for line in lines if line.startswith(prefix)]

    # each member's last choice, once: ben 30 min, cat 15 min (off then on), dan 20 min
    for who in ("ben", "cat", "dan"):
        assert len(shown(f"[dm {who}] You planned to join Evening circle")) == 1, out
    assert len(shown("[#general] Reminder: Evening circle begins")) == 1, out
    assert len(shown("[#general] Evening circle is starting now.")) == 1, out
    assert "(late)" not in out
    assert "not connected" not in result.stderr


def test_after_a_restart_inside_the_meeting_only_the_start_notice_goes_out_late(
    tmp_path: Path,
) -> None:
    db = ["--db", str(tmp_path / "r.sqlite3")]
    first = circlebot(
        *console_args(db, "--clock", "2026-12-01T09:00:00Z", "--files", str(tmp_path)),
        stdin=ISSUE_SCENARIO.replace(":advance 11h\n", ""),
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    later = circlebot(
        *console_args(db, "--clock", "2026-12-01T19:05:00Z", "--files", str(tmp_path)),
        stdin=":now\n",
        cwd=tmp_path,
    )
    assert later.returncode == 0, later.stderr
    out = later.stdout
    assert "[#general] (late) Evening circle is starting now." in out
    assert "Reminder:" not in out and "(late) You planned to join" not in out  # begun: dropped
    # each member's reminder DM that could not go: one late note instead, under way as it is
    for member in ("ben", "cat", "dan"):
        assert out.count(f"[dm {member}] Sorry, this reminder comes late") == 1, out
    assert out.count("Sorry, this reminder comes late") == 3, out
    assert out.index("(late) Evening circle is starting now") < out.index("[clock]")
    assert "not connected" not in later.stderr


def test_cancel_and_restore_post_one_notice_each_and_confirm_privately(tmp_path: Path) -> None:
    script = """\
:tier ana facilitator
@ana !meeting schedule "Evening circle" "2026-12-01 19:00" 1h repeat:daily zone:Europe/London
@ana !meeting cancel "Evening circle" 2026-12-02 note:"Snow"
@ana !meeting restore "Evening circle" 2026-12-02
@ana !meeting move "Evening circle" 2026-12-03 "2026-12-03 20:00"
@ana !meeting cancel "Evening circle" all
@ana !meeting restore "Evening circle" all
"""
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "c.sqlite3"),
        "--clock",
        "2026-12-01T09:00:00Z",
        stdin=script,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    public = [line for line in result.stdout.splitlines() if line.startswith("[#general]")]
    notices = public[1:]  # after the schedule confirmation
    assert len(notices) == 5, public
    assert "is cancelled" in notices[0] and "Snow" in result.stdout
    assert "takes place after all" in notices[1]
    assert "moves to" in notices[2]
    assert "will not meet any more" in notices[3]
    assert "meets again" in notices[4]
    private = [line for line in result.stdout.splitlines() if "The channel was told" in line]
    assert len(private) == 4 and not any(line.startswith("[#general]") for line in private)


def test_a_reminder_due_at_a_restart_reaches_a_member_not_typed_since(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "d.sqlite3")]
    first = circlebot(
        *console_args(db, "--clock", "2026-12-01T09:00:00Z", "--files", str(tmp_path)),
        stdin=ISSUE_SCENARIO.replace(":advance 11h\n", ""),
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    later = circlebot(  # ben's 30-minute reminder is due at 18:30, one minute before
        *console_args(db, "--clock", "2026-12-01T18:31:00Z", "--files", str(tmp_path)),
        stdin=":now\n",
        cwd=tmp_path,
    )
    assert later.returncode == 0, later.stderr
    dms = [line for line in later.stdout.splitlines() if line.startswith("[dm ben]")]
    assert len(dms) == 1 and "You planned to join Evening circle" in dms[0], later.stdout
    assert "given up" not in later.stderr


def test_announcing_the_same_times_again_on_the_console_posts_the_line_once(
    tmp_path: Path,
) -> None:
    result = circlebot(
        *["console", "--db", str(tmp_path / "a.sqlite3"), "--clock", "2026-12-01T09:00:00Z"],
        stdin="!meeting announce 1h,0\n!meeting announce 1h,0\n",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    line = "Meetings here are announced 1 hour before and when they start."
    assert result.stdout.count(f"[#general] {line}") == 1, result.stdout
    assert f"[#general, private to you] {line} That is the setting already" in result.stdout
