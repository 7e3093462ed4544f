"""Bad input, property-based: every command of every cog gets hostile arguments (issue 11).

Whatever a member types or a platform hands over (mention tokens, markdown, bidi overrides,
combining marks, NUL, lone surrogates, texts around every platform limit, times in a DST gap,
29 February, unknown zones, forged and replayed buttons), each command ends in a reply (a clear
one when the input is wrong), never a traceback or the error-id apology, never a ping, never a
payload Discord or Matrix would refuse, and the database stays readable.

One app per test function; state piles up across examples as it would in a real community.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import discord
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.discord import render as discord_render
from bot.adapters.matrix.render import text_content, when_renderer
from bot.app import App
from bot.clock import VirtualClock
from bot.core.commands import CommandSpec, Option
from bot.core.dialogue import AnswerKind
from bot.core.identity import Actor
from bot.core.message import Message, render_parts
from bot.core.permissions import Tier
from bot.safety import clean
from tests.harness.app import AppFactory
from tests.harness.platform import CHANNEL, FakePlatform, Said

CI = os.environ.get("CI") == "true"
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=CI,  # the same examples on every CI run; locally, new ones each time
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app per test function, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
PEOPLE = ("mod", "ana")  # a moderator sees every code path; a member meets the tier checks
MATRIX_EVENT_MAX = 65_536  # bytes of a whole event; content must leave room for the envelope
MATRIX_CONTENT_MAX = 60_000

# What a member must never see, and what must never leave the bot.
APOLOGY = re.compile(r"went wrong on my side|error id", re.IGNORECASE)
INTERNALS = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception)\b|File \"")
PING = re.compile(r"[@＠](?:everyone|here|room)|<@[!&]?\d+>", re.IGNORECASE)
UNSENDABLE = re.compile("[\x00\ud800-\udfff]")

# ---------------------------------------------------------------------------------------------
# Hostile values

SNOWFLAKE = st.integers(0, 2**64).map(str)
MENTIONS = st.one_of(
    st.sampled_from(
        [
            "@everyone",
            "@here",
            "@room",
            "@channel",
            "@EVERYONE",
            "@everyones",
            "＠everyone",
            "＠here",
            "@\u200deveryone",
            "@every\u200done",
            "<@\u200d123456789012345678>",
            "<\u200d@123>",
            "@@everyone",
        ]
    ),
    SNOWFLAKE.map(lambda i: f"<@{i}>"),
    SNOWFLAKE.map(lambda i: f"<@!{i}>"),
    SNOWFLAKE.map(lambda i: f"<@&{i}>"),
)
MARKDOWN = st.sampled_from(
    [
        "```\ncode\n```",
        "```py\n@everyone\n```",
        "```",
        "**",
        "`",
        "~~x~~",
        "||spoiler||",
        "> quote",
        "# heading",
        "[x](https://example.org/@everyone)",
        "\\",
        "*_*_",
        "- bullet\n- bullet",
        "<t:1700000000:F>",
        "<#123456789012345678>",
    ]
)
BIDI = st.sampled_from(["\u202e", "\u202d", "\u2066", "\u2067", "\u200f", "\u202eevil\u202c"])
COMBINING = st.text(
    st.characters(min_codepoint=0x300, max_codepoint=0x36F), min_size=1, max_size=60
)
SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
CONTROL = st.sampled_from(["\x00", "nul\x00here", "\x1b[31m", "\r", "\u2028", "\ufeff", "\ufffd"])
LIMIT = st.tuples(
    st.sampled_from([1999, 2000, 2001, 4000, 4001, 5999, 6000, 6001]),
    st.sampled_from(["x", "é", "😀", "word ", "\n", "@everyone ", "<@1> ", "`"]),
).map(lambda t: (t[1] * t[0])[: t[0]])
FAR_YEARS = ("9999-12-31", "0001-01-01")  # meeting commands read these dates themselves
TIMES = st.sampled_from(
    [
        "2027-03-28 01:30 Europe/London",  # London's gap is 01:00-02:00; 02:30 exists
        "2027-03-28 02:30 Europe/London",
        "2027-03-28 02:30 Europe/Berlin",
        "2027-03-14 02:30 America/New_York",
        "2999-12-31 23:59 Etc/GMT+12",
        "1900-01-01 00:00 Pacific/Kiritimati",
        "0001-01-01T00:00+14:00",
        "2027-10-31 01:30 Europe/London",
        "2028-02-29 19:00",
        "2027-02-29 19:00",
        "2027-02-30 10:00",
        "2027-02-01 19:00 Mars/Olympus",
        *(f"{day} 23:00" for day in FAR_YEARS),
        "2027-02-01 19:00 Europe/Londn",
        "2027-02-01 19:00 ../../etc/passwd",
        "2027-02-01T19:00+14:00",
        "24:00",
        "next",
        "2027-01-05",
    ]
)
ZONES = st.sampled_from(
    ["Mars/Olympus", "Europe/Londn", "../../etc/passwd", "/etc/localtime", "Etc/GMT+14", "."]
)
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["nan", "inf", "-inf", "-0", "1e309", "0x10", "1_000", "٣", "½", "1.5"]),
)
VALID = st.sampled_from(
    [
        "1",
        "2",
        "5",
        "yes",
        "on",
        "off",
        "all",
        "circle",
        "Circle",
        "general",
        "#general",
        "ana",
        "@ana",
        "mod",
        "GB",
        "en",
        "UTC",
        "Europe/London",
        "90m",
        "weekly",
        "standard",
        "next",
        "2027-02-01 19:00",
        "toml",
        "journal",
    ]
)
WORD = st.one_of(
    MENTIONS,
    MARKDOWN,
    BIDI,
    COMBINING,
    SURROGATE,
    CONTROL,
    TIMES,
    ZONES,
    NUMBERS,
    VALID,
    st.text(max_size=20),
)
TEXT = st.one_of(
    WORD,
    LIMIT,
    st.lists(WORD, min_size=2, max_size=4).map(" ".join),
    st.lists(WORD, min_size=2, max_size=4).map("".join),
)
WALL_OR_ZONED: list[tzinfo | None] = [None, UTC, ZoneInfo("Europe/London")]
# What a platform might hand the typed path: right types, wrong types, odd objects.
RAW = st.one_of(
    TEXT,
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(WALL_OR_ZONED),
    ),
    st.timedeltas(min_value=timedelta(days=-9999), max_value=timedelta(days=99999)),
    st.just(Actor("fake", "ana", "Ana")),
    st.just(CHANNEL),
    st.just(b"\xff\x00"),
)
FORGED_ACTION = st.one_of(
    st.tuples(
        st.sampled_from(["conv", "scripts", "x", "", "CONV", "conv ", "scripts\x00"]),
        st.lists(st.one_of(NUMBERS, WORD, SNOWFLAKE), max_size=5),
    ).map(lambda t: ":".join([t[0], *t[1]])),
    TEXT,
)

# ---------------------------------------------------------------------------------------------
# The world under test


class ErrorLog(logging.Handler):
    """Every ERROR record while the test runs: an unhandled exception anywhere is a bug."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        """Describe and forget what was logged so far."""
        out = [
            f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
            for r in self.records
        ]
        self.records.clear()
        return out


@dataclass(repr=False)
class World:
    """One started app with every cog, a fake platform and the error log."""

    app: App
    fake: FakePlatform
    clock: VirtualClock
    errors: ErrorLog
    actions: set[str] = field(default_factory=set)

    def __repr__(self) -> str:
        return "World(every cog, fake platform)"  # keeps Hypothesis' failure reports short

    @property
    def specs(self) -> list[CommandSpec]:
        """Every command of every loaded cog."""
        return self.app.registry.specs

    async def line(self, who: str, text: str, *, dm: bool = False) -> list[Said]:
        """A typed line; checks every property of what came back."""
        said = await self.fake.say(who, text, dm=dm)
        self.check(said, f"{who}{' (dm)' if dm else ''}: {text!r}")
        return said

    async def typed(
        self, who: str, spec: CommandSpec, values: dict[str, Any], *, dm: bool
    ) -> list[Said]:
        """A slash command with platform values; checks every property of what came back."""
        before = len(self.fake.said)
        await self.app.dispatcher.run(self.fake.incoming(who, dm=dm), spec, values)
        said = self.fake.said[before:]
        self.check(said, f"{who}{' (dm)' if dm else ''}: /{spec.name} {values!r}")
        return said

    async def press(self, who: str, action_id: str) -> list[Said]:
        """A button press; checks every property of what came back."""
        before = len(self.fake.said)
        await self.app.dispatcher.handle_action(self.fake.incoming(who), action_id)
        said = self.fake.said[before:]
        self.check(said, f"{who} pressed {action_id!r}")
        return said

    def check(self, said: list[Said], what: str) -> None:
        """Something answered, nothing broke, nothing pings, everything fits the platforms."""
        errors = self.errors.take()
        assert not errors, f"{what} logged an error: {errors}"
        assert said, f"{what} got no answer at all"
        for s in said:
            check_message(s.message, what)
            self.actions.update(a.id for a in s.message.actions)

    async def check_database(self) -> None:
        """SQLite's own checks, then every member-facing read still works."""
        async with self.app.db.engine.connect() as conn:
            integrity = (await conn.exec_driver_sql("PRAGMA integrity_check")).scalar()
            orphans = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
        assert integrity == "ok"
        assert orphans == []
        for who in PEOPLE:
            for read in ("!me", "!journal list", "!toolbox list", "!meeting list", "!group read"):
                await self.line(who, read)
            await self.line(who, "!mydata export", dm=True)  # reads every row about them

    async def advance(self) -> None:
        """Let time pass so reminders and announcements go out; check what was delivered."""
        before = len(self.fake.said)
        await self.app.scheduler.advance(timedelta(hours=7))
        for s in self.fake.said[before:]:
            check_message(s.message, "a scheduled delivery")
        errors = self.errors.take()
        assert not errors, f"scheduled jobs logged an error: {errors}"


