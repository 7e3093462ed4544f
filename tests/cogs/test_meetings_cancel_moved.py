"""A moved date that is cancelled keeps its move: restored, it takes place at the moved time.

A newcomer moved Wednesday's circle to Thursday 18:00, cancelled it, restored it: the
restore announced Wednesday 19:00 and told Ben (who RSVP'd to Thursday) Wednesday, and
`restore ... 2026-12-10` (the date the cancel reply itself named) found no cancelled meeting.
The cancel had replaced the "moved" row with a "cancelled" one, so the move was lost. The
property over any sequence of changes is in test_meetings_model.py (`TestOccurrences`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.console import circlebot

SCENARIO = """\
:tier ana facilitator
@ana !meeting schedule "Circle" "2026-12-02 19:00" 60m repeat:"weekly on wed"
@ana !meeting move Circle 2026-12-09 "2026-12-10 18:00"
@ben !meeting rsvp Circle 2026-12-10
:advance 7d
@ana !meeting cancel Circle 2026-12-10
@ben !meeting info Circle
@ana !meeting restore Circle {day}
@ben !meeting info Circle
"""


@pytest.mark.parametrize("day", ["2026-12-09", "2026-12-10"])
def test_a_cancelled_move_restored_by_either_date_comes_back_moved(
    tmp_path: Path, day: str
) -> None:
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "m.sqlite3"),
        "--clock",
        "2026-12-01T18:30:00Z",
        "--files",
        str(tmp_path / "files"),
        stdin=SCENARIO.format(day=day),
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    thursday = "Thu 10 Dec 2026, 18:00 UTC"
    assert f"Cancelled Circle on {thursday}" in out, out
    assert "!meeting restore #1 2026-12-10 undoes it." in out, out
    assert f"- 2026-12-09: cancelled (it had moved to {thursday}" in out, out
    assert f"[#general] Circle on {thursday} (in 2 days) takes place after all." in out, out
    assert f"[dm ben] Circle on {thursday} (in 2 days) takes place after all." in out, out
    assert "Wed 9 Dec 2026, 19:00 UTC (in 1 day) takes place" not in out, out
    info = out.rsplit("[#general, private to ben] Circle (#1)", 1)[1]
    assert f"Next: {thursday}" in info and "You RSVP'd" in info, info
    assert f"- 2026-12-09: moved to {thursday}" in info, info
