"""A meeting run through a real `circlebot console` process, stopped and resumed mid-meeting."""

from __future__ import annotations

from pathlib import Path

from tests.harness.console import circlebot

FIRST = """\
:tier fran facilitator
@ana !me name Wren
@ben !me name Birch
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
    assert "Welcome to Tuesday circle. I'm a volunteer facilitator" in out
    assert "[#general] Check-in · step 2 of 7" in out
    assert "[#general] Member 1 raised a hand. Hands up: 1. Wren, 2. Birch, 3. member 1." in out
    assert "[#general] Member 2 passes this round, and that's fine." in out
    assert "[#general, private to ana] Only a facilitator or this meeting's named" in out
    assert "[#general] The floor is yours, Wren." in out
    assert "[dm ana] A gentle note, just for you" in out
    assert "[#general] The floor is yours, Birch. Hands up: 1. member 1. Passed: 1." in out

    second = circlebot(*args, "--clock", "2026-12-01T18:05:00Z", stdin=SECOND, cwd=tmp_path)
    out = second.stdout
    assert second.returncode == 0, second.stderr
    assert "step 2 of 7: Check-in" in out
    assert "Sharing now: Birch. Hands up: 1. member 1. Passed: 1." in out
    assert "[#general] The floor is yours, member 1." in out
    assert "[dm fran] Quiet note, only for you: the time planned for Check-in" in out
    assert "whenever the room is ready (!script next)" in out  # a command that works copied
    assert "[#general] Closing · step 7 of 7" in out
    assert "Our next meeting: the time on this community's meeting schedule." in out
    assert "[#general] The meeting script has ended." in out
    assert "No meeting script is running here." in out


DELETING = """\
!script copy standard mine
:tier ana facilitator
@ana !meeting schedule "Circle" "2026-12-01 10:00" 60m script:mine
!script delete mine
@ana !meeting info Circle
:advance 1d1m
@ana !script start
!script delete mine
@ana !script end
@ana !meeting edit Circle script:standard
!script delete mine
"""


def test_a_script_a_meeting_uses_is_not_deleted_from_under_it(tmp_path: Path) -> None:
    """The newcomer's scene: the deletion is refused, naming the meeting and the way out;
    the meeting's own script is the one `script start` runs."""
    run = circlebot(
        "console", "--db", str(tmp_path / "db.sqlite3"), "--clock", "2026-11-30T09:00:00Z",
        stdin=DELETING, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert (
        "[#general, private to you] mine is the script of a meeting: Circle (#1). Give it "
        "another script first, e.g. !meeting edit #1 script:standard, then delete mine."
    ) in out
    assert "  Script: mine\n" in out  # still there
    assert "[#general] Welcome and ground rules · step 1 of 7" in out
    # the run is the meeting's script: while it runs, `mine` cannot be deleted
    assert "mine is running in a channel now; end that meeting first." in out
    assert out.count("Deleted the script mine.") == 1
    assert out.index("Updated Circle (#1)") < out.index("Deleted the script mine.")


GONE = """\
!script copy standard mine
:tier ana facilitator
@ana !meeting schedule "Weekly" "2026-12-01 10:00" 60m repeat:weekly script:mine
@ana !meeting cancel Weekly all
!script delete mine
@ana !meeting restore Weekly all
@ana !meeting info Weekly
:advance 1d1m
@ana !script start
@ana !script status
@ana !script start standard
"""


def test_a_meeting_whose_script_is_gone_says_so(tmp_path: Path) -> None:
    """A cancelled series does not hold its script back; restored, its info and
    `script start` say plainly that the script is gone, and nothing else starts."""
    run = circlebot(
        "console", "--db", str(tmp_path / "db.sqlite3"), "--clock", "2026-11-30T09:00:00Z",
        stdin=GONE, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Deleted the script mine." in out
    assert (
        "  Script: mine, which no longer exists here. Give the meeting another with "
        "!meeting edit #1 script:NAME."
    ) in out
    assert (
        "[#general, private to ana] The script of Weekly, mine, no longer exists here, so "
        "nothing was started. Start another by name, e.g. !script start standard, or give "
        "the meeting one with !meeting edit #1 script:NAME."
    ) in out
    assert "No meeting script is running here." in out
    assert out.count("[#general] Welcome and ground rules · step 1 of 7") == 1  # by name