def visible_texts(message: Message) -> Iterator[str]:
    """Every piece of text of a message a reader can see."""
    yield render_parts(message.text, lambda w: w.at.isoformat())
    if message.card is not None:
        yield message.card.title
        yield message.card.description
        yield message.card.footer
        for f in message.card.fields:
            yield f.name
            yield f.value
    for action in message.actions:
        yield action.label
    if message.long_text_prompt:
        yield message.long_text_prompt


def check_message(message: Message, what: str) -> None:
    """One outgoing (already cleaned) message against every property."""
    for text in visible_texts(message):
        assert not APOLOGY.search(text), f"{what} hit an unhandled exception: {text[:300]!r}"
        assert not INTERNALS.search(text), f"{what} shows internals: {text[:300]!r}"
        ping = PING.search(text)
        assert ping is None, f"{what} pings with {ping.group(0)!r}: {text[:300]!r}"
        assert not UNSENDABLE.search(text), f"{what} sends an unsendable character"
    check_discord(message, what)
    check_matrix(message, what)


def check_discord(message: Message, what: str) -> None:
    """Rendered for Discord, every payload is inside Discord's limits; a reply is never empty."""
    payloads = discord_render.render(message)
    assert payloads, f"{what}: a reply with nothing to send on Discord"
    for out in payloads:
        assert out.content is None or 0 < len(out.content) <= discord_render.CONTENT_MAX, what
        embed = out.embed
        if embed is not None:
            assert len(embed) <= discord_render.EMBED_TOTAL_MAX, what
            assert len(embed.title or "") <= discord_render.EMBED_TITLE_MAX, what
            assert len(embed.description or "") <= discord_render.EMBED_DESCRIPTION_MAX, what
            assert len(embed.fields) <= discord_render.EMBED_FIELDS_MAX, what
            for f in embed.fields:
                assert 0 < len(f.name or "") <= discord_render.FIELD_NAME_MAX, what
                assert 0 < len(f.value or "") <= discord_render.FIELD_VALUE_MAX, what
            assert len(embed.footer.text or "") <= discord_render.FOOTER_MAX, what
        if out.view is not None:
            buttons = out.view.children
            assert len(buttons) <= discord_render.BUTTONS_MAX, what
            for item in buttons:
                button = getattr(item, "item", item)  # a dynamic item wraps the real button
                assert isinstance(button, discord.ui.Button), what
                assert 0 < len(button.label or "") <= discord_render.BUTTON_LABEL_MAX, what
                assert 0 < len(button.custom_id or "") <= discord_render.CUSTOM_ID_MAX, what


