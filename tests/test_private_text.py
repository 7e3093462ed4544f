"""Words a member writes for themselves, typed as a command in a shared channel.

A journal entry, feedback, an urge's details (`Option.private_text`): typed as `!journal write
...` in a channel everyone reads, the bot removes the message where it may, still does what
was asked (the entry is saved, the answer is private), and tells the member privately that
the message is gone, or, when it could not remove it, that it is still there and how to remove
it. The words never appear in anything the bot posts in the channel. In a DM nothing changes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.core.commands import CommandSpec, OptionType
from tests.harness.app import AppFactory
from tests.harness.journal import code_in
from tests.harness.platform import FakePlatform, Said
from tests.harness.private_text import WORD, WORDS, line_for, mistyped, private_groups

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Where the line is typed: a channel where the bot may remove messages, one where it may not,
# and the member's DM with the bot.
KINDS = ("channel", "channel without permission", "dm")
REMOVED = "I removed your message from #general"
STILL_THERE = "Your message in #general is still there for others to read"
# The commands whose words are the member's own; a flag taken off one of them fails here.
EXPECTED = {
    "journal write": "text",
    "journal edit": "text",
    "journal feedback": "text",
    "group write": "text",
    "urge log": "details",
    # Searches and filters show what the member wrote or is dealing with; codes are secrets;
    # an answer named as an argument may be the answer itself.
    "journal search": "text",
    "journal list": "mood",
    "group join": "code",
    "worksheet list": "topic",
    "toolbox edit": "answer",
    "mydata erase": "code",
}
# The cogs that keep a member's own words (entries, worksheets and urges, their data); a cog
# with any command declaring private words joins them. Every option of their commands that
# takes words says whether the words are private: `private_text=True` or `False`, never left
# out, so a command added later cannot leave its words in a channel by forgetting.
PRIVATE_COGS = {"journal", "worksheets", "privacy"}


def private_commands(app: App) -> list[CommandSpec]:
    """Every registered command with an option declared `private_text`."""
    return [spec for spec in app.registry.specs if spec.private_options]


def public(said: list[Said]) -> str:
    return "\n".join(s.text for s in said if s.where == "channel")


def private_to(said: list[Said], who: str) -> str:
    return "\n".join(s.text for s in said if s.where != "channel" and s.to == who)


@pytest_asyncio.fixture
async def world(app_factory: AppFactory) -> AsyncIterator[tuple[App, FakePlatform]]:
    """Every cog on the recording platform, with a group journal for ana to write in."""
    app, fake = await app_factory.on_platform()
    await fake.say("ana", "!group create Tuesday")
    yield app, fake


async def test_the_commands_carrying_a_members_own_words_are_declared(
    world: tuple[App, FakePlatform],
) -> None:
    app, _fake = world
    declared = {
        spec.name: ",".join(o.name for o in spec.private_options) for spec in private_commands(app)
    }
    assert declared == EXPECTED
    assert all(spec.private for spec in private_commands(app))


async def test_every_word_option_of_a_private_cog_declares_whether_it_is_private(
    world: tuple[App, FakePlatform],
) -> None:
    """`!journal search relapsed` stayed in #general: its words were never declared, and an
    option that says nothing was read as public. Every registered command is looked at."""
    app, _fake = world
    cogs = PRIVATE_COGS | {spec.cog for spec in private_commands(app)}
    assert cogs <= {spec.cog for spec in app.registry.specs}  # a renamed cog is not skipped
    undeclared = [
        f"{spec.name} {option.name}"
        for spec in app.registry.specs
        if spec.cog in cogs
        for option in spec.options
        if option.type is OptionType.STRING and not option.choices
        if option.private_text is None
    ]
    assert undeclared == []


async def test_a_journal_search_typed_in_a_channel_is_removed(app_factory: AppFactory) -> None:
    _app, fake = await app_factory.on_platform(["general", "journal"])
    await fake.say("ben", "!journal write I relapsed on Friday", dm=True)
    said = await fake.say("ben", "!journal search relapsed")
    assert [t.removed for t in fake.typed] == [True]
    assert "relapsed" not in public(said)
    assert "I relapsed on Friday" in private_to(said, "ben")  # the search still ran
    assert REMOVED in said[-1].text


@PROPERTY
@given(data=st.data())
async def test_private_words_never_stay_or_show_in_a_shared_channel(
    world: tuple[App, FakePlatform], data: st.DataObject
) -> None:
    app, fake = world
    for spec in private_commands(app):
        words = data.draw(WORDS, label=spec.name)
        kind = data.draw(st.sampled_from(KINDS), label="where")
        fake.can_remove = kind != "channel without permission"
        typed_before = len(fake.typed)
        said = await fake.say("ana", line_for(spec, words), dm=kind == "dm")
        shown = public(said)
        told = private_to(said, "ana")
        for word in words.split():
            assert word not in shown, (spec.name, kind, shown)
        typed = fake.typed[typed_before:]
        if kind == "dm":
            assert typed == []
            assert REMOVED not in told and STILL_THERE not in told
        elif kind == "channel":
            assert [t.removed for t in typed] == [True], spec.name
            assert REMOVED in told, (spec.name, told)
        else:
            assert [t.removed for t in typed] == [False], spec.name
            assert STILL_THERE in told and "Delete it yourself" in told, (spec.name, told)
        for note in said:
            if REMOVED in note.text or STILL_THERE in note.text:
                assert not any(word in note.text for word in words.split()), note.text


async def test_an_entry_typed_in_the_channel_is_saved_and_its_message_removed(
    app_factory: AppFactory,
) -> None:
    _app, fake = await app_factory.on_platform(["general", "journal"])
    said = await fake.say("ana", "!journal write I relapsed last night and feel awful")
    assert [t.removed for t in fake.typed] == [True]
    assert all(s.where == "ephemeral" for s in said)
    assert "Saved privately" in said[0].text
    assert REMOVED in said[-1].text
    assert "direct message" in said[-1].text
    read = await fake.say("ana", f"!journal read {code_in(said)}", dm=True)
    assert "I relapsed last night and feel awful" in read[0].text


async def test_without_permission_the_member_learns_the_words_are_still_there(
    app_factory: AppFactory,
) -> None:
    _app, fake = await app_factory.on_platform(["general", "journal"])
    fake.can_remove = False
    said = await fake.say("ana", "!journal write I relapsed last night and feel awful")
    assert [t.removed for t in fake.typed] == [False]
    assert "Saved privately" in said[0].text
    assert STILL_THERE in said[-1].text and "Delete it yourself" in said[-1].text
    assert "relapsed" not in public(said)


@pytest.mark.parametrize(
    "line",
    [
        "!journal list",  # no words of the member's own
        "!journal edit zzzzzz",  # an id only: the dialogue takes the words privately
        "!journal write",  # no text: a DM dialogue takes it
        "!me show",
    ],
)
async def test_commands_without_private_words_leave_the_message_alone(
    app_factory: AppFactory, line: str
) -> None:
    _app, fake = await app_factory.on_platform(["general", "journal"])
    said = await fake.say("ana", line)
    assert [t.removed for t in fake.typed] == [False]
    assert REMOVED not in private_to(said, "ana")


# English words a letter short of a private command's name (`rite`, `writ` for `write`,
# `lo` for `log`): after a loose prefix, shared with chat and other bots, they are chat.
ENGLISH_NEAR_NAMES = ("rite", "writ", "lo")
# Punctuation typed between a command's name and the member's first word, with no space.
GLUE_MARKS = (":", ",", ";", ".", "：")


@settings(PROPERTY, max_examples=10)
@given(data=st.data())
async def test_a_mistyped_command_never_leaves_a_members_words_unnoticed(
    world: tuple[App, FakePlatform], data: st.DataObject
) -> None:
    app, fake = world
    for spec in private_commands(app):
        words = data.draw(WORDS, label=spec.name)
        kind = data.draw(st.sampled_from(KINDS), label="where")
        at = data.draw(st.sampled_from(range(len(spec.path))), label="which word")
        how = data.draw(st.sampled_from(("short", "swapped", "colon")), label="how")
        # in a channel, after a loose prefix too (full width, or a space after it)
        prefix = "!" if kind == "dm" else data.draw(st.sampled_from(("!", "！", "! ")))
        path = list(spec.path)
        path[at] = mistyped(path[at], how)
        line = prefix + " ".join(path) + line_for(spec, words).removeprefix("!" + spec.name)
        fake.can_remove = kind != "channel without permission"
        typed_before = len(fake.typed)
        said = await fake.say("ana", line, dm=kind == "dm")
        shown, told = public(said), private_to(said, "ana")
        for word in words.split():
            assert word not in shown, (line, kind, shown)
        if prefix != "!" and path[at] in ENGLISH_NEAR_NAMES:  # chat: `! journal writ ...`
            assert not any(t.removed for t in fake.typed[typed_before:]), line
            assert REMOVED not in told and STILL_THERE not in told, (line, told)
            continue
        assert "Did you mean" in told, (line, told)
        typed = fake.typed[typed_before:]
        if kind == "dm":
            assert typed == [] and REMOVED not in told, line
        elif kind == "channel":
            assert [t.removed for t in typed] == [True] and REMOVED in told, (line, told)
        else:
            assert [t.removed for t in typed] == [False], line
            assert STILL_THERE in told and "Delete it yourself" in told, (line, told)


@pytest.mark.parametrize(
    "line",
    [
        "!jurnal list",
        "!me shwo",
    ],
)
async def test_other_typos_leave_the_message_alone(app_factory: AppFactory, line: str) -> None:
    _app, fake = await app_factory.on_platform(["general", "journal"])
    said = await fake.say("ana", line)
    assert [t.removed for t in fake.typed] == [False]
    told = private_to(said, "ana")
    assert "Did you mean" in told and REMOVED not in told, told


# Ordinary English words a member may write after a group's name: longer words that start
# with a command's name, and words one letter from it; none is a typo of a name.
CHAT_WORDS = (
    "writing", "writes", "written", "writer", "wrote", "worked", "works", "wrist", "white",
    "log-in", "logic", "logged", "logging", "login", "logs", "lot", "leg", "edited", "editor",
    "editing", "edits", "feedbacks", "lists", "searching", "urges", "urged", "groups",
    "grouped", "journals", "journaling", "night", "really", "helps", "honestly", "tonight",
    *ENGLISH_NEAR_NAMES, "rites", "writs", "of", "passage", "large",
)  # fmt: skip
CHAT_HEADS = ("journal", "Journal", "group", "Group", "urge", "Urge", "journaling", "urges")
CHAT_TAIL = st.lists(st.sampled_from(CHAT_WORDS), min_size=0, max_size=8).map(" ".join)


@settings(PROPERTY, max_examples=40)
@given(
    prefix=st.sampled_from(("! ", "！", "！ ", "!  ")),
    head=st.sampled_from(CHAT_HEADS),
    between=st.sampled_from((" ", *GLUE_MARKS, *(f"{mark} " for mark in GLUE_MARKS))),
    word=st.sampled_from(CHAT_WORDS),
    tail=CHAT_TAIL,
)
@example(prefix="! ", head="journal", between=" ", word="rite", tail="of passage")
async def test_ordinary_chat_after_a_loose_prefix_is_never_removed(
    world: tuple[App, FakePlatform], prefix: str, head: str, between: str, word: str, tail: str
) -> None:
    """`! Journal writing really helps me`, `! journal: rite of passage` are chat (other
    bots and people share a loose prefix): they were removed and answered "Did you mean
    `!journal write`?"."""
    _app, fake = world
    line = f"{prefix}{head}{between}{word} {tail}".rstrip()
    said = await fake.say("ana", line)
    assert not fake.typed[-1].removed, (line, said)
    assert REMOVED not in private_to(said, "ana"), line


