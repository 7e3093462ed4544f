"""A meeting run through a real `circlebot console` process, stopped and resumed mid-meeting."""

from __future__ import annotations

from pathlib import Path

from tests.harness.console import circlebot

FIRST = """\
:tier fran facilitator
@fran !script start standard Tuesday circle
@fran !script next
@ana !hand
@ben !hand
@cara !hand
@dan !pass
@ana !script next
@fran !script next-speaker
:advance 2m
@fran !script next-speaker
"""

SECOND = """\
:tier fran facilitator
@fran !script status
@fran !script next-speaker
:advance 20m
@fran !script goto closing
@fran !script next
@fran !script status
"""


def test_a_meeting_in_the_console_survives_a_restart(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[cogs]\nenabled = ["general", "scripts"]\n')
    db = str(tmp_path / "meeting.sqlite3")
    args = ("--config", str(config), "console", "--db", db)

    first = circlebot(*args, "--clock", "2026-12-01T18:00:00Z", stdin=FIRST, cwd=tmp_path)
    out = first.stdout
    assert first.returncode == 0, first.stderr
    assert "[#general] Welcome and ground rules · step 1 of 7" in out
    assert "Welcome to Tuesday circle. I'm fran" in out
    assert "[#general] Check-in · step 2 of 7" in out
    assert "[#general] cara raised a hand. Hands up: 1. ana, 2. ben, 3. cara." in out
    assert "[#general] dan passes this round, and that's fine." in out
    assert "[#general, private to ana] Only this meeting's facilitator" in out
    assert "[#general] The floor is yours, ana." in out
    assert "[dm ana] A gentle note, just for you" in out
    assert "[#general] The floor is yours, ben. Hands up: 1. cara. Passed: 1." in out

    second = circlebot(*args, "--clock", "2026-12-01T18:05:00Z", stdin=SECOND, cwd=tmp_path)
    out = second.stdout
    assert second.returncode == 0, second.stderr
    assert "step 2 of 7: Check-in" in out
    assert "Sharing now: ben. Hands up: 1. cara. Passed: 1." in out
    assert "[#general] The floor is yours, cara." in out
    assert "[dm fran] Quiet note, only for you: the time planned for Check-in" in out
    assert "whenever the room is ready (!script next)" in out  # a command that works copied
    assert "[#general] Closing · step 7 of 7" in out
    assert "Our next meeting: the time on this community's meeting schedule." in out
    assert "[#general] The meeting script has ended." in out
    assert "No meeting script is running here." in out
