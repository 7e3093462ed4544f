"""The README's meetings scenario, run through a real `circlebot console` process."""

from __future__ import annotations

from pathlib import Path

from icalendar import Calendar

from tests.test_console import circlebot

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
    assert "[#general] Tuesday circle is starting now." in out
    assert "Facilitator: River" in out
    assert "Tuesday circle on Tue 8 Dec 2026, 19:00 UTC (in 1 week) is cancelled." in out
    assert out.count("is starting now") == 1  # nothing on the cancelled Tuesday
    assert "[file meetings.ics" in out
    calendar = Calendar.from_ical((tmp_path / "files" / "meetings.ics").read_bytes())
    event = next(c for c in calendar.walk() if c.name == "VEVENT")
    assert str(event["summary"]) == "Tuesday circle"
    assert "EXDATE" in event