@settings(PROPERTY, max_examples=15)
@given(data=st.data())
async def test_a_private_command_with_its_names_run_together_is_removed(
    world: tuple[App, FakePlatform], data: st.DataObject
) -> None:
    """`!journalwrite ...`, `! journal-write ...`, `！groupwrite Tuesday ...`: the names run
    together left the member's words in the channel and said nothing to them."""
    app, fake = world
    for spec in private_commands(app):
        words = data.draw(WORDS, label=spec.name)
        prefix = data.draw(st.sampled_from(("!", "！", "! ")), label="prefix")
        glue = data.draw(st.sampled_from(("", "-", "_")), label="glue")
        named = glue.join(spec.path)
        line = prefix + named + line_for(spec, words).removeprefix("!" + spec.name)
        said = await fake.say("ana", line)
        told = private_to(said, "ana")
        assert fake.typed[-1].removed and REMOVED in told, (line, told)
        assert f"Did you mean `!{spec.name}`?" in told, (line, told)
        for word in words.split():
            assert word not in public(said) and word not in told, (line, said)


@settings(PROPERTY, max_examples=15)
@given(data=st.data())
async def test_words_glued_to_a_private_command_by_punctuation_are_removed(
    world: tuple[App, FakePlatform], data: st.DataObject
) -> None:
    """`!journal write:I relapsed`, `!journalwrite,I ...`, `! journal wrte;I ...`: with no space
    after the mark the words stayed in the channel, and `!journal write:I` even got "`!journal
    write:i` is not a command", quoting the member's first word."""
    app, fake = world
    for spec in private_commands(app):
        words = data.draw(WORDS, label=spec.name)
        prefix = data.draw(st.sampled_from(("!", "！", "! ")), label="prefix")
        glue = data.draw(st.sampled_from((" ", "", "-")), label="glue")
        mark = data.draw(st.sampled_from(GLUE_MARKS), label="mark")
        how = data.draw(st.sampled_from(("as is", "short", "swapped")), label="how")
        path = list(spec.path)
        typo = mistyped(path[-1], how)
        if how != "as is" and glue == " " and typo not in ENGLISH_NEAR_NAMES:
            path[-1] = typo
        rest = line_for(spec, words).removeprefix("!" + spec.name).lstrip()
        line = prefix + glue.join(path) + mark + rest
        said = await fake.say("ana", line)
        told = private_to(said, "ana")
        assert fake.typed[-1].removed and REMOVED in told, (line, said)
        assert f"Did you mean `!{spec.name}`?" in told, (line, told)
        for word in words.split():
            assert word not in public(said) and word not in told, (line, said)