def check_matrix(message: Message, what: str) -> None:
    """Rendered for Matrix, the event content fits in one event."""
    content = text_content(message, when_renderer(ZoneInfo("UTC"), START), "!")
    if content is not None:
        size = len(json.dumps(content, ensure_ascii=False).encode())
        assert size <= MATRIX_CONTENT_MAX, f"{what}: a {size}-byte Matrix event"


def value_for_line(option: Option, value: str, named: bool) -> str:
    """One argument of a command line, positional or `name:value`, quoted when it has spaces."""
    quoted = f'"{value}"' if (" " in value or not value) and '"' not in value else value
    return f"{option.name}:{quoted}" if named else quoted


@pytest_asyncio.fixture
async def world(app_factory: AppFactory) -> AsyncIterator[World]:
    """Every cog on one SQLite database, seeded so commands reach past 'not found'."""
    clock = VirtualClock(START)
    # The fuzzer is one very fast member on purpose: no rate limit.
    app, fake = await app_factory.on_platform(clock=clock, actors={"mod": Tier.MODERATOR})
    fake.actor("ana")
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    w = World(app, fake, clock, errors)
    try:
        await seed(w)
        yield w
    finally:
        logging.getLogger().removeHandler(errors)


async def seed(w: World) -> None:
    """A meeting, journal entries, a group, an urge log, a script run, a finished worksheet."""
    for who, line in (
        ("mod", '!meeting schedule Circle "2027-01-05 19:00" 90m repeat:weekly zone:UTC'),
        ("ana", "!meeting rsvp Circle reminder:30m"),
        ("ana", "!journal write A quiet morning"),
        ("ana", "!journal write visibility:shared A good week"),
        ("ana", "!group create circle"),
        ("ana", "!urge log 5 stress; ran"),
        ("mod", "!script start standard Circle"),
    ):
        await w.line(who, line)
    await start_worksheet(w)
    await finish_dialogue(w)
    said = await w.line("ana", "!toolbox list")
    assert "#2" in said[0].text, "the seed worksheet did not reach the toolbox"


