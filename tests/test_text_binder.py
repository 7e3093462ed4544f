"""The text binder reads the quotes every keyboard types, and refuses options it lacks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.commands import CommandSpec, Option, OptionType
from bot.core.context import Context
from bot.core.convert import (
    DOUBLE_QUOTES,
    QUOTES,
    SINGLE_QUOTES,
    AmbiguousWords,
    bind_text,
    name_key,
    tokenize,
)
from bot.core.errors import ArgumentError

# (opening, closing) as phones and keyboards produce them
STYLES = [
    ('"', '"'),
    ("“", "”"),
    ("”", "”"),
    ("„", "“"),
    ("„", "”"),
    ("«", "»"),
    ("»", "«"),
    ("＂", "＂"),
    ("'", "'"),
    ("‘", "’"),
    ("’", "’"),
    ("‚", "‘"),
    ("‹", "›"),
    ("‟", "”"),
    ("‛", "’"),
]


async def _schedule(ctx: Context, title: str, start: str, duration: timedelta) -> None:
    return None


SCHEDULE = CommandSpec(
    path=("meeting", "schedule"),
    description="Plan a meeting",
    options=(
        Option("title", OptionType.STRING, "Title"),
        Option("start", OptionType.STRING, "Start"),
        Option("duration", OptionType.DURATION, "Length"),
        Option("repeat", OptionType.STRING, "Repeat", required=False),
        Option("minutes", OptionType.INTEGER, "Minutes", required=False),
    ),
    callback=_schedule,
)


async def _write(ctx: Context, mood: int, text: str) -> None:
    return None


WRITE = CommandSpec(
    path=("journal", "write"),
    description="Write",
    options=(Option("mood", OptionType.INTEGER, "Mood"), Option("text", OptionType.STRING, "T")),
    callback=_write,
)


def test_the_style_table_covers_every_quote_the_binder_knows() -> None:
    assert {c for pair in STYLES for c in pair} == set(QUOTES)
    assert DOUBLE_QUOTES.isdisjoint(SINGLE_QUOTES)


VALUE = st.text(
    st.characters(categories=("L", "N", "Zs", "P"), exclude_characters="".join(QUOTES)),
    min_size=1,
    max_size=30,
).filter(lambda v: v.strip() == v and v != "" and not v[0].isspace())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STYLES), st.sampled_from(STYLES), VALUE, VALUE)
def test_any_quote_style_holds_a_value_with_spaces(
    first: tuple[str, str], second: tuple[str, str], title: str, start: str
) -> None:
    (o1, c1), (o2, c2) = first, second
    line = f"{o1}{title}{c1} {o2}{start}{c2} 90m"
    assert bind_text(SCHEDULE, line) == {"title": title, "start": start, "duration": "90m"}
    named = f"start:{o2}{start}{c2} {o1}{title}{c1} 90m"
    assert bind_text(SCHEDULE, named) == {"title": title, "start": start, "duration": "90m"}


def test_the_phone_quoted_start_is_one_value() -> None:
    got = bind_text(SCHEDULE, "Circle ”2026-12-02 19:00” 90m")
    assert got == {"title": "Circle", "start": "2026-12-02 19:00", "duration": "90m"}
    got = bind_text(SCHEDULE, "„Abend Runde“ „2026-12-02 19:00“ 1h repeat:„weekly on tue“")
    assert got["title"] == "Abend Runde" and got["repeat"] == "weekly on tue"


def test_an_apostrophe_of_any_style_stays_an_apostrophe() -> None:
    for mark in SINGLE_QUOTES:
        assert tokenize(f"{mark}cause I can")[0].value == f"{mark}cause"
        assert bind_text(WRITE, f"5 don{mark}t stop") == {"mood": "5", "text": f"don{mark}t stop"}


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        (
            'Circle "2026-12-02 19:00" 90m repat:weekly',
            "Unknown option `repat`. Did you mean `repeat`?",
        ),
        ('Circle "2026-12-02 19:00" 90m colour:blue', "Unknown option `colour`. Options: title"),
        ('Circle "2026-12-02 19:00" 90m colour=blue', "Unknown option `colour`"),
    ],
)
def test_an_unknown_option_is_refused_not_glued_on(line: str, needle: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        bind_text(SCHEDULE, line)
    assert needle in caught.value.message


def test_free_text_keeps_its_colons_but_a_near_miss_of_an_option_is_refused() -> None:
    assert bind_text(WRITE, "7 note: today was: hard") == {
        "mood": "7",
        "text": "note: today was: hard",
    }
    assert bind_text(WRITE, "7 see https://example.org") == {
        "mood": "7",
        "text": "see https://example.org",
    }
    with pytest.raises(ArgumentError, match="Did you mean `mood`"):
        bind_text(WRITE, "mod:7 today was hard")


async def _group_write(ctx: Context, group: str | None = None, text: str | None = None) -> None:
    return None


GROUP_WRITE = CommandSpec(
    path=("group", "write"),
    description="Write in a group journal",
    options=(
        Option(
            "group",
            OptionType.STRING,
            "Group",
            required=False,
            autocomplete="complete_group",
            known_only=True,
        ),
        Option("text", OptionType.STRING, "Text", required=False),
    ),
    callback=_group_write,
)

WORD = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=8)


@settings(max_examples=300)
@given(
    words=st.lists(WORD, min_size=1, max_size=6),
    groups=st.lists(st.lists(WORD, min_size=1, max_size=3).map(" ".join), max_size=4),
)
def test_a_leading_word_is_the_group_only_when_it_names_one_of_the_members_groups(
    words: list[str], groups: list[str]
) -> None:
    line = " ".join(words)
    bound = bind_text(GROUP_WRITE, line, {"group": groups})
    keys = {name_key(g) for g in groups}
    named = [n for n in range(len(words), 0, -1) if name_key(" ".join(words[:n])) in keys]
    if not named:  # no group of the member: every word is the entry
        assert bound == {"text": line}
    else:  # the longest run of leading words naming a group, then the entry
        rest = " ".join(words[named[0] :])
        assert bound == {"group": " ".join(words[: named[0]]), **({"text": rest} if rest else {})}


def test_the_first_word_of_an_entry_is_not_taken_for_a_group() -> None:
    known = {"group": ["Tuesdays", "Evening circle"]}
    assert bind_text(GROUP_WRITE, "Week was hard", known) == {"text": "Week was hard"}
    assert bind_text(GROUP_WRITE, "tuesdays Week was hard", known) == {
        "group": "tuesdays",
        "text": "Week was hard",
    }
    assert bind_text(GROUP_WRITE, "evening circle went well", known) == {
        "group": "evening circle",
        "text": "went well",
    }
    assert bind_text(GROUP_WRITE, "group:Week was hard", known) == {
        "group": "Week",
        "text": "was hard",
    }


async def _rsvp(ctx: Context, meeting: str, when: str = "next", reminder: str = "") -> None:
    return None


async def _cancel(ctx: Context, meeting: str, when: str, note: str = "") -> None:
    return None


NAMED = Option("meeting", OptionType.STRING, "Meeting", autocomplete="complete", names="titles")
WHEN = r"next|all|series|\d{4}-\d{1,2}-\d{1,2}"  # what the meetings cog's `when` is typed as
REMINDER = r"(?!(?:next|all|series)\b)(?!.*\d{4}-\d{1,2}-\d{1,2}).+"  # and its `reminder`
RSVP = CommandSpec(
    path=("meeting", "rsvp"),
    description="RSVP",
    options=(
        NAMED,
        Option("when", OptionType.STRING, "When", required=False, shape=WHEN),
        # as the meetings cog's: never a date (a date there is `when`'s, and would be asked)
        Option("reminder", OptionType.STRING, "Reminder", required=False, shape=REMINDER),
    ),
    callback=_rsvp,
)
CANCEL = CommandSpec(
    path=("meeting", "cancel"),
    description="Cancel",
    options=(
        NAMED,
        Option("when", OptionType.STRING, "When", shape=WHEN),
        Option("note", OptionType.STRING, "Note", required=False),
    ),
    callback=_cancel,
)
TITLE_WORD = st.text(alphabet=st.characters(categories=("L",)), min_size=1, max_size=8)
TITLES = st.lists(
    st.lists(TITLE_WORD, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=5
)
# what follows a meeting in these commands: dates, durations, numbers (never a title's word)
ARGUMENT = st.sampled_from(["2026-12-08", "1h", "30m", "2027-01-05", "15"])
# a meeting's date, then a reminder: each may be left out (a length of time, unnamed, is the
# reminder's even where `when` comes first: it is no date)
WHEN_WORD = st.sampled_from(["2026-12-08", "2027-01-05", "next"])
REMINDER_WORD = st.sampled_from(["1h", "30m", "15"])
REST = st.tuples(st.none() | WHEN_WORD, st.none() | REMINDER_WORD).map(
    lambda pair: [w for w in pair if w is not None]
)


@settings(max_examples=300)
@given(titles=TITLES, pick=st.integers(0, 4), rest=REST)
def test_an_unquoted_title_of_several_words_is_one_meeting_before_the_other_values(
    titles: list[str], pick: int, rest: list[str]
) -> None:
    title = titles[pick % len(titles)]
    swapped = title.swapcase()  # typed in another case, where that is the same name
    typed = swapped if pick % 2 and name_key(swapped) == name_key(title) else title
    line = " ".join([typed, *rest])
    bound = bind_text(RSVP, line, {"meeting": titles})
    assert name_key(bound["meeting"]) == name_key(title)
    assert [bound[o] for o in ("when", "reminder") if o in bound] == rest
    if rest:  # a required value after the title still gets its word
        bound = bind_text(CANCEL, " ".join([title, *rest]), {"meeting": titles})
        assert (name_key(bound["meeting"]), bound["when"]) == (name_key(title), rest[0])
    else:  # the title alone: the meeting is read whole and `when` is named as missing
        bound = bind_text(CANCEL, title, {"meeting": titles})
        assert "when" not in bound
        if len(title.split()) > 1 and name_key(title):
            assert name_key(bound["meeting"]) == name_key(title)


@settings(max_examples=300)
@given(titles=TITLES, pick=st.integers(0, 4), cut=st.integers(2, 4), when=ARGUMENT)
def test_the_first_words_of_just_one_title_are_that_meeting(
    titles: list[str], pick: int, cut: int, when: str
) -> None:
    words = titles[pick % len(titles)].split()[:cut]
    typed = [name_key(w) for w in words]
    starts = {
        tuple(name_key(w) for w in t.split())
        for t in titles
        if [name_key(w) for w in t.split()][: len(words)] == typed
    }
    bound = bind_text(RSVP, " ".join([*words, when]), {"meeting": titles})
    slot = "reminder" if when in ("1h", "30m") else "when"  # a length of time is no date
    if len(words) > 1 and len(starts) == 1:
        assert bound == {"meeting": " ".join(words), slot: when}


def test_words_after_a_title_that_are_no_title_stay_their_own_options() -> None:
    titles = ["Circle", "Circle of friends", "Monday", "Monday next"]
    known = {"meeting": titles}
    assert bind_text(RSVP, "Circle of friends 2026-12-08 1h", known) == {
        "meeting": "Circle of friends",
        "when": "2026-12-08",
        "reminder": "1h",
    }
    assert bind_text(RSVP, "#3 next", known) == {"meeting": "#3", "when": "next"}
    assert bind_text(CANCEL, "Monday all", known) == {"meeting": "Monday", "when": "all"}
    # `Monday`'s next meeting with the note "all", or all of `Monday next`: asked, not guessed
    with pytest.raises(AmbiguousWords) as asked:
        bind_text(CANCEL, "Monday next all", known)
    assert [r.name for r in asked.value.readings] == ["Monday", "Monday next"]
    assert bind_text(CANCEL, "Monday next sorry all", known) == {
        "meeting": "Monday",
        "when": "next",
        "note": "sorry all",
    }  # `sorry` is no date, so only one reading is whole
    assert bind_text(CANCEL, "Circle of friends", known) == {"meeting": "Circle of friends"}
    assert bind_text(RSVP, '"Circle" of friends', known)["meeting"] == "Circle"
    assert bind_text(RSVP, "Circle of friends", {})["meeting"] == "Circle"  # no names known