@settings(PROPERTY, max_examples=10)
@given(data=st.data())
async def test_unknown_words_after_a_private_group_never_stay_in_the_channel(
    world: tuple[App, FakePlatform], data: st.DataObject
) -> None:
    """`!journal find relapsed`, `!journal relapsed last night`: words after the name of a
    group that keeps members' own words, naming none of its commands, may be the member's
    own; they go and the member is told privately, with the group's commands."""
    app, fake = world
    cogs = {spec.cog for spec in private_commands(app)}
    groups = private_groups(app.registry.specs, cogs)
    assert {"journal", "group", "urge", "toolbox", "mydata"} <= set(groups)
    known = {w for spec in app.registry.specs for p in (spec.path, *spec.aliases) for w in p}
    lines = [
        "!journal find relapsed",
        "!journal lookup relapsed",
        "!journal note I relapsed",
        "!journal relapsed last night",
    ]
    for group in groups:
        sub = data.draw(WORD.filter(lambda w: w not in known), label=group)
        tail = data.draw(st.one_of(st.just(""), WORDS), label="after")
        lines.append(f"!{group} {sub} {tail}".strip())
    fake.can_remove = True
    for line in lines:
        typed_before = len(fake.typed)
        said = await fake.say("ana", line)
        shown, told = public(said), private_to(said, "ana")
        assert [t.removed for t in fake.typed[typed_before:]] == [True], line
        for word in line.split()[1:]:
            assert word not in shown, (line, shown)
        assert REMOVED in told and "is not a command" in told, (line, told)


async def test_unknown_words_naming_no_group_are_left_to_other_bots(
    app_factory: AppFactory,
) -> None:
    """`!search relapsed` names no command of any group: another bot may own `!search`."""
    _app, fake = await app_factory.on_platform(["general", "journal"])
    said = await fake.say("ben", "!search relapsed")
    assert [t.removed for t in fake.typed] == [False]
    assert said == []