async def start_worksheet(w: World) -> None:
    """Ana opens the first shipped worksheet in her DM."""
    said = await w.line("ana", "!worksheet list")
    name = re.search(r"`([a-z0-9_-]+)`", said[0].text)
    assert name is not None
    await w.line("ana", f"!worksheet start {name.group(1)}", dm=True)


async def finish_dialogue(w: World, *, until: AnswerKind | None = None) -> None:
    """Answer Ana's open dialogue with valid answers to its end (or to a step of a kind)."""
    for _ in range(80):
        state = await w.app.dialogues.current("fake:ana")
        if state is None:
            assert until is None, f"the dialogue ended before a {until} step"
            return
        step = w.app.dialogues.dialogues[state.dialogue_id].step(state.step)
        if step.kind is until:
            return
        if step.kind is AnswerKind.LIST:
            await w.line("ana", "one thing", dm=True)
        answer = {
            AnswerKind.LIST: "done",
            AnswerKind.SCALE: str(step.low),
            AnswerKind.CHOICE: "1",
            AnswerKind.DATETIME: "2027-02-03 19:30",
        }.get(step.kind, "15")
        await w.line("ana", answer, dm=True)
    raise AssertionError("the dialogue did not end")


# ---------------------------------------------------------------------------------------------
# Properties


@FUZZ
@given(data=st.data())
async def test_every_command_survives_typed_lines(world: World, data: st.DataObject) -> None:
    """The text path (console, Matrix): command lines with positional and `name:value` words."""
    for spec in world.specs:
        for who in PEOPLE:
            args = []
            for option in spec.options:
                if data.draw(st.booleans(), label=f"{spec.name} {option.name} given"):
                    named = data.draw(st.booleans(), label="named")
                    args.append(value_for_line(option, data.draw(TEXT, label=option.name), named))
            dm = data.draw(st.booleans(), label="dm")
            await world.line(who, " ".join([f"!{spec.name}", *args]), dm=dm)
    await world.advance()
    await world.check_database()


@FUZZ
@given(data=st.data())
async def test_every_command_survives_platform_values(world: World, data: st.DataObject) -> None:
    """The typed path (Discord): option values of the right and of every wrong type."""
    for spec in world.specs:
        for who in PEOPLE:
            values: dict[str, Any] = {}
            for option in spec.options:
                if data.draw(st.booleans(), label=f"{spec.name} {option.name} given"):
                    values[option.name] = data.draw(RAW, label=option.name)
            if data.draw(st.integers(0, 9), label="unknown option") == 0:
                values[data.draw(st.text(max_size=8), label="name")] = "x"
            dm = data.draw(st.booleans(), label="dm")
            await world.typed(who, spec, values, dm=dm)
    await world.advance()
    await world.check_database()


@FUZZ
@given(
    forged=st.lists(FORGED_ACTION, min_size=1, max_size=15),
    replay=st.lists(st.integers(0, 10**6), max_size=8),
    who=st.sampled_from([*PEOPLE, "zed"]),
)
async def test_forged_and_replayed_buttons(
    world: World, forged: list[str], replay: list[int], who: str
) -> None:
    """Made-up button ids, and real ones pressed twice or by someone else, get a calm answer."""
    for action_id in forged:
        await world.press(who, action_id)
    known = sorted(world.actions)
    for index in replay:
        action_id = known[index % len(known)]
        for presser in (who, who, "ana"):
            await world.press(presser, action_id)
    await world.line("mod", "!script start standard Circle")  # fresh buttons for later examples
    await world.line("ana", "!worksheet resume", dm=True)
    await world.check_database()


