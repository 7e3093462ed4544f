"""The console as a newcomer uses it: a real `circlebot` process fed a script on stdin."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.harness.console import ROOT, circlebot

SCRIPT = """\
!help
@ana !me name River
@ana !me timezone Europe/London
@ben !me name river
:tier ben facilitator
@ana !me setup
@ana dm skip
@ana dm skip
@ana dm de
@ana dm 1
@ana !me
:advance 1h
:tz nobody Not/AZone
:quit
!ping
"""


def test_a_scripted_console_session_end_to_end(tmp_path: Path) -> None:
    result = circlebot("console", "--db", str(tmp_path / "c.sqlite3"), stdin=SCRIPT, cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "[#general, private to you] Commands you can use" in out
    assert "[#general, private to ana] From now on you appear here as River." in out
    assert "[#general, private to ben] Someone here already uses that pseudonym" in out
    assert "[console] ben is now a facilitator" in out
    assert "[dm ana] What name would you like others here to see?" in out
    assert "[dm ana] All set." in out
    assert "Country: DE" in out and "Time zone: Europe/London" in out
    assert "start the console with --clock" in out
    assert "is not a time zone I know" in out
    assert "pong" not in out  # after :quit nothing runs
    assert "Created a new encryption key" in result.stderr
    key = tmp_path / "c.key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_the_virtual_clock_and_files_directory(tmp_path: Path) -> None:
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "v.sqlite3"),
        "--clock",
        "2026-12-01T09:00:00Z",
        "--files",
        str(tmp_path / "out"),
        stdin=":now\n:advance 1h30m\n:now\n",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "[clock] now 2026-12-01 09:00 UTC" in result.stdout
    assert "[clock] now 2026-12-01 10:30 UTC (" in result.stdout


def test_run_without_a_platform_starts_the_console_and_data_survives(tmp_path: Path) -> None:
    first = circlebot("run", stdin="!me country ie\n", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "here is the console" in first.stderr
    assert (tmp_path / "data" / "circlebot.sqlite3").exists()
    second = circlebot(stdin="!me\n", cwd=tmp_path)
    assert "Country: IE" in second.stdout


def test_sigterm_stops_cleanly_with_exit_code_zero(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLEBOT_")}
    with subprocess.Popen(  # the with block closes the pipes (no ResourceWarning)
        [sys.executable, "-m", "bot", "console", "--db", str(tmp_path / "s.sqlite3")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("!ping\n")
        proc.stdin.flush()
        assert "pong" in proc.stdout.readline()  # it is up and answering; stdin stays open
        time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_help_on_every_subcommand(tmp_path: Path) -> None:
    top = circlebot("--help", cwd=tmp_path)
    assert top.returncode == 0
    for sub in ("run", "console", "web", "migrate", "check-config", "generate-key", "invite-url"):
        assert sub in top.stdout
        page = circlebot(sub, "--help", cwd=tmp_path)
        assert page.returncode == 0 and "usage: circlebot" in page.stdout


def test_check_config_names_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[bot]\ntimezon = "UTC"\n[discord]\nenabled = true\n[matrix]\nfacilitator_power = "x"\n'
        '[cogs]\nenabled = ["general", "nope"]\n'
    )
    result = circlebot("check-config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "bot.timezon: unknown key (did you mean `timezone`?)" in result.stderr
    assert "discord.token: is required when discord.enabled = true" in result.stderr
    assert "matrix.facilitator_power: must be a whole number" in result.stderr
    assert "cogs.enabled: unknown cog 'nope'" in result.stderr
    example = circlebot("check-config", str(ROOT / "config.example.toml"), cwd=tmp_path)
    assert example.returncode == 0, example.stderr
    assert "OK" in example.stdout


def test_a_platform_without_keys_refuses_to_start(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[discord]\nenabled = true\ntoken = "x"\n')
    result = circlebot("run", cwd=tmp_path)
    assert result.returncode == 1
    assert "No encryption key is configured" in result.stderr


def test_migrate_then_start_and_refusal_when_behind(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    db = tmp_path / "m.sqlite3"
    cfg.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n[security]\n'
        f'encryption_keys = ["{_key()}"]\n[discord]\nenabled = true\ntoken = "x"\n'
    )
    refused = circlebot("run", cwd=tmp_path)
    assert refused.returncode == 1
    assert "Run `circlebot migrate`" in refused.stderr
    migrated = circlebot("migrate", cwd=tmp_path)
    assert migrated.returncode == 0 and "Migrated" in migrated.stdout
    again = circlebot("migrate", cwd=tmp_path)
    assert "already up to date" in again.stdout


def _key() -> str:
    from bot.crypto import generate_key

    return generate_key()


def test_the_console_help_says_who_is_a_moderator_and_who_a_member(tmp_path: Path) -> None:
    page = circlebot("console", "--help", cwd=tmp_path).stdout
    words = " ".join(page.split())
    assert "as a moderator of one local community" not in words
    assert "you type as 'you', a moderator; each @name starts as a member" in words
    assert "`:tier NAME moderator` changes that" in words
