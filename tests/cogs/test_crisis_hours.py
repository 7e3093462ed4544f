"""A line's opening hours as data: what `crisis now` says about open and closed lines.

The property: for any weekly hours, line zone, member zone and instant, a line shown as open
is open at that instant, one shown as closed is closed, the "opens" time it names (on the
member's clock) is the first instant after now at which it is open, and the "open until" time
(or "closes in N minutes") the first instant after now at which it is closed, checked against a
model that reads the wall clock minute by minute. The order is 24/7 first, then open lines by
closing time (latest first), then lines whose hours are not known, then closed lines by next
opening.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.zones import country_zones
from bot.paths import DATA_DIR
from cogs.crisis import directory, render
from cogs.crisis.directory import Contact, Entry
from cogs.crisis.hours import ALWAYS, DAYS, HoursError, _clock_changes, hours_or_none, read_hours
from tests.harness.console import circlebot

# Zones with summer time north and south, half and quarter hours, a 45-minute summer shift
# (Chatham), the date line (Kiritimati, Pago Pago) and none at all.
ZONES = (
    "Europe/Dublin",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/Santiago",
    "Europe/Berlin",
)
COUNTRY_OF = {
    zone: next(
        code
        for code in ("IE", "GB", "US", "CA", "AU", "IN", "NP", "NZ", "KI", "AS", "CL", "DE")
        if zone in country_zones(code)
    )
    for zone in ZONES
}
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2027, 12, 31, tzinfo=UTC)
TRANSITIONS = sorted({t for zone in ZONES for t in _clock_changes(ZoneInfo(zone), START, END)})
Group = tuple[tuple[int, ...], int, int]  # (weekdays, start minute, end minute)


def wall(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hours_text(groups: list[Group], zone: str) -> str:
    parts = [
        ",".join(DAYS[d].title() for d in days) + f" {wall(start)}-{wall(end)}"
        for days, start, end in groups
    ]
    return "; ".join(parts) + f" {zone}"


def model_open(groups: list[Group], zone: str, moment: datetime) -> bool:
    """Whether the line is open at `moment`, read straight off its wall clock."""
    local = moment.astimezone(ZoneInfo(zone))
    day = local.weekday()
    second = local.hour * 3600 + local.minute * 60 + local.second
    for days, start, end in groups:
        if end > start and day in days and start * 60 <= second < end * 60:
            return True
        if end <= start and (
            (day in days and second >= start * 60) or ((day - 1) % 7 in days and second < end * 60)
        ):
            return True
    return False


def model_next_opening(groups: list[Group], zone: str, moment: datetime) -> datetime:
    """The first whole minute after `moment` at which the line is open (every opening in these
    zones falls on a whole minute: wall times and offsets are whole minutes)."""
    at = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while not model_open(groups, zone, at):
        at += timedelta(minutes=1)
        assert at - moment < timedelta(days=9)
    return at


def model_next_closing(groups: list[Group], zone: str, moment: datetime) -> datetime | None:
    """The first whole minute after `moment` at which the line is closed; None when it stays
    open for 8 days (open all week)."""
    at = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while model_open(groups, zone, at):
        at += timedelta(minutes=1)
        if at - moment > timedelta(days=8):
            return None
    return at


minutes = st.integers(0, 1439)
groups = st.lists(
    st.tuples(
        st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True).map(
            lambda d: tuple(sorted(d))
        ),
        minutes,
        st.integers(1, 1440),
    ).filter(lambda g: g[1] != g[2] % 1440 or g[2] == 1440),
    min_size=1,
    max_size=3,
)
instants = st.one_of(
    st.datetimes(START.replace(tzinfo=None), END.replace(tzinfo=None), timezones=st.just(UTC)),
    st.builds(
        lambda t, s: t + timedelta(seconds=s),
        st.sampled_from(TRANSITIONS),
        st.integers(-3 * 3600, 3 * 3600),
    ),
)


def entry_for(n: int, country: str, hours: str) -> Entry:
    return Entry(
        id=f"line-{n}",
        country=country,
        name=f"Line {n}",
        category="mental_health",
        contacts=(Contact("phone", number="+35312345678", languages=("en",), hours=hours),),
    )


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    lines=st.lists(st.tuples(groups, st.sampled_from(ZONES)), min_size=1, max_size=3),
    member_zone=st.sampled_from(ZONES),
    now=instants,
    others=st.lists(st.sampled_from((ALWAYS, "")), max_size=2),
)
# Dublin's clocks jump 01:00 -> 02:00 on 2026-03-29: a line opening Sunday 01:30 opens at the
# jump (01:00 UTC). They go back 02:00 -> 01:00 on 2026-10-25: a line open 00:30-01:30 opens
# again at the change (01:00 UTC), although no opening time is passed.
@example(
    lines=[([((6,), 90, 180)], "Europe/Dublin")],
    member_zone="Europe/Dublin",
    now=datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
    others=[],
)
@example(
    lines=[([((6,), 30, 90)], "Europe/Dublin")],
    member_zone="America/New_York",
    now=datetime(2026, 10, 25, 0, 45, tzinfo=UTC),
    others=[],
)
# A newcomer's case: open 20:00-02:00 Berlin, two minutes before closing, beside a 24/7 line
# and a line added without hours.
@example(
    lines=[([((0, 1, 2, 3, 4, 5, 6), 1200, 120)], "Europe/Berlin")],
    member_zone="Europe/Dublin",
    now=datetime(2026, 11, 30, 0, 58, tzinfo=UTC),
    others=["", ALWAYS],
)
def test_open_and_closed_lines_and_their_next_opening_are_true(
    lines: list[tuple[list[Group], str]], member_zone: str, now: datetime, others: list[str]
) -> None:
    entries = [
        entry_for(n, COUNTRY_OF[zone], hours_text(g, zone)) for n, (g, zone) in enumerate(lines)
    ]
    entries += [entry_for(len(lines) + n, "IE", text) for n, text in enumerate(others)]
    reader = ZoneInfo(member_zone)
    shown = render.reach_order(entries, now)
    keys: list[tuple[int, float]] = []
    for entry, found in shown:
        n = int(entry.id.split("-")[1])
        line = render.entry_line(entry, now=now, zone=reader)
        if n >= len(lines):  # 24/7, or no hours given: never claimed as 24/7
            if others[n - len(lines)] == ALWAYS:
                assert found.state == render.OPEN and "open 24/7" in line
                keys.append((0, float("-inf")))
            else:
                assert found.state == render.UNKNOWN and "open" not in line
                assert "hours not given — check with the line" in line
                keys.append((2, 0.0))
            continue
        g, zone = lines[n]
        if model_open(g, zone, now):
            assert found.state == render.OPEN and "closed now" not in line
            closes = model_next_closing(g, zone, now)
            assert found.closes == closes, (entry.contacts[0].hours, now)
            if closes is None:
                assert "open now" in line
                keys.append((0, float("-inf")))
                continue
            keys.append((1, -closes.timestamp()))
            left = closes - now
            if left <= timedelta(minutes=15):
                minutes_left = max(1, int(left.total_seconds()) // 60)
                assert f"closes in {minutes_left} minute" in line
            else:
                assert f"open until {render.opens_at(closes, reader)}" in line
        else:
            opens = model_next_opening(g, zone, now)
            assert found == render.Reach(render.CLOSED, opens), (entry.contacts[0].hours, now)
            assert f"(closed now, opens {render.opens_at(opens, reader)})" in line
            local = opens.astimezone(reader)
            assert f"{local:%H:%M}" in render.opens_at(opens, reader)
            keys.append((3, opens.timestamp()))
    # 24/7 first, then open lines latest closing first, then unknown hours, then closed lines
    # by next opening
    assert keys == sorted(keys)
    assert render.none_open(entries, now) == (
        ALWAYS not in others and all(not model_open(g, zone, now) for g, zone in lines)
    )


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("24/7", "US"),
        ("Mon-Fri 09:00-17:00; Sat 10:00-14:00", "IE"),
        ("mon–fri 09:00–17:00", "GB"),
        ("Daily 22:00-02:00", "IE"),
        ("Fri-Mon 18:00-24:00", "IE"),
        ("Mon,Wed 09:00-12:00, 13:00-17:00", "IE"),
        ("Mon-Fri 09:00-17:00 America/Chicago", "US"),
        ("Mon–Sat 10:00–20:00 IST", "IN"),
    ],
)
def test_hours_a_moderator_may_type(text: str, country: str) -> None:
    read_hours(text, country)


@pytest.mark.parametrize(
    ("text", "country", "why"),
    [
        ("sometimes", "IE", "does not start with days"),
        ("Mon-Fri 9-5", "IE", "is not opening times like 09:00-17:00"),
        ("Mon-Fri 09:00-09:00", "IE", "opens and closes at the same time"),
        ("Mon-Fri 25:00-26:00", "IE", "is not a time of day"),
        ("Funday 09:00-17:00", "IE", "is not a day"),
        ("Mon-Fri 09:00-17:00", "US", "US has more than one time zone"),
        ("Mon-Fri 09:00-17:00 Europe/Paris", "IE", "is not a time zone of IE"),
        ("Daily 15:00-03:00 BST", "BD", "BST is not a time zone of BD"),
    ],
)
def test_hours_that_are_refused_say_why(text: str, country: str, why: str) -> None:
    with pytest.raises(HoursError, match=why):
        read_hours(text, country)


def test_shipped_free_text_hours_keep_working_and_are_never_open_or_closed() -> None:
    now = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)  # after the newest check
    free_text = []
    for path in sorted((DATA_DIR / "crisis").glob("seed*.toml")):
        result = directory.parse(
            path.read_text(encoding="utf-8"),
            today=now.date(),
            superseded={},
            fmt="toml",
            short_codes=directory.load_short_codes(DATA_DIR / "crisis" / "short-codes.toml"),
        )
        assert result.problems == [], path
        for entry in result.entries:
            if any(hours_or_none(c.hours, entry.country) is None for c in entry.contacts):
                free_text.append(entry)
    assert {e.id for e in free_text} >= {"jp-inochi-no-denwa"}
    for entry in free_text:
        line = render.entry_line(entry, now=now, zone=ZoneInfo("UTC"))
        assert "closed now" not in line and "open now" not in line
        assert "(check with the line)" in line
        assert render.reach(entry, now).state in (render.UNKNOWN, render.OPEN)


REPRODUCER = (
    (
        '!crisis add IE "Day line" "mental health" https://example.com phone:+35312345678 '
        'hours:"Mon-Fri 09:00-17:00"\n'
    )
    + """\