@FUZZ
@given(texts=st.lists(TEXT.map(lambda t: UNSENDABLE.sub("", t)), min_size=1, max_size=8))
async def test_direct_messages_in_a_dialogue(world: World, texts: list[str]) -> None:
    """Hostile answers in a worksheet get an answer, and are saved readably at its end."""
    if await world.app.dialogues.current("fake:ana") is None:
        await start_worksheet(world)
    for text in texts:
        if text.strip():
            await world.line("ana", text, dm=True)
    await finish_dialogue(world)
    await world.line("ana", "!worksheet start nothing-like-this", dm=True)
    await world.check_database()


@pytest.mark.parametrize("answer", ["lone \ud800 surrogate", "nul\x00here"])
async def test_unstorable_dialogue_answer_is_refused_clearly(world: World, answer: str) -> None:
    """A lone surrogate or NUL typed as a dialogue answer is refused, not a later crash."""
    await start_worksheet(world)
    await finish_dialogue(world, until=AnswerKind.TEXT)
    said = await world.line("ana", answer, dm=True)
    assert "cannot store" in said[0].text
    await finish_dialogue(world)
    await world.check_database()


@pytest.mark.parametrize("day", FAR_YEARS)
async def test_meeting_dates_at_the_ends_of_the_calendar(world: World, day: str) -> None:
    """Year 1 and year 9999 get a clear answer from every meeting command that takes a date."""
    for line in (
        f'!meeting schedule Far "{day} 23:00" 90m repeat:daily zone:Pacific/Kiritimati',
        f'!meeting edit Circle start:"{day} 23:00"',
        f"!meeting cancel Circle {day}",
        f'!meeting move Circle {day} "2027-02-01 19:00"',
        f"!meeting rsvp Circle {day}",
        f"!meeting unrsvp Circle {day}",
    ):
        said = await world.line("mod", line)
        assert "between the years" in said[0].text, line


async def test_typed_values_outside_every_range_are_refused(world: World) -> None:
    """Numbers beyond 64 bits, far years, naive and gap times, negative durations: clear words."""
    toolbox_view = world.app.registry.get(("toolbox", "view"))
    schedule = world.app.registry.get(("meeting", "schedule"))
    journal_list = world.app.registry.get(("journal", "list"))
    assert toolbox_view and schedule and journal_list
    said = await world.line("ana", "!toolbox view 99999999999999999999999")
    assert "too large a number" in said[0].text
    said = await world.typed("ana", toolbox_view, {"id": 2**64}, dm=False)
    assert "too large a number" in said[0].text
    gap = datetime(2027, 3, 28, 1, 30)  # a wall-clock time: read in the member's zone (UTC)
    said = await world.typed("ana", journal_list, {"since": gap}, dm=True)
    assert not said[0].text.startswith("`since`")
    await world.line("ana", "!me timezone Europe/London")
    said = await world.typed("ana", journal_list, {"since": gap}, dm=True)
    assert "does not exist in Europe/London" in said[0].text
    said = await world.typed(
        "mod",
        schedule,
        {"title": "Gap", "start": "2027-02-01 19:00", "duration": timedelta(minutes=-5)},
        dm=False,
    )
    assert "longer than zero" in said[0].text
    said = await world.line("ana", "!group join \ud800")
    assert "cannot store" in said[0].text
    said = await world.line("ana", "!journal list until:9999-12-31")
    assert "between the years 1900 and 2999" in said[0].text
    said = await world.line("ana", '!journal list since:"0001-01-01 00:00 Pacific/Kiritimati"')
    assert "between the years 1900 and 2999" in said[0].text
    said = await world.line("ana", "!mydata erase confirm “é”")
    assert "not right" in said[0].text


def test_mentions_split_across_message_parts_are_defused() -> None:
    """A ping cannot be assembled from two harmless pieces of one message."""
    message = clean(Message(text=("say @every", "one and <@", "123>")))
    for text in visible_texts(message):
        assert PING.search(text) is None
    assert UNSENDABLE.search("".join(visible_texts(clean(Message(text=("\ud800\x00",)))))) is None
