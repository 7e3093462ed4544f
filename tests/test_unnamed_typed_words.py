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
from bot.core.convert import (
    Misread,
    _plausible,
    bind_text,
    free_text,
    reads_as,
    takes,
    weighs_known,
)
from bot.core.errors import ArgumentError, NotFound
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
# a length or a time of day: `2h` (two hours or 02:00), `1h30` (1 h 30 min or 01:30), `0h45`,
# `12h05`; `19h30` is a time alone
TWO_READINGS = st.one_of(
    st.builds(lambda h: f"{h}h", st.integers(1, 99)),
    st.builds(
        lambda t, pad, h: f"{t // 60:0{2 if pad else 1}d}{h}{t % 60:02d}",
        st.integers(1, 12 * 60 + 59),  # minutes: a length is longer than zero
        st.booleans(),
        st.sampled_from(["h", "H"]),
    ),
)
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
    # the commands of the fault, and others with optional text and typed options (not
    # `journal list`: its mood filter is the member's own words, `private_text`, not free text)
    assert {"meeting edit", "meeting schedule"} <= {s.name for s in specs}
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
        # `2h`: two hours or 02:00; `noon`: a time or a new name: asked (see the tests below)
        if len(kinds) > 1 or value.isalpha():
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
    @given(spec=st.sampled_from(specs), word=TWO_READINGS, before=st.lists(PLAIN, max_size=2))
    def prop(spec: CommandSpec, word: str, before: list[str]) -> None:
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
        # an option of the other kind (a length, or a moment) that took no word was there to
        # take it: not guessed
        empty = [
            o.name
            for o in spec.options
            if not o.required
            and o.name not in values
            and (o.moment or o.type in (OptionType.DURATION, OptionType.DATETIME))
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


async def test_meeting_edit_with_hours_and_minutes_asks_and_changes_nothing(
    app_factory: AppFactory,
) -> None:
    """The fault as found: `!meeting edit Circle 1h30` (a length of 1 h 30 min) moved the
    weekly series to 01:30. Asked like `2h`, with the length written so it reads as one."""
    app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"ana": Tier.FACILITATOR}
    )
    await fake.say("ana", '!meeting schedule Circle "2026-12-01 19:00" 60m weekly')
    for word in ("1h30", "1h15", "0h45"):
        said = await fake.say("ana", f"!meeting edit Circle {word}")
        assert [s.where for s in said] == ["ephemeral"], said
        assert f'start:"{word}"' in said[0].text and f'duration:"{word}m"' in said[0].text
        view = await cog(app).service.find(1, "Circle")
        assert view is not None
        assert (view.start_local, view.duration_minutes) == (datetime(2026, 12, 1, 19, 0), 60)
    # written as the question says, it is the length; named, `1h30` is one too
    said = await fake.say("ana", '!meeting edit Circle duration:"1h30m"')
    assert said[0].where == "channel", said
    view = await cog(app).service.find(1, "Circle")
    assert view is not None and view.duration_minutes == 90
    await fake.say("ana", "!meeting edit Circle duration:1h15")
    view = await cog(app).service.find(1, "Circle")
    assert view is not None and view.duration_minutes == 75
    assert view.start_local == datetime(2026, 12, 1, 19, 0)


TIME_WORDS = st.sampled_from(["noon", "midday", "midnight", "today", "tomorrow", "tonight"])


async def test_a_word_that_is_a_name_and_a_time_is_asked_about(app_factory: AppFactory) -> None:
    """`!meeting edit Circle Noon` moved the series to 12:00, though `Noon` is as likely the new
    name. A word of letters that reads as a time, typed where a free-text option comes before
    the option of its kind, is asked about on every command: never given to either unasked."""
    app, _fake = await app_factory.on_platform()

    def before_a_moment(spec: CommandSpec) -> bool:
        optional = [o for o in spec.options if not o.required]
        text = next((i for i, o in enumerate(optional) if free_text(o)), None)
        return text is not None and any(o.moment for o in optional[text + 1 :])

    specs = [s for s in app.registry.specs if before_a_moment(s)]
    assert {"meeting edit"} <= {s.name for s in specs}

    @PROPERTY
    @given(spec=st.sampled_from(specs), word=TIME_WORDS, case=st.sampled_from(["lower", "title"]))
    def prop(spec: CommandSpec, word: str, case: str) -> None:
        typed = word.title() if case == "title" else word
        fillers = [
            filler(o) for o in spec.options if o.required and o.type is not OptionType.ATTACHMENT
        ]
        known = {o.name: ["Circle"] for o in spec.options if o.names or o.known_only}
        asked: ArgumentError | None = None
        try:
            values = bind_text(spec, " ".join([*fillers, typed]), known)
        except ArgumentError as exc:
            asked = exc
        if asked is not None:
            assert isinstance(asked, Misread), asked
            assert f':"{typed}"`' in asked.message  # how to write each meaning
            return
        moved = [o.name for o in spec.options if o.moment and values.get(o.name) == typed]
        assert not moved, f"{spec.name}: {typed!r} went to {moved} unasked"

    prop()


# words of a name typed without quotes: plain words that read as nothing
NAME = st.lists(
    st.sampled_from(["Monday", "crew", "Weekly", "Friends", "Evening", "circle", "of", "ours"]),
    min_size=2,
    max_size=3,
)


