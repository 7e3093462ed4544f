"""At night, or wherever no listed line is open, the emergency number comes first.

The fault this holds down: a member in a country the directory has no line for (Spain,
Australia) typing `!crisis`, `!sos` or writing "I want to end it tonight" got "I have no lines
for Spain in my directory yet." and the international directory first, and the emergency number
only after them, while a member whose country's lines were all closed got it first: the answer
put the number first only when the country had lines and none was open. And the short answer
within the quiet hour said "The lines I sent are there for you now, day or night." when none of
them was open, or none had been sent.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.i18n import using_language
from cogs.crisis import render
from cogs.crisis.answer import load_answers
from cogs.crisis.cog import CRISIS_DIR, CrisisCog
from tests.harness.app import own_loop
from tests.harness.platform import FakePlatform

START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # a Monday
ANSWERS, _PROBLEMS = load_answers(CRISIS_DIR)
COUNTRIES = sorted(ANSWERS.emergency)
# What a member types (the DM is the last: it starts the quiet hour, so each example's member
# is new).
ASKS = ("!crisis", "!crisis help me", "!sos", "dm:I want to end it tonight")
SAID_FIRST = "No line in"  # when there are lines, all closed: said before the number


def crisis(app: App) -> CrisisCog:
    cog = app.cogs["crisis"]
    assert isinstance(cog, CrisisCog)
    return cog


async def example(
    app: App, fake: FakePlatform, name: str, country: str, minutes: int, ask: str
) -> None:
    clock = app.clock
    assert isinstance(clock, VirtualClock)
    # the clock only goes forward: the next instant at this minute of the week
    now = START + timedelta(minutes=minutes)
    while now < clock.now():
        now += timedelta(weeks=1)
    clock.set(now)
    await fake.say(name, f"!me country {country}")
    if ask.startswith("dm:"):
        said = await fake.say(name, ask[3:], dm=True)
    else:
        said = await fake.say(name, ask)
    assert said and all(s.where in ("ephemeral", "dm") for s in said), said
    answers = ["\n".join(s.text for s in said)]
    if ask.startswith("dm:"):
        # within the quiet hour: the short answer ("I'm still here") holds to the same order
        again = await fake.say(name, "I still want to end it tonight", dm=True)
        assert again and all(s.where == "dm" for s in again), again
        answers.append("\n".join(s.text for s in again))
    with using_language("en"):
        country_name = render.country_name(country)
    emergency = f"Emergency number in {country_name}:"
    entries = await crisis(app).service.directory(None, country)
    open_now = bool(entries) and not render.none_open(entries, now)
    if ask.startswith("dm:"):
        # "there for you now, day or night" only while a line it sent is open now
        english = ANSWERS.text("en")
        said_open, said_closed = english.still_here, english.still_here_closed
        assert (said_open in answers[1]) == open_now, answers[1]
        assert (said_closed in answers[1]) == (not open_now), answers[1]
    for text in answers:
        assert emergency in text, text
        if open_now:
            continue  # a line is open: the lines may come first
        # nothing open or nothing listed: the number before everything else
        lines = text.split("\n")
        assert lines[0].startswith(emergency) or (
            lines[0].startswith(SAID_FIRST) and lines[1].startswith(emergency)
        ), text
        first = text.index(emergency)
        for later in ("\n- ", "I have no lines", "Anywhere in the world", "Lines in", "still"):
            if later in text:
                assert first < text.index(later), (later, text)


def test_with_no_line_open_or_listed_the_emergency_number_comes_first(tmp_path: Path) -> None:
    """Over every country with an emergency number, any minute of a week and each way of
    asking: the answer is private and names the country's emergency number, before any line,
    the "no lines" sentence and the international directory whenever no listed line is open."""
    serial = itertools.count(1)
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "crisis"],
                clock=VirtualClock(START),
                actors={"mod": Tier.MODERATOR},
                fast_typing=True,
            )
        )

        @settings(
            max_examples=60,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )
        @given(
            country=st.sampled_from(COUNTRIES),
            minutes=st.integers(0, 7 * 24 * 60 - 1),
            ask=st.sampled_from(ASKS),
        )
        def check(country: str, minutes: int, ask: str) -> None:
            loop.run_until_complete(example(app, fake, f"m{next(serial)}", country, minutes, ask))

        check()


def test_the_bangladesh_line_is_open_and_closed_by_bangladesh_time(tmp_path: Path) -> None:
    """The shipped Kaan Pete Roi line (15:00-03:00 Bangladesh time, "BST" in its source record:
    Bangladesh Standard Time, UTC+6) is open or closed by that clock, not shown as free text
    ("check with the line"): closed at 08:30 in Dhaka and opening at 15:00, open at 16:00 and
    at 02:30 past midnight; a member in Dhaka at 08:30 gets the emergency number first."""
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(
            factory.on_platform(["general", "crisis"], clock=VirtualClock(START), fast_typing=True)
        )

        async def check() -> None:
            entries = await crisis(app).service.directory(None, "BD")
            line = next(e for e in entries if e.id == "bd-kaan-pete-roi")
            morning = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 08:30 in Dhaka
            found = render.reach(line, morning)
            assert found.state == render.CLOSED
            assert found.opens == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 15:00 in Dhaka
            for instant in (datetime(2026, 12, 1, 10, 0), datetime(2026, 12, 1, 20, 30)):
                assert render.reach(line, instant.replace(tzinfo=UTC)).state == render.OPEN
            clock = app.clock
            assert isinstance(clock, VirtualClock)
            clock.set(morning)
            await fake.say("dhaka", "!me country BD")
            await fake.say("dhaka", "!me timezone Asia/Dhaka")
            said = "\n".join(s.text for s in await fake.say("dhaka", "!crisis"))
            assert "check with the line" not in said, said
            assert "opens" in said and "15:00" in said, said
            assert said.index("999") < said.index("Kaan Pete Roi"), said

        loop.run_until_complete(check())


def test_a_member_in_spain_gets_the_024_line_at_any_hour(tmp_path: Path) -> None:
    """Spain's national line (024, every hour) is in the shipped directory: a member there who
    asks at 03:30 or writes "quiero morir" gets it with the emergency number 112, no longer "I
    have no lines for Spain"."""
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(
            factory.on_platform(["general", "crisis"], clock=VirtualClock(START), fast_typing=True)
        )

        async def check() -> None:
            clock = app.clock
            assert isinstance(clock, VirtualClock)
            clock.set(datetime(2026, 12, 1, 2, 30, tzinfo=UTC))  # 03:30 in Madrid
            await fake.say("ana", "!me country ES")
            await fake.say("ana", "!me timezone Europe/Madrid")
            asked = "\n".join(s.text for s in await fake.say("ana", "!crisis"))
            wrote = await fake.say("ana", "quiero morir", dm=True)
            assert wrote and all(s.where == "dm" for s in wrote), wrote
            for text in (asked, "\n".join(s.text for s in wrote)):
                assert "Línea 024" in text and "024" in text and "112" in text, text
                assert "no lines for Spain" not in text, text

        loop.run_until_complete(check())


