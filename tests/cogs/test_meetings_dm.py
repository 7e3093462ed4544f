"""A reminder DM is acted on where it arrived: `meeting info` and `meeting unrsvp` in the DM
(a real `circlebot console` process, as a member meets it)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.harness.console import circlebot

SCENARIO = """\
!meeting schedule title:"Tue circle" start:"2026-12-01 18:00" duration:1h repeat:weekly zone:UTC
@ana !meeting rsvp "Tue circle" reminder:15m
:advance 1d8h46m
@ana dm !meeting info 1
@ana dm !meeting unrsvp "Tue circle"
@ana dm !meeting info 1
"""


def test_rsvp_in_the_channel_then_info_and_unrsvp_in_the_reminder_dm(tmp_path: Path) -> None:
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
    assert "[#general, private to ana] Noted: you plan to come to Tue circle" in out
    reminder = out.index("[dm ana] You planned to join Tue circle")
    # the reminder says what can be typed right there
    assert "You can reply here: !meeting info 1 for details, !meeting unrsvp 1" in out[reminder:]
    assert "works in a community channel" not in out
    after = out[reminder:]
    info = after.index("[dm ana] Tue circle (#1)")
    assert "Planning to come next time: 1" in after[info:]
    assert "You RSVP'd (only you see this)" in after[info:]
    assert "[dm ana] Your RSVP to Tue circle is removed, with its reminder." in after
    # the announcement in the channel is edited: the count drops from 1 to nobody
    edited = r"\[#general \(edited\)\] Reminder: Tue circle.*\n(?:  .*\n)*?  Nobody"
    assert re.search(edited, after)
    last = after.rindex("[dm ana] Tue circle (#1)")
    assert "Planning to come next time: 0" in after[last:]
    assert "You RSVP'd" not in after[last:]
