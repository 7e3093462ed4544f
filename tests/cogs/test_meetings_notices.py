"""Members who RSVP'd are told privately when their date is cancelled, moved or restored.

A moderator's change to a date (one cancelled, moved or restored; the series edited, cancelled,
restored or deleted) sends each member who RSVP'd to an affected future date one DM naming the
meeting, the date and what changed, with the moderator's note; nobody else, nothing for past
dates, nothing twice, nothing to a member who erased their data. Reminders off or not: such a
notice is no reminder. The answers to an RSVP and its withdrawal name the meeting and date.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import VirtualClock
from cogs.meetings.service import rsvp_action
from tests.harness.app import AppFactory
from tests.harness.console import circlebot
from tests.harness.meetings import Recorder, circle, cog
from tests.harness.meetings_model import PEOPLE, REMINDERS, ZONES, DeliveryMachine

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
WEEKLY = '!meeting schedule Circle "2026-12-01 19:00" 90m repeat:weekly zone:UTC'
ERASE_CODE = re.compile(r"mydata erase confirm ([2-9a-z]{6})")


def told(fake: Recorder, since: int) -> dict[str, list[str]]:
    """DMs the outbox delivered after `since` entries of `fake.said`, by member id."""
    found: dict[str, list[str]] = {}
    for said in fake.said[since:]:
        if said.where == "dm" and said.message_id is not None:
            found.setdefault(said.to.removeprefix("fake:"), []).append(said.text)
    return found


# --- the property: random RSVPs, one random change -----------------------------------------

CHANGES = ("cancel_one", "move", "cancel_all", "delete", "edit", "restore_one", "restore_all")


@pytest.mark.parametrize("change", CHANGES)
@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    data=st.data(),
    zone=st.sampled_from(ZONES),
    daily=st.booleans(),
    rsvps=st.lists(
        st.tuples(st.sampled_from(PEOPLE), st.booleans(), st.integers(0, 7)),
        max_size=6,
    ),
    remind=st.sampled_from(REMINDERS),
    off=st.sets(st.sampled_from(PEOPLE)),
    wait=st.sampled_from([0, 0, 600, 1500]),
)
def test_each_member_rsvpd_to_a_changed_future_date_is_told_once_and_nobody_else(
    change: str,
    data: st.DataObject,
    zone: str,
    daily: bool,
    rsvps: list[tuple[str, bool, int]],
    remind: int | None,
    off: set[str],
    wait: int,
) -> None:
    """The model's oracle (tests/harness/meetings_model.py) knows, from the RSVPs alone, who
    had a future date the change affects; the machine checks one DM to each of them, naming
    the meeting, and none to anyone else (also after time passed and some dates are past)."""
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=40, zone=zone, daily=daily)
        meeting_id = machine.ids()[0]
        found = machine.upcoming(meeting_id)
        for person, series, pick in rsvps:
            key = "" if series else found[pick % len(found)].key
            machine.rsvp_to(meeting_id, person, key, remind)
        for person in sorted(off):
            machine.reminders(person, on=False)
        if change in ("restore_one", "restore_all") and machine.upcoming(meeting_id):
            if change == "restore_one":
                machine.cancel_one(data)
            else:
                machine.cancel_all(data)
        if wait:
            machine.advance(wait)
        if change == "edit":
            machine.edit(data, data.draw(st.sampled_from([-90, -30, 15, 60, 24 * 60])))
        elif change == "restore_one":
            if any(None in m.changes.values() for m in machine.model.meetings.values()):
                machine.restore_one(data)
        elif change == "restore_all":
            if any(m.cancelled for m in machine.model.meetings.values()):
                machine.restore_all(data)
        elif change == "cancel_all":
            if not machine.model.meetings[meeting_id].cancelled:
                machine.cancel_all(data)
        elif change == "move":
            machine.move(data, data.draw(st.sampled_from([-50, 20, 90, 600])))
        else:
            getattr(machine, change)(data)
        machine.advance(1440)  # nothing more arrives than the oracle expects
    finally:
        machine.teardown()


# --- the quoted cases, as members meet them ---------------------------------------------


async def test_a_cancelled_moved_and_restored_date_is_told_to_those_who_rsvpd(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory, clock=VirtualClock(START))
    await fake.say("fac", WEEKLY)
    await fake.say("ben", "!meeting rsvp Circle 2026-12-08 reminder:30m")
    await fake.say("cleo", "!meeting rsvp Circle all")  # no reminder asked
    await fake.say("cleo", "!meeting reminders off")  # still told: this is no reminder
    await fake.say("dan", "!meeting rsvp Circle 2026-12-15 reminder:yes")
    await fake.say("eve", "!meeting info Circle")  # interested, no RSVP
    mark = len(fake.said)
    await fake.say("mod", '!meeting cancel Circle 2026-12-08 note:"Holiday break"')
    got = told(fake, mark)
    assert sorted(got) == ["ben", "cleo"]  # dan's date and eve (no RSVP) are untouched
    for texts in got.values():
        assert len(texts) == 1
        assert "**Circle** on 2026-12-08T19:00:00+00:00 is cancelled." in texts[0]
        assert "Note: Holiday break" in texts[0]

    mark = len(fake.said)
    await fake.say("mod", '!meeting move Circle 2026-12-15 "2026-12-16 20:00" note:Later')
    got = told(fake, mark)
    assert sorted(got) == ["cleo", "dan"]
    assert got["dan"] == [
        "**Circle** on 2026-12-15T19:00:00+00:00 moves to 2026-12-16T20:00:00+00:00.\n"
        "Note: Later\n"
        "You are told because you RSVP'd; nobody else sees your RSVP. `!meeting info 1` "
        "shows the meeting."
    ]

    mark = len(fake.said)
    await fake.say("mod", "!meeting restore Circle 2026-12-08")
    got = told(fake, mark)
    assert sorted(got) == ["ben", "cleo"]
    assert "2026-12-08T19:00:00+00:00 takes place after all" in got["ben"][0]

    # the reminder Ben was promised comes back, and nothing is told twice by later plans
    mark = len(fake.said)
    await cog(app).service.rebuild()
    await app.scheduler.advance(timedelta(days=9))
    got = told(fake, mark)
    assert got["ben"] == [t for t in got["ben"] if "You planned to join **Circle**" in t]
    assert len(got["ben"]) == 1
    assert "cleo" not in got  # reminders off: no reminder, and no notice again


async def test_ending_or_deleting_a_series_tells_those_with_a_date_to_come(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory, clock=VirtualClock(START), more=("privacy",))
    await fake.say("fac", WEEKLY)
    await fake.say("ben", "!meeting rsvp Circle 2026-12-01")  # a date that will be past
    await fake.say("cleo", "!meeting rsvp Circle all")
    await fake.say("dan", "!meeting rsvp Circle 2026-12-08")
    await app.scheduler.advance(timedelta(days=2))  # 1 December is over
    mark = len(fake.said)
    await fake.say("mod", '!meeting cancel Circle all note:"The room closed"')
    got = told(fake, mark)
    assert sorted(got) == ["cleo", "dan"]  # nothing to Ben about a past date
    assert "**Circle** will not meet any more." in got["cleo"][0]
    assert "**Circle** on 2026-12-08T19:00:00+00:00 is cancelled." in got["dan"][0]
    assert all("Note: The room closed" in t[0] for t in got.values())

    mark = len(fake.said)
    await fake.say("mod", "!meeting restore Circle all")
    got = told(fake, mark)
    assert sorted(got) == ["cleo", "dan"]
    assert "**Circle** meets again, as before; the next one is 2026-12-08" in got["cleo"][0]

    await erase(fake, "dan")  # erased: told nothing more
    mark = len(fake.said)
    await fake.say("mod", "!meeting delete Circle confirm:yes")
    got = told(fake, mark)
    assert sorted(got) == ["cleo"]
    assert "**Circle** will not meet any more." in got["cleo"][0]


async def test_an_edited_time_is_told_to_those_whose_date_it_moves(
    app_factory: AppFactory,
) -> None:
    _app, fake = await circle(app_factory, clock=VirtualClock(START))
    await fake.say("fac", WEEKLY)
    await fake.say("ben", "!meeting rsvp Circle 2026-12-01 reminder:yes")
    await fake.say("cleo", "!meeting rsvp Circle all")
    await fake.say("dan", "!meeting rsvp Circle 2026-12-15")
    await fake.say("mod", '!meeting move Circle 2026-12-15 "2026-12-16 20:00"')
    mark = len(fake.said)
    await fake.say("mod", '!meeting edit Circle start:"2026-12-01 20:00"')
    got = told(fake, mark)
    assert sorted(got) == ["ben", "cleo"]  # Dan's date was moved on its own: it stays
    assert got["ben"][0].startswith(
        "**Circle** on 2026-12-01T19:00:00+00:00 moves to 2026-12-01T20:00:00+00:00."
    )
    assert got["cleo"][0].startswith(
        "**Circle** has a new time: it repeats every week on Tue; the next one is "
        "2026-12-01T20:00:00+00:00."
    )


async def test_withdrawing_an_rsvp_names_the_meeting_and_date(app_factory: AppFactory) -> None:
    _app, fake = await circle(app_factory, clock=VirtualClock(START))
    await fake.say("fac", WEEKLY)
    await fake.say("ben", "!meeting rsvp Circle 2026-12-08")
    said = await fake.say("ben", "!meeting unrsvp Circle 2026-12-08")
    assert said[-1].text == (
        "Your RSVP to **Circle** on 2026-12-08T19:00:00+00:00 is removed, with its reminder."
    )
    said = await fake.say("ben", "!meeting unrsvp Circle 2026-12-08")
    assert said[-1].text == "You had no RSVP to **Circle** on 2026-12-08T19:00:00+00:00."
    await fake.say("ben", "!meeting rsvp Circle all")
    said = await fake.say("ben", "!meeting unrsvp Circle")
    assert said[-1].text == "Your RSVP to **Circle** is removed, with its reminder."


async def test_meeting_info_says_its_length_in_words(app_factory: AppFactory) -> None:
    _app, fake = await circle(app_factory, clock=VirtualClock(START))
    for title, length, said in (
        ("Short", "30m", "Length: 30 minutes"),
        ("Hour", "60m", "Length: 1 hour"),
        ("Long", "90m", "Length: 1 hour 30 minutes"),
        ("Longer", "2h", "Length: 2 hours"),
    ):
        await fake.say("fac", f'!meeting schedule {title} "2026-12-01 19:00" {length} zone:UTC')
        info = await fake.say("ben", f"!meeting info {title}")
        assert said in info[-1].text.split("\n"), info[-1].text


async def test_an_rsvp_to_the_meeting_under_way_is_taken_and_says_so(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory, clock=VirtualClock(START))
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 90m zone:UTC')
    await app.scheduler.advance(timedelta(days=1, hours=10, minutes=20))  # 19:20, under way
    for typed in ("!meeting rsvp Circle reminder:yes", "!meeting rsvp Circle 2026-12-01"):
        said = await fake.say("ben", typed)
        text = said[-1].text
        assert text.startswith("Noted: you plan to come to **Circle** on 2026-12-01T19:00"), text
        assert "It is under way now." in text
        assert "DM you" not in text  # no reminder is promised for a meeting that began
    said = await fake.say("ben", "!meeting unrsvp Circle 2026-12-01")
    assert said[-1].text.startswith("Your RSVP to **Circle** on 2026-12-01T19:00")
    # "Remind me" on the "starting now" post: taken, but no reminder is promised
    view = await cog(app).service.find(1, "Circle")
    mark = len(fake.said)
    await app.dispatcher.handle_action(
        fake.incoming("cleo"), rsvp_action(view, "2026-12-01T19:00", "remind")
    )
    text = fake.said[mark].text
    assert "It is under way now." in text and "DM you" not in text, text
    await app.scheduler.advance(timedelta(hours=2))
    said = await fake.say("ben", "!meeting rsvp Circle")  # over: nothing to RSVP to
    assert said[-1].text == "**Circle** has no upcoming meeting."


async def erase(fake: Recorder, name: str) -> None:
    first = await fake.say(name, "!mydata erase")
    match = ERASE_CODE.search("\n".join(s.text for s in first))
    assert match
    await fake.say(name, f"!mydata erase confirm {match.group(1)}")


# --- the console, in each member's own time zone ------------------------------------------

SCENARIO = """\
:tier ana facilitator
:tz ben America/New_York
@ana !meeting schedule "Tuesday circle" "2026-12-01 19:00" 90m repeat:"weekly on tue" \
zone:Europe/London
@ben !meeting rsvp "Tuesday circle" 2026-12-08 reminder:yes
@cat !meeting rsvp "Tuesday circle" all
@cat !meeting reminders off
@dan !meeting rsvp "Tuesday circle" 2026-12-15
@ana !meeting cancel "Tuesday circle" 2026-12-08 note:"Winter break"
@ana !meeting move "Tuesday circle" 2026-12-15 "2026-12-16 20:00"
@dan !meeting unrsvp "Tuesday circle" 2026-12-16
@ben !meeting info "Tuesday circle"
:advance 1d10h30m
@ben !meeting rsvp "Tuesday circle" 2026-12-01
@ana !meeting delete "Tuesday circle" confirm:yes
"""


def test_the_notices_in_the_console_in_each_members_own_zone(tmp_path: Path) -> None:
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "m.sqlite3"),
        "--clock",
        "2026-11-30T09:00:00Z",
        stdin=SCENARIO,
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    lines = out.splitlines()
    # Ben lives in New York: his notice says 14:00 EST for the 19:00 London meeting
    assert (
        "[dm ben] Tuesday circle on Tue 8 Dec 2026, 14:00 EST (in 1 week) is cancelled."
        " You had RSVP'd to it." in lines
    ), out
    assert "[dm cat] Tuesday circle on Tue 8 Dec 2026, 19:00 UTC (in 1 week) is cancelled." in out
    assert "Note: Winter break" in out
    assert (
        "[dm dan] Tuesday circle on Tue 15 Dec 2026, 19:00 UTC (in 2 weeks) moves to "
        "Wed 16 Dec 2026, 20:00 UTC (in 2 weeks)." in lines
    ), out
    assert "Your RSVP to Tuesday circle on Wed 16 Dec 2026, 20:00 UTC" in out
    assert "Length: 1 hour 30 minutes" in out
    assert "Noted: you plan to come to Tuesday circle on Tue 1 Dec 2026, 14:00 EST" in out
    assert "It is under way now." in out
    # deleted: Cat (every date) and Ben (8 December was cancelled; nothing of his is to come)
    assert "[dm cat] Tuesday circle will not meet any more." in out
    assert out.count("[dm dan]") == 1 and out.count("[dm ben] Tuesday circle") == 1


# --- no path that changes a date goes around the notices -----------------------------------

# Methods that change a meeting's row without changing any date, and why.
NO_DATE_CHANGED = {
    "set_ping_role": "who the announcements ping",
    "_set_change": "a helper: its callers read the meeting before and tell after",
    "remove_community": "erasing a community the bot left 30 days before: its moderators were "
    "told then, and nothing more is sent about it (a notice would be a new trace of it)",
}


def test_every_change_to_a_meeting_or_its_dates_tells_the_members() -> None:
    """A method that writes a meeting's row, its exceptions or deletes it reads the meeting as
    it was (`_as_it_was`) and hands it to `_tell`; a new one that forgot would let a reminder
    vanish silently again."""
    source = (Path(__file__).parents[2] / "cogs" / "meetings" / "service.py").read_text()
    tree = ast.parse(source)
    service = next(
        n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MeetingService"
    )
    writers = []
    for node in service.body:
        if not isinstance(node, ast.AsyncFunctionDef):
            continue
        text = ast.get_source_segment(source, node) or ""
        if any(w in text for w in ("self._bump(", "self._set_change(", "delete(Meeting)")):
            writers.append(node.name)
            if node.name not in NO_DATE_CHANGED:
                assert "self._as_it_was(" in text and "self._tell(" in text, node.name
    assert {"update", "cancel_series", "cancel_occurrence", "move_occurrence", "restore"} <= set(
        writers
    ), writers
    assert "remove" in writers, writers
