"""A meeting's first occurrence in a window, found by following its rule only up to that
occurrence (what a start-up asks of every meeting), is the first of the window's whole
expansion, whatever the rule, time zone, cancelled or moved occurrences and window; so the
next occurrence is the one a search through whole windows finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.message import render_parts
from cogs.meetings import recurrence, render
from cogs.meetings.recurrence import Occurrence
from cogs.meetings.service import NO_REMINDER, Change, MeetingView, Seen

ZONES = ("UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def rules(draw: Any) -> str:
    """ "" (a one-off) or an RRULE body of the kinds the repeat grammar writes."""
    freq = draw(st.sampled_from(("", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")))
    if not freq:
        return ""
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 3))}"]
    if freq == "WEEKLY" and draw(st.booleans()):
        days = draw(
            st.sets(st.sampled_from(("MO", "TU", "WE", "TH", "FR", "SA", "SU")), min_size=1)
        )
        parts.append("BYDAY=" + ",".join(sorted(days)))
    if freq == "MONTHLY" and draw(st.booleans()):
        parts.append(
            f"BYDAY={draw(st.sampled_from((1, 2, 3, -1)))}" + draw(st.sampled_from(("MO", "FR")))
        )
    end = draw(st.sampled_from(("", "count", "until")))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 30))}")
    elif end == "until":
        until = BASE + timedelta(days=draw(st.integers(0, 400)))
        parts.append(f"UNTIL={until.strftime('%Y%m%dT%H%M%S')}")
    return ";".join(parts)


@st.composite
def views(draw: Any) -> MeetingView:
    """A meeting starting within a year of BASE, in a zone with or without DST, some of its
    occurrences (near its start) cancelled or moved."""
    start_local = (BASE + timedelta(minutes=30 * draw(st.integers(0, 365 * 48)))).replace(
        tzinfo=None
    )
    rule = draw(rules())
    zone = draw(st.sampled_from(ZONES))
    view = MeetingView(
        id=1,
        community_id=1,
        title="Circle",
        kind="standard",
        start_local=start_local,
        timezone=zone,
        duration_minutes=draw(st.sampled_from((30, 90, 600))),
        rrule=rule,
        location="",
        location_label="",
        channel="bench:c",
        script=None,
        ping_role=None,
        cancelled=draw(st.booleans()) and draw(st.booleans()),
        cancel_note="",
        revision=1,
        revised_at=BASE,
        uid="u",
        created_by="x",
        facilitators=(),
        changes=(),
    )
    first = view.occurrences(view.first_start, view.first_start + timedelta(days=200))
    picked = draw(st.lists(st.sampled_from(first), unique=True, max_size=4)) if first else []
    changes = []
    for occ in picked:
        if draw(st.booleans()):
            changes.append(Change(occ.key, "cancelled", None, ""))
        else:
            shift = timedelta(hours=draw(st.integers(-72, 72)))
            changes.append(Change(occ.key, "moved", occ.start + shift, "moved"))
    return MeetingView(**{**view.__dict__, "changes": tuple(changes)})


def _window(draw: Any, view: MeetingView) -> tuple[datetime, datetime]:
    start = view.first_start + timedelta(hours=draw(st.integers(-24 * 30, 24 * 400)))
    return start, start + timedelta(hours=draw(st.integers(0, 24 * 60)))


def next_by_whole_windows(view: MeetingView, now: datetime) -> Occurrence | None:
    """The next occurrence searched through whole expanded windows (the reference)."""
    start, span = now, timedelta(days=40)
    limit = now + timedelta(days=366 * recurrence.PROBE_YEARS)
    while start < limit:
        end = start + span
        found = view.occurrences(start, end)
        if found:
            return found[0]
        later = recurrence.first_after(view.start_local, view.zone, view.rrule, end)
        if later is None and not any(c.new_start and c.new_start >= end for c in view.changes):
            return None
        start, span = end, span * 4
    return None


@settings(max_examples=300, deadline=None)
@given(data=st.data(), view=views())
def test_the_first_occurrence_in_a_window_is_the_first_of_its_expansion(
    data: st.DataObject, view: MeetingView
) -> None:
    """Cancelled occurrences are skipped, moved ones count at their new start, and a series
    that ends or was cancelled has none."""
    for _ in range(4):
        after, before = _window(data.draw, view)
        whole = view.occurrences(after, before)
        assert view.first_in(after, before) == (whole[0] if whole else None)
        assert view.next_occurrence(after) == next_by_whole_windows(view, after)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), view=views())
def test_the_next_occurrence_read_off_a_planned_window_is_the_next_occurrence(
    data: st.DataObject, view: MeetingView
) -> None:
    """A rebuild reads a meeting's next occurrence past the horizon off the occurrences its
    plan already found, when the window shows it: always the one the rule gives."""
    for _ in range(4):
        after, before = _window(data.draw, view)
        seen = Seen(after, before, view.occurrences(after, before))
        moment = after + (before - after) * data.draw(st.floats(-0.2, 1.2))
        found = seen.next_from(moment)
        if found is not None:
            assert found == view.next_occurrence(moment)
        elif after <= moment < before and view.occurrences(moment, before):
            raise AssertionError("an occurrence in the window was not read off it")


def test_a_moved_occurrence_is_found_in_its_new_place() -> None:
    """A concrete case: the occurrence moved to the Tuesday is the week's first, not the
    Monday it was planned for, and the week after starts with the rule's Monday again."""
    view = MeetingView(
        id=1,
        community_id=1,
        title="Circle",
        kind="standard",
        start_local=datetime(2026, 3, 2, 19, 0),
        timezone="Europe/London",
        duration_minutes=90,
        rrule="FREQ=WEEKLY;INTERVAL=1",
        location="",
        location_label="",
        channel="bench:c",
        script=None,
        ping_role=None,
        cancelled=False,
        cancel_note="",
        revision=1,
        revised_at=BASE,
        uid="u",
        created_by="x",
        facilitators=(),
        changes=(
            Change("2026-03-09T19:00", "moved", datetime(2026, 3, 10, 18, 0, tzinfo=UTC), ""),
        ),
    )
    moved = Occurrence(
        "2026-03-09T19:00",
        datetime(2026, 3, 10, 18, 0, tzinfo=UTC),
        datetime(2026, 3, 9, 19, 0, tzinfo=UTC),
        "",
    )
    assert (
        view.first_in(datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC)) == moved
    )
    assert view.next_occurrence(datetime(2026, 3, 11, tzinfo=UTC)) == Occurrence(
        "2026-03-16T19:00", datetime(2026, 3, 16, 19, 0, tzinfo=UTC)
    )


