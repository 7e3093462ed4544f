"""An unnamed word that reads as a date, time, length of time or person goes to the option
whose type it fits, never silently into a free-text option.

`!meeting edit Circle "2026-12-01 20:00"` renamed the meeting to the date and left its time
as it was: the words after the meeting were bound to the options in order, and the first
optional option after it is the title. Now such a word passes over optional options that do
not take it to the next one that does (`start`); where none is left, the member is asked
("did you mean `start:…`?") and nothing changes. The property runs over every registered
command with an optional free-text option, with lines of generated words.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import VirtualClock
from bot.core.commands import CommandSpec, Option, OptionType
from bot.core.convert import Misread, bind_text, free_text, reads_as, takes
from bot.core.errors import ArgumentError
from bot.core.permissions import Tier
from tests.harness.app import AppFactory
from tests.harness.meetings import cog

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday

# --- words that read as something ---------------------------------------------------------

DAYS = st.dates(datetime(2026, 12, 1).date(), datetime(2028, 12, 31).date())
DATE = st.one_of(
    DAYS.map(lambda d: d.isoformat()),
    DAYS.map(lambda d: f"{d.day}.{d.month}."),
    DAYS.map(lambda d: f"{d.day}/{d.month}"),
    st.sampled_from(["tomorrow", "today", "tonight"]),
)
TIME = st.one_of(
    st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59)),
    st.builds(lambda h, ap: f"{h}{ap}", st.integers(1, 12), st.sampled_from(["am", "pm"])),
    st.sampled_from(["noon", "midnight", "19h30"]),
)
DURATION = st.one_of(
    st.builds(lambda m: f"{m}m", st.integers(1, 600)),
    st.builds(lambda h, m: f"{h}h{m}m", st.integers(1, 9), st.integers(1, 59)),
    st.builds(lambda h: f"{h}h", st.integers(1, 9)),
)
PERSON = st.sampled_from(["@bob", "@ana:example.org", "<@1234567>"])
# a date and a time typed as one word (quoted) or as two
MOMENT = st.one_of(
    st.builds(lambda d, t: f'"{d} {t}"', DATE, TIME),
    st.builds(lambda d, t: f"{d} {t}", DAYS.map(lambda d: d.isoformat()), TIME),
    st.builds(lambda t: f"next tue {t}", TIME),
)
TYPED = st.one_of(DATE, TIME, DURATION, PERSON, MOMENT)
PLAIN = st.sampled_from(["Friends", "weekly", "Zoom", "Europe/Berlin", "quiet", "15"])
WORDS = st.lists(st.one_of(TYPED, TYPED, PLAIN), min_size=1, max_size=3)


def filler(option: Option) -> str:
    """A word that fits a required option, so the words after it fall to the optional ones."""
    if option.names:
        return "Circle"
    if option.shape is not None:
        return next(
            w for w in ("next", "2026-12-08", "all", "15m", "x") if takes(option, w) or w == "x"
        )
    if option.moment:
        return '"2026-12-08 19:00"'
    return {
        OptionType.DURATION: "60m",
        OptionType.INTEGER: "3",
        OptionType.NUMBER: "3",
        OptionType.BOOLEAN: "yes",
        OptionType.USER: "@ana",
        OptionType.CHANNEL: "#general",
        OptionType.CHOICE: option.choices[0].value if option.choices else "x",
    }.get(option.type, "Circle")


def checked(spec: CommandSpec, words: list[str]) -> None:
    """Bind the line; a free-text option the unnamed words filled never holds a value that
    reads as something another option of the command takes, and a word that reads as
    something and was taken whole sits in an option of its kind (or one that is no free
    text). A refusal (`ArgumentError`) changes nothing, so it always passes."""
    fillers = [
        filler(o) for o in spec.options if o.required and o.type is not OptionType.ATTACHMENT
    ]
    line = " ".join([*fillers, *words])
    known = {o.name: ["Circle"] for o in spec.options if o.names or o.known_only}
    filled: list[str] = []
    try:
        values = bind_text(spec, line, known, filled)
    except ArgumentError:
        return
    by_name = {o.name: o for o in spec.options}
    for name in filled:
        option, value = by_name[name], values[name]
        if option.required or not free_text(option) or not reads_as(value):
            continue
        others = [o.name for o in spec.options if o is not option and takes(o, value)]
        assert not others, f"{spec.name}: {line!r} put {value!r} in `{name}`, not {others}"


async def test_no_free_text_option_receives_an_unnamed_date_time_length_or_person(
    app_factory: AppFactory,
) -> None:
    app, _fake = await app_factory.on_platform()
    specs = [
        s
        for s in app.registry.specs
        if any(free_text(o) and not o.required for o in s.options)
        and any(not free_text(o) for o in s.options if not o.required)
    ]
    # the commands of the fault, and others with optional text and typed options
    assert {"meeting edit", "meeting schedule", "journal list"} <= {s.name for s in specs}
    several = [s for s in specs if sum(free_text(o) and not o.required for o in s.options) > 1]
    assert {"meeting edit", "meeting schedule"} <= {s.name for s in several}

    @PROPERTY
    @given(spec=st.sampled_from(specs), words=WORDS)
    def prop(spec: CommandSpec, words: list[str]) -> None:
        checked(spec, words)

    prop()


async def test_a_typed_word_after_the_meeting_fills_the_edit_option_of_its_kind(
    app_factory: AppFactory,
) -> None:
    app, _fake = await app_factory.on_platform(["general", "meetings"])
    edit = next(s for s in app.registry.specs if s.name == "meeting edit")

    @PROPERTY
    @given(typed=st.one_of(MOMENT, TIME, DURATION, PERSON))
    def prop(typed: str) -> None:
        value = typed.strip('"')
        kinds = reads_as(value)
        if len(kinds) > 1:  # `2h`: two hours or 02:00, asked (see the test below)
            with pytest.raises(Misread):
                bind_text(edit, f"Circle {typed}", {"meeting": ["Circle"]})
            return
        values = bind_text(edit, f"Circle {typed}", {"meeting": ["Circle"]})
        expected = (
            "start"
            if "moment" in kinds
            else "duration"
            if "duration" in kinds
            else "add_facilitator"
        )
        assert values == {"meeting": "Circle", expected: value}

    prop()


@pytest.mark.parametrize(
    ("line", "bound"),
    [
        ('Circle "2026-12-01 20:00"', {"start": "2026-12-01 20:00"}),
        ("Circle 2026-12-01 20:00", {"start": "2026-12-01 20:00"}),
        ("Circle tue 19:30", {"start": "tue 19:30"}),
        ("Circle 90m", {"duration": "90m"}),
        ("Circle Friends 90m", {"title": "Friends", "duration": "90m"}),
        (
            "Circle Friends 2026-12-01 20:00 90m",
            {"title": "Friends", "start": "2026-12-01 20:00", "duration": "90m"},
        ),
        ("Circle @bob", {"add_facilitator": "@bob"}),
    ],
)
async def test_the_words_of_meeting_edit_fill_the_options_they_fit(
    app_factory: AppFactory, line: str, bound: dict[str, str]
) -> None:
    app, _fake = await app_factory.on_platform(["general", "meetings"])
    edit = next(s for s in app.registry.specs if s.name == "meeting edit")
    assert bind_text(edit, line, {"meeting": ["Circle"]}) == {"meeting": "Circle", **bound}


async def test_a_time_that_fits_only_the_title_is_asked_about(app_factory: AppFactory) -> None:
    app, _fake = await app_factory.on_platform()
    edit = next(s for s in app.registry.specs if s.name == "meeting edit")
    with pytest.raises(Misread) as asked:
        bind_text(edit, 'Circle start:"2026-12-01 20:00" 20:30', {"meeting": ["Circle"]})
    assert "Did you mean `start:" in asked.value.message
    # a date there is the last date's (`until` takes dates), never the title's
    values = bind_text(edit, 'Circle start:"2026-12-01 20:00" 2027-06-30', {"meeting": ["Circle"]})
    assert values["until"] == "2027-06-30" and "title" not in values
    assert '`title:"20:30"`' in asked.value.message  # how to mean it as the name
    # a free-text command with no option for dates keeps its words as they are
    crisis = next(s for s in app.registry.specs if s.name == "crisis now")
    assert bind_text(crisis, "tomorrow") == {"words": "tomorrow"}


async def test_meeting_edit_with_a_date_moves_the_meeting_and_keeps_its_name(
    app_factory: AppFactory,
) -> None:
    """The fault as found: the channel read `Updated 2026-12-01 20:00 (#1)` at the old time."""
    app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"ana": Tier.FACILITATOR}
    )
    await fake.say(
        "ana", '!meeting schedule "Circle" "2026-12-01 19:00" 60m repeat:"weekly on tue"'
    )
    said = await fake.say("ana", '!meeting edit Circle "2026-12-01 20:00"')
    public = "\n".join(s.text for s in said if s.where == "channel")
    assert public.startswith("Updated **Circle** (#1)"), public
    assert "Next: 2026-12-01T20:00:00+00:00" in public
    view = await cog(app).service.find(1, "Circle")
    assert view is not None and view.title == "Circle"
    assert view.start_local == datetime(2026, 12, 1, 20, 0)
    # a time beside a named start: asked, nothing changed
    said = await fake.say("ana", '!meeting edit Circle start:"2026-12-08 20:00" 21:00')
    assert [s.where for s in said] == ["ephemeral"], said
    assert "Did you mean `start:" in said[0].text
    after = await cog(app).service.find(1, "Circle")
    assert after is not None and (after.title, after.start_local) == (
        "Circle",
        datetime(2026, 12, 1, 20, 0),
    )
    assert app.clock.now() - START < timedelta(minutes=1)


async def test_a_word_of_two_readings_is_asked_about_not_given_to_the_first_option(
    app_factory: AppFactory,
) -> None:
    """`!meeting edit Circle 2h` (the length, two hours) moved a weekly series to 02:00: `2h`
    reads as a length of time and as a time of day, and `start` comes before `duration`.
    Such a word, where optional options of both kinds could take it, is asked about on
    every command that has both, whatever other words come before it."""
    app, _fake = await app_factory.on_platform()

    def both(spec: CommandSpec) -> bool:
        """Whether optional options of the command take `2h` as a moment and as a length."""
        optional = [o for o in spec.options if not o.required]
        return any(takes(o, "2h") and o.moment for o in optional) and any(
            takes(o, "2h") and o.type is OptionType.DURATION for o in optional
        )

    specs = [s for s in app.registry.specs if both(s)]
    assert "meeting edit" in {s.name for s in specs}

    @PROPERTY
    @given(
        spec=st.sampled_from(specs),
        hours=st.integers(1, 99),
        before=st.lists(PLAIN, max_size=2),
    )
    def prop(spec: CommandSpec, hours: int, before: list[str]) -> None:
        word = f"{hours}h"
        assert reads_as(word) == {"moment", "duration"}
        fillers = [
            filler(o) for o in spec.options if o.required and o.type is not OptionType.ATTACHMENT
        ]
        line = " ".join([*fillers, *before, word])
        known = {o.name: ["Circle"] for o in spec.options if o.names or o.known_only}
        filled: list[str] = []
        try:
            values = bind_text(spec, line, known, filled)
        except ArgumentError:
            return
        by_name = {o.name: o for o in spec.options}
        chosen = [n for n in filled if values[n] == word and not by_name[n].required]
        # an option of the other kind that took no word was there to take it: not guessed
        empty = [
            o.name
            for o in spec.options
            if not o.required and o.name not in values and takes(o, word)
            for n in chosen
            if (o.type is OptionType.DURATION) != (by_name[n].type is OptionType.DURATION)
        ]
        assert not empty, f"{spec.name}: {line!r} put {word!r} in {chosen}, not {empty}"

    prop()


async def test_meeting_edit_with_hours_asks_and_changes_nothing(app_factory: AppFactory) -> None:
    """The fault as found: the channel read `Next: Tue 1 Dec 2026, 02:00 UTC`."""
    app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"ana": Tier.FACILITATOR}
    )
    await fake.say("ana", '!meeting schedule Circle "2026-12-01 19:00" 60m weekly')
    said = await fake.say("ana", "!meeting edit Circle 2h")
    assert [s.where for s in said] == ["ephemeral"], said
    assert 'start:"2h"' in said[0].text and 'duration:"2h"' in said[0].text
    view = await cog(app).service.find(1, "Circle")
    assert view is not None and view.start_local == datetime(2026, 12, 1, 19, 0)
    # named, each is what it says; a length that is no time of day goes to `duration`
    said = await fake.say("ana", "!meeting edit Circle duration:2h")
    assert said[0].where == "channel", said
    view = await cog(app).service.find(1, "Circle")
    assert view is not None and view.duration_minutes == 120
    said = await fake.say("ana", "!meeting edit Circle 90m")
    assert said[0].where == "channel", said
    view = await cog(app).service.find(1, "Circle")
    assert view is not None and view.start_local == datetime(2026, 12, 1, 19, 0)