def test_a_clock_behind_the_real_date_drops_no_shipped_line(tmp_path: Path) -> None:
    """The shipped lines were checked on real dates: a server whose clock is behind (here a year)
    still lists every one of them, with no line refused as "checked in the future"."""
    with own_loop(tmp_path) as (loop, factory):
        app, _fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "crisis"],
                clock=VirtualClock(datetime(2025, 12, 1, tzinfo=UTC)),
                fast_typing=True,
            )
        )

        async def check() -> None:
            for country, line in (("ES", "es-linea-024"), ("GB", "gb-samaritans")):
                entries = await crisis(app).service.directory(None, country)
                assert line in {e.id for e in entries}, country

        loop.run_until_complete(check())


def test_with_no_country_known_the_short_answer_says_no_line_is_closed(tmp_path: Path) -> None:
    """A member whose country is not known was sent the directory of every country's lines, not
    a country's: the short answer within the quiet hour does not say no line is open."""
    with own_loop(tmp_path) as (loop, factory):
        _app, fake = loop.run_until_complete(
            factory.on_platform(["general", "crisis"], clock=VirtualClock(START), fast_typing=True)
        )

        async def check() -> None:
            english = ANSWERS.text("en")
            await fake.say("nomad", "i want to die please", dm=True)
            again = "\n".join(s.text for s in await fake.say("nomad", "i want to die", dm=True))
            assert english.still_here_closed not in again, again
            assert english.still_here in again, again

        loop.run_until_complete(check())