def _strptime_or_error(text: str) -> datetime | str:
    try:
        return datetime.strptime(text, recurrence.LOCAL_FORMAT)
    except ValueError:
        return "ValueError"


def _from_key_or_error(text: str) -> datetime | str:
    try:
        return recurrence.from_key(text)
    except ValueError:
        return "ValueError"


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)))
def test_an_occurrence_key_reads_back_as_its_wall_time(moment: datetime) -> None:
    naive = moment.replace(second=0, microsecond=0)
    assert recurrence.from_key(recurrence.local_key(naive)) == naive


KEYISH = st.text(alphabet="0123456789-:T+WZ. ", max_size=22)


@settings(max_examples=500, deadline=None)
@given(
    text=st.one_of(
        KEYISH,
        st.datetimes().map(lambda d: d.isoformat()),
        st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
        st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
        st.datetimes().map(lambda d: f"{d.year}-{d.month}-{d.day}T{d.hour}:{d.minute}"),
    )
)
def test_reading_a_key_accepts_and_refuses_what_it_always_did(text: str) -> None:
    """Any text, a stored key or not, reads as `strptime` with the key format reads it."""
    assert _from_key_or_error(text) == _strptime_or_error(text)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), view=views())
def test_a_meeting_with_no_date_to_come_says_when_it_last_took_place(
    data: st.DataObject, view: MeetingView
) -> None:
    """`meeting info` of a meeting that is over (a one-off, a series that ran out, all its
    dates cancelled) never shows it as coming: it names the last date that took place, says
    it is under way while it is, or that no date is coming."""
    for _ in range(3):
        now = view.first_start + timedelta(hours=data.draw(st.integers(-48, 24 * 500)))
        nxt = view.next_occurrence(now)
        last = view.last_started(now)
        past = view.occurrences(view.first_start - timedelta(days=10), now)
        shown = render_parts(
            render.info(
                view, "Standard", nxt, "#c", "River", None, NO_REMINDER, False, last, now
            ).text,
            lambda w: f"<{w.at.isoformat()}>",
        )
        if nxt is not None:
            assert f"Next: <{nxt.start.isoformat()}>" in shown
            continue
        assert "Next:" not in shown
        assert last == (past[-1] if past else None)
        if view.cancelled:
            assert "This series is cancelled." in shown
        elif not past:
            assert "No date is coming up." in shown
        elif past[-1].start + view.duration > now:
            assert f"Happening now: it began <{past[-1].start.isoformat()}>." in shown
        else:
            said = "This meeting is over" if not view.rrule else "This series is over"
            assert said in shown and f"took place on <{past[-1].start.isoformat()}>." in shown