!crisis add IE "Bad hours" "mental health" https://example.com phone:+35312345678 hours:sometimes
!crisis remove ie-samaritans
@ana !me country IE
@ana !crisis now
:tz ana America/New_York
@ana !crisis now
!crisis edit ie-samaritans phone +35312345678
!crisis edit ie-samaritans hours Mon-Fri 09:00-17:00
!crisis edit ie-samaritans hours Mon-Fri 09:00-17:00 confirm:yes
@ana !crisis now
"""
)


def replies(out: str) -> list[str]:
    """Each reply of the console transcript, its continuation lines included."""
    chunks: list[str] = []
    for line in out.splitlines():
        if line.startswith("["):
            chunks.append(line)
        elif chunks:
            chunks[-1] += "\n" + line
    return chunks


def test_the_reported_console_session(tmp_path: Path) -> None:
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "c.sqlite3"),
        "--clock",
        "2026-11-30T23:30:00Z",  # a Monday night in Dublin
        "--files",
        str(tmp_path / "files"),
        stdin=REPRODUCER,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (
        added,
        bad_hours,
        remove,
        _country,
        now_utc,
        _tz,
        now_new_york,
        phone,
        hours_refused,
        hours_confirmed,
        none_open,
    ) = replies(result.stdout)
    assert "Added ie-day-line" in added
    # free-text hours are refused with an example; nothing is saved
    assert "Nothing was saved" in bad_hours
    assert "'sometimes' cannot be read as opening hours" in bad_hours
    assert "Mon-Fri 09:00-17:00; Sat 10:00-14:00" in bad_hours
    assert "Bad hours" not in result.stdout.split(bad_hours)[1]
    # the last 24/7 line is not removed without a confirmation naming the consequence
    assert "last line open 24/7 for Ireland" in remove and "Nothing was changed" in remove
    assert "!crisis remove ie-samaritans confirm:yes" in remove
    # open lines first; the closed one says so and when it opens on the member's clock
    assert now_utc.index("Samaritans Ireland") < now_utc.index("Day line")
    assert "Day line (closed now, opens Tue 09:00 UTC)" in now_utc
    assert "Samaritans Ireland (closed" not in now_utc
    assert "Day line (closed now, opens Tue 04:00 EST)" in now_new_york
    # an edit echoes old -> new, says what was kept, and warns of the same number twice
    assert "phone: 116123 -> +35312345678" in phone
    assert "hours (24/7)" in phone and "were kept" in phone
    assert "ie-day-line in this country lists +35312345678 too" in phone
    assert "last line open 24/7 for Ireland" in hours_refused
    assert "confirm:yes" in hours_refused
    assert "hours: 24/7 -> Mon-Fri 09:00-17:00" in hours_confirmed
    # no line open: said plainly, the emergency number before any line
    first, second = none_open.split("\n")[:2]
    assert first.endswith("No line in Ireland is open right now.")
    assert "Emergency number in Ireland: 112" in second
    assert none_open.index("Emergency number") < none_open.index("Lines in Ireland")
    assert none_open.count("(closed now, opens Tue 04:00 EST)") == 2


ADD = '!crisis add DE "{}" "mental health" https://example.com phone:+49301234{}'
CLOSING_SOON = f"""\
{ADD.format("Night line", "56")} hours:"Mon-Sun 20:00-02:00"
{ADD.format("Day line", "57")} hours:"Mon-Fri 09:00-17:00"
{ADD.format("New line", "58")}
:tz ana Europe/Berlin
@ana !me country DE
@ana !crisis now
"""


@pytest.mark.parametrize(
    ("clock", "first", "then"),
    [
        # two minutes before the night line closes (01:00 UTC): after the 24/7 line, saying so
        (
            "2026-11-30T00:58:00Z",
            "Night line: call 030 123456. open, closes in 2 minutes",
            "Day line (closed now, opens Mon 09:00 CET)",
        ),
        # Monday 09:30 in Berlin: the day line is open until 17:00 there, after the 24/7 line
        (
            "2026-11-30T08:30:00Z",
            "Day line: call 030 123457. open until Mon 17:00 CET",
            "Night line (closed now, opens Mon 20:00 CET)",
        ),
    ],
)
def test_the_reported_closing_times(tmp_path: Path, clock: str, first: str, then: str) -> None:
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "c.sqlite3"),
        "--clock",
        clock,
        "--files",
        str(tmp_path / "files"),
        stdin=CLOSING_SOON,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    now = replies(result.stdout)[-1]
    bullets = [line for line in now.splitlines() if line.startswith("  - ")]
    assert "Telefonseelsorge" in bullets[0] and "open 24/7" in bullets[0]
    assert first in bullets[1]
    # a line added without hours is never claimed as 24/7
    assert "New line: call 030 123458. hours not given — check with the line" in bullets[2]
    assert then in bullets[3]