def text_options(spec: CommandSpec) -> list[Option]:
    """The optional options a name typed in words may be meant for: text (no moment, shape or
    private words) that unnamed words reach, every optional option before it taking a plain
    word too (a person may be a pseudonym): `journal list`'s mood comes after its page."""
    found: list[Option] = []
    for o in spec.options:
        if o.required or o.type is OptionType.ATTACHMENT:
            continue
        if o.type is OptionType.STRING and not (
            o.moment or o.names or o.known_only or o.private_text or o.shape
        ):
            found.append(o)
        elif not _plausible(o, "word"):
            break
    return found


async def test_an_unquoted_name_of_several_words_is_never_split_among_options(
    app_factory: AppFactory,
) -> None:
    """`!group read Monday crew` read `crew` as the page; `!toolbox share 1 Monday crew` read
    `Monday` as the person; `!meeting edit Circle Weekly Friends 20:00` read `Friends` as the
    start. On every command with an optional text option, a name of several words typed last
    without quotes is bound whole to the option it is a known value of (a group's name, from
    the option's autocomplete); a name nothing knows is never cut into a part the option it
    fell to cannot be: the member is asked, told how to quote it, and nothing changes."""
    app, _fake = await app_factory.on_platform()
    specs = [s for s in app.registry.specs if text_options(s)]
    assert {"group read", "toolbox share", "meeting edit"} <= {s.name for s in specs}
    weighed = {s.name for s in specs if any(weighs_known(s, o) for o in text_options(s))}
    assert {"group read", "toolbox share"} <= weighed
    by_spec = {s.name: s for s in specs}

    @PROPERTY
    @given(
        spec=st.sampled_from(specs),
        pick=st.integers(0, 20),
        words=NAME,
        is_known=st.booleans(),
        after=st.sampled_from(["", "20:00"]),
    )
    def prop(spec: CommandSpec, pick: int, words: list[str], is_known: bool, after: str) -> None:
        choices = text_options(spec)
        option = choices[pick % len(choices)]
        name = " ".join(words)
        known: dict[str, list[str]] = {o.name: ["Circle"] for o in spec.options if o.names}
        for o in spec.options:  # what the dispatcher reads from the options' autocomplete
            if weighs_known(spec, o):
                known[o.name] = ["Someone else"]
        known_here = is_known and weighs_known(spec, option) and not after
        if known_here:
            known[option.name] = ["Someone else", name]
        fillers = [
            filler(o) for o in spec.options if o.required and o.type is not OptionType.ATTACHMENT
        ]
        line = " ".join([*fillers, name, after]).strip()
        filled: list[str] = []
        asked: ArgumentError | None = None
        try:
            values = bind_text(spec, line, known, filled)
        except ArgumentError as exc:
            asked = exc
        if asked is not None:  # refused or asked: nothing changes
            assert not isinstance(asked, Misread) or "changed nothing" in asked.message
            return
        if known_here:
            assert values.get(option.name) == name, f"{spec.name}: {line!r} -> {values}"
            return
        # each word of the name sits in an option that could hold it, or in one value whole;
        # after a meeting's title known whole the words are the next options' (which meeting
        # is weighed against the titles known, and a word such as `when` cannot be is refused)
        by_name = {o.name: o for o in by_spec[spec.name].options}
        for at, held in enumerate(filled):
            o, value = by_name[held], values[held]
            if o.required or (at and by_name[filled[at - 1]].names):
                continue
            if value in words or value == name:
                assert _plausible(o, value), f"{spec.name}: {line!r} put {value!r} in {held}"

    prop()


async def test_meeting_schedule_with_a_title_of_two_words_asks_about_the_title(
    app_factory: AppFactory,
) -> None:
    """The question named the wrong option: for `!meeting schedule Weekly Friends 2026-12-08
    20:00 60m` it said `start:"20:00"`, though `Friends` had been taken as the start and what
    was meant is the title `Weekly Friends`. Now it names the title, quoted whole."""
    app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(START), actors={"ana": Tier.FACILITATOR}
    )
    said = await fake.say("ana", "!meeting schedule Weekly Friends 2026-12-08 20:00 60m")
    assert [s.where for s in said] == ["ephemeral"], said
    assert '`title:"Weekly Friends"`' in said[0].text and "changed nothing" in said[0].text
    with pytest.raises(NotFound):  # nothing was scheduled
        await cog(app).service.find(1, "Weekly Friends")
    await fake.say("ana", '!meeting schedule "Weekly Friends" "2026-12-01 19:00" 60m weekly')
    said = await fake.say("ana", "!meeting edit 1 Evening circle 2026-12-08 20:00")
    assert [s.where for s in said] == ["ephemeral"], said
    assert '`title:"Evening circle"`' in said[0].text
    said = await fake.say("ana", "!meeting edit 1 Noon")
    assert [s.where for s in said] == ["ephemeral"], said
    assert '`title:"Noon"`' in said[0].text and '`start:"Noon"`' in said[0].text
    view = await cog(app).service.find(1, "Weekly Friends")
    assert view is not None and view.start_local == datetime(2026, 12, 1, 19, 0)


async def test_values_an_autocomplete_only_samples_are_no_list_of_all_there_are(
    app_factory: AppFactory,
) -> None:
    """An autocomplete shows 25 time zones and countries: a word missing there (`US` after
    `Europe/Berlin`) still binds as before, never asked about as no country."""
    _app, fake = await app_factory.on_platform(actors={"mo": Tier.MODERATOR})
    said = await fake.say("mo", "!setup Europe/Berlin US")
    assert "changed nothing" not in said[0].text, said
    assert "Europe/Berlin" in said[0].text and "US" in said[0].text
